/*
 * ratelimit-driver - charges rate-limit keys through the real engine and
 * stores (milter/ratelimit.h), for t-ratelimit-store.
 *
 * usage: ratelimit-driver CONF     (a hostmilter.conf; its RateLimit* keys count)
 *
 * Reads commands from standard input, one a line, and answers each with
 * one line (the list, several ending in "ok N"):
 *   charge KEY PER_HOUR BURST N [THREADS]
 *       N charges of KEY (spread over THREADS threads, default 1); answers
 *       allowed= limited= failed= fallback= errors= redis= local= none= maxms=
 *       (counts of verdicts, fallbacks, store errors and of the stores that
 *       answered, and the slowest charge in milliseconds)
 *   until-store STORE KEY SECONDS
 *       charges KEY (100 an hour, burst 100) every 20 ms until a charge is
 *       answered by STORE or SECONDS pass: "ok N" (charges made) or "timeout"
 *   list | release KEY      the engine's admin calls, as the control socket answers
 *   serve PATH              serves the control protocol on unix socket PATH
 *   script-sha              the SHA-1 that EVALSHA names the store's script by
 *   quit
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conf.h"
#include "control.h"
#include "monotime.h"
#include "msg.h"
#include "ratelimit.h"
#include "rredis.h"

struct tally {
	unsigned long verdicts[3], fallback, errors, redis, local, none;
	double max_ms;
};

struct worker {
	struct ratelimit *rl;
	const char *key;
	struct ratelimit_limit limit;
	unsigned long charges;
	struct tally tally;
};

static double
now_ms(void)
{
	return (double)monotime_us() / 1e3;
}

static void
count(struct tally *t, const struct ratelimit_result *r, double ms)
{
	t->verdicts[r->verdict]++;
	t->fallback += r->fallback;
	t->errors += r->store_error;
	t->redis += strcmp(r->store, "redis") == 0;
	t->local += strcmp(r->store, "local") == 0;
	t->none += strcmp(r->store, "none") == 0;
	if (ms > t->max_ms)
		t->max_ms = ms;
}

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (unsigned long i = 0; i < w->charges; i++) {
		struct ratelimit_result r;
		double start = now_ms();

		ratelimit_charge(w->rl, w->key, &w->limit, &r);
		count(&w->tally, &r, now_ms() - start);
	}
	return NULL;
}

static void
charge(struct ratelimit *rl, const char *key, unsigned long per_hour, unsigned long burst, unsigned long n,
       unsigned threads)
{
	pthread_t tid[64];
	struct worker w[64];
	struct tally sum;

	memset(&sum, 0, sizeof(sum));
	if (threads < 1 || threads > 64)
		threads = 1;
	for (unsigned i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].rl = rl;
		w[i].key = key;
		w[i].limit = (struct ratelimit_limit){ (uint32_t)per_hour, (uint32_t)burst };
		w[i].charges = n / threads + (i < n % threads);
		if (pthread_create(&tid[i], NULL, work, &w[i]) != 0)
			msg_fatal(70, "pthread_create failed");
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		for (int v = 0; v < 3; v++)
			sum.verdicts[v] += w[i].tally.verdicts[v];
		sum.fallback += w[i].tally.fallback;
		sum.errors += w[i].tally.errors;
		sum.redis += w[i].tally.redis;
		sum.local += w[i].tally.local;
		sum.none += w[i].tally.none;
		if (w[i].tally.max_ms > sum.max_ms)
			sum.max_ms = w[i].tally.max_ms;
	}
	printf("allowed=%lu limited=%lu failed=%lu fallback=%lu errors=%lu redis=%lu local=%lu none=%lu maxms=%.0f\n",
	       sum.verdicts[RATELIMIT_ALLOW], sum.verdicts[RATELIMIT_LIMITED], sum.verdicts[RATELIMIT_STORE_FAILED],
	       sum.fallback, sum.errors, sum.redis, sum.local, sum.none, sum.max_ms);
}

static void
until_store(struct ratelimit *rl, const char *store, const char *key, double seconds)
{
	struct ratelimit_limit limit = { 100, 100 };
	double deadline = now_ms() + seconds * 1000;
	unsigned long n = 0;

	while (now_ms() < deadline) {
		struct ratelimit_result r;
		struct timespec pause = { 0, 20 * 1000000 };

		ratelimit_charge(rl, key, &limit, &r);
		n++;
		if (strcmp(r.store, store) == 0 && !r.fallback) {
			printf("ok %lu\n", n);
			return;
		}
		nanosleep(&pause, NULL);
	}
	printf("timeout\n");
}

static void
serve(struct ratelimit *rl, const char *path)
{
	char value[CONF_PATH_MAX], err[512];
	int fd;

	if (strlen(path) >= sizeof(value) - 5) {
		printf("error path too long\n");
		return;
	}
	snprintf(value, sizeof(value), "unix:%.*s", (int)(sizeof(value) - 6), path);
	fd = control_bind(value, getuid(), err, sizeof(err));
	if (fd < 0 || control_serve(fd, rl, err, sizeof(err)) < 0)
		printf("error %s\n", err);
	else
		printf("ok serving %s\n", path);
}

static void
script_sha(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	EVP_Digest(rredis_script, strlen(rredis_script), md, &len, EVP_sha1(), NULL);
	for (unsigned i = 0; i < len; i++)
		printf("%02x", md[i]);
	printf("\n");
}

static void
command(struct ratelimit *rl, char *line)
{
	char key[CONTROL_LINE_MAX], store[16];
	unsigned long per_hour, burst, n;
	unsigned threads = 1;
	double seconds;

	if (sscanf(line, "charge %1023s %lu %lu %lu %u", key, &per_hour, &burst, &n, &threads) >= 4)
		charge(rl, key, per_hour, burst, n, threads);
	else if (sscanf(line, "until-store %15s %1023s %lf", store, key, &seconds) == 3)
		until_store(rl, store, key, seconds);
	else if (strcmp(line, "script-sha") == 0)
		script_sha();
	else if (strncmp(line, "serve ", 6) == 0)
		serve(rl, line + 6);
	else if (strcmp(line, "list") == 0 || strncmp(line, "release ", 8) == 0) {
		char request[sizeof("ratelimit ") + CONTROL_LINE_MAX + 32];

		snprintf(request, sizeof(request), "ratelimit %s", line);
		control_answer(rl, request, stdout);
	} else
		printf("error unknown command\n");
}

int
main(int argc, char **argv)
{
	struct hm_conf conf;
	struct conf_errors *errors = calloc(1, sizeof(*errors));
	struct ratelimit *rl;
	char line[CONTROL_LINE_MAX + 32], err[512];

	msg_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 2 || !errors)
		msg_fatal(2, "usage: ratelimit-driver CONF < commands");
	if (conf_load(argv[1], &conf, errors) < 0)
		msg_fatal(78, "%s", errors->text[0]);
	free(errors);
	if (!(rl = ratelimit_open(&conf, err, sizeof(err))))
		msg_fatal(78, "%s", err);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "quit") == 0)
			break;
		command(rl, line);
	}
	control_stop(false);
	ratelimit_close(rl);
	return 0;
}
