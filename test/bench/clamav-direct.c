/*
 * clamav-direct - the limit for in-process scanning: libclamav alone,
 * scanning one message file from memory, N times over T threads, with the
 * engine settings hostmilter uses, each time under a Received: header of
 * its own as Sendmail would give it.  Prints "scans=N seconds=S mb_per_s=M
 * virus=NAME" for test/bench/scan-bench.  TMPDIR is where libclamav
 * unpacks (its default: $TMPDIR or /tmp); scan-bench gives it the
 * directory clamd's TemporaryDirectory is in, so that all three file
 * their temporary files on the same file system.
 *
 * usage: clamav-direct DBDIR MESSAGE SCANS THREADS [TMPDIR]
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>

static struct cl_engine *engine;
static unsigned char *message;
static size_t message_len;
static long scans;
static atomic_long next_scan;
static const char *found = "none";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Each scan gets the Received: header Sendmail would have put first, with
 * a queue id of its own, as milter-load sends it: without it libclamav's
 * cache of clean files would answer every repeat of the message at once.
 */
static void *
worker(void *arg)
{
	struct cl_scan_options options = { .general = CL_SCAN_GENERAL_HEURISTICS, .parse = ~0u };
	char *copy = malloc(message_len + 256);
	long n;

	while (copy && (n = atomic_fetch_add(&next_scan, 1)) < scans) {
		int len = snprintf(copy, 256, "Received: from client.example ([127.77.0.5]) by mx.example with ESMTPSA"
				   " id DIRECT%08ld.%ld; Sun, 22 Nov 2026 12:00:00 +0000\r\n", n, (long)getpid());
		cl_fmap_t *map;
		const char *virname = NULL;
		unsigned long scanned = 0;

		memcpy(copy + len, message, message_len);
		map = cl_fmap_open_memory(copy, message_len + (size_t)len);
		if (cl_scanmap_callback(map, NULL, &virname, &scanned, engine, &options, NULL) == CL_VIRUS)
			found = virname;
		cl_fmap_close(map);
	}
	free(copy);
	return NULL;
}

int
main(int argc, char **argv)
{
	unsigned sigs = 0;
	int threads;
	pthread_t tid[64];
	FILE *fp;
	double start;

	if ((argc != 5 && argc != 6) || (threads = atoi(argv[4])) < 1 || threads > 64 || (scans = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: clamav-direct DBDIR MESSAGE SCANS THREADS [TMPDIR]\n");
		return 2;
	}
	if (!(fp = fopen(argv[2], "rb")) || fseek(fp, 0, SEEK_END) < 0 || (message_len = (size_t)ftell(fp)) == 0
	    || fseek(fp, 0, SEEK_SET) < 0 || !(message = malloc(message_len))
	    || fread(message, 1, message_len, fp) != message_len)
		return 1;
	fclose(fp);
	if (cl_init(CL_INIT_DEFAULT) != CL_SUCCESS || !(engine = cl_engine_new())
	    || (argc == 6 && cl_engine_set_str(engine, CL_ENGINE_TMPDIR, argv[5]) != CL_SUCCESS)
	    || cl_load(argv[1], engine, &sigs, CL_DB_STDOPT) != CL_SUCCESS || cl_engine_compile(engine) != CL_SUCCESS)
		return 1;
	start = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	start = now() - start;
	printf("scans=%ld seconds=%.3f mb_per_s=%.1f virus=%s\n", scans, start, scans * (double)message_len / start / 1e6,
	       found);
	cl_engine_free(engine);
	free(message);
	return 0;
}
