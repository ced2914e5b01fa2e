/*
 * cluster - the nodes of one engine, used as one scanner.
 *
 * Promise: a scan goes to a healthy node, chosen round-robin; when the
 * node fails before it has given a verdict, the message is sent again from
 * the spool to another node (at most CLUSTER_TRIES nodes per message), so
 * one dead node costs a retry, not a tempfail.  Each node has a circuit
 * breaker: it opens after CLUSTER_FAILS_IN_A_ROW consecutive failures, or
 * when half of the last CLUSTER_WINDOW outcomes failed; an open node gets
 * no traffic until a jittered revive time has passed, then exactly one
 * message probes it, and the revive time doubles (up to a cap) each time
 * the probe fails.  Every state change is logged.  The result is a
 * verdict, a skip, or -- when no node could give either -- a failure; the
 * caller's OnScannerFailure decides what a failure means for the mail.
 */
#ifndef HM_CLUSTER_H
#define HM_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define CLUSTER_TRIES 2
#define CLUSTER_FAILS_IN_A_ROW 3
#define CLUSTER_WINDOW 20
#define CLUSTER_REVIVE_MS 5000
#define CLUSTER_REVIVE_MAX_MS 300000

struct cluster;

enum node_state { NODE_CLOSED, NODE_OPEN, NODE_PROBING };

struct cluster_node_stats {
	const char *address;
	enum node_state state;
	uint64_t scans, failures;
	double latency_ms;	/* moving average of successful scans */
};

struct cluster *cluster_new(const struct scan_engine *engine);
/* Opens one node (before privileges drop); 0 or -1 with err. */
int cluster_add(struct cluster *cluster, const char *address, const struct scan_settings *settings, char *err,
		size_t errlen);
void cluster_free(struct cluster *cluster);

const struct scan_engine *cluster_engine(const struct cluster *cluster);
unsigned cluster_size(const struct cluster *cluster);
void cluster_node_stats(struct cluster *cluster, unsigned i, struct cluster_node_stats *stats);
const char *cluster_state_name(enum node_state state);
void *cluster_node_impl(struct cluster *cluster, unsigned i);

/* A scan the first node's copy in a scan worker made (workers.h), counted in its figures
 * here; the breaker is the worker's own. */
void cluster_count(struct cluster *cluster, bool ok, uint64_t took_ms);

/* Scans until deadline_ms (net_now_ms clock). */
void cluster_scan(struct cluster *cluster, const struct scan_job *job, uint64_t deadline_ms,
		  struct scan_result *result);

#endif
