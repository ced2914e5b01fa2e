/*
 * unpack - the members of an archive, read with libarchive.
 *
 * Promise: unpack_each reads an archive held in memory, in any format and
 * compression libarchive reads (Debian 12's 3.6: zip with deflate, LZMA,
 * PPMd, XZ, bzip2 or zstd; 7z; RAR 4 and 5; tar; cpio; cab; ISO 9660;
 * and, as one member, a single file compressed with gzip, bzip2, xz,
 * lzma, zstd or lz4), and hands every member to a callback: its first
 * `head` bytes, or all of it, up to `whole_max` bytes, when want_whole
 * says so after seeing the head (the caller opens nested archives that
 * way).  Nothing is written to disk.  A member libarchive reports as
 * encrypted is handed over with no data and encrypted set.  More than
 * members_max members stop the reading and say so.  A compressed file
 * whose content libarchive cannot read as an archive through the filter
 * (a 7z or zip that must seek, compressed with bzip2) is handed over as
 * one member, decompressed, as 7-Zip opens it.  An archive libarchive
 * cannot read to its end is reported, never passed as read.
 */
#ifndef HM_UNPACK_H
#define HM_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

struct unpack_member {
	const char *name;
	const unsigned char *data;
	size_t len;		/* the bytes read: the head, or the whole member */
	bool whole;		/* len is all of it */
	bool too_large;		/* want_whole said yes, but it is larger than whole_max */
	bool encrypted;		/* no data: only its recipient has the password */
};

struct unpack_ops {
	size_t head;		/* bytes of every member read */
	size_t whole_max;	/* most bytes of one member read whole */
	size_t members_max;
	bool (*want_whole)(void *arg, const unsigned char *head, size_t len);
	/* false stops the reading */
	bool (*member)(void *arg, const struct unpack_member *member);
	void *arg;
};

enum unpack_result {
	UNPACK_DONE,		/* every member was handed over */
	UNPACK_STOPPED,		/* the callback stopped it */
	UNPACK_TOO_MANY,	/* more than members_max members */
	UNPACK_ENCRYPTED,	/* its very list of members is encrypted (7z with encrypted names) */
	UNPACK_UNREADABLE,	/* not an archive libarchive reads, or broken (why says which) */
	UNPACK_NO_MEMORY,
};

/* Whether the bytes start like an archive or a compressed file libarchive reads (by their magic). */
bool unpack_is_archive(const unsigned char *head, size_t len);

enum unpack_result unpack_each(const unsigned char *data, size_t len, const struct unpack_ops *ops, char *why,
			       size_t whylen);

#endif
