/*
 * scanserve - the scan service for hostscan; see scanserve.h.
 *
 * A fixed pool of workers, each blocked in accept() on the one listening
 * socket: a worker's libmagic cookies and buffers are made once and kept
 * (attach.c), and the kernel's listen queue is the only queue.  Every
 * read and write is bounded by a deadline (net.h), every size by the
 * request's declared size, which is checked first.
 */
#define _GNU_SOURCE	/* accept4, struct ucred */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach.h"
#include "conf.h"
#include "msg.h"
#include "net.h"
#include "scanners.h"
#include "scanserve.h"
#include "workers.h"
#include "service.h"

#define SCANSERVE_BACKLOG 64
#define SCANSERVE_ANSWER_MS 10000	/* to write the answer to a client that stopped reading */

static struct {
	int fd;
	pthread_t *workers;
	unsigned nworkers;
	struct scanners *scanners;
	struct workers *scan_workers;	/* the milter's (workers.h); NULL: scanning in these threads */
	char spool_directory[CONF_PATH_MAX];
	size_t spool_memory;
	long scan_timeout;
	atomic_bool stopping;
} serve = { .fd = -1 };

/* The socket's directory: a name in it may be replaced only by root or UserID. */
static int
scanserve_check_directory(const char *path, const char *user, char *err, size_t errlen)
{
	const struct passwd *pw = getpwnam(user);
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;	/* made at start (the unit's RuntimeDirectory), or bind() says it is missing */
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "ScanService: directory %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if ((st.st_uid != 0 && (!pw || st.st_uid != pw->pw_uid)) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "ScanService: directory %s may be changed by others than root and %s", dir, user);
		return -1;
	}
	return 0;
}

int
scanserve_check(const struct hm_conf *conf, char *err, size_t errlen)
{
	const char *path = conf->scan_service + strlen("unix:");

	if (!conf->scan_service[0])
		return 0;
	if (strncmp(conf->scan_service, "unix:/", 6) != 0 || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "ScanService %s: give unix:/PATH, of at most %zu bytes", conf->scan_service,
			 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	return scanserve_check_directory(path, conf->user, err, errlen);
}

int
scanserve_open(const struct hm_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = conf->scan_service + strlen("unix:");
	mode_t old;
	int fd;

	if (!conf->scan_service[0])
		return 0;
	if (scanserve_check(conf, err, errlen) < 0)
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || (unlink(path) < 0 && errno != ENOENT)) {
		snprintf(err, errlen, "ScanService %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	old = umask(0111);	/* 0666 as it is made: every local user may ask */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, SCANSERVE_BACKLOG) < 0) {
		snprintf(err, errlen, "ScanService %s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	serve.fd = fd;
	return 0;
}

/* ---- one request ---- */

/* The requesting user's name, for spamd's User: the kernel's word, not the client's. */
static void
scanserve_user(int fd, char *name, size_t size)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *found = NULL;
	char buf[1024];

	name[0] = '\0';
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0
	    && getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found && cred.uid != 0)
		snprintf(name, size, "%s", found->pw_name);
}

/* Reads the head; bytes of the message read with it go to *spool. 0, or -1 with why. */
static int
scanserve_read_head(struct net_conn *conn, const struct net_wait *wait, char *head, struct service_request *req,
		    struct spool **spool, const char **why)
{
	size_t len = 0;
	char *end = NULL;
	ssize_t n = 0;

	*why = "the request ended early";
	while (!end && len < SERVICE_HEAD_MAX && (n = net_read(conn, head + len, SERVICE_HEAD_MAX - len, wait)) > 0) {
		len += (size_t)n;
		head[len] = '\0';
		end = strstr(head, "\n\n");
	}
	if (!end)
		return -1;
	end += 2;
	if (service_request_parse(head, req, why) < 0)
		return -1;
	*why = "the message is larger than the largest this service scans";
	if (req->size > scanners_max_message(serve.scanners))
		return -1;
	*why = "more bytes than the request's size";
	if ((size_t)(head + len - end) > req->size)
		return -1;
	*why = "cannot spool the message";
	if (!(*spool = spool_new(serve.spool_directory, serve.spool_memory)) || spool_expect(*spool, req->size) < 0
	    || spool_append(*spool, end, (size_t)(head + len - end)) < 0)
		return -1;
	return 0;
}

static int
scanserve_read_body(struct net_conn *conn, const struct net_wait *wait, struct spool *spool, uint64_t size,
		    const char **why)
{
	char buf[65536];

	while (spool_size(spool) < size) {
		uint64_t want = size - spool_size(spool);
		ssize_t n = net_read(conn, buf, want < sizeof(buf) ? (size_t)want : sizeof(buf), wait);

		if (n <= 0) {
			*why = n < 0 && errno == ETIMEDOUT ? "the message took too long to arrive" : "the message ended early";
			return -1;
		}
		if (spool_append(spool, buf, (size_t)n) < 0) {
			*why = "cannot spool the message";
			return -1;
		}
	}
	return 0;
}

/* Scans what was received, as hostmilter scans a message. */
static void
scanserve_scan(int fd, struct spool *spool, const struct service_request *req, struct service_reply *reply)
{
	struct attach_want want = { req->types, req->ntypes, 0 };
	char user[64];
	struct scan_job job = { .spool = spool, .want_spam = req->want_spam };

	scanserve_user(fd, user, sizeof(user));
	job.user = user[0] ? user : NULL;
	reply->attachments_read = req->ntypes > 0;
	workers_scan_message(serve.scan_workers, serve.scanners, &job, reply->attachments_read ? &want : NULL,
			     net_now_ms() + (uint64_t)serve.scan_timeout * 1000, "scan service", &reply->outcome,
			     &reply->attachments);
	reply->virus_scanning = scanners_any(serve.scanners, SCAN_KIND_VIRUS);
	reply->spam_scanning = scanners_any(serve.scanners, SCAN_KIND_SPAM);
	reply->ok = true;
}

static void
scanserve_answer(struct net_conn *conn, struct service_reply *reply)
{
	struct net_wait wait = { net_now_ms() + SCANSERVE_ANSWER_MS, NULL, NULL };
	char *text = malloc(SERVICE_REPLY_MAX);
	size_t len = text ? service_reply_format(reply, text, SERVICE_REPLY_MAX) : 0;

	if (text && len == 0) {	/* too long to send whole: no answer may leave a type out */
		reply->ok = false;
		snprintf(reply->error, sizeof(reply->error), "the answer does not fit");
		len = service_reply_format(reply, text, SERVICE_REPLY_MAX);
	}
	if (len > 0)
		net_write(conn, text, len, &wait);
	free(text);
}

static void
scanserve_serve(int fd)
{
	struct net_conn *conn = net_adopt(fd);
	struct net_wait wait = { net_now_ms() + (uint64_t)serve.scan_timeout * 1000, NULL, NULL };
	struct service_reply *reply = calloc(1, sizeof(*reply));
	char *head = malloc(SERVICE_HEAD_MAX + 1);
	struct service_request req;
	struct spool *spool = NULL;
	const char *why = "out of memory";

	if (!conn)
		close(fd);
	else if (reply && head && scanserve_read_head(conn, &wait, head, &req, &spool, &why) == 0
		 && net_write(conn, SERVICE_GO, strlen(SERVICE_GO), &wait) == 0
		 && scanserve_read_body(conn, &wait, spool, req.size, &why) == 0)
		scanserve_scan(fd, spool, &req, reply);
	else if (reply)
		snprintf(reply->error, sizeof(reply->error), "%s", why);
	if (conn && reply)
		scanserve_answer(conn, reply);
	spool_free(spool);
	net_close(conn);
	free(head);
	free(reply);
}

/* ---- the workers ---- */

static void *
scanserve_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&serve.stopping)) {
		int fd = accept4(serve.fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			scanserve_serve(fd);
		else if (!atomic_load(&serve.stopping) && errno != EINTR && errno != ECONNABORTED)
			poll(NULL, 0, 100);	/* out of descriptors, say: no busy loop while it lasts */
	}
	return NULL;
}

int
scanserve_start(struct scanners *scanners, struct workers *workers, const struct hm_conf *conf, char *err,
		size_t errlen)
{
	if (serve.fd < 0)
		return 0;
	serve.scanners = scanners;
	serve.scan_workers = workers;
	snprintf(serve.spool_directory, sizeof(serve.spool_directory), "%s", conf->spool_directory);
	serve.spool_memory = (size_t)conf->spool_memory;
	serve.scan_timeout = conf->scan_timeout;
	serve.workers = calloc((size_t)conf->scan_service_clients, sizeof(*serve.workers));
	for (; serve.workers && serve.nworkers < (unsigned)conf->scan_service_clients; serve.nworkers++)
		if (pthread_create(&serve.workers[serve.nworkers], NULL, scanserve_worker, NULL) != 0)
			break;
	if (serve.nworkers == 0) {
		snprintf(err, errlen, "ScanService: cannot start its workers");
		return -1;
	}
	return 0;
}

void
scanserve_stop(void)
{
	if (serve.fd < 0)
		return;
	atomic_store(&serve.stopping, true);
	shutdown(serve.fd, SHUT_RDWR);	/* wakes the workers in accept() */
	for (unsigned i = 0; i < serve.nworkers; i++)
		pthread_join(serve.workers[i], NULL);
	free(serve.workers);
	close(serve.fd);
	serve.fd = -1;
	serve.nworkers = 0;
}
