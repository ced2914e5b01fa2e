/*
 * magictypes - the MIME types libmagic names, and the names it has used
 * for one kind of file.
 *
 * Families: libmagic 5.44 calls a PE file
 * application/vnd.microsoft.portable-executable where older versions and
 * every panel say application/x-dosexec; panels also write
 * application/x-msdownload.  Names of one family count as one type for
 * blocking (scan/attach.h), so a libmagic upgrade cannot unblock
 * executables.  Case-insensitive.
 *
 * Known types: those the system's compiled database (the magic.mgc that
 * magic_load(NULL) reads, format 18 of libmagic 5.x) gives a rule's
 * "!:mime", plus those libmagic's built-in tests name (JSON, CSV, tar,
 * the OLE2 formats of Office, text, empty), plus their families.  A type
 * outside them is never reported, so blocking it blocks nothing.
 *
 * Promise: magictypes_known answers true when it cannot tell (no such
 * database, another format): a doubt is never reported as "unknown".
 * The database is read once per process, on first use.
 */
#ifndef HM_MAGICTYPES_H
#define HM_MAGICTYPES_H

#include <stdbool.h>
#include <stddef.h>

/* The names of type's family, type itself first, NULL-terminated; n at most. */
size_t magictypes_family(const char *type, const char **names, size_t n);
/* Whether found (what libmagic said) is blocked (what a policy names). */
bool magictypes_same(const char *found, const char *blocked);
/* Whether libmagic can name type or one of its family; true when unknown. */
bool magictypes_known(const char *type);
/* The database read from path instead (tests); NULL: the system's, as magic_load(NULL) finds it. */
void magictypes_use(const char *path);

#endif
