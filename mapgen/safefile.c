/*
 * safefile - checked opens and bounded reads; see safefile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safefile.h"

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
	struct stat st;
	uid_t me = geteuid();

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is %s, not a directory", dir, safefile_kind(st.st_mode));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != me) {
		snprintf(err, errlen, "%s belongs to uid %lu; only root or uid %lu may own the maps' directory",
			 dir, (unsigned long)st.st_uid, (unsigned long)me);
		return -1;
	}
	if ((st.st_mode & S_IWOTH)
	    || ((st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != getegid())) {
		snprintf(err, errlen, "%s is writable by %s (mode %04o): they could replace the maps in it",
			 dir, st.st_mode & S_IWOTH ? "every user" : "its group", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
