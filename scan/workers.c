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
 * that finds a line "X-Hostmilter-Test-Fault: cpu" (lowers its CPU limit
 * to a second and spins until the kernel ends it), "memory" (allocates until its address-space limit
 * refuses, then aborts as g_malloc does), "crash" (SIGSEGV) or "hang"
 * (sleeps past the deadline) in the first 64 KiB of a message does so;
 * "escape" tries what a worker taken over would (exec, an inet socket,
 * a signal to its parent, the fork server) and logs what it got.
 * Real signals sent to a worker's pid need no injector.
 */
#define _GNU_SOURCE	/* memfd_create, memmem, close_range */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <seccomp.h>

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
	struct workers_slot *slot;
	unsigned generation;	/* of the fork server's engine, as it last said */
	int fs_fd;		/* the channel to the fork server */
	pid_t fs_pid;
	uint64_t retry_ms;	/* no fork asked for before this, after one failed */
	int spawn_error;	/* errno of the last fork that failed */
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
	uint32_t inline_len;	/* the message follows the request in the datagram; 0: it is the descriptor */
	uint32_t ntypes, types_max;
	char types[WORKERS_TYPES_MAX][POLICY_TYPE_LEN];
};

struct workers_reply {
	struct scan_result virus;
	int32_t walk_rc;
	char walk_err[300];
	struct attach_report report;
};

/* A request on the wire: without the types it does not name (a message's bytes follow it). */
static size_t
workers_request_len(const struct workers_request *req)
{
	return offsetof(struct workers_request, types) + (size_t)req->ntypes * POLICY_TYPE_LEN;
}

#define WORKERS_REPLY_TYPES offsetof(struct workers_reply, report.types)

/*
 * A reply on the wire: without the walk's report when no walk was asked
 * for, and without the types the walk did not fill.  The whole report is
 * 15 KB, nearly all of it 64 types' room; a message names one or two, and
 * copying the rest through the kernel cost about a tenth of a short
 * message's true-type check (test/bench/milter-bench).
 */
static size_t
workers_reply_len(const struct workers_reply *reply, bool walk)
{
	if (!walk)
		return offsetof(struct workers_reply, report);
	return WORKERS_REPLY_TYPES + (size_t)reply->report.ntypes * sizeof(reply->report.types[0]);
}

/* ---- in the worker ---- */

/*
 * Only the channel (as fd 3) and the standard descriptors stay: nothing of
 * the sessions.  Standard input and output are /dev/null, and standard
 * error too when quiet: a daemon that detaches hands its caller's
 * terminal back (hostmilter.c, tell_ready), and a worker holding it would
 * keep the caller waiting for its end.
 */
static int
workers_close_others(int chan, bool quiet)
{
	int null;

	if ((chan != 3 && dup2(chan, 3) < 0) || close_range(4, ~0U, 0) < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || (quiet && dup2(null, 2) < 0)) {
		close(null);
		return -1;
	}
	close(null);
	return 0;
}

static int
workers_limit(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };

	return setrlimit(resource, &rl);
}

/*
 * The address space it inherited (the daemon's threads' stacks, the
 * engine), plus settings->memory, plus the largest message the engines
 * inspect whole: the walk maps a message in a file whole.
 */
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

/*
 * CPU time for this message: what it used so far plus seconds (the soft
 * limit; SIGXCPU past it).  Set again only when the whole seconds used
 * have grown: most messages take a millisecond, and two system calls less
 * each count on short mail.
 */
static void
workers_limit_cpu(long seconds)
{
	static rlim_t set;	/* the soft limit last set; 0: none yet */
	struct rusage ru;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	rlim_t want;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	want = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1 + seconds);
	if (want == set || getrlimit(RLIMIT_CPU, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_CPU, &rl) == 0)
		set = want;
}

/*
 * The system calls a worker is refused (EPERM), after its limits are set:
 * running another program, starting a process (a thread still may),
 * reaching the network (unix sockets only: its log), listening, tracing
 * or signalling other processes, and the administrator's calls.  A list of
 * what is refused rather than of what is allowed: libclamav, GMime,
 * libmagic, libarchive and poppler make calls of their own that change
 * between versions, and a call missing from an allow-list would take a
 * worker down on every message that needs it -- each of them poison.
 */
static int
workers_confine(bool server)
{
	static const int refused[] = {
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(ptrace),
		SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(bind), SCMP_SYS(listen),
		SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
		SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups), SCMP_SYS(mount),
		SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(unshare), SCMP_SYS(setns),
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
		SCMP_SYS(userfaultfd), SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
		SCMP_SYS(kexec_load), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(iopl),
		SCMP_SYS(ioperm),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < sizeof(refused) / sizeof(*refused); i++)
		if (!server || (refused[i] != SCMP_SYS(fork) && refused[i] != SCMP_SYS(vfork)))
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0);
	/* A process (clone without CLONE_THREAD, clone3 whose flags a filter cannot read: glibc then uses clone). */
	if (rc == 0 && !server)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
	if (rc == 0 && !server)	/* the fork server kills its own workers past their deadline */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_NE, getpid()));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		errno = rc == -1 ? ENOMEM : -rc;
	return rc < 0 ? -1 : 0;
}

/* The fault injector's "escape": what a worker taken over would try first, logged with what it got. */
static void
workers_escape(void)
{
	char *const argv[] = { "true", NULL };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int saved = errno;

	execve("/bin/true", argv, NULL);
	msg_warn("fault injector: exec: %s; inet socket: %s; kill its parent: %s", strerror(errno),
		 fd >= 0 ? "made" : strerror(saved), kill(getppid(), 0) == 0 ? "allowed" : strerror(errno));
	if (fd >= 0)
		close(fd);
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
	if (strncmp(at, "cpu", 3) == 0) {
		workers_limit_cpu(0);	/* a second, not ScanTimeout's: the kernel's SIGXCPU, soon */
		for (;;)
			spin++;
	}
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
	if (strncmp(at, "escape", 6) == 0)
		workers_escape();
}

/* The request's buffer: the request, the types it names, the message's bytes when they follow. */
union workers_inbox {
	struct workers_request req;
	unsigned char bytes[sizeof(struct workers_request) + WORKERS_INLINE_MAX];
};

/* One datagram into buf, with the descriptor it carries (else -1): a request and its spool, or an event. */
static ssize_t
workers_receive(int chan, void *buf, size_t len, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { buf, len };
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

/* One datagram of iovcnt parts, with the descriptor fd (SCM_RIGHTS) when it is not -1; what sendmsg gave. */
static ssize_t
workers_sendmsg(int chan, struct iovec *iov, size_t iovcnt, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = iovcnt };
	struct cmsghdr *c;
	ssize_t n;

	if (fd >= 0) {
		memset(control.buf, 0, sizeof(control.buf));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while ((n = sendmsg(chan, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n;
}

static void
workers_serve(struct workers *w, const struct workers_request *req, struct spool *spool, struct workers_reply *reply)
{
	const char *types[WORKERS_TYPES_MAX];
	struct attach_want want = { types, req->ntypes, req->types_max };
	struct scan_job job = { .spool = spool };

	memset(reply, 0, req->walk ? WORKERS_REPLY_TYPES : offsetof(struct workers_reply, report));	/* nothing of the last message's */
	for (uint32_t i = 0; i < req->ntypes && i < WORKERS_TYPES_MAX; i++)
		types[i] = req->types[i];
	if (w->settings.faults)
		workers_fault(spool);
	if (req->virus)
		scanners_scan_local(w->scanners, &job, net_now_ms() + req->time_ms, &reply->virus);
	if (req->walk)
		reply->walk_rc = attach_scan(spool, &want, &reply->report, reply->walk_err, sizeof(reply->walk_err));
}

/* The request's spool: its bytes copied from the datagram, or over its descriptor; NULL when malformed. */
static struct spool *
workers_spool_of(const union workers_inbox *box, ssize_t n, int fd)
{
	const struct workers_request *req = &box->req;
	struct spool *spool;

	if (n < (ssize_t)offsetof(struct workers_request, types) || req->ntypes > WORKERS_TYPES_MAX
	    || req->inline_len > WORKERS_INLINE_MAX || (size_t)n != workers_request_len(req) + req->inline_len)
		return NULL;
	if (fd >= 0)
		return req->inline_len == 0 ? spool_adopt(fd, req->size) : NULL;
	if (req->inline_len != req->size || !(spool = spool_new("/", req->inline_len)))
		return NULL;
	if (spool_append(spool, box->bytes + workers_request_len(req), req->inline_len) < 0) {
		spool_free(spool);
		return NULL;
	}
	return spool;
}

/* The fork server's and a worker's: a reload or a stop is the daemon's (systemd signals the whole group). */
static void
workers_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);	/* the daemon blocks HUP, TERM, INT, USR1 */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);	/* the fork server reaps its workers with waitpid */
}

static void __attribute__((noreturn))
workers_child(struct workers *w, int chan)
{
	static union workers_inbox box;
	static struct workers_reply reply;
	int fd;

	/* Its signals are the fork server's (workers_signals), inherited. */
	prctl(PR_SET_NAME, "hostmilter-scan", 0, 0, 0);
	if (workers_close_others(chan, w->settings.quiet) < 0 || workers_limit(RLIMIT_CORE, 0) < 0
	    || workers_limit(RLIMIT_NOFILE, WORKERS_NOFILE) < 0
	    || workers_limit_memory(w->settings.memory + scanners_max_message(w->scanners)) < 0
	    || workers_confine(false) < 0) {
		msg_error("scan worker: cannot set its limits or its system-call filter: %s", strerror(errno));
		_exit(70);
	}
	msg_reopen();
	for (;;) {
		ssize_t n = workers_receive(3, box.bytes, sizeof(box.bytes), &fd);
		struct spool *spool;
		size_t len;

		if (n == 0)
			_exit(0);	/* the daemon closed the channel: stop or reload */
		if (!(spool = workers_spool_of(&box, n, fd)))
			_exit(71);
		workers_limit_cpu(w->settings.cpu_seconds);
		workers_serve(w, &box.req, spool, &reply);
		spool_free(spool);
		len = workers_reply_len(&reply, box.req.walk);
		if (send(3, &reply, len, MSG_NOSIGNAL) != (ssize_t)len)
			_exit(0);	/* the daemon gave up on it */
	}
}

/* ---- the fork server: single-threaded, it forks every worker ---- */

/*
 * Why a fork server: a worker forked from the threaded daemon would
 * inherit locked for ever every lock another thread held at that instant
 * (OpenSSL's in a spamd handshake, GLib's, libclamav's in a reload,
 * syslog's), and hang on its first message.  workers_start forks the
 * fork server once, after libclamav's engine is loaded and before the
 * daemon starts any thread; it never starts one, and it forks every
 * worker, the first ones and each replacement.
 *
 * A reload: the fork server loads the new engine itself (scanners_check,
 * single-threaded) and tells the daemon, which lets its workers go and
 * asks for fresh ones, forked from the new engine.  The daemon has no
 * reload thread while there are workers: it could not fork a new fork
 * server without the hazard above, and the engine is loaded once, not
 * twice.  While the fork server compiles no worker is forked; the ones
 * already there keep scanning with the old engine meanwhile.
 *
 * The channel is a SOCK_SEQPACKET socketpair of fixed-size datagrams:
 * requests in (SPAWN; KILL pid, for a worker past its deadline), events
 * out (SPAWNED: the pid and, with SCM_RIGHTS, the daemon's end of the
 * worker's channel; FAILED: fork's errno; DIED: pid and wait status;
 * RELOADED).  Only the fork server reaps the workers, so a pid it kills
 * is its own child, never a pid another process reused.  A send waits at
 * most WORKERS_FS_SEND_MS either way.  At the end of its channel it gives
 * its workers a second to end at the end of theirs and exits; a worker
 * still scanning then gets SIGKILL (PR_SET_PDEATHSIG).
 *
 * The fork server ending otherwise is fatal to the daemon (the
 * supervisor logs it and exits, and the service manager starts hostmilter
 * again): a new one could only be forked from the threaded daemon, which
 * is the hazard it exists to avoid.  Its limits: no core files,
 * WORKERS_NOFILE descriptors, a worker's seccomp filter but for fork and
 * kill; its workers add their own filter and limits to these.
 */
#define WORKERS_FS_SEND_MS 10000
#define WORKERS_FS_POLL_MS 200	/* how often it reaps and looks at the database */

enum workers_fs_op { FS_SPAWN = 1, FS_KILL };
enum workers_fs_kind { FS_SPAWNED = 1, FS_FAILED, FS_DIED, FS_RELOADED };

struct workers_fs_request {
	uint32_t op;
	int32_t pid;
};

struct workers_fs_event {
	uint32_t kind;
	int32_t pid;
	int32_t status;		/* DIED: as waitpid gives it */
	int32_t error;		/* FAILED: errno */
	uint32_t generation;	/* of the engine the fork server holds */
};

static int
workers_fs_tell(int chan, const struct workers_fs_event *ev, int fd)
{
	struct iovec iov = { (void *)ev, sizeof(*ev) };	/* NOLINT: only read */

	return workers_sendmsg(chan, &iov, 1, fd) == (ssize_t)sizeof(*ev) ? 0 : -1;
}

/* Every child that ended, reaped and told; -1 when the daemon cannot be told. */
static int
workers_fs_reap(int chan)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct workers_fs_event ev = { .kind = FS_DIED, .pid = pid, .status = status };

		if (workers_fs_tell(chan, &ev, -1) < 0)
			return -1;
	}
	return 0;
}

static int
workers_fs_spawn(struct workers *w, int chan, unsigned generation)
{
	struct workers_fs_event ev = { .kind = FS_SPAWNED, .generation = generation };
	int pair[2], rc;
	pid_t pid, self = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		ev.kind = FS_FAILED;
		ev.error = errno;
		return workers_fs_tell(chan, &ev, -1);
	}
	if ((pid = fork()) == 0) {
		/* Outlives the fork server by no more than its end: see above. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != self)
			_exit(0);
		workers_child(w, pair[1]);
	}
	ev.error = errno;
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		ev.kind = FS_FAILED;
		return workers_fs_tell(chan, &ev, -1);
	}
	ev.pid = pid;
	rc = workers_fs_tell(chan, &ev, pair[0]);
	close(pair[0]);
	return rc;
}

/* A worker past its deadline: killed when it is a child not yet reaped (then nobody can have its pid). */
static int
workers_fs_kill(int chan, pid_t pid)
{
	struct workers_fs_event ev = { .kind = FS_DIED, .pid = pid };
	pid_t got = pid > 0 ? waitpid(pid, &ev.status, WNOHANG) : -1;

	if (got == 0)
		kill(pid, SIGKILL);	/* reaped, and told, by workers_fs_reap */
	return got == pid ? workers_fs_tell(chan, &ev, -1) : 0;
}

static void __attribute__((noreturn))
workers_fs_end(void)
{
	uint64_t until = net_now_ms() + 1000;
	int status;

	while (waitpid(-1, &status, WNOHANG) >= 0 && net_now_ms() < until)
		usleep(10000);
	_exit(0);
}

static void __attribute__((noreturn))
workers_fs_main(struct workers *w, int chan)
{
	struct timeval send_timeout = { WORKERS_FS_SEND_MS / 1000, 0 };
	unsigned generation = 0;

	workers_signals();
	prctl(PR_SET_NAME, "hostmilter-fork", 0, 0, 0);
	if (workers_close_others(chan, w->settings.quiet) < 0 || workers_limit(RLIMIT_CORE, 0) < 0
	    || workers_limit(RLIMIT_NOFILE, WORKERS_NOFILE) < 0
	    || setsockopt(3, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout)) < 0
	    || workers_confine(true) < 0) {
		msg_error("scan workers' fork server: cannot set its limits or its system-call filter: %s",
			  strerror(errno));
		_exit(70);
	}
	msg_reopen();
	for (;;) {
		struct pollfd p = { .fd = 3, .events = POLLIN };
		struct workers_fs_request req;
		int rc = poll(&p, 1, WORKERS_FS_POLL_MS);
		ssize_t n;

		if (workers_fs_reap(3) < 0)
			_exit(0);	/* the daemon does not read: it is gone or hung */
		if (scanners_check(w->scanners)) {
			struct workers_fs_event ev = { .kind = FS_RELOADED };

			ev.generation = ++generation;
			if (workers_fs_tell(3, &ev, -1) < 0)
				_exit(0);
		}
		if (rc <= 0)
			continue;
		while ((n = recv(3, &req, sizeof(req), 0)) < 0 && errno == EINTR)
			;
		if (n <= 0)
			workers_fs_end();
		if (n == (ssize_t)sizeof(req) && req.op == FS_SPAWN && workers_fs_spawn(w, 3, generation) < 0)
			_exit(0);
		if (n == (ssize_t)sizeof(req) && req.op == FS_KILL && workers_fs_kill(3, req.pid) < 0)
			_exit(0);
	}
}

/* ---- in the daemon: workers' lives, through the fork server ---- */

/* A request to the fork server; any thread may send one (a datagram is sent whole or not at all). */
static int
workers_fs_ask(struct workers *w, enum workers_fs_op op, pid_t pid)
{
	struct workers_fs_request req = { (uint32_t)op, (int32_t)pid };
	ssize_t n;

	while ((n = send(w->fs_fd, &req, sizeof(req), MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(req) ? 0 : -1;
}

/* Forks the fork server: before any thread of the daemon starts.  0, or -1 with errno. */
static int
workers_fs_start(struct workers *w)
{
	struct timeval send_timeout = { WORKERS_FS_SEND_MS / 1000, 0 };
	int pair[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	if ((pid = fork()) == 0)
		workers_fs_main(w, pair[1]);
	close(pair[1]);
	if (pid < 0 || setsockopt(pair[0], SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout)) < 0) {
		int saved = errno;

		close(pair[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		errno = saved;
		return -1;
	}
	w->fs_fd = pair[0];
	w->fs_pid = pid;
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

/* SPAWNED: the new worker takes a slot waiting for one (none when stopping: it is let go). */
static void
workers_spawned(struct workers *w, const struct workers_fs_event *ev, int fd)
{
	bool placed = false;

	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; !placed && fd >= 0 && i < w->settings.n; i++) {
		struct workers_slot *slot = &w->slot[i];

		if (slot->state != SLOT_SPAWNING)
			continue;
		slot->pid = ev->pid;
		slot->fd = fd;
		slot->state = SLOT_IDLE;
		slot->epoch = ++w->epochs;
		w->counts.alive++;
		placed = true;
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->lock);
	if (!placed && fd >= 0)
		close(fd);
}

/* FAILED: a slot waiting gives up; the supervisor asks again in a second, said at most once a minute. */
static void
workers_spawn_failed(struct workers *w, const struct workers_fs_event *ev)
{
	static time_t said;
	bool done = false;

	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; !done && i < w->settings.n; i++)
		if (w->slot[i].state == SLOT_SPAWNING) {
			w->slot[i].state = SLOT_EMPTY;
			done = true;
		}
	w->retry_ms = net_now_ms() + 1000;
	w->spawn_error = ev->error ? ev->error : EAGAIN;
	pthread_mutex_unlock(&w->lock);
	if (time(NULL) - said >= 60) {
		msg_warn("cannot start a scan worker: %s (retried every second)", strerror(w->spawn_error));
		said = time(NULL);
	}
}

/* DIED: one that ended otherwise than asked is counted as a restart. */
static void
workers_died(struct workers *w, const struct workers_fs_event *ev)
{
	int status = ev->status;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	pthread_mutex_lock(&w->lock);
	w->counts.restarts++;
	for (unsigned i = 0; i < w->settings.n; i++)
		if (w->slot[i].pid == ev->pid && w->slot[i].state == SLOT_IDLE)
			workers_release(w, &w->slot[i]);	/* died idle: nobody else will notice */
	pthread_mutex_unlock(&w->lock);
	if (WIFSIGNALED(status))
		msg_warn("scan worker %ld killed by signal %d (%s); replaced", (long)ev->pid, WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		msg_warn("scan worker %ld exited with status %d; replaced", (long)ev->pid, WEXITSTATUS(status));
}

/*
 * RELOADED: the fork server holds a new engine; the workers are let go
 * (a busy one finishes its message first) and fresh ones asked for.  The
 * events come in the order the fork server did things, so every worker
 * SPAWNED after this one was forked with the new engine.
 */
static void
workers_renew(struct workers *w, const struct workers_fs_event *ev)
{
	pthread_mutex_lock(&w->lock);
	w->generation = ev->generation;
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

/* One event from the fork server, waited for at most timeout_ms; -1 when the fork server is gone. */
static int
workers_event(struct workers *w, int timeout_ms)
{
	struct pollfd p = { .fd = w->fs_fd, .events = POLLIN };
	struct workers_fs_event ev = { 0 };
	int fd = -1, rc = poll(&p, 1, timeout_ms);
	ssize_t n;

	if (rc <= 0)
		return rc < 0 && errno != EINTR ? -1 : 0;
	if ((n = workers_receive(w->fs_fd, &ev, sizeof(ev), &fd)) <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
	if (n == (ssize_t)sizeof(ev) && ev.kind == FS_SPAWNED && fd >= 0) {
		workers_spawned(w, &ev, fd);
		return 0;
	}
	if (n == (ssize_t)sizeof(ev) && ev.kind == FS_SPAWNED) {	/* its channel did not come (EMFILE here) */
		workers_fs_ask(w, FS_KILL, ev.pid);
		ev.kind = FS_FAILED;
		ev.error = EMFILE;
	}
	if (fd >= 0)
		close(fd);
	if (n == (ssize_t)sizeof(ev) && ev.kind == FS_FAILED)
		workers_spawn_failed(w, &ev);
	else if (n == (ssize_t)sizeof(ev) && ev.kind == FS_DIED)
		workers_died(w, &ev);
	else if (n == (ssize_t)sizeof(ev) && ev.kind == FS_RELOADED)
		workers_renew(w, &ev);
	return 0;
}

/* Every empty slot asks the fork server for a worker (not within a second of a failed fork). */
static void
workers_fill(struct workers *w)
{
	for (unsigned i = 0; i < w->settings.n; i++) {
		struct workers_slot *slot = &w->slot[i];
		bool ask;

		pthread_mutex_lock(&w->lock);
		ask = slot->state == SLOT_EMPTY && !w->stopping && net_now_ms() >= w->retry_ms;
		if (ask)
			slot->state = SLOT_SPAWNING;
		pthread_mutex_unlock(&w->lock);
		if (ask && workers_fs_ask(w, FS_SPAWN, 0) < 0) {
			pthread_mutex_lock(&w->lock);
			slot->state = SLOT_EMPTY;	/* the fork server is gone: workers_event says so */
			pthread_mutex_unlock(&w->lock);
		}
	}
}

static void *
workers_supervise(void *arg)
{
	struct workers *w = arg;
	bool stopping = false;

	while (!stopping) {
		if (workers_event(w, WORKERS_FS_POLL_MS) < 0) {
			pthread_mutex_lock(&w->lock);
			stopping = w->stopping;
			pthread_mutex_unlock(&w->lock);
			if (!stopping)	/* see "the fork server ending otherwise" above */
				msg_fatal(EXIT_FAILURE, "the scan workers' fork server ended; exiting so that "
					  "hostmilter is started again");
			break;
		}
		workers_fill(w);
		pthread_mutex_lock(&w->lock);
		stopping = w->stopping;
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* The first workers, each forked by the fork server: 0 when all came within WORKERS_FS_SEND_MS. */
static int
workers_first(struct workers *w, char *err, size_t errlen)
{
	uint64_t until = net_now_ms() + WORKERS_FS_SEND_MS;
	unsigned ready = 0;

	workers_fill(w);
	while (ready < w->settings.n && net_now_ms() < until && w->spawn_error == 0) {
		if (workers_event(w, WORKERS_FS_POLL_MS) < 0)
			break;
		ready = 0;
		for (unsigned i = 0; i < w->settings.n; i++)
			ready += w->slot[i].state == SLOT_IDLE;
	}
	if (ready == w->settings.n)
		return 0;
	snprintf(err, errlen, "cannot start a scan worker: %s",
		 w->spawn_error ? strerror(w->spawn_error)
				: "not every one was ready within 10 seconds (the log says what became of them)");
	return -1;
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
	w->fs_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->idle, &attr);
	pthread_condattr_destroy(&attr);
	for (unsigned i = 0; i < settings->n; i++)
		w->slot[i].fd = -1;
	if (workers_fs_start(w) < 0) {
		snprintf(err, errlen, "cannot start the scan workers' fork server: %s", strerror(errno));
		workers_stop(w);
		return NULL;
	}
	if (workers_first(w, err, errlen) < 0) {
		workers_stop(w);
		return NULL;
	}
	scanners_drop_local(scanners);	/* the daemon never scans with it while there are workers */
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
	uint64_t until = net_now_ms() + 2000;
	int status;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	if (w->supervising)
		pthread_join(w->supervisor, NULL);
	for (unsigned i = 0; i < w->settings.n; i++)
		if (w->slot[i].fd >= 0)
			close(w->slot[i].fd);	/* each worker exits at the end of its channel */
	if (w->fs_fd >= 0)
		close(w->fs_fd);	/* and the fork server at the end of its own, a second later at most */
	while (w->fs_pid > 0 && waitpid(w->fs_pid, &status, WNOHANG) == 0 && net_now_ms() < until)
		usleep(10000);
	if (w->fs_pid > 0 && waitpid(w->fs_pid, &status, WNOHANG) == 0) {
		kill(w->fs_pid, SIGKILL);
		waitpid(w->fs_pid, &status, 0);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->idle);
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
		workers_release(w, slot);	/* the supervisor asks for another within WORKERS_FS_POLL_MS */
	}
	pthread_mutex_unlock(&w->lock);
}

/*
 * The spool as a descriptor for the worker: its file, or a memfd with its
 * bytes; -1 on failure, and -1 without failure for a message sent inline.
 */
static int
workers_spool_fd(const struct spool *spool, bool *made)
{
	const unsigned char *mem = spool_memory(spool);
	uint64_t size = spool_size(spool), done = 0;
	int fd;

	*made = false;
	if (!mem)
		return spool_fd(spool);
	if (size > 0 && size <= WORKERS_INLINE_MAX)
		return -1;
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

/* The request with the message's bytes after it (inline), or its descriptor. */
static int
workers_send(int chan, const struct workers_request *req, const struct spool *spool, int fd)
{
	struct iovec iov[2] = { { (void *)req, workers_request_len(req) },
				{ (void *)spool_memory(spool), req->inline_len } };	/* NOLINT: only read */

	return workers_sendmsg(chan, iov, req->inline_len ? 2 : 1, req->inline_len ? -1 : fd)
			       == (ssize_t)(workers_request_len(req) + req->inline_len)
		       ? 0
		       : -1;
}

/*
 * The worker's reply, waited for until the deadline and its grace, with
 * Sendmail told meanwhile; 1 answered, 0 the worker is gone (killed here
 * when it outlived the grace).
 */
static int
workers_await(struct workers *w, const struct workers_slot *taken, const struct scan_job *job, uint64_t deadline_ms,
	      struct workers_reply *reply, bool walk)
{
	uint64_t until = deadline_ms + WORKERS_GRACE_MS;
	struct pollfd p = { .fd = taken->fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		uint64_t now = net_now_ms();
		int rc;

		if (now >= until) {
			workers_fs_ask(w, FS_KILL, taken->pid);
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
	if (walk && (n < (ssize_t)WORKERS_REPLY_TYPES || reply->report.ntypes > ATTACH_TYPES_MAX))
		return 0;	/* a worker that breaks the protocol is taken as gone */
	return n == (ssize_t)workers_reply_len(reply, walk);
}

#define WORKERS_HEAD_MAX (256 * 1024)	/* header block looked at for trace fields; Sendmail allows 32K */

/* Whether a header line (at line, len bytes to the end of the block) starts a field the MTA writes anew. */
static bool
workers_trace_field(const char *line, size_t len)
{
	static const char *const names[] = { "Received:", "Message-ID:", "Date:" };

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)	/* NOLINT(bugprone-sizeof-expression) */
		if (len >= strlen(names[i]) && strncasecmp(line, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/*
 * The header block into ctx without its trace fields (and their folded
 * lines); the offset where the body starts, 0 when no end of the header
 * block was found (then everything is digested as it is).
 */
static uint64_t
workers_digest_head(const struct spool *spool, EVP_MD_CTX *ctx)
{
	char *head = malloc(WORKERS_HEAD_MAX);
	ssize_t n = head ? spool_read(spool, 0, head, WORKERS_HEAD_MAX) : -1;
	const char *end = n > 0 ? memmem(head, (size_t)n, "\r\n\r\n", 4) : NULL;
	bool skipping = false;
	uint64_t body = 0;

	for (const char *line = head; end && line < end + 2;) {
		const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
		size_t len = eol ? (size_t)(eol - line) + 1 : (size_t)(end + 2 - line);

		if (*line != ' ' && *line != '\t')
			skipping = workers_trace_field(line, len);
		if (!skipping)
			EVP_DigestUpdate(ctx, line, len);
		line += len;
	}
	if (end)
		body = (uint64_t)(end + 2 - head);
	free(head);
	return body;
}

/*
 * The content's SHA-256, as a retry of the same message would have it:
 * Sendmail writes a new Received field (queue id, time) for each try, and
 * a Message-ID and Date where the sender gave none; those fields are left
 * out, everything else counts.  0, or -1 when it cannot be made.
 */
static int
workers_digest(const struct spool *spool, uint8_t digest[POISON_DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536];
	unsigned len = 0;
	uint64_t offset;
	ssize_t n;
	int rc = -1;

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		offset = workers_digest_head(spool, ctx);
		while ((n = spool_read(spool, offset, buf, sizeof(buf))) > 0) {
			EVP_DigestUpdate(ctx, buf, (size_t)n);
			offset += (uint64_t)n;
		}
		if (n == 0 && EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == POISON_DIGEST_LEN)
			rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* How many times this content has now taken a worker down; 1 when its digest cannot be made. */
static unsigned
workers_takedown(struct workers *w, const struct spool *spool)
{
	uint8_t digest[POISON_DIGEST_LEN];
	int made = workers_digest(spool, digest);
	unsigned hits = 1;

	pthread_mutex_lock(&w->lock);
	if (made == 0)
		hits = poison_note(&w->poison, digest);
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

	memset(req, 0, offsetof(struct workers_request, types));	/* the types it names are filled below */
	req->size = spool_size(job->spool);
	if (spool_memory(job->spool) && req->size > 0 && req->size <= WORKERS_INLINE_MAX)
		req->inline_len = (uint32_t)req->size;
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
	int fd = req->inline_len ? -1 : workers_spool_fd(job->spool, &made);
	enum workers_status status = WORKERS_UNAVAILABLE;

	if (req->inline_len)
		made = false;
	for (unsigned tries = 0; (fd >= 0 || req->inline_len) && tries < 2 && status == WORKERS_UNAVAILABLE; tries++) {
		struct workers_slot taken;
		int index = workers_take(w, deadline_ms, &taken);
		bool answered = false;

		if (index < 0)
			break;
		if (workers_send(taken.fd, req, job->spool, fd) == 0) {
			answered = workers_await(w, &taken, job, deadline_ms, reply, req->walk) == 1;
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

/* The worker's libclamav scan in the node figures of the daemon's statistics. */
static void
workers_count(struct scanners *scanners, bool ok, uint64_t took_ms)
{
	struct cluster *cluster;

	for (unsigned i = 0; (cluster = scanners_cluster(scanners, i)); i++)
		if (cluster_engine(cluster) == &engine_clamav)
			cluster_count(cluster, ok, took_ms);
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
	reply = malloc(sizeof(*reply));	/* filled by the worker's reply, as far as it is read */
	req = malloc(sizeof(*req));
	ready = reply && req;
	if (ready) {
		uint64_t start = net_now_ms();

		workers_request_of(job, want, deadline_ms, virus, req);
		status = workers_run(w, job, req, deadline_ms, reply);
		if (virus)
			workers_count(scanners, status == WORKERS_DONE && reply->virus.status != SCAN_FAILED,
				      net_now_ms() - start);
	}
	if (ready && status == WORKERS_DONE) {
		local = reply->virus;
		if (want)	/* the types it filled, no more: the rest was not sent */
			memcpy(report, &reply->report, WORKERS_REPLY_TYPES - offsetof(struct workers_reply, report)
							       + reply->report.ntypes * sizeof(report->types[0]));
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
