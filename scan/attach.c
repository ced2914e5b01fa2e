/*
 * attach - true types of a message's parts with GMime and libmagic; see attach.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <magic.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <ytnef.h>

#include "attach.h"
#include "exetype.h"
#include "lenient.h"
#include "magictypes.h"
#include "magicset.h"
#include "pdfparts.h"
#include "unpack.h"

/* What a thread keeps between messages: libmagic's cookies and the buffer
 * the decoded head of a part is typed from. */
struct attach_thread {
	magic_t full;		/* every rule of the system's database */
	struct magicset_cookie *chosen;	/* only the rules that can name the wanted types */
	char buf[ATTACH_MAGIC_BYTES];
};

static pthread_key_t attach_thread_key;
static pthread_once_t attach_key_once = PTHREAD_ONCE_INIT;

static void
attach_thread_free(void *arg)
{
	struct attach_thread *t = arg;

	if (t->full)
		magic_close(t->full);
	magicset_cookie_free(t->chosen);
	free(t);
}

static void
attach_make_key(void)
{
	pthread_key_create(&attach_thread_key, attach_thread_free);
}

void
attach_init(void)
{
	g_mime_init();
	pthread_once(&attach_key_once, attach_make_key);
	magicset_init();
}

void
attach_shutdown(void)
{
	struct attach_thread *t = pthread_getspecific(attach_thread_key);

	if (t) {
		attach_thread_free(t);
		pthread_setspecific(attach_thread_key, NULL);
	}
	magicset_shutdown();
	g_mime_shutdown();
}

/* Compressed files are not opened: their type is the container's, which is what a policy names. */
#define ATTACH_MAGIC_FLAGS (MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS)

static struct attach_thread *
attach_thread(void)
{
	struct attach_thread *t = pthread_getspecific(attach_thread_key);

	if (t)
		return t;
	if (!(t = calloc(1, sizeof(*t))))
		return NULL;
	t->full = magic_open(ATTACH_MAGIC_FLAGS);
	if (!t->full || magic_load(t->full, NULL) != 0) {
		attach_thread_free(t);
		return NULL;
	}
	pthread_setspecific(attach_thread_key, t);
	return t;
}

/* ---- types and their families ---- */

/* Names of one kind of file are one type (lib/magictypes.h). */
bool
attach_same_type(const char *found, const char *blocked)
{
	return magictypes_same(found, blocked);
}

size_t
attach_type_family(const char *type, const char **names, size_t n)
{
	return magictypes_family(type, names, n);
}

/* ---- one walk over one message ---- */

struct attach_walk {
	struct attach_thread *t;
	struct attach_report *report;
	GMimeParserOptions *options;
	unsigned types_max;
	uint64_t expanded;	/* bytes taken out of archives so far */
	unsigned members;	/* archive members and embedded files walked so far */
	unsigned in_member;	/* walking inside one: parts count as members */
	bool stop;		/* a cap was crossed: the rest is not looked at */
	const struct attach_feed *feed;	/* every decoded blob goes there; no types are named */
};

/* Marks the report incomplete; the first reason is the one kept.  Feeding a
 * scanner, only what leaves decoded bytes unseen counts (attach_unseen):
 * the rest (a container not opened, a part GMime cannot parse) the scanner
 * reads from the raw message its own way, as it did before. */
static void
attach_note(struct attach_walk *w, bool unseen, const char *fmt, va_list ap)
{
	if (w->report->incomplete || (w->feed && !unseen))
		return;
	w->report->incomplete = true;
	vsnprintf(w->report->why, sizeof(w->report->why), fmt, ap);
}

static void __attribute__((format(printf, 2, 3)))
attach_incomplete(struct attach_walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	attach_note(w, false, fmt, ap);
	va_end(ap);
}

/* A cap crossed: decoded bytes past it are not looked at (nor fed). */
static void __attribute__((format(printf, 2, 3)))
attach_unseen(struct attach_walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	attach_note(w, true, fmt, ap);
	va_end(ap);
}

/* The walk could not finish now (I/O, memory): the first reason is kept. */
static void
attach_failed(struct attach_walk *w, const char *what)
{
	if (w->report->failed)
		return;
	w->report->failed = true;
	snprintf(w->report->failed_why, sizeof(w->report->failed_why), "%s", what);
}

/* Content only its recipient can decrypt: the first kind is kept. */
static void
attach_encrypted(struct attach_walk *w, const char *what)
{
	if (w->report->encrypted)
		return;
	w->report->encrypted = true;
	snprintf(w->report->encrypted_why, sizeof(w->report->encrypted_why), "%s", what);
}

/*
 * GMime's critical warnings.  Most say that readers could disagree about
 * the parts (conflicting headers, a part without headers): that is no
 * reason to refuse ordinary mail, which is full of them (repeated Cc:
 * headers, bounces, digests); GMime's reading is walked, libclamav reads
 * the raw message its own way, and a multipart without a boundary is
 * read a second way (attach_walk_guessed).  Only parts nested past
 * GMime's own limit go uninspected, and say so.
 */
static void
attach_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer arg)
{
	(void)item;
	if (code == GMIME_CRIT_NESTING_OVERFLOW)
		attach_unseen(arg, "MIME parts nested too deep for GMime at byte %lld", (long long)offset);
}

static void
attach_remember(struct attach_walk *w, const char *type, const char *filename)
{
	struct attach_report *report = w->report;

	for (unsigned i = 0; i < report->ntypes; i++)
		if (strcmp(report->types[i].type, type) == 0)
			return;
	if (report->ntypes == w->types_max) {
		attach_incomplete(w, "more than %u distinct types", w->types_max);
		w->stop = true;
		return;
	}
	snprintf(report->types[report->ntypes].type, sizeof(report->types[0].type), "%s", type);
	snprintf(report->types[report->ntypes].filename, sizeof(report->types[0].filename), "%s",
		 filename ? filename : "");
	report->ntypes++;
}

/* One more part to look at, unless that crosses the cap. */
static bool
attach_count_part(struct attach_walk *w)
{
	if (w->stop)
		return false;
	if (w->in_member) {	/* an archive of documents may hold thousands: their own cap */
		if (++w->members > ATTACH_MEMBERS_MAX) {
			attach_unseen(w, "archives of more than %d members", ATTACH_MEMBERS_MAX);
			w->stop = true;
			return false;
		}
		return true;
	}
	if (++w->report->nparts > ATTACH_PARTS_MAX) {
		attach_unseen(w, "more than %d parts", ATTACH_PARTS_MAX);
		w->stop = true;
		return false;
	}
	return true;
}

/*
 * The type of a decoded head, as libmagic names it, remembered with the
 * executable type its structure shows when that is another (exetype.h):
 * a blocked type matches when any reading of the content has it.  NULL
 * (and the report incomplete) when libmagic fails.
 */
static const char *
attach_type_of(struct attach_walk *w, const char *buf, size_t len, const char *filename)
{
	const char *type = magicset_type(w->t->chosen, w->t->full, buf, len);
	const char *exe = exetype_of((const unsigned char *)buf, len);

	if (exe && !(type && attach_same_type(type, exe)))
		attach_remember(w, exe, filename);
	if (!type)
		attach_incomplete(w, "libmagic: %s", magic_error(w->t->full) ? magic_error(w->t->full) : "failed");
	return type;
}

/* ---- decoding ---- */

/* The part's content with a transfer encoding undone (one reading of it: attach_readings); the caller unrefs it.
 * uuencode and yEnc are left as text: their blocks are found and decoded line by line (attach_walk_blocks). */
static GMimeStream *
attach_decoded(GMimePart *part, enum lenient_encoding encoding)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *raw, *filtered;
	GMimeFilter *decoder = NULL;

	if (!content || !(raw = g_mime_data_wrapper_get_stream(content)))
		return NULL;
	g_mime_stream_reset(raw);
	filtered = g_mime_stream_filter_new(raw);
	if (encoding == LENIENT_BASE64)
		decoder = lenient_base64_filter_new();
	else if (encoding == LENIENT_QP)
		decoder = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, FALSE);
	if (decoder) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), decoder);
		g_object_unref(decoder);
	}
	return filtered;
}

/* The encoding GMime read for the part, in lenient terms. */
static enum lenient_encoding
attach_gmime_encoding(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);

	switch (content ? g_mime_data_wrapper_get_encoding(content) : GMIME_CONTENT_ENCODING_DEFAULT) {
	case GMIME_CONTENT_ENCODING_BASE64:
		return LENIENT_BASE64;
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		return LENIENT_QP;
	case GMIME_CONTENT_ENCODING_UUENCODE:
		return LENIENT_UUENCODE;
	default:
		return LENIENT_IDENTITY;
	}
}

#define ATTACH_READINGS 5	/* one per lenient_encoding, at most */

/*
 * The readings of a part's transfer encoding: GMime's, and Thunderbird's
 * of every Content-Transfer-Encoding header it carries (cut at ";", ","
 * or a space; its aliases), each once.  Where they differ, each is walked.
 */
static size_t
attach_readings(GMimePart *part, enum lenient_encoding readings[ATTACH_READINGS])
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(part));
	size_t n = 0;

	readings[n++] = attach_gmime_encoding(part);
	for (int i = 0; headers && i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
		enum lenient_encoding encoding;
		size_t k = 0;

		if (g_ascii_strcasecmp(g_mime_header_get_name(header), "Content-Transfer-Encoding") != 0)
			continue;
		encoding = lenient_transfer_encoding(g_mime_header_get_value(header));
		while (k < n && readings[k] != encoding)
			k++;
		if (k == n && n < ATTACH_READINGS)
			readings[n++] = encoding;
	}
	return n;
}

/* Up to size bytes: the count read, or -1 when the stream fails. */
static ssize_t
attach_read(GMimeStream *stream, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;

	while (len < size && (n = g_mime_stream_read(stream, buf + len, size - len)) > 0)
		len += (size_t)n;
	return n < 0 ? -1 : (ssize_t)len;
}

/* ---- what a reader opens inside a part ---- */

static void attach_walk_object(struct attach_walk *w, GMimeObject *object, unsigned depth);

static bool
attach_declared(GMimeObject *object, const char *type, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(object);

	return ct && g_mime_content_type_is_type(ct, type, subtype);
}

static bool
attach_declared_message(GMimeObject *object)
{
	static const char *const rfc822[] = { "rfc822", "rfc2822", "global", "news" };

	for (size_t i = 0; i < sizeof(rfc822) / sizeof(*rfc822); i++)
		if (attach_declared(object, "message", rfc822[i]))
			return true;
	return false;
}

/* A head that starts with a header field ("Name: value") may be a message a reader opens as one. */
static bool
attach_looks_like_message(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && i < 77 && buf[i] > ' ' && buf[i] <= '~' && buf[i] != ':')
		i++;
	return i > 0 && i < len && buf[i] == ':';
}

/*
 * A message's body as GMime reads it: the part its header block describes.
 * Parsed as a part, not as a GMimeMessage, which also parses every
 * address, date and subject of the header block and frees them again: a
 * third of a short message's walk (test/bench/milter-bench, hm+types).
 * The part then carries the whole header block where a message's part
 * carries its Content- headers only; the walk looks headers up by name,
 * so it reads the same.  NULL where GMime reads no part.
 */
static GMimeObject *
attach_parse_message(GMimeStream *stream, GMimeParserOptions *options)
{
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *body = g_mime_parser_construct_part(parser, options);

	g_object_unref(parser);
	return body;
}

/*
 * A part whose content is a message: parsed from its decoded content and
 * walked.  declared: the part says it is a message (or is named *.eml), so
 * a reader opens it as one and GMime's doubts count; a part that merely
 * starts like a header block may be no message at all, so they do not.
 */
static void
attach_walk_embedded(struct attach_walk *w, GMimePart *part, unsigned depth, bool declared,
		     enum lenient_encoding reading)
{
	GMimeStream *stream = attach_decoded(part, reading);
	GMimeObject *body;

	if (!stream) {
		attach_incomplete(w, "an embedded message could not be decoded");
		return;
	}
	body = attach_parse_message(stream, declared ? w->options : NULL);
	g_object_unref(stream);
	if (body)
		attach_walk_object(w, body, depth + 1);
	else if (declared)
		attach_incomplete(w, "an embedded message GMime cannot parse");
	if (body)
		g_object_unref(body);
}

/* Containers this walk does not open; a reader that opens them may find anything inside. */
static const char *
attach_unopened(GMimeObject *object, const char *type)
{
	const char *filename = GMIME_IS_PART(object) ? g_mime_part_get_filename(GMIME_PART(object)) : NULL;

	(void)filename, (void)type;
	if (attach_declared(object, "message", "partial"))
		return "message/partial";
	return NULL;
}

/* ---- archives: members taken out with libarchive ---- */

#define ATTACH_TNEF_MAGIC "\x78\x9f\x3e\x22"
#define ATTACH_MEMBER_MAX ((size_t)64 << 20)	/* a member read whole to open what is inside */
#define ATTACH_EXPAND_MAX ((uint64_t)1 << 30)	/* all that one message's archives expand to */

static void attach_walk_blob(struct attach_walk *w, const unsigned char *data, size_t len, const char *name,
			     unsigned depth);
static GByteArray *attach_decoded_bytes(GMimePart *part, enum lenient_encoding reading);

struct attach_unpack {
	struct attach_walk *w;
	unsigned depth;
};

/* A member is read whole when it may hold more to open: an archive, a message, S/MIME or TNEF;
 * every member, when the walk feeds a scanner. */
static bool
attach_member_want_whole(void *arg, const unsigned char *head, size_t len)
{
	const struct attach_unpack *u = arg;

	return u->w->feed || unpack_is_archive(head, len) || pdfparts_is_pdf(head, len) || attach_looks_like_message((const char *)head, len)
	       || (len > 4 && memcmp(head, ATTACH_TNEF_MAGIC, 4) == 0)
	       || (len > 2 && head[0] == 0x30 && (head[1] == 0x80 || (head[1] >= 0x81 && head[1] <= 0x84)));	/* DER */
}

static bool
attach_member(void *arg, const struct unpack_member *m)
{
	struct attach_unpack *u = arg;
	struct attach_walk *w = u->w;

	if (m->encrypted) {
		attach_encrypted(w, "a password-protected archive");
		return true;
	}
	if (m->too_large) {
		attach_unseen(w, "an archive holds a %s larger than %zu bytes", w->feed ? "file" : "container",
			      ATTACH_MEMBER_MAX);
		return true;
	}
	w->expanded += m->len;
	if (w->expanded > ATTACH_EXPAND_MAX) {
		attach_unseen(w, "archives that expand to more than %llu bytes", (unsigned long long)ATTACH_EXPAND_MAX);
		w->stop = true;
		return false;
	}
	w->in_member++;
	attach_walk_blob(w, m->data, m->len, m->name, u->depth);
	w->in_member--;
	return !w->stop;
}

/* An archive libclamav may not open (zip with LZMA, PPMd or XZ; 7z; zstd...): every member walked. */
static void
attach_walk_archive(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding reading)
{
	GByteArray *bytes = attach_decoded_bytes(part, reading);
	struct attach_unpack u = { w, depth };
	struct unpack_ops ops = { ATTACH_MAGIC_BYTES, ATTACH_MEMBER_MAX, ATTACH_MEMBERS_MAX, attach_member_want_whole,
				  attach_member, &u };
	char why[200] = "";

	if (!bytes) {
		attach_failed(w, "an archive could not be read from the spool");
		return;
	}
	switch (unpack_each(bytes->data, bytes->len, &ops, why, sizeof(why))) {
	case UNPACK_DONE:
	case UNPACK_STOPPED:
		break;
	case UNPACK_TOO_MANY:
		attach_unseen(w, "an archive of more than %d members", ATTACH_MEMBERS_MAX);
		break;
	case UNPACK_ENCRYPTED:
		attach_encrypted(w, "a password-protected archive");
		break;
	case UNPACK_UNREADABLE:
		attach_incomplete(w, "an archive libarchive cannot read (%.80s)", why);
		break;
	case UNPACK_NO_MEMORY:
		attach_failed(w, "out of memory for an archive");
		break;
	}
	g_byte_array_free(bytes, TRUE);
}

/* ---- PDF: embedded files taken out with poppler ---- */

static bool
attach_pdf_part(void *arg, const char *name, const unsigned char *data, size_t len)
{
	struct attach_unpack *u = arg;

	u->w->expanded += len;
	if (u->w->expanded > ATTACH_EXPAND_MAX) {
		attach_unseen(u->w, "containers that expand to more than %llu bytes",
				  (unsigned long long)ATTACH_EXPAND_MAX);
		u->w->stop = true;
		return false;
	}
	u->w->in_member++;
	attach_walk_blob(u->w, data, len, name, u->depth);
	u->w->in_member--;
	return !u->w->stop;
}

static void
attach_walk_pdf(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding reading)
{
	GByteArray *bytes = attach_decoded_bytes(part, reading);
	struct attach_unpack u = { w, depth };
	char why[200] = "";

	if (!bytes) {
		attach_failed(w, "a PDF could not be read from the spool");
		return;
	}
	switch (pdfparts_each(bytes->data, bytes->len, ATTACH_MEMBER_MAX, attach_pdf_part, &u, why, sizeof(why))) {
	case PDFPARTS_DONE:
		break;
	case PDFPARTS_ENCRYPTED:
		attach_encrypted(w, "a password-protected PDF");
		break;
	case PDFPARTS_TOO_LARGE:
		attach_unseen(w, "a PDF embeds a file larger than %zu bytes", ATTACH_MEMBER_MAX);
		break;
	case PDFPARTS_UNREADABLE:
		/* A PDF whose catalog poppler cannot read shows no attachments in a reader either
		 * (they hang off the catalog); libclamav still scans its bytes.  Refusing it refused
		 * every mail with a broken or fake PDF. */
		break;
	}
	g_byte_array_free(bytes, TRUE);
}

/* ---- TNEF (winmail.dat): attachments taken out with libytnef ---- */

static bool
attach_is_tnef(GMimePart *part, const char *type)
{
	const char *filename = g_mime_part_get_filename(part);

	return strcmp(type, "application/vnd.ms-tnef") == 0 || attach_declared(GMIME_OBJECT(part), "application", "ms-tnef")
	       || attach_declared(GMIME_OBJECT(part), "application", "vnd.ms-tnef")
	       || (filename && strcasecmp(filename, "winmail.dat") == 0);
}

static void attach_walk_entity(struct attach_walk *w, const unsigned char *data, size_t len, unsigned depth);

/* Bytes taken out of a container, walked as a part of their own (typed, and opened if they are a container). */
static void
attach_walk_blob(struct attach_walk *w, const unsigned char *data, size_t len, const char *name, unsigned depth)
{
	GString *entity = g_string_new("Content-Type: application/octet-stream\r\n");
	size_t i;

	if (name && *name) {
		g_string_append(entity, "Content-Disposition: attachment; filename=\"");
		for (i = 0; i < 120 && name[i]; i++)	/* a header value: printable, no quote */
			g_string_append_c(entity, name[i] >= ' ' && name[i] <= '~' && name[i] != '"' && name[i] != '\\'
						  ? name[i] : '_');
		g_string_append(entity, "\"\r\n");
	}
	g_string_append(entity, "\r\n");
	g_string_append_len(entity, (const char *)data, (gssize)len);
	attach_walk_entity(w, (const unsigned char *)entity->str, entity->len, depth);
	g_string_free(entity, TRUE);
}

/* One TNEF attachment: an embedded object's data (past its 16-byte GUID), else the file data. */
static void
attach_walk_tnef_attachment(struct attach_walk *w, Attachment *a, unsigned depth)
{
	variableLength *object = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_OBJECT, PR_ATTACH_DATA_OBJ));
	variableLength *name = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_STRING8, PR_ATTACH_LONG_FILENAME));
	char title[128] = "";

	if (name == MAPI_UNDEFINED)
		name = &a->Title;
	if (name->data && name->size > 0)
		snprintf(title, sizeof(title), "%.*s", name->size, (const char *)name->data);
	if (object != MAPI_UNDEFINED && object->data && object->size > 16)
		attach_walk_blob(w, object->data + 16, (size_t)object->size - 16, title, depth);
	else if (a->FileData.data && a->FileData.size > 0)
		attach_walk_blob(w, a->FileData.data, (size_t)a->FileData.size, title, depth);
}

/* The message's compressed RTF body: Outlook shows it, objects embedded in it included. */
static void
attach_walk_tnef_rtf(struct attach_walk *w, TNEFStruct *tnef, unsigned depth)
{
	variableLength *rtf = MAPIFindProperty(&tnef->MapiProperties, PROP_TAG(PT_BINARY, PR_RTF_COMPRESSED));
	BYTE *body;
	int size = 0;

	if (rtf == MAPI_UNDEFINED || !rtf->data || rtf->size <= 0)
		return;
	if (!(body = DecompressRTF(rtf, &size))) {
		attach_incomplete(w, "a TNEF body libytnef cannot decompress");
		return;
	}
	attach_walk_blob(w, body, (size_t)(size > 0 ? size : 0), "body.rtf", depth);
	free(body);
}

static void
attach_walk_tnef(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding reading)
{
	GByteArray *bytes = attach_decoded_bytes(part, reading);
	TNEFStruct tnef;

	if (!bytes) {
		attach_failed(w, "a TNEF part could not be read");
		return;
	}
	memset(&tnef, 0, sizeof(tnef));	/* TNEFInitialize leaves Debug as it finds it */
	TNEFInitialize(&tnef);
	if (bytes->len > 0 && bytes->len < INT32_MAX && TNEFParseMemory(bytes->data, (long)bytes->len, &tnef) >= 0) {
		for (Attachment *a = tnef.starting_attach.next; a && !w->stop; a = a->next)
			attach_walk_tnef_attachment(w, a, depth);
		attach_walk_tnef_rtf(w, &tnef, depth);
	} else
		attach_incomplete(w, "TNEF (winmail.dat) that libytnef cannot read");
	TNEFFree(&tnef);
	g_byte_array_free(bytes, TRUE);
}

/* ---- S/MIME: CMS content, opened with OpenSSL ---- */

/* Whether a part is CMS (PKCS #7): declared so, or DER that names a pkcs7 content type near its start. */
static bool
attach_is_cms(GMimeObject *object, const char *buf, size_t len)
{
	static const unsigned char pkcs7_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07 };
	static const char *const declared[] = { "pkcs7-mime", "x-pkcs7-mime", "pkcs7-signature", "x-pkcs7-signature" };

	for (size_t i = 0; i < sizeof(declared) / sizeof(*declared); i++)
		if (attach_declared(object, "application", declared[i]))
			return true;
	return len > 32 && (unsigned char)buf[0] == 0x30 && memmem(buf, 32, pkcs7_oid, sizeof(pkcs7_oid)) != NULL;
}

/* A part's whole decoded content, in memory; NULL when it cannot be read. */
static GByteArray *
attach_decoded_bytes(GMimePart *part, enum lenient_encoding reading)
{
	GMimeStream *stream = attach_decoded(part, reading), *mem;
	GByteArray *bytes = NULL;

	if (!stream)
		return NULL;
	mem = g_mime_stream_mem_new();
	if (g_mime_stream_write_to_stream(stream, mem) >= 0) {
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	}
	g_object_unref(mem);
	g_object_unref(stream);
	return bytes;
}

/* A MIME entity held in memory (S/MIME content), parsed and walked. */
static void
attach_walk_entity(struct attach_walk *w, const unsigned char *data, size_t len, unsigned depth)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *object = g_mime_parser_construct_part(parser, w->options);

	g_object_unref(parser);
	g_object_unref(stream);
	if (object) {
		attach_walk_object(w, object, depth + 1);
		g_object_unref(object);
	} else
		attach_incomplete(w, "S/MIME content that is no MIME entity");
}

/* What a CMS structure holds: signed or plain data is walked, enveloped data is encrypted. */
static void
attach_walk_cms_info(struct attach_walk *w, CMS_ContentInfo *cms, unsigned depth)
{
	ASN1_OCTET_STRING **content;

	switch (OBJ_obj2nid(CMS_get0_type(cms))) {
	case NID_pkcs7_signed:
	case NID_pkcs7_data:
		content = CMS_get0_content(cms);
		/* A detached signature (multipart/signed) carries no content: the signed part is walked beside it. */
		if (content && *content && ASN1_STRING_length(*content) > 0)
			attach_walk_entity(w, ASN1_STRING_get0_data(*content), (size_t)ASN1_STRING_length(*content), depth);
		break;
	case NID_pkcs7_enveloped:
	case NID_pkcs7_encrypted:
	case NID_id_smime_ct_authEnvelopedData:
		attach_encrypted(w, "S/MIME enveloped-data");
		break;
	default:
		attach_incomplete(w, "S/MIME content of type %s is not inspected", OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(cms))));
	}
}

static void
attach_walk_cms(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding reading)
{
	GByteArray *bytes = attach_decoded_bytes(part, reading);
	BIO *bio;
	CMS_ContentInfo *cms;

	if (!bytes) {
		attach_failed(w, "an S/MIME part could not be read");
		return;
	}
	bio = BIO_new_mem_buf(bytes->data, (int)bytes->len);
	cms = bio && bytes->len < INT32_MAX ? d2i_CMS_bio(bio, NULL) : NULL;
	if (cms) {
		attach_walk_cms_info(w, cms, depth);
		CMS_ContentInfo_free(cms);
	} else if (bio)
		attach_incomplete(w, "S/MIME content OpenSSL cannot read");
	else
		attach_failed(w, "out of memory for S/MIME content");
	BIO_free(bio);
	g_byte_array_free(bytes, TRUE);
}


/* ---- uuencoded and yEnc blocks, BinHex and PGP in text parts ---- */

#define ATTACH_BINHEX "(This file must be converted with BinHex"
#define ATTACH_PGP_MESSAGE "-----BEGIN PGP MESSAGE-----"
#define ATTACH_LINE_START 80	/* of each line, what a "begin" or BinHex line is told by */
#define ATTACH_BLOCK_LINE 4096	/* of a block's line, decoded at once; longer lines in pieces */

enum attach_block { ATTACH_BLOCK_NONE, ATTACH_BLOCK_UU, ATTACH_BLOCK_YENC };

/* "begin MODE NAME": the NAME, or NULL when the line opens no uuencoded block. */
static const char *
attach_uu_begin(const char *line, size_t len)
{
	size_t i = 6;

	if (len < 8 || memcmp(line, "begin ", 6) != 0)
		return NULL;
	while (i < len && line[i] >= '0' && line[i] <= '7')
		i++;
	return i > 6 && i + 1 < len && line[i] == ' ' ? line + i + 1 : NULL;
}

/* "=ybegin ... name=NAME": the NAME ("" when it has none), or NULL when the line opens no yEnc block. */
static const char *
attach_yenc_begin(const char *line, size_t len)
{
	const char *name;

	if (len < 8 || memcmp(line, "=ybegin ", 8) != 0)
		return NULL;
	name = strstr(line, " name=");
	return name ? name + 6 : "";
}

/* A text part read line by line: the lines that open what this walk must look into. */
struct attach_text {
	char start[ATTACH_LINE_START];	/* the current line's first bytes */
	size_t start_len;
	bool in_line;		/* past the first bytes of a line: only its end matters */
	bool uu, yenc, binhex, pgp;
	/* while decoding blocks (attach_walk_blocks) */
	struct attach_walk *w;
	enum attach_block block;
	char line[ATTACH_BLOCK_LINE];	/* the block's current line */
	unsigned char decoded[ATTACH_BLOCK_LINE];	/* what it decodes to (never more bytes than it has) */
	size_t line_len;
	GByteArray *out;	/* the block decoded, whole up to ATTACH_MEMBER_MAX */
	bool too_large;
	unsigned depth;
	char name[128];
};

static void attach_block_start(struct attach_text *text);

/* Takes the bytes of one line up to and including its '\n' (or a piece of it). */
static void
attach_text_line(struct attach_text *text, const char *p, size_t n, bool ends)
{
	size_t take = n;

	if (!text->in_line) {
		if (take > sizeof(text->start) - 1 - text->start_len)
			take = sizeof(text->start) - 1 - text->start_len;
		memcpy(text->start + text->start_len, p, take);
		text->start_len += take;
		text->in_line = text->start_len == sizeof(text->start) - 1;
	}
	if (!ends && !text->in_line)
		return;	/* the line's start may still grow */
	text->start[text->start_len] = '\0';
	text->uu |= attach_uu_begin(text->start, text->start_len) != NULL;
	text->yenc |= attach_yenc_begin(text->start, text->start_len) != NULL;
	text->binhex |= strncmp(text->start, ATTACH_BINHEX, strlen(ATTACH_BINHEX)) == 0;
	text->pgp |= strncmp(text->start, ATTACH_PGP_MESSAGE, strlen(ATTACH_PGP_MESSAGE)) == 0;
	if (text->w && ends)
		attach_block_start(text);
	if (ends)
		text->start_len = 0, text->in_line = false;
}

/* The decoded block is walked like an attachment of its own: typed, and opened if it is a container. */
static void
attach_block_finish(struct attach_text *text)
{
	struct attach_walk *w = text->w;

	text->block = ATTACH_BLOCK_NONE;
	if (text->too_large)
		attach_unseen(w, "an encoded block larger than %zu bytes", ATTACH_MEMBER_MAX);
	else if (text->out && text->out->len > 0)
		attach_walk_blob(w, text->out->data, text->out->len, text->name, text->depth);
	if (text->out)
		g_byte_array_set_size(text->out, 0);
	text->too_large = false;
}

static void
attach_block_start(struct attach_text *text)
{
	const char *uu = attach_uu_begin(text->start, text->start_len);
	const char *yenc = uu ? NULL : attach_yenc_begin(text->start, text->start_len);
	const char *name = uu ? uu : yenc;

	if (!name || text->w->stop)
		return;
	text->block = uu ? ATTACH_BLOCK_UU : ATTACH_BLOCK_YENC;
	if (!text->out)
		text->out = g_byte_array_new();
	g_byte_array_set_size(text->out, 0);
	text->too_large = false;
	text->line_len = 0;
	snprintf(text->name, sizeof(text->name), "%.*s", (int)strcspn(name, "\r\n"), name);
}

/* Decoded bytes of a block, kept up to ATTACH_MEMBER_MAX. */
static void
attach_block_keep(struct attach_text *text, const unsigned char *bytes, size_t n)
{
	if (text->too_large || text->out->len + n > ATTACH_MEMBER_MAX)
		text->too_large = true;
	else
		g_byte_array_append(text->out, bytes, (guint)n);
}

/* A whole line of a block, or a piece of a long one; false when it ends the block. */
static bool
attach_block_line(struct attach_text *text, const char *line, size_t len)
{
	unsigned char *out = text->decoded;
	size_t end = 3;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (text->block == ATTACH_BLOCK_UU) {
		while (end < len && (line[end] == ' ' || line[end] == '\t'))
			end++;	/* "end" and white space: the line is not NUL-terminated */
		if (len >= 3 && memcmp(line, "end", 3) == 0 && end == len)
			return false;
		attach_block_keep(text, out, lenient_uu_line(line, len < LENIENT_UU_LINE_MAX ? len : LENIENT_UU_LINE_MAX, out));
		return true;
	}
	if (len >= 5 && memcmp(line, "=yend", 5) == 0)
		return false;
	if (len < 6 || memcmp(line, "=ypart", 6) != 0)
		attach_block_keep(text, out, lenient_yenc_line(line, len, out));
	return true;
}

/* Bytes of a block's line, up to and including its '\n' (or a piece of it). */
static void
attach_block_feed(struct attach_text *text, const char *p, size_t n, bool ends)
{
	while (n > 0) {
		size_t take = n < sizeof(text->line) - text->line_len ? n : sizeof(text->line) - text->line_len;

		memcpy(text->line + text->line_len, p, take);
		text->line_len += take;
		p += take;
		n -= take;
		if (text->line_len == sizeof(text->line) && (n > 0 || !ends)) {
			/* a line longer than any encoder writes: decoded in pieces; a yEnc escape is not split */
			size_t keep = text->line[text->line_len - 1] == '=' ? 1 : 0;

			attach_block_line(text, text->line, text->line_len - keep);
			memmove(text->line, text->line + text->line_len - keep, keep);
			text->line_len = keep;
		}
	}
	if (ends) {
		if (!attach_block_line(text, text->line, text->line_len))
			attach_block_finish(text);
		text->line_len = 0;
	}
}

/* Feeds decoded text, from the start of a line, in pieces of any size. */
static void
attach_text_feed(struct attach_text *text, const char *buf, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;

		if (text->block != ATTACH_BLOCK_NONE)
			attach_block_feed(text, buf, n, nl != NULL);
		else
			attach_text_line(text, buf, n, nl != NULL);
		buf += n;
		len -= n;
	}
}

/* Whether the part's decoded text holds encoded blocks, BinHex or PGP: the head, then the rest. */
static int
attach_text_scan(GMimeStream *stream, char *buf, size_t len, struct attach_text *text)
{
	ssize_t n;

	attach_text_feed(text, buf, len);
	while ((n = g_mime_stream_read(stream, buf, ATTACH_MAGIC_BYTES)) > 0)
		attach_text_feed(text, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

/* Second look at a text part that holds "begin MODE NAME" or "=ybegin" lines: each block decoded and typed. */
static void
attach_walk_blocks(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding encoding)
{
	GMimeStream *stream = attach_decoded(part, encoding);
	struct attach_text *text = calloc(1, sizeof(*text));
	char in[16384];
	ssize_t n;

	if (!stream || !text) {
		attach_failed(w, "out of memory for an encoded block");
		free(text);
		if (stream)
			g_object_unref(stream);
		return;
	}
	text->w = w;
	text->depth = depth;
	while (!w->stop && (n = g_mime_stream_read(stream, in, sizeof(in))) > 0)
		attach_text_feed(text, in, (size_t)n);
	if (text->block != ATTACH_BLOCK_NONE) {
		if (text->line_len > 0)
			attach_block_line(text, text->line, text->line_len);
		attach_block_finish(text);
	}
	if (text->out)
		g_byte_array_free(text->out, TRUE);
	free(text);
	g_object_unref(stream);
}

/* ---- BinHex 4.0: the forks a Mac reader (StuffIt, Thunderbird) takes out ---- */

#define ATTACH_BINHEX_ALPHABET "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
#define ATTACH_BINHEX_RLE 0x90

/* Appends one byte of the six-bit stream, undoing the run-length encoding: 0x90 n is the byte
 * before it n times in all, 0x90 0 is 0x90 itself.  False past max. */
static bool
attach_binhex_byte(GByteArray *out, unsigned char b, bool *marker, size_t max)
{
	if (*marker) {
		unsigned char last = out->len ? out->data[out->len - 1] : 0;

		*marker = false;
		if (b == 0)
			g_byte_array_append(out, (const guint8 *)"\x90", 1);
		for (unsigned i = 1; b > 0 && i < b && out->len <= max; i++)
			g_byte_array_append(out, &last, 1);
	} else if (b == ATTACH_BINHEX_RLE)
		*marker = true;
	else
		g_byte_array_append(out, &b, 1);
	return out->len <= max;
}

/* The text from its first ':' to the next (or its end, as lenient readers go), six bits a character,
 * white space skipped.  -1 when there is no ':', -2 when it decodes to more than max bytes. */
static int
attach_binhex_decode(const unsigned char *text, size_t len, GByteArray *out, size_t max)
{
	const unsigned char *p = memchr(text, ':', len), *end = text + len;
	signed char values[256];
	unsigned bits = 0, nbits = 0;
	bool marker = false;

	if (!p)
		return -1;
	memset(values, -1, sizeof(values));
	for (int i = 0; ATTACH_BINHEX_ALPHABET[i]; i++)
		values[(unsigned char)ATTACH_BINHEX_ALPHABET[i]] = (signed char)i;
	for (p++; p < end && *p != ':'; p++) {
		if (values[*p] < 0)
			continue;
		bits = (bits << 6 | (unsigned)values[*p]) & 0xfff;
		if ((nbits += 6) >= 8) {
			nbits -= 8;
			if (!attach_binhex_byte(out, (unsigned char)(bits >> nbits), &marker, max))
				return -2;
		}
	}
	return 0;
}

static uint32_t
attach_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The forks of a decoded BinHex stream: name, header, data fork and its CRC, resource fork; each as much
 * as is there (readers that skip the CRC check show it). */
static void
attach_binhex_forks(struct attach_walk *w, const GByteArray *bin, unsigned depth)
{
	size_t n = bin->len ? bin->data[0] : 0, at = n + 22;
	char name[64];
	uint32_t dlen, rlen;

	if (bin->len < at) {
		attach_incomplete(w, "BinHex whose header is cut short");
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), (const char *)bin->data + 1);
	dlen = attach_be32(bin->data + n + 12);
	rlen = attach_be32(bin->data + n + 16);
	if (dlen > bin->len - at)
		dlen = (uint32_t)(bin->len - at);
	attach_walk_blob(w, bin->data + at, dlen, name, depth);
	at += (size_t)dlen + 2;
	if (rlen > 0 && at < bin->len && !w->stop)
		attach_walk_blob(w, bin->data + at, rlen < bin->len - at ? rlen : bin->len - at, name, depth);
}

/* A part that holds BinHex 4.0 text (after its "(This file must be converted" line, if it has one). */
static void
attach_walk_binhex(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding reading)
{
	GByteArray *bytes = attach_decoded_bytes(part, reading), *bin;
	const unsigned char *text;
	int rc;

	if (!bytes) {
		if (g_mime_part_get_content(part))
			attach_failed(w, "a BinHex part could not be read");
		return;	/* no content: nothing inside */
	}
	if (bytes->len == 0) {
		g_byte_array_free(bytes, TRUE);
		return;
	}
	text = memmem(bytes->data, bytes->len, ATTACH_BINHEX, strlen(ATTACH_BINHEX));
	text = text ? text : bytes->data;
	bin = g_byte_array_new();
	rc = attach_binhex_decode(text, bytes->len - (size_t)(text - bytes->data), bin, ATTACH_MEMBER_MAX);
	if (rc == -2)
		attach_unseen(w, "BinHex that decodes to more than %zu bytes", ATTACH_MEMBER_MAX);
	else if (rc == 0)
		attach_binhex_forks(w, bin, depth);
	else
		attach_incomplete(w, "BinHex without its data");
	g_byte_array_free(bin, TRUE);
	g_byte_array_free(bytes, TRUE);
}

/* ---- the walk ---- */

/* What the part's decoded head says about it: whether it is TNEF, once its type is remembered and
 * containers this walk does not open are noted. */
static bool
attach_type_head(struct attach_walk *w, GMimePart *part, size_t len)
{
	const char *type, *unopened;

	if (w->feed)	/* no types named: TNEF told by its signature, as libmagic tells it */
		return attach_is_tnef(part, len >= 4 && memcmp(w->t->buf, ATTACH_TNEF_MAGIC, 4) == 0
						    ? "application/vnd.ms-tnef" : "");
	if (!(type = attach_type_of(w, w->t->buf, len, g_mime_part_get_filename(part))))
		return false;
	attach_remember(w, type, g_mime_part_get_filename(part));
	if ((unopened = attach_unopened(GMIME_OBJECT(part), type)))
		attach_incomplete(w, "%s content is not inspected", unopened);
	return attach_is_tnef(part, type);
}

/* 1: a message a reader opens as one; 2: content that starts like one; 0: neither. */
static int
attach_embedded_kind(GMimePart *part, size_t len, const char *buf)
{
	const char *filename = g_mime_part_get_filename(part);
	size_t flen = filename ? strlen(filename) : 0;

	if (attach_declared_message(GMIME_OBJECT(part)) || (flen > 4 && strcasecmp(filename + flen - 4, ".eml") == 0))
		return 1;
	if (!attach_declared(GMIME_OBJECT(part), "text", "*") && attach_looks_like_message(buf, len))
		return 2;
	return 0;
}

/* One reading of a part, whole, to the scanner the walk feeds: what a reader of that reading opens. */
static void
attach_feed_reading(struct attach_walk *w, GMimePart *part, enum lenient_encoding reading)
{
	GByteArray *bytes = attach_decoded_bytes(part, reading);

	if (!bytes) {
		if (g_mime_part_get_content(part))
			attach_failed(w, "a part could not be read from the spool");
		return;
	}
	if (bytes->len > 0 && !w->feed->blob(w->feed->arg, bytes->data, bytes->len, g_mime_part_get_filename(part)))
		w->stop = true;
	g_byte_array_free(bytes, TRUE);
}

/* One reading of a part: its decoded head typed, its text scanned, the containers in it opened. */
static void
attach_walk_reading(struct attach_walk *w, GMimePart *part, unsigned depth, enum lenient_encoding reading)
{
	struct attach_text text = { 0 };
	GMimeStream *stream;
	ssize_t len;
	int embedded;
	bool cms, tnef, textual, archive, pdf, binhex;

	if (w->feed)
		attach_feed_reading(w, part, reading);
	if (w->stop)
		return;
	if (!(stream = attach_decoded(part, reading)))
		return;	/* no content: nothing of any type */
	len = attach_read(stream, w->t->buf, ATTACH_MAGIC_BYTES);
	tnef = len > 0 && attach_type_head(w, part, (size_t)len);
	embedded = len < 0 ? 0 : attach_embedded_kind(part, (size_t)len, w->t->buf);
	cms = len > 0 && attach_is_cms(GMIME_OBJECT(part), w->t->buf, (size_t)len);
	/* A declared message (forwarded) is walked as one, not as a file: a PDF or archive it carries
	 * is one of its own parts.  Content that merely starts like a message and is an archive or a
	 * PDF by its signature is walked both ways: a bzip2 file whose first block checksum begins
	 * with ':' starts like a header line ("BZh91AY&SY:"), and 7-Zip opens it all the same. */
	archive = len > 0 && embedded != 1 && unpack_is_archive((const unsigned char *)w->t->buf, (size_t)len);
	pdf = len > 0 && embedded != 1 && pdfparts_is_pdf((const unsigned char *)w->t->buf, (size_t)len);
	binhex = attach_declared(GMIME_OBJECT(part), "application", "mac-binhex40")
		 || (len > 0 && memmem(w->t->buf, (size_t)len, ATTACH_BINHEX, strlen(ATTACH_BINHEX)));
	/* Text, and what is encoded in text: a reader finds uuencoded and yEnc blocks there. */
	textual = attach_declared(GMIME_OBJECT(part), "text", "*") || reading == LENIENT_UUENCODE
		  || reading == LENIENT_YENC;
	if (len < 0 || (textual && attach_text_scan(stream, w->t->buf, (size_t)len, &text) < 0))
		attach_failed(w, "a part could not be read from the spool");
	g_object_unref(stream);
	if ((text.binhex || binhex) && !w->stop)
		attach_walk_binhex(w, part, depth, reading);
	if (text.pgp)
		attach_encrypted(w, "inline PGP");
	if (text.uu || text.yenc)
		attach_walk_blocks(w, part, depth, reading);
	if (cms && !w->stop)
		attach_walk_cms(w, part, depth, reading);
	if (tnef && !w->stop)
		attach_walk_tnef(w, part, depth, reading);
	if (archive && !w->stop)
		attach_walk_archive(w, part, depth, reading);
	if (pdf && !w->stop)
		attach_walk_pdf(w, part, depth, reading);
	if (embedded && !w->stop)
		attach_walk_embedded(w, part, depth, embedded == 1, reading);
}

/* A leaf part, in every reading of its transfer encoding (attach_readings). */
static void
attach_walk_part(struct attach_walk *w, GMimePart *part, unsigned depth)
{
	enum lenient_encoding readings[ATTACH_READINGS];
	size_t n;

	if (!attach_count_part(w))
		return;
	n = attach_readings(part, readings);
	for (size_t i = 0; i < n && !w->stop; i++)
		attach_walk_reading(w, part, depth, readings[i]);
}

/*
 * A multipart without a boundary parameter: GMime keeps its whole body as
 * the prologue.  Readers that guess take the first line that starts with
 * "--" for the boundary; that reading is walked too.
 */
static void
attach_walk_guessed(struct attach_walk *w, GMimeMultipart *multipart, unsigned depth)
{
	const char *body = g_mime_multipart_get_prologue(multipart), *line;
	GString *entity;
	size_t len;

	for (line = body; line && *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n'))
		if (line[0] == '-' && line[1] == '-' && line[2] > ' ')
			break;
	if (!line || !*line)
		return;
	line += 2;
	len = strcspn(line, " \t\r\n\"\\");
	if (len == 0 || len > 70 || (line[len] != '\r' && line[len] != '\n' && line[len] != ' ' && line[len] != '\t'))
		return;
	entity = g_string_new("Content-Type: multipart/mixed; boundary=\"");
	g_string_append_len(entity, line, (gssize)len);
	g_string_append(entity, "\"\r\n\r\n");
	g_string_append(entity, body);
	attach_walk_entity(w, (const unsigned char *)entity->str, entity->len, depth);
	g_string_free(entity, TRUE);
}

/* ---- conflicting Content-Type headers: every reading ---- */

#define ATTACH_TYPE_READINGS 4	/* other readings of one part's type walked, at most */

/* A type as readers compare them: "type/subtype" and the boundary, lowercased type; the caller frees it. */
static char *
attach_type_key(GMimeContentType *ct)
{
	char *mime = g_mime_content_type_get_mime_type(ct), *key;
	const char *boundary = g_mime_content_type_get_parameter(ct, "boundary");

	key = g_strdup_printf("%s;%s", mime ? mime : "", boundary ? boundary : "");
	for (char *p = key; *p && *p != ';'; p++)
		*p = g_ascii_tolower(*p);
	g_free(mime);
	return key;
}

/* The object written out with one Content-Type header, value, in place of all it has. */
static GString *
attach_retyped(GMimeObject *object, const char *value)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *bytes;
	GString *entity = g_string_new(NULL);
	const char *p, *end, *body;
	bool skipping = false;

	g_mime_object_write_to_stream(object, NULL, mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	p = (const char *)bytes->data, end = p + bytes->len;
	for (body = p; body < end && *body != '\n' && !(body[0] == '\r' && body + 1 < end && body[1] == '\n');) {
		const char *nl = memchr(body, '\n', (size_t)(end - body));
		size_t n = nl ? (size_t)(nl - body) + 1 : (size_t)(end - body);

		if (*body != ' ' && *body != '\t')
			skipping = g_ascii_strncasecmp(body, "Content-Type:", 13) == 0;
		if (!skipping)
			g_string_append_len(entity, body, (gssize)n);
		body += n;
	}
	g_string_append_printf(entity, "Content-Type: %s\r\n", value);
	g_string_append_len(entity, body, end - body);
	g_object_unref(mem);
	return entity;
}

/* A Content-Type value cut at ";" and "," outside quotes, each piece trimmed; at most max pieces. */
static size_t
attach_type_pieces(const char *value, char **pieces, size_t max)
{
	size_t n = 0;
	const char *start = value;
	bool quoted = false;

	for (const char *p = value; n < max; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '\\' && quoted && p[1])
			p++;
		else if (*p == '\0' || (!quoted && (*p == ';' || *p == ','))) {
			pieces[n] = g_strstrip(g_strndup(start, (gsize)(p - start)));
			n += pieces[n][0] != '\0' ? 1 : (g_free(pieces[n]), 0);
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	return n;
}

#define ATTACH_TYPE_PIECES 16

/*
 * The types a reader may take for the object: each "type/subtype" its
 * Content-Type headers name (Thunderbird and Outlook take the first header,
 * others the last; "text/plain; multipart/mixed" names two), each with the
 * parameters of its header; NULL-terminated, at most max.
 */
static size_t
attach_type_values(GMimeObject *object, char **values, size_t max)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(object);
	size_t n = 0;

	for (int i = 0; headers && i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
		const char *value = g_mime_header_get_value(header);
		char *pieces[ATTACH_TYPE_PIECES];
		size_t npieces;

		if (g_ascii_strcasecmp(g_mime_header_get_name(header), "Content-Type") != 0 || !value)
			continue;
		npieces = attach_type_pieces(value, pieces, ATTACH_TYPE_PIECES);
		for (size_t k = 0; k < npieces; k++) {
			GString *reading;

			if (!strchr(pieces[k], '/') || strchr(pieces[k], '=') || n == max)
				continue;
			reading = g_string_new(pieces[k]);
			for (size_t j = 0; j < npieces; j++)
				if (strchr(pieces[j], '='))
					g_string_append_printf(reading, "; %s", pieces[j]);
			values[n++] = g_string_free(reading, FALSE);
		}
		for (size_t k = 0; k < npieces; k++)
			g_free(pieces[k]);
	}
	values[n] = NULL;
	return n;
}

/* A part whose type readers could read otherwise than GMime did: walked in each other reading too. */
static void
attach_walk_type_readings(struct attach_walk *w, GMimeObject *object, unsigned depth)
{
	char *values[ATTACH_TYPE_READINGS * 2 + 1], *keys[ATTACH_TYPE_READINGS + 1];
	GMimeContentType *ct = g_mime_object_get_content_type(object);
	size_t n = attach_type_values(object, values, ATTACH_TYPE_READINGS * 2), nkeys = 0;

	if (n < 2) {
		g_free(values[0]);
		return;	/* one header naming one type, or none: no other reading */
	}
	keys[nkeys++] = ct ? attach_type_key(ct) : g_strdup(";");
	for (size_t i = 0; i < n; i++) {
		GMimeContentType *other = g_mime_content_type_parse(w->options, values[i]);
		char *key = other ? attach_type_key(other) : NULL;
		size_t k = 0;

		while (key && k < nkeys && strcmp(keys[k], key) != 0)
			k++;
		if (key && k == nkeys && nkeys <= ATTACH_TYPE_READINGS && !w->stop) {
			GString *entity = attach_retyped(object, values[i]);

			keys[nkeys++] = key, key = NULL;
			attach_walk_entity(w, (const unsigned char *)entity->str, entity->len, depth);
			g_string_free(entity, TRUE);
		}
		g_free(key);
		if (other)
			g_object_unref(other);
		g_free(values[i]);
	}
	for (size_t k = 0; k < nkeys; k++)
		g_free(keys[k]);
}

static void
attach_walk_object(struct attach_walk *w, GMimeObject *object, unsigned depth)
{
	if (w->stop)
		return;
	if (depth > ATTACH_DEPTH_MAX) {
		attach_unseen(w, "parts nested more than %d deep", ATTACH_DEPTH_MAX);
		w->stop = true;
		return;
	}
	attach_walk_type_readings(w, object, depth);
	if (w->stop)
		return;
	if (GMIME_IS_MULTIPART(object)) {
		GMimeMultipart *multipart = GMIME_MULTIPART(object);

		if (GMIME_IS_MULTIPART_ENCRYPTED(object))
			attach_encrypted(w, "PGP/MIME");
		/* Not g_mime_multipart_get_boundary: it makes one up when the header has none. */
		if (!g_mime_object_get_content_type_parameter(object, "boundary"))
			attach_walk_guessed(w, multipart, depth);
		for (int i = 0; i < g_mime_multipart_get_count(multipart) && !w->stop; i++)
			attach_walk_object(w, g_mime_multipart_get_part(multipart, i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(object)) {
		GMimeMessage *message = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));

		if (message && message->mime_part)
			attach_walk_object(w, message->mime_part, depth + 1);
	} else if (GMIME_IS_PART(object))
		attach_walk_part(w, GMIME_PART(object), depth);
}

/*
 * The message in place, behind a GMime memory stream that does not copy
 * it: the spool's memory, or its file mapped read-only.  Not GMime's file
 * or mmap streams: every part of a parsed message is a bounded substream,
 * and theirs answer a read at the bound with -1 instead of 0, so a part
 * read to its end looked unreadable -- every text part of every message
 * spooled to a file.  The memory stream answers 0 there, and needs no
 * shared file offset.
 */
struct attach_source {
	GByteArray *array;	/* borrowed bytes: never freed, never grown */
	void *map;
	size_t maplen;
};

static GMimeStream *
attach_open_stream(const struct spool *spool, struct attach_source *src)
{
	static guint8 empty[1];
	const unsigned char *mem = spool_memory(spool);
	uint64_t size = spool_size(spool);
	guint8 *data = (guint8 *)mem;
	GMimeStream *stream;

	if (size > G_MAXUINT)
		return NULL;
	if (!mem && size > 0) {
		src->map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, spool_fd(spool), 0);
		if (src->map == MAP_FAILED) {
			src->map = NULL;
			return NULL;
		}
		src->maplen = (size_t)size;
		data = src->map;
	}
	src->array = g_byte_array_new_take(data ? data : empty, (gsize)size);
	stream = g_mime_stream_mem_new();
	g_mime_stream_mem_set_byte_array(GMIME_STREAM_MEM(stream), src->array);
	return stream;
}

/* After every GMime object made from the stream is gone. */
static void
attach_close_source(struct attach_source *src)
{
	if (src->array)
		g_byte_array_free(src->array, FALSE);	/* the array, not the borrowed bytes */
	if (src->map)
		munmap(src->map, src->maplen);
}

static int
attach_fail(struct attach_report *report, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	report->failed = true;
	snprintf(report->failed_why, sizeof(report->failed_why), "%s", what);
	return -1;
}

static int
attach_run(const struct spool *spool, const struct attach_want *want, const struct attach_feed *feed,
	   struct attach_report *report, char *err, size_t errlen)
{
	struct attach_walk w = { .types_max = ATTACH_TYPES_MAX, .feed = feed };
	struct attach_source src = { 0 };
	GMimeStream *stream;
	GMimeObject *body;

	memset(report, 0, sizeof(*report));
	w.report = report;
	w.t = attach_thread();
	if (want && want->types_max > 0 && want->types_max < ATTACH_TYPES_MAX)
		w.types_max = want->types_max;
	if (!w.t || (!feed && magicset_choose(&w.t->chosen, ATTACH_MAGIC_FLAGS, want ? want->types : NULL,
					       want ? want->ntypes : 0) < 0))
		return attach_fail(report, err, errlen, "libmagic: cannot load its database");
	if (!(stream = attach_open_stream(spool, &src)))
		return attach_fail(report, err, errlen, "cannot read the spooled message");
	w.options = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(w.options, attach_parser_warning, &w);
	body = attach_parse_message(stream, w.options);
	g_object_unref(stream);
	if (body)
		attach_walk_object(&w, body, 1);
	else
		attach_incomplete(&w, "not a message GMime can parse");
	if (body)
		g_object_unref(body);
	g_mime_parser_options_free(w.options);
	attach_close_source(&src);
	return 0;
}

int
attach_scan(const struct spool *spool, const struct attach_want *want, struct attach_report *report, char *err,
	    size_t errlen)
{
	return attach_run(spool, want, NULL, report, err, errlen);
}

int
attach_each_blob(const struct spool *spool, const struct attach_feed *feed, struct attach_report *report, char *err,
		 size_t errlen)
{
	return attach_run(spool, NULL, feed, report, err, errlen);
}
