/*
 * check_ratelimit - unit tests of the rate-limit engine: the GCRA step,
 * the circuit breaker, the local table (its bound, its eviction order,
 * charges from many threads), the engine's failure actions, the control
 * protocol and the statistics.  The Redis store against a real
 * redis-server is t-ratelimit-store's.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "breaker.h"
#include "conf.h"
#include "control.h"
#include "monotime.h"
#include "ratelimit.h"
#include "rlocal.h"
#include "rredis.h"
#include "stats.h"

#define HOUR RATELIMIT_HOUR_US

/* ---- keys and the breaker (the GCRA step itself: check_gcra) ---- */

START_TEST(keys_printable_and_bounded)
{
	char out[RATELIMIT_KEY_MAX + 1], longkey[RATELIMIT_KEY_MAX + 200];

	ratelimit_key("mailbox:xyz00-info", out);
	ck_assert_str_eq(out, "mailbox:xyz00-info");
	ratelimit_key("cert:CN=Müller GmbH, O=x", out);
	ck_assert_str_eq(out, "cert:CN=Müller GmbH, O=x");
	ratelimit_key("client:1.2.3.4\nratelimit release x", out);
	ck_assert_int_eq(strncmp(out, "sha256:", 7), 0);
	ck_assert_uint_eq(strlen(out), 7 + 64);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	ratelimit_key(longkey, out);
	ck_assert_int_eq(strncmp(out, "sha256:", 7), 0);
	longkey[RATELIMIT_KEY_MAX] = '\0';
	ratelimit_key(longkey, out);
	ck_assert_str_eq(out, longkey);
}
END_TEST

/* ---- the circuit breaker ---- */

START_TEST(breaker_opens_probes_and_closes)
{
	struct breaker b;

	breaker_init(&b);
	for (int i = 0; i < BREAKER_FAILS - 1; i++) {
		ck_assert(breaker_admit(&b, 1000));
		ck_assert(!breaker_record(&b, false, 1000, 0.5));
	}
	ck_assert(breaker_record(&b, false, 1000, 0.5));
	ck_assert_int_eq(b.state, BREAKER_OPEN);
	ck_assert_uint_eq(b.open_until_ms, 1000 + BREAKER_REVIVE_MS);	/* jitter 0.5: the middle */
	ck_assert(!breaker_admit(&b, 1000 + BREAKER_REVIVE_MS - 1));
	ck_assert(breaker_admit(&b, 1000 + BREAKER_REVIVE_MS));	/* the probe */
	ck_assert(!breaker_admit(&b, 1000 + BREAKER_REVIVE_MS));	/* only one */
	ck_assert(breaker_record(&b, false, 3000, 1.0));
	ck_assert_uint_eq(b.revive_ms, 2 * BREAKER_REVIVE_MS);
	ck_assert_uint_eq(b.open_until_ms, 3000 + 2 * BREAKER_REVIVE_MS * 14 / 10);
	ck_assert(breaker_admit(&b, 10000));
	ck_assert(breaker_record(&b, true, 10000, 0));
	ck_assert_int_eq(b.state, BREAKER_CLOSED);
	ck_assert_uint_eq(b.revive_ms, BREAKER_REVIVE_MS);
	ck_assert(breaker_admit(&b, 10000));
}
END_TEST

START_TEST(breaker_revive_capped_and_jittered)
{
	struct breaker b;

	breaker_init(&b);
	for (int i = 0; i < BREAKER_FAILS; i++)
		breaker_record(&b, false, 0, 0.5);
	for (int i = 0; i < 20; i++) {
		ck_assert(breaker_admit(&b, b.open_until_ms));
		breaker_record(&b, false, b.open_until_ms, 0.0);
	}
	ck_assert_uint_eq(b.revive_ms, BREAKER_REVIVE_MAX_MS);
	/* A success between failures resets the count in a row. */
	breaker_init(&b);
	breaker_record(&b, false, 0, 0.5);
	breaker_record(&b, false, 0, 0.5);
	breaker_record(&b, true, 0, 0.5);
	breaker_record(&b, false, 0, 0.5);
	ck_assert_int_eq(b.state, BREAKER_CLOSED);
}
END_TEST

/* ---- the local table ---- */

struct collected {
	unsigned n;
	char keys[64][64];
	uint64_t retry[64];
};

static void
collect(void *arg, const char *key, uint64_t retry_after_us)
{
	struct collected *c = arg;

	if (c->n < 64) {
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
		c->retry[c->n++] = retry_after_us;
	}
}

static bool
collected_has(const struct collected *c, const char *key)
{
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->keys[i], key) == 0)
			return true;
	return false;
}

START_TEST(local_limits_and_lists)
{
	struct rlocal *t = rlocal_new(1000);
	struct collected c = { 0 };
	uint64_t retry, tat, a_tat, now = HOUR;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rlocal_step(t, "mailbox:a", now, 1000000, 3000000, &retry, &a_tat), 1);
	ck_assert_int_eq(rlocal_step(t, "mailbox:a", now, 1000000, 3000000, &retry, &tat), 0);
	ck_assert_uint_eq(retry, 1000000);
	ck_assert_int_eq(rlocal_step(t, "mailbox:b", now, 1000000, 3000000, &retry, &tat), 1);
	rlocal_each_limited(t, now, collect, &c);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(c.keys[0], "mailbox:a");
	ck_assert_uint_eq(c.retry[0], 1000000);
	/* A refund gives one back; forgetting starts a full burst. */
	rlocal_refund(t, "mailbox:a", now, 1000000, a_tat);
	ck_assert_int_eq(rlocal_step(t, "mailbox:a", now, 1000000, 3000000, &retry, &tat), 1);
	ck_assert(rlocal_forget(t, "mailbox:a"));
	ck_assert(!rlocal_forget(t, "mailbox:a"));
	ck_assert_uint_eq(rlocal_count(t), 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rlocal_step(t, "mailbox:a", now, 1000000, 3000000, &retry, &tat), 1);
	rlocal_free(t);
}
END_TEST

START_TEST(local_table_bounded)
{
	struct rlocal *t = rlocal_new(200);
	char key[32];
	uint64_t retry, tat;

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "client:10.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(rlocal_step(t, key, HOUR + (uint64_t)i, 1000000, 10000000, &retry, &tat), 1);
		ck_assert_uint_le(rlocal_count(t), 200);
	}
	ck_assert_uint_ge(rlocal_reclaims(t), 5000 / (200 / RLOCAL_RECLAIM_DIVISOR + 1) / 2);
	rlocal_free(t);
}
END_TEST

/*
 * The table (128 senders) holds 40 limited senders and 88 that are not;
 * 500 new senders come.  No limited sender may be dropped, since there is
 * always one that is not to drop instead.  The limited ones have the
 * smaller TAT (10 minutes ahead, burst 1) and the others the larger (50 of
 * a burst of 100 at one a minute: 50 minutes ahead), so an eviction by TAT
 * alone would drop the wrong ones.
 */
START_TEST(local_eviction_keeps_limited)
{
	struct rlocal *t = rlocal_new(128);
	struct collected c = { 0 };
	char key[32];
	uint64_t retry, tat, now = HOUR, minute = 60000000;

	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "limited:%d", i);
		rlocal_step(t, key, now, 10 * minute, 10 * minute, &retry, &tat);	/* burst 1: used up */
	}
	for (int i = 0; i < 88; i++) {
		snprintf(key, sizeof(key), "partly:%d", i);
		for (int k = 0; k < 50; k++)
			ck_assert_int_eq(rlocal_step(t, key, now, minute, 100 * minute, &retry, &tat), 1);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "new:%d", i);
		ck_assert_int_eq(rlocal_step(t, key, now + 1000 + (uint64_t)i, 1000000, 50000000, &retry, &tat), 1);
	}
	rlocal_each_limited(t, now + 2000, collect, &c);
	ck_assert_uint_eq(c.n, 40);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "limited:%d", i);
		ck_assert_msg(collected_has(&c, key), "%s was dropped", key);
		ck_assert_int_eq(rlocal_step(t, key, now + 3000, 10 * minute, 10 * minute, &retry, &tat), 0);
	}
	rlocal_free(t);
}
END_TEST

/* Full of limited senders only: the one released soonest goes first, and senders whose TAT passed before anyone. */
START_TEST(local_eviction_order_among_limited)
{
	struct rlocal *t = rlocal_new(RLOCAL_RECLAIM_DIVISOR);	/* a reclaim frees exactly one */
	struct collected c = { 0 };
	char key[32];
	uint64_t retry, tat, now = HOUR;

	for (int i = 0; i < RLOCAL_RECLAIM_DIVISOR; i++) {
		snprintf(key, sizeof(key), "limited:%02d", i);
		/* burst 1, intervals from 10 to 73 minutes: limited until now + that */
		rlocal_step(t, key, now, (uint64_t)(10 + i) * 60000000, (uint64_t)(10 + i) * 60000000, &retry, &tat);
	}
	rlocal_step(t, "new:0", now + 1, 1000000, 5000000, &retry, &tat);
	rlocal_each_limited(t, now + 2, collect, &c);
	ck_assert(!collected_has(&c, "limited:00"));
	ck_assert(collected_has(&c, "limited:01"));
	ck_assert(collected_has(&c, "limited:63"));
	/* Later, limited:01's TAT has passed: it is dropped before the rest, new:0 (limited until its TAT - 4 s) too. */
	c.n = 0;
	rlocal_step(t, "new:1", now + 11 * 60000000ULL + 1, 1000000, 5000000, &retry, &tat);
	rlocal_each_limited(t, now + 11 * 60000000ULL + 2, collect, &c);
	ck_assert(!collected_has(&c, "limited:01"));
	ck_assert(collected_has(&c, "limited:02"));
	ck_assert_uint_le(rlocal_count(t), RLOCAL_RECLAIM_DIVISOR);
	rlocal_free(t);
}
END_TEST

struct hammer {
	struct rlocal *table;
	const char *key;	/* NULL: a distinct key per charge */
	unsigned id, charges, allowed;
};

static void *
hammer_thread(void *arg)
{
	struct hammer *h = arg;
	char key[48];
	uint64_t retry, tat;

	for (unsigned i = 0; i < h->charges; i++) {
		snprintf(key, sizeof(key), "t%u:%u", h->id, i);
		if (rlocal_step(h->table, h->key ? h->key : key, HOUR + i, HOUR, 1000 * HOUR, &retry, &tat) == 1)
			h->allowed++;
	}
	return NULL;
}

static unsigned
hammer(struct rlocal *table, const char *key, unsigned threads, unsigned charges)
{
	pthread_t tid[8];
	struct hammer h[8];
	unsigned allowed = 0;

	for (unsigned i = 0; i < threads; i++) {
		h[i] = (struct hammer){ table, key, i, charges, 0 };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		allowed += h[i].allowed;
	}
	return allowed;
}

START_TEST(local_concurrent_charges)
{
	struct rlocal *t = rlocal_new(500);

	/* One sender, burst 1000, one an hour: 8 threads of 500 charges get exactly 1000 through. */
	ck_assert_uint_eq(hammer(t, "mailbox:shared", 8, 500), 1000);
	/* Distinct senders under a small bound: every charge passes and the bound holds. */
	ck_assert_uint_eq(hammer(t, NULL, 8, 2000), 8 * 2000);
	ck_assert_uint_le(rlocal_count(t), 500);
	rlocal_free(t);
}
END_TEST

/* ---- the engine ---- */

static struct ratelimit *
engine(const char *conf_text)
{
	static struct hm_conf conf;
	struct conf_errors errors;
	char err[256], text[1024];
	struct ratelimit *rl;

	/* A configuration must name its scanners (conf.h); these tests are about the rate limits. */
	snprintf(text, sizeof(text), "%sScanner none\n", conf_text);
	ck_assert_int_eq(conf_parse("t.conf", text, &conf, &errors), 0);
	rl = ratelimit_open(&conf, err, sizeof(err));
	ck_assert_msg(rl != NULL, "%s", err);
	return rl;
}

START_TEST(engine_local_store)
{
	struct ratelimit *rl = engine("");
	struct ratelimit_limit limit = { 3600, 5 }, unlimited = { 0, 0 };
	struct ratelimit_result r;

	ck_assert_str_eq(ratelimit_describe(rl), "local");
	for (int i = 0; i < 5; i++) {
		ratelimit_charge(rl, "mailbox:a", &limit, &r);
		ck_assert_int_eq(r.verdict, RATELIMIT_ALLOW);
		ck_assert_str_eq(r.store, "local");
		ck_assert(!r.fallback && !r.store_error);
	}
	ratelimit_charge(rl, "mailbox:a", &limit, &r);
	ck_assert_int_eq(r.verdict, RATELIMIT_LIMITED);
	ck_assert_uint_eq(r.retry_after_s, 1);
	ratelimit_charge(rl, "mailbox:a", &unlimited, &r);
	ck_assert_int_eq(r.verdict, RATELIMIT_ALLOW);
	ck_assert_str_eq(r.store, "none");
	/* A refund of an ALLOW gives one back; of anything else, nothing. */
	ratelimit_charge(rl, "mailbox:b", &limit, &r);
	for (int i = 0; i < 4; i++)
		ratelimit_charge(rl, "mailbox:b", &limit, &r);
	ratelimit_refund(rl, "mailbox:b", &limit, &r);
	ratelimit_charge(rl, "mailbox:b", &limit, &r);
	ck_assert_int_eq(r.verdict, RATELIMIT_ALLOW);
	ratelimit_charge(rl, "mailbox:b", &limit, &r);
	ck_assert_int_eq(r.verdict, RATELIMIT_LIMITED);
	ratelimit_refund(rl, "mailbox:b", &limit, &r);
	ratelimit_charge(rl, "mailbox:b", &limit, &r);
	ck_assert_int_eq(r.verdict, RATELIMIT_LIMITED);
	ratelimit_close(rl);
}
END_TEST

static double
now_s(void)
{
	return (double)monotime_us() / 1e6;
}

/*
 * A Redis that is not there (a socket name nothing listens on: the one
 * fault a running redis-server cannot show without being stopped, which
 * t-ratelimit-store does too).  Each failure action, and the breaker: after
 * BREAKER_FAILS failures Redis is not asked any more.
 */
static void
charge_dead_redis(const char *action, enum ratelimit_verdict want, const char *store, unsigned allowed_of_8)
{
	char text[256];
	struct ratelimit *rl;
	struct ratelimit_limit limit = { 3600, 4 };
	struct ratelimit_result r;
	unsigned allowed = 0, errors = 0;
	double start = now_s();

	snprintf(text, sizeof(text), "RateLimitStore redis unix:/nonexistent/redis.sock\nOnRateLimitStoreFailure %s\n",
		 action);
	rl = engine(text);
	for (int i = 0; i < 8; i++) {
		ratelimit_charge(rl, "mailbox:a", &limit, &r);
		allowed += r.verdict == RATELIMIT_ALLOW;
		errors += r.store_error;
		ck_assert_str_eq(r.store, store);
		ck_assert(r.fallback == (want != RATELIMIT_STORE_FAILED));
		if (i < 4)
			ck_assert_int_eq(r.verdict, want);
	}
	ck_assert_uint_eq(errors, BREAKER_FAILS);
	ck_assert_uint_eq(allowed, allowed_of_8);
	ck_assert(now_s() - start < 1.0);
	ratelimit_close(rl);
}

START_TEST(engine_failure_actions)
{
	charge_dead_redis("local", RATELIMIT_ALLOW, "local", 4);	/* the local table limits alone */
	charge_dead_redis("accept", RATELIMIT_ALLOW, "none", 8);
	charge_dead_redis("tempfail", RATELIMIT_STORE_FAILED, "none", 0);
}
END_TEST

START_TEST(engine_refuses_bad_store)
{
	struct hm_conf conf;
	char err[256];

	conf_defaults(&conf);
	strcpy(conf.rate_limit_store, "memcached tcp:x:1");
	ck_assert_ptr_null(ratelimit_open(&conf, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "RateLimitStore"));
	/* A host resolved at start or never: no charge may wait for DNS. */
	strcpy(conf.rate_limit_store, "redis tcp:no-such-host.invalid:6379");
	ck_assert_ptr_null(ratelimit_open(&conf, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot resolve no-such-host.invalid"));
}
END_TEST

/* ---- the control protocol ---- */

static char *
answer(struct ratelimit *rl, const char *line)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	control_answer(rl, line, out);
	fclose(out);
	return text;
}

START_TEST(control_list_and_release)
{
	struct ratelimit *rl = engine("");
	struct ratelimit_limit limit = { 60, 2 };
	struct ratelimit_result r;
	char *text;

	for (int i = 0; i < 3; i++) {
		ratelimit_charge(rl, "mailbox:xyz00-info", &limit, &r);
		ratelimit_charge(rl, "cert:CN=relay one", &limit, &r);
	}
	ratelimit_charge(rl, "client:192.0.2.10", &limit, &r);
	text = answer(rl, "ratelimit list");
	ck_assert_ptr_nonnull(strstr(text, " local mailbox:xyz00-info\n"));
	ck_assert_ptr_nonnull(strstr(text, " local cert:CN=relay one\n"));
	ck_assert_ptr_null(strstr(text, "client:"));
	ck_assert_ptr_nonnull(strstr(text, "ok 2 limited\n"));
	ck_assert_int_eq(strncmp(text, "60 local ", 9), 0);	/* one a minute: the next in 60 s */
	free(text);
	text = answer(rl, "ratelimit release cert:CN=relay one");
	ck_assert_str_eq(text, "ok released cert:CN=relay one\n");
	free(text);
	ratelimit_charge(rl, "cert:CN=relay one", &limit, &r);
	ck_assert_int_eq(r.verdict, RATELIMIT_ALLOW);
	text = answer(rl, "ratelimit release nobody");
	ck_assert_str_eq(text, "ok nobody was not limited or tracked\n");
	free(text);
	text = answer(rl, "ratelimit explode");
	ck_assert_int_eq(strncmp(text, "error unknown request", 21), 0);
	free(text);
	text = answer(rl, "ratelimit release ");
	ck_assert_int_eq(strncmp(text, "error ", 6), 0);
	free(text);
	ratelimit_close(rl);
}
END_TEST

/* ---- statistics ---- */

static char *
report(int (*write)(FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_int_eq(write(out), 0);
	fclose(out);
	return text;
}

START_TEST(stats_count_charges)
{
	struct ratelimit_result allowed = { .verdict = RATELIMIT_ALLOW, .store = "redis" },
				limited = { .verdict = RATELIMIT_LIMITED, .store = "local", .fallback = true,
					    .store_error = true },
				failed = { .verdict = RATELIMIT_STORE_FAILED, .store = "none", .store_error = true };
	char *text;

	stats_reset();
	stats_init(NULL);
	stats_ratelimit(&allowed);
	stats_ratelimit(&allowed);
	stats_ratelimit(&limited);
	stats_ratelimit(&failed);
	text = report(stats_report);
	ck_assert_ptr_nonnull(
		strstr(text, "stats: ratelimit allowed=2 limited=1 store-failed=1 store-errors=2 fallbacks=1\n"));
	free(text);
	text = report(stats_prometheus);
	ck_assert_ptr_nonnull(strstr(text, "hostmilter_ratelimit_charges_total{verdict=\"allowed\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "hostmilter_ratelimit_charges_total{verdict=\"limited\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "hostmilter_ratelimit_charges_total{verdict=\"store-failed\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "hostmilter_ratelimit_store_errors_total 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "hostmilter_ratelimit_fallbacks_total 1\n"));
	free(text);
	stats_reset();
}
END_TEST

/*
 * A Redis error reply is classed whole: the script's "unreadable rate
 * record" after a long prefix (Redis 7 names the script and line first)
 * is still the record's fault; hostmilter once classed the first 200
 * characters only and took it for the store failing.
 */
START_TEST(redis_error_classed_whole)
{
	static const char record[] = "hostmilter: unreadable rate record";
	char *text = malloc(RREDIS_ERROR_MAX + 2);
	size_t len;

	ck_assert_int_eq(rredis_error_class(record, strlen(record)), RREDIS_ERROR_RECORD);
	ck_assert_int_eq(rredis_error_class("ERR max number of clients reached", 33), RREDIS_ERROR_STORE);
	ck_assert_int_eq(rredis_error_class("", 0), RREDIS_ERROR_STORE);
	memset(text, 'x', RREDIS_ERROR_MAX + 1);
	len = 250;	/* past the old cut */
	memcpy(text + len, record, strlen(record));
	len += strlen(record);
	ck_assert_int_eq(rredis_error_class(text, len), RREDIS_ERROR_RECORD);
	text[10] = '\0';	/* a NUL inside the reply does not hide the rest of it */
	ck_assert_int_eq(rredis_error_class(text, len), RREDIS_ERROR_RECORD);
	text[len - 1] = 'X';	/* not quite the script's error */
	ck_assert_int_eq(rredis_error_class(text, len), RREDIS_ERROR_STORE);
	memcpy(text + len - strlen(record), record, strlen(record));
	ck_assert_int_eq(rredis_error_class(text, RREDIS_ERROR_MAX), RREDIS_ERROR_RECORD);	/* at the maximum */
	ck_assert_int_eq(rredis_error_class(text, RREDIS_ERROR_MAX + 1), RREDIS_ERROR_TOO_LONG);
	free(text);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *gcra = tcase_create("keys"), *local = tcase_create("local"), *eng = tcase_create("engine");

	tcase_add_test(gcra, keys_printable_and_bounded);
	tcase_add_test(gcra, breaker_opens_probes_and_closes);
	tcase_add_test(gcra, breaker_revive_capped_and_jittered);
	tcase_add_test(gcra, redis_error_classed_whole);
	suite_add_tcase(s, gcra);
	tcase_add_test(local, local_limits_and_lists);
	tcase_add_test(local, local_table_bounded);
	tcase_add_test(local, local_eviction_keeps_limited);
	tcase_add_test(local, local_eviction_order_among_limited);
	tcase_add_test(local, local_concurrent_charges);
	tcase_set_timeout(local, 60);
	suite_add_tcase(s, local);
	tcase_add_test(eng, engine_local_store);
	tcase_add_test(eng, engine_failure_actions);
	tcase_add_test(eng, engine_refuses_bad_store);
	tcase_add_test(eng, control_list_and_release);
	tcase_add_test(eng, stats_count_charges);
	suite_add_tcase(s, eng);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
