/*
 * eng_rspamd - an rspamd node, HTTP/1.1 POST /checkv2 with the envelope
 * in request headers; the JSON reply is read with jansson.
 *
 * One request per connection (Connection: close), so the reply ends at
 * EOF or at Content-Length, whichever comes first; chunked replies are not
 * asked for (HTTP/1.1 with a known length is what rspamd sends to its own
 * milter proxy).  Only "score" and "required_score" decide: hostmilter
 * applies each recipient's thresholds itself, as it does for spamd.  A
 * reply with "is_skipped" true and no action (rspamd's own size limit or
 * settings) is a SKIPPED scan, marked so, not a score of 0; with an
 * action it is a pre-result (GTUBE, a settings rule) and its score stands.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "dstr.h"
#include "engine.h"

#define RSPAMD_REPLY_MAX (1024 * 1024)
#define RSPAMD_CHUNK (64 * 1024)

/* http://HOST:PORT with an optional trailing slash; no path of its own. */
static void *
rspamd_open(const char *address, const struct scan_settings *settings, char *err, size_t errlen)
{
	char hostport[CONF_PATH_MAX];

	snprintf(hostport, sizeof(hostport), "%s", address + strlen("http://"));
	if (hostport[0] && hostport[strlen(hostport) - 1] == '/')
		hostport[strlen(hostport) - 1] = '\0';
	if (strchr(hostport, '/')) {
		snprintf(err, errlen, "%s: give http://HOST:PORT, without a path", address);
		return NULL;
	}
	return engine_node_open(hostport, settings, (uint64_t)settings->conf->spam_max_size, err, errlen);
}

/* One "Name: value" line, the value whole, each byte that could end or break the line made '?'. */
static void
rspamd_add_header(struct dstr *head, const char *name, const char *value)
{
	if (!value || !value[0])
		return;
	dstr_printf(head, "%s: ", name);
	for (const char *p = value; *p; p++)
		dstr_append(head, *p >= ' ' && *p <= '~' ? p : "?", 1);
	dstr_append(head, "\r\n", 2);
}

/* 50 recipients and the rest of the envelope, each whole, fit RSPAMD_HEAD_MAX many times over. */
int
rspamd_request_head(const struct engine_node *node, const struct scan_job *job, struct dstr *head)
{
	dstr_printf(head, "POST /checkv2 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %llu\r\n",
		    node->addr.host, (unsigned long long)spool_size(job->spool));
	rspamd_add_header(head, "IP", job->client_ip);
	rspamd_add_header(head, "Helo", job->helo);
	rspamd_add_header(head, "From", job->sender);
	rspamd_add_header(head, "Queue-Id", job->queue_id);
	rspamd_add_header(head, "User", job->auth_user);
	rspamd_add_header(head, "Deliver-To", job->user);
	for (size_t i = 0; i < job->nrcpts && i < 50; i++)	/* rspamd needs a few, not a thousand */
		rspamd_add_header(head, "Rcpt", job->rcpts[i]);
	dstr_append(head, "\r\n", 2);
	return dstr_failed(head) ? -1 : 0;
}

static void
rspamd_symbols(json_t *symbols, struct scan_result *result)
{
	const char *name;
	json_t *value;

	result->rules[0] = '\0';
	json_object_foreach(symbols, name, value) {
		(void)value;
		engine_add_rule(result, name, strlen(name));
	}
}

/* A skip that decided nothing: a pre-result such as GTUBE's skips the rules too, with a verdict. */
static bool
rspamd_no_action(json_t *json)
{
	const char *action = json_string_value(json_object_get(json, "action"));

	return !action || strcmp(action, "no action") == 0;
}

void
rspamd_parse_reply(const char *reply, size_t len, struct scan_result *result)
{
	const char *body = strstr(reply, "\r\n\r\n");
	json_t *json, *score, *required;
	int status = 0;

	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1 || status != 200 || !body) {
		engine_fail(result, "rspamd answered HTTP status %d", status);
		return;
	}
	body += 4;
	json = json_loadb(body, len - (size_t)(body - reply), JSON_REJECT_DUPLICATES, NULL);
	score = json_object_get(json, "score");
	required = json_object_get(json, "required_score");
	if (!json_is_number(score) || !json_is_number(required)) {
		engine_fail(result, "rspamd's reply has no score");
		json_decref(json);
		return;
	}
	if (json_is_true(json_object_get(json, "is_skipped")) && rspamd_no_action(json)) {
		/* rspamd's own limits or settings: its score of 0 is no verdict */
		result->status = SCAN_SKIPPED;
		snprintf(result->note, sizeof(result->note), "rspamd skipped it");
		json_decref(json);
		return;
	}
	/* as spamd's (spamd_parse_number): a score past a billion is no score, and X-Spam-Status stays short */
	if (!(json_number_value(score) >= -1e9 && json_number_value(score) <= 1e9)
	    || !(json_number_value(required) >= -1e9 && json_number_value(required) <= 1e9)) {
		engine_fail(result, "rspamd's score is out of range");
		json_decref(json);
		return;
	}
	result->status = SCAN_DONE;
	result->score = json_number_value(score);
	result->required = json_number_value(required);
	rspamd_symbols(json_object_get(json, "symbols"), result);
	json_decref(json);
}

static ssize_t
rspamd_read(struct net_conn *conn, const struct net_wait *wait, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;
	const char *body, *cl;
	unsigned long long want;

	while (len + 1 < size && (n = net_read(conn, buf + len, size - 1 - len, wait)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		body = strstr(buf, "\r\n\r\n");
		cl = body ? strcasestr(buf, "\r\nContent-Length:") : NULL;
		if (cl && cl < body && sscanf(cl + 17, "%llu", &want) == 1 && len >= (size_t)(body + 4 - buf) + want)
			return (ssize_t)len;
	}
	buf[len] = '\0';
	return n < 0 ? -1 : (ssize_t)len;
}

static void
rspamd_scan(void *arg, const struct scan_job *job, const struct net_wait *wait, struct scan_result *result)
{
	struct engine_node *node = arg;
	struct engine_stream stream = { NULL, wait };
	struct dstr head = DSTR_INIT(RSPAMD_HEAD_MAX);
	char err[200], *reply = NULL;
	ssize_t len;

	if (spool_size(job->spool) > node->max_size) {
		result->status = SCAN_SKIPPED;
		snprintf(result->note, sizeof(result->note), "larger than SpamMaxSize");
		return;
	}
	if (rspamd_request_head(node, job, &head) < 0) {
		engine_fail(result, "the request to rspamd would pass %d bytes before the message", RSPAMD_HEAD_MAX);
		dstr_free(&head);
		return;
	}
	stream.conn = net_connect(&node->addr, NULL, wait, err, sizeof(err));
	if (!stream.conn || !(reply = malloc(RSPAMD_REPLY_MAX)))
		engine_fail(result, "%s", stream.conn ? "out of memory" : err);
	else if (net_write(stream.conn, dstr_text(&head), dstr_len(&head), wait) < 0
		 || engine_each_chunk(job->spool, RSPAMD_CHUNK, engine_write_chunk, &stream) < 0)
		engine_fail(result, "sending to rspamd %s: %s", node->addr.text,
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	else if ((len = rspamd_read(stream.conn, wait, reply, RSPAMD_REPLY_MAX)) <= 0)
		engine_fail(result, "no reply from rspamd %s: %s", node->addr.text,
			    errno == ETIMEDOUT ? "timed out" : "connection closed");
	else
		rspamd_parse_reply(reply, (size_t)len, result);
	net_close(stream.conn);
	free(reply);
	dstr_free(&head);
}

const struct scan_engine engine_rspamd = {
	.name = "rspamd",
	.kind = SCAN_KIND_SPAM,
	.open = rspamd_open,
	.scan = rspamd_scan,
	.close = engine_node_close,
};
