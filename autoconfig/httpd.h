/*
 * httpd - hostautoconfig as a small HTTP server (libmicrohttpd) behind the
 * provider's web server.
 *
 * One thread answers every request (epoll): a lookup reads a record or
 * three of a file in the page cache, so one core answers thousands a
 * second, and the database, the rate table and the responder need no
 * locks.  Bounds, so that no client holds it up or grows it:
 *  - at most `connections` connections; headers and query within 16 KB
 *    (libmicrohttpd answers 431 or 414 past that); a body within
 *    REQUEST_BODY_MAX (413, whatever Content-Length claims or chunks
 *    bring);
 *  - libmicrohttpd's own timeout counts silence only, so a watchdog
 *    thread also cuts off a connection that has not completed a request
 *    within `timeout` seconds of opening or of its previous request (a
 *    client trickling its request byte by byte, "slowloris");
 *  - each request is charged to its client (ratetable) before it is
 *    answered: 429 with Retry-After past the limit;
 *  - what a peer can make it log is logged once a minute.
 */
#ifndef HM_HTTPD_H
#define HM_HTTPD_H

#include <stddef.h>

#include "cidr.h"
#include "mapwatch.h"
#include "ratetable.h"

struct httpd_options {
	int fd;				/* the listening socket */
	struct mapwatch *maps;
	struct ratetable *rates;	/* NULL: no limit */
	const struct cidr *trusted;	/* proxies whose X-Forwarded-For counts */
	unsigned ntrusted;
	unsigned connections;
	unsigned timeout;		/* seconds */
};

int httpd_start(const struct httpd_options *options, char *err, size_t errlen);
void httpd_stop(void);

#endif
