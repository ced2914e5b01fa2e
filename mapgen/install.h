/*
 * install - puts generated files in place, atomically per file.
 *
 * Promise: every name the run reads or replaces (each map, its .db, the
 * state file) is checked first and must be absent or a regular file: a
 * symbolic link, FIFO, device or directory there is refused before
 * anything is read or written.  Every new file is first written
 * completely beside its target, under an unpredictable name starting with
 * "." (created with O_EXCL|O_NOFOLLOW), flushed with fsync and given the
 * old file's owner and mode; only when all of them are ready, and every
 * target has been checked once more to be replaceable by rename (no mount
 * point, not immutable), are they renamed over their targets (each text
 * before its .db, so the .db is never older than its text), and the
 * directory is synced.  install_commit says which of three things
 * happened: all installed, nothing changed (every old file as it was, no
 * temporary file left), or, when a rename failed after others succeeded,
 * exactly which files are installed and which are not.  A file whose
 * content would not change is not touched.  Runs serialize on an exclusive
 * lock in the output directory (maplock), and each run first removes the
 * temporary files, its own and Berkeley DB's, that a killed run left.
 *
 * The state file (.hostmapgen.state, see state.h) records the export's
 * digest and the identity of every file as this program left it, so that
 * a rerun with the same export recognises in one stat per file that
 * nothing changed and knows whether a .db still belongs to its text.  It
 * also records what the last reload covered: a file marked reload
 * (sendmail.cw) whose identity differs from the one recorded is due for
 * a reload, whichever run changed it, until a reload succeeds.
 *
 * Every name read or replaced must belong to a trusted user (safefile.h):
 * root, the user running hostmapgen or the MTA's own user.  One symbolic
 * link is followed, and only where the caller asks for it (follow_link:
 * Debian's /etc/mail/aliases -> ../aliases) and safefile_follow_link
 * finds it safe: the text is then read and replaced where the link points
 * (its temporary file beside it, in that directory), while its .db stays
 * beside the link, where Sendmail looks for ALIAS_FILE.db, and the link
 * itself is left as it is.
 *
 * HOSTMAPGEN_TEST_PAUSE=STAGE in the environment stops the process
 * (SIGSTOP) at a named stage, for tests that must kill a run at a known
 * point: "locked", "written" (all temporary files complete), "renamed:NAME"
 * (right after NAME was renamed into place), "installed", "reloading".
 */
#ifndef HM_INSTALL_H
#define HM_INSTALL_H

#include <glib.h>
#include <stdbool.h>

#include "emit.h"
#include "state.h"
#include "textmap.h"

#define INSTALL_STATE ".hostmapgen.state"
#define INSTALL_LOCK ".hostmapgen.lock"
/* Room for every map of every layout, with some to spare. */
#define INSTALL_MAX_FILES 16

struct install_file {
	const char *name;		/* as in the directory: "virtmaps" */
	char *path;			/* the text: the name in the directory, or where its link points */
	char *db;			/* the .db: always the name in the directory, plus ".db" */
	char *text_dir;			/* path's directory, for its temporary file */
	bool follow_link;		/* the name may be a trusted link to the text (safefile_follow_link) */
	enum textmap_style style;
	bool has_db;
	bool policy;			/* hostmilter.db, autoconfig.db: no text, records instead */
	bool reload;			/* Sendmail rereads it only when reloaded (sendmail.cw) */
	GString *text;			/* new content of a text file */
	const struct policy_records *records;
	bool text_changed, db_changed;
	bool text_installed, db_installed;	/* renamed into place by this run */
	char *tmp_text, *tmp_db;
};

struct install_early;

enum install_result {
	INSTALL_DONE = 0,		/* every changed file is in place */
	INSTALL_NOTHING = -1,		/* failed before the first rename; nothing changed */
	INSTALL_PARTIAL = -2,		/* a rename failed after others succeeded */
};

struct install_set {
	char *dir;
	const char *digest;		/* the export's */
	const char *layout;
	struct install_file files[INSTALL_MAX_FILES];
	unsigned nfiles;
	int lock_fd;
	struct install_early *early;	/* the databases being built ahead */
	struct state old;		/* the state file as this run found it */
	GHashTable *reload_now;		/* name -> identity of the files due for a reload */
	GHashTable *reload_covered;	/* the same, once a reload covered them */
	bool partial;			/* recorded as incomplete: the next run does everything again */
	struct mg_report *report;	/* where its warnings go; NULL: msg_warn */
};

void install_init(struct install_set *set, const char *dir, const char *layout, const char *digest);
void install_free(struct install_set *set);
/* Checks the directory, then takes its lock, waiting at most timeout seconds; -1 with err. */
int install_lock(struct install_set *set, unsigned timeout, char *err, size_t errlen);
/* Removes temporary files a killed run left behind. */
void install_clean_stale(struct install_set *set);
struct install_file *install_add(struct install_set *set, const char *name, enum textmap_style style,
				 bool has_db);
/* Checks every name the run reads (and, with replacing, renames over),
 * then reads the state file; -1 with err, and nothing was read. */
int install_survey(struct install_set *set, bool replacing, char *err, size_t errlen);
/* True when the state file vouches that the export and every file are as last written. */
bool install_unchanged(struct install_set *set);
/*
 * Starts building hostmilter.db's temporary file from records in a thread
 * of its own, when it differs from the installed one, so that the largest
 * build overlaps the generation of the text maps.  Nothing is renamed
 * before install_commit, which waits for it; install_abandon (or
 * install_free) waits and removes what it wrote.
 */
void install_start_policy(struct install_set *set, const struct policy_records *records);
/*
 * The same for the text maps' .db files, from the texts set in files, so
 * that they overlap hostmilter.db's records; their changes are decided
 * here, and install_compare leaves them as they are.
 */
void install_start_texts(struct install_set *set);
void install_abandon(struct install_set *set);
/* Decides which files change. */
void install_compare(struct install_set *set);
/* Prints a unified diff of each changed text file to stdout. */
void install_diff(struct install_set *set);
/* Writes temporary files and renames them; err says why when not INSTALL_DONE. */
enum install_result install_commit(struct install_set *set, char *err, size_t errlen);
unsigned install_changed_count(const struct install_set *set);
/* Appends " name" for each file this run installed (installed) or meant to but did not. */
void install_list(const struct install_set *set, bool installed, GString *out);
/* Appends " name" for each file due for a reload; returns how many. */
unsigned install_reload_due(struct install_set *set, GString *names);
/* The reload asked for by install_reload_due happened (or was left to the admin). */
void install_reload_covered(struct install_set *set);
/* Before install_reload_covered: name stays due for the next run's reload. */
void install_reload_keep_due(struct install_set *set, const char *name);
/* Records the state file: files as they are now, the reloads covered; -1 (warned) on failure. */
int install_record(struct install_set *set);
/* The test hook: stops here when HOSTMAPGEN_TEST_PAUSE names stage (with ":name" when given). */
void install_pause(const char *stage, const char *name);

#endif
