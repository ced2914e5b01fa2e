/*
 * marks - the headers a scanned message carries on delivery.
 *
 * Promise: one place builds X-Virus-Scanned, X-Virus-Status,
 * X-Spam-Status, X-Spam-Score and X-Spam-Flag from a scan outcome and the
 * message verdict, so that hostmilter and hostscan --filter mark mail
 * identically.  Values are single-line printable ASCII.
 */
#ifndef HM_MARKS_H
#define HM_MARKS_H

#include "scanners.h"
#include "verdict.h"

#define MARKS_MAX 5

struct mark {
	const char *name;
	char value[700];
};

struct marks {
	unsigned n;
	struct mark mark[MARKS_MAX];
};

/* virus_scanning, spam_scanning: whether such engines are configured. */
void marks_build(const struct scan_outcome *outcome, const struct message_verdict *m, bool virus_scanning,
		 bool spam_scanning, struct marks *marks);

/* The subject with the tag in front, unless it already starts with it. */
void marks_subject(const char *subject, const char *tag, char *out, size_t outlen);

#endif
