/*
 * ratelimit - GCRA and the choice of store; see ratelimit.h.
 *
 * The decision itself is gcra.c's; this module picks the store, falls
 * back when Redis cannot answer, and keys the senders.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "msg.h"
#include "ratelog.h"
#include "gcra.h"
#include "monotime.h"
#include "ratelimit.h"
#include "rlocal.h"
#include "rredis.h"

_Static_assert(RATELIMIT_KEY_MAX <= RREDIS_KEY_MAX, "every key ratelimit_key makes fits the Redis store");

struct ratelimit {
	enum conf_store_failure on_failure;
	struct rlocal *local;	/* the local store, and the fallback of the Redis one */
	struct rredis *redis;	/* NULL: RateLimitStore local */
	struct ratelog said_full;	/* "local table full": one line a minute */
};

void
ratelimit_key(const char *key, char *out)
{
	size_t len = strlen(key);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	bool plain = len > 0 && len <= RATELIMIT_KEY_MAX;

	for (size_t i = 0; plain && i < len; i++)
		plain = (unsigned char)key[i] >= 0x20 && key[i] != 0x7f;
	if (plain) {
		memcpy(out, key, len + 1);
		return;
	}
	strcpy(out, "sha256:");
	if (!EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL))
		mdlen = 0;	/* cannot happen with the default provider; all such keys then share one */
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

struct ratelimit *
ratelimit_open(const struct hm_conf *conf, char *err, size_t errlen)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	struct conf_store where;

	if (!rl || !(rl->local = rlocal_new((unsigned long)conf->rate_limit_local_size))) {
		free(rl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rl->on_failure = conf->on_store_failure;
	rl->said_full = (struct ratelog)RATELOG_INIT(60);
	if (conf_store_parse(conf->rate_limit_store, &where) < 0) {
		snprintf(err, errlen, "RateLimitStore %s: not local, redis unix:/PATH or redis tcp:HOST:PORT",
			 conf->rate_limit_store);
		ratelimit_close(rl);
		return NULL;
	}
	if (where.kind != CONF_STORE_LOCAL
	    && !(rl->redis = rredis_new(&where, (unsigned)conf->rate_limit_store_timeout, err, errlen))) {
		ratelimit_close(rl);
		return NULL;
	}
	return rl;
}

void
ratelimit_close(struct ratelimit *rl)
{
	if (!rl)
		return;
	rredis_free(rl->redis);
	rlocal_free(rl->local);
	free(rl);
}

const char *
ratelimit_describe(const struct ratelimit *rl)
{
	return rl->redis ? rredis_name(rl->redis) : "local";
}

/* The local table could not take a new sender: said once a minute, not per RCPT. */
static void
ratelimit_local_full(struct ratelimit *rl)
{
	unsigned long held;

	if (ratelog_allow(&rl->said_full, ratelog_now(), &held))
		msg_warn("rate limits: the local table cannot take another sender (out of memory; said at most once "
			 "a minute, %lu more since the last time)", held);
}

static void
ratelimit_verdict(int allowed, uint64_t retry_after_us, struct ratelimit_result *out)
{
	out->verdict = allowed ? RATELIMIT_ALLOW : RATELIMIT_LIMITED;
	out->retry_after_s = allowed ? 0 : (retry_after_us + 999999) / 1000000;
}

/* The local table, as the store or as the fallback; it fails only when out of memory. */
static void
ratelimit_charge_local(struct ratelimit *rl, const char *key, uint64_t interval, uint64_t tau,
		       struct ratelimit_result *out)
{
	uint64_t now = monotime_us(), retry = 0;
	int rc = rlocal_step(rl->local, key, now, interval, tau, &retry, &out->tat_us);

	if (rc >= 0) {
		out->store = "local";
		ratelimit_verdict(rc, retry, out);
		return;
	}
	ratelimit_local_full(rl);
	out->fallback = rl->on_failure == CONF_STORE_FAILURE_ACCEPT;
	out->verdict = out->fallback ? RATELIMIT_ALLOW : RATELIMIT_STORE_FAILED;
}

void
ratelimit_charge(struct ratelimit *rl, const char *key, const struct ratelimit_limit *limit,
		 struct ratelimit_result *out)
{
	char k[RATELIMIT_KEY_MAX + 1];
	uint64_t interval, tau, retry = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->verdict = RATELIMIT_ALLOW;
	out->store = "none";
	if (!gcra_params(limit->per_hour, limit->burst, &interval, &tau))
		return;
	ratelimit_key(key, k);
	if (!rl->redis) {
		ratelimit_charge_local(rl, k, interval, tau, out);
		return;
	}
	rc = rredis_step(rl->redis, RREDIS_CHARGE, k, interval, tau, &retry, &out->tat_us);
	if (rc >= 0) {
		out->store = "redis";
		ratelimit_verdict(rc, retry, out);
		return;
	}
	out->store_error = rc == RREDIS_FAILED;
	if (rl->on_failure == CONF_STORE_FAILURE_TEMPFAIL) {
		out->verdict = RATELIMIT_STORE_FAILED;
		return;
	}
	out->fallback = true;
	if (rl->on_failure == CONF_STORE_FAILURE_LOCAL)
		ratelimit_charge_local(rl, k, interval, tau, out);
}

void
ratelimit_refund(struct ratelimit *rl, const char *key, const struct ratelimit_limit *limit,
		 const struct ratelimit_result *charged)
{
	char k[RATELIMIT_KEY_MAX + 1];
	uint64_t interval, tau, retry, tat = charged->tat_us;

	if (charged->verdict != RATELIMIT_ALLOW || !gcra_params(limit->per_hour, limit->burst, &interval, &tau))
		return;
	ratelimit_key(key, k);
	if (strcmp(charged->store, "local") == 0)
		rlocal_refund(rl->local, k, monotime_us(), interval, charged->tat_us);
	else if (strcmp(charged->store, "redis") == 0 && rl->redis)
		rredis_step(rl->redis, RREDIS_REFUND, k, interval, tau, &retry, &tat);
}

struct ratelimit_listing {
	FILE *out;
	const char *store;
	unsigned long count;
};

static void
ratelimit_list_one(void *arg, const char *key, uint64_t retry_after_us)
{
	struct ratelimit_listing *l = arg;

	if (l->count++ < RATELIMIT_LIST_MAX)
		fprintf(l->out, "%llu %s %s\n", (unsigned long long)((retry_after_us + 999999) / 1000000), l->store, key);
}

int
ratelimit_list(struct ratelimit *rl, FILE *out, unsigned long *count, char *err, size_t errlen)
{
	struct ratelimit_listing l = { out, "local", 0 };
	int rc = 0;

	rlocal_each_limited(rl->local, monotime_us(), ratelimit_list_one, &l);
	if (rl->redis) {
		l.store = "redis";
		rc = rredis_each_limited(rl->redis, ratelimit_list_one, &l, err, errlen);
	}
	*count = l.count;
	return rc;
}

int
ratelimit_release(struct ratelimit *rl, const char *key, char *err, size_t errlen)
{
	char k[RATELIMIT_KEY_MAX + 1];
	int had, rc;

	ratelimit_key(key, k);
	had = rlocal_forget(rl->local, k);
	if (!rl->redis)
		return had;
	rc = rredis_forget(rl->redis, k, err, errlen);
	return rc < 0 ? -1 : (had || rc);
}
