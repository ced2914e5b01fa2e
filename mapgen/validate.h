/*
 * validate - the cross-reference checks of an export that has been read.
 *
 * Promise: builds the model's indexes and reports, each with its JSON path:
 * duplicate mailboxes, aliases, domains and addresses (case-insensitively
 * and through alias domains), an alias domain that is also a domain,
 * addresses in a backup-MX domain, deliver targets that are no mailbox,
 * alias, address of this server or valid outside address, pipes or files
 * outside the aliases section, loops through aliases and hosted addresses,
 * chains deeper than VALIDATE_DEPTH_MAX, duplicate access keys, and
 * "autoconfig" on a relayed domain or one left without an incoming and an
 * outgoing client server.  Warns (msg_warn) when an alias shadows a
 * mailbox.  Returns the number of errors it added.
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
