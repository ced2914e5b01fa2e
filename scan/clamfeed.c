/*
 * clamfeed - the attachment walk's blobs scanned by libclamav; see clamfeed.h.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/evp.h>

#include "attach.h"
#include "clamfeed.h"
#include "net.h"

#define CLAMFEED_DIGEST 32	/* SHA-256: an attacker cannot make a clean blob's twin */

/* One feeding, as the walk's callback sees it. */
struct clamfeed_run {
	const struct clamfeed *feed;
	struct scan_result *result;
	struct scan_result alert;	/* the first limit or encrypted alert: kept unless a virus is found */
	GHashTable *seen;		/* digests of the blobs scanned */
	bool stopped;			/* result holds why: a virus, or a failure */
	struct clamfeed_stats stats;
};

static __thread struct clamfeed_stats clamfeed_stats_last;

static guint
clamfeed_hash(gconstpointer key)
{
	guint h;

	memcpy(&h, key, sizeof(h));
	return h;
}

static gboolean
clamfeed_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, CLAMFEED_DIGEST) == 0;
}

/* Whether these bytes were scanned already in this message; remembers them.  -1: no memory. */
static int
clamfeed_seen(struct clamfeed_run *run, const unsigned char *data, size_t len)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	void *key;

	if (!EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) || n != CLAMFEED_DIGEST)
		return -1;
	if (g_hash_table_contains(run->seen, digest))
		return 1;
	key = g_memdup2(digest, CLAMFEED_DIGEST);
	g_hash_table_add(run->seen, key);
	return 0;
}

/* One blob: false stops the walk (a virus, a bound crossed, a failure: result says which). */
static bool
clamfeed_blob(void *arg, const unsigned char *data, size_t len, const char *name)
{
	struct clamfeed_run *run = arg;
	const struct clamfeed *feed = run->feed;
	struct cl_scan_options options = *feed->options;	/* libclamav's prototype takes them writable */
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t rc;
	int seen;

	(void)name;	/* a peer's string: libclamav types the bytes by themselves */
	run->stats.blobs++;
	if (feed->deadline_ms && net_now_ms() > feed->deadline_ms) {
		engine_fail(run->result, "libclamav: out of time for the decoded parts");
		return !(run->stopped = true);
	}
	if ((seen = clamfeed_seen(run, data, len)) != 0) {
		if (seen < 0)
			engine_fail(run->result, "out of memory for the decoded parts");
		return seen > 0 || !(run->stopped = true);
	}
	run->stats.scanned++;
	run->stats.bytes += len;
	if (run->stats.bytes > feed->max_bytes) {
		engine_incomplete(run->result, "the decoded parts are larger than libclamav's MaxScanSize (%llu bytes)",
				  (unsigned long long)feed->max_bytes);
		return !(run->stopped = true);
	}
	map = cl_fmap_open_memory(data, len);
	rc = map ? cl_scanmap_callback(map, NULL, &virname, &scanned, feed->engine, &options, feed->context) : CL_EMEM;
	if (map)
		cl_fmap_close(map);
	if (rc == CL_CLEAN)
		return true;
	if (rc == CL_VIRUS && virname) {
		struct scan_result alert = { 0 };

		if (engine_alert("libclamav", virname, &alert)) {
			if (run->alert.status == SCAN_DONE)
				run->alert = alert;	/* the first is kept; a virus further on still wins */
			return true;
		}
	}
	if (rc == CL_VIRUS) {
		run->result->status = SCAN_DONE;
		run->result->virus = true;
		engine_header_value(run->result->virus_name, sizeof(run->result->virus_name), virname ? virname : "unnamed");
	} else
		engine_fail(run->result, "libclamav on a decoded part: %s", cl_strerror(rc));
	return !(run->stopped = true);
}

/* What the walk itself says: caps crossed, or a failure; result untouched when it saw everything. */
static void
clamfeed_walk_result(const struct attach_report *report, struct scan_result *result)
{
	if (report->failed)
		engine_fail(result, "the decoded parts: %s", report->failed_why);
	else if (report->incomplete)
		engine_incomplete(result, "the decoded parts: %s", report->why);
}

void
clamfeed_scan(const struct clamfeed *feed, const struct spool *spool, struct scan_result *result)
{
	struct clamfeed_run run = { .feed = feed, .result = result, .alert = { .status = SCAN_DONE } };
	struct attach_feed walk = { clamfeed_blob, &run };
	struct attach_report *report = g_try_new0(struct attach_report, 1);
	char err[200];

	memset(result, 0, sizeof(*result));
	result->status = SCAN_DONE;
	run.seen = g_hash_table_new_full(clamfeed_hash, clamfeed_equal, g_free, NULL);
	if (!report)
		engine_fail(result, "out of memory for the decoded parts");
	else if (attach_each_blob(spool, &walk, report, err, sizeof(err)) < 0 && !run.stopped)
		engine_fail(result, "the decoded parts: %s", err);
	else if (!run.stopped)
		clamfeed_walk_result(report, result);
	if (result->status == SCAN_DONE && !result->virus && run.alert.status != SCAN_DONE)
		*result = run.alert;
	clamfeed_stats_last = run.stats;
	g_hash_table_destroy(run.seen);
	g_free(report);
}

void
clamfeed_last(struct clamfeed_stats *stats)
{
	*stats = clamfeed_stats_last;
}
