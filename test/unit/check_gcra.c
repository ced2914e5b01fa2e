/*
 * check_gcra - unit tests of the rate decision alone (gcra.h): the step,
 * its bounds and saturation, the clock going back, the refund.  It links
 * gcra.c and nothing else of ours: the module is a leaf.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "gcra.h"

#define HOUR GCRA_HOUR_US

/* Steps at one instant until refused; returns how many passed, *tat carried along. */
static unsigned
burst_at(uint64_t now, uint64_t *tat, uint64_t interval, uint32_t burst, unsigned tries)
{
	unsigned passed = 0;
	uint64_t retry;

	for (unsigned i = 0; i < tries; i++)
		if (gcra_step(now, *tat, interval, burst, tat, &retry))
			passed++;
	return passed;
}

START_TEST(gcra_burst_from_idle)
{
	static const uint32_t bursts[] = { 1, 2, 5, 100, 3600 };

	for (size_t i = 0; i < sizeof(bursts) / sizeof(*bursts); i++) {
		uint64_t tat = 0;

		ck_assert_uint_eq(burst_at(HOUR, &tat, 1000000, bursts[i], bursts[i] + 10), bursts[i]);
	}
}
END_TEST

START_TEST(gcra_boundaries)
{
	uint64_t tat, retry, now = 5 * HOUR, interval = 1000;

	/* burst 3: tau 3000.  Allowed iff max(tat,now) + interval - now <= tau: equality passes. */
	ck_assert(gcra_step(now, now + 2000, interval, 3, &tat, &retry));
	ck_assert_uint_eq(tat, now + 3000);
	ck_assert_uint_eq(retry, 1000);	/* the next one waits an interval */
	ck_assert(!gcra_step(now, now + 2001, interval, 3, &tat, &retry));
	ck_assert_uint_eq(tat, now + 2001);	/* a refusal writes nothing */
	ck_assert_uint_eq(retry, 1);
	/* retry_after is exact: one microsecond earlier refused, at it allowed. */
	ck_assert(!gcra_step(now, now + 3000, interval, 3, &tat, &retry));
	ck_assert_uint_eq(retry, 1000);
	ck_assert(!gcra_step(now + 999, now + 3000, interval, 3, &tat, &retry));
	ck_assert(gcra_step(now + 1000, now + 3000, interval, 3, &tat, &retry));
	/* A TAT in the past is the same as none. */
	ck_assert(gcra_step(now, now - 1, interval, 1, &tat, &retry));
	ck_assert_uint_eq(tat, now + interval);
	ck_assert_uint_eq(retry, interval);
}
END_TEST

START_TEST(gcra_steady_rate)
{
	uint64_t tat = 0, retry, now = HOUR;
	unsigned passed = 0;

	/* 60 per hour, burst 10: over two hours from idle, 10 + 120 pass, however often asked. */
	for (uint64_t t = now; t <= now + 2 * HOUR; t += 7000000)
		for (int k = 0; k < 3; k++)
			passed += gcra_step(t, tat, HOUR / 60, 10, &tat, &retry);
	ck_assert_uint_ge(passed, 129);
	ck_assert_uint_le(passed, 130);
}
END_TEST

START_TEST(gcra_clock_backwards)
{
	uint64_t tat = 0, retry, interval = 1000000, now = 10 * HOUR;

	ck_assert_uint_eq(burst_at(now, &tat, interval, 5, 5), 5);
	/* The clock steps back an hour: the TAT is pulled to a full burst ahead, even though refused. */
	now -= HOUR;
	ck_assert(!gcra_step(now, tat, interval, 5, &tat, &retry));
	ck_assert_uint_eq(tat, now + 5 * interval);
	ck_assert_uint_eq(retry, interval);
	ck_assert(gcra_step(now + interval, tat, interval, 5, &tat, &retry));
}
END_TEST

START_TEST(gcra_huge_values)
{
	uint64_t tat, retry, max = UINT64_MAX;

	/* Nothing wraps into an allowance. */
	ck_assert(!gcra_step(max - 10, max, 1000, 1, &tat, &retry));
	tat = 0;
	ck_assert(!gcra_step(max - 10, tat, 1000, 1, &tat, &retry));	/* a TAT past the end of the clock */
	ck_assert(gcra_step(max - 2000, tat, 1000, 1, &tat, &retry));
	ck_assert_uint_eq(tat, max - 1000);
	ck_assert(!gcra_step(max - 2000, tat, 1000, 1, &tat, &retry));
	ck_assert(!gcra_step(max, max, max, UINT32_MAX, &tat, &retry) || tat == max);
	tat = 0;
	ck_assert_uint_le(burst_at(max - 1, &tat, max / 2, UINT32_MAX, 10), 2);
	/* interval 0 counts nothing; burst 0 is one. */
	ck_assert(gcra_step(HOUR, 7, 0, 0, &tat, &retry));
	ck_assert_uint_eq(tat, 7);
	tat = 0;
	ck_assert_uint_eq(burst_at(HOUR, &tat, 1000, 0, 5), 1);
}
END_TEST

START_TEST(gcra_params_of_limits)
{
	uint64_t interval, tau;

	ck_assert(!gcra_params(0, 50, &interval, &tau));
	ck_assert(gcra_params(3600, 0, &interval, &tau));
	ck_assert_uint_eq(interval, 1000000);
	ck_assert_uint_eq(tau, HOUR);	/* burst 0: one hour's allowance */
	ck_assert(gcra_params(60, 5, &interval, &tau));
	ck_assert_uint_eq(interval, 60000000);
	ck_assert_uint_eq(tau, 300000000);
	ck_assert(gcra_params(UINT32_MAX, UINT32_MAX, &interval, &tau));
	ck_assert_uint_eq(interval, 1);
	ck_assert_uint_eq(tau, GCRA_BURST_MAX);
}
END_TEST

/*
 * Issue 24: a transaction held open and then abandoned gave its recipients
 * back on top of an allowance time had restored already: 9 recipients in
 * one second against a burst of 3.  Burst 3, one a second: A takes 3 and
 * waits 4 s, B takes a full burst again, A gives its 3 back -- nothing, all
 * of it had come back with time -- and C gets none.
 */
START_TEST(gcra_refund_after_time_restored)
{
	const uint64_t s = 1000000, t0 = HOUR;
	uint64_t tat = 0, next, retry, a[3], b_tat;

	for (int i = 0; i < 3; i++) {
		ck_assert(gcra_step(t0, tat, s, 3, &next, &retry));
		a[i] = tat = next;
	}
	for (int i = 0; i < 3; i++) {
		ck_assert(gcra_step(t0 + 4 * s, tat, s, 3, &next, &retry));
		tat = next;
	}
	b_tat = tat;
	for (int i = 0; i < 3; i++)
		tat = gcra_refund(t0 + 4 * s, tat, s, a[i]);
	ck_assert_uint_eq(tat, b_tat);
	ck_assert(!gcra_step(t0 + 4 * s, tat, s, 3, &next, &retry));
	/* Half way through, what time has not given back comes back: a full burst, never more. */
	tat = a[2];
	for (int i = 0; i < 3; i++)
		tat = gcra_refund(t0 + s + s / 2, tat, s, a[i]);
	ck_assert_uint_eq(tat, t0 + s + s / 2);
	/* Right away, each refund is a whole interval. */
	tat = a[2];
	tat = gcra_refund(t0, tat, s, a[2]);
	ck_assert_uint_eq(tat, a[1]);
}
END_TEST

/*
 * Whatever the order of charges and refunds, a refund never leaves a
 * sender more than it would have had had the refunded charges never been
 * made: replaying the charges that were kept gives a TAT no later.
 */
START_TEST(gcra_refund_never_above_history)
{
	enum { OPS = 400 };
	const uint64_t interval = 1000, tau = 4000;
	uint64_t when[OPS], charged[OPS], tat = 0, now = HOUR, next, retry, replay;
	bool kept[OPS];
	unsigned n = 0, seed = 24;

	for (int op = 0; op < 20000; op++) {
		now += (uint64_t)(rand_r(&seed) % 700);
		if (n < OPS && rand_r(&seed) % 3) {
			if (gcra_tau(now, tat, interval, tau, &next, &retry)) {
				when[n] = now;
				charged[n] = next;
				kept[n++] = true;
			}
			tat = next;
		} else if (n) {
			unsigned i = (unsigned)rand_r(&seed) % n;

			if (kept[i])
				tat = gcra_refund(now, tat, interval, charged[i]);
			kept[i] = false;
		}
		replay = 0;
		for (unsigned i = 0; i < n; i++)
			if (kept[i])
				replay = (replay > when[i] ? replay : when[i]) + interval;
		ck_assert_msg((tat > now ? tat : now) >= (replay > now ? replay : now),
			      "op %d: TAT %llu, history without the refunded charges %llu", op,
			      (unsigned long long)tat, (unsigned long long)replay);
		if (n == OPS) {
			n = 0;	/* a fresh history, from where this one left the sender */
			now += tau;
			tat = 0;
		}
	}
}
END_TEST

static Suite *
gcra_suite(void)
{
	Suite *s = suite_create("gcra");
	TCase *tc = tcase_create("gcra");

	tcase_add_test(tc, gcra_burst_from_idle);
	tcase_add_test(tc, gcra_boundaries);
	tcase_add_test(tc, gcra_steady_rate);
	tcase_add_test(tc, gcra_clock_backwards);
	tcase_add_test(tc, gcra_huge_values);
	tcase_add_test(tc, gcra_params_of_limits);
	tcase_add_test(tc, gcra_refund_after_time_restored);
	tcase_add_test(tc, gcra_refund_never_above_history);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(gcra_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
