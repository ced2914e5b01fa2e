/*
 * maplock - the directory's lock; see maplock.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "maplock.h"
#include "msg.h"
#include "safefile.h"

long
maplock_holder_pid(const char *proc_locks, unsigned major, unsigned minor, unsigned long ino)
{
	const char *line = proc_locks;

	/* "1: FLOCK  ADVISORY  WRITE 2734 fe:00:10953483 0 EOF"; a waiter has "->" after the number. */
	while (line && *line) {
		char type[16];
		long pid;
		unsigned maj, min;
		unsigned long inode;

		if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%lu", type, &pid, &maj, &min, &inode) == 5
		    && strcmp(type, "FLOCK") == 0 && maj == major && min == minor && inode == ino)
			return pid;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return -1;
}

/* "pid 1234 (flock, user nobody)", or "another process" when /proc does not say. */
static void
maplock_describe_holder(int fd, char *buf, size_t buflen)
{
	struct stat st, proc;
	char *locks = NULL, *comm = NULL, *procdir;
	long pid = -1;

	if (fstat(fd, &st) == 0 && g_file_get_contents("/proc/locks", &locks, NULL, NULL))
		pid = maplock_holder_pid(locks, major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
	g_free(locks);
	if (pid <= 0) {
		snprintf(buf, buflen, "another process");
		return;
	}
	procdir = g_strdup_printf("/proc/%ld", pid);
	if (stat(procdir, &proc) == 0) {
		char *path = g_strdup_printf("%s/comm", procdir);
		const struct passwd *pw = getpwuid(proc.st_uid);

		g_file_get_contents(path, &comm, NULL, NULL);
		g_free(path);
		snprintf(buf, buflen, "pid %ld (%s, user %s)", pid, comm ? g_strstrip(comm) : "?",
			 pw ? pw->pw_name : "?");
	} else {
		snprintf(buf, buflen, "pid %ld", pid);
	}
	g_free(comm);
	g_free(procdir);
}

/*
 * Anyone who can open the lock file can flock it, read-only or not, and
 * hold every run off; so it must be ours, private and nothing else's.
 */
static int
maplock_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (safefile_check_target(path, false, err, errlen) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot open the lock %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, errlen, "the lock %s is %s with %lu names; remove it", path,
			 safefile_kind(st.st_mode), (unsigned long)st.st_nlink);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "the lock %s belongs to uid %lu, who could hold it forever; remove it",
			 path, (unsigned long)st.st_uid);
		goto fail;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0600) == 0)
		msg_warn("the lock %s had mode %04o; now 0600", path, (unsigned)(st.st_mode & 07777));
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static volatile sig_atomic_t maplock_expired;

static void
maplock_alarm(int sig)
{
	(void)sig;
	maplock_expired = 1;
}

/* Blocks in flock until the lock is ours or timeout seconds passed; 0 or -1. */
static int
maplock_wait(int fd, unsigned timeout)
{
	struct sigaction alarm_action = { .sa_handler = maplock_alarm }, saved_action;
	struct itimerval timer = { .it_value = { .tv_sec = timeout } }, off = { 0 };
	int rc;

	/* No SA_RESTART: the alarm must interrupt flock. */
	sigemptyset(&alarm_action.sa_mask);
	maplock_expired = 0;
	sigaction(SIGALRM, &alarm_action, &saved_action);
	setitimer(ITIMER_REAL, &timer, NULL);
	while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR && !maplock_expired)
		;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &saved_action, NULL);
	return rc;
}

int
maplock_acquire(const char *path, unsigned timeout, char *err, size_t errlen)
{
	char holder[256];
	int fd = maplock_open(path, err, errlen);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	maplock_describe_holder(fd, holder, sizeof(holder));
	msg_info("%s is held by %s; waiting up to %u s", path, holder, timeout);
	if (timeout > 0 && maplock_wait(fd, timeout) == 0)
		return fd;
	maplock_describe_holder(fd, holder, sizeof(holder));
	snprintf(err, errlen, "gave up after %u s waiting for %s, held by %s", timeout, path, holder);
	close(fd);
	return -1;
}
