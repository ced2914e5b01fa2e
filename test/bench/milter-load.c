/*
 * milter-load - a load driver that plays Sendmail towards a milter.
 *
 * It speaks the milter protocol (version 6) itself: option negotiation
 * (honouring the steps and replies the filter declines), macros,
 * connect, helo, and per message MAIL with SIZE= (the message's), two RCPTs,
 * Sendmail's Received: header with the message's own queue id, five
 * headers, end of headers, a body, and end of message with the macros
 * FEATURE(`hostmilter') has Sendmail send there (i and {msg_size}, Sendmail's
 * count of the message), several messages per connection, many connections
 * at once.  Steps the filter declines at negotiation are not sent.  It reports messages per
 * second, the latency from MAIL to the final reply of end of message, and
 * how many replies a message waited for (the filter's round trips).
 *
 * usage: milter-load -s unix:PATH -c CONNECTIONS -n MESSAGES [-m PER_CONNECTION]
 *                    [--message FILE | --body-bytes N] [--pause-at N]
 *        milter-load -s unix:PATH --idle N --pid PID
 *
 * --message sends FILE's headers and body (as Sendmail does: one header
 * per command, the body in chunks of 65535 bytes) instead of the built-in
 * message; --body-bytes sends the built-in headers with a body of N bytes.
 * --auth USER (default xyz00-info, "-" for none) is {auth_authen}; with
 * --auth-count N the messages take turns among USER0 .. USER(N-1), each
 * sending as USERi@xyz00.example.net (an address the mailbox owns), so a
 * rate limit tracks N senders.  --rcpt ADDR, up to RCPTS_MAX times,
 * replaces the two recipients (info@example.com, friend@elsewhere.example).
 * --pause-at N stops the first message once N bytes of its body are sent,
 * prints "paused" on standard output and goes on at SIGUSR1 (or after
 * PAUSE_MAX seconds), so that a test can look at the filter mid-body
 * instead of guessing when the transfer is under way.
 *
 * The second form opens N connections, takes each through connect and
 * helo, and prints how much the filter process's resident memory grew per
 * idle connection.  Output is one line of "key=value" pairs for scripts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 30000
#define REPLY_MAX 65536
#define BODY_BYTES 4096
#define BODY_CHUNK 65535	/* MILTER_CHUNK_SIZE */
#define PAUSE_MAX 120	/* seconds a --pause-at pause lasts without SIGUSR1 */

/* Protocol flags, as libmilter's mfdef.h numbers them. */
#define P_NOCONNECT 0x1
#define P_NOHELO 0x2
#define P_NOMAIL 0x4
#define P_NORCPT 0x8
#define P_NOBODY 0x10
#define P_NOHDRS 0x20
#define P_NOEOH 0x40
#define P_NR_HDR 0x80
#define P_NODATA 0x200
#define P_NR_CONN 0x1000
#define P_NR_HELO 0x2000
#define P_NR_MAIL 0x4000
#define P_NR_RCPT 0x8000
#define P_NR_DATA 0x10000
#define P_NR_EOH 0x40000
#define P_NR_BODY 0x80000
#define P_ALL 0x1FFFFF

#define RCPTS_MAX 8

struct options {
	const char *socket;
	int connections;
	long messages;
	int per_connection;
	int idle;
	long pid;
	const char *auth;	/* NULL: no AUTH */
	long auth_count;	/* 0: auth as it is */
	const char *rcpts[RCPTS_MAX];
	int nrcpts;
	long pause_at;	/* body bytes before the pause; 0: none */
};

static struct options opt = { .connections = 8, .messages = 1000, .per_connection = 10, .auth = "xyz00-info",
			      .rcpts = { "info@example.com", "friend@elsewhere.example" }, .nrcpts = 2 };
static atomic_long next_message;
static atomic_long errors;
static atomic_long refused;	/* messages the filter refused at end of message: answered, not failed */
static atomic_long replies;	/* replies waited for during messages: the filter's round trips */
static __thread long waits;	/* replies this thread waited for, sessions included */
static double *latencies;	/* seconds, one per message */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
write_all(int fd, const struct iovec *iov, int n)
{
	struct iovec v[3];
	ssize_t done;

	memcpy(v, iov, sizeof(*v) * (size_t)n);
	while (n > 0) {
		done = writev(fd, v, n);
		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -1;
		while (n > 0 && (size_t)done >= v[0].iov_len) {
			done -= (ssize_t)v[0].iov_len;
			memmove(v, v + 1, sizeof(*v) * (size_t)--n);
		}
		if (n > 0) {
			v[0].iov_base = (char *)v[0].iov_base + done;
			v[0].iov_len -= (size_t)done;
		}
	}
	return 0;
}

static int
send_cmd(int fd, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);
	struct iovec iov[3] = { { &n, 4 }, { &cmd, 1 }, { (void *)data, len } };

	return write_all(fd, iov, len ? 3 : 2);
}

static int
read_full(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (poll(&p, 1, TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One packet; data beyond the buffer is refused (a filter never sends that much here). */
static int
read_packet(int fd, char *cmd, char *data, size_t *len)
{
	uint32_t n;

	if (read_full(fd, &n, 4) < 0)
		return -1;
	n = ntohl(n);
	if (n == 0 || n > REPLY_MAX)
		return -1;
	if (read_full(fd, cmd, 1) < 0 || read_full(fd, data, n - 1) < 0)
		return -1;
	*len = n - 1;
	return 0;
}

/* Reads up to the final reply of a step: 0 continue or accept, 1 refused, -1 broken. */
static int
final_reply(int fd)
{
	char cmd, data[REPLY_MAX];
	size_t len;

	for (;;) {
		if (read_packet(fd, &cmd, data, &len) < 0)
			return -1;
		switch (cmd) {
		case 'c':
		case 'a':
			return 0;
		case 'r':
		case 't':
		case 'y':
		case 'd':
			return 1;
		default:	/* progress and message changes come before the final reply */
			continue;
		}
	}
}

/* Sends a step and reads its reply unless the filter said it gives none. */
static int
step(int fd, uint32_t pflags, uint32_t skip, uint32_t noreply, char cmd, const void *data, size_t len)
{
	if (pflags & skip)
		return 0;
	if (send_cmd(fd, cmd, data, len) < 0)
		return -1;
	if (pflags & noreply)
		return 0;
	waits++;
	return final_reply(fd);
}

static int
send_macros(int fd, char stage, const char *const *pairs)
{
	char buf[1024];
	size_t len = 1;

	buf[0] = stage;
	for (; *pairs; pairs++) {
		size_t n = strlen(*pairs) + 1;

		memcpy(buf + len, *pairs, n);
		len += n;
	}
	return send_cmd(fd, 'D', buf, len);
}

static int
open_session(uint32_t *pflags)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint32_t neg[3] = { htonl(6), htonl(0x1FF), htonl(P_ALL) };
	char cmd, data[REPLY_MAX], conn[64];
	const char *conn_macros[] = { "{daemon_name}", "MTA", "{client_addr}", "127.77.0.5", "j", "mx.example",
				      NULL };
	const char *helo_macros[] = { "{verify}", "NONE", NULL };
	size_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	uint16_t port = htons(40000);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", opt.socket + strlen("unix:"));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || send_cmd(fd, 'O', neg, 12) < 0
	    || read_packet(fd, &cmd, data, &len) < 0 || cmd != 'O' || len < 12) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(pflags, data + 8, 4);
	*pflags = ntohl(*pflags);
	len = (size_t)snprintf(conn, sizeof(conn), "client.example%c4", '\0');
	memcpy(conn + len, &port, 2);
	len += 2;
	len += (size_t)snprintf(conn + len, sizeof(conn) - len, "127.77.0.5") + 1;
	if (send_macros(fd, 'C', conn_macros) < 0
	    || step(fd, *pflags, P_NOCONNECT, P_NR_CONN, 'C', conn, len) != 0
	    || (!(*pflags & P_NOHELO) && send_macros(fd, 'H', helo_macros) < 0)
	    || step(fd, *pflags, P_NOHELO, P_NR_HELO, 'H', "client.example", 15) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static const char *const headers[][2] = {
	{ "From", "Info <info@example.com>" }, { "To", "friend@elsewhere.example" }, { "Subject", "load test" },
	{ "Message-ID", "<load@example.com>" }, { "Date", "Sun, 22 Nov 2026 12:00:00 +0000" },
};

/* The message every connection sends: the built-in one, or --message FILE. */
static struct {
	char **names, **values;
	size_t nheaders;
	char *body;
	size_t body_len;
	size_t size;	/* as SIZE= declares it: the headers as lines, the blank line, the body */
	size_t lf_size;	/* as Sendmail counts it ({msg_size}): each CRLF one byte */
} load_msg;

static void
load_msg_measure(void)
{
	size_t crlfs = 1;

	load_msg.size = load_msg.body_len + 2;
	for (size_t i = 0; i < load_msg.nheaders; i++) {
		load_msg.size += strlen(load_msg.names[i]) + strlen(load_msg.values[i]) + 4;
		crlfs++;
	}
	for (size_t i = 0; i + 1 < load_msg.body_len; i++)
		crlfs += load_msg.body[i] == '\r' && load_msg.body[i + 1] == '\n';
	load_msg.lf_size = load_msg.size - crlfs;
}

static void
load_msg_builtin(size_t body_bytes)
{
	load_msg.nheaders = sizeof(headers) / sizeof(*headers);
	load_msg.names = calloc(load_msg.nheaders, sizeof(char *));
	load_msg.values = calloc(load_msg.nheaders, sizeof(char *));
	for (size_t i = 0; i < load_msg.nheaders; i++) {
		load_msg.names[i] = (char *)headers[i][0];
		load_msg.values[i] = (char *)headers[i][1];
	}
	load_msg.body = malloc(body_bytes ? body_bytes : 1);
	memset(load_msg.body, 'x', body_bytes);
	for (size_t i = 78; i + 1 < body_bytes; i += 80)
		load_msg.body[i] = '\r', load_msg.body[i + 1] = '\n';
	load_msg.body_len = body_bytes;
}

/* Splits FILE into headers (unfolded, names and values) and body; 0 or -1. */
static int
load_msg_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *text, *p, *end;
	long size;

	if (!fp || fseek(fp, 0, SEEK_END) < 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0
	    || !(text = malloc((size_t)size + 1)) || fread(text, 1, (size_t)size, fp) != (size_t)size)
		return -1;
	fclose(fp);
	text[size] = '\0';
	end = strstr(text, "\r\n\r\n");
	if (!end)
		return -1;
	load_msg.body = end + 4;
	load_msg.body_len = (size_t)(text + size - load_msg.body);
	*end = '\0';
	load_msg.names = calloc(1000, sizeof(char *));
	load_msg.values = calloc(1000, sizeof(char *));
	for (p = text; *p && load_msg.nheaders < 1000;) {
		char *line_end = strstr(p, "\r\n"), *colon;

		while (line_end && (line_end[2] == ' ' || line_end[2] == '\t'))
			line_end = strstr(line_end + 2, "\r\n");	/* folded: keep the continuation */
		if (line_end)
			*line_end = '\0';
		if ((colon = strchr(p, ':'))) {
			*colon = '\0';
			load_msg.names[load_msg.nheaders] = p;
			load_msg.values[load_msg.nheaders++] = colon + 1 + strspn(colon + 1, " ");
		}
		if (!line_end)
			break;
		p = line_end + 2;
	}
	return 0;
}

/* Sendmail's own trace header, first of every message a milter sees: it makes
 * each message unique, as on a real server, whatever the driver repeats;
 * the driver's process id keeps it unique from one run to the next. */
static int
send_received(int fd, uint32_t pflags, const char *qid)
{
	char header[256];
	int len = snprintf(header, sizeof(header),
			   "Received%cfrom client.example ([127.77.0.5]) by mx.example with ESMTPSA id %s.%ld;"
			   " Sun, 22 Nov 2026 12:00:00 +0000", '\0', qid, (long)getpid());

	return step(fd, pflags, P_NOHDRS, P_NR_HDR, 'L', header, (size_t)len + 1);
}

/* --pause-at: once per run, the first message to reach it waits for SIGUSR1 (blocked in every thread). */
static void
pause_once(size_t sent)
{
	static atomic_int paused;
	struct timespec limit = { PAUSE_MAX, 0 };
	sigset_t set;

	if (opt.pause_at <= 0 || sent < (size_t)opt.pause_at || atomic_exchange(&paused, 1))
		return;
	printf("paused\n");
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigtimedwait(&set, NULL, &limit);
}

static int
send_headers_and_body(int fd, uint32_t pflags, const char *qid)
{
	static __thread char header[65536];
	int rc;

	if ((rc = send_received(fd, pflags, qid)) != 0)
		return rc;
	for (size_t i = 0; i < load_msg.nheaders; i++) {
		size_t nl = strlen(load_msg.names[i]) + 1, vl = strlen(load_msg.values[i]) + 1;

		if (nl + vl > sizeof(header))
			continue;
		memcpy(header, load_msg.names[i], nl);
		memcpy(header + nl, load_msg.values[i], vl);
		if ((rc = step(fd, pflags, P_NOHDRS, P_NR_HDR, 'L', header, nl + vl)) != 0)
			return rc;
	}
	if ((rc = step(fd, pflags, P_NOEOH, P_NR_EOH, 'N', NULL, 0)) != 0)
		return rc;
	for (size_t off = 0; off < load_msg.body_len; off += BODY_CHUNK) {
		size_t len = load_msg.body_len - off < BODY_CHUNK ? load_msg.body_len - off : BODY_CHUNK;

		if ((rc = step(fd, pflags, P_NOBODY, P_NR_BODY, 'B', load_msg.body + off, len)) != 0)
			return rc;
		pause_once(off + len);
	}
	return 0;
}

/* The sender of message id: --auth (taking turns with --auth-count) and an address it owns. */
static void
message_sender(long id, char *user, size_t userlen, char *from, size_t fromlen)
{
	if (!opt.auth) {
		user[0] = '\0';
		snprintf(from, fromlen, "sender@client.example");
	} else if (opt.auth_count > 0) {
		snprintf(user, userlen, "%s%ld", opt.auth, id % opt.auth_count);
		snprintf(from, fromlen, "%s@xyz00.example.net", user);
	} else {
		snprintf(user, userlen, "%s", opt.auth);
		snprintf(from, fromlen, "info@example.com");
	}
}

static int
message_rcpts(int fd, uint32_t pflags)
{
	char rcpt[300];
	int rc = 0;

	for (int i = 0; i < opt.nrcpts && rc == 0; i++) {
		size_t len = (size_t)snprintf(rcpt, sizeof(rcpt), "<%s>", opt.rcpts[i]) + 1;

		rc = step(fd, pflags, P_NORCPT, P_NR_RCPT, 'R', rcpt, len);
	}
	return rc;
}

static int
message(int fd, uint32_t pflags, long id)
{
	char qid[32], user[128], from[200], mail[300], size[24];
	const char *mail_macros[] = { "i", qid, "{mail_addr}", from, "{auth_authen}", user, NULL };
	const char *eom_macros[] = { "i", qid, "{msg_size}", size, NULL };
	size_t mail_len;
	long before = waits;
	int rc;

	snprintf(qid, sizeof(qid), "LOAD%08ld", id);
	message_sender(id, user, sizeof(user), from, sizeof(from));
	if (!user[0])
		mail_macros[4] = NULL;	/* no {auth_authen}: not authenticated */
	mail_len = (size_t)snprintf(mail, sizeof(mail), "<%s>%cSIZE=%zu", from, '\0', load_msg.size) + 1;
	if (send_macros(fd, 'M', mail_macros) < 0)
		return -1;
	if ((rc = step(fd, pflags, P_NOMAIL, P_NR_MAIL, 'M', mail, mail_len)) != 0
	    || (rc = message_rcpts(fd, pflags)) != 0
	    || (rc = step(fd, pflags, P_NODATA, P_NR_DATA, 'T', NULL, 0)) != 0
	    || (rc = send_headers_and_body(fd, pflags, qid)) != 0)
		return rc;
	snprintf(size, sizeof(size), "%zu", load_msg.lf_size);
	if (send_macros(fd, 'E', eom_macros) < 0 || send_cmd(fd, 'E', NULL, 0) < 0)
		return -1;
	atomic_fetch_add(&replies, waits - before + 1);
	rc = final_reply(fd);
	return rc == 1 ? 2 : rc;	/* 2: refused at end of message, the session goes on */
}

static void *
worker(void *arg)
{
	for (;;) {
		uint32_t pflags;
		int fd = open_session(&pflags);

		if (fd < 0) {
			/* A filter that is not there must not keep the driver spinning forever. */
			if (atomic_fetch_add(&errors, 1) >= 1000 || atomic_load(&next_message) >= opt.messages)
				return NULL;
			usleep(10000);
			continue;
		}
		for (int m = 0; m < opt.per_connection; m++) {
			long id = atomic_fetch_add(&next_message, 1);
			double start = now();

			if (id >= opt.messages) {
				send_cmd(fd, 'Q', NULL, 0);
				close(fd);
				return NULL;
			}
			int rc = message(fd, pflags, id);

			if (rc == 2)
				atomic_fetch_add(&refused, 1);
			else if (rc != 0) {
				atomic_fetch_add(&errors, 1);
				latencies[id] = -1;
				break;
			}
			latencies[id] = now() - start;
		}
		send_cmd(fd, 'Q', NULL, 0);
		close(fd);
	}
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long
rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(fp = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

static int
run_idle(void)
{
	int *fds = calloc((size_t)opt.idle, sizeof(*fds));
	long before = rss_kb(opt.pid), after;
	uint32_t pflags;
	int opened = 0;

	for (int i = 0; fds && i < opt.idle; i++)
		if ((fds[opened] = open_session(&pflags)) >= 0)
			opened++;
	sleep(1);
	after = rss_kb(opt.pid);
	printf("idle_connections=%d rss_before_kb=%ld rss_after_kb=%ld per_connection_kb=%.1f\n", opened, before, after,
	       opened ? (double)(after - before) / opened : 0.0);
	for (int i = 0; i < opened; i++)
		close(fds[i]);
	free(fds);
	return opened == opt.idle ? 0 : 1;
}

static int
run_load(void)
{
	pthread_t *threads = calloc((size_t)opt.connections, sizeof(*threads));
	pthread_attr_t attr;
	double start, elapsed, *ok;
	long n = 0;

	latencies = calloc((size_t)opt.messages, sizeof(*latencies));
	ok = calloc((size_t)opt.messages, sizeof(*ok));
	if (!threads || !latencies || !ok)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	start = now();
	for (int i = 0; i < opt.connections; i++)
		if (pthread_create(&threads[i], &attr, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < opt.connections; i++)
		pthread_join(threads[i], NULL);
	elapsed = now() - start;
	for (long i = 0; i < opt.messages; i++)
		if (latencies[i] > 0)
			ok[n++] = latencies[i];
	qsort(ok, (size_t)n, sizeof(*ok), by_value);
	printf("connections=%d messages=%ld ok=%ld refused=%ld errors=%ld seconds=%.3f msgs_per_s=%.1f p50_ms=%.3f "
	       "p99_ms=%.3f replies_per_msg=%.1f\n",
	       opt.connections, opt.messages, n - atomic_load(&refused), atomic_load(&refused), atomic_load(&errors),
	       elapsed, n / elapsed,
	       n ? ok[n / 2] * 1000 : 0, n ? ok[(long)(n * 0.99)] * 1000 : 0,
	       n ? (double)atomic_load(&replies) / (double)n : 0);
	free(threads);
	free(ok);
	free(latencies);
	return atomic_load(&errors) ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *message_file = NULL;
	size_t body_bytes = BODY_BYTES;
	int rcpts_given = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (!value)
			break;
		if (strcmp(arg, "-s") == 0)
			opt.socket = value;
		else if (strcmp(arg, "-c") == 0)
			opt.connections = atoi(value);
		else if (strcmp(arg, "-n") == 0)
			opt.messages = atol(value);
		else if (strcmp(arg, "-m") == 0)
			opt.per_connection = atoi(value);
		else if (strcmp(arg, "--idle") == 0)
			opt.idle = atoi(value);
		else if (strcmp(arg, "--pid") == 0)
			opt.pid = atol(value);
		else if (strcmp(arg, "--message") == 0)
			message_file = value;
		else if (strcmp(arg, "--body-bytes") == 0)
			body_bytes = (size_t)atol(value);
		else if (strcmp(arg, "--auth") == 0)
			opt.auth = strcmp(value, "-") == 0 ? NULL : value;
		else if (strcmp(arg, "--auth-count") == 0)
			opt.auth_count = atol(value);
		else if (strcmp(arg, "--rcpt") == 0 && rcpts_given < RCPTS_MAX)
			opt.rcpts[rcpts_given++] = value;
		else if (strcmp(arg, "--pause-at") == 0)
			opt.pause_at = atol(value);
		else
			break;
		i++;
	}
	if (rcpts_given)
		opt.nrcpts = rcpts_given;
	if (!opt.socket || strncmp(opt.socket, "unix:", 5) != 0 || opt.connections < 1 || opt.messages < 1
	    || opt.per_connection < 1) {
		fprintf(stderr, "usage: milter-load -s unix:PATH -c CONNECTIONS -n MESSAGES [-m PER_CONNECTION]\n"
				"       milter-load -s unix:PATH --idle N --pid PID\n");
		return 2;
	}
	if (message_file ? load_msg_file(message_file) < 0 : (load_msg_builtin(body_bytes), 0)) {
		fprintf(stderr, "milter-load: cannot read %s as a message with CRLF line ends\n", message_file);
		return 2;
	}
	load_msg_measure();
	if (opt.pause_at > 0) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);	/* before the workers, which inherit it */
	}
	return opt.idle ? run_idle() : run_load();
}
