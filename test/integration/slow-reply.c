/*
 * slow-reply - a fault injector for t-milter-daemon, loaded with LD_PRELOAD
 * into hostmilter: every milter reply libmilter writes (a packet whose
 * command byte is a, c, r, t or y) leaves HM_SLOW_REPLY_MS milliseconds
 * late.  It widens to certainty the window between a callback's return
 * and libmilter's write of its reply, which a real machine opens only now
 * and then: a daemon that exits inside that window loses the reply.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void
slow_reply_wait(const void *packet, size_t len)
{
	const char *env = getenv("HM_SLOW_REPLY_MS");
	long ms = env ? atol(env) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms > 0 && len >= 5 && strchr("acrty", ((const char *)packet)[4]))
		nanosleep(&ts, NULL);
}

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);

	if (!real)
		real = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	if (iovcnt > 0)
		slow_reply_wait(iov[0].iov_base, iov[0].iov_len);
	return real(fd, iov, iovcnt);
}
