/*
 * magicset - libmagic with only the rules that can name given types.
 *
 * libmagic tries every rule of its database on a part that matches none,
 * as a text part does: about 0.2 to 1 ms per part with libmagic 5.44,
 * most of the cost of the true-type check.  A policy asks one question,
 * whether a part is of a type it blocks.  magicset answers it from a
 * database made of the system's own compiled rules (the magic.mgc that
 * magic_load(NULL) reads), keeping every rule that can name one of the
 * wanted types (or a name libmagic uses for the same kind of file,
 * magictypes_family, lib/magictypes.h), the named rules they use, and every rule that
 * re-enters the database at an offset (type "indirect").
 *
 * Promise: magicset_type names a wanted type exactly when libmagic with
 * its whole database does: libmagic's built-in tests run the same, a
 * kept rule is tried with the same bytes in the same order, and the
 * rules left out name no wanted type, so the first rule that matches and
 * names a wanted type is the same one.  When the chosen rules name a
 * wanted type, the whole database is asked again, so what is reported
 * is libmagic's own answer; any other answer is the chosen rules' (for
 * the log only: "text/plain", "application/octet-stream").  Without
 * wanted types, or when the database is not a compiled file of the one
 * format this reads (magic.mgc version 18, libmagic 5.x native byte
 * order), every part gets the whole database.
 */
#ifndef HM_MAGICSET_H
#define HM_MAGICSET_H

#include <stddef.h>

#include <magic.h>

struct magicset_cookie;

/* Once per process: reads the system's compiled database, if it can. */
void magicset_init(void);
void magicset_shutdown(void);

/*
 * Makes *cookie (one thread's) answer for these types, with libmagic's
 * flags (those of the whole database's cookie), rebuilding it only when
 * the types changed; with no types, or no database to choose from, it
 * becomes NULL: the whole database.  0, or -1 when libmagic fails.
 */
int magicset_choose(struct magicset_cookie **cookie, int flags, const char *const *types, size_t ntypes);
void magicset_cookie_free(struct magicset_cookie *cookie);

/* The type of buf: see above.  full: a cookie with the whole database. */
const char *magicset_type(struct magicset_cookie *cookie, magic_t full, const char *buf, size_t len);

/* Rules kept for the types (0 when there is no database to choose from), for tests and the log. */
size_t magicset_rules(const char *const *types, size_t ntypes);

#endif
