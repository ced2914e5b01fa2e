/*
 * metrics - Prometheus endpoint; see metrics.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conf.h"
#include "metrics.h"
#include "msg.h"
#include "ratelog.h"
#include "stats.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static struct MHD_Daemon *metrics_daemon;

/*
 * libmicrohttpd's own timeout counts silence only.  Each client's socket is
 * noted when it connects; the watchdog shuts down (never closes) the socket
 * of one that is still there METRICS_TIMEOUT seconds later, and
 * libmicrohttpd, reading its end, drops the connection.  libmicrohttpd
 * reports a connection closed before it closes the socket, and the note is
 * removed under the same lock the watchdog holds, so a descriptor number
 * is never shut down after it was reused.
 */
struct metrics_client {
	bool used, cut;
	int fd;
	time_t deadline;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t metrics_wake = PTHREAD_COND_INITIALIZER;
static struct metrics_client metrics_clients[METRICS_CONNECTIONS];
static pthread_t metrics_watchdog_thread;
static bool metrics_watching, metrics_stopping;
static struct ratelog metrics_said = RATELOG_INIT(60);

int
metrics_open(const char *listen_text, char *err, size_t errlen)
{
	struct conf_listen where;
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	int fd, one = 1;

	if (conf_listen_parse(listen_text, &where) < 0) {
		snprintf(err, errlen, "StatsListen %s: not a loopback ADDRESS:PORT", listen_text);
		return -1;
	}
	if (where.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)where.port);
		memcpy(&sin->sin_addr, where.address, 4);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)where.port);
		memcpy(&sin6->sin6_addr, where.address, 16);
		sslen = sizeof(*sin6);
	}
	fd = socket(where.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	    || bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "StatsListen %s: %s", listen_text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static enum MHD_Result
metrics_reply(struct MHD_Connection *connection, unsigned status, char *body, size_t len)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!response) {
		free(body);
		return MHD_NO;
	}
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	else if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return rc;
}

static enum MHD_Result
metrics_error(struct MHD_Connection *connection, unsigned status, const char *text)
{
	char *body = strdup(text);

	return body ? metrics_reply(connection, status, body, strlen(body)) : MHD_NO;
}

static enum MHD_Result
metrics_answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
	       const char *version, const char *upload_data, size_t *upload_data_size, void **request)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics") != 0)
		return metrics_error(connection, MHD_HTTP_NOT_FOUND, "the statistics are at /metrics\n");
	if (!(out = open_memstream(&text, &len)))
		return MHD_NO;
	rc = stats_prometheus(out);
	if ((fclose(out) != 0) | (rc < 0)) {	/* both, so that the stream is closed */
		free(text);
		return metrics_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return metrics_reply(connection, MHD_HTTP_OK, text, len);
}

/* Any local user can make libmicrohttpd complain: one line a minute, and the count of the others. */
static void
metrics_log(void *cls, const char *fmt, va_list ap)
{
	char text[300];
	unsigned long held;

	(void)cls;
	if (!ratelog_allow(&metrics_said, ratelog_now(), &held))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	text[strcspn(text, "\n")] = '\0';
	if (held)
		msg_warn("stats endpoint: %s (and %lu more such reports in the last minute)", text, held);
	else
		msg_warn("stats endpoint: %s", text);
}

static void
metrics_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
	       enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *info;
	struct metrics_client *client = NULL;

	(void)cls;
	pthread_mutex_lock(&metrics_lock);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((client = *socket_context))
			client->used = false;
	} else if ((info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD))) {
		for (size_t i = 0; !client && i < METRICS_CONNECTIONS; i++)
			if (!metrics_clients[i].used)
				client = &metrics_clients[i];
		if (client)
			*client = (struct metrics_client){ true, false, info->connect_fd, ratelog_now() + METRICS_TIMEOUT };
		else
			shutdown(info->connect_fd, SHUT_RDWR);	/* more than the limit: cannot happen */
		*socket_context = client;
	}
	pthread_mutex_unlock(&metrics_lock);
}

/* Once a second: clients past their time are cut off. */
static void *
metrics_watchdog(void *arg)
{
	struct timespec wake;
	unsigned long held;

	(void)arg;
	pthread_mutex_lock(&metrics_lock);
	while (!metrics_stopping) {
		time_t now = ratelog_now();

		for (size_t i = 0; i < METRICS_CONNECTIONS; i++) {
			struct metrics_client *client = &metrics_clients[i];

			if (!client->used || client->cut || now < client->deadline)
				continue;
			shutdown(client->fd, SHUT_RDWR);
			client->cut = true;
			if (ratelog_allow(&metrics_said, now, &held))
				msg_warn("stats endpoint: a client took more than %d s; disconnected", METRICS_TIMEOUT);
		}
		clock_gettime(CLOCK_REALTIME, &wake);
		wake.tv_sec += 1;
		pthread_cond_timedwait(&metrics_wake, &metrics_lock, &wake);
	}
	pthread_mutex_unlock(&metrics_lock);
	return NULL;
}

int
metrics_start(int fd, char *err, size_t errlen)
{
	/* epoll, not select: hostmilter raises its descriptor limit past FD_SETSIZE. */
	metrics_daemon = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
					  metrics_answer, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
					  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
					  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT,
					  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
					  MHD_OPTION_NOTIFY_CONNECTION, metrics_notify, NULL,
					  MHD_OPTION_EXTERNAL_LOGGER, metrics_log, NULL, MHD_OPTION_END);
	if (!metrics_daemon) {
		snprintf(err, errlen, "cannot start the statistics endpoint");
		return -1;
	}
	if (pthread_create(&metrics_watchdog_thread, NULL, metrics_watchdog, NULL) != 0) {
		snprintf(err, errlen, "cannot start the statistics endpoint's watchdog");
		return -1;
	}
	metrics_watching = true;
	return 0;
}

void
metrics_stop(void)
{
	if (metrics_watching) {
		pthread_mutex_lock(&metrics_lock);
		metrics_stopping = true;
		pthread_cond_broadcast(&metrics_wake);
		pthread_mutex_unlock(&metrics_lock);
		pthread_join(metrics_watchdog_thread, NULL);
		metrics_watching = false;
	}
	if (metrics_daemon)
		MHD_stop_daemon(metrics_daemon);
	metrics_daemon = NULL;
}
