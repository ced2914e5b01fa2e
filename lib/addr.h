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
 * with or without angle brackets).  PLAIN is a local part of atext and
 * dots (no quoting, routing, blank or control characters) with an
 * optional host-name domain, both lower-cased; ROUTED is anything whose
 * destination Sendmail could read differently from the domain we see --
 * percent hack, bang path, source route, quoting, address literal,
 * trailing dot, several "@" -- or that is too long to look up; "why" names
 * which.  Such an address is refused unless the client may relay anyway.
 */
enum addr_envelope_kind { ADDR_ENV_NULL, ADDR_ENV_PLAIN, ADDR_ENV_ROUTED };

struct addr_envelope {
	enum addr_envelope_kind kind;
	char local[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1];	/* "" when unqualified */
	const char *why;
};

void addr_envelope_parse(const char *arg, struct addr_envelope *out);
/* Pointer to the '@' that separates local part and domain, or NULL. */
const char *addr_at(const char *address);

#endif
