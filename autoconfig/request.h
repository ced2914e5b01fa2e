/*
 * request - an HTTP request as hostautoconfig sees it, whether it came
 * through libmicrohttpd or as a CGI program, and the pure parts of reading
 * one: which client format a path asks for, query strings, Host headers.
 *
 * Promise: every function here is pure and bounded: a request holds at
 * most REQUEST_ARGS_MAX query arguments (more are counted, not kept),
 * and nothing is read past the lengths given.  Names of paths and
 * arguments compare without regard to letter case, because Outlook and
 * the web servers in front of it do not agree on one.
 */
#ifndef HM_REQUEST_H
#define HM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define REQUEST_ARGS_MAX 16
/* Outlook's request is about 400 bytes; nothing a client sends comes near this. */
#define REQUEST_BODY_MAX 8192
/* A query string, a Host header or a path longer than this is refused, never cut. */
#define REQUEST_TEXT_MAX 2048

/* What a path asks for. */
enum request_kind {
	REQUEST_UNKNOWN,	/* no such document: 404 */
	REQUEST_THUNDERBIRD,	/* /mail/config-v1.1.xml, /.well-known/autoconfig/mail/config-v1.1.xml */
	REQUEST_OUTLOOK,	/* /autodiscover/autodiscover.xml */
	REQUEST_OUTLOOK_JSON,	/* /autodiscover/autodiscover.json[/v1.0/ADDRESS] */
	REQUEST_APPLE,		/* /mobileconfig, /email.mobileconfig */
};

struct request_arg {
	const char *name;
	const char *value;
};

struct request {
	const char *method;
	const char *path;		/* without the query string, percent-decoded */
	const char *host;		/* the Host header, NULL when absent */
	struct request_arg args[REQUEST_ARGS_MAX];
	unsigned nargs;
	unsigned dropped_args;		/* past REQUEST_ARGS_MAX: the request is refused */
	const char *body;
	size_t bodylen;
	bool body_too_large;		/* more than REQUEST_BODY_MAX was sent: refused */
};

/* The kind of path; *address points into path for ".../autodiscover.json/v1.0/ADDRESS", else NULL. */
enum request_kind request_classify(const char *path, const char **address);

/*
 * The value of the argument name (any letter case); NULL when absent.
 * *ambiguous is set when it is given twice with different values, which
 * is refused rather than guessed at.
 */
const char *request_arg(const struct request *req, const char *name, bool *ambiguous);

/*
 * Splits a raw query string ("a=1&b=%40x") into args, decoding %XX and
 * "+" in place in buf (a copy the caller owns, NUL-terminated); -1 for a
 * bad %-escape or a decoded NUL byte.
 */
int request_parse_query(char *buf, struct request *req);
/* Decodes %XX in place; -1 for a bad escape or a NUL byte.  plus: "+" is a blank (query strings). */
int request_decode(char *text, bool plus);

/*
 * The mail domain a Host header names: lower case, without a port and a
 * trailing dot; false when it is no host name (an address literal, a
 * bad port, characters a host name has not).  A leading "autoconfig." or
 * "autodiscover." label is left on: the caller tries both.
 */
bool request_host_domain(const char *host, char domain[ADDR_DOMAIN_MAX + 1]);
/* domain without a leading "autoconfig." or "autodiscover." label, or NULL when it has none. */
const char *request_service_parent(const char *domain);

#endif
