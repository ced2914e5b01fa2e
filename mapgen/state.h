/*
 * state - what .hostmapgen.state says a run left behind, as plain data.
 *
 * The file holds the export's digest and layout, the identity (device,
 * inode, size, mtime) of each file as the run that wrote them left it, and
 * the identity of each file that needs Sendmail reloaded as it was when a
 * reload last covered it:
 *     hostmapgen-state 2 0.1.0
 *     export 3f0a... hostnet
 *     file virtmaps 65024 1234 5678 1700000000.000000000
 *     reloaded sendmail.cw 65024 1240 87 1700000000.000000000
 * A run that installed only part of its files records the digest "-", so
 * that no rerun takes the files as complete.
 *
 * Promise: state_parse reads any text without failing (what it does not
 * understand counts as absent, so the next run does more, never less),
 * state_format writes what state_parse reads back, and the decisions below
 * are pure functions of the parsed state and of identities taken now.
 */
#ifndef HM_STATE_H
#define HM_STATE_H

#include <glib.h>
#include <stdbool.h>

#define STATE_INCOMPLETE "-"

struct state {
	char *version;		/* of the program that wrote it */
	char *digest;		/* the export's, or STATE_INCOMPLETE */
	char *layout;
	GHashTable *files;	/* label ("virtmaps", "virtmaps.db") -> identity */
	GHashTable *reloaded;	/* name ("sendmail.cw") -> identity when last reloaded */
};

void state_init(struct state *state);
void state_free(struct state *state);
/* Fills state (initialised) from text, which may be NULL. */
void state_parse(struct state *state, const char *text);
GString *state_format(const struct state *state);
/* "dev ino size mtime" of path (not followed), or NULL when it is absent. */
char *state_identity(const char *path);

/* True when old records the same version, export, layout and file identities as now. */
bool state_unchanged(const struct state *old, const struct state *now);
/* True when old recorded both identities of a text and its .db and they still hold. */
bool state_vouches(const struct state *old, const char *text_label, const char *text_now,
		   const char *db_label, const char *db_now);
/* True when the file name, now with identity now (NULL: absent), still needs a reload. */
bool state_reload_due(const struct state *old, const char *name, const char *now);

#endif
