/*
 * scanners - the configured engines as one scan; see scanners.h.
 *
 * Engines run one after the other, virus engines first: a virus decides
 * the message whatever its spam score, so spamd's 0.2 s is saved then.
 * Two spam engines (spamd and rspamd) give the higher of their scores.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "net.h"
#include "scanners.h"

struct scanners {
	unsigned n;
	struct cluster *clusters[CONF_SCANNERS_MAX];
	SSL_CTX *tls;
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

struct scanners *
scanners_open(const struct hm_conf *conf, char *err, size_t errlen)
{
	struct scanners *scanners = calloc(1, sizeof(*scanners));
	struct scan_settings settings = { conf, NULL };

	if (!scanners) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
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

static void
scanners_add(struct scan_outcome *outcome, const struct scan_engine *engine, const struct scan_result *result)
{
	if (result->status == SCAN_FAILED) {
		*(engine->kind == SCAN_KIND_VIRUS ? &outcome->virus_failed : &outcome->spam_failed) = true;
		if (!outcome->failure[0])
			scanners_note(outcome->failure, sizeof(outcome->failure), engine->name, result->note);
	} else if (result->status == SCAN_SKIPPED)
		scanners_note(outcome->skipped, sizeof(outcome->skipped), engine->name, result->note);
	else if (engine->kind == SCAN_KIND_VIRUS) {
		size_t len = strlen(outcome->virus_engines);

		snprintf(outcome->virus_engines + len, sizeof(outcome->virus_engines) - len, "%s%s", len ? "," : "",
			 engine->name);
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

void
scanners_scan(struct scanners *scanners, const struct scan_job *job, uint64_t deadline_ms,
	      struct scan_outcome *outcome)
{
	memset(outcome, 0, sizeof(*outcome));
	for (enum scan_kind kind = SCAN_KIND_VIRUS; kind <= SCAN_KIND_SPAM; kind++) {
		if (kind == SCAN_KIND_SPAM && (outcome->virus || !job->want_spam))
			break;
		for (unsigned i = 0; scanners && i < scanners->n; i++) {
			const struct scan_engine *engine = cluster_engine(scanners->clusters[i]);
			struct scan_result result = { 0 };

			if (engine->kind != kind)
				continue;
			cluster_scan(scanners->clusters[i], job, deadline_ms, &result);
			scanners_add(outcome, engine, &result);
		}
	}
}
