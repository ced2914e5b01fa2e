/*
 * xtext - certificate DNs in the form Sendmail puts into {cert_issuer},
 * {cert_subject} and CERTISSUER:/CERTSUBJECT: access keys.
 *
 * Promise: the same encoding as Sendmail's xtextify(buf, "<>\")"): bytes
 * outside '!'..'~' and the bytes + \ ( < > " ) become "+XX" (upper-case hex).
 */
#ifndef HM_XTEXT_H
#define HM_XTEXT_H

#include <stddef.h>

/* Writes at most outlen bytes with the NUL; -1 when it does not fit. */
int xtext_encode(const char *text, char *out, size_t outlen);

#endif
