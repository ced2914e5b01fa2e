/*
 * scanners - the configured engines as one scan; see scanners.h.
 *
 * Engines run one after the other, virus engines first: a virus decides
 * the message whatever its spam score, so spamd's 0.2 s is saved then.
 * Two spam engines (spamd and rspamd) give the higher of their scores.
 * A virus engine that did not inspect the whole message (a skip or an
 * INCOMPLETE scan) has failed; a spam engine that skipped it leaves the
 * reason in outcome->skipped, for the marks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dstr.h"
#include "net.h"
#include "policydb.h"
#include "scanners.h"
#include "size.h"

struct scanners {
	unsigned n;
	struct cluster *clusters[CONF_SCANNERS_MAX];
	SSL_CTX *tls;
	uint64_t max_message;
};

static struct cluster *
scanners_cluster_for(struct scanners *scanners, const struct scan_engine *engine)
{
	for (unsigned i = 0; i < scanners->n; i++)
		if (cluster_engine(scanners->clusters[i]) == engine)
			return scanners->clusters[i];
	if (!(scanners->clusters[scanners->n] = cluster_new(engine)))
		return NULL;
	return scanners->clusters[scanners->n++];
}

static bool
scanners_need_tls(const struct hm_conf *conf)
{
	for (unsigned i = 0; i < conf->nscanners; i++)
		if (strncmp(conf->scanners[i].address, "tls:", 4) == 0)
			return true;
	return false;
}

/* The largest message the engines must inspect whole: ScanMaxSize, else the largest the policy accepts. */
static uint64_t
scanners_size_for(const struct hm_conf *conf)
{
	struct policydb *db;
	uint64_t size = SIZE_DEFAULT_LIMIT;	/* what a policy without a limit gets */
	char err[300];

	if (conf->scan_max_size > 0)
		return (uint64_t)conf->scan_max_size;
	if ((db = policydb_open(conf->policy_db, err, sizeof(err)))) {
		size = policydb_largest_size(db);
		policydb_close(db);
	}
	return size;
}

struct scanners *
scanners_open(const struct hm_conf *conf, char *err, size_t errlen)
{
	struct scanners *scanners = calloc(1, sizeof(*scanners));
	struct scan_settings settings = { conf, NULL, scanners_size_for(conf) };

	if (!scanners) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	scanners->max_message = settings.max_message;
	if (scanners_need_tls(conf)
	    && !(scanners->tls = net_tls_context(conf->tls_ca, conf->tls_cert, conf->tls_key, err, errlen)))
		goto fail;
	settings.tls = scanners->tls;
	for (unsigned i = 0; i < conf->nscanners; i++) {
		const struct conf_scanner *line = &conf->scanners[i];
		const struct scan_engine *engine = engine_find(line->engine);
		struct cluster *cluster = engine ? scanners_cluster_for(scanners, engine) : NULL;
		char why[300];

		if (!cluster || cluster_add(cluster, line->address, &settings, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "Scanner %s %s: %s", line->engine, line->address,
				 cluster ? why : "unknown engine");
			goto fail;
		}
	}
	return scanners;
fail:
	scanners_close(scanners);
	return NULL;
}

void
scanners_close(struct scanners *scanners)
{
	if (!scanners)
		return;
	for (unsigned i = 0; i < scanners->n; i++)
		cluster_free(scanners->clusters[i]);
	if (scanners->tls)
		SSL_CTX_free(scanners->tls);
	free(scanners);
}

bool
scanners_any(const struct scanners *scanners, enum scan_kind kind)
{
	for (unsigned i = 0; scanners && i < scanners->n; i++)
		if (cluster_engine(scanners->clusters[i])->kind == kind)
			return true;
	return false;
}

uint64_t
scanners_max_message(const struct scanners *scanners)
{
	return scanners ? scanners->max_message : SIZE_DEFAULT_LIMIT;
}

unsigned
scanners_count(const struct scanners *scanners)
{
	return scanners ? scanners->n : 0;
}

struct cluster *
scanners_cluster(struct scanners *scanners, unsigned i)
{
	return i < scanners->n ? scanners->clusters[i] : NULL;
}

static void
scanners_note(char *dst, size_t size, const char *engine, const char *note)
{
	size_t len = strlen(dst);

	if (len == 0)
		snprintf(dst, size, "%s: %s", engine, note);
	else if (len + 3 < size)
		snprintf(dst + len, size - len, "; %s: %s", engine, note);
}

/* An engine that gave a verdict, named once however many of its clusters did: the four engines' names
 * fit virus_engines together, so the list is never cut. */
static void
scanners_engine_named(struct scan_outcome *outcome, const char *name)
{
	char *list = outcome->virus_engines;
	size_t len = strlen(list), n = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return;
	if (dstr_fmt(list + len, sizeof(outcome->virus_engines) - len, "%s%s", len ? "," : "", name) < 0)
		list[len] = '\0';	/* cannot happen with four engines; a cut name would be another */
}

void
scanners_add(struct scan_outcome *outcome, const struct scan_engine *engine, const struct scan_result *result)
{
	bool virus = engine->kind == SCAN_KIND_VIRUS;

	if (virus && result->status == SCAN_INCOMPLETE) {
		outcome->virus_incomplete = true;
		if (!outcome->incomplete[0])
			scanners_note(outcome->incomplete, sizeof(outcome->incomplete), engine->name, result->note);
		return;
	}
	if (virus && result->status == SCAN_ENCRYPTED) {
		outcome->encrypted = true;
		if (!outcome->encrypted_why[0])
			snprintf(outcome->encrypted_why, sizeof(outcome->encrypted_why), "%s", result->note);
	}
	if (result->status == SCAN_FAILED || result->status == SCAN_INCOMPLETE
	    || (virus && result->status == SCAN_SKIPPED)) {
		*(virus ? &outcome->virus_failed : &outcome->spam_failed) = true;
		if (!outcome->failure[0])
			scanners_note(outcome->failure, sizeof(outcome->failure), engine->name, result->note);
	} else if (result->status == SCAN_SKIPPED)
		scanners_note(outcome->skipped, sizeof(outcome->skipped), engine->name, result->note);
	else if (virus) {
		scanners_engine_named(outcome, engine->name);
		if (result->virus && !outcome->virus) {
			outcome->virus = true;
			memcpy(outcome->virus_name, result->virus_name, sizeof(outcome->virus_name));
		}
	} else if (!outcome->spam_scored || result->score > outcome->score) {
		outcome->spam_scored = true;
		outcome->score = result->score;
		outcome->required = result->required;
		memcpy(outcome->rules, result->rules, sizeof(outcome->rules));
	}
}

/* Whether an engine parses the message in this process (libclamav): a scan worker runs it (workers.h). */
static bool
scanners_local_engine(const struct scan_engine *engine)
{
	return engine == &engine_clamav;
}

bool
scanners_in_process(const struct scanners *scanners)
{
	for (unsigned i = 0; scanners && i < scanners->n; i++)
		if (scanners_local_engine(cluster_engine(scanners->clusters[i])))
			return true;
	return false;
}

unsigned
scanners_generation(struct scanners *scanners)
{
	unsigned generation = 0;

	for (unsigned i = 0; scanners && i < scanners->n; i++)
		for (unsigned j = 0; scanners_local_engine(cluster_engine(scanners->clusters[i]))
				     && j < cluster_size(scanners->clusters[i]); j++)
			generation += clamav_generation(cluster_node_impl(scanners->clusters[i], j));
	return generation;
}

/* Each libclamav node's reload thread; -1 when one cannot start. */
int
scanners_watch(struct scanners *scanners)
{
	for (unsigned i = 0; scanners && i < scanners->n; i++)
		for (unsigned j = 0; scanners_local_engine(cluster_engine(scanners->clusters[i]))
				     && j < cluster_size(scanners->clusters[i]); j++)
			if (clamav_watch(cluster_node_impl(scanners->clusters[i], j)) < 0)
				return -1;
	return 0;
}

void
scanners_drop_local(struct scanners *scanners)
{
	for (unsigned i = 0; scanners && i < scanners->n; i++)
		for (unsigned j = 0; scanners_local_engine(cluster_engine(scanners->clusters[i]))
				     && j < cluster_size(scanners->clusters[i]); j++)
			clamav_drop(cluster_node_impl(scanners->clusters[i], j));
}

bool
scanners_check(struct scanners *scanners)
{
	bool reloaded = false;

	for (unsigned i = 0; scanners && i < scanners->n; i++)
		for (unsigned j = 0; scanners_local_engine(cluster_engine(scanners->clusters[i]))
				     && j < cluster_size(scanners->clusters[i]); j++)
			reloaded |= clamav_check(cluster_node_impl(scanners->clusters[i], j));
	return reloaded;
}

void
scanners_scan_local(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
		    struct scan_result *result)
{
	memset(result, 0, sizeof(*result));
	for (unsigned i = 0; scanners && i < scanners->n; i++)
		if (scanners_local_engine(cluster_engine(scanners->clusters[i])))
			cluster_scan(scanners->clusters[i], job, deadline_ms, result);
}

void
scanners_scan_given(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
		    const struct scan_result *local, struct scan_outcome *outcome)
{
	memset(outcome, 0, sizeof(*outcome));
	for (enum scan_kind kind = SCAN_KIND_VIRUS; kind <= SCAN_KIND_SPAM; kind++) {
		if (kind == SCAN_KIND_SPAM && (outcome->virus || !job->want_spam)) {
			snprintf(outcome->skipped, sizeof(outcome->skipped), "%s",
				 outcome->virus ? "a virus was found" : "no recipient's policy asks for it");
			break;
		}
		for (unsigned i = 0; scanners && i < scanners->n; i++) {
			const struct scan_engine *engine = cluster_engine(scanners->clusters[i]);
			struct scan_result result = { 0 };

			if (engine->kind != kind)
				continue;
			if (local && scanners_local_engine(engine))
				result = *local;
			else
				cluster_scan(scanners->clusters[i], job, deadline_ms, &result);
			scanners_add(outcome, engine, &result);
		}
	}
}

void
scanners_scan(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
	      struct scan_outcome *outcome)
{
	scanners_scan_given(scanners, job, deadline_ms, NULL, outcome);
}
