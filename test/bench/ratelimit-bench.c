/*
 * ratelimit-bench - the rate-limit engine under load (test/bench/ratelimit-bench runs it).
 *
 * usage: ratelimit-bench STORE THREADS CHARGES SENDERS
 *        ratelimit-bench --memory SENDERS
 *
 * STORE is a RateLimitStore value ("local", "redis unix:/PATH").  THREADS
 * threads make CHARGES charges in all, each for one of SENDERS senders in
 * turn (100 an hour, burst 10, so most are refused once the bursts are
 * spent: a refusal costs the same round trip as an allowance).  Prints
 * one line: store, threads, charges per second, p50 and p99 latency in
 * microseconds, and the verdicts.  --memory fills a local table with
 * SENDERS senders and prints the resident memory it took.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "monotime.h"
#include "ratelimit.h"
#include "rlocal.h"

struct bench_thread {
	struct ratelimit *rl;
	unsigned id, threads;
	unsigned long charges, senders;
	double *latency_us;
	unsigned long verdicts[3];
};

static double
now_us(void)
{
	return (double)monotime_us();
}

static void *
bench_run(void *arg)
{
	struct bench_thread *t = arg;
	struct ratelimit_limit limit = { 100, 10 };
	char key[64];

	for (unsigned long i = 0; i < t->charges; i++) {
		struct ratelimit_result r;
		double start;

		snprintf(key, sizeof(key), "mailbox:bench%07lu", (i * t->threads + t->id) % t->senders);
		start = now_us();
		ratelimit_charge(t->rl, key, &limit, &r);
		t->latency_us[i] = now_us() - start;
		t->verdicts[r.verdict]++;
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
bench_load(const char *store, unsigned threads, unsigned long charges, unsigned long senders)
{
	struct hm_conf conf;
	char err[256];
	struct ratelimit *rl;
	struct bench_thread t[64];
	pthread_t tid[64];
	unsigned long per = charges / threads, verdicts[3] = { 0 };
	double *all = calloc(per * threads, sizeof(double)), start, took;

	conf_defaults(&conf);
	snprintf(conf.rate_limit_store, sizeof(conf.rate_limit_store), "%s", store);
	conf.rate_limit_store_timeout = 1000;
	conf.on_store_failure = CONF_STORE_FAILURE_TEMPFAIL;	/* a failure shows as one, not as a fast local charge */
	if (!all || !(rl = ratelimit_open(&conf, err, sizeof(err)))) {
		fprintf(stderr, "ratelimit-bench: %s\n", all ? err : "out of memory");
		return 1;
	}
	start = now_us();
	for (unsigned i = 0; i < threads; i++) {
		t[i] = (struct bench_thread){ rl, i, threads, per, senders, all + i * per, { 0 } };
		pthread_create(&tid[i], NULL, bench_run, &t[i]);
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		for (int v = 0; v < 3; v++)
			verdicts[v] += t[i].verdicts[v];
	}
	took = (now_us() - start) / 1e6;
	qsort(all, per * threads, sizeof(double), cmp_double);
	printf("%s threads=%u charges/s=%.0f p50us=%.1f p99us=%.1f allowed=%lu limited=%lu failed=%lu\n", store,
	       threads, (double)(per * threads) / took, all[per * threads / 2], all[per * threads * 99 / 100],
	       verdicts[0], verdicts[1], verdicts[2]);
	free(all);
	ratelimit_close(rl);
	return verdicts[2] ? 1 : 0;
}

static long
rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp) {
		if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(fp);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Senders named like the keys the milter will use: "mailbox:" and a Hostsharing-style mailbox name. */
static int
bench_memory(unsigned long senders)
{
	struct rlocal *table = rlocal_new(senders);
	long before = rss_kb(), after;
	char key[64];
	uint64_t retry, tat;

	for (unsigned long i = 0; i < senders; i++) {
		snprintf(key, sizeof(key), "mailbox:xyz%05lu-user%lu", i % 100000, i);
		rlocal_step(table, key, 1000000000, 36000000, 3600000000ULL, &retry, &tat);
	}
	after = rss_kb();
	printf("local senders=%lu rss_kb=%ld bytes/sender=%.0f count=%lu\n", senders, after - before,
	       (double)(after - before) * 1024 / (double)senders, rlocal_count(table));
	rlocal_free(table);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--memory") == 0)
		return bench_memory(strtoul(argv[2], NULL, 10));
	if (argc != 5 || atoi(argv[2]) < 1 || atoi(argv[2]) > 64) {
		fprintf(stderr, "usage: ratelimit-bench STORE THREADS CHARGES SENDERS | --memory SENDERS\n");
		return 2;
	}
	return bench_load(argv[1], (unsigned)atoi(argv[2]), strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
}
