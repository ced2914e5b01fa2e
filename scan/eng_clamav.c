/*
 * eng_clamav - libclamav in this process: the embedded default engine.
 *
 * One compiled engine serves every thread (scans take it read-only).  A
 * reload thread (clamav_watch; with scan workers, their fork server's
 * clamav_check instead) watches ClamAVDatabase; when it changes, a new engine is
 * loaded and compiled beside the old one and swapped in under a mutex, and
 * each scan holds a reference (cl_engine_addref) for its duration, so the
 * old engine is freed by whichever of the reloader and the last scan lets
 * go of it -- clamd's own pattern.  Scans never wait for a reload; a
 * database that fails to load is logged and the old engine stays.
 *
 * The raw message is scanned: libclamav's mail parser unpacks it (as
 * clamd does for clamav-milter).  libclamav's limits are sized so that
 * it inspects whole every message the policy accepts (clamav_limits),
 * and it is asked to alert when content goes past one of them
 * (CL_SCAN_HEURISTIC_EXCEEDS_MAX: an archive entry past MaxFileSize, an
 * archive past MaxScanSize, MaxFiles or MaxRecursion, mail nested deeper
 * than that): such an alert, or a message larger than MaxFileSize, is an
 * INCOMPLETE scan -- never "clean", never the node's fault.  It also
 * alerts on archives and documents it cannot decrypt
 * (CL_SCAN_HEURISTIC_ENCRYPTED_*): an ENCRYPTED verdict, for the
 * recipient's "encrypted" action.  A signature
 * libclamav matches still wins over a limit alert (heuristic alerts do
 * not take precedence, so the scan goes on past them).
 *
 * Then, unless a virus was found, libclamav is given what the attachment
 * walk decodes (clamfeed.h): what a lenient reader or libarchive takes out
 * of the message, which libclamav's own decoders may not.  A virus there
 * is the message's; else the raw scan's answer stands, or the feeding's
 * when the raw scan was clean.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clamav.h>

#include "clamfeed.h"
#include "conf.h"
#include "engine.h"
#include "msg.h"

struct clamav_node {
	pthread_mutex_t lock;
	struct cl_engine *engine;	/* the current one; scans hold their own reference */
	unsigned signatures;
	unsigned generation;	/* engines loaded since the first: workers.h forks fresh workers on a change */
	char dbdir[CONF_PATH_MAX];
	char tmpdir[CONF_PATH_MAX];
	uint64_t max_file, max_scan;	/* libclamav's MaxFileSize and MaxScanSize */
	long scan_seconds;
	long check_seconds;
	struct cl_stat dbstat;
	pthread_t reloader;
	pthread_cond_t wake;
	bool stopping;
	bool reloader_started;
	uint64_t checked_ms;	/* when clamav_check last looked at the database */
};

static uint64_t
clamav_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static pthread_once_t clamav_once = PTHREAD_ONCE_INIT;
static int clamav_init_rc;

/*
 * Scan workers (workers.h) are forked by a single-threaded fork server,
 * itself forked before the daemon starts a thread; should anything fork a
 * threaded process after all, each node's lock is held across fork(), so
 * that the child never inherits it locked by a thread it does not have.
 */
static pthread_mutex_t clamav_nodes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct clamav_node *clamav_nodes[CONF_SCANNERS_MAX];

static void
clamav_fork_prepare(void)
{
	pthread_mutex_lock(&clamav_nodes_lock);
	for (unsigned i = 0; i < CONF_SCANNERS_MAX; i++)
		if (clamav_nodes[i])
			pthread_mutex_lock(&clamav_nodes[i]->lock);
}

static void
clamav_fork_done(void)
{
	for (unsigned i = 0; i < CONF_SCANNERS_MAX; i++)
		if (clamav_nodes[i])
			pthread_mutex_unlock(&clamav_nodes[i]->lock);
	pthread_mutex_unlock(&clamav_nodes_lock);
}

static void
clamav_track(struct clamav_node *node, const struct clamav_node *instead)
{
	pthread_mutex_lock(&clamav_nodes_lock);
	for (unsigned i = 0; i < CONF_SCANNERS_MAX; i++)
		if (clamav_nodes[i] == instead) {
			clamav_nodes[i] = node;
			break;
		}
	pthread_mutex_unlock(&clamav_nodes_lock);
}

/* One scan, as libclamav's callbacks see it (their context). */
struct clamav_call {
	const struct scan_job *job;
	bool error;		/* libclamav reported an error while scanning */
	char first_error[160];
	uint64_t progress_at;	/* when Sendmail last heard of this scan */
	struct clamfeed_seen *seen;	/* the layers libclamav scanned: not given to it again */
};

/*
 * libclamav's messages go to hostmilter's log.  An error during a scan
 * fails the scan: libclamav answers CL_CLEAN when, for one, it cannot make
 * its temporary directory (spool disk full, wrong owner) and so never
 * looks inside the archives and attachments it would have unpacked there.
 */
/* libclamav does not always hand the scan's context to the message callback
 * (not for the temporary directory, for one), but scans on the caller's thread. */
static __thread struct clamav_call *clamav_current;

static void
clamav_message(enum cl_msg severity, const char *fullmsg, const char *text, void *context)
{
	struct clamav_call *call = context ? context : clamav_current;
	size_t len = strcspn(text, "\n");

	if (severity < CL_MSG_WARN)
		return;
	if (severity >= CL_MSG_ERROR && call && !call->error) {
		call->error = true;
		snprintf(call->first_error, sizeof(call->first_error), "%.*s", (int)len, text);
	}
	msg_warn("libclamav: %.*s", (int)len, text);
}

static void
clamav_init(void)
{
	cl_set_clcb_msg(clamav_message);
	clamav_init_rc = cl_init(CL_INIT_DEFAULT);
	pthread_atfork(clamav_fork_prepare, clamav_fork_done, clamav_fork_done);
}

/* Called by libclamav for every layer it inspects: a natural heartbeat for
 * Sendmail, sent once a scan has run NET_PROGRESS_MS (a scan of a few
 * milliseconds sends none). */
static cl_error_t
clamav_pre_scan(int fd, const char *type, void *context)
{
	struct clamav_call *call = context;
	const struct scan_job *job = call ? call->job : NULL;
	uint64_t now;

	if (!job || !job->progress)
		return CL_CLEAN;
	now = net_now_ms();
	if (now - call->progress_at >= NET_PROGRESS_MS) {
		call->progress_at = now;
		job->progress(job->progress_arg);
	}
	return CL_CLEAN;
}

/* Every layer libclamav inspects, unmodified, is remembered: the walk's blobs of the same bytes need no scan. */
static cl_error_t
clamav_inspected(int fd, const char *type, const char **ancestors, size_t parent_size, const char *name, size_t size,
		 const char *buffer, uint32_t level, uint32_t attributes, void *context)
{
	struct clamav_call *call = context;

	(void)fd, (void)type, (void)ancestors, (void)parent_size, (void)name, (void)level;
	if (call && attributes == LAYER_ATTRIBUTES_NONE)
		clamfeed_seen_add(call->seen, buffer, size);
	return CL_CLEAN;
}

static struct cl_engine *
clamav_load(const struct clamav_node *node, unsigned *signatures, char *err, size_t errlen)
{
	struct cl_engine *engine = cl_engine_new();
	unsigned sigs = 0;
	cl_error_t rc;

	if (!engine) {
		snprintf(err, errlen, "cannot create a ClamAV engine");
		return NULL;
	}
	cl_engine_set_num(engine, CL_ENGINE_MAX_SCANTIME, node->scan_seconds * 1000);
	cl_engine_set_num(engine, CL_ENGINE_MAX_FILESIZE, (long long)node->max_file);
	cl_engine_set_num(engine, CL_ENGINE_MAX_SCANSIZE, (long long)node->max_scan);
	cl_engine_set_str(engine, CL_ENGINE_TMPDIR, node->tmpdir);
	cl_engine_set_clcb_pre_scan(engine, clamav_pre_scan);
	cl_engine_set_clcb_file_inspection(engine, clamav_inspected);
	rc = cl_load(node->dbdir, engine, &sigs, CL_DB_STDOPT);
	if (rc == CL_SUCCESS && sigs == 0)
		rc = CL_EMALFDB;
	if (rc == CL_SUCCESS)
		rc = cl_engine_compile(engine);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "ClamAV database %s: %s", node->dbdir,
			 sigs == 0 && rc == CL_EMALFDB ? "no signatures" : cl_strerror(rc));
		cl_engine_free(engine);
		return NULL;
	}
	*signatures = sigs;
	return engine;
}

static void
clamav_reload(struct clamav_node *node)
{
	char err[300];
	unsigned sigs;
	struct cl_engine *fresh = clamav_load(node, &sigs, err, sizeof(err)), *old;

	if (!fresh) {
		msg_warn("%s; keeping the previous %u signatures", err, node->signatures);
		return;
	}
	pthread_mutex_lock(&node->lock);
	old = node->engine;
	node->engine = fresh;
	node->signatures = sigs;
	node->generation++;
	pthread_mutex_unlock(&node->lock);
	cl_engine_free(old);	/* freed now, or when its last scan ends */
	msg_info("ClamAV database %s reloaded: %u signatures", node->dbdir, sigs);
}

static void *
clamav_reloader(void *arg)
{
	struct clamav_node *node = arg;

	pthread_mutex_lock(&node->lock);
	while (!node->stopping) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += node->check_seconds;
		pthread_cond_timedwait(&node->wake, &node->lock, &until);
		if (node->stopping)
			break;
		pthread_mutex_unlock(&node->lock);
		if (cl_statchkdir(&node->dbstat) == 1) {
			cl_statfree(&node->dbstat);
			cl_statinidir(node->dbdir, &node->dbstat);
			clamav_reload(node);
		}
		pthread_mutex_lock(&node->lock);
	}
	pthread_mutex_unlock(&node->lock);
	return NULL;
}

static void clamav_close(void *arg);

/* libclamav's defaults, and the largest MaxFileSize it takes (an int, less two). */
#define CLAMAV_FILESIZE_DEFAULT ((uint64_t)100 << 20)
#define CLAMAV_SCANSIZE_DEFAULT ((uint64_t)400 << 20)
#define CLAMAV_FILESIZE_CAP ((uint64_t)INT_MAX - 2)

void
clamav_limits(uint64_t max_message, uint64_t *max_file, uint64_t *max_scan)
{
	/* An archive entry may be larger than the message: never below libclamav's own defaults. */
	*max_file = max_message > CLAMAV_FILESIZE_DEFAULT ? max_message : CLAMAV_FILESIZE_DEFAULT;
	if (*max_file > CLAMAV_FILESIZE_CAP)
		*max_file = CLAMAV_FILESIZE_CAP;
	/* Everything unpacked from one message: its parts, then what their archives hold. */
	*max_scan = 4 * *max_file > CLAMAV_SCANSIZE_DEFAULT ? 4 * *max_file : CLAMAV_SCANSIZE_DEFAULT;
}

static void *
clamav_open(const char *address, const struct scan_settings *settings, char *err, size_t errlen)
{
	struct clamav_node *node;

	pthread_once(&clamav_once, clamav_init);
	if (clamav_init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "libclamav: %s", cl_strerror(clamav_init_rc));
		return NULL;
	}
	if (!(node = calloc(1, sizeof(*node)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&node->lock, NULL);
	pthread_cond_init(&node->wake, NULL);
	snprintf(node->dbdir, sizeof(node->dbdir), "%s", settings->conf->clamav_database);
	/* ScanTemporaryDirectory: libclamav writes a file for each archive member it unpacks, and on
	 * ext4 creating and removing them cost half of the time of a nested zip (test/bench/scan-bench). */
	snprintf(node->tmpdir, sizeof(node->tmpdir), "%s",
		 settings->conf->scan_temporary_directory[0] ? settings->conf->scan_temporary_directory
							     : settings->conf->spool_directory);
	node->scan_seconds = settings->conf->scan_timeout;
	clamav_limits(settings->max_message, &node->max_file, &node->max_scan);
	if (settings->max_message > node->max_file)
		msg_warn("the policy accepts messages of up to %llu bytes; libclamav inspects %llu at most: "
			 "larger ones get OnScannerFailure", (unsigned long long)settings->max_message,
			 (unsigned long long)node->max_file);
	node->check_seconds = settings->conf->clamav_check_interval;
	cl_statinidir(node->dbdir, &node->dbstat);
	node->engine = clamav_load(node, &node->signatures, err, errlen);
	node->checked_ms = clamav_now_ms();
	if (!node->engine) {
		clamav_close(node);
		return NULL;
	}
	clamav_track(node, NULL);
	return node;
}

/*
 * Not in clamav_open: the scan workers' fork server (workers.h) is forked
 * after the engine is loaded and before any thread starts, and it watches
 * the database itself (clamav_check), single-threaded.
 */
int
clamav_watch(void *arg)
{
	struct clamav_node *node = arg;

	if (node->reloader_started)
		return 0;
	if (pthread_create(&node->reloader, NULL, clamav_reloader, node) != 0)
		return -1;
	node->reloader_started = true;
	return 0;
}

void
clamav_drop(void *arg)
{
	struct clamav_node *node = arg;
	struct cl_engine *engine;

	pthread_mutex_lock(&node->lock);
	engine = node->engine;
	node->engine = NULL;
	pthread_mutex_unlock(&node->lock);
	if (engine)
		cl_engine_free(engine);
}

bool
clamav_check(void *arg)
{
	struct clamav_node *node = arg;
	unsigned generation = node->generation;
	uint64_t now = clamav_now_ms();

	if (now - node->checked_ms < (uint64_t)node->check_seconds * 1000)
		return false;
	node->checked_ms = now;
	if (cl_statchkdir(&node->dbstat) == 1) {
		cl_statfree(&node->dbstat);
		cl_statinidir(node->dbdir, &node->dbstat);
		clamav_reload(node);
	}
	return node->generation != generation;
}

static void
clamav_close(void *arg)
{
	struct clamav_node *node = arg;

	clamav_track(NULL, node);
	if (node->reloader_started) {
		pthread_mutex_lock(&node->lock);
		node->stopping = true;
		pthread_cond_signal(&node->wake);
		pthread_mutex_unlock(&node->lock);
		pthread_join(node->reloader, NULL);
	}
	if (node->engine)
		cl_engine_free(node->engine);
	cl_statfree(&node->dbstat);
	pthread_mutex_destroy(&node->lock);
	pthread_cond_destroy(&node->wake);
	free(node);
}

static struct cl_engine *
clamav_take(struct clamav_node *node)
{
	struct cl_engine *engine;

	pthread_mutex_lock(&node->lock);
	engine = node->engine;
	if (engine)
		cl_engine_addref(engine);
	pthread_mutex_unlock(&node->lock);
	return engine;
}

/* What libclamav's answer on the raw message means. */
static void
clamav_result(cl_error_t rc, const char *virname, const struct clamav_call *call, struct scan_result *result)
{
	if (rc == CL_CLEAN && call->error)
		engine_fail(result, "libclamav: %s", call->first_error);	/* a part may have gone unscanned */
	else if (rc == CL_VIRUS && virname && engine_alert("libclamav", virname, result))
		;	/* a limit, or encrypted content: no verdict on what it holds */
	else if (rc == CL_CLEAN || rc == CL_VIRUS) {
		result->status = SCAN_DONE;
		result->virus = rc == CL_VIRUS;
		if (result->virus)
			engine_virus_name(result, virname);
	} else
		engine_fail(result, "libclamav: %s", cl_strerror(rc));
}

/* The attachment walk's blobs, with the same engine, options and context (clamfeed.h). */
static void
clamav_feed(const struct clamav_node *node, struct cl_engine *engine, const struct cl_scan_options *options,
	    struct clamav_call *call, uint64_t deadline_ms, struct scan_result *result)
{
	struct clamfeed feed = { call->seen, engine, options, call, deadline_ms, node->max_scan };
	struct scan_result fed;

	if (result->virus || result->status == SCAN_FAILED)
		return;	/* a verdict already, or a retry to come */
	clamfeed_scan(&feed, call->job->spool, &fed);
	if (fed.status == SCAN_DONE && !fed.virus && call->error)
		engine_fail(&fed, "libclamav: %s", call->first_error);
	if (fed.virus || result->status == SCAN_DONE)
		*result = fed;
}

static void
clamav_scan(void *arg, const struct scan_job *job, const struct net_wait *wait, struct scan_result *result)
{
	struct clamav_node *node = arg;
	struct cl_scan_options options = { .general = CL_SCAN_GENERAL_HEURISTICS, .parse = ~0u,
					   .heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE
							| CL_SCAN_HEURISTIC_ENCRYPTED_DOC };
	struct cl_engine *engine = clamav_take(node);
	const unsigned char *mem = spool_memory(job->spool);
	struct clamav_call call = { .job = job, .progress_at = net_now_ms(), .seen = clamfeed_seen_new() };
	const char *virname = NULL;
	unsigned long scanned = 0;
	int error = 0;
	cl_error_t rc;

	if (!engine) {
		engine_fail(result, "libclamav's engine is in the scan workers' fork server only");
		return;
	}
	if (spool_size(job->spool) > (uint64_t)cl_engine_get_num(engine, CL_ENGINE_MAX_FILESIZE, &error)) {
		engine_incomplete(result, "larger than libclamav's MaxFileSize (%lld bytes)",
				  cl_engine_get_num(engine, CL_ENGINE_MAX_FILESIZE, &error));
		cl_engine_free(engine);
		clamfeed_seen_free(call.seen);
		return;
	}
	clamav_current = &call;
	if (mem) {
		cl_fmap_t *map = cl_fmap_open_memory(mem, (size_t)spool_size(job->spool));

		rc = map ? cl_scanmap_callback(map, NULL, &virname, &scanned, engine, &options, &call) : CL_EMEM;
		if (map)
			cl_fmap_close(map);
	} else
		rc = cl_scandesc_callback(spool_fd(job->spool), NULL, &virname, &scanned, engine, &options, &call);
	clamav_result(rc, virname, &call, result);
	clamav_feed(node, engine, &options, &call, wait ? wait->deadline_ms : 0, result);
	clamav_current = NULL;
	cl_engine_free(engine);
	clamfeed_seen_free(call.seen);
}

unsigned
clamav_signatures(void *arg)
{
	struct clamav_node *node = arg;
	unsigned sigs;

	pthread_mutex_lock(&node->lock);
	sigs = node->signatures;
	pthread_mutex_unlock(&node->lock);
	return sigs;
}

unsigned
clamav_generation(void *arg)
{
	struct clamav_node *node = arg;
	unsigned generation;

	pthread_mutex_lock(&node->lock);
	generation = node->generation;
	pthread_mutex_unlock(&node->lock);
	return generation;
}

const struct scan_engine engine_clamav = {
	.name = "clamav",
	.kind = SCAN_KIND_VIRUS,
	.open = clamav_open,
	.scan = clamav_scan,
	.close = clamav_close,
};
