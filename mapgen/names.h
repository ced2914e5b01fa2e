/*
 * names - why a name of the export is not valid, in words a panel can show.
 *
 * Promise: names_problem accepts exactly what lib/addr.h's *_valid
 * functions accept (plus the rules of hostmapgen-export(5) that are
 * stricter: a mailbox name in lower case, a server name that is fully
 * qualified), and for anything else says which rule it breaks and gives
 * the code of report.h that fits (too_long when it is only too long).
 * Pure: no state, no allocation.
 */
#ifndef HM_NAMES_H
#define HM_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

enum names_kind {
	NAMES_DOMAIN,		/* a hosted domain, alias domain or route's TLS name */
	NAMES_HOSTNAME,		/* the server's own names: qualified, not localhost */
	NAMES_LOCAL,		/* a local part */
	NAMES_MAILBOX,		/* a Unix account: lower case */
	NAMES_ALIAS,		/* an aliases name (compared without case) */
	NAMES_PATTERN,		/* "@domain" or "local@domain" */
	NAMES_MIME,		/* "type/subtype" */
};

/*
 * NULL when text (len bytes, maybe with NULs) is a valid name of kind;
 * else why not, written into why, with *code set.  Case is folded first
 * for every kind but NAMES_MAILBOX, as the reader folds it.
 */
const char *names_problem(enum names_kind kind, const char *text, size_t len, char *why, size_t whylen,
			  enum report_code *code);

/* Whether text (already lower-cased, but for NAMES_MAILBOX) is a valid name of kind: the verdict names_problem explains. */
bool names_valid(enum names_kind kind, const char *text);
/* The words for the kind, as in "not a valid %s". */
const char *names_what(enum names_kind kind);

#endif
