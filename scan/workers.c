/*
 * workers - pre-forked scan workers; see workers.h.
 *
 * The channel is a SOCK_SEQPACKET socketpair: one request and one reply
 * are one datagram each, whole or not at all, so a worker that dies
 * mid-reply is an end of file, never half a report.  A spool in memory is
 * copied into a memfd (one write of the message); a spool in a file is
 * passed as it is, read with pread and mmap only.
 *
 * The fault injector (ScanWorkerFaults yes, for the tests only): a worker
 * that finds a line "X-Hostmilter-Test-Fault: cpu" (spins until its CPU
 * limit ends it), "memory" (allocates until its address-space limit
 * refuses, then aborts as g_malloc does), "crash" (SIGSEGV) or "hang"
 * (sleeps past the deadline) in the first 64 KiB of a message does so.
 * Real signals sent to a worker's pid need no injector.
 */
#define _GNU_SOURCE	/* memfd_create, memmem, close_range */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "msg.h"
#include "net.h"
#include "poison.h"
#include "workers.h"

enum workers_state { SLOT_EMPTY, SLOT_SPAWNING, SLOT_IDLE, SLOT_BUSY };

struct workers_slot {
	enum workers_state state;
	pid_t pid;
	int fd;			/* the daemon's end of the channel */
	unsigned epoch;		/* changes when the slot is given to another worker */
};

struct workers {
	struct scanners *scanners;
	struct workers_settings settings;
	pthread_mutex_t lock;
	pthread_cond_t idle;	/* a worker became free */
	pthread_cond_t wake;	/* the supervisor has work: a worker was lost */
	struct workers_slot *slot;
	unsigned generation;	/* of the engines the workers were forked with */
	unsigned epochs;
	bool stopping;
	pthread_t supervisor;
	bool supervising;
	struct poison_table poison;
	struct workers_counts counts;
};

/* What a worker is asked. */
struct workers_request {
	uint64_t size;		/* of the spool */
	uint64_t time_ms;	/* until the deadline */
	uint8_t virus, walk;
	uint32_t ntypes, types_max;
	char types[WORKERS_TYPES_MAX][POLICY_TYPE_LEN];
};

struct workers_reply {
	struct scan_result virus;
	int32_t walk_rc;
	char walk_err[300];
	struct attach_report report;
};

/* ---- in the worker ---- */

/* Only the channel (as fd 3) and the standard descriptors stay: nothing of the sessions. */
static int
workers_close_others(int chan)
{
	if (chan != 3 && dup2(chan, 3) < 0)
		return -1;
	return close_range(4, ~0U, 0);
}

static int
workers_limit(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };

	return setrlimit(resource, &rl);
}

/* The address space it inherited (the daemon's threads' stacks, the engine), plus settings->memory. */
static int
workers_limit_memory(uint64_t memory)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	int rc = f && fscanf(f, "%lu", &pages) == 1 ? 0 : -1;

	if (f)
		fclose(f);
	return rc < 0 ? -1 : workers_limit(RLIMIT_AS, (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + memory);
}

/* CPU time for this message: what it used so far plus seconds (the soft limit; SIGXCPU past it). */
static void
workers_limit_cpu(long seconds)
{
	struct rusage ru;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (getrusage(RUSAGE_SELF, &ru) < 0 || getrlimit(RLIMIT_CPU, &rl) < 0)
		return;
	rl.rlim_cur = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1 + seconds);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_CPU, &rl);
}

static void
workers_fault(const struct spool *spool)
{
	static const char marker[] = "X-Hostmilter-Test-Fault: ";
	static char head[65536];
	ssize_t n = spool_read(spool, 0, head, sizeof(head) - 1);
	const char *at = n > 0 ? memmem(head, (size_t)n, marker, sizeof(marker) - 1) : NULL;
	volatile unsigned long spin = 0;

	if (!at)
		return;
	head[n] = '\0';
	at += sizeof(marker) - 1;
	if (strncmp(at, "cpu", 3) == 0)
		for (;;)
			spin++;
	if (strncmp(at, "memory", 6) == 0) {
		for (char *p; (p = malloc(1 << 20)); memset(p, 1, 1 << 20))
			;
		abort();
	}
	if (strncmp(at, "crash", 5) == 0)
		raise(SIGSEGV);
	if (strncmp(at, "hang", 4) == 0)
		for (;;)
			pause();
}

/* One request: its spool arrives as the datagram's descriptor. */
static ssize_t
workers_receive(int chan, struct workers_request *req, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { req, sizeof(*req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	while ((n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

static void
workers_serve(struct workers *w, const struct workers_request *req, struct spool *spool, struct workers_reply *reply)
{
	const char *types[WORKERS_TYPES_MAX];
	struct attach_want want = { types, req->ntypes, req->types_max };
	struct scan_job job = { .spool = spool };

	memset(reply, 0, sizeof(*reply));
	for (uint32_t i = 0; i < req->ntypes && i < WORKERS_TYPES_MAX; i++)
		types[i] = req->types[i];
	if (w->settings.faults)
		workers_fault(spool);
	if (req->virus)
		scanners_scan_local(w->scanners, &job, net_now_ms() + req->time_ms, &reply->virus);
	if (req->walk)
		reply->walk_rc = attach_scan(spool, &want, &reply->report, reply->walk_err, sizeof(reply->walk_err));
}

static void __attribute__((noreturn))
workers_child(struct workers *w, int chan)
{
	static struct workers_request req;
	static struct workers_reply reply;
	sigset_t all;
	int fd;

	sigfillset(&all);
	pthread_sigmask(SIG_UNBLOCK, &all, NULL);	/* the daemon's threads block HUP, TERM, INT, USR1 */
	/* A reload or a stop is the daemon's (systemd signals the whole group): it closes the channel. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	prctl(PR_SET_NAME, "hostmilter-scan", 0, 0, 0);
	if (workers_close_others(chan) < 0 || workers_limit(RLIMIT_CORE, 0) < 0
	    || workers_limit(RLIMIT_NOFILE, WORKERS_NOFILE) < 0 || workers_limit_memory(w->settings.memory) < 0) {
		msg_error("scan worker: cannot set its limits: %s", strerror(errno));
		_exit(70);
	}
	msg_reopen();
	for (;;) {
		ssize_t n = workers_receive(3, &req, &fd);
		struct spool *spool;

		if (n == 0)
			_exit(0);	/* the daemon closed the channel: stop or reload */
		if (n != (ssize_t)sizeof(req) || fd < 0 || !(spool = spool_adopt(fd, req.size)))
			_exit(71);
		workers_limit_cpu(w->settings.cpu_seconds);
		workers_serve(w, &req, spool, &reply);
		spool_free(spool);
		if (send(3, &reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t)sizeof(reply))
			_exit(0);	/* the daemon gave up on it */
	}
}

/* ---- in the daemon: workers' lives ---- */

/* Forks one worker into slot (SPAWNING, taken under the lock); 0, or -1 with errno. */
static int
workers_spawn(struct workers *w, struct workers_slot *slot)
{
	int pair[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		int saved = errno;

		close(pair[0]);
		close(pair[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0)
		workers_child(w, pair[1]);
	close(pair[1]);
	pthread_mutex_lock(&w->lock);
	slot->pid = pid;
	slot->fd = pair[0];
	slot->state = SLOT_IDLE;
	slot->epoch = ++w->epochs;
	w->counts.alive++;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Under the lock: the slot's worker is let go (it exits at the end of its channel). */
static void
workers_release(struct workers *w, struct workers_slot *slot)
{
	if (slot->fd >= 0)
		close(slot->fd);
	slot->fd = -1;
	slot->state = SLOT_EMPTY;
	slot->epoch = ++w->epochs;
	w->counts.alive--;
}

/* Every empty slot gets a worker; said at most once a minute when fork fails. */
static void
workers_fill(struct workers *w)
{
	static time_t said;

	for (unsigned i = 0; i < w->settings.n; i++) {
		struct workers_slot *slot = &w->slot[i];

		pthread_mutex_lock(&w->lock);
		if (slot->state != SLOT_EMPTY || w->stopping) {
			pthread_mutex_unlock(&w->lock);
			continue;
		}
		slot->state = SLOT_SPAWNING;
		pthread_mutex_unlock(&w->lock);
		if (workers_spawn(w, slot) == 0)
			continue;
		if (time(NULL) - said >= 60) {
			msg_warn("cannot start a scan worker: %s (retried every second)", strerror(errno));
			said = time(NULL);
		}
		pthread_mutex_lock(&w->lock);
		slot->state = SLOT_EMPTY;
		pthread_mutex_unlock(&w->lock);
	}
}

/* Dead workers, reaped: one that ended otherwise than asked is counted as a restart. */
static void
workers_reap(struct workers *w)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		pthread_mutex_lock(&w->lock);
		w->counts.restarts++;
		for (unsigned i = 0; i < w->settings.n; i++)
			if (w->slot[i].pid == pid && w->slot[i].state == SLOT_IDLE)
				workers_release(w, &w->slot[i]);	/* died idle: nobody else will notice */
		pthread_mutex_unlock(&w->lock);
		if (WIFSIGNALED(status))
			msg_warn("scan worker %ld killed by signal %d (%s); replaced", (long)pid, WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
		else
			msg_warn("scan worker %ld exited with status %d; replaced", (long)pid, WEXITSTATUS(status));
	}
}

/* A reload replaced libclamav's engine: fresh workers now; a busy one finishes and is let go then. */
static void
workers_renew(struct workers *w)
{
	unsigned generation = scanners_generation(w->scanners);

	pthread_mutex_lock(&w->lock);
	if (generation == w->generation) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	w->generation = generation;
	for (unsigned i = 0; i < w->settings.n; i++) {
		struct workers_slot *slot = &w->slot[i];

		if (slot->state == SLOT_IDLE)
			workers_release(w, slot);
		else if (slot->state == SLOT_BUSY) {	/* its scanning thread holds the channel and closes it */
			slot->fd = -1;
			workers_release(w, slot);
		}
	}
	pthread_mutex_unlock(&w->lock);
	msg_info("ClamAV engine reloaded: %u fresh scan workers; the old ones finish what they hold", w->settings.n);
}

static void *
workers_supervise(void *arg)
{
	struct workers *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&w->wake, &w->lock, &until);
		if (w->stopping)
			break;
		pthread_mutex_unlock(&w->lock);
		workers_reap(w);
		workers_renew(w);
		workers_fill(w);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct workers *
workers_start(struct scanners *scanners, const struct workers_settings *settings, char *err, size_t errlen)
{
	struct workers *w = calloc(1, sizeof(*w));
	pthread_condattr_t attr;

	if (!w || settings->n == 0 || !(w->slot = calloc(settings->n, sizeof(*w->slot)))) {
		snprintf(err, errlen, "%s", w ? "no scan workers" : "out of memory");
		free(w);
		return NULL;
	}
	w->scanners = scanners;
	w->settings = *settings;
	w->generation = scanners_generation(scanners);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->idle, &attr);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	for (unsigned i = 0; i < settings->n; i++)
		w->slot[i].fd = -1;
	for (unsigned i = 0; i < settings->n; i++)
		w->slot[i].state = SLOT_SPAWNING;
	for (unsigned i = 0; i < settings->n; i++) {
		if (workers_spawn(w, &w->slot[i]) < 0) {
			snprintf(err, errlen, "cannot start a scan worker: %s", strerror(errno));
			w->slot[i].state = SLOT_EMPTY;
			workers_stop(w);
			return NULL;
		}
	}
	if (pthread_create(&w->supervisor, NULL, workers_supervise, w) != 0) {
		snprintf(err, errlen, "cannot start the scan workers' supervisor");
		workers_stop(w);
		return NULL;
	}
	w->supervising = true;
	return w;
}

void
workers_stop(struct workers *w)
{
	uint64_t until = net_now_ms() + 1000;
	int status;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	if (w->supervising)
		pthread_join(w->supervisor, NULL);
	for (unsigned i = 0; i < w->settings.n; i++)
		if (w->slot[i].fd >= 0)
			close(w->slot[i].fd);	/* each worker exits at the end of its channel */
	for (unsigned i = 0; i < w->settings.n; i++) {
		pid_t pid = w->slot[i].pid;

		while (pid > 0 && waitpid(pid, &status, WNOHANG) == 0 && net_now_ms() < until)
			usleep(10000);
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->wake);
	free(w->slot);
	free(w);
}

void
workers_counts(struct workers *w, struct workers_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	*counts = w->counts;
	pthread_mutex_unlock(&w->lock);
}

/* ---- in the daemon: one message ---- */

static struct timespec
workers_until(uint64_t deadline_ms)
{
	struct timespec now;
	uint64_t now_ms = net_now_ms();

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (deadline_ms > now_ms) {
		now.tv_sec += (time_t)((deadline_ms - now_ms) / 1000);
		now.tv_nsec += (long)((deadline_ms - now_ms) % 1000) * 1000000;
		if (now.tv_nsec >= 1000000000) {
			now.tv_sec++;
			now.tv_nsec -= 1000000000;
		}
	}
	return now;
}

/* A free worker, taken: its slot's index, or -1 when none came free before the deadline. */
static int
workers_take(struct workers *w, uint64_t deadline_ms, struct workers_slot *taken)
{
	struct timespec until = workers_until(deadline_ms);
	int found = -1;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		for (unsigned i = 0; found < 0 && i < w->settings.n; i++)
			if (w->slot[i].state == SLOT_IDLE)
				found = (int)i;
		if (found >= 0 || pthread_cond_timedwait(&w->idle, &w->lock, &until) == ETIMEDOUT)
			break;
	}
	if (found >= 0) {
		w->slot[found].state = SLOT_BUSY;
		*taken = w->slot[found];
	}
	pthread_mutex_unlock(&w->lock);
	return found;
}

/* The worker is given back: free again when it answered, else let go (the supervisor replaces it). */
static void
workers_give_back(struct workers *w, int index, const struct workers_slot *taken, bool answered)
{
	struct workers_slot *slot = &w->slot[index];

	pthread_mutex_lock(&w->lock);
	if (slot->epoch != taken->epoch)
		close(taken->fd);	/* a reload let it go while it scanned: it exits now */
	else if (answered && !w->stopping) {
		slot->state = SLOT_IDLE;
		pthread_cond_signal(&w->idle);
	} else {
		workers_release(w, slot);
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
}

/* The spool as a descriptor for the worker: its file, or a memfd with its bytes; -1 on failure. */
static int
workers_spool_fd(const struct spool *spool, bool *made)
{
	const unsigned char *mem = spool_memory(spool);
	uint64_t size = spool_size(spool), done = 0;
	int fd;

	*made = false;
	if (!mem)
		return spool_fd(spool);
	if ((fd = memfd_create("hostmilter-spool", MFD_CLOEXEC)) < 0)
		return -1;
	while (done < size) {
		ssize_t n = write(fd, mem + done, (size_t)(size - done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (uint64_t)n;
	}
	*made = true;
	return fd;
}

static int
workers_send(int chan, const struct workers_request *req, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { (void *)req, sizeof(*req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memset(control.buf, 0, sizeof(control.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while ((n = sendmsg(chan, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*req) ? 0 : -1;
}

/*
 * The worker's reply, waited for until the deadline and its grace, with
 * Sendmail told meanwhile; 1 answered, 0 the worker is gone (killed here
 * when it outlived the grace).
 */
static int
workers_await(const struct workers_slot *taken, const struct scan_job *job, uint64_t deadline_ms,
	      struct workers_reply *reply)
{
	uint64_t until = deadline_ms + WORKERS_GRACE_MS;
	struct pollfd p = { .fd = taken->fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		uint64_t now = net_now_ms();
		int rc;

		if (now >= until) {
			kill(taken->pid, SIGKILL);
			return 0;
		}
		rc = poll(&p, 1, (int)(until - now < NET_PROGRESS_MS ? until - now : NET_PROGRESS_MS));
		if (rc > 0)
			break;
		if (rc == 0 && job->progress)
			job->progress(job->progress_arg);
		if (rc < 0 && errno != EINTR)
			return 0;
	}
	while ((n = recv(taken->fd, reply, sizeof(*reply), 0)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*reply);
}

static int
workers_digest_chunk(const void *data, size_t len, void *ctx)
{
	return EVP_DigestUpdate(ctx, data, len) == 1 ? 0 : -1;
}

/* How many times this content has now taken a worker down; 1 when its digest cannot be made. */
static unsigned
workers_takedown(struct workers *w, const struct spool *spool)
{
	uint8_t digest[POISON_DIGEST_LEN];
	unsigned len = 0, hits = 1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
	    && engine_each_chunk(spool, 65536, workers_digest_chunk, ctx) == 0
	    && EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == sizeof(digest)) {
		pthread_mutex_lock(&w->lock);
		hits = poison_note(&w->poison, digest);
		pthread_mutex_unlock(&w->lock);
	}
	EVP_MD_CTX_free(ctx);
	pthread_mutex_lock(&w->lock);
	w->counts.lost++;
	w->counts.poison += hits > 1;
	pthread_mutex_unlock(&w->lock);
	return hits;
}

static void
workers_request_of(const struct scan_job *job, const struct attach_want *want, uint64_t deadline_ms,
		   bool virus, struct workers_request *req)
{
	uint64_t now = net_now_ms();

	memset(req, 0, sizeof(*req));
	req->size = spool_size(job->spool);
	req->time_ms = deadline_ms > now ? deadline_ms - now : 0;
	req->virus = virus;
	req->walk = want != NULL;
	if (want && want->ntypes <= WORKERS_TYPES_MAX) {	/* more: every rule, as for none */
		req->ntypes = (uint32_t)want->ntypes;
		for (size_t i = 0; i < want->ntypes; i++)
			snprintf(req->types[i], sizeof(req->types[i]), "%s", want->types[i]);
	}
	req->types_max = want ? want->types_max : 0;
}

/*
 * Runs the request in a worker: DONE with reply filled, or why not.  A
 * worker found dead before it took the request (its channel refuses it)
 * costs nothing but another try.
 */
static enum workers_status
workers_run(struct workers *w, const struct scan_job *job, const struct workers_request *req,
	    uint64_t deadline_ms, struct workers_reply *reply)
{
	bool made;
	int fd = workers_spool_fd(job->spool, &made);
	enum workers_status status = WORKERS_UNAVAILABLE;

	for (unsigned tries = 0; fd >= 0 && tries < 2 && status == WORKERS_UNAVAILABLE; tries++) {
		struct workers_slot taken;
		int index = workers_take(w, deadline_ms, &taken);
		bool answered = false;

		if (index < 0)
			break;
		if (workers_send(taken.fd, req, fd) == 0) {
			answered = workers_await(&taken, job, deadline_ms, reply) == 1;
			status = answered ? WORKERS_DONE : workers_takedown(w, job->spool) > 1 ? WORKERS_POISON
												   : WORKERS_LOST;
		}
		workers_give_back(w, index, &taken, answered);
	}
	if (made)
		close(fd);
	return status;
}

/* What a worker that did not answer means for the engines and the walk (report NULL: no walk). */
static void
workers_failed(enum workers_status status, struct scan_result *virus, struct attach_report *report)
{
	static const char *const why[] = {
		[WORKERS_DONE] = "out of memory for the scan",
		[WORKERS_UNAVAILABLE] = "no scan worker was free in time",
		[WORKERS_LOST] = "the scan worker died with the message",
		[WORKERS_POISON] = "the message took down a scan worker twice",
	};

	if (status == WORKERS_POISON)
		engine_incomplete(virus, "%s", why[status]);
	else
		engine_fail(virus, "%s", why[status]);
	if (!report)
		return;
	memset(report, 0, sizeof(*report));
	if (status == WORKERS_POISON) {
		report->incomplete = true;
		snprintf(report->why, sizeof(report->why), "attachments: %s", why[status]);
	} else {
		report->failed = true;
		snprintf(report->failed_why, sizeof(report->failed_why), "attachments: %s", why[status]);
	}
}

/* In this thread, as before the workers (ScanWorkers 0). */
static void
workers_in_thread(struct scanners *scanners, const struct scan_job *job, const struct attach_want *want,
		  uint64_t deadline_ms, const char *label, struct scan_outcome *outcome, struct attach_report *report)
{
	char err[300];

	scanners_scan(scanners, job, deadline_ms, outcome);
	if (want && attach_scan(job->spool, want, report, err, sizeof(err)) < 0)
		msg_warn("%s: attachments: %s", label, err);
}

enum workers_status
workers_scan_message(struct workers *w, struct scanners *scanners, const struct scan_job *job,
		     const struct attach_want *want, uint64_t deadline_ms, const char *label,
		     struct scan_outcome *outcome, struct attach_report *report)
{
	bool virus = scanners_in_process(scanners);
	struct workers_reply *reply;
	struct workers_request *req;
	struct scan_result local = { 0 };
	enum workers_status status = WORKERS_UNAVAILABLE;
	bool ready;

	if (!w || (!virus && !want)) {
		workers_in_thread(scanners, job, want, deadline_ms, label, outcome, report);
		return WORKERS_DONE;
	}
	reply = calloc(1, sizeof(*reply));
	req = malloc(sizeof(*req));
	ready = reply && req;
	if (ready) {
		workers_request_of(job, want, deadline_ms, virus, req);
		status = workers_run(w, job, req, deadline_ms, reply);
	}
	if (ready && status == WORKERS_DONE) {
		local = reply->virus;
		if (want)
			*report = reply->report;
		if (want && reply->walk_rc < 0)
			msg_warn("%s: attachments: %s", label, reply->walk_err);
	} else {
		workers_failed(ready ? status : WORKERS_DONE, &local, want ? report : NULL);
		msg_warn("%s: %s", label, local.note);
	}
	scanners_scan_given(scanners, job, deadline_ms, virus ? &local : NULL, outcome);
	free(req);
	free(reply);
	return ready ? status : WORKERS_UNAVAILABLE;
}
