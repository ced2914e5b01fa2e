/*
 * metrics - Prometheus endpoint; see metrics.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conf.h"
#include "metrics.h"
#include "msg.h"
#include "stats.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static struct MHD_Daemon *metrics_daemon;

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

static void
metrics_log(void *cls, const char *fmt, va_list ap)
{
	char text[300];

	(void)cls;
	vsnprintf(text, sizeof(text), fmt, ap);
	text[strcspn(text, "\n")] = '\0';
	msg_warn("stats endpoint: %s", text);
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
					  MHD_OPTION_EXTERNAL_LOGGER, metrics_log, NULL, MHD_OPTION_END);
	if (!metrics_daemon) {
		snprintf(err, errlen, "cannot start the statistics endpoint");
		return -1;
	}
	return 0;
}

void
metrics_stop(void)
{
	if (metrics_daemon)
		MHD_stop_daemon(metrics_daemon);
	metrics_daemon = NULL;
}
