/*
 * rredis - the Redis rate-limit store; see rredis.h.
 *
 * hiredis's synchronous API is used with socket timeouts (redisSetTimeout)
 * rather than its async API, which would need an event loop in every
 * libmilter thread.  All customer text travels as an argument of
 * redisCommandArgv, never as a format.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "breaker.h"
#include "monotime.h"
#include "msg.h"
#include "ratelog.h"
#include "rredis.h"

/* The GCRA step of gcra_tau and the refund of gcra_refund (gcra.c), on the server's clock;
 * ARGV: op, interval_us, tau_us, and for a refund the TAT its charge left.  Answers {allowed,
 * retry_after_us, tat_us}.  Numbers go back to Redis through string.format: Redis would write a
 * large Lua number as 3.6e+12. */
const char rredis_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local interval, tau = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local tol = tau - interval\n"
	"local tat = 0\n"
	"local v = redis.call('GET', KEYS[1])\n"
	"if v then\n"
	"  local s = string.match(v, '^(%d+):%d+$')\n"
	"  if not s then return redis.error_reply('hostmilter: unreadable rate record') end\n"
	"  tat = tonumber(s)\n"
	"end\n"
	"local function put(x)\n"
	"  if x <= now then redis.call('DEL', KEYS[1]) return end\n"
	"  redis.call('SET', KEYS[1], string.format('%.0f:%.0f', x, tol), 'PX',\n"
	"             string.format('%.0f', math.ceil((x - now) / 1000)))\n"
	"end\n"
	"if ARGV[1] == 'refund' then\n"
	"  local charged = tonumber(ARGV[4])\n"
	"  if tat > now and charged > now then put(math.max(now, tat - math.min(interval, charged - now))) end\n"
	"  return {1, 0, 0}\n"
	"end\n"
	"local base = math.max(tat, now)\n"
	"local pulled = false\n"
	"if base - now > tau then base = now + tau pulled = true end\n"
	"if base - now > tol then\n"
	"  if pulled then put(base) end\n"
	"  return {0, base - now - tol, 0}\n"
	"end\n"
	"put(base + interval)\n"
	"return {1, math.max(0, base + interval - now - tol), base + interval}\n";

struct rredis_conn {
	redisContext *ctx;
	unsigned timeout_ms;	/* the socket's timeout now */
};

struct rredis {
	struct conf_store where;
	char address[INET6_ADDRSTRLEN];	/* tcp: the host, resolved once at start */
	char name[CONF_PATH_MAX + 16];
	unsigned timeout_ms;
	char sha[41];
	pthread_mutex_t lock;
	pthread_cond_t freed;	/* a connection went back to the pool or was closed */
	struct rredis_conn *idle[RREDIS_POOL_MAX];
	unsigned nidle, nopen;	/* nopen counts idle, busy and connecting ones */
	struct breaker breaker;
	unsigned seed;
	struct ratelog said_record;	/* per-record errors: one line every 10 s */
};

static struct timeval
rredis_tv(unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };

	return tv;
}

static int
rredis_sha1(const char *text, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!EVP_Digest(text, strlen(text), md, &len, EVP_sha1(), NULL) || len != 20)
		return -1;
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/*
 * A host name is resolved here, at start, and never again: a DNS lookup
 * inside a charge could outlast every deadline, since getaddrinfo has
 * none of its own.
 */
static int
rredis_resolve(struct rredis *r, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(r->where.host, NULL, &hints, &res);
	const void *addr;

	if (rc != 0 || !res) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", r->name, r->where.host, gai_strerror(rc));
		return -1;
	}
	addr = res->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
					  : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	rc = inet_ntop(res->ai_family, addr, r->address, sizeof(r->address)) ? 0 : -1;
	freeaddrinfo(res);
	if (rc < 0)
		snprintf(err, errlen, "%s: cannot use the address of %s", r->name, r->where.host);
	return rc;
}

struct rredis *
rredis_new(const struct conf_store *where, unsigned timeout_ms, char *err, size_t errlen)
{
	struct rredis *r;
	pthread_condattr_t attr;

	if (where->kind == CONF_STORE_LOCAL || timeout_ms == 0) {
		snprintf(err, errlen, "RateLimitStore: not a Redis store");
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->where = *where;
	r->said_record = (struct ratelog)RATELOG_INIT(10);
	r->timeout_ms = timeout_ms;
	if (where->kind == CONF_STORE_REDIS_UNIX)
		snprintf(r->name, sizeof(r->name), "redis unix:%s", where->path);
	else
		snprintf(r->name, sizeof(r->name), "redis tcp:%s:%u", where->host, where->port);
	if (rredis_sha1(rredis_script, r->sha) < 0) {
		snprintf(err, errlen, "%s: cannot compute the script's SHA-1", r->name);
		free(r);
		return NULL;
	}
	if (where->kind == CONF_STORE_REDIS_TCP && rredis_resolve(r, err, errlen) < 0) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->freed, &attr);
	pthread_condattr_destroy(&attr);
	breaker_init(&r->breaker);
	r->seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	return r;
}

static void
rredis_conn_free(struct rredis_conn *conn)
{
	if (conn) {
		redisFree(conn->ctx);
		free(conn);
	}
}

void
rredis_free(struct rredis *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->nidle; i++)
		rredis_conn_free(r->idle[i]);
	pthread_cond_destroy(&r->freed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const char *
rredis_name(const struct rredis *r)
{
	return r->name;
}

/* What is left of the deadline, in ms; 0 when it has passed. */
static unsigned
rredis_left(uint64_t deadline_ms)
{
	uint64_t now = monotime_ms();

	return now < deadline_ms ? (unsigned)(deadline_ms - now) : 0;
}

static struct rredis_conn *
rredis_connect(struct rredis *r, uint64_t deadline_ms, char *why, size_t whylen)
{
	unsigned left = rredis_left(deadline_ms);
	struct rredis_conn *conn;
	redisContext *ctx;

	if (left == 0) {
		snprintf(why, whylen, "no time left to connect");
		return NULL;
	}
	ctx = r->where.kind == CONF_STORE_REDIS_UNIX ? redisConnectUnixWithTimeout(r->where.path, rredis_tv(left))
						      : redisConnectWithTimeout(r->address, (int)r->where.port, rredis_tv(left));
	if (!ctx || ctx->err) {
		snprintf(why, whylen, "cannot connect: %s", ctx ? ctx->errstr : "out of memory");
		redisFree(ctx);
		return NULL;
	}
	if (r->where.kind == CONF_STORE_REDIS_TCP)
		redisEnableKeepAlive(ctx);	/* a peer gone without a FIN is noticed in the pool */
	if (!(conn = calloc(1, sizeof(*conn)))) {
		snprintf(why, whylen, "out of memory");
		redisFree(ctx);
		return NULL;
	}
	conn->ctx = ctx;
	conn->timeout_ms = 0;	/* none set yet: rredis_budget sets one before any command */
	return conn;
}

/* A connection for one call: an idle one, a new one, or one freed before the deadline. */
static struct rredis_conn *
rredis_get(struct rredis *r, uint64_t deadline_ms, char *why, size_t whylen)
{
	struct rredis_conn *conn;
	struct timespec ts = { .tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000 };

	pthread_mutex_lock(&r->lock);
	while (r->nidle == 0 && r->nopen >= RREDIS_POOL_MAX) {
		if (pthread_cond_timedwait(&r->freed, &r->lock, &ts) == ETIMEDOUT) {
			pthread_mutex_unlock(&r->lock);
			snprintf(why, whylen, "all %d pooled connections busy until the deadline", RREDIS_POOL_MAX);
			return NULL;
		}
	}
	if (r->nidle) {
		conn = r->idle[--r->nidle];
		pthread_mutex_unlock(&r->lock);
		return conn;
	}
	r->nopen++;
	pthread_mutex_unlock(&r->lock);
	if (!(conn = rredis_connect(r, deadline_ms, why, whylen))) {
		pthread_mutex_lock(&r->lock);
		r->nopen--;
		pthread_cond_signal(&r->freed);
		pthread_mutex_unlock(&r->lock);
	}
	return conn;
}

/* Back to the pool; a broken one is freed with every idle one (they reach the same failed server). */
static void
rredis_put(struct rredis *r, struct rredis_conn *conn, bool broken)
{
	struct rredis_conn *drop[RREDIS_POOL_MAX + 1];
	unsigned ndrop = 0;

	if (!broken && conn->timeout_ms != r->timeout_ms) {
		broken = redisSetTimeout(conn->ctx, rredis_tv(r->timeout_ms)) != REDIS_OK;
		conn->timeout_ms = r->timeout_ms;
	}
	pthread_mutex_lock(&r->lock);
	if (broken) {
		drop[ndrop++] = conn;
		while (r->nidle)
			drop[ndrop++] = r->idle[--r->nidle];
		r->nopen -= ndrop;
	} else
		r->idle[r->nidle++] = conn;
	pthread_cond_broadcast(&r->freed);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < ndrop; i++)
		rredis_conn_free(drop[i]);
}

/* The socket's timeout cut to what is left of the deadline; -1 when nothing is left. */
static int
rredis_budget(struct rredis_conn *conn, uint64_t deadline_ms)
{
	unsigned left = rredis_left(deadline_ms);

	if (left == 0)
		return -1;
	if (left < conn->timeout_ms || conn->timeout_ms == 0) {
		if (redisSetTimeout(conn->ctx, rredis_tv(left)) != REDIS_OK)
			return -1;
		conn->timeout_ms = left;
	}
	return 0;
}

static redisReply *
rredis_command(struct rredis_conn *conn, uint64_t deadline_ms, int argc, const char **argv, const size_t *lens)
{
	if (rredis_budget(conn, deadline_ms) < 0)
		return NULL;
	return redisCommandArgv(conn->ctx, argc, argv, lens);
}

static int
rredis_fullkey(const char *key, char *out, size_t outlen)
{
	int len = snprintf(out, outlen, "%s%s", RREDIS_PREFIX, key);

	return len < 0 || (size_t)len >= outlen ? -1 : len;
}

/* EVALSHA, then EVAL when the server has lost the script. */
static redisReply *
rredis_eval(struct rredis *r, struct rredis_conn *conn, uint64_t deadline_ms, const char *fullkey,
	    enum rredis_op op, uint64_t interval_us, uint64_t tau_us, uint64_t tat_us)
{
	char interval[24], tau[24], tat[24];
	const char *argv[8] = { "EVALSHA", r->sha, "1", fullkey, op == RREDIS_REFUND ? "refund" : "charge",
				interval, tau, tat };
	size_t lens[8];
	redisReply *reply;

	snprintf(interval, sizeof(interval), "%" PRIu64, interval_us);
	snprintf(tau, sizeof(tau), "%" PRIu64, tau_us);
	snprintf(tat, sizeof(tat), "%" PRIu64, tat_us);
	for (unsigned i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	reply = rredis_command(conn, deadline_ms, 8, argv, lens);
	if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		argv[0] = "EVAL";
		argv[1] = rredis_script;
		lens[0] = 4;
		lens[1] = strlen(rredis_script);
		reply = rredis_command(conn, deadline_ms, 8, argv, lens);
	}
	return reply;
}

/* The script's error for a record it cannot read (see rredis_script). */
#define RREDIS_RECORD_ERROR "hostmilter: unreadable rate record"

enum rredis_error
rredis_error_class(const char *text, size_t len)
{
	if (len > RREDIS_ERROR_MAX)
		return RREDIS_ERROR_TOO_LONG;
	/* memmem, not strstr: the reply's length counts, whatever bytes it holds */
	return memmem(text, len, RREDIS_RECORD_ERROR, strlen(RREDIS_RECORD_ERROR)) ? RREDIS_ERROR_RECORD
										   : RREDIS_ERROR_STORE;
}

/* For the log: the error whole when it is printable and fits why, else its length and class, said so. */
static void
rredis_error_text(const redisReply *reply, enum rredis_error class, char *why, size_t whylen)
{
	bool printable = true;
	int n;

	for (size_t i = 0; i < reply->len && printable; i++)
		printable = (unsigned char)reply->str[i] >= 0x20 && reply->str[i] != 0x7f;
	if (class == RREDIS_ERROR_TOO_LONG)
		n = snprintf(why, whylen, "an error reply of %zu bytes, longer than %d", reply->len, RREDIS_ERROR_MAX);
	else if (printable)
		n = snprintf(why, whylen, "%s", reply->str);
	else
		n = -1;
	if (n < 0 || (size_t)n >= whylen)
		snprintf(why, whylen, "%s error reply of %zu bytes (not shown: too long or not printable)",
			 class == RREDIS_ERROR_RECORD ? "a record" : "an", reply->len);
}

/* The script's answer {allowed, retry_after_us, tat_us}; -1 with why for anything else, and *record
 * when the error is the record's rather than the store's (rredis_error_class). */
static int
rredis_answer(const redisReply *reply, uint64_t *retry_after_us, uint64_t *tat_us, bool *record, char *why,
	      size_t whylen)
{
	*record = false;
	if (reply->type == REDIS_REPLY_ERROR) {
		enum rredis_error class = rredis_error_class(reply->str, reply->len);

		*record = class == RREDIS_ERROR_RECORD;
		rredis_error_text(reply, class, why, whylen);
		return -1;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_INTEGER
	    || reply->element[1]->type != REDIS_REPLY_INTEGER || reply->element[1]->integer < 0
	    || reply->element[2]->type != REDIS_REPLY_INTEGER || reply->element[2]->integer < 0) {
		snprintf(why, whylen, "unexpected reply to the rate-limit script");
		return -1;
	}
	*retry_after_us = (uint64_t)reply->element[1]->integer;
	*tat_us = (uint64_t)reply->element[2]->integer;
	return reply->element[0]->integer ? RREDIS_ALLOWED : RREDIS_LIMITED;
}

/* The breaker's bookkeeping and the log line for a change. */
static void
rredis_outcome(struct rredis *r, bool ok, const char *why)
{
	uint64_t now = monotime_ms();
	bool changed;
	double jitter;

	pthread_mutex_lock(&r->lock);
	jitter = (double)rand_r(&r->seed) / RAND_MAX;
	changed = breaker_record(&r->breaker, ok, now, jitter);
	if (changed && r->breaker.state == BREAKER_OPEN)
		msg_warn("rate-limit store %s: down (%s); next probe in %.1f s", r->name, why,
			 (double)(r->breaker.open_until_ms - now) / 1000.0);
	else if (changed)
		msg_info("rate-limit store %s: up again", r->name);
	pthread_mutex_unlock(&r->lock);
}

/* A record-level error (the server answered): logged now and then, the breaker sees success. */
static void
rredis_record_error(struct rredis *r, const char *key, const char *why)
{
	unsigned long held;

	if (ratelog_allow(&r->said_record, ratelog_now(), &held))
		msg_warn("rate-limit store %s: key %s: %s (said at most every 10 s, %lu more since the last time)",
			 r->name, key, why, held);
}

int
rredis_step(struct rredis *r, enum rredis_op op, const char *key, uint64_t interval_us, uint64_t tau_us,
	    uint64_t *retry_after_us, uint64_t *tat_us)
{
	uint64_t deadline = monotime_ms() + r->timeout_ms;
	char fullkey[RREDIS_KEY_MAX + sizeof(RREDIS_PREFIX) + 1], why[RREDIS_ERROR_MAX + 128];
	struct rredis_conn *conn;
	redisReply *reply;
	uint64_t refund_tat;
	bool admitted, record;
	int rc;

	*retry_after_us = 0;
	if (rredis_fullkey(key, fullkey, sizeof(fullkey)) < 0)
		return RREDIS_FAILED;
	pthread_mutex_lock(&r->lock);
	admitted = breaker_admit(&r->breaker, monotime_ms());
	pthread_mutex_unlock(&r->lock);
	if (!admitted)
		return RREDIS_SKIPPED;
	if (!(conn = rredis_get(r, deadline, why, sizeof(why)))) {
		rredis_outcome(r, false, why);
		return RREDIS_FAILED;
	}
	reply = rredis_eval(r, conn, deadline, fullkey, op, interval_us, tau_us, op == RREDIS_REFUND ? *tat_us : 0);
	if (!reply) {
		snprintf(why, sizeof(why), "%s", conn->ctx->err ? conn->ctx->errstr : "deadline passed");
		rredis_put(r, conn, true);
		rredis_outcome(r, false, why);
		return RREDIS_FAILED;
	}
	rredis_put(r, conn, false);
	rc = rredis_answer(reply, retry_after_us, op == RREDIS_REFUND ? &refund_tat : tat_us, &record, why,
			   sizeof(why));
	freeReplyObject(reply);
	if (rc == -1 && record) {
		rredis_record_error(r, key, why);
		rredis_outcome(r, true, why);
		return RREDIS_FAILED;
	}
	rredis_outcome(r, rc >= 0, why);
	return rc >= 0 ? rc : RREDIS_FAILED;
}

/* ---- the admin's calls: no breaker, a deadline per command ---- */

static redisReply *
rredis_admin_command(struct rredis_conn *conn, unsigned timeout_ms, int argc, const char **argv, const size_t *lens)
{
	return rredis_command(conn, monotime_ms() + timeout_ms, argc, argv, lens);
}

/* The server's clock in microseconds, as the script reads it. */
static int
rredis_time(struct rredis *r, struct rredis_conn *conn, uint64_t *now_us)
{
	const char *argv[] = { "TIME" };
	size_t lens[] = { 4 };
	redisReply *reply = rredis_admin_command(conn, r->timeout_ms, 1, argv, lens);
	int rc = -1;

	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
	    && reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_STRING) {
		*now_us = strtoull(reply->element[0]->str, NULL, 10) * 1000000 + strtoull(reply->element[1]->str, NULL, 10);
		rc = 0;
	}
	if (reply)
		freeReplyObject(reply);
	return rc;
}

/* A record "TAT:TOLERANCE"; limited when TAT - now > TOLERANCE. */
static void
rredis_visit_record(const redisReply *value, const char *fullkey, uint64_t now_us, gcra_visit *visit, void *arg)
{
	unsigned long long tat, tol;
	char tail;

	if (value->type != REDIS_REPLY_STRING || sscanf(value->str, "%llu:%llu%c", &tat, &tol, &tail) != 2)
		return;
	if (tat > now_us && tat - now_us > tol)
		visit(arg, fullkey + strlen(RREDIS_PREFIX), tat - tol - now_us);
}

/* MGET the keys of one SCAN batch and visit the limited ones. */
static int
rredis_visit_batch(struct rredis *r, struct rredis_conn *conn, const redisReply *keys, uint64_t now_us,
		   gcra_visit *visit, void *arg)
{
	const char **argv = calloc(keys->elements + 1, sizeof(*argv));
	size_t *lens = calloc(keys->elements + 1, sizeof(*lens));
	redisReply *values = NULL;
	int rc = -1;

	if (argv && lens) {
		argv[0] = "MGET";
		lens[0] = 4;
		for (size_t i = 0; i < keys->elements; i++) {
			argv[i + 1] = keys->element[i]->str;
			lens[i + 1] = keys->element[i]->len;
		}
		values = rredis_admin_command(conn, r->timeout_ms, (int)keys->elements + 1, argv, lens);
	}
	if (values && values->type == REDIS_REPLY_ARRAY && values->elements == keys->elements) {
		for (size_t i = 0; i < values->elements; i++)
			rredis_visit_record(values->element[i], keys->element[i]->str, now_us, visit, arg);
		rc = 0;
	}
	if (values)
		freeReplyObject(values);
	free(argv);
	free(lens);
	return rc;
}

static bool
rredis_scan_reply_ok(const redisReply *reply)
{
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
	    || reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < reply->element[1]->elements; i++)
		if (reply->element[1]->element[i]->type != REDIS_REPLY_STRING)
			return false;
	return true;
}

/* SCAN over the prefix, batch by batch, until the cursor is back at 0 or RREDIS_SCAN_MAX keys were seen. */
static int
rredis_scan(struct rredis *r, struct rredis_conn *conn, uint64_t now_us, gcra_visit *visit, void *arg,
	    char *err, size_t errlen)
{
	static const char pattern[] = RREDIS_PREFIX "*";
	char cursor[32] = "0";
	const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
	size_t lens[6], seen = 0;

	do {
		redisReply *reply;
		int rc;

		for (unsigned i = 0; i < 6; i++)
			lens[i] = strlen(argv[i]);
		reply = rredis_admin_command(conn, r->timeout_ms, 6, argv, lens);
		if (!rredis_scan_reply_ok(reply) || reply->element[0]->len >= sizeof(cursor)) {
			snprintf(err, errlen, "%s: SCAN failed: %s", r->name,
				 conn->ctx->err ? conn->ctx->errstr : "unexpected reply");
			if (reply)
				freeReplyObject(reply);
			return -1;
		}
		memcpy(cursor, reply->element[0]->str, reply->element[0]->len + 1);
		seen += reply->element[1]->elements;
		rc = reply->element[1]->elements ? rredis_visit_batch(r, conn, reply->element[1], now_us, visit, arg) : 0;
		freeReplyObject(reply);
		if (rc < 0) {
			snprintf(err, errlen, "%s: MGET failed", r->name);
			return -1;
		}
	} while (strcmp(cursor, "0") != 0 && seen < RREDIS_SCAN_MAX);
	if (strcmp(cursor, "0") != 0) {
		snprintf(err, errlen, "%s: listing stopped after %zu keys", r->name, seen);
		return -1;
	}
	return 0;
}

int
rredis_each_limited(struct rredis *r, gcra_visit *visit, void *arg, char *err, size_t errlen)
{
	char why[256];
	struct rredis_conn *conn = rredis_get(r, monotime_ms() + r->timeout_ms, why, sizeof(why));
	uint64_t now_us;
	int rc;

	if (!conn) {
		snprintf(err, errlen, "%s: %s", r->name, why);
		return -1;
	}
	if (rredis_time(r, conn, &now_us) < 0) {
		snprintf(err, errlen, "%s: TIME failed: %s", r->name, conn->ctx->err ? conn->ctx->errstr : "unexpected reply");
		rredis_put(r, conn, true);
		return -1;
	}
	rc = rredis_scan(r, conn, now_us, visit, arg, err, errlen);
	rredis_put(r, conn, conn->ctx->err != 0);
	return rc;
}

int
rredis_forget(struct rredis *r, const char *key, char *err, size_t errlen)
{
	char fullkey[RREDIS_KEY_MAX + sizeof(RREDIS_PREFIX) + 1], why[256];
	const char *argv[2] = { "DEL", fullkey };
	size_t lens[2] = { 3, 0 };
	struct rredis_conn *conn;
	redisReply *reply;
	int len = rredis_fullkey(key, fullkey, sizeof(fullkey)), rc = -1;

	if (len < 0) {
		snprintf(err, errlen, "key too long");
		return -1;
	}
	lens[1] = (size_t)len;
	if (!(conn = rredis_get(r, monotime_ms() + r->timeout_ms, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: %s", r->name, why);
		return -1;
	}
	reply = rredis_admin_command(conn, r->timeout_ms, 2, argv, lens);
	if (reply && reply->type == REDIS_REPLY_INTEGER)
		rc = reply->integer > 0;
	else
		snprintf(err, errlen, "%s: DEL failed: %s", r->name,
			 conn->ctx->err ? conn->ctx->errstr : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
												: "unexpected reply");
	rredis_put(r, conn, conn->ctx->err != 0);
	if (reply)
		freeReplyObject(reply);
	return rc;
}
