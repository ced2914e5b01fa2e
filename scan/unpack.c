/*
 * unpack - archive members with libarchive; see unpack.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "unpack.h"

/* Compression that wraps a single file (the raw format), by its magic. */
static bool
unpack_compressed(const unsigned char *d, size_t len)
{
	static const struct {
		const char *magic;
		size_t len;
	} magics[] = {
		{ "\x1f\x8b", 2 }, { "BZh", 3 }, { "\xfd" "7zXZ\0", 6 }, { "\x28\xb5\x2f\xfd", 4 },
		{ "\x5d\0\0", 3 }, { "\x04\x22\x4d\x18", 4 },
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(*magics); i++)
		if (len >= magics[i].len && memcmp(d, magics[i].magic, magics[i].len) == 0)
			return true;
	return false;
}

bool
unpack_is_archive(const unsigned char *d, size_t len)
{
	static const struct {
		const char *magic;
		size_t len;
	} magics[] = {
		{ "PK\3\4", 4 }, { "PK\5\6", 4 }, { "PK\7\x08", 4 }, { "7z\xbc\xaf\x27\x1c", 6 }, { "Rar!\x1a\x07", 6 },
		{ "MSCF", 4 }, { "070707", 6 }, { "070701", 6 }, { "070702", 6 }, { "!<arch>\n", 8 },
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(*magics); i++)
		if (len >= magics[i].len && memcmp(d, magics[i].magic, magics[i].len) == 0)
			return true;
	return unpack_compressed(d, len) || (len >= 262 && memcmp(d + 257, "ustar", 5) == 0)
	       || (len >= 32774 && memcmp(d + 32769, "CD001", 5) == 0);
}

static struct archive *
unpack_open(const unsigned char *data, size_t len, bool raw)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	if (raw)
		archive_read_support_format_raw(a);
	else
		archive_read_support_format_all(a);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Reads up to max bytes of the current member into *buf (grown); the count, or -1 on an error. */
static ssize_t
unpack_read(struct archive *a, unsigned char **buf, size_t *size, size_t have, size_t max)
{
	while (have < max) {
		ssize_t n;

		if (have == *size) {
			size_t grow = *size * 2 > max ? max : *size * 2;
			unsigned char *p = realloc(*buf, grow);

			if (!p)
				return -2;
			*buf = p, *size = grow;
		}
		n = archive_read_data(a, *buf + have, *size - have);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	return (ssize_t)have;
}

/* One member: its head, then all of it when asked; false when reading must stop (result says why). */
static bool
unpack_member(struct archive *a, struct archive_entry *entry, const struct unpack_ops *ops, unsigned char **buf,
	      size_t *size, enum unpack_result *result)
{
	struct unpack_member m = { .name = archive_entry_pathname(entry) };
	ssize_t n;

	if (archive_entry_is_encrypted(entry)) {
		m.encrypted = true;
		return ops->member(ops->arg, &m) || (*result = UNPACK_STOPPED, false);
	}
	if ((n = unpack_read(a, buf, size, 0, ops->head)) < 0) {
		*result = n == -2 ? UNPACK_NO_MEMORY : UNPACK_UNREADABLE;
		return false;
	}
	m.len = (size_t)n;
	if (m.len == ops->head && ops->want_whole(ops->arg, *buf, m.len)) {
		if ((n = unpack_read(a, buf, size, m.len, ops->whole_max + 1)) < 0) {
			*result = n == -2 ? UNPACK_NO_MEMORY : UNPACK_UNREADABLE;
			return false;
		}
		m.too_large = (size_t)n > ops->whole_max;
		m.len = m.too_large ? ops->whole_max : (size_t)n;
		m.whole = !m.too_large;
	} else
		m.whole = m.len < ops->head;
	m.data = *buf;
	return ops->member(ops->arg, &m) || (*result = UNPACK_STOPPED, false);
}

static enum unpack_result
unpack_entries(struct archive *a, const struct unpack_ops *ops, char *why, size_t whylen)
{
	size_t size = ops->head > 4096 ? ops->head : 4096, count = 0;
	unsigned char *buf = malloc(size);
	enum unpack_result result = UNPACK_DONE;
	struct archive_entry *entry;
	int rc;

	if (!buf)
		return UNPACK_NO_MEMORY;
	while ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		if (++count > ops->members_max) {
			result = UNPACK_TOO_MANY;
			break;
		}
		if (archive_entry_filetype(entry) == AE_IFREG && !unpack_member(a, entry, ops, &buf, &size, &result))
			break;
	}
	if (result == UNPACK_DONE && rc != ARCHIVE_EOF)
		result = archive_read_has_encrypted_entries(a) > 0
				 || (archive_error_string(a) && strstr(archive_error_string(a), "encrypted"))
			 ? UNPACK_ENCRYPTED : UNPACK_UNREADABLE;
	if (result == UNPACK_UNREADABLE)
		snprintf(why, whylen, "%s", archive_error_string(a) ? archive_error_string(a) : "libarchive failed");
	free(buf);
	return result;
}

enum unpack_result
unpack_each(const unsigned char *data, size_t len, const struct unpack_ops *ops, char *why, size_t whylen)
{
	struct archive *a = unpack_open(data, len, false);
	enum unpack_result result;

	if (!a && unpack_compressed(data, len))
		a = unpack_open(data, len, true);
	if (!a) {
		snprintf(why, whylen, "not an archive libarchive reads");
		return UNPACK_UNREADABLE;
	}
	result = unpack_entries(a, ops, why, whylen);
	archive_read_free(a);
	if (result == UNPACK_UNREADABLE && unpack_compressed(data, len) && (a = unpack_open(data, len, true))) {
		/* An archive that must seek (7z, zip) inside a compressed file: libarchive reads it through
		 * the filter and fails; 7-Zip decompresses the file first.  Its content is one member, and
		 * the caller opens that from memory. */
		result = unpack_entries(a, ops, why, whylen);
		archive_read_free(a);
	}
	return result;
}
