/*
 * mapwatch - the autoconfig.db hostautoconfig answers from, picked up
 * anew when hostmapgen replaces it.
 *
 * hostmapgen installs a new file by rename, so an open database stays
 * whole and a new one is a new inode.  At most once a second a request
 * looks at the name (lstat: device, inode, size, modification time);
 * when they changed, the new file is checked and opened, and only when
 * that succeeds does it replace the old one, so a half-written or
 * foreign file never costs an answer.  What failed is logged once a
 * minute.
 *
 * Checked at start and at every change, because the file decides where
 * mail clients send their users' passwords: a regular file (no symbolic
 * link), and neither it nor its directory writable by the user
 * hostautoconfig runs as or by every user.
 *
 * Promise: one thread uses a mapwatch (the responder's); the acdb that
 * mapwatch_current returns stays valid until the next call.
 * mapwatch_judge is pure.
 */
#ifndef HM_MAPWATCH_H
#define HM_MAPWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "acdb.h"
#include "pathsafe.h"
#include "ratelog.h"

struct mapwatch {
	char *path;
	struct acdb *db;
	struct stat seen;		/* of the name when db was opened, or last tried */
	time_t checked;			/* monotonic second of the last look */
	struct pathsafe_user user;	/* whom we run as */
	struct ratelog said;
};

/* Opens the database for the first time; -1 with err. */
int mapwatch_open(struct mapwatch *watch, const char *path, char *err, size_t errlen);
/* The database to answer from, reopened first when the file was replaced; NULL only before a successful open. */
struct acdb *mapwatch_current(struct mapwatch *watch, time_t now);
void mapwatch_close(struct mapwatch *watch);

/* Why st (of the file or its directory) may not be trusted by user, or NULL. */
const char *mapwatch_judge(const struct stat *st, const struct pathsafe_user *user);

#endif
