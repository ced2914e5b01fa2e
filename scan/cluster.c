/*
 * cluster - client-side balancing, circuit breakers, retry; see cluster.h.
 *
 * The breaker follows rspamd's upstreams and the half-open probe of its
 * 3.13 rework: a failure rate over a window plus a run of consecutive
 * failures, a revive time with +-40% jitter so that a fleet of milters
 * does not return to a node at the same instant, and a single probe at a
 * time.  Unlike rspamd, the last healthy node may open too: with
 * OnScannerFailure tempfail a quick 451 is better than a queue of
 * messages each waiting out its timeout on a dead node.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "msg.h"

struct cluster_node {
	void *impl;
	char address[300];
	enum node_state state;
	unsigned fails_in_a_row;
	uint32_t window;	/* bit i: the i-th most recent outcome failed */
	unsigned window_len;
	uint64_t open_until;
	unsigned revive_ms;
	uint64_t scans, failures;
	double latency_ms;
};

struct cluster {
	const struct scan_engine *engine;
	pthread_mutex_t lock;
	unsigned n, cap;
	struct cluster_node *nodes;
	unsigned next;
	unsigned seed;
};

struct cluster *
cluster_new(const struct scan_engine *engine)
{
	struct cluster *cluster = calloc(1, sizeof(*cluster));

	if (!cluster)
		return NULL;
	cluster->engine = engine;
	cluster->seed = (unsigned)net_now_ms();
	pthread_mutex_init(&cluster->lock, NULL);
	return cluster;
}

int
cluster_add(struct cluster *cluster, const char *address, const struct scan_settings *settings, char *err,
	    size_t errlen)
{
	struct cluster_node *node;

	if (cluster->n == cluster->cap) {
		unsigned cap = cluster->cap ? cluster->cap * 2 : 4;
		struct cluster_node *grown = realloc(cluster->nodes, cap * sizeof(*grown));

		if (!grown) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		cluster->nodes = grown;
		cluster->cap = cap;
	}
	node = &cluster->nodes[cluster->n];
	memset(node, 0, sizeof(*node));
	node->impl = cluster->engine->open(address, settings, err, errlen);
	if (!node->impl)
		return -1;
	snprintf(node->address, sizeof(node->address), "%s%s%.250s", cluster->engine->name, address[0] ? " " : "",
		 address);
	node->revive_ms = CLUSTER_REVIVE_MS;
	cluster->n++;
	return 0;
}

void
cluster_free(struct cluster *cluster)
{
	if (!cluster)
		return;
	for (unsigned i = 0; i < cluster->n; i++)
		cluster->engine->close(cluster->nodes[i].impl);
	free(cluster->nodes);
	pthread_mutex_destroy(&cluster->lock);
	free(cluster);
}

const struct scan_engine *
cluster_engine(const struct cluster *cluster)
{
	return cluster->engine;
}

unsigned
cluster_size(const struct cluster *cluster)
{
	return cluster->n;
}

void *
cluster_node_impl(struct cluster *cluster, unsigned i)
{
	return i < cluster->n ? cluster->nodes[i].impl : NULL;
}

const char *
cluster_state_name(enum node_state state)
{
	return state == NODE_CLOSED ? "up" : state == NODE_OPEN ? "down" : "probing";
}

void
cluster_node_stats(struct cluster *cluster, unsigned i, struct cluster_node_stats *stats)
{
	pthread_mutex_lock(&cluster->lock);
	stats->address = cluster->nodes[i].address;
	stats->state = cluster->nodes[i].state;
	stats->scans = cluster->nodes[i].scans;
	stats->failures = cluster->nodes[i].failures;
	stats->latency_ms = cluster->nodes[i].latency_ms;
	pthread_mutex_unlock(&cluster->lock);
}

/* The next node to try, or -1; an open node past its revive time becomes this caller's probe. */
static int
cluster_pick(struct cluster *cluster, const bool *tried)
{
	uint64_t now = net_now_ms();
	int picked = -1;

	pthread_mutex_lock(&cluster->lock);
	for (unsigned k = 0; k < cluster->n && picked < 0; k++) {
		unsigned i = (cluster->next + k) % cluster->n;
		struct cluster_node *node = &cluster->nodes[i];

		if (tried[i])
			continue;
		if (node->state == NODE_CLOSED)
			picked = (int)i;
		else if (node->state == NODE_OPEN && now >= node->open_until) {
			node->state = NODE_PROBING;
			picked = (int)i;
		}
	}
	cluster->next++;
	pthread_mutex_unlock(&cluster->lock);
	return picked;
}

static unsigned
cluster_jitter(struct cluster *cluster, unsigned ms)
{
	/* 60% to 140% of ms; rand_r under the cluster's lock. */
	return (unsigned)(ms * (0.6 + 0.8 * ((double)rand_r(&cluster->seed) / RAND_MAX)));
}

static void
cluster_open(struct cluster *cluster, struct cluster_node *node, const char *why, const char *note)
{
	unsigned wait = cluster_jitter(cluster, node->revive_ms);

	node->state = NODE_OPEN;
	node->open_until = net_now_ms() + wait;
	node->window = 0;
	node->window_len = 0;
	msg_warn("scanner %s: down (%s; last: %s); next probe in %.1f s", node->address, why, note, wait / 1000.0);
}

static unsigned
cluster_window_failures(const struct cluster_node *node)
{
	return (unsigned)__builtin_popcount(node->window);
}

static void
cluster_record(struct cluster *cluster, unsigned i, bool ok, uint64_t took_ms, const char *note)
{
	struct cluster_node *node = &cluster->nodes[i];

	pthread_mutex_lock(&cluster->lock);
	node->scans++;
	node->window = ((node->window << 1) | (ok ? 0u : 1u)) & ((1u << CLUSTER_WINDOW) - 1);
	if (node->window_len < CLUSTER_WINDOW)
		node->window_len++;
	if (ok) {
		node->latency_ms = node->latency_ms ? 0.8 * node->latency_ms + 0.2 * (double)took_ms : (double)took_ms;
		if (node->state != NODE_CLOSED)
			msg_info("scanner %s: up (probe answered)", node->address);
		node->state = NODE_CLOSED;
		node->fails_in_a_row = 0;
		node->revive_ms = CLUSTER_REVIVE_MS;
	} else {
		node->failures++;
		node->fails_in_a_row++;
		if (node->state == NODE_PROBING) {
			node->revive_ms = node->revive_ms * 2 > CLUSTER_REVIVE_MAX_MS ? CLUSTER_REVIVE_MAX_MS
										  : node->revive_ms * 2;
			cluster_open(cluster, node, "probe failed", note);
		} else if (node->state == NODE_CLOSED && node->fails_in_a_row >= CLUSTER_FAILS_IN_A_ROW)
			cluster_open(cluster, node, "failures in a row", note);
		else if (node->state == NODE_CLOSED && node->window_len >= CLUSTER_WINDOW / 2
			 && 2 * cluster_window_failures(node) >= node->window_len)
			cluster_open(cluster, node, "half of the recent scans failed", note);
		else
			msg_warn("scanner %s: %s", node->address, note);
	}
	pthread_mutex_unlock(&cluster->lock);
}

void
cluster_count(struct cluster *cluster, bool ok, uint64_t took_ms)
{
	struct cluster_node *node = cluster->n ? &cluster->nodes[0] : NULL;

	if (!node)
		return;
	pthread_mutex_lock(&cluster->lock);
	node->scans++;
	if (ok)
		node->latency_ms = node->latency_ms ? 0.8 * node->latency_ms + 0.2 * (double)took_ms : (double)took_ms;
	else
		node->failures++;
	pthread_mutex_unlock(&cluster->lock);
}

/* This attempt's deadline: keep a third of the budget for a retry when one is possible. */
static uint64_t
cluster_attempt_deadline(uint64_t deadline_ms, bool retry_possible)
{
	uint64_t now = net_now_ms();

	if (now >= deadline_ms || !retry_possible)
		return deadline_ms;
	return now + (deadline_ms - now) * 2 / 3;
}

void
cluster_scan(struct cluster *cluster, const struct scan_job *job, uint64_t deadline_ms, struct scan_result *result)
{
	bool tried[64] = { false };
	unsigned tries = 0;

	engine_fail(result, "every %s node is down", cluster->engine->name);
	while (tries < CLUSTER_TRIES && net_now_ms() < deadline_ms) {
		int i = cluster->n <= 64 ? cluster_pick(cluster, tried) : -1;
		uint64_t start = net_now_ms();
		struct net_wait wait = { 0, job->progress, job->progress_arg };
		struct scan_result attempt = { 0 };

		if (i < 0)
			break;
		tried[i] = true;
		tries++;
		wait.deadline_ms = cluster_attempt_deadline(deadline_ms, tries < CLUSTER_TRIES && tries < cluster->n);
		cluster->engine->scan(cluster->nodes[i].impl, job, &wait, &attempt);
		cluster_record(cluster, (unsigned)i, attempt.status != SCAN_FAILED, net_now_ms() - start, attempt.note);
		*result = attempt;
		if (attempt.status != SCAN_FAILED)
			return;
	}
}
