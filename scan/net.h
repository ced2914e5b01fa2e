/*
 * net - a connection to a scanner node with a deadline on every wait.
 *
 * Promise: no call waits past the deadline it is given (connect, TLS
 * handshake, every read and write); while it waits, the progress callback
 * runs at least every NET_PROGRESS_MS so that the caller can tell Sendmail
 * it is still working (smfi_progress).  Writes never raise SIGPIPE.  An
 * address is resolved once, when the node is configured, never per
 * message: a DNS stall must not stall mail.
 */
#ifndef HM_NET_H
#define HM_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "monotime.h"

#define NET_PROGRESS_MS 5000

struct net_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char host[256];		/* the name TLS verifies */
	char text[300];		/* for logs: "tcp:127.0.0.1:3310", "unix:/run/clamd.sock" */
};

struct net_wait {
	uint64_t deadline_ms;	/* on net_now_ms()'s clock */
	void (*progress)(void *arg);
	void *arg;
};

struct net_conn;

/* The scan code's name for monotime_ms, the clock of every deadline_ms. */
static inline uint64_t
net_now_ms(void)
{
	return monotime_ms();
}

/* "tcp:HOST:PORT", "tls:HOST:PORT", "unix:/PATH" or, for http, "HOST:PORT". */
int net_addr_parse(const char *spec, struct net_addr *addr, char *err, size_t errlen);

/* tls: NULL for plain TCP or unix sockets. */
struct net_conn *net_connect(const struct net_addr *addr, SSL_CTX *tls, const struct net_wait *wait, char *err,
			     size_t errlen);
/* 0 when all of it was written; -1 (errno ETIMEDOUT on the deadline). */
int net_write(struct net_conn *conn, const void *data, size_t len, const struct net_wait *wait);
/* Bytes read, 0 at the end of the stream, -1 on error or deadline. */
ssize_t net_read(struct net_conn *conn, void *buf, size_t len, const struct net_wait *wait);
/* A connected socket (accepted, or connected by the caller) for net_read and net_write:
 * made non-blocking, closed by net_close; NULL (fd left open) when that fails. */
struct net_conn *net_adopt(int fd);
/* Tells the peer the request is complete (spamd reads to EOF). */
void net_shutdown_write(struct net_conn *conn);
void net_close(struct net_conn *conn);

/* An SSL_CTX that verifies the node against ca_file; cert and key may be NULL. */
SSL_CTX *net_tls_context(const char *ca_file, const char *cert_file, const char *key_file, char *err, size_t errlen);

#endif
