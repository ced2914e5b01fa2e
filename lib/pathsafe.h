/*
 * pathsafe - may a daemon that starts as root and runs as UserID trust a path?
 *
 * Promise: the pathsafe_judge_* functions are pure: a struct stat and the
 * daemon's identity in, NULL (safe) or the reason out.  The checks behind
 * them look without following a symbolic link where one would let another
 * user redirect root (lstat, then open with O_NOFOLLOW and fstat of the
 * same inode), and explain a refusal in err, naming the path.
 *
 * The rules: a socket's directory belongs to root or UserID and nobody
 * else may write to it, so the socket's name cannot be replaced between
 * bind and use; its ancestors are root's or UserID's and writable by others
 * only with the sticky bit (as /tmp).  The policy database and its
 * directory are writable neither by UserID (a compromised filter must not
 * rewrite the policy it enforces) nor by every user.
 *
 * pathsafe_runtime_dir makes a missing runtime directory directly under
 * /run, as systemd's RuntimeDirectory= does for the unit: root's, mode
 * 0755 (set on the open directory, not by name), only when /run itself
 * passes the ancestor rules; anywhere else a missing directory is the
 * admin's mistake and is left for the checks above to report.
 */
#ifndef HM_PATHSAFE_H
#define HM_PATHSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PATHSAFE_GROUPS_MAX 64

/* Whom the daemon runs as: its uid and every group it is in, primary first. */
struct pathsafe_user {
	uid_t uid;
	unsigned ngroups;
	gid_t groups[PATHSAFE_GROUPS_MAX];
};

/* The user of that name and its groups (/etc/group too); 0, or -1 with err. */
int pathsafe_user_named(const char *name, struct pathsafe_user *user, char *err, size_t errlen);
/* The identity of this process, for a daemon not started as root. */
void pathsafe_user_self(struct pathsafe_user *user);

const char *pathsafe_judge_socket_dir(const struct stat *st, const struct pathsafe_user *user);
const char *pathsafe_judge_ancestor(const struct stat *st, const struct pathsafe_user *user);
const char *pathsafe_judge_policy(const struct stat *st, const struct pathsafe_user *user);

/* The directory of a unix socket's path and its ancestors; 0, or -1 with err. */
int pathsafe_socket_dir(const char *socket_path, const struct pathsafe_user *user, char *err, size_t errlen);
/* The only parent under which pathsafe_runtime_dir makes a directory. */
#define PATHSAFE_RUNTIME_PARENT "/run"

/* Pure: NULL when dir is one pathsafe_runtime_dir may make (its parent is PATHSAFE_RUNTIME_PARENT), else why not. */
const char *pathsafe_judge_runtime_dir(const char *dir);
/*
 * The directory of path: 0 when it exists or is not one to make here (the
 * other checks judge it); 1 when it was missing and is now made (with
 * create) or would be made (without); -1 with err when /run is unsafe or
 * mkdir failed.
 */
int pathsafe_runtime_dir(const char *path, const struct pathsafe_user *user, bool create, char *err,
			 size_t errlen);

/* The policy database (a regular file, no link) and its directory; 0, or -1 with err. */
int pathsafe_policy(const char *path, const struct pathsafe_user *user, char *err, size_t errlen);

#endif
