/*
 * addr - mail addresses, domains and local names as hostmilter accepts them.
 *
 * Promise: the *_valid functions accept only what Sendmail's maps handle
 * without surprises, so a name that passes can be written into a map line as
 * it is.  Domains are host names (A-labels for IDN), at most 253 bytes, with
 * labels of letters, digits and inner hyphens.  Local parts are dot-atoms of
 * letters, digits and "._+-" (no "%", "!", "=" or quotes: those route or
 * collide with generated names).  Mailbox names are safe Unix user names.
 * All comparisons are case-insensitive; addr_lower folds ASCII in place.
 */
#ifndef HM_ADDR_H
#define HM_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 253
#define ADDR_NAME_MAX 32

bool addr_domain_valid(const char *domain);
bool addr_local_valid(const char *local);
bool addr_mailbox_name_valid(const char *name);
bool addr_alias_name_valid(const char *name);
/* local@domain with a valid local part and domain. */
bool addr_address_valid(const char *address);
/* "@domain" or "local@domain". */
bool addr_pattern_valid(const char *pattern);

void addr_lower(char *text);

/*
 * An envelope address as the SMTP client wrote it (MAIL FROM or RCPT TO,
 * with or without angle brackets), read once into the one form every
 * decision keys on -- the way Sendmail reads it (checked with sendmail -bv
 * and -bt 3,0; test/integration/t-probe.sh keeps the two in step):
 *  - a source route ("@a,@b:") is pruned and a bang path ("host!user",
 *    unqualified) read as user@host; route then says so, because a client
 *    that may not relay must not use them at all;
 *  - a local part that is a quoted string of plain characters loses its
 *    quotes ("info"@dom is info@dom), one trailing dot of the domain
 *    goes (dom. is dom), and both are lower-cased;
 *  - userlen is the length of the local part before a "+detail", which
 *    Sendmail's virtusertable, aliases and access map fall back to.
 * PLAIN is a local part of atext without '%' and '!' (no blank, control or
 * quoting character) with an optional host-name domain.  ROUTED is anything
 * whose destination Sendmail could read differently from the domain we see
 * -- percent hack, bang path, quoted specials, address literal, several
 * "@", a malformed or over-long part -- and "why" names which; its domain
 * is still filled when the address ends in "@host", where Sendmail hands it
 * unless the domain is its own, with the local part kept opaque (quotes and
 * all, lower-cased) when it fits, and local_routes says whether that local
 * part holds a '%' or '!' Sendmail follows at its own domains.
 */
enum addr_envelope_kind { ADDR_ENV_NULL, ADDR_ENV_PLAIN, ADDR_ENV_ROUTED };

/* Longest envelope argument read at all: RFC 5321's path limit is 256. */
#define ADDR_ENVELOPE_MAX 1000

struct addr_envelope {
	enum addr_envelope_kind kind;
	char local[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1];	/* "" when unqualified or unreadable */
	unsigned char userlen;			/* bytes of local before "+detail" */
	bool route;				/* read through a source route or a bang path */
	bool local_routes;			/* ROUTED: '%' or '!' in the local part */
	const char *why;			/* ROUTED, or PLAIN with route: what it was */
};

void addr_envelope_parse(const char *arg, struct addr_envelope *out);
/* Pointer to the '@' that separates local part and domain, or NULL. */
const char *addr_at(const char *address);

#endif
