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
 * an untrusted user could write to, since such a user could swap any name
 * in it between a check and its use, and safefile_check_owner a file such
 * a user owns, since its owner could rewrite it at will.
 *
 * Trusted are root, the user running hostmapgen and the MTA's own user
 * (smmta on Debian, which owns /etc/mail there): each of them can already
 * rewrite Sendmail's configuration, so trusting them opens nothing.  The
 * safefile_judge_* functions are pure (a struct stat and the trust in, NULL
 * or the reason out); the checks apply the trust set by safefile_set_trust
 * (root and this user until then).
 *
 * safefile_follow_link resolves the one symbolic link hostmapgen follows,
 * Debian's /etc/mail/aliases -> ../aliases: only when the link belongs to
 * a trusted user, its target is reached through real directories (no
 * further link) each owned by a trusted user and writable by no one else,
 * and the target is absent or a regular file of a trusted user.  Since no
 * untrusted user can then change any name on the way, the path it returns
 * stays what was checked for as long as the trusted users let it.
 * Every refusal says what the name is and why; nothing here writes.
 */
#ifndef HM_SAFEFILE_H
#define HM_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

enum safefile_status {
	SAFEFILE_OK = 0,
	SAFEFILE_MISSING = 1,		/* safefile_read: no such file (an empty map) */
	SAFEFILE_ERROR = -1,		/* unreadable or not a regular file */
	SAFEFILE_TOO_LARGE = -2,	/* more than cap bytes */
};

/* No cap: a map is whatever size its regular file has. */
#define SAFEFILE_NO_CAP ((size_t)-1)

#define SAFEFILE_TRUST_MAX 3

/* Whom hostmapgen trusts with its directory and files: uids, root always among them. */
struct safefile_trust {
	uid_t uid[SAFEFILE_TRUST_MAX];
	unsigned n;
	gid_t group;		/* a directory may also be writable by this group (and root's) */
	char mta[64];		/* the MTA's user, for messages; "" for none */
	uid_t mta_uid;
};

/* Root and self (with its group); then safefile_trust_mta adds the MTA's user. */
void safefile_trust_init(struct safefile_trust *trust, uid_t self, gid_t group);
void safefile_trust_mta(struct safefile_trust *trust, uid_t uid, const char *name);
bool safefile_trusted(const struct safefile_trust *trust, uid_t uid);
/* The trust the checks below apply, from now on (copied). */
void safefile_set_trust(const struct safefile_trust *trust);
const struct safefile_trust *safefile_get_trust(void);
/* Pure: NULL when a directory with st may hold the maps (or lead to them), else why not. */
const char *safefile_judge_dir(const struct stat *st, const struct safefile_trust *trust);
/* Pure: NULL when a file (or link) with st may be trusted for its content, else why not. */
const char *safefile_judge_owner(const struct stat *st, const struct safefile_trust *trust);

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
/* 0 when dir is a directory only trusted users (or their group) can write; -1 with err. */
int safefile_check_dir(const char *dir, char *err, size_t errlen);
/* 0 when path is absent or belongs to a trusted user; -1 with err. */
int safefile_check_owner(const char *path, char *err, size_t errlen);
/*
 * path, when it is a symbolic link safe to follow (above): 1 and *target
 * (g_free'd by the caller) the path of what it points to, without "." or
 * ".." and without links; 0 when path is no link (absent or anything
 * else: the other checks judge it); -1 with err when it is a link that
 * cannot be trusted.
 */
int safefile_follow_link(const char *path, char **target, char *err, size_t errlen);

#endif
