/*
 * service - the scan service's wire format, and hostscan's end of it; see service.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "net.h"
#include "service.h"

#define SERVICE_MAGIC "HOSTSCAN/1"

/* ---- heads: "key: value" lines up to a blank one ---- */

/* The next line of head (NUL-terminated, CR removed), moving *p past it; NULL at the blank
 * line that ends a head (*cut false) or where the text ends without one (*cut true). */
static char *
service_line(char **p, bool *cut)
{
	char *line = *p, *nl = strchr(line, '\n');

	*cut = nl == NULL;
	if (!nl)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line[0] ? line : NULL;
}

/* "key: value" -> key and value, in place; -1 when the line is no such thing. */
static int
service_field(char *line, char **key, char **value)
{
	char *colon = strstr(line, ": ");

	if (!colon)
		return -1;
	*colon = '\0';
	*key = line;
	*value = colon + 2;
	for (const char *c = *value; *c; c++)
		if ((unsigned char)*c < ' ' && *c != '\t')
			return -1;
	return 0;
}

static int
service_size(const char *value, uint64_t *size)
{
	char *end;

	if (!value[0] || strspn(value, "0123456789") != strlen(value) || strlen(value) > 19)
		return -1;
	errno = 0;
	*size = strtoull(value, &end, 10);
	return errno ? -1 : 0;
}

size_t
service_request_head(const struct service_request *req, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, SERVICE_MAGIC "\nsize: %" PRIu64 "\nspam: %d\n", req->size,
				      req->want_spam ? 1 : 0);

	for (size_t i = 0; i < req->ntypes && len < size; i++) {
		char type[POLICY_TYPE_LEN];

		engine_header_value(type, sizeof(type), req->types[i]);
		len += (size_t)snprintf(buf + len, size - len, "type: %s\n", type);
	}
	if (len < size)
		len += (size_t)snprintf(buf + len, size - len, "\n");
	return len < size ? len : 0;
}

int
service_request_parse(char *head, struct service_request *req, const char **why)
{
	char *p = head, *key, *value;
	bool sized = false, cut;
	char *line = service_line(&p, &cut);

	memset(req, 0, sizeof(*req));
	*why = "not a HOSTSCAN/1 request";
	if (!line || strcmp(line, SERVICE_MAGIC) != 0)
		return -1;
	while ((line = service_line(&p, &cut))) {
		*why = "a line that is no field of a request";
		if (service_field(line, &key, &value) < 0)
			return -1;
		if (strcmp(key, "size") == 0 && service_size(value, &req->size) == 0)
			sized = true;
		else if (strcmp(key, "spam") == 0 && (strcmp(value, "0") == 0 || strcmp(value, "1") == 0))
			req->want_spam = value[0] == '1';
		else if (strcmp(key, "type") == 0 && req->ntypes < POLICY_TYPES_MAX && value[0]
			 && strlen(value) < POLICY_TYPE_LEN)
			req->types[req->ntypes++] = value;
		else
			return -1;
	}
	*why = cut ? "a request cut short" : "a request without its size";
	return sized && !cut ? 0 : -1;
}

/* ---- answers ---- */

/* Appends a line; one that does not fit makes *len SIZE_MAX: the answer cannot be sent, a type could be missing. */
static void __attribute__((format(printf, 4, 5)))
service_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	*len = n > 0 && (size_t)n < size - *len ? *len + (size_t)n : SIZE_MAX;
}

/* A value for the wire: printable, bounded. */
static const char *
service_value(char *dst, size_t size, const char *src)
{
	engine_header_value(dst, size, src);
	return dst;
}

static void
service_format_outcome(const struct scan_outcome *o, char *buf, size_t size, size_t *len)
{
	char v[SCAN_RULES_MAX];

	if (o->virus_engines[0])
		service_add(buf, size, len, "virus-engines: %s\n", service_value(v, sizeof(v), o->virus_engines));
	if (o->virus)
		service_add(buf, size, len, "virus: %s\n", service_value(v, sizeof(v), o->virus_name));
	if (o->virus_failed)
		service_add(buf, size, len, "virus-failed: 1\n");
	if (o->virus_incomplete)
		service_add(buf, size, len, "virus-incomplete: %s\n", service_value(v, sizeof(v), o->incomplete));
	if (o->encrypted)
		service_add(buf, size, len, "encrypted: %s\n", service_value(v, sizeof(v), o->encrypted_why));
	if (o->spam_scored)
		service_add(buf, size, len, "spam: %.3f %.3f %s\n", o->score, o->required,
			    service_value(v, sizeof(v), o->rules));
	if (o->spam_failed)
		service_add(buf, size, len, "spam-failed: 1\n");
	if (o->failure[0])
		service_add(buf, size, len, "failure: %s\n", service_value(v, sizeof(v), o->failure));
	if (o->skipped[0])
		service_add(buf, size, len, "skipped: %s\n", service_value(v, sizeof(v), o->skipped));
}

size_t
service_reply_format(const struct service_reply *reply, char *buf, size_t size)
{
	const struct attach_report *a = &reply->attachments;
	char v[256], f[128];
	size_t len = 0;

	if (!reply->ok) {
		service_add(buf, size, &len, SERVICE_MAGIC " error %s\n\n", service_value(v, sizeof(v), reply->error));
		return len < size ? len : 0;
	}
	service_add(buf, size, &len, SERVICE_MAGIC " ok\nengines:%s%s%s\n", reply->virus_scanning ? " virus" : "",
		    reply->spam_scanning ? " spam" : "", reply->virus_scanning || reply->spam_scanning ? "" : " none");
	service_format_outcome(&reply->outcome, buf, size, &len);
	for (unsigned i = 0; reply->attachments_read && i < a->ntypes; i++)
		service_add(buf, size, &len, "type: %s\t%s\n", service_value(v, sizeof(v), a->types[i].type),
			    service_value(f, sizeof(f), a->types[i].filename));
	if (reply->attachments_read)
		service_add(buf, size, &len, "attachments: %s%s\n", a->incomplete ? "incomplete " : "complete",
			    a->incomplete ? service_value(v, sizeof(v), a->why) : "");
	if (reply->attachments_read && a->failed)
		service_add(buf, size, &len, "attachments-failed: %s\n", service_value(v, sizeof(v), a->failed_why));
	if (reply->attachments_read && a->encrypted)
		service_add(buf, size, &len, "attachments-encrypted: %s\n",
			    service_value(v, sizeof(v), a->encrypted_why));
	service_add(buf, size, &len, "\n");
	return len < size ? len : 0;
}

static int
service_fail(struct service_reply *reply, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
service_fail(struct service_reply *reply, const char *fmt, ...)
{
	va_list ap;

	reply->ok = false;
	va_start(ap, fmt);
	vsnprintf(reply->error, sizeof(reply->error), fmt, ap);
	va_end(ap);
	return -1;
}

static int
service_copy(char *dst, size_t size, const char *value)
{
	if (strlen(value) >= size)
		return -1;
	strcpy(dst, value);
	return 0;
}

static int
service_parse_spam(const char *value, struct scan_outcome *o)
{
	const char *p;

	if (spamd_parse_number(value, &p, &o->score) < 0 || *p++ != ' ' || spamd_parse_number(p, &p, &o->required) < 0
	    || (*p && *p++ != ' '))
		return -1;
	o->spam_scored = true;
	return service_copy(o->rules, sizeof(o->rules), p);
}

static int
service_parse_type(char *value, struct attach_report *a)
{
	char *tab = strchr(value, '\t');

	if (!tab || a->ntypes == ATTACH_TYPES_MAX)
		return -1;
	*tab = '\0';
	if (service_copy(a->types[a->ntypes].type, sizeof(a->types[0].type), value) < 0
	    || service_copy(a->types[a->ntypes].filename, sizeof(a->types[0].filename), tab + 1) < 0)
		return -1;
	a->ntypes++;
	return 0;
}

static int
service_parse_attachments(const char *value, struct service_reply *reply)
{
	reply->attachments_read = true;
	if (strcmp(value, "complete") == 0)
		return 0;
	if (strncmp(value, "incomplete ", 11) != 0)
		return -1;
	reply->attachments.incomplete = true;
	return service_copy(reply->attachments.why, sizeof(reply->attachments.why), value + 11);
}

static int
service_parse_engines(char *value, struct service_reply *reply)
{
	char *save = NULL;

	for (char *w = strtok_r(value, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (strcmp(w, "virus") == 0)
			reply->virus_scanning = true;
		else if (strcmp(w, "spam") == 0)
			reply->spam_scanning = true;
		else if (strcmp(w, "none") != 0)
			return -1;
	}
	return 0;
}

/* What was not inspected, and why: an engine's limit, encrypted content, the walk's failure. */
static int
service_parse_uninspected(const char *key, const char *value, struct service_reply *reply)
{
	struct scan_outcome *o = &reply->outcome;
	struct attach_report *a = &reply->attachments;

	if (strcmp(key, "virus-incomplete") == 0)
		return (o->virus_incomplete = true, service_copy(o->incomplete, sizeof(o->incomplete), value));
	if (strcmp(key, "encrypted") == 0)
		return (o->encrypted = true, service_copy(o->encrypted_why, sizeof(o->encrypted_why), value));
	if (strcmp(key, "attachments-failed") == 0)
		return (a->failed = true, service_copy(a->failed_why, sizeof(a->failed_why), value));
	if (strcmp(key, "attachments-encrypted") == 0)
		return (a->encrypted = true, service_copy(a->encrypted_why, sizeof(a->encrypted_why), value));
	return -1;
}

/* One "key: value" line of an answer; -1 for anything unknown or too long. */
static int
service_parse_field(char *key, char *value, struct service_reply *reply)
{
	struct scan_outcome *o = &reply->outcome;

	if (strcmp(key, "engines") == 0)
		return service_parse_engines(value, reply);
	if (strcmp(key, "virus-engines") == 0)
		return service_copy(o->virus_engines, sizeof(o->virus_engines), value);
	if (strcmp(key, "virus") == 0)
		return (o->virus = true, service_copy(o->virus_name, sizeof(o->virus_name), value));
	if (strcmp(key, "virus-failed") == 0 || strcmp(key, "spam-failed") == 0)
		return (*(key[0] == 'v' ? &o->virus_failed : &o->spam_failed) = true, strcmp(value, "1") == 0 ? 0 : -1);
	if (strcmp(key, "spam") == 0)
		return service_parse_spam(value, o);
	if (strcmp(key, "failure") == 0)
		return service_copy(o->failure, sizeof(o->failure), value);
	if (strcmp(key, "skipped") == 0)
		return service_copy(o->skipped, sizeof(o->skipped), value);
	if (strcmp(key, "type") == 0)
		return service_parse_type(value, &reply->attachments);
	if (strcmp(key, "attachments") == 0)
		return service_parse_attachments(value, reply);
	return service_parse_uninspected(key, value, reply);
}

int
service_reply_parse(const char *text, struct service_reply *reply)
{
	char head[SERVICE_REPLY_MAX], *p = head, *line, *key, *value;
	bool cut;

	memset(reply, 0, sizeof(*reply));
	if (service_copy(head, sizeof(head), text) < 0)
		return service_fail(reply, "an answer too long");
	line = service_line(&p, &cut);
	if (line && strncmp(line, SERVICE_MAGIC " error ", strlen(SERVICE_MAGIC " error ")) == 0)
		return service_fail(reply, "the scan service says: %.150s", line + strlen(SERVICE_MAGIC " error "));
	if (!line || strcmp(line, SERVICE_MAGIC " ok") != 0)
		return service_fail(reply, "not an answer of the scan service");
	while ((line = service_line(&p, &cut)))
		if (service_field(line, &key, &value) < 0 || service_parse_field(key, value, reply) < 0)
			return service_fail(reply, "an answer that does not parse: \"%.60s\"", line);
	if (cut)
		return service_fail(reply, "an answer cut short");
	reply->ok = true;
	return 0;
}

/* ---- hostscan's end ---- */

/* A connection to the service, waiting (until the deadline) while its queue of connections is full. */
static struct net_conn *
service_connect(const struct net_addr *addr, uint64_t deadline_ms, struct service_reply *reply)
{
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct net_conn *conn;

		if (fd < 0) {
			service_fail(reply, "socket: %s", strerror(errno));
			return NULL;
		}
		if (connect(fd, (const struct sockaddr *)&addr->sa, addr->len) == 0) {
			if (!(conn = net_adopt(fd)))
				close(fd);
			return conn;
		}
		close(fd);
		if (errno != EAGAIN || net_now_ms() + 50 >= deadline_ms) {
			service_fail(reply, "connect %s: %s", addr->text, errno == EAGAIN ? "busy" : strerror(errno));
			return NULL;
		}
		poll(NULL, 0, 50);	/* every worker busy and the backlog full: wait for a place */
	}
}

/* Reads until the service closes the connection, or until *len reaches want. */
static ssize_t
service_read(struct net_conn *conn, const struct net_wait *wait, char *buf, size_t want, size_t *len)
{
	ssize_t n = 1;

	while (*len < want && (n = net_read(conn, buf + *len, want - *len, wait)) > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
	return n;
}

/* Sends the message once the service says go; 0, or -1 when it answered instead (the answer begins in buf). */
static int
service_send(struct engine_stream *stream, const struct spool *spool, char *buf, size_t *len)
{
	if (service_read(stream->conn, stream->wait, buf, strlen(SERVICE_GO), len) < 0
	    || strcmp(buf, SERVICE_GO) != 0)
		return -1;
	*len = 0;
	return engine_each_chunk(spool, 65536, engine_write_chunk, stream);
}

int
service_scan(const char *address, const struct spool *spool, const struct service_request *req,
	     uint64_t deadline_ms, struct service_reply *reply)
{
	struct net_wait wait = { deadline_ms, NULL, NULL };
	struct engine_stream stream = { NULL, &wait };
	char head[SERVICE_HEAD_MAX], err[200], *answer;
	struct net_addr addr;
	size_t headlen = service_request_head(req, head, sizeof(head)), len = 0;
	int rc = -1;

	memset(reply, 0, sizeof(*reply));
	if (net_addr_parse(address, &addr, err, sizeof(err)) < 0 || addr.sa.ss_family != AF_UNIX || headlen == 0)
		return service_fail(reply, "ScanService %s: %s", address, headlen ? "give unix:/PATH" : "request too long");
	answer = malloc(SERVICE_REPLY_MAX);
	if (!answer || !(stream.conn = service_connect(&addr, deadline_ms, reply))) {
		free(answer);
		return answer ? -1 : service_fail(reply, "out of memory");
	}
	if (net_write(stream.conn, head, headlen, &wait) == 0)
		service_send(&stream, spool, answer, &len);	/* a refusal comes instead of go: read it all */
	if (service_read(stream.conn, &wait, answer, SERVICE_REPLY_MAX - 1, &len) < 0 || len == 0)
		service_fail(reply, "no answer from the scan service %s: %s", addr.text,
			     errno == ETIMEDOUT ? "timed out" : "connection closed");
	else
		rc = service_reply_parse(answer, reply);
	free(answer);
	net_close(stream.conn);
	return rc;
}
