/*
 * diff - what a run changes in every file it writes, object by object.
 *
 * Each change is {"file", "object", "name", "key", "old", "new"} (and
 * "note" for a .db rebuilt from an unchanged text): the object is a
 * mailbox, domain, address, alias, route, access entry, name (of class w),
 * mailer, relay network, relay certificate, server or defaults; the key
 * is the field that changed ("spam.reject_score", "virtmaps",
 * "mailboxes"), null when the whole object is added or removed; old and
 * new are JSON values, null for "absent" (in rules: inherited).  The text
 * maps are compared record by record as makemap and newaliases read them
 * (admin lines included), hostmilter.db record by record with each rule
 * set resolved by its id on its own side, so an id that changed is no
 * change.  Sorted by object and name, so that what one address changes in
 * several files comes together.
 *
 * Promise: every record any file gains, loses or changes is in the list;
 * an unchanged file adds nothing.  Reads the installed files only.
 */
#ifndef HM_DIFF_H
#define HM_DIFF_H

#include <jansson.h>
#include <stdio.h>

#include "install.h"

/* After install_compare: the changes of every file it found changed. */
json_t *diff_changes(const struct install_set *set);
/* "mailbox xyz00-info: spam.reject_score 15 -> 8", one line each. */
void diff_print(const json_t *changes, FILE *out);

#endif
