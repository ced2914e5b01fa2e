/*
 * attach - true types of a message's parts with GMime and libmagic; see attach.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <magic.h>

#include "attach.h"

static pthread_key_t attach_magic_key;
static pthread_once_t attach_key_once = PTHREAD_ONCE_INIT;

static void
attach_magic_free(void *cookie)
{
	magic_close(cookie);
}

static void
attach_make_key(void)
{
	pthread_key_create(&attach_magic_key, attach_magic_free);
}

void
attach_init(void)
{
	g_mime_init();
	pthread_once(&attach_key_once, attach_make_key);
}

void
attach_shutdown(void)
{
	magic_t cookie = pthread_getspecific(attach_magic_key);

	if (cookie) {
		magic_close(cookie);
		pthread_setspecific(attach_magic_key, NULL);
	}
	g_mime_shutdown();
}

static magic_t
attach_magic(void)
{
	magic_t cookie = pthread_getspecific(attach_magic_key);

	if (cookie)
		return cookie;
	/* Compressed files are not opened: their type is the container's, which is what a policy names. */
	cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
	if (cookie && magic_load(cookie, NULL) != 0) {
		magic_close(cookie);
		cookie = NULL;
	}
	if (cookie)
		pthread_setspecific(attach_magic_key, cookie);
	return cookie;
}

static GMimeStream *
attach_open_stream(const struct spool *spool)
{
	const unsigned char *mem = spool_memory(spool);
	int fd;

	if (mem)
		return g_mime_stream_mem_new_with_buffer((const char *)mem, (size_t)spool_size(spool));
	fd = dup(spool_fd(spool));
	if (fd < 0)
		return NULL;
	return g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)spool_size(spool));
}

/* The first bytes of the part, decoded; the count read. */
static size_t
attach_decode_head(GMimePart *part, char *buf, size_t size)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *raw, *filtered;
	GMimeContentEncoding encoding;
	size_t len = 0;
	ssize_t n;

	if (!content || !(raw = g_mime_data_wrapper_get_stream(content)))
		return 0;
	encoding = g_mime_data_wrapper_get_encoding(content);
	g_mime_stream_reset(raw);
	filtered = g_mime_stream_filter_new(raw);
	if (encoding != GMIME_CONTENT_ENCODING_DEFAULT) {
		GMimeFilter *decoder = g_mime_filter_basic_new(encoding, FALSE);

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), decoder);
		g_object_unref(decoder);
	}
	while (len < size && (n = g_mime_stream_read(filtered, buf + len, size - len)) > 0)
		len += (size_t)n;
	g_object_unref(filtered);
	return len;
}

static void
attach_remember(struct attach_report *report, const char *type, const char *filename)
{
	for (unsigned i = 0; i < report->ntypes; i++)
		if (strcmp(report->types[i].type, type) == 0)
			return;
	if (report->ntypes == ATTACH_TYPES_MAX) {
		report->truncated = true;
		return;
	}
	snprintf(report->types[report->ntypes].type, sizeof(report->types[0].type), "%s", type);
	snprintf(report->types[report->ntypes].filename, sizeof(report->types[0].filename), "%s",
		 filename ? filename : "");
	report->ntypes++;
}

static int
attach_part(GMimePart *part, magic_t cookie, char *buf, struct attach_report *report)
{
	size_t len = attach_decode_head(part, buf, ATTACH_MAGIC_BYTES);
	const char *type;

	if (len == 0)
		return 0;
	type = magic_buffer(cookie, buf, len);
	if (!type)
		return -1;
	attach_remember(report, type, g_mime_part_get_filename(part));
	return 0;
}

static int
attach_walk(GMimeMessage *message, magic_t cookie, char *buf, struct attach_report *report)
{
	GMimePartIter *iter = g_mime_part_iter_new((GMimeObject *)message);
	int rc = 0;

	if (!g_mime_part_iter_is_valid(iter) && message->mime_part && GMIME_IS_PART(message->mime_part))
		rc = attach_part(GMIME_PART(message->mime_part), cookie, buf, report);
	for (bool more = g_mime_part_iter_is_valid(iter); more && rc == 0; more = g_mime_part_iter_next(iter)) {
		GMimeObject *current = g_mime_part_iter_get_current(iter);

		if (!GMIME_IS_PART(current))
			continue;
		if (++report->nparts > ATTACH_PARTS_MAX) {
			report->truncated = true;
			break;
		}
		rc = attach_part(GMIME_PART(current), cookie, buf, report);
	}
	g_mime_part_iter_free(iter);
	return rc;
}

int
attach_scan(const struct spool *spool, struct attach_report *report, char *err, size_t errlen)
{
	magic_t cookie = attach_magic();
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;
	char *buf;
	int rc = 0;

	memset(report, 0, sizeof(*report));
	if (!cookie) {
		snprintf(err, errlen, "libmagic: cannot load its database");
		return -1;
	}
	if (!(stream = attach_open_stream(spool))) {
		snprintf(err, errlen, "cannot read the spooled message: %s", strerror(errno));
		return -1;
	}
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	message = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (!message)
		return 0;	/* not a message GMime can read: nothing of a type to judge */
	buf = malloc(ATTACH_MAGIC_BYTES);
	if (!buf || attach_walk(message, cookie, buf, report) < 0) {
		snprintf(err, errlen, "libmagic: %s", buf ? magic_error(cookie) : "out of memory");
		rc = -1;
	}
	free(buf);
	g_object_unref(message);
	return rc;
}
