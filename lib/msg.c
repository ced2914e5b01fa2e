/*
 * msg - diagnostics; see msg.h.
 *
 * Lines go to syslog by a datagram socket of our own rather than glibc's
 * syslog(3), which is the one exception to "use the library" here, and
 * why: syslog(3) holds one process-wide lock while it formats and sends,
 * so hostmilter's threads, which log every decision, queued behind each
 * other, and while no syslog daemon listens it opens, fails to connect and
 * closes a socket on every call: together a third of the policy path's
 * time in test/bench/milter-bench.  Here a line is formatted in the
 * caller's own buffer and sent with one send(2) on a connected socket,
 * which the kernel keeps whole; a socket that fails is reconnected at most
 * once a second, and a line that cannot be sent is dropped, as syslog(3)
 * drops it.  stderr gets each line with one write(2), so lines of
 * different threads never interleave.  The format is syslog(3)'s:
 * "<PRI>Mmm dd hh:mm:ss NAME[PID]: TEXT" to the daemon, "NAME[PID]: TEXT"
 * to stderr (LOG_PERROR's).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

#define MSG_LINE_MAX 2048
#define MSG_SYSLOG_PATH "/dev/log"

static const char *msg_name = "hostmilter";
static int msg_to_syslog;
static atomic_ulong msg_warnings;	/* counted by every thread */
static void (*msg_diverted)(const char *kind, const char *text);
static int msg_fd = -1;			/* connected to MSG_SYSLOG_PATH, or -1 */
static time_t msg_retry_at;		/* no reconnect before this second */
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;	/* connecting only */
static pid_t msg_pid;			/* this process's, for "NAME[PID]" (a forked child sets its own) */
static pthread_once_t msg_once = PTHREAD_ONCE_INIT;

static void
msg_after_fork(void)
{
	msg_pid = getpid();
}

static void
msg_watch_forks(void)
{
	pthread_atfork(NULL, NULL, msg_after_fork);
}

void
msg_divert(void (*fn)(const char *kind, const char *text))
{
	msg_diverted = fn;
}

void
msg_reopen(void)
{
	__atomic_store_n(&msg_fd, -1, __ATOMIC_RELEASE);	/* closed by the caller, with the rest */
	msg_retry_at = 0;
}

void
msg_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');

	msg_name = slash ? slash + 1 : progname;
}

/* Under msg_lock: a socket connected to the syslog daemon, tried at most once a second. */
static void
msg_connect(time_t now)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (msg_fd >= 0 || now < msg_retry_at)
		return;
	msg_retry_at = now + 1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", MSG_SYSLOG_PATH);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return;
	}
	__atomic_store_n(&msg_fd, fd, __ATOMIC_RELEASE);
}

void
msg_syslog(int mode)
{
	pthread_once(&msg_once, msg_watch_forks);
	msg_pid = getpid();
	msg_to_syslog = mode;
	if (mode) {
		pthread_mutex_lock(&msg_lock);
		msg_retry_at = 0;
		msg_connect(time(NULL));	/* now, as root: LOG_NDELAY's promise */
		pthread_mutex_unlock(&msg_lock);
	}
}

const char *
msg_progname(void)
{
	return msg_name;
}

unsigned long
msg_warn_count(void)
{
	return msg_warnings;
}

/*
 * "Mmm dd hh:mm:ss " for now into buf: made once a second per thread, since
 * localtime_r takes glibc's time-zone lock.
 */
static size_t
msg_timestamp(time_t now, char *buf, size_t len)
{
	static __thread time_t made = -1;
	static __thread char stamp[32];
	static __thread size_t stamplen;
	struct tm tm;

	if (now != made) {
		localtime_r(&now, &tm);
		stamplen = strftime(stamp, sizeof(stamp), "%b %e %T ", &tm);
		made = now;
	}
	if (stamplen >= len)
		return 0;
	memcpy(buf, stamp, stamplen + 1);
	return stamplen;
}

/* The header and the text as one datagram. */
static ssize_t
msg_send(int fd, const char *head, size_t headlen, const char *text, size_t len)
{
	struct iovec iov[2] = { { (void *)head, headlen }, { (void *)text, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* One datagram to the daemon; a socket the daemon closed is dropped and made again later. */
static void
msg_send_syslog(int priority, const char *text, size_t len)
{
	char head[64];
	time_t now = time(NULL);
	int fd = __atomic_load_n(&msg_fd, __ATOMIC_ACQUIRE);
	size_t headlen;

	if (fd < 0) {
		pthread_mutex_lock(&msg_lock);
		msg_connect(now);
		fd = msg_fd;
		pthread_mutex_unlock(&msg_lock);
		if (fd < 0)
			return;
	}
	headlen = (size_t)snprintf(head, sizeof(head), "<%d>", LOG_MAIL | priority);
	headlen += msg_timestamp(now, head + headlen, sizeof(head) - headlen);
	if (msg_send(fd, head, headlen, text, len) < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		pthread_mutex_lock(&msg_lock);
		if (msg_fd == fd) {
			__atomic_store_n(&msg_fd, -1, __ATOMIC_RELEASE);
			close(fd);	/* a thread still sending on it gets EBADF, and drops that line */
		}
		pthread_mutex_unlock(&msg_lock);
	}
}

static void
msg_vprint(int priority, const char *label, const char *fmt, va_list ap)
{
	char line[MSG_LINE_MAX + 256];
	size_t len;
	int head;

	/* "NAME[PID]: " for syslog (and LOG_PERROR's stderr), "NAME: " for a program on a terminal. */
	head = msg_to_syslog ? snprintf(line, 128, "%s[%ld]: ", msg_name, (long)msg_pid)
			     : snprintf(line, 128, "%s: ", msg_name);
	len = (size_t)head + (size_t)snprintf(line + head, sizeof(line) - (size_t)head - 1, "%s", label);
	if (len < sizeof(line) - 1)
		vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	len = strlen(line);
	if (msg_diverted) {	/* hostmilter -n --format json: every line into its document */
		msg_diverted(*label ? priority == LOG_WARNING ? "warning" : priority == LOG_ERR ? "error" : "fatal" : "info",
			     line + (size_t)head + strlen(label) <= line + len ? line + (size_t)head + strlen(label) : "");
		return;
	}
	if (msg_to_syslog)
		msg_send_syslog(priority, line, len);
	if (msg_to_syslog != 1) {
		line[len++] = '\n';
		if (write(STDERR_FILENO, line, len) < 0)
			return;	/* nowhere left to say it */
	}
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	msg_warnings++;
	va_start(ap, fmt);
	msg_vprint(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
msg_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(status);
}
