/*
 * net - deadline-bound connections to scanner nodes; see net.h.
 *
 * Sockets are non-blocking and every wait is a poll() bounded by the
 * deadline; OpenSSL runs over the same non-blocking socket, so a node that
 * stalls the handshake is a timeout like any other.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "net.h"

struct net_conn {
	int fd;
	SSL *ssl;
};

static int
net_addr_unix(const char *path, struct net_addr *addr, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&addr->sa;

	if (path[0] != '/' || strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "unix socket \"%.200s\" is not an absolute path of at most %zu bytes", path,
			 sizeof(sun->sun_path) - 1);
		return -1;
	}
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	addr->len = sizeof(*sun);
	snprintf(addr->text, sizeof(addr->text), "unix:%s", path);
	return 0;
}

/* HOST:PORT or [V6]:PORT, resolved now, once. */
static int
net_addr_inet(const char *hostport, struct net_addr *addr, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	const char *colon = strrchr(hostport, ':');
	char host[256];
	size_t hostlen;
	int rc;

	if (!colon || colon == hostport || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		snprintf(err, errlen, "\"%.200s\" is not HOST:PORT", hostport);
		return -1;
	}
	hostlen = (size_t)(colon - hostport);
	if (hostport[0] == '[' && colon[-1] == ']')
		hostport++, hostlen -= 2;
	if (hostlen >= sizeof(host)) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	memcpy(host, hostport, hostlen);
	host[hostlen] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0 || !res || res->ai_addrlen > sizeof(addr->sa)) {
		snprintf(err, errlen, "cannot resolve \"%.200s\": %s", host, rc ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&addr->sa, res->ai_addr, res->ai_addrlen);
	addr->len = res->ai_addrlen;
	freeaddrinfo(res);
	strcpy(addr->host, host);
	return 0;
}

int
net_addr_parse(const char *spec, struct net_addr *addr, char *err, size_t errlen)
{
	memset(addr, 0, sizeof(*addr));
	if (strncmp(spec, "unix:", 5) == 0)
		return net_addr_unix(spec + 5, addr, err, errlen);
	if (strncmp(spec, "tcp:", 4) == 0 || strncmp(spec, "tls:", 4) == 0)
		spec += 4;
	if (net_addr_inet(spec, addr, err, errlen) < 0)
		return -1;
	snprintf(addr->text, sizeof(addr->text), "%.290s", spec);
	return 0;
}

/* Waits for events on fd until the deadline, calling progress meanwhile. 1 ready, 0 timeout, -1 error. */
static int
net_poll(int fd, short events, const struct net_wait *wait)
{
	for (;;) {
		uint64_t now = net_now_ms();
		struct pollfd pfd = { .fd = fd, .events = events };
		int slice, rc;

		if (now >= wait->deadline_ms) {
			errno = ETIMEDOUT;
			return 0;
		}
		slice = (int)(wait->deadline_ms - now < NET_PROGRESS_MS ? wait->deadline_ms - now : NET_PROGRESS_MS);
		rc = poll(&pfd, 1, slice);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc == 0 && wait->progress)
			wait->progress(wait->arg);
	}
}

static int
net_connect_socket(const struct net_addr *addr, const struct net_wait *wait, char *err, size_t errlen)
{
	int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, soerr = 0;
	socklen_t len = sizeof(soerr);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (addr->sa.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&addr->sa, addr->len) == 0)
		return fd;
	if (errno == EINPROGRESS || errno == EAGAIN) {
		int rc = net_poll(fd, POLLOUT, wait);

		if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
			return fd;
		errno = rc == 0 ? ETIMEDOUT : soerr ? soerr : errno;
	}
	snprintf(err, errlen, "connect %s: %s", addr->text, strerror(errno));
	close(fd);
	return -1;
}

/* Runs one SSL call until it completes or the deadline passes. */
static int
net_ssl_wait(struct net_conn *conn, int rc, const struct net_wait *wait)
{
	int why = SSL_get_error(conn->ssl, rc);

	if (why == SSL_ERROR_WANT_READ)
		return net_poll(conn->fd, POLLIN, wait) > 0 ? 1 : -1;
	if (why == SSL_ERROR_WANT_WRITE)
		return net_poll(conn->fd, POLLOUT, wait) > 0 ? 1 : -1;
	if (why == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = EPROTO;
	return -1;
}

static int
net_tls_start(struct net_conn *conn, SSL_CTX *tls, const struct net_addr *addr, const struct net_wait *wait,
	      char *err, size_t errlen)
{
	int rc;

	conn->ssl = SSL_new(tls);
	if (!conn->ssl || !SSL_set_fd(conn->ssl, conn->fd) || !SSL_set1_host(conn->ssl, addr->host)) {
		snprintf(err, errlen, "TLS setup failed");
		return -1;
	}
	SSL_set_tlsext_host_name(conn->ssl, addr->host);
	while ((rc = SSL_connect(conn->ssl)) != 1) {
		if (net_ssl_wait(conn, rc, wait) <= 0) {
			unsigned long e = ERR_get_error();

			snprintf(err, errlen, "TLS handshake with %s: %s", addr->text,
				 e ? ERR_reason_error_string(e) : errno == ETIMEDOUT ? "timed out" : "failed");
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

struct net_conn *
net_connect(const struct net_addr *addr, SSL_CTX *tls, const struct net_wait *wait, char *err, size_t errlen)
{
	struct net_conn *conn = calloc(1, sizeof(*conn));

	if (!conn) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	conn->fd = net_connect_socket(addr, wait, err, errlen);
	if (conn->fd < 0 || (tls && net_tls_start(conn, tls, addr, wait, err, errlen) < 0)) {
		net_close(conn);
		return NULL;
	}
	return conn;
}

static ssize_t
net_write_some(struct net_conn *conn, const void *data, size_t len, const struct net_wait *wait)
{
	for (;;) {
		ssize_t n;

		if (conn->ssl) {
			int rc = SSL_write(conn->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);

			if (rc > 0)
				return rc;
			if (net_ssl_wait(conn, rc, wait) <= 0)
				return -1;
			continue;
		}
		n = send(conn->fd, data, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (net_poll(conn->fd, POLLOUT, wait) <= 0)
			return -1;
	}
}

int
net_write(struct net_conn *conn, const void *data, size_t len, const struct net_wait *wait)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = net_write_some(conn, p, len, wait);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
net_read(struct net_conn *conn, void *buf, size_t len, const struct net_wait *wait)
{
	for (;;) {
		ssize_t n;

		if (conn->ssl) {
			int rc = SSL_read(conn->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

			if (rc > 0)
				return rc;
			rc = net_ssl_wait(conn, rc, wait);
			if (rc <= 0)
				return rc;
			continue;
		}
		n = recv(conn->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (net_poll(conn->fd, POLLIN, wait) <= 0)
			return -1;
	}
}

void
net_shutdown_write(struct net_conn *conn)
{
	/* Over TLS a half-close would end the session; spamd reads Content-length bytes instead. */
	if (!conn->ssl)
		shutdown(conn->fd, SHUT_WR);
}

struct net_conn *
net_adopt(int fd)
{
	struct net_conn *conn;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || !(conn = calloc(1, sizeof(*conn))))
		return NULL;
	conn->fd = fd;
	return conn;
}

void
net_close(struct net_conn *conn)
{
	if (!conn)
		return;
	if (conn->ssl)
		SSL_free(conn->ssl);
	if (conn->fd >= 0)
		close(conn->fd);
	free(conn);
}

SSL_CTX *
net_tls_context(const char *ca_file, const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* spamd closes without close_notify after its reply; the length is in the reply. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if ((ca_file && ca_file[0] ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
				   : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		snprintf(err, errlen, "cannot load the CA file %.200s", ca_file ? ca_file : "(system)");
		goto fail;
	}
	if (cert_file && cert_file[0]
	    && (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1
		|| SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1
		|| SSL_CTX_check_private_key(ctx) != 1)) {
		snprintf(err, errlen, "cannot load the client certificate %.100s with key %.100s", cert_file,
			 key_file ? key_file : "");
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}
