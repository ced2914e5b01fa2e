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
/* Pointer to the '@' that separates local part and domain, or NULL. */
const char *addr_at(const char *address);

#endif
