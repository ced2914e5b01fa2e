/*
 * size - message size limits as admins write them.
 *
 * Promise: size_parse accepts a decimal number of bytes with an optional
 * binary suffix K, M or G (case-insensitive, an optional trailing B), such as
 * "128M" or "52428800", between 1 byte and SIZE_MAX_LIMIT; anything else is
 * refused with a reason.  size_format writes the shortest exact form back.
 */
#ifndef HM_SIZE_H
#define HM_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* 64 GiB: far above any SMTP message, low enough that arithmetic never overflows. */
#define SIZE_MAX_LIMIT ((uint64_t)64 << 30)
#define SIZE_DEFAULT_LIMIT ((uint64_t)128 << 20)

int size_parse(const char *text, uint64_t *bytes, const char **why);
void size_format(uint64_t bytes, char *buf, size_t buflen);

#endif
