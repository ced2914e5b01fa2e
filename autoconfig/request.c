/*
 * request - reading a request; see request.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

struct route {
	const char *path;
	enum request_kind kind;
};

/* Apple has no fixed path: these are the ones automx2 and mailcow made usual. */
static const struct route routes[] = {
	{ "/mail/config-v1.1.xml", REQUEST_THUNDERBIRD },
	{ "/.well-known/autoconfig/mail/config-v1.1.xml", REQUEST_THUNDERBIRD },
	{ "/autodiscover/autodiscover.xml", REQUEST_OUTLOOK },
	{ "/autodiscover/autodiscover.json", REQUEST_OUTLOOK_JSON },
	{ "/autodiscover/autodiscover.json/v1.0", REQUEST_OUTLOOK_JSON },
	{ "/mobileconfig", REQUEST_APPLE },
	{ "/mobileconfig/", REQUEST_APPLE },
	{ "/email.mobileconfig", REQUEST_APPLE },
};

#define JSON_V1_PREFIX "/autodiscover/autodiscover.json/v1.0/"

enum request_kind
request_classify(const char *path, const char **address)
{
	*address = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcasecmp(path, routes[i].path) == 0)
			return routes[i].kind;
	/* Outlook's newer form puts the address in the path. */
	if (strncasecmp(path, JSON_V1_PREFIX, strlen(JSON_V1_PREFIX)) == 0 && path[strlen(JSON_V1_PREFIX)]) {
		*address = path + strlen(JSON_V1_PREFIX);
		return REQUEST_OUTLOOK_JSON;
	}
	return REQUEST_UNKNOWN;
}

const char *
request_arg(const struct request *req, const char *name, bool *ambiguous)
{
	const char *found = NULL;

	for (unsigned i = 0; i < req->nargs; i++) {
		if (strcasecmp(req->args[i].name, name) != 0)
			continue;
		if (found && strcmp(found, req->args[i].value) != 0)
			*ambiguous = true;
		found = req->args[i].value;
	}
	return found;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
request_decode(char *text, bool plus)
{
	char *out = text;

	for (const char *p = text; *p; p++) {
		if (*p == '%') {
			int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);

			if (lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*out++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*out++ = plus && *p == '+' ? ' ' : *p;
		}
	}
	*out = '\0';
	return 0;
}

int
request_parse_query(char *buf, struct request *req)
{
	char *p = buf;

	while (p && *p) {
		char *amp = strchr(p, '&'), *eq;

		if (amp)
			*amp = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		if (*p && (request_decode(p, true) < 0 || (eq && request_decode(eq + 1, true) < 0)))
			return -1;
		if (*p && req->nargs < REQUEST_ARGS_MAX)
			req->args[req->nargs++] = (struct request_arg){ p, eq ? eq + 1 : "" };
		else if (*p)
			req->dropped_args++;
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

bool
request_host_domain(const char *host, char domain[ADDR_DOMAIN_MAX + 1])
{
	const char *colon = strchr(host, ':');
	size_t len = colon ? (size_t)(colon - host) : strlen(host);

	if (colon && (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5
		      || strtoul(colon + 1, NULL, 10) > 65535))
		return false;	/* also "[2001:db8::1]" and other address literals */
	if (len && host[len - 1] == '.')
		len--;
	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return false;
	memcpy(domain, host, len);
	domain[len] = '\0';
	addr_lower(domain);
	return addr_domain_valid(domain) && strchr(domain, '.') != NULL;
}

const char *
request_service_parent(const char *domain)
{
	static const char *const labels[] = { "autoconfig.", "autodiscover." };

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		size_t n = strlen(labels[i]);

		if (strncmp(domain, labels[i], n) == 0 && strchr(domain + n, '.'))
			return domain + n;
	}
	return NULL;
}
