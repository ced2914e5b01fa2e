/*
 * xtext - Sendmail's DN encoding; see xtext.h.
 */
#include "config.h"

#include <string.h>

#include "xtext.h"

int
xtext_encode(const char *text, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		int plain = *p >= '!' && *p <= '~' && !strchr("+\\(<>\")", *p);
		size_t need = plain ? 1 : 3;

		if (used + need >= outlen)
			return -1;
		if (plain) {
			out[used++] = (char)*p;
		} else {
			out[used++] = '+';
			out[used++] = hex[*p >> 4];
			out[used++] = hex[*p & 15];
		}
	}
	out[used] = '\0';
	return 0;
}
