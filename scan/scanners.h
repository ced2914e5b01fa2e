/*
 * scanners - every configured engine, one cluster each, as one scan.
 *
 * Promise: scanners_open turns the Scanner lines of hostmilter.conf into
 * clusters (lines naming the same engine join one cluster), opening every
 * node -- libclamav's database, TLS keys -- so that the caller can drop
 * privileges afterwards; engines with limits of their own (libclamav's)
 * size them for ScanMaxSize, or else the largest message PolicyDB
 * accepts, read once here.  scanners_scan runs the virus engines, then, when
 * no virus was found and some recipient wants it, the spam engines, all
 * within one deadline, and sums their answers in a scan_outcome that keeps
 * verdicts, deliberate skips and failures apart.
 */
#ifndef HM_SCANNERS_H
#define HM_SCANNERS_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "engine.h"

struct hm_conf;
struct scanners;

struct scan_outcome {
	bool virus;
	char virus_name[SCAN_NAME_MAX];
	bool virus_failed;	/* a virus engine failed: the next try may pass (OnScannerFailure) */
	bool virus_incomplete;	/* a virus engine hit one of its limits: the next try will too ("uninspectable") */
	char incomplete[200];	/* what it did not inspect */
	bool encrypted;		/* a virus engine found content it cannot decrypt ("encrypted") */
	char encrypted_why[200];
	bool spam_scored;
	double score, required;
	char rules[SCAN_RULES_MAX];
	bool spam_failed;
	char failure[200];	/* the first failure, for the log */
	char skipped[200];	/* why no spam engine scored it: "spamd: larger than SpamMaxSize" */
	char virus_engines[64];	/* engines that gave a virus verdict: "clamav,clamd" */
};

struct scanners *scanners_open(const struct hm_conf *conf, char *err, size_t errlen);
void scanners_close(struct scanners *scanners);

bool scanners_any(const struct scanners *scanners, enum scan_kind kind);
unsigned scanners_count(const struct scanners *scanners);
/* The largest message the engines were sized to inspect whole. */
uint64_t scanners_max_message(const struct scanners *scanners);
struct cluster *scanners_cluster(struct scanners *scanners, unsigned i);

void scanners_scan(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
		   struct scan_outcome *outcome);
/*
 * The same with the in-process engines' result (libclamav's) given, as a
 * scan worker found it (workers.h), instead of run here; local NULL: run
 * them here too.  scanners_scan_local runs those engines alone (in the
 * worker); scanners_in_process says whether there are any, and
 * scanners_generation changes whenever a reload replaced their engine.
 */
void scanners_scan_given(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
			 const struct scan_result *local, struct scan_outcome *outcome);
void scanners_scan_local(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
			 struct scan_result *result);
bool scanners_in_process(const struct scanners *scanners);
unsigned scanners_generation(struct scanners *scanners);
/*
 * libclamav's database is watched by a reload thread per node, started
 * by scanners_watch (not by scanners_open: the scan workers' fork server
 * must be forked before any thread); or, single-threaded, by calling
 * scanners_check every second or so, which reloads what changed and says
 * whether anything did.
 */
int scanners_watch(struct scanners *scanners);
bool scanners_check(struct scanners *scanners);
/*
 * The in-process engines freed in this process: the scan workers' fork
 * server holds its own copy and reloads it; without this, the daemon would
 * keep the first engine, unused, for ever (a second copy after a reload).
 */
void scanners_drop_local(struct scanners *scanners);
/* Adds one engine's result to the outcome (what scanners_scan does for each; for the tests). */
void scanners_add(struct scan_outcome *outcome, const struct scan_engine *engine, const struct scan_result *result);

#endif
