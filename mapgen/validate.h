/*
 * validate - the cross-reference checks of an export that has been read.
 *
 * Promise: builds the model's indexes and reports, each with its code and
 * JSON Pointer: duplicate mailboxes, aliases, domains, addresses
 * (case-insensitively and through alias domains), networks and access
 * keys, an alias domain that is also a domain, deliver targets that are no
 * mailbox, alias, address of this server or valid outside address (or an
 * address a routed domain does not list), pipes or files outside the
 * aliases section, loops through aliases and hosted addresses (at the
 * "deliver" where the search started), and chains deeper than
 * VALIDATE_DEPTH_MAX.  Warns when an alias shadows a mailbox, a routed
 * domain lists no addresses or holds mail nobody may ask for, a reject
 * score is below the tag score (or a discard score below the reject
 * score) once the defaults fill in, a blocked type is one libmagic never
 * names (once per distinct rule set), a mailbox may send as a whole
 * domain not hosted here, or a network lies inside another with another
 * rate limit; and "autoconfig" on a relayed domain or one left without an
 * incoming and an outgoing client server.  Returns the number of errors it
 * added.
 */
#ifndef HM_VALIDATE_H
#define HM_VALIDATE_H

#include "model.h"

/* Sendmail gives up after 50 rewrites; no real delivery chain is deeper. */
#define VALIDATE_DEPTH_MAX 50

unsigned validate_export(struct mg_export *export, struct mg_report *report);

/* Canonical domain record for a hosted name (alias domains resolved), or NULL. */
struct mg_domain *validate_domain(const struct mg_export *export, const char *name);
/* The deliver a hosted address or alias name leads to, or NULL for a leaf. */
struct mg_deliver *validate_follow(const struct mg_export *export, const struct mg_target *target);

#endif
