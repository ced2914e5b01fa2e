/*
 * lenient - Thunderbird's readings of encoded content; see lenient.h.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "lenient.h"

enum lenient_encoding
lenient_transfer_encoding(const char *value)
{
	static const struct {
		const char *name;
		enum lenient_encoding encoding;
	} names[] = {
		{ "base64", LENIENT_BASE64 },	       { "quoted-printable", LENIENT_QP },
		{ "x-uuencode", LENIENT_UUENCODE },    { "uuencode", LENIENT_UUENCODE },
		{ "x-uue", LENIENT_UUENCODE },	       { "uue", LENIENT_UUENCODE },
		{ "x-yencode", LENIENT_YENC },
	};
	size_t len;

	if (!value)
		return LENIENT_IDENTITY;
	value += strspn(value, " \t\r\n");
	len = strcspn(value, ";, \t\r\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (len == strlen(names[i].name) && strncasecmp(value, names[i].name, len) == 0)
			return names[i].encoding;
	return LENIENT_IDENTITY;
}

/* Each byte's value in the base64 alphabet; LENIENT_PAD for "=", LENIENT_SKIP for the rest. */
#define LENIENT_PAD 64
#define LENIENT_SKIP 128
static const unsigned char lenient_base64_values[256] = {
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 62, 128, 128, 128, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 128, 128, 128, 64, 128, 128,
	128, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 128, 128, 128, 128, 128,
	128, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
	128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
};

/* A whole quartet: three bytes, fewer where padding stands, none when it starts with padding. */
static size_t
lenient_base64_quartet(const unsigned char q[4], unsigned char *out)
{
	unsigned v[4];
	size_t n = 0;

	for (int i = 0; i < 4; i++)
		v[i] = q[i] == 64 ? 0 : q[i];
	if (q[0] == 64 || q[1] == 64)
		return 0;
	out[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
	if (q[2] != 64)
		out[n++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
	if (q[2] != 64 && q[3] != 64)
		out[n++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	return n;
}

size_t
lenient_base64_step(struct lenient_base64 *state, const char *in, size_t len, unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned v;

		/* the common case first: four letters of the alphabet, no padding, at a quartet's start */
		while (state->n == 0 && i + 4 <= len) {
			unsigned a = lenient_base64_values[(unsigned char)in[i]], b = lenient_base64_values[(unsigned char)in[i + 1]],
				 c = lenient_base64_values[(unsigned char)in[i + 2]],
				 d = lenient_base64_values[(unsigned char)in[i + 3]];

			if ((a | b | c | d) & (LENIENT_PAD | LENIENT_SKIP))
				break;
			out[n++] = (unsigned char)(a << 2 | b >> 4);
			out[n++] = (unsigned char)((b & 15) << 4 | c >> 2);
			out[n++] = (unsigned char)((c & 3) << 6 | d);
			i += 4;
		}
		if (i == len)
			break;
		v = lenient_base64_values[(unsigned char)in[i]];
		if (v == LENIENT_SKIP)
			continue;	/* line ends, white space, anything outside the alphabet */
		state->quartet[state->n++] = (unsigned char)v;
		if (state->n == 4) {
			n += lenient_base64_quartet(state->quartet, out + n);
			state->n = 0;
		}
	}
	return n;
}

size_t
lenient_uu_line(const char *line, size_t len, unsigned char *out)
{
	size_t want, n = 0;

	if (len == 0)
		return 0;
	want = (size_t)(((unsigned char)line[0] - ' ') & 63);
	for (size_t i = 1; i + 1 < len && n < want; i += 4) {
		unsigned c[4] = { 0 };

		for (size_t k = 0; k < 4; k++)
			c[k] = i + k < len ? ((unsigned char)line[i + k] - ' ') & 63 : 0;
		out[n++] = (unsigned char)(c[0] << 2 | c[1] >> 4);
		if (n < want)
			out[n++] = (unsigned char)((c[1] & 15) << 4 | c[2] >> 2);
		if (n < want)
			out[n++] = (unsigned char)((c[2] & 3) << 6 | c[3]);
	}
	return n;
}

size_t
lenient_yenc_line(const char *line, size_t len, unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=' && i + 1 < len)
			c = (unsigned char)(line[++i] - 64);
		out[n++] = (unsigned char)(c - 42);
	}
	return n;
}

/* ---- the base64 reader as a GMime filter ---- */

typedef struct {
	GMimeFilter parent;
	struct lenient_base64 state;
} LenientBase64Filter;

typedef struct {
	GMimeFilterClass parent_class;
} LenientBase64FilterClass;

GType lenient_base64_filter_get_type(void);
/* cppcheck-suppress unknownMacro ; GLib's type boilerplate */
G_DEFINE_TYPE(LenientBase64Filter, lenient_base64_filter, GMIME_TYPE_FILTER)

static void
lenient_base64_filter_run(GMimeFilter *filter, char *in, size_t len, size_t prespace, char **out, size_t *outlen,
			  size_t *outprespace)
{
	LenientBase64Filter *self = (LenientBase64Filter *)filter;

	(void)prespace;
	g_mime_filter_set_size(filter, len / 4 * 3 + 6, FALSE);
	*outlen = lenient_base64_step(&self->state, in, len, (unsigned char *)filter->outbuf);
	*out = filter->outbuf;
	*outprespace = filter->outpre;
}

static GMimeFilter *
lenient_base64_filter_copy(GMimeFilter *filter)
{
	(void)filter;
	return lenient_base64_filter_new();
}

static void
lenient_base64_filter_reset(GMimeFilter *filter)
{
	memset(&((LenientBase64Filter *)filter)->state, 0, sizeof(struct lenient_base64));
}

static void
lenient_base64_filter_class_init(LenientBase64FilterClass *klass)
{
	GMimeFilterClass *filter = GMIME_FILTER_CLASS(klass);

	filter->copy = lenient_base64_filter_copy;
	filter->filter = lenient_base64_filter_run;
	filter->complete = lenient_base64_filter_run;	/* an unfinished quartet decodes to nothing */
	filter->reset = lenient_base64_filter_reset;
}

static void
lenient_base64_filter_init(LenientBase64Filter *self)
{
	memset(&self->state, 0, sizeof(self->state));
}

GMimeFilter *
lenient_base64_filter_new(void)
{
	return g_object_new(lenient_base64_filter_get_type(), NULL);
}
