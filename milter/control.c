/*
 * control - the admin's socket; see control.h.
 *
 * One client at a time is enough for an admin's command and bounds what a
 * stuck one can hold: the thread, for CONTROL_TIMEOUT_MS.  The socket is
 * bound by root with a umask that gives it mode 0600 at creation, so no
 * chmod or chown by name follows: a name in a directory another user
 * could write to would let that user redirect them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "monotime.h"
#include "msg.h"

#define EXIT_UNAVAILABLE 69

static int control_fd = -1;
static int control_wake[2] = { -1, -1 };
static struct ratelimit *control_rl;	/* served */
static struct ratelimit *control_owned;	/* opened by control_open, closed by control_stop */
static pthread_t control_thread;
static bool control_running;

/* The directory must be root's or UserID's and writable by nobody else; dir is opened without following a link. */
static int
control_check_dir(const char *dir, uid_t user, char *err, size_t errlen)
{
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0 || fstat(dfd, &st) < 0) {
		snprintf(err, errlen, "ControlSocket directory %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != user) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "ControlSocket directory %s must be owned by root or UserID and writable by no one else",
			 dir);
		close(dfd);
		return -1;
	}
	return dfd;
}

/* A socket an earlier run left is removed; anything else at the name stays and is refused. */
static int
control_clear_name(int dfd, const char *path, const char *base, char *err, size_t errlen)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "ControlSocket %s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "ControlSocket %s exists and is not a socket; refusing to replace it", path);
		return -1;
	}
	if (unlinkat(dfd, base, 0) < 0) {
		snprintf(err, errlen, "ControlSocket %s: cannot remove the old socket: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
control_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t old;
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "ControlSocket: socket: %s", strerror(errno));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);	/* conf_control_parse checked the length */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(fd, 8) < 0) {
		snprintf(err, errlen, "ControlSocket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The socket's path and its directory, opened and checked (a descriptor); 1 for none. */
static int
control_place(const char *value, uid_t user, const char **path, const char **base, char *err, size_t errlen)
{
	char dir[CONF_SUN_PATH_MAX];
	const char *slash;

	if (conf_control_parse(value, path) == 1)
		return -2;
	if (!*path) {
		snprintf(err, errlen, "ControlSocket %s: not unix:/PATH or none", value);
		return -1;
	}
	slash = strrchr(*path, '/');
	if (slash[1] == '\0') {
		snprintf(err, errlen, "ControlSocket %s: names a directory", value);
		return -1;
	}
	*base = slash + 1;
	snprintf(dir, sizeof(dir), "%.*s", slash == *path ? 1 : (int)(slash - *path), *path);
	return control_check_dir(dir, user, err, errlen);
}

int
control_bind(const char *value, uid_t user, char *err, size_t errlen)
{
	const char *path, *base;
	int dfd, fd;

	if ((dfd = control_place(value, user, &path, &base, err, errlen)) < 0)
		return dfd;
	fd = control_clear_name(dfd, path, base, err, errlen) < 0 ? -1 : control_listen(path, err, errlen);
	close(dfd);
	return fd;
}

int
control_check(const char *value, uid_t user, char *err, size_t errlen)
{
	const char *path, *base;
	struct stat st;
	int dfd, rc = 0;

	if ((dfd = control_place(value, user, &path, &base, err, errlen)) < 0)
		return dfd == -2 ? 0 : -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "ControlSocket %s exists and is not a socket; refusing to replace it", path);
		rc = -1;
	}
	close(dfd);
	return rc;
}

struct ratelimit *
control_open(const struct hm_conf *conf, uid_t user, char *err, size_t errlen)
{
	struct ratelimit *rl = ratelimit_open(conf, err, errlen);

	if (!rl)
		return NULL;
	control_fd = control_bind(conf->control_socket, user, err, errlen);
	if (control_fd == -1) {
		ratelimit_close(rl);
		return NULL;
	}
	control_owned = rl;
	return rl;
}

void
control_answer(struct ratelimit *rl, const char *line, FILE *out)
{
	static const char release[] = "ratelimit release ";
	char err[512] = "";
	unsigned long count = 0;
	int rc;

	if (strcmp(line, "ratelimit list") == 0) {
		rc = ratelimit_list(rl, out, &count, err, sizeof(err));
		if (rc < 0)
			fprintf(out, "error %s (%lu limited before that)\n", err, count);
		else if (count > RATELIMIT_LIST_MAX)
			fprintf(out, "ok %lu limited, the first %d shown\n", count, RATELIMIT_LIST_MAX);
		else
			fprintf(out, "ok %lu limited\n", count);
	} else if (strncmp(line, release, sizeof(release) - 1) == 0 && line[sizeof(release) - 1]) {
		const char *key = line + sizeof(release) - 1;

		rc = ratelimit_release(rl, key, err, sizeof(err));
		if (rc < 0)
			fprintf(out, "error %s\n", err);
		else if (rc)
			fprintf(out, "ok released %s\n", key);
		else
			fprintf(out, "ok %s was not limited or tracked\n", key);
	} else
		fputs("error unknown request; these are known: ratelimit list, ratelimit release KEY\n", out);
}

/* Waits for events on fd until deadline; false on timeout or error. */
static bool
control_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = monotime_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int rc;

		if (now >= deadline)
			return false;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc > 0)
			return true;
		if (rc == 0 || errno != EINTR)
			return false;
	}
}

/* One request line (without its newline) into line; false when none came in time or it was too long.
 * A client that closes its side after the line without a newline is heard too. */
static bool
control_read_line(int fd, char *line, size_t size, uint64_t deadline)
{
	size_t len = 0;

	line[0] = '\0';
	while (len < size - 1 && control_wait(fd, POLLIN, deadline)) {
		ssize_t n = read(fd, line + len, size - 1 - len);
		char *nl;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return n == 0 && len > 0;
		len += (size_t)n;
		line[len] = '\0';
		if ((nl = memchr(line, '\n', len))) {
			*nl = '\0';
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			return true;
		}
	}
	return false;
}

static void
control_write_all(int fd, const char *text, size_t len, uint64_t deadline)
{
	while (len > 0 && control_wait(fd, POLLOUT, deadline)) {
		ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

/* Root and this process's own user may ask; anyone else got past the 0600 mode somehow and is refused. */
static bool
control_peer_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && (cred.uid == 0 || cred.uid == geteuid());
}

/*
 * The answer is sent; the client may still be sending (a line too long).
 * Closing with its bytes unread would reset the connection and lose the
 * answer, so the rest is read and dropped until it closes, at most 64 KB
 * and until the deadline.
 */
static void
control_finish(int fd, uint64_t deadline)
{
	char sink[4096];
	size_t total = 0;

	shutdown(fd, SHUT_WR);
	while (total < 65536 && control_wait(fd, POLLIN, deadline)) {
		ssize_t n = read(fd, sink, sizeof(sink));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

static void
control_session(int fd)
{
	uint64_t deadline = monotime_ms() + CONTROL_TIMEOUT_MS;
	char line[CONTROL_LINE_MAX + 2], *text = NULL;
	size_t len = 0;
	FILE *out;

	if (!control_peer_ok(fd)) {
		control_write_all(fd, "error not allowed\n", 18, deadline);
		return;
	}
	if (!control_read_line(fd, line, sizeof(line), deadline)) {
		control_write_all(fd, "error no request line in time, or one too long\n", 47, deadline);
		control_finish(fd, deadline);
		return;
	}
	if (!(out = open_memstream(&text, &len)))
		return;
	control_answer(control_rl, line, out);
	if (fclose(out) == 0)
		control_write_all(fd, text, len, deadline);
	free(text);
	control_finish(fd, deadline);
}

static void *
control_loop(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = control_fd, .events = POLLIN }, { .fd = control_wake[0], .events = POLLIN } };
		int client;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			msg_warn("control socket: poll: %s; no longer served", strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		client = accept4(control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (client >= 0) {
			control_session(client);
			close(client);
		}
	}
}

int
control_serve(int fd, struct ratelimit *rl, char *err, size_t errlen)
{
	if (pipe2(control_wake, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "control socket: pipe: %s", strerror(errno));
		return -1;
	}
	control_fd = fd;
	control_rl = rl;
	if (pthread_create(&control_thread, NULL, control_loop, NULL) != 0) {
		snprintf(err, errlen, "control socket: cannot start its thread");
		close(control_wake[0]);
		close(control_wake[1]);
		control_wake[0] = control_wake[1] = -1;
		return -1;
	}
	control_running = true;
	return 0;
}

int
control_start(char *err, size_t errlen)
{
	return control_fd >= 0 ? control_serve(control_fd, control_owned, err, errlen) : 0;
}

void
control_stop(bool drained)
{
	if (control_running) {
		if (write(control_wake[1], "", 1) < 0)
			msg_warn("control socket: cannot wake its thread: %s", strerror(errno));
		pthread_join(control_thread, NULL);
		close(control_wake[0]);
		close(control_wake[1]);
		control_wake[0] = control_wake[1] = -1;
		control_running = false;
	}
	if (control_fd >= 0)
		close(control_fd);
	control_fd = -1;
	control_rl = NULL;
	if (drained && control_owned) {
		ratelimit_close(control_owned);
		control_owned = NULL;
	}
}

/* The whole answer, up to CONTROL_REPLY_MAX bytes; NULL when the daemon could not be reached. */
static char *
control_exchange(const char *path, const char *request, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CONTROL_CLIENT_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char *reply = calloc(1, CONTROL_REPLY_MAX + 1);
	size_t len = 0;
	ssize_t n;

	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (fd < 0 || !reply || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0
	    || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0
	    || send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)
	    || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		snprintf(err, errlen, "ControlSocket %s: %s", path, strerror(errno));
		free(reply);
		reply = NULL;
	}
	while (reply && len < CONTROL_REPLY_MAX && (n = read(fd, reply + len, CONTROL_REPLY_MAX - len)) > 0)
		len += (size_t)n;
	if (fd >= 0)
		close(fd);
	return reply;
}

int
control_client(const struct hm_conf *conf, const char *request)
{
	char err[512], *reply, *last;
	const char *path;
	size_t len;
	int status;

	if (conf_control_parse(conf->control_socket, &path) != 0) {
		fprintf(stderr, "%s: ControlSocket is none: no daemon to ask\n", msg_progname());
		return EXIT_UNAVAILABLE;
	}
	if (strlen(request) > CONTROL_LINE_MAX || strpbrk(request, "\r\n")) {
		fprintf(stderr, "%s: request too long or with a line break\n", msg_progname());
		return 2;
	}
	if (!(reply = control_exchange(path, request, err, sizeof(err)))) {
		fprintf(stderr, "%s: %s\n", msg_progname(), err);
		return EXIT_UNAVAILABLE;
	}
	fputs(reply, stdout);
	len = strlen(reply);
	while (len > 0 && reply[len - 1] == '\n')
		reply[--len] = '\0';
	last = strrchr(reply, '\n');
	last = last ? last + 1 : reply;
	status = strncmp(last, "ok", 2) == 0 ? 0 : strncmp(last, "error", 5) == 0 ? 1 : EXIT_UNAVAILABLE;
	if (status == EXIT_UNAVAILABLE)
		fprintf(stderr, "%s: the daemon's answer ended early\n", msg_progname());
	free(reply);
	return status;
}
