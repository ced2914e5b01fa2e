/*
 * feed-cost - what giving libclamav the attachment walk's blobs costs:
 * hostmilter's clamav engine (the raw message, then every blob the walk
 * decodes: GMime, the lenient decoders, libarchive, poppler) against
 * libclamav scanning the raw message alone with the same settings, and
 * the walk alone (attach_each_blob, blobs counted, not scanned), in
 * interleaved rounds on one thread, best of each.  Every scan gets a
 * Received: header of its own, as Sendmail gives it, so libclamav's cache
 * of clean files does not answer repeats of the whole message (it still
 * knows a repeated attachment, on both sides).  Prints one line:
 * "with_ms=A without_ms=B walk_ms=C ratio=A/B blobs=N scanned=M bytes=K virus=NAME".
 *
 * usage: feed-cost DBDIR MESSAGE SCANS ROUNDS
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>

#include "attach.h"
#include "clamfeed.h"
#include "conf.h"
#include "engine.h"
#include "spool.h"

static unsigned char *message;
static size_t message_len;
static long serial;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The message under a Received: header of its own, spooled in memory. */
static struct spool *
unique_spool(void)
{
	char head[256];
	int len = snprintf(head, sizeof(head), "Received: from client.example ([127.77.0.5]) by mx.example with ESMTPSA"
			   " id FEED%08ld.%ld; Sun, 22 Nov 2026 12:00:00 +0000\r\n", serial++, (long)getpid());
	struct spool *spool = spool_new("/tmp", message_len + (size_t)len + 1);

	if (!spool || spool_append(spool, head, (size_t)len) < 0 || spool_append(spool, message, message_len) < 0)
		exit(1);
	return spool;
}

static bool
count_blob(void *arg, const unsigned char *data, size_t len, const char *name)
{
	(void)data, (void)name;
	*(size_t *)arg += len;
	return true;
}

int
main(int argc, char **argv)
{
	static struct hm_conf conf;
	struct scan_settings settings = { .conf = &conf, .max_message = 128u << 20 };
	struct cl_scan_options options = { .general = CL_SCAN_GENERAL_HEURISTICS, .parse = ~0u,
					   .heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE
							| CL_SCAN_HEURISTIC_ENCRYPTED_DOC };
	double best[3] = { 1e9, 1e9, 1e9 };
	struct clamfeed_stats stats = { 0 };
	struct cl_engine *raw;
	struct scan_result r = { 0 };
	uint64_t max_file, max_scan;
	char err[300], virus[SCAN_NAME_MAX] = "none";
	unsigned sigs = 0;
	long scans, rounds;
	void *node;
	FILE *fp;

	if (argc != 5 || (scans = atol(argv[3])) < 1 || (rounds = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: feed-cost DBDIR MESSAGE SCANS ROUNDS\n");
		return 2;
	}
	if (!(fp = fopen(argv[2], "rb")) || fseek(fp, 0, SEEK_END) < 0 || (message_len = (size_t)ftell(fp)) == 0
	    || fseek(fp, 0, SEEK_SET) < 0 || !(message = malloc(message_len))
	    || fread(message, 1, message_len, fp) != message_len)
		return 1;
	fclose(fp);
	attach_init();
	conf_defaults(&conf);
	snprintf(conf.clamav_database, sizeof(conf.clamav_database), "%s", argv[1]);
	snprintf(conf.spool_directory, sizeof(conf.spool_directory), "/tmp");
	if (!(node = engine_clamav.open("", &settings, err, sizeof(err)))) {
		fprintf(stderr, "feed-cost: %s\n", err);
		return 1;
	}
	/* libclamav alone, sized and set as the clamav engine sets its own */
	clamav_limits(settings.max_message, &max_file, &max_scan);
	if (!(raw = cl_engine_new()) || cl_engine_set_num(raw, CL_ENGINE_MAX_FILESIZE, (long long)max_file) != CL_SUCCESS
	    || cl_engine_set_num(raw, CL_ENGINE_MAX_SCANSIZE, (long long)max_scan) != CL_SUCCESS
	    || cl_load(argv[1], raw, &sigs, CL_DB_STDOPT) != CL_SUCCESS || cl_engine_compile(raw) != CL_SUCCESS)
		return 1;
	for (long round = 0; round < rounds; round++) {
		double t[3];

		for (int side = 0; side < 3; side++) {
			t[side] = now();
			for (long i = 0; i < scans; i++) {
				struct spool *spool = unique_spool();
				struct attach_report report;
				struct attach_feed walk = { count_blob, &(size_t){ 0 } };
				const char *virname = NULL;
				unsigned long scanned = 0;
				cl_fmap_t *map;

				if (side == 0) {
					engine_clamav.scan(node, &(struct scan_job){ .spool = spool }, NULL, &r);
					clamfeed_last(&stats);
					if (r.virus)
						snprintf(virus, sizeof(virus), "%s", r.virus_name);
				} else if (side == 1) {
					map = cl_fmap_open_memory(spool_memory(spool), (size_t)spool_size(spool));
					cl_scanmap_callback(map, NULL, &virname, &scanned, raw, &options, NULL);
					cl_fmap_close(map);
				} else
					attach_each_blob(spool, &walk, &report, err, sizeof(err));
				spool_free(spool);
			}
			t[side] = (now() - t[side]) * 1000 / scans;
			if (t[side] < best[side])
				best[side] = t[side];
		}
	}
	printf("with_ms=%.3f without_ms=%.3f walk_ms=%.3f ratio=%.2f blobs=%u scanned=%u bytes=%llu status=%d virus=%s\n",
	       best[0], best[1], best[2], best[0] / best[1], stats.blobs, stats.scanned,
	       (unsigned long long)stats.bytes, r.status, virus);
	engine_clamav.close(node);
	cl_engine_free(raw);
	attach_shutdown();
	free(message);
	return 0;
}
