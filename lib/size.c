/*
 * size - message size limits; see size.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>

#include "size.h"

static int
size_suffix_shift(const char *p, unsigned *shift)
{
	switch (toupper((unsigned char)*p)) {
	case '\0':
		*shift = 0;
		return 0;
	case 'K':
		*shift = 10;
		break;
	case 'M':
		*shift = 20;
		break;
	case 'G':
		*shift = 30;
		break;
	default:
		return -1;
	}
	p++;
	if (toupper((unsigned char)*p) == 'B')
		p++;
	return *p == '\0' ? 0 : -1;
}

int
size_parse(const char *text, uint64_t *bytes, const char **why)
{
	const char *p = text;
	uint64_t value = 0;
	unsigned shift;

	if (!isdigit((unsigned char)*p)) {
		*why = "a size is a number with an optional K, M or G suffix";
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		value = value * 10 + (uint64_t)(*p - '0');
		if (value > SIZE_MAX_LIMIT) {
			*why = "size is larger than 64G";
			return -1;
		}
	}
	if (size_suffix_shift(p, &shift) < 0) {
		*why = "unknown size suffix (use K, M or G)";
		return -1;
	}
	if (value == 0 || value > (SIZE_MAX_LIMIT >> shift)) {
		*why = value == 0 ? "size must be at least 1 byte" : "size is larger than 64G";
		return -1;
	}
	*bytes = value << shift;
	return 0;
}

void
size_format(uint64_t bytes, char *buf, size_t buflen)
{
	static const char suffix[] = "GMK";
	unsigned shift = 30;

	for (const char *s = suffix; *s; s++, shift -= 10) {
		if (bytes >= ((uint64_t)1 << shift) && bytes % ((uint64_t)1 << shift) == 0) {
			snprintf(buf, buflen, "%llu%c", (unsigned long long)(bytes >> shift), *s);
			return;
		}
	}
	snprintf(buf, buflen, "%llu", (unsigned long long)bytes);
}
