/*
 * conf - hostmilter.conf; see conf.h.
 *
 * Keys not in the table are errors rather than warnings: a misspelt
 * "PolicyDb" silently ignored would leave the milter enforcing the wrong
 * policy, which is worse than refusing to start.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "conf.h"
#include "size.h"

enum conf_type {
	CONF_STRING, CONF_INT, CONF_BOOL, CONF_LIST, CONF_SCANNER, CONF_FAILURE, CONF_SIZE, CONF_LISTEN,
	CONF_CHOICE, CONF_STORE, CONF_CONTROL, CONF_SOCKET
};

struct conf_key {
	const char *name;
	enum conf_type type;
	const char *value;	/* the default, parsed like a line of the file */
	long min, max;		/* CONF_INT bounds; CONF_STRING maximum length */
	size_t offset;
	size_t size;
	const char *const *choices;	/* CONF_CHOICE: the words, NULL-terminated; the field holds the index */
};

#define KEY(name, type, value, min, max, field) \
	{ name, type, value, min, max, offsetof(struct hm_conf, field), sizeof(((struct hm_conf *)0)->field), NULL }
#define KEY_CHOICE(name, value, field, words) \
	{ name, CONF_CHOICE, value, 0, 0, offsetof(struct hm_conf, field), sizeof(((struct hm_conf *)0)->field), words }

/* In the order of the enums in conf.h. */
static const char *const conf_rate_limit_words[] = { "enforce", "warn", "off", NULL };
static const char *const conf_store_failure_words[] = { "local", "accept", "tempfail", NULL };

static const struct conf_key conf_keys[] = {
	KEY("Socket", CONF_SOCKET, "unix:/run/hostmilter/hostmilter.sock", 1, CONF_PATH_MAX - 1, socket),
	KEY("UserID", CONF_STRING, "hostmilter", 1, CONF_NAME_MAX - 1, user),
	KEY("PidFile", CONF_STRING, "/run/hostmilter/hostmilter.pid", 1, CONF_PATH_MAX - 1, pid_file),
	KEY("PolicyDB", CONF_STRING, "/etc/mail/hostmilter.db", 1, CONF_PATH_MAX - 1, policy_db),
	KEY("AuthRequiredDaemons", CONF_LIST, "MSA", 0, CONF_LIST_MAX, auth_required_daemons),
	KEY("MaxRecipients", CONF_INT, "1000", 1, 100000, max_recipients),
	KEY("DrainTimeout", CONF_INT, "300", 0, 3600, drain_timeout),
	KEY("LogAccepted", CONF_BOOL, "yes", 0, 1, log_accepted),
	/* Repeatable; no default: a file without a Scanner line is refused (conf_check). */
	KEY("Scanner", CONF_SCANNER, NULL, 0, CONF_SCANNERS_MAX, scanners),
	KEY("ClamAVDatabase", CONF_STRING, "/var/lib/clamav", 1, CONF_PATH_MAX - 1, clamav_database),
	KEY("ClamAVCheckInterval", CONF_INT, "60", 1, 86400, clamav_check_interval),
	KEY("OnScannerFailure", CONF_FAILURE, "tempfail", 0, 1, on_scanner_failure),
	/* Below the FEATURE's E:10m milter timeout, with room for a retry. */
	KEY("ScanTimeout", CONF_INT, "120", 1, 540, scan_timeout),
	KEY("SpoolDirectory", CONF_STRING, "/var/tmp", 1, CONF_PATH_MAX - 1, spool_directory),
	KEY("SpoolMemory", CONF_SIZE, "1M", 0, 64L << 20, spool_memory),
	/* No default: SpoolDirectory. */
	KEY("ScanTemporaryDirectory", CONF_STRING, NULL, 1, CONF_PATH_MAX - 1, scan_temporary_directory),
	KEY("SpamMaxSize", CONF_SIZE, "2M", 1024, 256L << 20, spam_max_size),
	KEY("TLSCAFile", CONF_STRING, NULL, 1, CONF_PATH_MAX - 1, tls_ca),
	KEY("TLSCertFile", CONF_STRING, NULL, 1, CONF_PATH_MAX - 1, tls_cert),
	KEY("TLSKeyFile", CONF_STRING, NULL, 1, CONF_PATH_MAX - 1, tls_key),
	/* No default: the statistics endpoint listens only when asked to. */
	KEY("StatsListen", CONF_LISTEN, NULL, 0, 0, stats_listen),
	KEY_CHOICE("RateLimit", "enforce", rate_limit, conf_rate_limit_words),
	KEY("RateLimitStore", CONF_STORE, "local", 0, 0, rate_limit_store),
	KEY_CHOICE("OnRateLimitStoreFailure", "local", on_store_failure, conf_store_failure_words),
	/* Milliseconds: far below the milter's R: timeout, since a charge sits in every RCPT. */
	KEY("RateLimitStoreTimeout", CONF_INT, "200", 10, 2000, rate_limit_store_timeout),
	KEY("RateLimitLocalSize", CONF_INT, "100000", 100, 10000000, rate_limit_local_size),
	KEY("BulkDaemons", CONF_LIST, NULL, 0, CONF_LIST_MAX, bulk_daemons),
	KEY("ControlSocket", CONF_CONTROL, "unix:/run/hostmilter/control.sock", 0, 0, control_socket),
	/* No default: the largest max_size of PolicyDB, so that no message the policy accepts is too large to scan. */
	KEY("ScanMaxSize", CONF_SIZE, NULL, 1024, 64L << 30, scan_max_size),
	/* No default: hostmilter serves hostscan only when asked to. */
	KEY("ScanService", CONF_STRING, NULL, 7, CONF_PATH_MAX - 1, scan_service),
	KEY("ScanServiceClients", CONF_INT, "4", 1, 64, scan_service_clients),
	/* 0: scanning in the milter's threads, as before the workers (for comparison, test/bench/scan-bench). */
	KEY("ScanWorkers", CONF_INT, "4", 0, 256, scan_workers),
	/* Beyond what a worker inherits from the daemon (its threads' stacks, libclamav's engine). */
	KEY("ScanWorkerMemory", CONF_SIZE, "1G", 64L << 20, 64L << 30, scan_worker_memory),
	/* The tests' fault injector (scan/workers.c): never in production. */
	KEY("ScanWorkerFaults", CONF_BOOL, "no", 0, 1, scan_worker_faults),
	/* The milter protocol has no authentication: off loopback only when asked for. */
	KEY("AllowRemoteSocket", CONF_BOOL, "no", 0, 1, allow_remote_socket),
};

#define NKEYS (sizeof(conf_keys) / sizeof(*conf_keys))

static void __attribute__((format(printf, 6, 7)))
conf_error(struct conf_errors *errors, const char *name, unsigned line, const char *code, const char *key,
	   const char *fmt, ...)
{
	va_list ap;
	int len;

	if (errors->count >= CONF_ERRORS_MAX)
		return;
	errors->code[errors->count] = code;
	snprintf(errors->key[errors->count], sizeof(errors->key[0]), "%s", key ? key : "");
	errors->line[errors->count] = line;
	len = line ? snprintf(errors->text[errors->count], sizeof(errors->text[0]), "%s:%u: ", name, line)
		   : snprintf(errors->text[errors->count], sizeof(errors->text[0]), "%s: ", name);
	if (len < 0 || (size_t)len >= sizeof(errors->text[0]))
		len = 0;
	va_start(ap, fmt);
	vsnprintf(errors->text[errors->count] + len, sizeof(errors->text[0]) - (size_t)len, fmt, ap);
	va_end(ap);
	errors->count++;
}

static const struct conf_key *
conf_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcasecmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static int
conf_set_int(const struct conf_key *key, const char *value, long *out, const char **why)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno || end == value || *end || value[0] == '+' || value[0] == ' ') {
		*why = "is not a whole number";
		return -1;
	}
	if (n < key->min || n > key->max) {
		*why = "is out of bounds";
		return -1;
	}
	*out = n;
	return 0;
}

static int
conf_set_bool(const char *value, bool *out, const char **why)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
			*out = strcasecmp(value, yes[i]) == 0;
			return 0;
		}
	}
	*why = "is not yes or no";
	return -1;
}

static int
conf_set_list(const char *value, struct conf_list *list, const char **why)
{
	char copy[CONF_PATH_MAX * 4], *save = NULL;

	if (strlen(value) >= sizeof(copy)) {
		*why = "is too long";
		return -1;
	}
	strcpy(copy, value);
	list->count = 0;
	for (char *item = strtok_r(copy, ", \t", &save); item; item = strtok_r(NULL, ", \t", &save)) {
		if (list->count >= CONF_LIST_MAX || strlen(item) >= CONF_NAME_MAX) {
			*why = "has too many or too long items";
			return -1;
		}
		strcpy(list->item[list->count++], item);
	}
	return 0;
}

static int
conf_set_size(const struct conf_key *key, const char *value, long *out, const char **why)
{
	uint64_t bytes;
	const char *size_why;

	if (size_parse(value, &bytes, &size_why) < 0) {
		*why = "is not a size (1024, 512K, 2M, 1G)";
		return -1;
	}
	if (bytes < (uint64_t)key->min || bytes > (uint64_t)key->max) {
		*why = "is out of bounds";
		return -1;
	}
	*out = (long)bytes;
	return 0;
}

static int
conf_set_failure(const char *value, enum conf_on_failure *out, const char **why)
{
	if (strcasecmp(value, "tempfail") == 0)
		*out = CONF_FAILURE_TEMPFAIL;
	else if (strcasecmp(value, "accept") == 0)
		*out = CONF_FAILURE_ACCEPT;
	else {
		*why = "is not tempfail or accept";
		return -1;
	}
	return 0;
}

/* The address forms each engine takes; see hostmilter.conf(5). */
static bool
conf_scanner_address_ok(const char *engine, const char *address)
{
	if (strcmp(engine, "clamav") == 0)
		return address[0] == '\0';
	if (strcmp(engine, "clamd") == 0)
		return strncmp(address, "tcp:", 4) == 0 || strncmp(address, "unix:/", 6) == 0;
	if (strcmp(engine, "spamd") == 0)
		return strncmp(address, "tcp:", 4) == 0 || strncmp(address, "tls:", 4) == 0;
	if (strcmp(engine, "rspamd") == 0)
		return strncmp(address, "http://", 7) == 0;
	return false;
}

static int
conf_set_scanner(const char *value, struct hm_conf *conf, const char **why)
{
	struct conf_scanner *scanner;
	size_t len = strcspn(value, " \t");
	const char *address = value + len + strspn(value + len, " \t");

	if (strcmp(value, "none") == 0 || conf->scanner_none) {
		if (conf->nscanners > 0 || conf->scanner_none) {
			*why = "cannot stand beside another Scanner line: \"Scanner none\" means no scanning at all";
			return -1;
		}
		conf->scanner_none = true;
		return 0;
	}
	if (conf->nscanners >= CONF_SCANNERS_MAX) {
		*why = "is one Scanner line too many";
		return -1;
	}
	scanner = &conf->scanners[conf->nscanners];
	if (len >= sizeof(scanner->engine) || strlen(address) >= sizeof(scanner->address)
	    || strpbrk(address, " \t")) {
		*why = "is not ENGINE [ADDRESS]";
		return -1;
	}
	memcpy(scanner->engine, value, len);
	scanner->engine[len] = '\0';
	strcpy(scanner->address, address);
	if (!conf_scanner_address_ok(scanner->engine, scanner->address)) {
		*why = "is not clamav, clamd tcp:HOST:PORT|unix:PATH, spamd tcp:|tls:HOST:PORT or rspamd http://HOST:PORT";
		return -1;
	}
	conf->nscanners++;
	return 0;
}

/*
 * Loopback only: the figures name customers' scanner nodes and say how
 * much mail was refused, which is nobody's business off this host; a
 * scraper elsewhere reaches them through an SSH tunnel or a local proxy.
 */
int
conf_listen_parse(const char *value, struct conf_listen *listen)
{
	const char *colon = strrchr(value, ':');
	char host[64], *end;
	size_t hostlen;
	long port;

	if (!colon || colon == value)
		return -1;
	hostlen = (size_t)(colon - value);
	if (value[0] == '[' && colon[-1] == ']') {
		value++;
		hostlen -= 2;
	}
	if (hostlen == 0 || hostlen >= sizeof(host))
		return -1;
	memcpy(host, value, hostlen);
	host[hostlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || colon[1] == '+' || colon[1] == '-' || port < 1 || port > 65535)
		return -1;
	listen->port = (unsigned)port;
	if (inet_pton(AF_INET, host, listen->address) == 1 && listen->address[0] == 127)
		listen->family = AF_INET;
	else if (inet_pton(AF_INET6, host, listen->address) == 1
		 && memcmp(listen->address, in6addr_loopback.s6_addr, 16) == 0)
		listen->family = AF_INET6;
	else
		return -1;
	return 0;
}

/* An inet socket's HOST: literal addresses and "localhost" are judged; a name libmilter would resolve is not loopback. */
static bool
conf_socket_host_loopback(int family, const char *host)
{
	unsigned char addr[16];
	char copy[64];
	size_t len = strlen(host);

	if (strcmp(host, "localhost") == 0)
		return true;
	if (host[0] == '[' && len > 2 && host[len - 1] == ']' && len - 2 < sizeof(copy)) {
		memcpy(copy, host + 1, len - 2);
		copy[len - 2] = '\0';
		host = copy;
	}
	if (family == AF_INET)
		return inet_pton(AF_INET, host, addr) == 1 && addr[0] == 127;
	return inet_pton(AF_INET6, host, addr) == 1 && memcmp(addr, in6addr_loopback.s6_addr, 16) == 0;
}

static int
conf_socket_inet(const char *spec, struct conf_socket *sock, const char **why)
{
	const char *at = strchr(spec, '@');
	char *end;
	long port;

	errno = 0;
	port = strtol(spec, &end, 10);
	if (errno || end == spec || (*end && *end != '@') || spec[0] == '+' || spec[0] == '-' || port < 1
	    || port > 65535) {
		*why = "has no port from 1 to 65535 (inet:PORT@HOST)";
		return -1;
	}
	sock->port = (unsigned)port;
	/* No HOST: libmilter listens on every interface. */
	sock->loopback = at && at[1] && conf_socket_host_loopback(sock->family, at + 1);
	return 0;
}

int
conf_socket_parse(const char *value, struct conf_socket *sock, const char **why)
{
	const char *path = NULL;

	memset(sock, 0, sizeof(*sock));
	if (strncmp(value, "unix:", 5) == 0)
		path = value + 5;
	else if (strncmp(value, "local:", 6) == 0)
		path = value + 6;
	if (path) {
		if (path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*why = "is not unix:/PATH with a path of at most 107 bytes (sun_path)";
			return -1;
		}
		sock->family = AF_UNIX;
		strcpy(sock->path, path);
		sock->loopback = true;
		return 0;
	}
	if (strncmp(value, "inet:", 5) == 0) {
		sock->family = AF_INET;
		return conf_socket_inet(value + 5, sock, why);
	}
	if (strncmp(value, "inet6:", 6) == 0) {
		sock->family = AF_INET6;
		return conf_socket_inet(value + 6, sock, why);
	}
	*why = "is not unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST";
	return -1;
}

/* Checked here, stored as the text libmilter takes. */
static int
conf_set_socket(const struct conf_key *key, const char *value, char *field, const char **why)
{
	struct conf_socket sock;

	if (strlen(value) >= key->size) {
		*why = "is too long";
		return -1;
	}
	if (conf_socket_parse(value, &sock, why) < 0)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

static int
conf_set_choice(const struct conf_key *key, const char *value, void *field, const char **why)
{
	for (int i = 0; key->choices[i]; i++) {
		if (strcasecmp(value, key->choices[i]) == 0) {
			if (key->size != sizeof(int))
				abort();	/* a table entry on a field that is no enum */
			memcpy(field, &i, sizeof(i));
			return 0;
		}
	}
	*why = "is not one of the words this key takes";
	return -1;
}

/* "HOST:PORT" or "[IPv6]:PORT"; the host is checked for form only, the resolver has the last word. */
static int
conf_store_tcp(const char *value, struct conf_store *store)
{
	const char *colon = strrchr(value, ':');
	bool bracketed = value[0] == '[';
	size_t len;
	char *end;
	long port;

	if (!colon || colon == value)
		return -1;
	len = (size_t)(colon - value);
	if (bracketed) {
		if (len < 3 || colon[-1] != ']')
			return -1;
		value++;
		len -= 2;
	}
	if (len >= sizeof(store->host) || memchr(value, '[', len) || memchr(value, ']', len)
	    || (!bracketed && memchr(value, ':', len)))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || !isdigit((unsigned char)colon[1]) || port < 1 || port > 65535)
		return -1;
	memcpy(store->host, value, len);
	store->host[len] = '\0';
	store->port = (unsigned)port;
	store->kind = CONF_STORE_REDIS_TCP;
	return 0;
}

int
conf_store_parse(const char *value, struct conf_store *store)
{
	const char *address;

	memset(store, 0, sizeof(*store));
	if (strcasecmp(value, "local") == 0) {
		store->kind = CONF_STORE_LOCAL;
		return 0;
	}
	if (strncasecmp(value, "redis", 5) != 0 || (value[5] != ' ' && value[5] != '\t'))
		return -1;
	address = value + 5 + strspn(value + 5, " \t");
	if (strpbrk(address, " \t"))
		return -1;
	if (strncmp(address, "unix:/", 6) == 0) {
		if (strlen(address + 5) >= sizeof(store->path))
			return -1;
		strcpy(store->path, address + 5);
		store->kind = CONF_STORE_REDIS_UNIX;
		return 0;
	}
	if (strncmp(address, "tcp:", 4) == 0)
		return conf_store_tcp(address + 4, store);
	return -1;
}

int
conf_control_parse(const char *value, const char **path)
{
	*path = NULL;
	if (strcasecmp(value, "none") == 0)
		return 1;
	if (strncmp(value, "unix:/", 6) != 0 || strlen(value + 5) >= CONF_SUN_PATH_MAX || strpbrk(value, " \t"))
		return -1;
	*path = value + 5;
	return 0;
}

static int
conf_set_checked_string(const struct conf_key *key, const char *value, void *field, const char **why)
{
	struct conf_store store;
	const char *path;
	int bad;

	if (key->type == CONF_STORE) {
		bad = conf_store_parse(value, &store) < 0;
		*why = "is not local, redis unix:/PATH or redis tcp:HOST:PORT";
	} else {
		bad = conf_control_parse(value, &path) < 0;
		*why = "is not unix:/PATH (shorter than 108 bytes) or none";
	}
	if (bad || strlen(value) >= key->size)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

static int
conf_set(const struct conf_key *key, const char *value, struct hm_conf *conf, const char **why)
{
	void *field = (char *)conf + key->offset;

	switch (key->type) {
	case CONF_SOCKET:
		return conf_set_socket(key, value, field, why);
	case CONF_STRING:
		/* The field's size bounds the copy even if a table entry's max were wrong. */
		if (strlen(value) > (size_t)key->max || strlen(value) >= key->size || value[0] == '\0') {
			*why = "is empty or too long";
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CONF_INT:
		return conf_set_int(key, value, field, why);
	case CONF_BOOL:
		return conf_set_bool(value, field, why);
	case CONF_LIST:
		return conf_set_list(value, field, why);
	case CONF_SCANNER:
		return conf_set_scanner(value, conf, why);
	case CONF_FAILURE:
		return conf_set_failure(value, field, why);
	case CONF_SIZE:
		return conf_set_size(key, value, field, why);
	case CONF_LISTEN: {
		struct conf_listen listen;

		if (strlen(value) >= key->size || conf_listen_parse(value, &listen) < 0) {
			*why = "is not a loopback ADDRESS:PORT (127.0.0.1:9899, [::1]:9899)";
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	case CONF_CHOICE:
		return conf_set_choice(key, value, field, why);
	case CONF_STORE:
	case CONF_CONTROL:
		return conf_set_checked_string(key, value, field, why);
	}
	return -1;
}

void
conf_defaults(struct hm_conf *conf)
{
	const char *why;

	memset(conf, 0, sizeof(*conf));
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_keys[i].value && conf_set(&conf_keys[i], conf_keys[i].value, conf, &why) < 0)
			abort();	/* a default outside its own bounds is a bug */
}

/* Splits "Key value" in place; value is trimmed and may be empty. */
static void
conf_split(char *line, char **key, char **value)
{
	char *end;

	*key = line + strspn(line, " \t");
	end = *key + strcspn(*key, " \t");
	*value = end + strspn(end, " \t");
	*end = '\0';
	end = *value + strlen(*value);
	while (end > *value && strchr(" \t\r", end[-1]))
		*--end = '\0';
}

static void
conf_line(const char *name, unsigned lineno, char *line, struct hm_conf *conf, unsigned *seen,
	  struct conf_errors *errors)
{
	const struct conf_key *key;
	char *keyname, *value;
	const char *why;

	conf_split(line, &keyname, &value);
	if (keyname[0] == '\0' || keyname[0] == '#')
		return;
	key = conf_find(keyname);
	if (!key) {
		conf_error(errors, name, lineno, "unknown_key", keyname, "unknown key \"%.64s\"", keyname);
		return;
	}
	if (seen[key - conf_keys] && key->type != CONF_SCANNER) {
		conf_error(errors, name, lineno, "duplicate_key", key->name, "%s given twice", key->name);
		return;
	}
	seen[key - conf_keys] = lineno;
	if (value[0] == '\0' && key->type != CONF_LIST) {
		conf_error(errors, name, lineno, "missing_value", key->name, "%s needs a value", key->name);
		return;
	}
	if (conf_set(key, value, conf, &why) < 0)
		conf_error(errors, name, lineno, "invalid_value", key->name, "%s: \"%.100s\" %s", key->name, value, why);
}

static unsigned
conf_line_of(const unsigned *seen, const char *keyname)
{
	return seen[conf_find(keyname) - conf_keys];
}

/*
 * What no single line shows: a file that names no scanner (an empty or
 * cut-off file must not mean "scan nothing"), and a Socket off loopback
 * that AllowRemoteSocket did not allow.
 */
static void
conf_check(const char *name, const struct hm_conf *conf, const unsigned *seen, struct conf_errors *errors)
{
	struct conf_socket sock;
	const char *why;
	bool any = false;

	for (size_t i = 0; i < NKEYS; i++)
		any |= seen[i] != 0;
	if (!any)
		conf_error(errors, name, 0, "empty_configuration", NULL, "no settings at all: an empty file is no configuration "
					    "(\"Scanner none\" says to scan nothing)");
	else if (conf_line_of(seen, "Scanner") == 0)
		conf_error(errors, name, 0, "no_scanner", "Scanner", "no Scanner line: name the scanners, or say \"Scanner none\" "
					    "to enforce the policy without scanning");
	if (conf_socket_parse(conf->socket, &sock, &why) == 0 && !sock.loopback && !conf->allow_remote_socket)
		conf_error(errors, name, conf_line_of(seen, "Socket"), "remote_socket", "Socket",
			   "Socket %s listens beyond loopback, and the milter protocol has no authentication: "
			   "use a unix socket or a loopback address, or say \"AllowRemoteSocket yes\"", conf->socket);
}

int
conf_parse(const char *name, const char *text, struct hm_conf *conf, struct conf_errors *errors)
{
	unsigned seen[NKEYS] = { 0 };
	unsigned lineno = 0;

	conf_defaults(conf);
	errors->count = 0;
	while (*text) {
		size_t len = strcspn(text, "\n");
		char line[1024];

		lineno++;
		if (len >= sizeof(line))
			conf_error(errors, name, lineno, "line_too_long", NULL, "line too long");
		else if (memchr(text, '\0', len) == NULL) {
			memcpy(line, text, len);
			line[len] = '\0';
			conf_line(name, lineno, line, conf, seen, errors);
		}
		text += len + (text[len] == '\n');
	}
	conf_check(name, conf, seen, errors);
	return errors->count ? -1 : 0;
}

int
conf_load(const char *path, struct hm_conf *conf, struct conf_errors *errors)
{
	FILE *fp = fopen(path, "re");
	char *text;
	long size;
	int rc;

	errors->count = 0;
	if (!fp) {
		conf_error(errors, path, 0, "unreadable", NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	/* A configuration file is small; 1 MB bounds a mistaken path to a huge file. */
	if (fseek(fp, 0, SEEK_END) < 0 || (size = ftell(fp)) < 0 || size > (1 << 20) || fseek(fp, 0, SEEK_SET) < 0) {
		fclose(fp);
		conf_error(errors, path, 0, "unreadable", NULL, "cannot read, or larger than 1 MB");
		return -1;
	}
	text = calloc(1, (size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, fp) != (size_t)size) {
		free(text);
		fclose(fp);
		conf_error(errors, path, 0, "unreadable", NULL, "cannot read");
		return -1;
	}
	fclose(fp);
	if (memchr(text, '\0', (size_t)size)) {
		free(text);
		conf_error(errors, path, 0, "unreadable", NULL, "contains NUL bytes; not a configuration file");
		return -1;
	}
	rc = conf_parse(path, text, conf, errors);
	free(text);
	return rc;
}

bool
conf_list_has(const struct conf_list *list, const char *item)
{
	for (unsigned i = 0; i < list->count; i++)
		if (strcasecmp(list->item[i], item) == 0)
			return true;
	return false;
}
