/*
 * rredis - the rate-limit store in Redis, shared by every hostmilter that
 * names the same server.
 *
 * Promise:
 * - One charge is one atomic round trip: a Lua script (TIME, GET,
 *   the GCRA step of gcra.h, SET with PX) run by EVALSHA, or by EVAL
 *   when the server answers NOSCRIPT (its script cache is empty after a
 *   restart, a failover or SCRIPT FLUSH).  The time is the Redis server's,
 *   so the hostmilters of a fleet need not agree on theirs.  A record
 *   expires when its TAT passes.  Keys are RREDIS_PREFIX and the sender's
 *   key, passed in KEYS[] and never as a command format.
 * - Record: the string "TAT:TOLERANCE", microseconds of the server's clock,
 *   TOLERANCE = (burst - 1) * interval, so a listing can tell a limited
 *   sender without knowing its limit.  A record that is not of that form
 *   is an error for that charge (the caller's failure action answers), not
 *   a fresh allowance.
 * - Connections come from a pool of at most RREDIS_POOL_MAX shared by all
 *   threads (a hiredis context serves one thread at a time); one that has
 *   failed is freed, never reused, and every idle one goes with it, since
 *   they all lead to the server that just failed.  Connecting, waiting for
 *   a pooled connection and the round trip share one deadline of
 *   RateLimitStoreTimeout; a NOSCRIPT answer may add one more round trip.
 * - A circuit breaker (breaker.h) stands before the store: while it is
 *   open a charge costs nothing and returns RREDIS_SKIPPED; its state
 *   changes are logged.
 * - A TCP host name is resolved once, by rredis_new, so no charge waits
 *   for DNS.
 * - hiredis 0.14 (Debian 12) has no TLS: a Redis reached over TCP must be
 *   on a private network or behind stunnel or spiped; prefer its unix
 *   socket.
 */
#ifndef HM_RREDIS_H
#define HM_RREDIS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "gcra.h"

#define RREDIS_POOL_MAX 16
#define RREDIS_PREFIX "hostmilter:rl:"
/* The longest key after the prefix (ratelimit_key's are shorter); a longer one fails its step. */
#define RREDIS_KEY_MAX 1024
/* Keys one listing examines at most (SCAN), so a huge Redis cannot hold the control thread. */
#define RREDIS_SCAN_MAX 200000

enum rredis_op { RREDIS_CHARGE, RREDIS_REFUND };
/* rredis_step's answers. */
#define RREDIS_ALLOWED 1
#define RREDIS_LIMITED 0
#define RREDIS_FAILED (-1)
#define RREDIS_SKIPPED (-2)	/* the breaker is open: Redis was not asked */

struct rredis;

/* where must be a redis kind; opens no connection. */
struct rredis *rredis_new(const struct conf_store *where, unsigned timeout_ms, char *err, size_t errlen);
void rredis_free(struct rredis *r);
/* "redis unix:/run/redis/redis.sock" */
const char *rredis_name(const struct rredis *r);

/* One GCRA step (or refund) for key; tau = burst * interval; see the RREDIS_ answers.  A charge
 * ALLOWED leaves the TAT it wrote in *tat_us; a refund takes the charge's in *tat_us (gcra_refund). */
int rredis_step(struct rredis *r, enum rredis_op op, const char *key, uint64_t interval_us, uint64_t tau_us,
		uint64_t *retry_after_us, uint64_t *tat_us);

/* The admin's calls, which ask Redis whatever the breaker says and do not change it. */
/* Every limited sender under RREDIS_PREFIX (at most RREDIS_SCAN_MAX keys examined); 0 or -1 with err. */
int rredis_each_limited(struct rredis *r, gcra_visit *visit, void *arg, char *err, size_t errlen);
/* 1 deleted, 0 there was no such key, -1 with err. */
int rredis_forget(struct rredis *r, const char *key, char *err, size_t errlen);

/*
 * An error reply of the server, read whole (never a prefix of it): the
 * script's own "unreadable rate record" is a fault of that one record (the
 * server works: the breaker sees success); anything else is the store
 * failing.  An error longer than RREDIS_ERROR_MAX is not read at all but
 * classed too long, a store failure: Redis's own errors and the script's
 * are one short line, so such a reply is not one of theirs.
 */
#define RREDIS_ERROR_MAX 4096
enum rredis_error { RREDIS_ERROR_STORE, RREDIS_ERROR_RECORD, RREDIS_ERROR_TOO_LONG };
enum rredis_error rredis_error_class(const char *text, size_t len);

/* The Lua script, for the tests. */
extern const char rredis_script[];

#endif
