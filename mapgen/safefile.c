/*
 * safefile - checked opens and bounded reads; see safefile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safefile.h"

/* ---- whom to trust ---- */

static struct safefile_trust safefile_trust_now;
static bool safefile_trust_set;

void
safefile_trust_init(struct safefile_trust *trust, uid_t self, gid_t group)
{
	memset(trust, 0, sizeof(*trust));
	trust->uid[trust->n++] = 0;
	if (self != 0)
		trust->uid[trust->n++] = self;
	trust->group = group;
}

void
safefile_trust_mta(struct safefile_trust *trust, uid_t uid, const char *name)
{
	g_strlcpy(trust->mta, name, sizeof(trust->mta));
	trust->mta_uid = uid;
	if (!safefile_trusted(trust, uid) && trust->n < SAFEFILE_TRUST_MAX)
		trust->uid[trust->n++] = uid;
}

bool
safefile_trusted(const struct safefile_trust *trust, uid_t uid)
{
	for (unsigned i = 0; i < trust->n; i++)
		if (trust->uid[i] == uid)
			return true;
	return false;
}

void
safefile_set_trust(const struct safefile_trust *trust)
{
	safefile_trust_now = *trust;
	safefile_trust_set = true;
}

const struct safefile_trust *
safefile_get_trust(void)
{
	if (!safefile_trust_set) {
		safefile_trust_init(&safefile_trust_now, geteuid(), getegid());
		safefile_trust_set = true;
	}
	return &safefile_trust_now;
}

/* "root, uid 1000 or the MTA's user smmta": whom trust names, for messages. */
static void
safefile_trust_describe(const struct safefile_trust *trust, char *buf, size_t buflen)
{
	GString *text = g_string_new("root");

	for (unsigned i = 1; i < trust->n; i++) {
		g_string_append(text, i + 1 == trust->n ? " or " : ", ");
		if (trust->mta[0] && trust->uid[i] == trust->mta_uid)
			g_string_append_printf(text, "the MTA's user %s", trust->mta);
		else
			g_string_append_printf(text, "uid %lu", (unsigned long)trust->uid[i]);
	}
	g_strlcpy(buf, text->str, buflen);
	g_string_free(text, TRUE);
}

/* "uid 1001 (mallory)": an owner, for messages. */
static void
safefile_owner_describe(uid_t uid, char *buf, size_t buflen)
{
	const struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, buflen, "uid %lu (%s)", (unsigned long)uid, pw->pw_name);
	else
		snprintf(buf, buflen, "uid %lu", (unsigned long)uid);
}

const char *
safefile_judge_dir(const struct stat *st, const struct safefile_trust *trust)
{
	if (!S_ISDIR(st->st_mode))
		return "is not a directory";
	if (!safefile_trusted(trust, st->st_uid))
		return "belongs to a user hostmapgen does not trust";
	if (st->st_mode & S_IWOTH)
		return "is writable by every user";
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && st->st_gid != trust->group)
		return "is writable by its group";
	return NULL;
}

const char *
safefile_judge_owner(const struct stat *st, const struct safefile_trust *trust)
{
	return safefile_trusted(trust, st->st_uid) ? NULL : "belongs to a user hostmapgen does not trust";
}

const char *
safefile_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "of an unknown type";
}

/* Reads fd to its end, at most cap bytes; size_hint presizes the buffer. */
static enum safefile_status
safefile_slurp(int fd, size_t cap, size_t size_hint, char **data, size_t *len)
{
	size_t room = size_hint && size_hint < cap ? size_hint + 1 : (size_t)1 << 16, used = 0;
	char *buf = g_malloc(room + 1);

	for (;;) {
		ssize_t n;

		if (used == room) {
			room = room > G_MAXSIZE / 4 ? G_MAXSIZE / 2 : room * 2;
			buf = g_realloc(buf, room + 1);
		}
		n = read(fd, buf + used, room - used);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_free(buf);
			return SAFEFILE_ERROR;
		}
		used += (size_t)n;
		if (used > cap) {	/* one byte more than allowed is enough to know */
			g_free(buf);
			return SAFEFILE_TOO_LARGE;
		}
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	return SAFEFILE_OK;
}

static enum safefile_status
safefile_refuse(const char *path, const struct stat *st, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s is %s, not a regular file; %s", path, safefile_kind(st->st_mode), what);
	return SAFEFILE_ERROR;
}

/* Reads an open fd whose file is st; closes fd. */
static enum safefile_status
safefile_read_fd(const char *path, int fd, const struct stat *st, size_t cap, char **data, size_t *len,
		 char *err, size_t errlen)
{
	enum safefile_status rc = SAFEFILE_TOO_LARGE;

	if (!S_ISREG(st->st_mode) || (uintmax_t)st->st_size <= (uintmax_t)cap)
		rc = safefile_slurp(fd, cap, S_ISREG(st->st_mode) ? (size_t)st->st_size : 0, data, len);
	if (rc == SAFEFILE_ERROR)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (rc == SAFEFILE_TOO_LARGE)
		snprintf(err, errlen, "%s is larger than %zu bytes", path, cap);
	close(fd);
	return rc;
}

enum safefile_status
safefile_read(const char *path, size_t cap, char **data, size_t *len, char *err, size_t errlen)
{
	struct stat before, st;
	int fd;

	/* Look before opening: opening a device may have effects of its own. */
	if (lstat(path, &before) < 0) {
		if (errno == ENOENT)
			return SAFEFILE_MISSING;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SAFEFILE_ERROR;
	}
	if (!S_ISREG(before.st_mode))
		return safefile_refuse(path, &before, "refusing to read it", err, errlen);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ? "became a symbolic link" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return SAFEFILE_ERROR;
	}
	if (st.st_dev != before.st_dev || st.st_ino != before.st_ino || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s was replaced while being opened", path);
		return SAFEFILE_ERROR;
	}
	return safefile_read_fd(path, fd, &st, cap, data, len, err, errlen);
}

enum safefile_status
safefile_read_export(const char *path, size_t cap, char **data, size_t *len, char *err, size_t errlen)
{
	bool is_stdin = strcmp(path, "-") == 0;
	/* O_NONBLOCK: a FIFO without a writer would block open itself. */
	int fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	const char *name = is_stdin ? "standard input" : path;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SAFEFILE_ERROR;
	}
	if (!S_ISREG(st.st_mode) && !(is_stdin && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))) {
		close(fd);
		return safefile_refuse(name, &st, is_stdin ? "give a file or a pipe" : "give \"-\" to read a pipe",
				       err, errlen);
	}
	if (!is_stdin && fcntl(fd, F_SETFL, 0) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", name, strerror(errno));
		close(fd);
		return SAFEFILE_ERROR;
	}
	return safefile_read_fd(name, fd, &st, cap, data, len, err, errlen);
}

/*
 * What would make rename(2) over a regular file fail although the
 * temporary file is ready: the target is a mount point (a bind mount:
 * EBUSY) or carries the immutable or append-only attribute (EPERM).
 * Needs statx (Linux 4.11; the mount-root bit 5.8); without it, nothing.
 */
static int
safefile_check_replaceable(const char *path, char *err, size_t errlen)
{
#if defined(STATX_ATTR_MOUNT_ROOT)
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) < 0)
		return 0;	/* let the rename say why */
	if (stx.stx_attributes_mask & stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) {
		snprintf(err, errlen, "%s is a mount point (bind-mounted?); rename cannot replace it", path);
		return -1;
	}
	if (stx.stx_attributes_mask & stx.stx_attributes & (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND)) {
		snprintf(err, errlen, "%s is %s (chattr); rename cannot replace it", path,
			 stx.stx_attributes & STATX_ATTR_IMMUTABLE ? "immutable" : "append-only");
		return -1;
	}
#else
	(void)path;
	(void)err;
	(void)errlen;
#endif
	return 0;
}

int
safefile_check_target(const char *path, bool replacing, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		safefile_refuse(path, &st, "hostmapgen neither follows nor replaces one", err, errlen);
		return -1;
	}
	return replacing ? safefile_check_replaceable(path, err, errlen) : 0;
}

int
safefile_check_dir(const char *dir, char *err, size_t errlen)
{
	const struct safefile_trust *trust = safefile_get_trust();
	char whom[256], owner[128];
	struct stat st;

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is %s, not a directory", dir, safefile_kind(st.st_mode));
		return -1;
	}
	if (!safefile_judge_dir(&st, trust))
		return 0;
	safefile_trust_describe(trust, whom, sizeof(whom));
	safefile_owner_describe(st.st_uid, owner, sizeof(owner));
	if (!safefile_trusted(trust, st.st_uid))
		snprintf(err, errlen, "%s belongs to %s; only %s may own the maps' directory", dir, owner, whom);
	else
		snprintf(err, errlen, "%s is writable by %s (mode %04o): they could replace the maps in it",
			 dir, st.st_mode & S_IWOTH ? "every user" : "its group", (unsigned)(st.st_mode & 07777));
	return -1;
}

int
safefile_check_owner(const char *path, char *err, size_t errlen)
{
	const struct safefile_trust *trust = safefile_get_trust();
	char whom[256], owner[128];
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;	/* absent, or the other checks say why */
	if (!safefile_judge_owner(&st, trust))
		return 0;
	safefile_trust_describe(trust, whom, sizeof(whom));
	safefile_owner_describe(st.st_uid, owner, sizeof(owner));
	snprintf(err, errlen, "%s belongs to %s, who could rewrite it; only %s may own what hostmapgen reads "
		 "and replaces", path, owner, whom);
	return -1;
}

/* ---- Debian's aliases link ---- */

/* Pushes name onto the canonical path being built ("..": pops). */
static void
safefile_path_step(GString *path, const char *name)
{
	if (strcmp(name, "..") == 0) {
		char *slash = strrchr(path->str, '/');

		g_string_truncate(path, slash && slash != path->str ? (gsize)(slash - path->str) : 0);
		return;
	}
	g_string_append_printf(path, "/%s", name);
}

/* The directory open at fd, reached as canon: one the maps may be reached through; 0, or -1 with err. */
static int
safefile_check_step(int fd, const GString *canon, char *err, size_t errlen)
{
	const char *name = canon->len ? canon->str : "/", *why;
	struct stat st;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", name,
			 errno == ENOTDIR || errno == ELOOP ? "not a directory (a symbolic link?)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	if ((why = safefile_judge_dir(&st, safefile_get_trust())) != NULL) {
		snprintf(err, errlen, "%s %s", name, why);
		return -1;
	}
	return 0;
}

/*
 * Opens the directory dir (absolute) one component at a time from "/",
 * never through a link, checking each directory on the way; its
 * descriptor, with its path without "." and ".." in canon, or -1 with err.
 */
static int
safefile_walk_dir(const char *dir, GString *canon, char *err, size_t errlen)
{
	char **parts = g_strsplit(dir, "/", -1);
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	g_string_truncate(canon, 0);
	if (safefile_check_step(fd, canon, err, errlen) < 0)
		goto fail;
	for (unsigned i = 1; parts[i]; i++) {
		int next;

		if (parts[i][0] == '\0' || strcmp(parts[i], ".") == 0)
			continue;
		next = openat(fd, parts[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		safefile_path_step(canon, parts[i]);
		if (safefile_check_step(fd, canon, err, errlen) < 0)
			goto fail;
	}
	g_strfreev(parts);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	g_strfreev(parts);
	return -1;
}

/* Where the link at path points: its text joined to path's directory. */
static char *
safefile_link_text(const char *path, char *err, size_t errlen)
{
	char text[4096], *dir, *joined;
	ssize_t n = readlink(path, text, sizeof(text) - 1);

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text[n] = '\0';
	if (text[0] == '/')
		return g_strdup(text);
	dir = g_path_get_dirname(path);
	joined = g_build_filename(dir, text, NULL);
	g_free(dir);
	if (joined[0] != '/') {	/* a relative output directory: from here */
		char *cwd = g_get_current_dir(), *abs = g_build_filename(cwd, joined, NULL);

		g_free(cwd);
		g_free(joined);
		joined = abs;
	}
	return joined;
}

/* The target's name in its (checked) directory fd: absent, or a trusted regular file; 0, or -1 with err. */
static int
safefile_check_link_target(int fd, const char *base, const char *target, char *err, size_t errlen)
{
	char whom[256], owner[128];
	struct stat st;

	if (fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", target, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		safefile_refuse(target, &st, "hostmapgen follows no further link", err, errlen);
		return -1;
	}
	if (!safefile_judge_owner(&st, safefile_get_trust()))
		return 0;
	safefile_trust_describe(safefile_get_trust(), whom, sizeof(whom));
	safefile_owner_describe(st.st_uid, owner, sizeof(owner));
	snprintf(err, errlen, "%s belongs to %s, who could rewrite it; only %s may own what hostmapgen reads "
		 "and replaces", target, owner, whom);
	return -1;
}

int
safefile_follow_link(const char *path, char **target, char *err, size_t errlen)
{
	struct stat st;
	char *joined, *dir, *base, whom[256], owner[128], why[1024];
	GString *canon;
	int fd, rc = -1;

	*target = NULL;
	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
		return 0;
	if (safefile_judge_owner(&st, safefile_get_trust())) {
		safefile_trust_describe(safefile_get_trust(), whom, sizeof(whom));
		safefile_owner_describe(st.st_uid, owner, sizeof(owner));
		snprintf(err, errlen, "%s is a symbolic link of %s; hostmapgen follows one only when it belongs to %s",
			 path, owner, whom);
		return -1;
	}
	if (!(joined = safefile_link_text(path, err, errlen)))
		return -1;
	dir = g_path_get_dirname(joined);
	base = g_path_get_basename(joined);
	canon = g_string_new(NULL);
	if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0 || strcmp(base, "/") == 0) {
		snprintf(err, errlen, "%s points to %s, a directory", path, joined);
	} else if ((fd = safefile_walk_dir(dir, canon, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s points to %s, but the way there is not safe: %s", path, joined, why);
	} else {
		safefile_path_step(canon, base);
		rc = safefile_check_link_target(fd, base, canon->str, err, errlen) < 0 ? -1 : 1;
		close(fd);
	}
	if (rc == 1)
		*target = g_string_free(canon, FALSE);
	else
		g_string_free(canon, TRUE);
	g_free(joined);
	g_free(dir);
	g_free(base);
	return rc;
}
