/*
 * workers - pre-forked scan workers: hostile content is parsed there,
 * never in the process that holds the sessions.
 *
 * Promise: workers_start forks a fork server once libclamav's engine is
 * loaded and before the caller starts any thread; the fork server, single-
 * threaded for ever, forks settings->n workers, and every replacement, so
 * that they share the engine copy-on-write and no worker inherits a lock
 * some thread held.  Each
 * runs the in-process engines (libclamav, scanners_scan_local) and the
 * attachment walk (attach_scan: GMime, libmagic, OpenSSL, libytnef) for
 * one message at a time.  A worker holds only its own channel to the
 * daemon (a socketpair), standard input, output and error, and the
 * descriptors it opens while it scans: every other descriptor of the
 * daemon (its sessions, sockets, spools) is closed in it.  Its limits:
 * no core files, WORKERS_NOFILE descriptors, its address space at most
 * settings->memory beyond what it inherited, and settings->cpu_seconds
 * of CPU time per message (SIGXCPU ends it past that).  A seccomp filter
 * refuses it (EPERM) another program (execve), another process (fork,
 * clone without CLONE_THREAD), any socket but a unix one, bind, listen,
 * accept, ptrace, signals to other processes, and the calls that change
 * users, mounts, namespaces, keys, modules or the machine; it inherits
 * no_new_privs and runs as UserID.
 *
 * A request carries the spool -- its bytes after the request when it is
 * in memory and no larger than WORKERS_INLINE_MAX, else a descriptor
 * (SCM_RIGHTS: the spool's own file, or a memfd holding a spool kept in
 * memory) -- and the types the walk is asked about; the reply carries libclamav's scan_result and the
 * walk's attach_report, nothing else.  The caller waits for a free worker
 * and for its reply at most until its deadline (a worker gets two seconds
 * past it to give libclamav's own "ran out of time", then is killed), and
 * tells Sendmail it is still there every NET_PROGRESS_MS meanwhile.
 *
 * A worker that dies or is killed with a message costs that message only:
 * the answer says LOST, and the caller gives the message
 * OnScannerFailure.  The content's SHA-256 is counted in a bounded table
 * (poison.h); when the same content takes a worker down a second time the
 * answer says POISON, and the caller gives the uninspectable action, so
 * that the sender gets an answer instead of a retry that would take the
 * next worker down too.  The fork server reaps dead workers and says so;
 * a supervisor thread in the daemon has replacements forked within a
 * fraction of a second.  The fork server also watches ClamAVDatabase and
 * loads a changed one itself (scanners_check; the caller starts no
 * reload thread, scanners_watch, while there are workers); then the
 * daemon has fresh workers forked at once and lets the old ones finish
 * the message they hold.  The fork server ending otherwise than at
 * workers_stop ends the daemon (EXIT_FAILURE, logged), for the service
 * manager to start it again: see workers.c for why.  Once the workers
 * are up, the caller's own copy of libclamav's engine is freed
 * (scanners_drop_local): it never scans with it while there are workers,
 * and it would otherwise hold it for ever.  It runs as the
 * caller, with the workers' limits but for the address space and the CPU
 * time, and their seccomp filter but for fork and kill (its own workers);
 * a worker adds its own limits and filter to these.  Workers and fork
 * server log through msg.h, which opens its own socket again.
 */
#ifndef HM_WORKERS_H
#define HM_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attach.h"
#include "engine.h"
#include "scanners.h"

#define WORKERS_NOFILE 64	/* the channel, the spool, libclamav's temporary files, libmagic, the log */
#define WORKERS_GRACE_MS 2000	/* past the deadline, for libclamav's own time-out to answer */
#define WORKERS_TYPES_MAX 64	/* blocked types a request names; more: every libmagic rule */
#define WORKERS_INLINE_MAX 65536	/* a message in memory up to this size goes in the request itself */

struct workers;

struct workers_settings {
	unsigned n;		/* ScanWorkers */
	uint64_t memory;	/* ScanWorkerMemory: address space beyond what a worker inherits */
	long cpu_seconds;	/* CPU time per message: ScanTimeout */
	bool faults;		/* ScanWorkerFaults: the test-only fault injector, see workers.c */
	bool quiet;		/* standard error to /dev/null: the daemon detaches from its caller's */
};

enum workers_status {
	WORKERS_DONE,		/* the worker answered */
	WORKERS_UNAVAILABLE,	/* no worker took the message in time: a failure of the moment */
	WORKERS_LOST,		/* the worker died or was killed with the message: OnScannerFailure */
	WORKERS_POISON,		/* this content took a worker down before: uninspectable */
};

struct workers_counts {
	uint64_t restarts;	/* workers that ended otherwise than asked, and were replaced */
	uint64_t lost;		/* messages a worker died with */
	uint64_t poison;	/* of which the content had taken one down before */
	unsigned alive;		/* workers ready or scanning now */
};

/* After the scanners are open, before any thread (scanners_watch too); 0 workers is an error.  NULL with err. */
struct workers *workers_start(struct scanners *scanners, const struct workers_settings *settings, char *err,
			      size_t errlen);
/* Ends the supervisor, every worker and the fork server (within two seconds). */
void workers_stop(struct workers *workers);
void workers_counts(struct workers *workers, struct workers_counts *counts);

/*
 * One message, scanned as hostmilter and ScanService scan it: the
 * in-process engines and, when want is not NULL, the attachment walk in a
 * worker (workers NULL: in this thread, ScanWorkers 0), then the network
 * engines (clamd, spamd, rspamd, which only move bytes) here.  Fills
 * outcome and, when want was given, report; a walk that could not run
 * logs why under label.  A lost worker is a failed scan and a failed walk;
 * a poison message an incomplete scan and an incomplete walk.  Returns
 * what became of the worker (DONE without one).
 */
enum workers_status workers_scan_message(struct workers *workers, struct scanners *scanners,
					 const struct scan_job *job, const struct attach_want *want,
					 uint64_t deadline_ms, const char *label, struct scan_outcome *outcome,
					 struct attach_report *report);

#endif
