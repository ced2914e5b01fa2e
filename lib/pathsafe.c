/*
 * pathsafe - paths a root-started daemon may trust; see pathsafe.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pathsafe.h"

int
pathsafe_user_named(const char *name, struct pathsafe_user *user, char *err, size_t errlen)
{
	const struct passwd *pw = getpwnam(name);
	int n = PATHSAFE_GROUPS_MAX;

	memset(user, 0, sizeof(*user));
	if (!pw) {
		snprintf(err, errlen, "UserID %s: no such user", name);
		return -1;
	}
	user->uid = pw->pw_uid;
	/* Every group it is in may write where that group may: all are counted. */
	if (getgrouplist(name, pw->pw_gid, user->groups, &n) < 0) {
		snprintf(err, errlen, "UserID %s is in more than %d groups", name, PATHSAFE_GROUPS_MAX);
		return -1;
	}
	user->ngroups = (unsigned)n;
	return 0;
}

void
pathsafe_user_self(struct pathsafe_user *user)
{
	int n;

	memset(user, 0, sizeof(*user));
	user->uid = geteuid();
	user->groups[0] = getegid();
	n = getgroups(PATHSAFE_GROUPS_MAX - 1, user->groups + 1);
	user->ngroups = 1 + (unsigned)(n > 0 ? n : 0);
}

static bool
pathsafe_in_group(const struct pathsafe_user *user, gid_t gid)
{
	for (unsigned i = 0; i < user->ngroups; i++)
		if (user->groups[i] == gid)
			return true;
	return false;
}

const char *
pathsafe_judge_socket_dir(const struct stat *st, const struct pathsafe_user *user)
{
	if (!S_ISDIR(st->st_mode))
		return "is not a directory";
	if (st->st_uid != 0 && st->st_uid != user->uid)
		return "belongs to neither root nor UserID";
	/* The sticky bit is no help here: the name could be taken before bind. */
	if (st->st_mode & S_IWOTH)
		return "is writable by every user";
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
		return "is writable by its group";
	return NULL;
}

const char *
pathsafe_judge_ancestor(const struct stat *st, const struct pathsafe_user *user)
{
	if (!S_ISDIR(st->st_mode))
		return "is not a directory";
	if (st->st_uid != 0 && st->st_uid != user->uid)
		return "belongs to neither root nor UserID";
	/* With the sticky bit others may add names but not rename ours (as /tmp). */
	if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX))
		return "is writable by every user, without the sticky bit";
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !(st->st_mode & S_ISVTX))
		return "is writable by its group, without the sticky bit";
	return NULL;
}

const char *
pathsafe_judge_policy(const struct stat *st, const struct pathsafe_user *user)
{
	if (st->st_uid == user->uid)
		return "belongs to UserID, which could rewrite the policy it enforces";
	if (st->st_mode & S_IWOTH)
		return "is writable by every user";
	if ((st->st_mode & S_IWGRP) && pathsafe_in_group(user, st->st_gid))
		return "is writable by a group UserID is in, which could rewrite the policy it enforces";
	return NULL;
}

/* The directory part of path ("/" for "/x", "." for "x"). */
static void
pathsafe_dirname(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	size_t len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);

	if (len == 0)
		snprintf(dir, dirlen, ".");
	else
		snprintf(dir, dirlen, "%.*s", (int)len, path);
}

/* The directory itself, not a link to one: lstat, then the open inode must be the same. */
static int
pathsafe_stat_dir_nofollow(const char *dir, struct stat *st, char *err, size_t errlen)
{
	struct stat lst;
	int fd;

	if (lstat(dir, &lst) < 0) {
		snprintf(err, errlen, "socket directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (S_ISLNK(lst.st_mode)) {
		snprintf(err, errlen, "socket directory %s is a symbolic link; name the directory itself", dir);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st) < 0) {
		snprintf(err, errlen, "socket directory %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (st->st_dev != lst.st_dev || st->st_ino != lst.st_ino) {
		snprintf(err, errlen, "socket directory %s was replaced while it was checked", dir);
		return -1;
	}
	return 0;
}

/* Whoever may rename an ancestor may swap the whole directory under it. */
static int
pathsafe_ancestors(const char *dir, const struct pathsafe_user *user, char *err, size_t errlen)
{
	char path[4096], parent[4096];
	struct stat st;
	const char *why;

	snprintf(path, sizeof(path), "%s", dir);
	while (strcmp(path, "/") != 0 && strcmp(path, ".") != 0) {
		pathsafe_dirname(path, parent, sizeof(parent));
		if (stat(parent, &st) < 0) {
			snprintf(err, errlen, "socket directory's parent %s: %s", parent, strerror(errno));
			return -1;
		}
		if ((why = pathsafe_judge_ancestor(&st, user))) {
			snprintf(err, errlen, "socket directory's parent %s %s", parent, why);
			return -1;
		}
		memcpy(path, parent, strlen(parent) + 1);
	}
	return 0;
}

int
pathsafe_socket_dir(const char *socket_path, const struct pathsafe_user *user, char *err, size_t errlen)
{
	char dir[4096];
	struct stat st;
	const char *why;

	pathsafe_dirname(socket_path, dir, sizeof(dir));
	if (pathsafe_stat_dir_nofollow(dir, &st, err, errlen) < 0)
		return -1;
	if ((why = pathsafe_judge_socket_dir(&st, user))) {
		snprintf(err, errlen, "socket directory %s %s", dir, why);
		return -1;
	}
	return pathsafe_ancestors(dir, user, err, errlen);
}

int
pathsafe_policy(const char *path, const struct pathsafe_user *user, char *err, size_t errlen)
{
	char dir[4096];
	struct stat st;
	const char *why;

	if (lstat(path, &st) < 0) {
		snprintf(err, errlen, "PolicyDB %s: %s", path, strerror(errno));
		return -1;
	}
	why = S_ISLNK(st.st_mode)  ? "is a symbolic link; name the file itself"
	      : !S_ISREG(st.st_mode) ? "is not a regular file"
				     : pathsafe_judge_policy(&st, user);
	if (why) {
		snprintf(err, errlen, "PolicyDB %s %s", path, why);
		return -1;
	}
	pathsafe_dirname(path, dir, sizeof(dir));
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "PolicyDB's directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((why = pathsafe_judge_policy(&st, user))) {
		snprintf(err, errlen, "PolicyDB's directory %s %s", dir, why);
		return -1;
	}
	return 0;
}

const char *
pathsafe_judge_runtime_dir(const char *dir)
{
	size_t len = strlen(PATHSAFE_RUNTIME_PARENT);
	const char *name = dir + len + 1;

	if (strncmp(dir, PATHSAFE_RUNTIME_PARENT "/", len + 1) != 0)
		return "is not directly under " PATHSAFE_RUNTIME_PARENT;
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "is not directly under " PATHSAFE_RUNTIME_PARENT;
	return NULL;
}

/* dir, just made by mkdir: root's and 0755 through its descriptor, never by name. */
static int
pathsafe_own_runtime_dir(const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0) {
		snprintf(err, errlen, "runtime directory %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
pathsafe_runtime_dir(const char *path, const struct pathsafe_user *user, bool create, char *err, size_t errlen)
{
	char dir[4096], parent[4096];
	struct stat st;
	const char *why;

	pathsafe_dirname(path, dir, sizeof(dir));
	if (lstat(dir, &st) == 0 || errno != ENOENT)
		return 0;
	if (pathsafe_judge_runtime_dir(dir))
		return 0;	/* not ours to make: the checks of what goes in it say it is missing */
	/* Whoever may rename in /run could swap what we make: the rules of any socket's ancestors. */
	pathsafe_dirname(dir, parent, sizeof(parent));
	if (pathsafe_stat_dir_nofollow(parent, &st, err, errlen) < 0)
		return -1;
	if ((why = pathsafe_judge_ancestor(&st, user))) {
		snprintf(err, errlen, "%s %s; not making %s in it", parent, why, dir);
		return -1;
	}
	if (pathsafe_ancestors(parent, user, err, errlen) < 0)
		return -1;
	if (!create)
		return 1;
	/* Only root may write in /run: EEXIST means root made it meanwhile; the other checks judge it. */
	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? 0 : (snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno)), -1);
	return pathsafe_own_runtime_dir(dir, err, errlen) < 0 ? -1 : 1;
}
