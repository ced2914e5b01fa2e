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
 * type.  Bytes libclamav already took out the same way cost a lookup in
 * its clean-file cache, not a second scan.
 */
#ifndef HM_CLAMFEED_H
#define HM_CLAMFEED_H

#include <stdint.h>

#include <clamav.h>

#include "engine.h"
#include "spool.h"

struct clamfeed {
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
