/*
 * stats - counters and their reports; see stats.h.
 *
 * Decisions are keyed by (stage, rule, action) rather than by a fixed
 * enum so that a rule added to decide.c or verdict.c is counted without
 * touching this file.  Every rule name is a string literal of those
 * modules, but the table keeps copies: a report must never follow a
 * pointer into memory a reload has freed.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "msg.h"
#include "ratelimit.h"
#include "scanners.h"
#include "stats.h"
#include "workers.h"

#define STATS_NAME_MAX 32
#define STATS_PER_LINE 6	/* decisions per syslog line: well under syslog's 1024 bytes */

struct stats_entry {
	char stage[8];
	char rule[STATS_NAME_MAX];
	char action[STATS_NAME_MAX];
	uint64_t count;
};

static const char *const stats_outcome_names[STATS_OUTCOMES] = {
	"accepted", "quarantined", "discarded", "rejected", "tempfailed", "aborted", "no-recipients",
};

static uint64_t stats_outcomes[STATS_OUTCOMES];

/* Rate-limit charges by verdict (the order of enum ratelimit_verdict), then store errors and fallbacks. */
enum { STATS_RL_VERDICTS = 3, STATS_RL_STORE_ERRORS = 3, STATS_RL_FALLBACKS = 4, STATS_RL_COUNTERS = 5 };
static const char *const stats_rl_verdict_names[STATS_RL_VERDICTS] = { "allowed", "limited", "store-failed" };
static uint64_t stats_rl[STATS_RL_COUNTERS];
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_entry stats_entries[STATS_DECISIONS_MAX];
static unsigned stats_nentries;
static uint64_t stats_overflow;
static time_t stats_started;
static struct scanners *stats_scanners;
static struct workers *stats_workers_pool;	/* NULL: scanning in the milter's threads */

void
stats_init(struct scanners *scanners)
{
	stats_scanners = scanners;
	stats_started = time(NULL);
}

void
stats_set_workers(struct workers *workers)
{
	stats_workers_pool = workers;
}

void
stats_reset(void)
{
	pthread_mutex_lock(&stats_lock);
	memset(stats_outcomes, 0, sizeof(stats_outcomes));
	memset(stats_rl, 0, sizeof(stats_rl));
	stats_nentries = 0;
	stats_overflow = 0;
	pthread_mutex_unlock(&stats_lock);
}

const char *
stats_outcome_name(enum stats_outcome outcome)
{
	return outcome < STATS_OUTCOMES ? stats_outcome_names[outcome] : "unknown";
}

void
stats_message(enum stats_outcome outcome)
{
	if (outcome < STATS_OUTCOMES)
		__atomic_fetch_add(&stats_outcomes[outcome], 1, __ATOMIC_RELAXED);
}

void
stats_ratelimit(const struct ratelimit_result *result)
{
	if ((unsigned)result->verdict < STATS_RL_VERDICTS)
		__atomic_fetch_add(&stats_rl[result->verdict], 1, __ATOMIC_RELAXED);
	if (result->store_error)
		__atomic_fetch_add(&stats_rl[STATS_RL_STORE_ERRORS], 1, __ATOMIC_RELAXED);
	if (result->fallback)
		__atomic_fetch_add(&stats_rl[STATS_RL_FALLBACKS], 1, __ATOMIC_RELAXED);
}

static bool
stats_entry_is(const struct stats_entry *e, const char *stage, const char *rule, const char *action)
{
	return strcmp(e->stage, stage) == 0 && strcmp(e->rule, rule) == 0 && strcmp(e->action, action) == 0;
}

void
stats_decision(const char *stage, const char *rule, const char *action)
{
	unsigned i;

	if (!stage || !rule || !action)
		return;
	pthread_mutex_lock(&stats_lock);
	for (i = 0; i < stats_nentries && !stats_entry_is(&stats_entries[i], stage, rule, action); i++)
		;
	if (i == stats_nentries && stats_nentries < STATS_DECISIONS_MAX && strlen(stage) < sizeof(stats_entries[i].stage)
	    && strlen(rule) < STATS_NAME_MAX && strlen(action) < STATS_NAME_MAX) {
		strcpy(stats_entries[i].stage, stage);
		strcpy(stats_entries[i].rule, rule);
		strcpy(stats_entries[i].action, action);
		stats_entries[i].count = 0;
		stats_nentries++;
	}
	if (i < stats_nentries)
		stats_entries[i].count++;
	else
		stats_overflow++;
	pthread_mutex_unlock(&stats_lock);
}

/* The counters at one moment, copied so that no report holds the lock while it writes. */
struct stats_counts {
	uint64_t outcomes[STATS_OUTCOMES];
	uint64_t rl[STATS_RL_COUNTERS];
	struct stats_entry entries[STATS_DECISIONS_MAX];
	unsigned n;
	uint64_t overflow;
};

static struct stats_counts *
stats_counts_now(void)
{
	struct stats_counts *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	for (unsigned i = 0; i < STATS_OUTCOMES; i++)
		c->outcomes[i] = __atomic_load_n(&stats_outcomes[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < STATS_RL_COUNTERS; i++)
		c->rl[i] = __atomic_load_n(&stats_rl[i], __ATOMIC_RELAXED);
	pthread_mutex_lock(&stats_lock);
	c->n = stats_nentries;
	memcpy(c->entries, stats_entries, c->n * sizeof(*c->entries));
	c->overflow = stats_overflow;
	pthread_mutex_unlock(&stats_lock);
	return c;
}

static long
stats_uptime(void)
{
	time_t now = time(NULL);

	return stats_started && now >= stats_started ? (long)(now - stats_started) : 0;
}

typedef void stats_node_writer(FILE *out, const char *engine, const struct cluster_node_stats *node);

/* The node's address without the engine's name that cluster puts before it for the log. */
static const char *
stats_node_address(const char *engine, const char *address)
{
	size_t len = strlen(engine);

	if (strncmp(address, engine, len) == 0 && (address[len] == ' ' || address[len] == '\0'))
		address += len + (address[len] == ' ');
	return address[0] ? address : "in-process";
}

static void
stats_each_node(FILE *out, stats_node_writer *write)
{
	for (unsigned c = 0; stats_scanners && c < scanners_count(stats_scanners); c++) {
		struct cluster *cluster = scanners_cluster(stats_scanners, c);

		for (unsigned i = 0; i < cluster_size(cluster); i++) {
			struct cluster_node_stats node;

			cluster_node_stats(cluster, i, &node);
			node.address = stats_node_address(cluster_engine(cluster)->name, node.address);
			write(out, cluster_engine(cluster)->name, &node);
		}
	}
}

static void
stats_report_decisions(FILE *out, const struct stats_entry *entries, unsigned n, uint64_t overflow)
{
	for (unsigned i = 0; i < n; i++) {
		if (i % STATS_PER_LINE == 0)
			fprintf(out, "%sstats: decisions", i ? "\n" : "");
		fprintf(out, " %s/%s/%s=%" PRIu64, entries[i].stage, entries[i].rule, entries[i].action,
			entries[i].count);
	}
	if (n)
		fputc('\n', out);
	if (overflow)
		fprintf(out, "stats: decisions other=%" PRIu64 "\n", overflow);
}

static void
stats_write_node_line(FILE *out, const char *engine, const struct cluster_node_stats *node)
{
	fprintf(out, "stats: scanner %s %s state=%s scans=%" PRIu64 " failures=%" PRIu64 " latency=%.1fms\n", engine,
		node->address, cluster_state_name(node->state), node->scans, node->failures, node->latency_ms);
}

int
stats_report(FILE *out)
{
	struct stats_counts *c = stats_counts_now();

	if (!c)
		return -1;
	fprintf(out, "stats: uptime %lds, messages", stats_uptime());
	for (unsigned i = 0; i < STATS_OUTCOMES; i++)
		fprintf(out, " %s=%" PRIu64, stats_outcome_names[i], c->outcomes[i]);
	fputc('\n', out);
	stats_report_decisions(out, c->entries, c->n, c->overflow);
	fputs("stats: ratelimit", out);
	for (unsigned i = 0; i < STATS_RL_VERDICTS; i++)
		fprintf(out, " %s=%" PRIu64, stats_rl_verdict_names[i], c->rl[i]);
	fprintf(out, " store-errors=%" PRIu64 " fallbacks=%" PRIu64 "\n", c->rl[STATS_RL_STORE_ERRORS],
		c->rl[STATS_RL_FALLBACKS]);
	stats_each_node(out, stats_write_node_line);
	if (stats_workers_pool) {
		struct workers_counts w;

		workers_counts(stats_workers_pool, &w);
		fprintf(out, "stats: scan workers alive=%u restarts=%" PRIu64 " lost-messages=%" PRIu64
			     " poison-messages=%" PRIu64 "\n", w.alive, w.restarts, w.lost, w.poison);
	}
	free(c);
	return ferror(out) ? -1 : 0;
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static void
stats_label(FILE *out, const char *name, const char *value, bool last)
{
	fprintf(out, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputs(last ? "\"}" : "\",", out);
}

static void
stats_metric_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
stats_prometheus_messages(FILE *out, const uint64_t *outcomes)
{
	stats_metric_head(out, "hostmilter_messages_total", "counter", "Messages by how they ended.");
	for (unsigned i = 0; i < STATS_OUTCOMES; i++) {
		fputs("hostmilter_messages_total{", out);
		stats_label(out, "outcome", stats_outcome_names[i], true);
		fprintf(out, " %" PRIu64 "\n", outcomes[i]);
	}
}

static void
stats_prometheus_decisions(FILE *out, const struct stats_entry *entries, unsigned n, uint64_t overflow)
{
	stats_metric_head(out, "hostmilter_decisions_total", "counter",
			  "Decisions by stage, the rule that made them, and action.");
	for (unsigned i = 0; i < n; i++) {
		fputs("hostmilter_decisions_total{", out);
		stats_label(out, "stage", entries[i].stage, false);
		stats_label(out, "rule", entries[i].rule, false);
		stats_label(out, "action", entries[i].action, true);
		fprintf(out, " %" PRIu64 "\n", entries[i].count);
	}
	stats_metric_head(out, "hostmilter_decisions_uncounted_total", "counter",
			  "Decisions beyond the table's distinct rules, counted only here.");
	fprintf(out, "hostmilter_decisions_uncounted_total %" PRIu64 "\n", overflow);
}

static void
stats_prometheus_ratelimit(FILE *out, const uint64_t *rl)
{
	stats_metric_head(out, "hostmilter_ratelimit_charges_total", "counter",
			  "Recipients charged to a rate limit, by verdict (store-failed: OnRateLimitStoreFailure tempfail).");
	for (unsigned i = 0; i < STATS_RL_VERDICTS; i++) {
		fputs("hostmilter_ratelimit_charges_total{", out);
		stats_label(out, "verdict", stats_rl_verdict_names[i], true);
		fprintf(out, " %" PRIu64 "\n", rl[i]);
	}
	stats_metric_head(out, "hostmilter_ratelimit_store_errors_total", "counter",
			  "Charges the configured rate-limit store was asked for and failed to answer.");
	fprintf(out, "hostmilter_ratelimit_store_errors_total %" PRIu64 "\n", rl[STATS_RL_STORE_ERRORS]);
	stats_metric_head(out, "hostmilter_ratelimit_fallbacks_total", "counter",
			  "Charges answered by OnRateLimitStoreFailure local or accept instead of the store.");
	fprintf(out, "hostmilter_ratelimit_fallbacks_total %" PRIu64 "\n", rl[STATS_RL_FALLBACKS]);
}

static void
stats_node_labels(FILE *out, const char *engine, const char *address, const char *state)
{
	fputc('{', out);
	stats_label(out, "engine", engine, false);
	stats_label(out, "node", address, state == NULL);
	if (state)
		stats_label(out, "state", state, true);
}

/* One series per state, 1 for the node's own: Prometheus's way of writing an enum. */
static void
stats_write_node_state(FILE *out, const char *engine, const struct cluster_node_stats *node)
{
	static const enum node_state states[] = { NODE_CLOSED, NODE_OPEN, NODE_PROBING };

	for (unsigned s = 0; s < sizeof(states) / sizeof(*states); s++) {
		fputs("hostmilter_scanner_node_state", out);
		stats_node_labels(out, engine, node->address, cluster_state_name(states[s]));
		fprintf(out, " %d\n", node->state == states[s]);
	}
}

static void
stats_write_node_scans(FILE *out, const char *engine, const struct cluster_node_stats *node)
{
	fputs("hostmilter_scanner_node_scans_total", out);
	stats_node_labels(out, engine, node->address, NULL);
	fprintf(out, " %" PRIu64 "\n", node->scans);
}

static void
stats_write_node_failures(FILE *out, const char *engine, const struct cluster_node_stats *node)
{
	fputs("hostmilter_scanner_node_failures_total", out);
	stats_node_labels(out, engine, node->address, NULL);
	fprintf(out, " %" PRIu64 "\n", node->failures);
}

static void
stats_write_node_latency(FILE *out, const char *engine, const struct cluster_node_stats *node)
{
	fputs("hostmilter_scanner_node_latency_seconds", out);
	stats_node_labels(out, engine, node->address, NULL);
	fprintf(out, " %.6f\n", node->latency_ms / 1000.0);
}

static void
stats_prometheus_nodes(FILE *out)
{
	stats_metric_head(out, "hostmilter_scanner_node_state", "gauge",
			  "1 for the state each scanner node is in: up, down (circuit open) or probing.");
	stats_each_node(out, stats_write_node_state);
	stats_metric_head(out, "hostmilter_scanner_node_scans_total", "counter", "Scans sent to the node.");
	stats_each_node(out, stats_write_node_scans);
	stats_metric_head(out, "hostmilter_scanner_node_failures_total", "counter",
			  "Scans the node failed: no verdict in time, refused, or garbage.");
	stats_each_node(out, stats_write_node_failures);
	stats_metric_head(out, "hostmilter_scanner_node_latency_seconds", "gauge",
			  "Moving average (weight 0.2) of the node's successful scan times.");
	stats_each_node(out, stats_write_node_latency);
}

/* Zeros without workers: a dashboard's query works whichever way the daemon scans. */
static void
stats_prometheus_workers(FILE *out)
{
	struct workers_counts w;

	workers_counts(stats_workers_pool, &w);
	stats_metric_head(out, "hostmilter_scan_workers", "gauge", "Scan workers ready or scanning now.");
	fprintf(out, "hostmilter_scan_workers %u\n", w.alive);
	stats_metric_head(out, "hostmilter_scan_worker_restarts_total", "counter",
			  "Scan workers that died or were killed (crash, limit, deadline) and were replaced.");
	fprintf(out, "hostmilter_scan_worker_restarts_total %" PRIu64 "\n", w.restarts);
	stats_metric_head(out, "hostmilter_scan_worker_lost_messages_total", "counter",
			  "Messages a scan worker died with (OnScannerFailure, or uninspectable when poison).");
	fprintf(out, "hostmilter_scan_worker_lost_messages_total %" PRIu64 "\n", w.lost);
	stats_metric_head(out, "hostmilter_scan_poison_messages_total", "counter",
			  "Messages whose content took a scan worker down a second time (uninspectable).");
	fprintf(out, "hostmilter_scan_poison_messages_total %" PRIu64 "\n", w.poison);
}

int
stats_prometheus(FILE *out)
{
	struct stats_counts *c = stats_counts_now();

	if (!c)
		return -1;
	stats_metric_head(out, "hostmilter_info", "gauge", "The running hostmilter's version.");
	fputs("hostmilter_info{", out);
	stats_label(out, "version", PACKAGE_VERSION, true);
	fputs(" 1\n", out);
	stats_metric_head(out, "hostmilter_uptime_seconds", "gauge", "Seconds since hostmilter started.");
	fprintf(out, "hostmilter_uptime_seconds %ld\n", stats_uptime());
	stats_prometheus_messages(out, c->outcomes);
	stats_prometheus_decisions(out, c->entries, c->n, c->overflow);
	stats_prometheus_ratelimit(out, c->rl);
	stats_prometheus_nodes(out);
	stats_prometheus_workers(out);
	free(c);
	return ferror(out) ? -1 : 0;
}

void
stats_log(void)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out) {
		msg_warn("stats: out of memory");
		return;
	}
	if ((stats_report(out) < 0) | (fclose(out) != 0)) {	/* both, so that the stream is closed */
		msg_warn("stats: out of memory");
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		msg_info("%s", line);
	free(text);
}
