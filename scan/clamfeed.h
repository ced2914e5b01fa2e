/*
 * clamfeed - libclamav given what the attachment walk decodes.
 *
 * Promise: clamfeed_scan hands libclamav every blob attach_each_blob
 * decodes from a message -- each reading of each part, the lenient ones
 * included, uuencoded and yEnc blocks, archive members libarchive takes
 * out, PDF embedded files poppler takes out -- as bytes in memory
 * (cl_fmap_open_memory, cl_scanmap_callback), with the engine, options and
 * callback context of the message's own scan, each distinct blob once (by
 * SHA-256), and fills a scan_result:
 * - DONE, with the first virus found, or clean;
 * - INCOMPLETE when the walk left decoded bytes unseen (one of its caps),
 *   when the blobs add up to more than max_bytes (libclamav's MaxScanSize,
 *   what one message may unpack to), or on libclamav's limit alerts;
 * - ENCRYPTED on libclamav's encrypted-content alerts;
 * - FAILED when the deadline passes (a limit of the moment, like
 *   libclamav's MaxScanTime), the walk fails, or libclamav does.
 * A virus found wins over every alert: the scan goes on past them.
 * Why: libclamav reads the raw message with decoders of its own, stricter
 * than a reader's (base64 padded mid-stream, uuencode with empty lines,
 * yEnc, zip members compressed with LZMA, 7z): a known virus that only a
 * lenient reader or libarchive takes out reached recipients who block no
 * type.  Bytes libclamav already scanned as a layer of their own (the
 * engine tells them with clamfeed_seen_add, from libclamav's file
 * inspection callback) are not given to it again: ordinary mail, whose
 * parts libclamav decodes as the walk does, costs the walk and a digest.
 */
#ifndef HM_CLAMFEED_H
#define HM_CLAMFEED_H

#include <stdint.h>

#include <clamav.h>

#include "engine.h"
#include "spool.h"

/* Digests of the bytes scanned in one message's scan, so that none is scanned twice. */
struct clamfeed_seen;

struct clamfeed_seen *clamfeed_seen_new(void);	/* NULL: out of memory */
void clamfeed_seen_free(struct clamfeed_seen *seen);
/* Bytes libclamav scanned as a layer (unmodified) of the message: no blob of the same bytes is given to it. */
void clamfeed_seen_add(struct clamfeed_seen *seen, const void *data, size_t len);

struct clamfeed {
	struct clamfeed_seen *seen;	/* NULL: one of its own */
	struct cl_engine *engine;
	const struct cl_scan_options *options;
	void *context;		/* for libclamav's callbacks, as in the message's own scan */
	uint64_t deadline_ms;	/* on net_now_ms()'s clock; 0: none */
	uint64_t max_bytes;	/* all the blobs together, at most */
};

/* Counts of the last clamfeed_scan on this thread, for the benchmarks and tests. */
struct clamfeed_stats {
	unsigned blobs;		/* handed over by the walk */
	unsigned scanned;	/* distinct ones given to libclamav */
	uint64_t bytes;		/* of those */
};

void clamfeed_scan(const struct clamfeed *feed, const struct spool *spool, struct scan_result *result);
void clamfeed_last(struct clamfeed_stats *stats);

#endif
