/*
 * httpd - the HTTP server; see httpd.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "httpd.h"
#include "msg.h"
#include "ratelog.h"
#include "respond.h"

#define MEMORY_PER_CONNECTION 16384

/* One per connection, for the watchdog. */
struct client {
	bool used, cut;
	int fd;
	time_t deadline;
};

/* One per request: the body as it arrives. */
struct exchange {
	size_t len;
	bool too_large;
	char body[REQUEST_BODY_MAX + 1];
};

static struct httpd_options opts;
static struct MHD_Daemon *daemon_handle;
static struct client *clients;
static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watchdog_wake = PTHREAD_COND_INITIALIZER;
static pthread_t watchdog_thread;
static bool watching, stopping;
static struct ratelog said_limit = RATELOG_INIT(60), said_db = RATELOG_INIT(60), said_mhd = RATELOG_INIT(60),
		      said_slow = RATELOG_INIT(60);

/* ---- what a request is, for respond() ---- */

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct request *req = cls;

	(void)kind;
	if (req->nargs < REQUEST_ARGS_MAX)
		req->args[req->nargs++] = (struct request_arg){ key, value ? value : "" };
	else
		req->dropped_args++;
	return MHD_YES;
}

/* The last X-Forwarded-For header: the one the nearest proxy wrote, or appended to. */
static enum MHD_Result
last_forwarded(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") == 0)
		*(const char **)cls = value;
	return MHD_YES;
}

/* The client this request is charged to; false when its proxy's header is not an address. */
static bool
client_of(struct MHD_Connection *c, int *family, uint8_t addr[16])
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info ? info->client_addr : NULL;
	const char *forwarded = NULL;
	uint8_t peer[16] = { 0 };
	int peer_family = AF_INET;

	if (sa && sa->sa_family == AF_INET6) {
		peer_family = AF_INET6;
		memcpy(peer, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	} else if (sa && sa->sa_family == AF_INET) {
		memcpy(peer, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, last_forwarded, &forwarded);
	return ratetable_client(peer_family, peer, forwarded, opts.trusted, opts.ntrusted, family, addr);
}

/* ---- replies ---- */

static enum MHD_Result
send_response(struct MHD_Connection *c, struct response *r, unsigned retry_after)
{
	size_t len = r->body->len;
	char *body = g_string_free(r->body, FALSE), number[16];
	struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback(len, body, g_free);
	enum MHD_Result rc;

	r->body = NULL;
	if (!response) {
		g_free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
	if (r->allow)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->disposition[0])
		MHD_add_response_header(response, "Content-Disposition", r->disposition);
	if (retry_after) {
		snprintf(number, sizeof(number), "%u", retry_after);
		MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, number);
	}
	rc = MHD_queue_response(c, r->status, response);
	MHD_destroy_response(response);
	return rc;
}

static enum MHD_Result
send_plain(struct MHD_Connection *c, unsigned status, const char *text, unsigned retry_after)
{
	struct response r = { .status = status, .content_type = "text/plain; charset=utf-8",
			      .body = g_string_new(text) };

	g_string_append_c(r.body, '\n');
	return send_response(c, &r, retry_after);
}

/* 0 when the client may ask; else the reply is queued. */
static int
charge(struct MHD_Connection *c, enum MHD_Result *rc)
{
	int family;
	uint8_t addr[16];
	unsigned wait, held;
	unsigned long count;
	char text[INET6_ADDRSTRLEN];

	if (!client_of(c, &family, addr)) {
		*rc = send_plain(c, 400, "X-Forwarded-For does not end with an address", 0);
		return -1;
	}
	if (!opts.rates || (wait = ratetable_charge(opts.rates, family, addr, ratetable_now_ms())) == 0)
		return 0;
	if (ratelog_allow(&said_limit, ratelog_now(), &count)) {
		inet_ntop(family, addr, text, sizeof(text));
		held = (unsigned)count;
		msg_warn("client %s over its request rate; refused for %u s%s", text, wait,
			 held ? " (and other refusals in the last minute)" : "");
	}
	*rc = send_plain(c, 429, "too many requests; try again later", wait);
	return -1;
}

static enum MHD_Result
reply(struct MHD_Connection *c, const char *url, const char *method, struct exchange *x)
{
	struct request req = { .method = method, .path = url };
	struct response r;
	char clock[16];
	enum MHD_Result rc;
	unsigned long held;

	if (charge(c, &rc) < 0)
		return rc;
	req.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
	req.body = x->body;
	req.bodylen = x->len;
	req.body_too_large = x->too_large;
	respond_clock(clock);
	respond(mapwatch_current(opts.maps, ratelog_now()), &req, clock, &r);
	if (r.status == 503 && ratelog_allow(&said_db, ratelog_now(), &held))
		msg_warn("%s: %s; answering 503", opts.maps->path, r.why ? r.why : "unreadable");
	rc = send_response(c, &r, 0);
	response_free(&r);
	return rc;
}

/* Content-Length beyond the limit: refused before a byte of the body is read. */
static bool
announced_too_large(struct MHD_Connection *c)
{
	const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return length && (strlen(length) > 9 || strtoul(length, NULL, 10) > REQUEST_BODY_MAX);
}

/* A body framed two ways: a front proxy may read it one way, we another. */
static bool
two_framings(struct MHD_Connection *c)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)
	       && MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
	   const char *upload_data, size_t *upload_data_size, void **request)
{
	struct exchange *x = *request;

	(void)cls;
	(void)version;
	if (!x) {
		if (!(x = malloc(sizeof(*x))))	/* not calloc: the body is read only as far as len */
			return MHD_NO;
		x->len = 0;
		x->too_large = false;
		x->body[0] = '\0';
		*request = x;
		if (announced_too_large(c)) {
			x->too_large = true;
			return send_plain(c, 413, "request body too large", 0);
		}
		if (two_framings(c)) {
			/* RFC 9112 6.3: a sign of request smuggling; refused, and the connection closed with it */
			x->too_large = true;
			return send_plain(c, 400, "both Content-Length and Transfer-Encoding", 0);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!x->too_large && *upload_data_size <= REQUEST_BODY_MAX - x->len) {
			memcpy(x->body + x->len, upload_data, *upload_data_size);
			x->len += *upload_data_size;
		} else {
			/* Chunks past the limit: libmicrohttpd cannot answer in mid-body; the connection is closed. */
			return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (x->too_large)
		return MHD_YES;	/* refused already, before the body */
	return reply(c, url, method, x);
}

/* ---- connections and the watchdog ---- */

static time_t
deadline_from_now(void)
{
	return ratelog_now() + (time_t)opts.timeout;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **request, enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct client *client = info ? info->socket_context : NULL;

	(void)cls;
	(void)toe;
	free(*request);
	*request = NULL;
	if (!client)
		return;
	pthread_mutex_lock(&clients_lock);
	if (client->used && !client->cut)
		client->deadline = deadline_from_now();	/* the next request gets its own time */
	pthread_mutex_unlock(&clients_lock);
}

/* libmicrohttpd tells of a close before it closes the socket, so a number is never shut down after reuse. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *info;
	struct client *client = NULL;

	(void)cls;
	pthread_mutex_lock(&clients_lock);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((client = *socket_context))
			client->used = false;
	} else if ((info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD))) {
		for (unsigned i = 0; !client && i < opts.connections; i++)
			if (!clients[i].used)
				client = &clients[i];
		if (client)
			*client = (struct client){ true, false, info->connect_fd, deadline_from_now() };
		else
			shutdown(info->connect_fd, SHUT_RDWR);	/* beyond the limit: cannot happen */
		*socket_context = client;
	}
	pthread_mutex_unlock(&clients_lock);
}

static void *
watchdog(void *arg)
{
	struct timespec wake;
	unsigned long held;

	(void)arg;
	pthread_mutex_lock(&clients_lock);
	while (!stopping) {
		time_t now = ratelog_now();

		for (unsigned i = 0; i < opts.connections; i++) {
			struct client *client = &clients[i];

			if (!client->used || client->cut || now < client->deadline)
				continue;
			shutdown(client->fd, SHUT_RDWR);
			client->cut = true;
			if (ratelog_allow(&said_slow, now, &held))
				msg_warn("a client took more than %u s for a request; disconnected", opts.timeout);
		}
		clock_gettime(CLOCK_REALTIME, &wake);
		wake.tv_sec += 1;
		pthread_cond_timedwait(&watchdog_wake, &clients_lock, &wake);
	}
	pthread_mutex_unlock(&clients_lock);
	return NULL;
}

/* Any client can make libmicrohttpd complain: a line a minute. */
static void
on_log(void *cls, const char *fmt, va_list ap)
{
	char text[300];
	unsigned long held;

	(void)cls;
	if (!ratelog_allow(&said_mhd, ratelog_now(), &held))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	text[strcspn(text, "\n")] = '\0';
	msg_warn("http: %s%s", text, held ? " (and more such reports in the last minute)" : "");
}

int
httpd_start(const struct httpd_options *options, char *err, size_t errlen)
{
	opts = *options;
	if (!(clients = calloc(opts.connections, sizeof(*clients)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	daemon_handle = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
					 on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
					 MHD_OPTION_LISTEN_SOCKET, opts.fd,
					 MHD_OPTION_CONNECTION_LIMIT, opts.connections,
					 MHD_OPTION_CONNECTION_TIMEOUT, opts.timeout,
					 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_PER_CONNECTION,
					 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
					 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (!daemon_handle) {
		snprintf(err, errlen, "cannot start the HTTP server");
		return -1;
	}
	if (pthread_create(&watchdog_thread, NULL, watchdog, NULL) != 0) {
		snprintf(err, errlen, "cannot start the watchdog thread");
		return -1;
	}
	watching = true;
	return 0;
}

void
httpd_stop(void)
{
	if (watching) {
		pthread_mutex_lock(&clients_lock);
		stopping = true;
		pthread_cond_broadcast(&watchdog_wake);
		pthread_mutex_unlock(&clients_lock);
		pthread_join(watchdog_thread, NULL);
		watching = false;
	}
	if (daemon_handle)
		MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	free(clients);
	clients = NULL;
}
