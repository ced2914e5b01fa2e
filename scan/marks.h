/*
 * marks - the headers a scanned message carries on delivery.
 *
 * Promise: one place builds X-Virus-Scanned, X-Virus-Status, X-Virus-Flag,
 * X-Spam-Status, X-Spam-Score and X-Spam-Flag from a scan outcome and the
 * message verdict, so that hostmilter and hostscan --filter mark mail
 * identically, and one place says which headers those are, so that both
 * remove every copy a sender wrote of a header hostmilter writes.  Values
 * are single-line printable ASCII.  What was not inspected is never
 * marked clean: a virus engine that failed (accepted by OnScannerFailure)
 * gives "X-Virus-Scanned: failed (...)" and no X-Virus-Status; content
 * delivered uninspected (the "uninspectable" or "encrypted" policy)
 * gives "X-Virus-Status: Unscanned (why)", and "X-Virus-Flag: YES" where
 * a policy said tag; spam
 * engines that did not score the message give "X-Spam-Status: skipped
 * (why)" or "failed (why)" and neither X-Spam-Score nor X-Spam-Flag.
 */
#ifndef HM_MARKS_H
#define HM_MARKS_H

#include "scanners.h"
#include "verdict.h"

#define MARKS_MAX 6

struct mark {
	const char *name;
	char value[700];
};

struct marks {
	unsigned n;
	struct mark mark[MARKS_MAX];
};

struct marks_facts {
	const struct scan_outcome *outcome;
	const struct message_verdict *verdict;
	bool virus_scanning, spam_scanning;	/* engines of each kind are configured */
	const char *blocked_type;	/* hostscan --filter: a blocked type it found, else NULL */
};

void marks_build(const struct marks_facts *facts, struct marks *marks);

/*
 * Whether name (any case) is a header hostmilter writes with these
 * engines configured: the X-Virus-* ones with a virus engine, the
 * X-Spam-* ones with a spam engine.  Incoming copies of such a header are
 * removed; the index (0 to MARKS_MAX - 1) lets a caller count them per
 * name, -1 when the header is the sender's business.
 */
int marks_owned(const char *name, bool virus_scanning, bool spam_scanning);
/* The header of that index, as hostmilter spells it. */
const char *marks_name(int index);

/* The subject with the tag in front, unless it already starts with it. */
void marks_subject(const char *subject, const char *tag, char *out, size_t outlen);
/* The same, whole, however long (folded lines and RFC 2047 words kept as they are); free() it; NULL: out of memory. */
char *marks_subject_dup(const char *subject, const char *tag);

#endif
