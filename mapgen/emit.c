/*
 * emit - what the emitters share; see emit.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "dstr.h"
#include "emit.h"
#include "msg.h"

void
emit_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = dstr_vfmt(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)	/* 3: nothing changed; a cut entry would be another one */
		msg_fatal(3, "a generated map entry does not fit its %zu bytes (format \"%.60s\")", len, fmt);
}
