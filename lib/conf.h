/*
 * conf - hostmilter.conf: "Key value" lines, read through one table of keys.
 *
 * Promise: conf_load fills a struct hm_conf from the built-in defaults and
 * the file, or fails with one message per problem, each naming the file and
 * line (unknown key, missing value, repeated key, value of the wrong type
 * or outside the key's bounds).  Keys compare case-insensitively; "#"
 * starts a comment line.  A file must say what it scans with: no Scanner
 * line at all is an error ("Scanner none" enforces policy only), so that
 * an empty or truncated file never means "scan nothing".  A Socket must be
 * one libmilter can open (a unix path that fits sun_path, a numeric port)
 * and on loopback unless AllowRemoteSocket says otherwise.  The table in conf.c is the one place a key, its
 * type, default and bounds are defined; hostmilter.conf(5) documents it.
 * Both hostmilter and hostscan read the file through this module.
 */
#ifndef HM_CONF_H
#define HM_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define CONF_PATH_MAX 256
#define CONF_NAME_MAX 64
#define CONF_LIST_MAX 16
#define CONF_ERRORS_MAX 50
#define CONF_SCANNERS_MAX 16

enum conf_on_failure { CONF_FAILURE_TEMPFAIL, CONF_FAILURE_ACCEPT };

/* RateLimit: enforce (refuse over the limit), warn (log and count only), off (charge nothing). */
enum conf_rate_limit { CONF_RATE_LIMIT_ENFORCE, CONF_RATE_LIMIT_WARN, CONF_RATE_LIMIT_OFF };
/* OnRateLimitStoreFailure: what a charge the store cannot answer becomes. */
enum conf_store_failure { CONF_STORE_FAILURE_LOCAL, CONF_STORE_FAILURE_ACCEPT, CONF_STORE_FAILURE_TEMPFAIL };

/* A RateLimitStore value, parsed: "local", "redis unix:/PATH" or "redis tcp:HOST:PORT". */
#define CONF_SUN_PATH_MAX 108	/* sizeof(sockaddr_un.sun_path) on Linux */
enum conf_store_kind { CONF_STORE_LOCAL, CONF_STORE_REDIS_UNIX, CONF_STORE_REDIS_TCP };
struct conf_store {
	enum conf_store_kind kind;
	char path[CONF_SUN_PATH_MAX];	/* REDIS_UNIX */
	char host[CONF_NAME_MAX * 4];	/* REDIS_TCP: a name or an address, brackets removed */
	unsigned port;
};

/* "Scanner ENGINE [ADDRESS]" lines, in file order; engine and address
 * are checked for form here, the nodes themselves are opened by scan/. */
struct conf_scanner {
	char engine[16];
	char address[CONF_PATH_MAX];
};

struct conf_list {
	unsigned count;
	char item[CONF_LIST_MAX][CONF_NAME_MAX];
};

struct hm_conf {
	char socket[CONF_PATH_MAX];
	char user[CONF_NAME_MAX];
	char pid_file[CONF_PATH_MAX];
	char policy_db[CONF_PATH_MAX];
	struct conf_list auth_required_daemons;
	long max_recipients;
	long drain_timeout;
	bool log_accepted;
	unsigned nscanners;
	struct conf_scanner scanners[CONF_SCANNERS_MAX];
	char clamav_database[CONF_PATH_MAX];
	long clamav_check_interval;	/* seconds between looks at ClamAVDatabase */
	enum conf_on_failure on_scanner_failure;
	long scan_timeout;	/* seconds for all scanning of one message */
	char spool_directory[CONF_PATH_MAX];
	long spool_memory;	/* bytes a message may hold in memory before it goes to a file */
	char scan_temporary_directory[CONF_PATH_MAX];	/* where libclamav unpacks; "": spool_directory */
	long spam_max_size;	/* larger messages are not sent to spam engines */
	char tls_ca[CONF_PATH_MAX];	/* spamd over tls: CA file that signs the nodes' certificates */
	char tls_cert[CONF_PATH_MAX];	/* optional client certificate and key */
	char tls_key[CONF_PATH_MAX];
	char stats_listen[64];	/* "" or a loopback ADDRESS:PORT for the Prometheus endpoint */
	enum conf_rate_limit rate_limit;
	char rate_limit_store[CONF_PATH_MAX];	/* checked by conf_store_parse */
	enum conf_store_failure on_store_failure;
	long rate_limit_store_timeout;	/* milliseconds for one charge's round trip to the store */
	long rate_limit_local_size;	/* senders the local table tracks at most */
	struct conf_list bulk_daemons;	/* DaemonPortOptions names whose mail has the bulk allowance */
	char control_socket[CONF_PATH_MAX];	/* "unix:/PATH" or "none" */
	long scan_max_size;	/* bytes the engines must inspect whole; 0: the policy's largest max_size */
	char scan_service[CONF_PATH_MAX];	/* "" or unix:PATH where hostmilter scans for hostscan */
	long scan_service_clients;	/* messages the scan service takes at once */
	long scan_workers;	/* pre-forked scan workers; 0: scanning in the milter's threads */
	long scan_worker_memory;	/* bytes of address space a worker may add to what it inherits */
	bool scan_worker_faults;	/* the tests' fault injector (scan/workers.c) */
	bool scanner_none;	/* "Scanner none": policy only, said explicitly */
	bool allow_remote_socket;	/* an inet Socket may listen beyond loopback */
};

/* A Socket value, parsed: where libmilter will listen. */
struct conf_socket {
	int family;	/* AF_UNIX, AF_INET or AF_INET6 */
	char path[CONF_PATH_MAX];	/* AF_UNIX: the socket's path */
	unsigned port;	/* AF_INET, AF_INET6 */
	bool loopback;	/* AF_UNIX, or an inet socket bound to a loopback address only */
};

/* A StatsListen value, parsed. */
struct conf_listen {
	int family;	/* AF_INET or AF_INET6 */
	unsigned char address[16];
	unsigned port;
};

/*
 * Each error as text ("FILE:LINE: problem"), with a stable code for
 * programs (hostmilter -n --format json): unknown_key, duplicate_key,
 * missing_value, invalid_value, line_too_long, empty_configuration,
 * no_scanner, remote_socket, unreadable; the key it is about ("" when
 * none) and the line (0 when none).
 */
struct conf_errors {
	unsigned count;
	char text[CONF_ERRORS_MAX][320];
	const char *code[CONF_ERRORS_MAX];
	char key[CONF_ERRORS_MAX][32];
	unsigned line[CONF_ERRORS_MAX];
};

void conf_defaults(struct hm_conf *conf);
/* 0 loaded; -1 with errors->count >= 1 messages "FILE:LINE: problem". */
int conf_load(const char *path, struct hm_conf *conf, struct conf_errors *errors);
/* Parse from memory, for tests and for conf_load; name labels the messages. */
int conf_parse(const char *name, const char *text, struct hm_conf *conf, struct conf_errors *errors);

/*
 * 0 with *sock filled when value is "unix:/PATH" (or "local:/PATH") short
 * enough for sun_path, "inet:PORT[@HOST]" or "inet6:PORT[@HOST]"; else -1
 * with *why.  HOST is a literal address or "localhost"; no HOST, 0.0.0.0
 * and :: mean every interface, which is not loopback.
 */
int conf_socket_parse(const char *value, struct conf_socket *sock, const char **why);

/* 0 when value is a loopback "ADDRESS:PORT" or "[IPv6]:PORT", else -1. */
int conf_listen_parse(const char *value, struct conf_listen *listen);

/* 0 when value is a RateLimitStore value (see struct conf_store), else -1. */
int conf_store_parse(const char *value, struct conf_store *store);
/* 0 with *path pointing into value when it is "unix:/PATH" short enough for a socket; 1 for "none"; else -1. */
int conf_control_parse(const char *value, const char **path);

bool conf_list_has(const struct conf_list *list, const char *item);

#endif
