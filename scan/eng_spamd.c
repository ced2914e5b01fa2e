/*
 * eng_spamd - a spamd node, SPAMC/1.5 SYMBOLS over TCP or TLS.
 *
 * A message larger than SpamMaxSize is SKIPPED, as spamc passes it
 * through unscored: spam is small, and spamd's time grows with size.
 * User is the message's one local mailbox when it has one, so that
 * spamd applies that user's preferences; otherwise spamd's default user.
 * The score is read with a locale-independent parser: a decimal comma
 * from the locale would turn 15.2 into 15.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "engine.h"

#define SPAMD_REPLY_MAX (64 * 1024)
#define SPAMD_CHUNK (64 * 1024)

static void *
spamd_open(const char *address, const struct scan_settings *settings, char *err, size_t errlen)
{
	return engine_node_open(address, settings, (uint64_t)settings->conf->spam_max_size, err, errlen);
}

int
spamd_parse_number(const char *text, const char **end, double *out)
{
	double value = 0, scale = 0.1;
	bool negative = *text == '-', digits = false;

	if (negative)
		text++;
	for (; *text >= '0' && *text <= '9'; text++, digits = true)
		value = value * 10 + (*text - '0');
	if (*text == '.')
		for (text++; *text >= '0' && *text <= '9'; text++, scale /= 10, digits = true)
			value += (*text - '0') * scale;
	if (!digits || value > 1e9)
		return -1;
	*out = negative ? -value : value;
	*end = text;
	return 0;
}

/* The rule names after the header block, comma-separated, no CRLF at the end since 1.3. */
static void
spamd_parse_rules(const char *body, struct scan_result *result)
{
	size_t len = strcspn(body, "\r\n");

	result->rules[0] = '\0';
	while (len > 0) {
		size_t n = strcspn(body, ",\r\n");

		engine_add_rule(result, body, n);
		n += n < len;	/* the comma */
		body += n;
		len -= n;
	}
}

void
spamd_parse_reply(const char *reply, struct scan_result *result)
{
	const char *line, *p, *body;
	int code = -1;

	if (sscanf(reply, "SPAMD/%*d.%*d %d", &code) != 1 || code != 0) {
		engine_fail(result, "spamd answered \"%.80s\"", reply);
		engine_header_value(result->note, sizeof(result->note), result->note);
		return;
	}
	for (line = strstr(reply, "\n"); line; line = strstr(line, "\n")) {
		line++;
		if (strncasecmp(line, "Spam:", 5) == 0)
			break;
	}
	if (!line || !(p = strchr(line, ';')) || spamd_parse_number(p + 1 + strspn(p + 1, " "), &p, &result->score) < 0
	    || strncmp(p + strspn(p, " "), "/", 1) != 0
	    || spamd_parse_number(p + strspn(p, " ") + 1 + strspn(p + strspn(p, " ") + 1, " "), &p, &result->required)
		       < 0) {
		engine_fail(result, "spamd's reply has no readable Spam: line");
		return;
	}
	result->status = SCAN_DONE;
	body = strstr(reply, "\r\n\r\n");
	if (body)
		spamd_parse_rules(body + 4, result);
}

static int
spamd_send(struct engine_node *node, struct net_conn *conn, const struct scan_job *job, const struct net_wait *wait)
{
	struct engine_stream stream = { conn, wait };
	char head[512], user[128] = "";
	int len;

	/* spamd accepts only [-A-Za-z0-9_.@] in User; anything else goes unnamed. */
	if (job->user && strlen(job->user) < sizeof(user) - 16
	    && strspn(job->user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@")
		       == strlen(job->user))
		snprintf(user, sizeof(user), "User: %s\r\n", job->user);
	len = snprintf(head, sizeof(head), "SYMBOLS SPAMC/1.5\r\nContent-length: %llu\r\n%s\r\n",
		       (unsigned long long)spool_size(job->spool), user);
	if (net_write(conn, head, (size_t)len, wait) < 0
	    || engine_each_chunk(job->spool, SPAMD_CHUNK, engine_write_chunk, &stream) < 0)
		return -1;
	net_shutdown_write(conn);
	return 0;
}

static ssize_t
spamd_read_all(struct net_conn *conn, const struct net_wait *wait, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;

	while (len + 1 < size && (n = net_read(conn, buf + len, size - 1 - len, wait)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return n < 0 ? -1 : (ssize_t)len;
}

static void
spamd_scan(void *arg, const struct scan_job *job, const struct net_wait *wait, struct scan_result *result)
{
	struct engine_node *node = arg;
	struct net_conn *conn;
	char err[200], *reply;

	if (spool_size(job->spool) > node->max_size) {
		result->status = SCAN_SKIPPED;
		snprintf(result->note, sizeof(result->note), "larger than SpamMaxSize");
		return;
	}
	if (!(reply = malloc(SPAMD_REPLY_MAX))) {
		engine_fail(result, "out of memory");
		return;
	}
	conn = net_connect(&node->addr, node->tls, wait, err, sizeof(err));
	if (!conn)
		engine_fail(result, "%s", err);
	else if (spamd_send(node, conn, job, wait) < 0)
		engine_fail(result, "sending to spamd %s: %s", node->addr.text,
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	else if (spamd_read_all(conn, wait, reply, SPAMD_REPLY_MAX) <= 0)
		engine_fail(result, "no reply from spamd %s: %s", node->addr.text,
			    errno == ETIMEDOUT ? "timed out" : "connection closed");
	else
		spamd_parse_reply(reply, result);
	net_close(conn);
	free(reply);
}

const struct scan_engine engine_spamd = {
	.name = "spamd",
	.kind = SCAN_KIND_SPAM,
	.open = spamd_open,
	.scan = spamd_scan,
	.close = engine_node_close,
};
