/*
 * lenient - decoders that read what the most lenient major mail client
 * reads (Thunderbird's mailnews/mime is the reference), so that the walk
 * inspects what a reader will open.
 *
 * Promise: pure step functions over bytes (no allocation, no I/O) and one
 * GMime filter around the base64 one:
 * - base64 is decoded quartet by quartet: padding ends a quartet, not the
 *   stream (GMime stops at the first "=", Thunderbird reads on); characters
 *   outside the alphabet are skipped;
 * - a uuencoded line is its length character and then groups of four; a
 *   line of length zero (a lone backtick or space) ends nothing -- only
 *   "end" does (GMime stops at the empty line);
 * - yEnc data lines ("=ybegin line=128 size=N name=x" ... "=yend"), the
 *   encoding of Usenet binaries that Thunderbird decodes too;
 * - a Content-Transfer-Encoding value is cut at the first ";", "," or
 *   white space, as Thunderbird cuts it ("base64;" and "base64, 7bit" are
 *   base64), and its aliases are known (uue, x-uue, uuencode, x-uuencode;
 *   x-yencode).
 * Hand-written because no library here decodes this leniently: GMime's
 * and libclamav's decoders are stricter, and that difference is what an
 * attacker uses.
 */
#ifndef HM_LENIENT_H
#define HM_LENIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <gmime/gmime.h>

enum lenient_encoding {
	LENIENT_IDENTITY,	/* 7bit, 8bit, binary, or anything unknown */
	LENIENT_BASE64,
	LENIENT_QP,
	LENIENT_UUENCODE,
	LENIENT_YENC,
};

/* The encoding a Content-Transfer-Encoding value names, read as Thunderbird reads it; NULL is identity. */
enum lenient_encoding lenient_transfer_encoding(const char *value);

struct lenient_base64 {
	unsigned char quartet[4];
	unsigned n;
};

/* Decodes len bytes of base64 text into out (room for len / 4 * 3 + 3); the count written. */
size_t lenient_base64_step(struct lenient_base64 *state, const char *in, size_t len, unsigned char *out);

/* A GMime filter that decodes base64 with lenient_base64_step. */
GMimeFilter *lenient_base64_filter_new(void);

#define LENIENT_UU_LINE_MAX 64	/* bytes one uuencoded line decodes to, at most */

/* One uuencoded line, without its line end: the bytes it decodes to (at most LENIENT_UU_LINE_MAX). */
size_t lenient_uu_line(const char *line, size_t len, unsigned char *out);

/* One yEnc data line, without its line end: the bytes it decodes to (at most len). */
size_t lenient_yenc_line(const char *line, size_t len, unsigned char *out);

#endif
