/*
 * dstr - a string that grows for peer data, up to a maximum, never cut.
 *
 * Promise (after Postfix's VSTRING, with a bound):
 * - A dstr holds len bytes and a NUL after them; it grows as appends
 *   need, never past its maximum (the caller's, for what it holds: a
 *   header line, a scanner's reply).  An append either adds all its bytes
 *   or none: one that would pass the maximum, or that finds no memory,
 *   leaves the string as it was, answers -1 and sets the sticky failure
 *   flag, so a run of appends can be checked once at its end.  Nothing is
 *   ever cut silently.
 * - dstr_fmt is the same contract for a caller's fixed buffer: it answers
 *   -1 (and leaves the buffer empty) when snprintf would have cut, so a
 *   fixed-size format of peer data is checked in one expression.
 * - Not safe to share between threads without the caller's lock.
 */
#ifndef HM_DSTR_H
#define HM_DSTR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct dstr {
	char *text;	/* NULL until the first append */
	size_t len, cap, max;	/* max: bytes it may hold, the NUL not counted */
	bool failed;	/* an append was refused since the last dstr_reset */
};

#define DSTR_INIT(maximum) { NULL, 0, 0, (maximum), false }

void dstr_init(struct dstr *d, size_t max);
void dstr_free(struct dstr *d);
/* Empty again (memory kept), failure flag cleared. */
void dstr_reset(struct dstr *d);

/* 0, or -1 with nothing added (too long or out of memory). */
int dstr_append(struct dstr *d, const char *data, size_t len);
int dstr_puts(struct dstr *d, const char *text);
int dstr_printf(struct dstr *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dstr_vprintf(struct dstr *d, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The text, "" while empty; valid until the next append or dstr_free. */
const char *dstr_text(const struct dstr *d);
size_t dstr_len(const struct dstr *d);
bool dstr_failed(const struct dstr *d);

/* snprintf into a fixed buffer, checked: the length written, or -1 (out emptied) when it would not fit. */
int dstr_fmt(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dstr_vfmt(char *out, size_t size, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
