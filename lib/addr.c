/*
 * addr - address syntax; see addr.h.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "addr.h"

static bool
addr_label_valid(const char *label, size_t len)
{
	if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)label[i];

		if (!isalnum(c) && c != '-')
			return false;
	}
	return true;
}

bool
addr_domain_valid(const char *domain)
{
	size_t total = strlen(domain);
	const char *label = domain;
	bool all_digits_tld = true;

	if (total == 0 || total > ADDR_DOMAIN_MAX)
		return false;
	for (;;) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		if (!addr_label_valid(label, len))
			return false;
		if (!dot) {
			all_digits_tld = strspn(label, "0123456789") == len;
			break;
		}
		label = dot + 1;
	}
	/* A numeric last label is an address literal in disguise. */
	return !all_digits_tld;
}

bool
addr_local_valid(const char *local)
{
	size_t len = strlen(local);

	if (len == 0 || len > ADDR_LOCAL_MAX || local[0] == '.' || local[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c == '.' && local[i + 1] == '.')
			return false;
		if (!isalnum(c) && !strchr("._+-", c))
			return false;
	}
	return true;
}

static bool
addr_name_chars(const char *name, size_t maxlen, const char *extra)
{
	size_t len = strlen(name);

	if (len == 0 || len > maxlen)
		return false;
	if (!islower((unsigned char)name[0]) && !isdigit((unsigned char)name[0]) && name[0] != '_')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!islower(c) && !isdigit(c) && !strchr(extra, c))
			return false;
	}
	return name[len - 1] != '.';
}

bool
addr_mailbox_name_valid(const char *name)
{
	/* Debian's useradd accepts more, but these survive every tool on the way. */
	return addr_name_chars(name, ADDR_NAME_MAX, "_.-") && !isdigit((unsigned char)name[0]);
}

bool
addr_alias_name_valid(const char *name)
{
	return addr_name_chars(name, ADDR_LOCAL_MAX, "_.+-");
}

const char *
addr_at(const char *address)
{
	return strrchr(address, '@');
}

bool
addr_address_valid(const char *address)
{
	const char *at = addr_at(address);
	char local[ADDR_LOCAL_MAX + 1];
	size_t len;

	if (!at || at == address)
		return false;
	len = (size_t)(at - address);
	if (len > ADDR_LOCAL_MAX)
		return false;
	memcpy(local, address, len);
	local[len] = '\0';
	return addr_local_valid(local) && addr_domain_valid(at + 1);
}

bool
addr_pattern_valid(const char *pattern)
{
	if (pattern[0] == '@')
		return addr_domain_valid(pattern + 1);
	return addr_address_valid(pattern);
}

void
addr_lower(char *text)
{
	for (; *text; text++)
		*text = (char)tolower((unsigned char)*text);
}

static void
addr_routed(struct addr_envelope *out, const char *why)
{
	out->kind = ADDR_ENV_ROUTED;
	out->why = why;
}

/* The routing tricks a local part can hold; NULL when it is a plain atom. */
static const char *
addr_local_trick(const char *local, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c == '%')
			return "percent hack";
		if (c == '!')
			return "bang path";
		if (c == '"' || c == '\\')
			return "quoted local part";
		if (c == ':' || c == ',' || c == '[' || c == ']' || c == '<' || c == '>' || c == '(' || c == ')'
		    || c == ';' || c <= ' ' || c >= 0x7f)
			return "malformed local part";
	}
	return NULL;
}

static const char *
addr_domain_trick(const char *domain)
{
	size_t len = strlen(domain);

	if (domain[0] == '[')
		return "address literal";
	if (len && domain[len - 1] == '.')
		return "trailing dot";
	if (len > ADDR_DOMAIN_MAX)
		return "domain too long";
	if (!addr_domain_valid(domain))
		return "malformed domain";
	return NULL;
}

void
addr_envelope_parse(const char *arg, struct addr_envelope *out)
{
	size_t len = strlen(arg), locallen;
	const char *at, *trick;

	memset(out, 0, sizeof(*out));
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len == 0) {
		out->kind = ADDR_ENV_NULL;
		return;
	}
	if (arg[0] == '@')
		return addr_routed(out, "source route");
	at = memchr(arg, '@', len);
	if (at && memchr(at + 1, '@', len - (size_t)(at + 1 - arg)))
		return addr_routed(out, memchr(arg, '"', len) ? "quoted local part" : "several @");
	locallen = at ? (size_t)(at - arg) : len;
	if ((trick = addr_local_trick(arg, locallen)))
		return addr_routed(out, trick);
	if (locallen == 0 || locallen > ADDR_LOCAL_MAX)
		return addr_routed(out, "local part empty or too long");
	if (at) {
		size_t domainlen = len - locallen - 1;

		if (domainlen == 0 || domainlen > ADDR_DOMAIN_MAX)
			return addr_routed(out, domainlen ? "domain too long" : "empty domain");
		memcpy(out->domain, at + 1, domainlen);
		if ((trick = addr_domain_trick(out->domain))) {
			out->domain[0] = '\0';
			return addr_routed(out, trick);
		}
	}
	memcpy(out->local, arg, locallen);
	addr_lower(out->local);
	addr_lower(out->domain);
	out->kind = ADDR_ENV_PLAIN;
}
