/*
 * metrics - the statistics as a Prometheus endpoint on a loopback port.
 *
 * Promise: metrics_open binds and listens on StatsListen (a loopback
 * address, which conf has checked) and is called as root, before the
 * privilege drop; metrics_start serves from one thread of libmicrohttpd
 * afterwards: GET or HEAD of /metrics answers stats_prometheus's text,
 * any other path 404, any other method 405.  At most
 * METRICS_CONNECTIONS clients are served at once, each for at most
 * METRICS_TIMEOUT seconds in all (not only of silence: a client that
 * trickles a header line at a time is cut off as well), so a scraper
 * that stalls holds nothing of the milter's and the endpoint is free again
 * within that time.  What libmicrohttpd reports about broken clients is
 * logged at most once a minute, with the count of lines held back, so
 * that a local user cannot flood the log.  HTTP is parsed by
 * libmicrohttpd, never by hand here.
 */
#ifndef HM_METRICS_H
#define HM_METRICS_H

#include <stddef.h>

#define METRICS_CONNECTIONS 8
#define METRICS_TIMEOUT 10

/* The listening socket, or -1 with err. */
int metrics_open(const char *listen, char *err, size_t errlen);
/* Serves fd until metrics_stop; 0, or -1 with err. */
int metrics_start(int fd, char *err, size_t errlen);
void metrics_stop(void);

#endif
