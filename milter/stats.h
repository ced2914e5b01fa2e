/*
 * stats - what hostmilter decided, counted, and the two ways to read it.
 *
 * Promise: stats_message and stats_decision are cheap enough for every
 * callback (an atomic add, or a locked walk of at most STATS_DECISIONS_MAX
 * short entries) and safe from any thread; so is stats_ratelimit.  Counters start at zero when
 * the daemon starts and a reload does not reset them.  stats_report
 * writes them, with each scanner node's state, scans, failures and
 * latency read from its cluster at that moment, as a few lines for
 * syslog; stats_prometheus writes the same figures in Prometheus's text
 * exposition format 0.0.4.  Neither reads a socket or a clock other than
 * the wall clock for the uptime.
 */
#ifndef HM_STATS_H
#define HM_STATS_H

#include <stdio.h>

struct scanners;
struct ratelimit_result;
struct workers;

/* How a message ended.  NO_RECIPIENTS: the client gave up after every recipient was refused. */
enum stats_outcome {
	STATS_ACCEPTED,
	STATS_QUARANTINED,
	STATS_DISCARDED,
	STATS_REJECTED,
	STATS_TEMPFAILED,
	STATS_ABORTED,
	STATS_NO_RECIPIENTS,
	STATS_OUTCOMES
};

/* Distinct (stage, rule, action) triples kept; more are counted as one "other". */
#define STATS_DECISIONS_MAX 96

/* Starts the clock; scanners may be NULL (no node figures). */
void stats_init(struct scanners *scanners);
/* The scan workers whose restarts and poison messages are reported (NULL: none, ScanWorkers 0). */
void stats_set_workers(struct workers *workers);
void stats_message(enum stats_outcome outcome);
/* stage: "mail", "rcpt", "data" or "scan"; rule and action as in the log line. */
void stats_decision(const char *stage, const char *rule, const char *action);

/* One rate-limit charge (ratelimit.h): counted as allowed, limited or store-failed by its
 * verdict, and as a store error and a fallback when it was one. */
void stats_ratelimit(const struct ratelimit_result *result);

const char *stats_outcome_name(enum stats_outcome outcome);

/* 0, or -1 when out could not be written. */
int stats_report(FILE *out);
int stats_prometheus(FILE *out);
/* stats_report's lines to syslog (and stderr in the foreground). */
void stats_log(void);

/* For the unit tests: back to zero. */
void stats_reset(void);

#endif
