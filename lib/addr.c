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

/* A character of a PLAIN local part: atext without the '%' and '!' Sendmail routes by. */
static bool
addr_plain_char(unsigned char c)
{
	return isalnum(c) || (c > ' ' && c < 0x7f && strchr(".#$&'*+-/=?^_`{|}~", c));
}

/* The routing tricks a local part holds; NULL when it is plain. */
static const char *
addr_local_trick(const char *local, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c == '%')
			return "percent hack";
		if (c == '!')
			return "bang path";
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c == '"' || c == '\\')
			return "quoted local part";
		if (!addr_plain_char(c))
			return "malformed local part";
	}
	return NULL;
}

/* A local part that is one quoted string, without its quoting, into buf; false otherwise. */
static bool
addr_unquote(const char *local, size_t len, char *buf, size_t buflen, size_t *outlen)
{
	size_t n = 0;

	if (len < 2 || local[0] != '"' || local[len - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		if (local[i] == '"')
			return false;	/* "a"."b": several strings */
		if (local[i] == '\\' && ++i + 1 >= len)
			return false;	/* escapes the closing quote */
		if (n + 1 >= buflen)
			return false;
		buf[n++] = local[i];
	}
	buf[n] = '\0';
	*outlen = n;
	return true;
}

/* The local part, canonical (see addr.h); false when it is not plain. */
static bool
addr_local_read(const char *local, size_t len, struct addr_envelope *out)
{
	char plain[ADDR_LOCAL_MAX + 2];
	size_t plainlen;
	const char *trick;

	if (addr_unquote(local, len, plain, sizeof(plain), &plainlen) && !addr_local_trick(plain, plainlen)) {
		local = plain;
		len = plainlen;
	}
	trick = len ? addr_local_trick(local, len) : "empty local part";
	if (!trick && len > ADDR_LOCAL_MAX)
		trick = "local part too long";
	if (len <= ADDR_LOCAL_MAX) {
		memcpy(out->local, local, len);
		out->local[len] = '\0';
		addr_lower(out->local);
	}
	if (!trick) {
		const char *plus = memchr(out->local, '+', len);

		out->userlen = (unsigned char)(plus && plus != out->local ? (size_t)(plus - out->local) : len);
		return true;
	}
	for (size_t i = 0; i < len && !out->local_routes; i++)
		out->local_routes = local[i] == '%' || local[i] == '!';
	out->userlen = (unsigned char)(len <= ADDR_LOCAL_MAX ? len : 0);
	addr_routed(out, trick);
	return false;
}

/* The domain without one trailing dot, lower-case; NULL when it is a host name, else why not. */
static const char *
addr_domain_read(const char *domain, size_t len, struct addr_envelope *out)
{
	char name[ADDR_DOMAIN_MAX + 2];

	if (len == 0)
		return "empty domain";
	if (domain[0] == '[')
		return "address literal";
	if (len > 1 && domain[len - 1] == '.')
		len--;
	if (len > ADDR_DOMAIN_MAX)
		return "domain too long";
	memcpy(name, domain, len);
	name[len] = '\0';
	if (!addr_domain_valid(name))
		return "malformed domain";
	memcpy(out->domain, name, len + 1);
	addr_lower(out->domain);
	return NULL;
}

/* Prunes "@a,@b:" as Sendmail does; false when the route is malformed. */
static bool
addr_prune_route(const char **arg, size_t *len)
{
	const char *colon = memchr(*arg, ':', *len);

	if (!colon || colon + 1 == *arg + *len)
		return false;
	for (const char *p = *arg; p < colon; p++)
		if (*p == '"' || *p == '<' || *p == '>' || (unsigned char)*p <= ' ')
			return false;
	*len -= (size_t)(colon + 1 - *arg);
	*arg = colon + 1;
	return true;
}

/* The last '@' outside quotes; *count gets how many there are, -1 for an unbalanced quote. */
static const char *
addr_split_at(const char *arg, size_t len, int *count, const char **bang)
{
	const char *at = NULL;
	bool quoted = false;

	*count = 0;
	*bang = NULL;
	for (size_t i = 0; i < len; i++) {
		if (quoted && arg[i] == '\\' && i + 1 < len)
			i++;
		else if (arg[i] == '"')
			quoted = !quoted;
		else if (!quoted && arg[i] == '@') {
			at = arg + i;
			(*count)++;
		} else if (!quoted && arg[i] == '!' && !*bang)
			*bang = arg + i;
	}
	if (quoted)
		*count = -1;
	return at;
}

void
addr_envelope_parse(const char *arg, struct addr_envelope *out)
{
	size_t len = strlen(arg);
	const char *at, *bang, *why;
	int count;

	memset(out, 0, sizeof(*out));
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len == 0) {
		out->kind = ADDR_ENV_NULL;
		return;
	}
	if (len > ADDR_ENVELOPE_MAX)
		return addr_routed(out, "address too long");
	if (arg[0] == '@') {
		if (!addr_prune_route(&arg, &len))
			return addr_routed(out, "source route");
		out->route = true;
		out->why = "source route";
	}
	at = addr_split_at(arg, len, &count, &bang);
	if (count < 0)
		return addr_routed(out, "malformed local part");
	if (count > 1)
		return addr_routed(out, "several @");
	if (!at && bang && bang != arg) {
		/* host.domain!user, as Sendmail reads it: user@host.domain (a host without a dot is UUCP's) */
		if (!memchr(arg, '.', (size_t)(bang - arg)) || addr_domain_read(arg, (size_t)(bang - arg), out)) {
			out->local_routes = true;
			return addr_routed(out, "bang path");
		}
		out->route = true;
		out->why = "bang path";
		if (addr_local_read(bang + 1, len - (size_t)(bang + 1 - arg), out))
			out->kind = ADDR_ENV_PLAIN;
		return;
	}
	if (at && (why = addr_domain_read(at + 1, len - (size_t)(at + 1 - arg), out))) {
		addr_local_read(arg, (size_t)(at - arg), out);
		return addr_routed(out, why);
	}
	if (addr_local_read(arg, at ? (size_t)(at - arg) : len, out))
		out->kind = ADDR_ENV_PLAIN;
}
