/*
 * clamfeed - the attachment walk's blobs scanned by libclamav; see clamfeed.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/evp.h>

#include "attach.h"
#include "clamfeed.h"
#include "net.h"

#define CLAMFEED_DIGEST 32	/* SHA-256: an attacker cannot make a clean blob's twin */

struct clamfeed_seen {
	GHashTable *digests;	/* of CLAMFEED_DIGEST bytes each */
	bool failed;		/* out of memory: nothing is taken as seen */
};

/* One feeding, as the walk's callback sees it. */
struct clamfeed_run {
	const struct clamfeed *feed;
	struct scan_result *result;
	struct scan_result alert;	/* the first limit or encrypted alert: kept unless a virus is found */
	struct clamfeed_seen *seen;	/* digests of the bytes scanned */
	bool stopped;			/* result holds why: a virus, or a failure */
	struct clamfeed_stats stats;
};

static __thread struct clamfeed_stats clamfeed_stats_last;

/*
 * SHA-256, fetched from OpenSSL's providers once: EVP_sha256() in
 * EVP_Digest fetches it again on every call (OpenSSL 3), a third of a
 * short text part's two digests.  NULL when no provider has it.
 */
static EVP_MD *clamfeed_sha256_md;
static pthread_once_t clamfeed_sha256_once = PTHREAD_ONCE_INIT;

static void
clamfeed_sha256_fetch(void)
{
	clamfeed_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The digest of the bytes into digest (CLAMFEED_DIGEST bytes); false when OpenSSL fails. */
static bool
clamfeed_sha256(const void *data, size_t len, unsigned char digest[EVP_MAX_MD_SIZE])
{
	unsigned int n = 0;

	pthread_once(&clamfeed_sha256_once, clamfeed_sha256_fetch);
	return clamfeed_sha256_md && EVP_Digest(data, len, digest, &n, clamfeed_sha256_md, NULL) && n == CLAMFEED_DIGEST;
}

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

struct clamfeed_seen *
clamfeed_seen_new(void)
{
	struct clamfeed_seen *seen = g_try_new0(struct clamfeed_seen, 1);

	if (seen)
		seen->digests = g_hash_table_new_full(clamfeed_hash, clamfeed_equal, g_free, NULL);
	return seen;
}

void
clamfeed_seen_free(struct clamfeed_seen *seen)
{
	if (!seen)
		return;
	g_hash_table_destroy(seen->digests);
	g_free(seen);
}

/* Whether these bytes were scanned already in this message; remembers them.  -1: no digest. */
static int
clamfeed_seen_check(struct clamfeed_seen *seen, const void *data, size_t len)
{
	unsigned char digest[EVP_MAX_MD_SIZE];

	if (seen->failed || !clamfeed_sha256(data, len, digest)) {
		seen->failed = true;
		return -1;
	}
	if (g_hash_table_contains(seen->digests, digest))
		return 1;
	g_hash_table_add(seen->digests, g_memdup2(digest, CLAMFEED_DIGEST));
	return 0;
}

void
clamfeed_seen_add(struct clamfeed_seen *seen, const void *data, size_t len)
{
	if (seen && data)
		clamfeed_seen_check(seen, data, len);
}

#define CLAMFEED_TEXT_MAX ((size_t)1 << 20)	/* text parts compared line ends aside, up to this size */

/*
 * Whether libclamav scanned the blob as text with its line ends changed:
 * its mail parser writes a text part's lines each ending in "\n", where
 * the walk reads them as sent (CRLF, the last one without its line end).
 * Such a blob is not scanned again: every signature but a hash of the
 * CRLF form matched the same text, and that one libclamav never matched
 * in mail either.  A decision of cost: one libclamav scan per text part
 * was a quarter of a short message's whole scan.  Only text, up to
 * CLAMFEED_TEXT_MAX: binary content has no line ends to change.
 */
static bool
clamfeed_seen_as_text(struct clamfeed_seen *seen, const unsigned char *data, size_t len)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned char *lf;
	size_t n = 0;
	bool found;

	if (len == 0 || len > CLAMFEED_TEXT_MAX || memchr(data, '\0', len)
	    || (data[len - 1] == '\n' && !memchr(data, '\r', len)))
		return false;	/* not text, or text libclamav writes as it is */
	if (!(lf = g_try_malloc(len + 1)))
		return false;	/* scanned again: that costs time, never a virus */
	for (size_t i = 0; i < len; i++)
		if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
			lf[n++] = data[i];
	if (lf[n - 1] != '\n')
		lf[n++] = '\n';
	found = clamfeed_sha256(lf, n, digest) && g_hash_table_contains(seen->digests, digest);
	g_free(lf);
	return found;
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
	if ((seen = clamfeed_seen_check(run->seen, data, len)) != 0) {
		if (seen < 0)
			engine_fail(run->result, "out of memory for the decoded parts");
		return seen > 0 || !(run->stopped = true);
	}
	if (clamfeed_seen_as_text(run->seen, data, len))
		return true;
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
		engine_virus_name(run->result, virname ? virname : "unnamed");
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
	run.seen = feed->seen ? feed->seen : clamfeed_seen_new();
	if (!report || !run.seen)
		engine_fail(result, "out of memory for the decoded parts");
	else if (attach_each_blob(spool, &walk, report, err, sizeof(err)) < 0 && !run.stopped)
		engine_fail(result, "the decoded parts: %s", err);
	else if (!run.stopped)
		clamfeed_walk_result(report, result);
	if (result->status == SCAN_DONE && !result->virus && run.alert.status != SCAN_DONE)
		*result = run.alert;
	clamfeed_stats_last = run.stats;
	if (run.seen != feed->seen)
		clamfeed_seen_free(run.seen);
	g_free(report);
}

void
clamfeed_last(struct clamfeed_stats *stats)
{
	*stats = clamfeed_stats_last;
}
