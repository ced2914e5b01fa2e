/*
 * engine - the table of engines and what they share; see engine.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

const struct scan_engine *
engine_find(const char *name)
{
	static const struct scan_engine *const engines[] = { &engine_clamav, &engine_clamd, &engine_spamd,
							     &engine_rspamd };

	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)	/* NOLINT(bugprone-sizeof-expression) */
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

struct engine_node *
engine_node_open(const char *address, const struct scan_settings *settings, uint64_t max_size, char *err,
		 size_t errlen)
{
	struct engine_node *node = calloc(1, sizeof(*node));

	if (!node) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (net_addr_parse(address, &node->addr, err, errlen) < 0) {
		free(node);
		return NULL;
	}
	if (strncmp(address, "tls:", 4) == 0) {
		if (!(node->tls = settings->tls)) {
			snprintf(err, errlen, "%s needs TLS, which could not be set up", address);
			free(node);
			return NULL;
		}
		snprintf(node->addr.text, sizeof(node->addr.text), "%.290s", address);
	}
	node->max_size = max_size;
	return node;
}

void
engine_node_close(void *node)
{
	free(node);
}

int
engine_write_chunk(const void *data, size_t len, void *arg)
{
	struct engine_stream *stream = arg;

	return net_write(stream->conn, data, len, stream->wait);
}

void
engine_fail(struct scan_result *result, const char *fmt, ...)
{
	va_list ap;

	result->status = SCAN_FAILED;
	result->virus = false;
	va_start(ap, fmt);
	vsnprintf(result->note, sizeof(result->note), fmt, ap);
	va_end(ap);
}

void
engine_incomplete(struct scan_result *result, const char *fmt, ...)
{
	va_list ap;

	result->status = SCAN_INCOMPLETE;
	result->virus = false;
	va_start(ap, fmt);
	vsnprintf(result->note, sizeof(result->note), fmt, ap);
	va_end(ap);
}

bool
engine_limit_alert(const char *virus_name)
{
	static const char prefix[] = "Heuristics.Limits.Exceeded";

	return strncmp(virus_name, prefix, sizeof(prefix) - 1) == 0;
}

bool
engine_time_alert(const char *virus_name)
{
	return engine_limit_alert(virus_name) && strstr(virus_name, "MaxScanTime") != NULL;
}

bool
engine_encrypted_alert(const char *virus_name)
{
	static const char prefix[] = "Heuristics.Encrypted.";

	return strncmp(virus_name, prefix, sizeof(prefix) - 1) == 0;
}

bool
engine_alert(const char *engine, const char *virus_name, struct scan_result *result)
{
	if (engine_time_alert(virus_name))
		engine_fail(result, "%s ran out of time: %.100s", engine, virus_name);
	else if (engine_limit_alert(virus_name))
		engine_incomplete(result, "%s did not inspect all of it: %.100s", engine, virus_name);
	else if (engine_encrypted_alert(virus_name)) {
		result->status = SCAN_ENCRYPTED;
		snprintf(result->note, sizeof(result->note), "%s: %.100s", engine, virus_name);
	} else
		return false;
	return true;
}

int
engine_each_chunk(const struct spool *spool, size_t chunk, int (*fn)(const void *, size_t, void *), void *arg)
{
	const unsigned char *mem = spool_memory(spool);
	unsigned char *buf;
	uint64_t offset = 0;
	ssize_t n;

	if (mem) {
		for (uint64_t size = spool_size(spool); offset < size; offset += chunk)
			if (fn(mem + offset, size - offset < chunk ? (size_t)(size - offset) : chunk, arg) < 0)
				return -1;
		return 0;
	}
	if (!(buf = malloc(chunk)))
		return -1;
	while ((n = spool_read(spool, offset, buf, chunk)) > 0 && fn(buf, (size_t)n, arg) == 0)
		offset += (uint64_t)n;
	free(buf);
	return n == 0 ? 0 : -1;
}

void
engine_header_value(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= ' ' && src[i] <= '~') ? src[i] : '?';
	dst[i] = '\0';
}

void
engine_virus_name(struct scan_result *result, const char *name)
{
	size_t size = sizeof(result->virus_name);

	engine_header_value(result->virus_name, size, name);
	if (strlen(name) >= size)
		memcpy(result->virus_name + size - 4, "...", 4);
}

void
engine_add_rule(struct scan_result *result, const char *name, size_t len)
{
	size_t used = strlen(result->rules), more = strlen(ENGINE_RULES_MORE);

	if (len == 0 || (used >= more && strcmp(result->rules + used - more, ENGINE_RULES_MORE) == 0))
		return;
	/* room kept for ",..." after this rule, so the mark always fits */
	if (used + (used ? 1 : 0) + len + more + 1 > sizeof(result->rules)) {
		memcpy(result->rules + used, ENGINE_RULES_MORE, more + 1);
		return;
	}
	if (used)
		result->rules[used++] = ',';
	engine_header_value(result->rules + used, len + 1, name);
}
