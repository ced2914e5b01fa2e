/*
 * dstr - bounded growing strings; see dstr.h.
 *
 * Capacity doubles, so n appends cost O(n) copies, and is clamped to the
 * maximum plus its NUL, so a bound of 64 KiB never allocates 128.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dstr.h"

void
dstr_init(struct dstr *d, size_t max)
{
	*d = (struct dstr)DSTR_INIT(max);
}

void
dstr_free(struct dstr *d)
{
	free(d->text);
	dstr_init(d, d->max);
}

void
dstr_reset(struct dstr *d)
{
	d->len = 0;
	d->failed = false;
	if (d->text)
		d->text[0] = '\0';
}

/* Room for len more bytes and a NUL; -1 (flagged) past the maximum or without memory. */
static int
dstr_room(struct dstr *d, size_t len)
{
	size_t want, cap;
	char *text;

	if (len > d->max - d->len) {
		d->failed = true;
		return -1;
	}
	want = d->len + len + 1;
	if (want <= d->cap)
		return 0;
	cap = d->cap ? d->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > d->max + 1)
		cap = d->max + 1;
	if (!(text = realloc(d->text, cap))) {
		d->failed = true;
		return -1;
	}
	d->text = text;
	d->cap = cap;
	return 0;
}

int
dstr_append(struct dstr *d, const char *data, size_t len)
{
	if (dstr_room(d, len) < 0)
		return -1;
	if (len)
		memcpy(d->text + d->len, data, len);
	d->len += len;
	d->text[d->len] = '\0';
	return 0;
}

int
dstr_puts(struct dstr *d, const char *text)
{
	return dstr_append(d, text, strlen(text));
}

int
dstr_vprintf(struct dstr *d, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0 || dstr_room(d, (size_t)n) < 0) {
		d->failed = true;
		return -1;
	}
	vsnprintf(d->text + d->len, (size_t)n + 1, fmt, ap);
	d->len += (size_t)n;
	return 0;
}

int
dstr_printf(struct dstr *d, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = dstr_vprintf(d, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
dstr_text(const struct dstr *d)
{
	return d->text ? d->text : "";
}

size_t
dstr_len(const struct dstr *d)
{
	return d->len;
}

bool
dstr_failed(const struct dstr *d)
{
	return d->failed;
}

int
dstr_vfmt(char *out, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, size, fmt, ap);

	if (n < 0 || (size_t)n >= size) {
		if (size)
			out[0] = '\0';
		return -1;
	}
	return n;
}

int
dstr_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = dstr_vfmt(out, size, fmt, ap);
	va_end(ap);
	return n;
}
