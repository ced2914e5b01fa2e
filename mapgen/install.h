/*
 * install - puts generated files in place, atomically per file.
 *
 * Promise: every new file is first written completely beside its target
 * (a name starting with ".", created with O_EXCL), flushed with fsync and
 * given the old file's owner and mode; only when all of them are ready are
 * they renamed over their targets (each text before its .db, so the .db is
 * never older than its text), and the directory is synced.  Any failure
 * before the renames removes the temporary files and leaves every old file
 * as it was.  A file whose content would not change is not touched.
 * Runs serialize on an exclusive lock in the output directory.
 *
 * A state file (.hostmapgen.state) records the export's digest and the
 * identity (device, inode, size, mtime) of every file as this program left
 * it.  It lets a rerun with the same export recognise in one stat per file
 * that nothing changed, and tells whether a .db still belongs to its text.
 */
#ifndef HM_INSTALL_H
#define HM_INSTALL_H

#include <glib.h>
#include <stdbool.h>

#include "emit.h"
#include "textmap.h"

#define INSTALL_STATE ".hostmapgen.state"
#define INSTALL_LOCK ".hostmapgen.lock"

struct install_file {
	const char *name;		/* as in the directory: "virtmaps" */
	char *path;
	enum textmap_style style;
	bool has_db;
	bool policy;			/* hostmilter.db: no text, records instead */
	GString *text;			/* new content of a text file */
	const struct policy_records *records;
	bool text_changed, db_changed;
	char *tmp_text, *tmp_db;
};

struct install_early;

struct install_set {
	char *dir;
	const char *digest;		/* the export's */
	const char *layout;
	struct install_file files[5];
	unsigned nfiles;
	int lock_fd;
	struct install_early *early;	/* hostmilter.db, being built ahead */
};

void install_init(struct install_set *set, const char *dir, const char *layout, const char *digest);
void install_free(struct install_set *set);
/* Waits for the directory's lock; -1 with err. */
int install_lock(struct install_set *set, char *err, size_t errlen);
/* Removes temporary files a killed run left behind. */
void install_clean_stale(struct install_set *set);
/* True when the state file vouches that the export and every file are as last written. */
bool install_unchanged(struct install_set *set);
struct install_file *install_add(struct install_set *set, const char *name, enum textmap_style style,
				 bool has_db);
/*
 * Starts building hostmilter.db's temporary file from records in a thread
 * of its own, when it differs from the installed one, so that the largest
 * build overlaps the generation of the text maps.  Nothing is renamed
 * before install_commit, which waits for it; install_abandon (or
 * install_free) waits and removes what it wrote.
 */
void install_start_policy(struct install_set *set, const struct policy_records *records);
void install_abandon(struct install_set *set);
/* Decides which files change. */
void install_compare(struct install_set *set);
/* Prints a unified diff of each changed text file to stdout. */
void install_diff(struct install_set *set);
/* Writes temporary files, renames them, records the state; -1 with err and nothing changed. */
int install_commit(struct install_set *set, char *err, size_t errlen);
unsigned install_changed_count(const struct install_set *set);

#endif
