/*
 * snapshot - the configuration and policy database a connection works with.
 *
 * Promise: a connection takes a reference when it starts and moves to the
 * current snapshot at each transaction (snapshot_refresh), so a message
 * keeps the snapshot it started with and the next one sees a reload; a
 * reload (SIGHUP, or a new hostmilter.db noticed when a connection or a
 * transaction starts, its file checked at most every SNAPSHOT_CHECK_MS)
 * builds a new snapshot and swaps it in without waiting for anyone; the
 * old one is freed when its last connection lets go.  A reload that fails keeps the previous
 * snapshot and says why in the log.  Every snapshot's policy database has
 * passed pathsafe_policy for the daemon's user, at start and at each reload.
 */
#ifndef HM_SNAPSHOT_H
#define HM_SNAPSHOT_H

#include <stdbool.h>
#include <sys/stat.h>

#include "conf.h"
#include "pathsafe.h"
#include "policydb.h"

struct snapshot {
	unsigned refs;
	unsigned long generation;
	struct hm_conf conf;
	struct policydb *db;
	struct stat db_stat;
};

/*
 * Before snapshot_init: whom the daemon runs as (the policy database must
 * be safe from that user), and a check a reloaded configuration must pass
 * before it is used (NULL: none), given the running one for comparison.
 */
typedef int snapshot_check_fn(const struct hm_conf *conf, const struct hm_conf *running, char *err, size_t errlen);
void snapshot_set_guard(const struct pathsafe_user *user, snapshot_check_fn *reload_check);
/* At start, as root: 0, or -1 with err filled in. */
int snapshot_init(const struct hm_conf *conf, char *err, size_t errlen);
/* How often the policy database's file is looked at (a stat costs some 6 us here, per message). */
#define SNAPSHOT_CHECK_MS 10

/* The current snapshot, reloading the policy database first if it changed. */
struct snapshot *snapshot_acquire(void);
/* At a transaction: *held becomes the current snapshot (its reference moved); true when it changed. */
bool snapshot_refresh(struct snapshot **held);
void snapshot_release(struct snapshot *snap);
/* SIGHUP: read the configuration file again and reopen the database. */
int snapshot_reload(const char *conf_path);
void snapshot_shutdown(void);

#endif
