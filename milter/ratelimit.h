/*
 * ratelimit - how many recipients a sender may have per hour (GCRA), and
 * where the counts live.
 *
 * Promise:
 * - The decision is gcra.h's (one TAT per sender, a pure step); this
 *   module chooses the store that keeps the TATs.
 * - struct ratelimit is made once at start, as root, from the
 *   configuration (RateLimitStore, OnRateLimitStoreFailure,
 *   RateLimitStoreTimeout, RateLimitLocalSize), and is no part of the
 *   policy snapshot: it survives SIGHUP and policy reloads, and those keys
 *   take effect at the next start.  Every function is safe from any thread.
 * - ratelimit_charge counts one recipient for KEY in the configured store
 *   and answers within about RateLimitStoreTimeout (twice that when a
 *   Redis connection has to be made or the script reloaded).  The local
 *   store is a table in this process (rlocal.h); the Redis store is shared
 *   by every hostmilter that names the same Redis, with one atomic round
 *   trip on the Redis server's clock (rredis.h).  When Redis cannot answer
 *   (error, timeout, or its circuit breaker open), OnRateLimitStoreFailure
 *   decides: local charges the local table instead (fallback), accept
 *   allows (fallback), tempfail gives RATELIMIT_STORE_FAILED.  When the
 *   local table itself cannot take a new sender (out of memory), the
 *   verdict is RATELIMIT_STORE_FAILED unless the failure action is accept.
 * - Keys are the caller's printable strings ("mailbox:xyz00-info",
 *   "client:192.0.2.10", "cert:issuer|subject" in lower case, "bulk:mailbox:xyz00-info").  A
 *   key longer than RATELIMIT_KEY_MAX or holding control characters is
 *   replaced by "sha256:" and its digest in hex, so that every key can be
 *   shown and named in one line of the control protocol.
 * - The limit is not part of the key: a policy reload that changes a
 *   sender's rate keeps its history.  per_hour 0 is unlimited (nothing is
 *   charged, store "none"); burst 0 means one hour's allowance (per_hour);
 *   burst is capped at RATELIMIT_BURST_MAX.
 * - The mode (RateLimit enforce|warn|off) is the caller's: off charges
 *   nothing; warn charges and logs, but does not refuse; since a refused
 *   charge writes nothing, a sender in warn mode is counted as if
 *   enforced.
 * - Limited, for the admin view: the next recipient would be refused,
 *   i.e. TAT - now > (burst - 1) * interval; its retry-after is the time
 *   until the next recipient passes.  ratelimit_release forgets a key in
 *   both stores, so its next recipient starts a full burst.
 * - ratelimit_refund gives back one recipient charged by an ALLOW (a
 *   message aborted before its data was complete), in the store that
 *   charged it, but only what time has not given back already
 *   (gcra_refund): the burst stays the most a sender gets at any moment,
 *   however long a transaction was held open before it was abandoned.
 */
#ifndef HM_RATELIMIT_H
#define HM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "gcra.h"

#define RATELIMIT_KEY_MAX 600	/* as long as the session's keys (certificate issuer and subject) */
#define RATELIMIT_BURST_MAX GCRA_BURST_MAX
#define RATELIMIT_HOUR_US GCRA_HOUR_US
/* Senders listed at most by one ratelimit_list; the rest are counted. */
#define RATELIMIT_LIST_MAX 1000

struct ratelimit;

struct ratelimit_limit {
	uint32_t per_hour;	/* 0: unlimited */
	uint32_t burst;		/* 0: per_hour */
};

enum ratelimit_verdict { RATELIMIT_ALLOW, RATELIMIT_LIMITED, RATELIMIT_STORE_FAILED };

struct ratelimit_result {
	enum ratelimit_verdict verdict;
	uint64_t retry_after_s;	/* LIMITED: seconds until the next recipient would pass (rounded up) */
	bool fallback;		/* the configured store failed; OnRateLimitStoreFailure answered */
	bool store_error;	/* this charge asked the configured store and it failed */
	const char *store;	/* where it was counted: "local", "redis", or "none" */
	uint64_t tat_us;	/* ALLOW: the sender's TAT after this charge, on that store's clock */
};

/* A limited sender, as the stores' listings report it (gcra_visit). */
typedef gcra_visit ratelimit_visit;

/* At start, as root; NULL with err.  Opens no connection: the Redis pool connects on demand. */
struct ratelimit *ratelimit_open(const struct hm_conf *conf, char *err, size_t errlen);
void ratelimit_close(struct ratelimit *rl);
/* "local", "redis unix:/run/redis/redis.sock", ...: for the start-up log line. */
const char *ratelimit_describe(const struct ratelimit *rl);

void ratelimit_charge(struct ratelimit *rl, const char *key, const struct ratelimit_limit *limit,
		      struct ratelimit_result *out);
/* Undo charged (an ALLOW of ratelimit_charge for key and limit); anything else is ignored. */
void ratelimit_refund(struct ratelimit *rl, const char *key, const struct ratelimit_limit *limit,
		      const struct ratelimit_result *charged);

/* Lines "RETRY_S STORE KEY" for each limited sender, at most RATELIMIT_LIST_MAX, then
 * nothing else; *count gets all that were found.  0, or -1 with err when a store could not
 * be read (the lines of the other store are written all the same). */
int ratelimit_list(struct ratelimit *rl, FILE *out, unsigned long *count, char *err, size_t errlen);
/* Forgets key in every store: 1 when some store had it, 0 when none did, -1 with err on a store error. */
int ratelimit_release(struct ratelimit *rl, const char *key, char *err, size_t errlen);

/* The key as the stores keep it (see above); out has RATELIMIT_KEY_MAX + 1 bytes. */
void ratelimit_key(const char *key, char *out);

#endif
