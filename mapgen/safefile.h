/*
 * safefile - the files hostmapgen reads and replaces, opened so that
 * whoever else can write near them gets neither a disclosure nor a hang.
 *
 * Promise: safefile_read opens a map only when its name is a regular file
 * itself: it never follows a symbolic link, never opens a FIFO, device,
 * socket or directory (so it never blocks in open), and reads at most cap
 * bytes.  safefile_read_export reads the export the same way, except that
 * the export's own name may be a symbolic link to a regular file and "-"
 * (standard input) may also be a pipe or socket; it too stops at cap.
 * safefile_check_target tells whether a name may be read and then replaced
 * by rename(2): absent, or a regular file that is no mount point and
 * neither immutable nor append-only, each of which would make the rename
 * fail after others succeeded.  safefile_check_dir refuses a directory that
 * a user other than root and this one could write to, since such a user
 * could swap any name in it between a check and its use.
 * Every refusal says what the name is and why; nothing here writes.
 */
#ifndef HM_SAFEFILE_H
#define HM_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum safefile_status {
	SAFEFILE_OK = 0,
	SAFEFILE_MISSING = 1,		/* safefile_read: no such file (an empty map) */
	SAFEFILE_ERROR = -1,		/* unreadable or not a regular file */
	SAFEFILE_TOO_LARGE = -2,	/* more than cap bytes */
};

/* No cap: a map is whatever size its regular file has. */
#define SAFEFILE_NO_CAP ((size_t)-1)

/* "a symbolic link", "a FIFO", ...: what a mode says a name is. */
const char *safefile_kind(mode_t mode);
/* The map at path, NUL-terminated (*data is g_free'd by the caller). */
enum safefile_status safefile_read(const char *path, size_t cap, char **data, size_t *len,
				   char *err, size_t errlen);
/* The export at path, or standard input for "-". */
enum safefile_status safefile_read_export(const char *path, size_t cap, char **data, size_t *len,
					  char *err, size_t errlen);
/* 0 when path may be read (and, with replacing, renamed over); -1 with err. */
int safefile_check_target(const char *path, bool replacing, char *err, size_t errlen);
/* 0 when dir is a directory only root or this user (or their group) can write; -1 with err. */
int safefile_check_dir(const char *dir, char *err, size_t errlen);

#endif
