/*
 * snapshot - reference-counted configuration and policy; see snapshot.h.
 *
 * Socket, UserID, PidFile and StatsListen are fixed when the daemon starts (the socket
 * is bound and privileges are gone by the time a reload happens); a reload
 * that changes them keeps the running values and says a restart is needed.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monotime.h"
#include "msg.h"
#include "snapshot.h"

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t snapshot_reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snapshot_current;
static struct stat snapshot_failed_stat;	/* a broken database tried already */
static unsigned long snapshot_generations;
static bool snapshot_missing_told;	/* the database's absence was logged */
static struct pathsafe_user snapshot_user;	/* whom the policy database must be safe from */
static snapshot_check_fn *snapshot_reload_check;
static uint64_t snapshot_next_check_ms;	/* atomic: the file is not looked at again before */

void
snapshot_set_guard(const struct pathsafe_user *user, snapshot_check_fn *reload_check)
{
	snapshot_user = *user;
	snapshot_reload_check = reload_check;
}

/* ctime too: a chown or chmod is a change, whose safety is checked again (pathsafe). */
static bool
snapshot_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
	       && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
	       && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
snapshot_free(struct snapshot *snap)
{
	policydb_close(snap->db);
	free(snap);
}

static struct snapshot *
snapshot_build(const struct hm_conf *conf, char *err, size_t errlen)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	if (!snap) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snap->refs = 1;
	snap->conf = *conf;
	/* stat before open: a database renamed in between is noticed next time. */
	if (stat(conf->policy_db, &snap->db_stat) < 0)
		memset(&snap->db_stat, 0, sizeof(snap->db_stat));
	if (pathsafe_policy(conf->policy_db, &snapshot_user, err, errlen) == 0)
		snap->db = policydb_open(conf->policy_db, err, errlen);
	if (!snap->db) {
		free(snap);
		return NULL;
	}
	return snap;
}

static void
snapshot_install(struct snapshot *snap)
{
	struct snapshot *old;

	pthread_mutex_lock(&snapshot_lock);
	old = snapshot_current;
	snap->generation = ++snapshot_generations;
	__atomic_store_n(&snapshot_current, snap, __ATOMIC_RELEASE);	/* snapshot_refresh reads it unlocked */
	snapshot_missing_told = false;
	pthread_mutex_unlock(&snapshot_lock);
	msg_info("policy loaded: %s digest %.16s (generation %lu)", snap->conf.policy_db,
		 policydb_digest(snap->db), snap->generation);
	if (old)
		snapshot_release(old);
}

int
snapshot_init(const struct hm_conf *conf, char *err, size_t errlen)
{
	struct snapshot *snap = snapshot_build(conf, err, errlen);

	if (!snap)
		return -1;
	snapshot_install(snap);
	return 0;
}

static struct snapshot *
snapshot_take(void)
{
	struct snapshot *snap;

	pthread_mutex_lock(&snapshot_lock);
	snap = snapshot_current;
	if (snap)
		snap->refs++;
	pthread_mutex_unlock(&snapshot_lock);
	return snap;
}

/* Several connections may notice the same new file; the first loads it. */
static void
snapshot_reload_policy(const struct stat *now)
{
	struct snapshot *current, *snap;
	char err[512];

	pthread_mutex_lock(&snapshot_reload_lock);
	current = snapshot_take();
	if (current && !snapshot_same_file(now, &current->db_stat) && !snapshot_same_file(now, &snapshot_failed_stat)) {
		snap = snapshot_build(&current->conf, err, sizeof(err));
		if (snap)
			snapshot_install(snap);
		else {
			snapshot_failed_stat = *now;
			msg_error("policy database changed but cannot be read, keeping the previous one: %s", err);
		}
	}
	snapshot_release(current);
	pthread_mutex_unlock(&snapshot_reload_lock);
}

/*
 * A database that vanished (an admin's rm, a half-done deployment) is no
 * reason to stop: the loaded snapshot goes on serving.  Said once until a
 * database is loaded again, not once per connection.
 */
static void
snapshot_tell_missing(const char *path, int error)
{
	bool tell;

	pthread_mutex_lock(&snapshot_lock);	/* snapshot_install clears the flag under it */
	tell = !snapshot_missing_told;
	snapshot_missing_told = true;
	pthread_mutex_unlock(&snapshot_lock);
	if (tell)
		msg_error("policy database %s: %s; keeping the one loaded", path, strerror(error));
}

/* Whether the file is due for a look: one thread in each SNAPSHOT_CHECK_MS, on the coarse clock. */
static bool
snapshot_check_due(void)
{
	uint64_t now = monotime_coarse_ms(), next;

	next = __atomic_load_n(&snapshot_next_check_ms, __ATOMIC_RELAXED);
	return now >= next && __atomic_compare_exchange_n(&snapshot_next_check_ms, &next, now + SNAPSHOT_CHECK_MS, false,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Reloads the policy database when its file changed (snap: a snapshot the caller holds). */
static void
snapshot_check_file(const struct snapshot *snap)
{
	struct stat now;

	if (stat(snap->conf.policy_db, &now) < 0)
		snapshot_tell_missing(snap->conf.policy_db, errno);
	else if (!snapshot_same_file(&now, &snap->db_stat))
		snapshot_reload_policy(&now);
}

bool
snapshot_refresh(struct snapshot **held)
{
	struct snapshot *now;

	if (snapshot_check_due())
		snapshot_check_file(*held);
	if (__atomic_load_n(&snapshot_current, __ATOMIC_ACQUIRE) == *held || !(now = snapshot_take()))
		return false;
	snapshot_release(*held);
	*held = now;
	return true;
}

struct snapshot *
snapshot_acquire(void)
{
	struct snapshot *snap = snapshot_take();

	if (snap && snapshot_check_due()) {
		snapshot_check_file(snap);
		/* Our own reference: a reload dropped only the current one's. */
		snapshot_release(snap);	/* NOLINT(clang-analyzer-unix.Malloc): refcounted */
		snap = snapshot_take();
	}
	return snap;
}

void
snapshot_release(struct snapshot *snap)
{
	bool last;

	if (!snap)
		return;
	pthread_mutex_lock(&snapshot_lock);
	last = --snap->refs == 0;
	pthread_mutex_unlock(&snapshot_lock);
	if (last)
		snapshot_free(snap);
}

/* The rate-limit engine and the control socket were made at start and outlive every snapshot (ratelimit.h). */
static void
snapshot_keep_ratelimit(struct hm_conf *conf, const struct hm_conf *running)
{
	if (strcmp(conf->rate_limit_store, running->rate_limit_store) != 0
	    || conf->on_store_failure != running->on_store_failure
	    || conf->rate_limit_store_timeout != running->rate_limit_store_timeout
	    || conf->rate_limit_local_size != running->rate_limit_local_size
	    || strcmp(conf->control_socket, running->control_socket) != 0)
		msg_warn("RateLimitStore, OnRateLimitStoreFailure, RateLimitStoreTimeout, RateLimitLocalSize and "
			 "ControlSocket change only on restart; keeping the running values");
	strcpy(conf->rate_limit_store, running->rate_limit_store);
	conf->on_store_failure = running->on_store_failure;
	conf->rate_limit_store_timeout = running->rate_limit_store_timeout;
	conf->rate_limit_local_size = running->rate_limit_local_size;
	strcpy(conf->control_socket, running->control_socket);
}

static void
snapshot_keep_fixed(struct hm_conf *conf, const struct hm_conf *running)
{
	if (strcmp(conf->socket, running->socket) != 0 || strcmp(conf->user, running->user) != 0
	    || strcmp(conf->pid_file, running->pid_file) != 0 || strcmp(conf->stats_listen, running->stats_listen) != 0)
		msg_warn("Socket, UserID, PidFile and StatsListen change only on restart; keeping the running values");

	strcpy(conf->socket, running->socket);
	strcpy(conf->user, running->user);
	strcpy(conf->pid_file, running->pid_file);
	strcpy(conf->stats_listen, running->stats_listen);
	/* Scanner nodes, libclamav's engine and TLS keys were opened as root. */
	if (conf->nscanners != running->nscanners
	    || memcmp(conf->scanners, running->scanners, sizeof(conf->scanners)) != 0
	    || strcmp(conf->clamav_database, running->clamav_database) != 0
	    || strcmp(conf->tls_ca, running->tls_ca) != 0 || strcmp(conf->tls_cert, running->tls_cert) != 0
	    || strcmp(conf->tls_key, running->tls_key) != 0)
		msg_warn("Scanner, ClamAVDatabase and TLS files change only on restart; keeping the running values");
	conf->nscanners = running->nscanners;
	memcpy(conf->scanners, running->scanners, sizeof(conf->scanners));
	strcpy(conf->clamav_database, running->clamav_database);
	conf->clamav_check_interval = running->clamav_check_interval;
	strcpy(conf->tls_ca, running->tls_ca);
	strcpy(conf->tls_cert, running->tls_cert);
	strcpy(conf->tls_key, running->tls_key);
	snapshot_keep_ratelimit(conf, running);
}

int
snapshot_reload(const char *conf_path)
{
	struct snapshot *current = snapshot_take(), *snap;
	struct conf_errors *errors = calloc(1, sizeof(*errors));
	struct hm_conf conf;
	char err[512];
	int rc = -1;

	if (!current || !errors)
		goto out;
	if (conf_load(conf_path, &conf, errors) < 0) {
		for (unsigned i = 0; i < errors->count; i++)
			msg_error("%s", errors->text[i]);
		msg_error("reload refused, keeping the running configuration");
		goto out;
	}
	snapshot_keep_fixed(&conf, &current->conf);
	if (snapshot_reload_check && snapshot_reload_check(&conf, &current->conf, err, sizeof(err)) < 0) {
		msg_error("reload refused, keeping the running configuration: %s", err);
		goto out;
	}
	pthread_mutex_lock(&snapshot_reload_lock);
	snap = snapshot_build(&conf, err, sizeof(err));
	if (snap) {
		snapshot_install(snap);
		rc = 0;
	} else
		msg_error("reload refused, keeping the running policy: %s", err);
	pthread_mutex_unlock(&snapshot_reload_lock);
out:
	free(errors);
	snapshot_release(current);
	return rc;
}

void
snapshot_shutdown(void)
{
	struct snapshot *old;

	pthread_mutex_lock(&snapshot_lock);
	old = snapshot_current;
	__atomic_store_n(&snapshot_current, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&snapshot_lock);
	snapshot_release(old);
}
