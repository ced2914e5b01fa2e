/*
 * engine - one scanner node of some engine, behind one interface.
 *
 * Promise: an engine's scan fills a scan_result whose status says what
 * happened: DONE is a verdict on the whole message (virus or not, a spam
 * score); SKIPPED is a spam engine's deliberate skip (the message is
 * larger than SpamMaxSize, or the engine says it skipped it); INCOMPLETE
 * is an answer from a healthy node that did not inspect all of the
 * message -- a limit of the engine (size, archive depth or file count,
 * scan time: libclamav's "Heuristics.Limits.Exceeded.*" alerts, clamd's
 * "size limit exceeded") -- so the message is not clean, yet no other
 * node need be tried and no breaker counts it; FAILED is anything else
 * -- refused connection, timeout, a reply that does not parse, an ERROR
 * line, and a scan that ran out of time (libclamav's MaxScanTime: the
 * next try, on a less busy node, may finish).  ENCRYPTED is a virus
 * engine's verdict of "nothing found" on a message that holds content it
 * could not decrypt (libclamav's "Heuristics.Encrypted.*" alerts: a
 * password-protected archive or document).  A virus engine never skips: what it did not inspect is at best
 * INCOMPLETE.  Neither a failure nor an incomplete scan is ever read as
 * a verdict.
 * Replies are read into bounded buffers; no wait outlives the deadline.
 * Nodes are opened before privileges drop and are shared by all threads.
 */
#ifndef HM_ENGINE_H
#define HM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "spool.h"

struct hm_conf;

enum scan_kind { SCAN_KIND_VIRUS, SCAN_KIND_SPAM };
enum scan_status { SCAN_DONE, SCAN_SKIPPED, SCAN_INCOMPLETE, SCAN_FAILED, SCAN_ENCRYPTED };

/* The envelope, as rspamd wants it; strings may be NULL. */
struct scan_job {
	const struct spool *spool;
	const char *client_ip, *helo, *sender, *queue_id, *auth_user;
	const char *user;	/* the one local mailbox of the message, for spamd's User */
	const char *const *rcpts;
	size_t nrcpts;
	bool want_spam;		/* some recipient's policy asks for spam scoring */
	void (*progress)(void *arg);
	void *progress_arg;
};

#define SCAN_NAME_MAX 128
#define SCAN_RULES_MAX 512

struct scan_result {
	enum scan_status status;
	bool virus;
	char virus_name[SCAN_NAME_MAX];
	double score, required;	/* spam engines, when DONE */
	char rules[SCAN_RULES_MAX];	/* "RULE_A,RULE_B" */
	char note[200];		/* why SKIPPED, INCOMPLETE or FAILED */
};

struct scan_settings {
	const struct hm_conf *conf;
	SSL_CTX *tls;		/* for spamd tls: nodes; NULL when none is configured */
	uint64_t max_message;	/* the largest message the policy accepts: engines inspect it whole */
};

struct scan_engine {
	const char *name;
	enum scan_kind kind;
	void *(*open)(const char *address, const struct scan_settings *settings, char *err, size_t errlen);
	void (*scan)(void *node, const struct scan_job *job, const struct net_wait *wait, struct scan_result *result);
	void (*close)(void *node);
};

extern const struct scan_engine engine_clamav, engine_clamd, engine_spamd, engine_rspamd;

const struct scan_engine *engine_find(const char *name);

/* What every network node is: an address resolved once, TLS for tls:
 * addresses, and the largest message it is sent (0: no limit here). */
struct engine_node {
	struct net_addr addr;
	SSL_CTX *tls;
	uint64_t max_size;
};

/* A node for "tcp:", "tls:", "unix:" or bare HOST:PORT addresses; NULL with err. */
struct engine_node *engine_node_open(const char *address, const struct scan_settings *settings, uint64_t max_size,
				     char *err, size_t errlen);
void engine_node_close(void *node);

/* A request under way, for engine_each_chunk. */
struct engine_stream {
	struct net_conn *conn;
	const struct net_wait *wait;
};

/* engine_each_chunk's fn that writes the chunk as it is. */
int engine_write_chunk(const void *data, size_t len, void *stream);

/* Shared by the engines: result->status = FAILED with a note. */
void engine_fail(struct scan_result *result, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* result->status = INCOMPLETE with a note: a limit of the engine, no verdict. */
void engine_incomplete(struct scan_result *result, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a virus name is libclamav's alert for a limit it hit ("Heuristics.Limits.Exceeded.MaxFileSize"). */
bool engine_limit_alert(const char *virus_name);
/* Whether that limit is the scan time: a limit of the moment, not of the message. */
bool engine_time_alert(const char *virus_name);
/* Whether a virus name is libclamav's alert for encrypted content ("Heuristics.Encrypted.Zip"). */
bool engine_encrypted_alert(const char *virus_name);
/*
 * What an engine's alert means for a result: a limit (INCOMPLETE, or
 * FAILED for the scan time) or encrypted content (ENCRYPTED), with a note
 * naming it; false, and the result untouched, for a real virus name.
 */
bool engine_alert(const char *engine, const char *virus_name, struct scan_result *result);
/* Streams the spool to fn in chunks of at most chunk bytes; -1 when fn or a read fails. */
int engine_each_chunk(const struct spool *spool, size_t chunk, int (*fn)(const void *, size_t, void *), void *arg);
/* Copies a peer or envelope string into a header value: printable, bounded. */
void engine_header_value(char *dst, size_t dstlen, const char *src);
/* The verdict's virus name, printable; one longer than the field is kept cut and marked "...". */
void engine_virus_name(struct scan_result *result, const char *name);
/* Adds one rule name (len bytes, made printable) to result->rules, "A,B": whole or not at all; once one
 * does not fit, the list ends in ",..." (ENGINE_RULES_MORE) so a reader knows it is not all of them. */
#define ENGINE_RULES_MORE ",..."
void engine_add_rule(struct scan_result *result, const char *name, size_t len);

/*
 * The reply parsers, exposed for the unit tests and fuzzers.  Each fills
 * result->status: DONE with the verdict, SKIPPED, or FAILED with a note.
 */
void clamd_parse_reply(const char *reply, struct scan_result *result);	/* NUL-terminated */
void spamd_parse_reply(const char *reply, struct scan_result *result);	/* NUL-terminated */
int spamd_parse_number(const char *text, const char **end, double *out);	/* locale-free; 0 or -1 */
void rspamd_parse_reply(const char *reply, size_t len, struct scan_result *result);	/* NUL at reply[len] */
/* rspamd's request head for job (every envelope value whole, made printable); -1 when it would pass
 * RSPAMD_HEAD_MAX bytes.  Exposed for the unit tests. */
#define RSPAMD_HEAD_MAX (64 * 1024)
struct dstr;
int rspamd_request_head(const struct engine_node *node, const struct scan_job *job, struct dstr *head);
/* Signatures in the clamav node's current engine. */
unsigned clamav_signatures(void *node);
/* How many times the clamav node's engine was replaced by a reload. */
unsigned clamav_generation(void *node);
/* The reload thread, started after open (after the scan workers' fork server is forked); 0 or -1. */
int clamav_watch(void *node);
/* Without a thread: reloads when ClamAVCheckInterval passed and the database changed; whether it did. */
bool clamav_check(void *node);
/* The engine freed here (it lives on in the scan workers' fork server); a scan then fails. */
void clamav_drop(void *node);
/* libclamav's MaxFileSize and MaxScanSize for messages of up to max_message bytes. */
void clamav_limits(uint64_t max_message, uint64_t *max_file, uint64_t *max_scan);

#endif
