/*
 * cgi - one request as a CGI program; see cgi.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cgi.h"
#include "mapwatch.h"
#include "monotime.h"
#include "msg.h"
#include "ratetable.h"
#include "respond.h"

#define CGI_MAP_DEFAULT "/etc/mail/autoconfig.db"

bool
cgi_detect(void)
{
	const char *gateway = getenv("GATEWAY_INTERFACE");

	return gateway && strncmp(gateway, "CGI/", 4) == 0;
}

static void
write_all(const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the web server went away */
		data += n;
		len -= (size_t)n;
	}
}

static void
emit(const struct response *r, bool head, unsigned retry_after)
{
	GString *out = g_string_new(NULL);

	g_string_printf(out, "Status: %u %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
			"X-Content-Type-Options: nosniff\r\n", r->status, respond_reason(r->status), r->content_type);
	if (r->allow)
		g_string_append_printf(out, "Allow: %s\r\n", r->allow);
	if (r->disposition[0])
		g_string_append_printf(out, "Content-Disposition: %s\r\n", r->disposition);
	if (retry_after)
		g_string_append_printf(out, "Retry-After: %u\r\n", retry_after);
	g_string_append_printf(out, "Content-Length: %zu\r\n\r\n", r->body->len);
	if (!head)
		g_string_append_len(out, r->body->str, (gssize)r->body->len);
	write_all(out->str, out->len);
	g_string_free(out, TRUE);
}

static int
emit_plain(unsigned status, const char *text, unsigned retry_after)
{
	struct response r = { .status = status, .content_type = "text/plain; charset=utf-8", .body = g_string_new(text) };

	g_string_append_c(r.body, '\n');
	emit(&r, false, retry_after);
	response_free(&r);
	return 0;
}

/* Reads exactly len bytes of the body, all of it within timeout seconds; -1 when it does not come. */
static int
read_body(char *buf, size_t len, unsigned timeout)
{
	size_t got = 0;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int64_t deadline = (int64_t)monotime_ms() + (int64_t)timeout * 1000;

	while (got < len) {
		ssize_t n;
		int64_t left = deadline - (int64_t)monotime_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = read(STDIN_FILENO, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The path as the client asked it: REQUEST_URI without its query, else SCRIPT_NAME and PATH_INFO. */
static char *
request_path(void)
{
	const char *uri = getenv("REQUEST_URI");
	char *path;

	if (uri && *uri)
		path = g_strndup(uri, strcspn(uri, "?"));
	else
		path = g_strconcat(getenv("SCRIPT_NAME") ? getenv("SCRIPT_NAME") : "",
				   getenv("PATH_INFO") ? getenv("PATH_INFO") : "", NULL);
	if (strlen(path) > REQUEST_TEXT_MAX || request_decode(path, false) < 0) {
		g_free(path);
		return NULL;
	}
	return path;
}

/* 0 when the client may ask; else the 429 (or the refusal to run unlimited) is written. */
static int
cgi_charge(unsigned per_minute, unsigned burst)
{
	const char *file = getenv("HOSTAUTOCONFIG_RATE_FILE"), *remote = getenv("REMOTE_ADDR");
	uint8_t addr[16] = { 0 };
	int family = AF_INET;
	struct ratetable *table;
	char err[512];
	unsigned wait;

	if (!file || !*file) {
		msg_error("HOSTAUTOCONFIG_RATE_FILE is not set: set it to a file the web server's user may write, or "
			  "to \"none\" when the web server limits requests itself");
		return emit_plain(503, "hostautoconfig is not configured", 0), -1;
	}
	if (strcmp(file, "none") == 0 || per_minute == 0)
		return 0;
	if (!remote || (inet_pton(AF_INET, remote, addr) != 1 && (family = AF_INET6, inet_pton(AF_INET6, remote, addr) != 1)))
		return emit_plain(400, "no client address", 0), -1;
	if (!(table = ratetable_open_file(file, per_minute, burst, err, sizeof(err)))) {
		msg_error("%s", err);
		return emit_plain(503, "hostautoconfig cannot count requests; try again later", 0), -1;
	}
	wait = ratetable_charge(table, family, addr, ratetable_now_ms());
	ratetable_free(table);
	if (wait)
		return emit_plain(429, "too many requests; try again later", wait), -1;
	return 0;
}

/* Fills req from the environment and standard input; -1 when the request was answered (refused). */
static int
read_request(struct request *req, char **path, char **query, char *body, unsigned timeout)
{
	const char *length = getenv("CONTENT_LENGTH"), *qs = getenv("QUERY_STRING");
	unsigned long n = length && *length ? strtoul(length, NULL, 10) : 0;

	req->method = getenv("REQUEST_METHOD") ? getenv("REQUEST_METHOD") : "GET";
	req->host = getenv("HTTP_HOST");
	if (!(*path = request_path()))
		return emit_plain(400, "bad path", 0), -1;
	req->path = *path;
	*query = g_strdup(qs ? qs : "");
	if (strlen(*query) > REQUEST_TEXT_MAX || request_parse_query(*query, req) < 0)
		return emit_plain(400, "bad query string", 0), -1;
	if ((length && strlen(length) > 9) || n > REQUEST_BODY_MAX)
		return emit_plain(413, "request body too large", 0), -1;
	if (n && read_body(body, n, timeout) < 0)
		return emit_plain(408, "the request body did not arrive", 0), -1;
	req->body = body;
	req->bodylen = n;
	return 0;
}

int
cgi_main(unsigned per_minute, unsigned burst, unsigned timeout)
{
	struct request req = { 0 };
	struct response r;
	struct mapwatch maps;
	char *path = NULL, *query = NULL, body[REQUEST_BODY_MAX + 1], err[1024], clock[16];
	const char *map = getenv("HOSTAUTOCONFIG_MAP");

	if (geteuid() == 0 || getuid() == 0) {
		msg_error("refusing to run as root: the web server runs CGI programs as its own user");
		return emit_plain(500, "misconfigured", 0), 1;
	}
	if (read_request(&req, &path, &query, body, timeout) == 0 && cgi_charge(per_minute, burst) == 0) {
		if (mapwatch_open(&maps, map && *map ? map : CGI_MAP_DEFAULT, err, sizeof(err)) < 0) {
			msg_error("%s", err);
			emit_plain(503, "the autoconfig database cannot be read; try again later", 0);
		} else {
			respond_clock(clock);
			respond(maps.db, &req, clock, &r);
			emit(&r, strcmp(req.method, "HEAD") == 0, 0);
			response_free(&r);
		}
		mapwatch_close(&maps);
	}
	g_free(path);
	g_free(query);
	return 0;
}
