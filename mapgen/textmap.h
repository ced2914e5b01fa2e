/*
 * textmap - one text map an admin may also edit (virtmaps, access, aliases,
 * sendmail.cw), and the Berkeley DB file Sendmail reads beside it.
 *
 * The generated lines live between two marker lines:
 *     # BEGIN hostmapgen ...
 *     # END hostmapgen
 * Everything outside the markers is the admin's and is kept byte for byte.
 * A file without markers is all admin text; the block is appended to it.
 *
 * Promise: a generated line whose key an admin line already has is written
 * as a comment and reported (admin_line_overrides), so the admin's line wins both in the
 * text and in the .db and the text never holds a key twice.  The .db is
 * built from the final text by the rules of the program Sendmail's admins
 * would use on it: makemap (key up to the first blank, lower-cased, value
 * after the blanks, no NULs, first of duplicate keys kept) or newaliases
 * (logical lines with continuations, "name: value", key and value with a
 * trailing NUL, the "@" sentinel last).
 */
#ifndef HM_TEXTMAP_H
#define HM_TEXTMAP_H

#include <glib.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "report.h"

enum textmap_style {
	TEXTMAP_MAKEMAP,	/* key<TAB>value, hash map as makemap writes it */
	TEXTMAP_ALIASES,	/* name: value, hash map as newaliases writes it */
	TEXTMAP_CLASS,		/* one name per line, no .db (sendmail.cw) */
};

#define TEXTMAP_BEGIN "# BEGIN hostmapgen"
#define TEXTMAP_END "# END hostmapgen"

struct textmap {
	const char *name;
	enum textmap_style style;
	GString *before, *after, *block;
	GHashTable *admin_keys;		/* lower-case key -> line number */
	GHashTable *generated_keys;	/* only when dedupe is on */
	GStringChunk *keys;
	unsigned long generated, shadowed;
	struct mg_report *report;	/* where its warnings go; NULL: msg_warn */
};

void textmap_init(struct textmap *map, const char *name, enum textmap_style style, bool dedupe);
void textmap_free(struct textmap *map);
/* Loads the current file (missing is empty).  -1 with err on I/O trouble, on a name that is
 * no regular file (a symbolic link, FIFO, ...: never followed nor opened), or a broken block. */
int textmap_load(struct textmap *map, const char *path, char *err, size_t errlen);
/* The same from memory (text need not end in a NUL). */
int textmap_load_text(struct textmap *map, const char *text, size_t len, char *err, size_t errlen);
/* Adds a generated entry; returns false when the key was generated before with another value. */
bool textmap_add(struct textmap *map, const char *key, const char *value);
void textmap_note(struct textmap *map, const char *comment);
/* The whole new file, which the block becomes (the map's block is empty after). */
GString *textmap_render(struct textmap *map);

typedef int (*textmap_record_fn)(const char *key, size_t keylen, const char *value,
				 size_t valuelen, void *context);
/* Calls fn for each record of text as the style's tool would store it. */
int textmap_records(enum textmap_style style, const char *text, size_t len,
		    textmap_record_fn fn, void *context);
/* Builds the .db for text at path (which must not exist), with the owner and
 * mode of like (NULL: 0644); -1 with err. */
int textmap_write_db(enum textmap_style style, const char *name, const char *text, size_t len,
		     const char *path, const struct stat *like, char *err, size_t errlen);

#endif
