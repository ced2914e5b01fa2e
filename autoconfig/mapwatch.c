/*
 * mapwatch - autoconfig.db, reopened when replaced; see mapwatch.h.
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapwatch.h"
#include "msg.h"

static bool
in_group(const struct pathsafe_user *user, gid_t gid)
{
	for (unsigned i = 0; i < user->ngroups; i++)
		if (user->groups[i] == gid)
			return true;
	return false;
}

const char *
mapwatch_judge(const struct stat *st, const struct pathsafe_user *user)
{
	if (user->uid != 0 && st->st_uid == user->uid)
		return "belongs to the user hostautoconfig runs as, which could change what mail clients are told";
	if (st->st_mode & S_IWOTH)
		return "is writable by every user";
	if ((st->st_mode & S_IWGRP) && in_group(user, st->st_gid))
		return "is writable by a group hostautoconfig's user is in";
	return NULL;
}

/* The file (by name, no link followed) and its directory; 0, or -1 with err. */
static int
check_path(const struct mapwatch *watch, struct stat *st, char *err, size_t errlen)
{
	char *dir = g_path_get_dirname(watch->path);
	struct stat dst;
	const char *why = NULL;
	int rc = -1;

	if (lstat(watch->path, st) < 0)
		snprintf(err, errlen, "%s: %s", watch->path, strerror(errno));
	else if ((why = S_ISLNK(st->st_mode) ? "is a symbolic link; name the file itself"
			: !S_ISREG(st->st_mode) ? "is not a regular file" : mapwatch_judge(st, &watch->user)))
		snprintf(err, errlen, "%s %s", watch->path, why);
	else if (stat(dir, &dst) < 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	else if ((why = mapwatch_judge(&dst, &watch->user)))
		snprintf(err, errlen, "%s's directory %s %s", watch->path, dir, why);
	else
		rc = 0;
	g_free(dir);
	return rc;
}

/* Opens the file at the name now; it must still be the inode that was checked. */
static struct acdb *
open_checked(const struct mapwatch *watch, const struct stat *st, char *err, size_t errlen)
{
	struct acdb *db;
	struct stat after;

	if (!(db = acdb_open(watch->path, err, errlen)))
		return NULL;
	if (lstat(watch->path, &after) < 0 || after.st_ino != st->st_ino || after.st_dev != st->st_dev) {
		snprintf(err, errlen, "%s was replaced while it was opened; trying again", watch->path);
		acdb_close(db);
		return NULL;
	}
	return db;
}

int
mapwatch_open(struct mapwatch *watch, const char *path, char *err, size_t errlen)
{
	struct stat st;

	memset(watch, 0, sizeof(*watch));
	watch->path = g_strdup(path);
	watch->said = (struct ratelog)RATELOG_INIT(60);
	pathsafe_user_self(&watch->user);
	watch->checked = ratelog_now();
	if (check_path(watch, &st, err, errlen) < 0 || !(watch->db = open_checked(watch, &st, err, errlen)))
		return -1;
	watch->seen = st;
	return 0;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
	       && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void
reopen(struct mapwatch *watch)
{
	char err[1024];
	struct stat st;
	struct acdb *db = NULL;
	unsigned long held;

	if (lstat(watch->path, &st) == 0 && same_file(&st, &watch->seen))
		return;
	if (check_path(watch, &st, err, sizeof(err)) == 0 && (db = open_checked(watch, &st, err, sizeof(err)))) {
		acdb_close(watch->db);
		watch->db = db;
		watch->seen = st;
		msg_info("%s reopened (digest %.12s)", watch->path, acdb_digest(db));
		return;
	}
	if (ratelog_allow(&watch->said, watch->checked, &held))
		msg_warn("%s; still answering from the database opened before%s", err,
			 held ? " (and so every second since the last report)" : "");
}

struct acdb *
mapwatch_current(struct mapwatch *watch, time_t now)
{
	if (now != watch->checked) {
		watch->checked = now;
		reopen(watch);
	}
	return watch->db;
}

void
mapwatch_close(struct mapwatch *watch)
{
	acdb_close(watch->db);
	g_free(watch->path);
	watch->db = NULL;
	watch->path = NULL;
}
