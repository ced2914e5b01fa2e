/*
 * names - diagnosing names; see names.h.
 *
 * The verdict is always lib/addr.h's (so reader and milter never
 * disagree); the diagnosis only looks for the first rule broken, to say it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "names.h"
#include "policy.h"

#define NAMES_BUF 600

static const char *const names_words[] = {
	[NAMES_DOMAIN] = "domain name",
	[NAMES_HOSTNAME] = "host name",
	[NAMES_LOCAL] = "local part",
	[NAMES_MAILBOX] = "mailbox name",
	[NAMES_ALIAS] = "alias name",
	[NAMES_PATTERN] = "sender address or @domain",
	[NAMES_MIME] = "MIME type (type/subtype)",
};

static const enum report_code names_codes[] = {
	[NAMES_DOMAIN] = RC_INVALID_DOMAIN,
	[NAMES_HOSTNAME] = RC_INVALID_HOSTNAME,
	[NAMES_LOCAL] = RC_INVALID_LOCAL_PART,
	[NAMES_MAILBOX] = RC_INVALID_MAILBOX_NAME,
	[NAMES_ALIAS] = RC_INVALID_ALIAS_NAME,
	[NAMES_PATTERN] = RC_INVALID_SENDER_PATTERN,
	[NAMES_MIME] = RC_INVALID_MIME_TYPE,
};

const char *
names_what(enum names_kind kind)
{
	return names_words[kind];
}

static bool
names_mime_valid(const char *type)
{
	const char *slash = strchr(type, '/');

	if (!slash || slash == type || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (const char *p = type; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("/.+-_", *p))
			return false;
	return strlen(type) < POLICY_TYPE_LEN;
}

/* The longest each kind may be, in bytes. */
static size_t
names_max(enum names_kind kind)
{
	switch (kind) {
	case NAMES_LOCAL: case NAMES_ALIAS: return ADDR_LOCAL_MAX;
	case NAMES_MAILBOX: return ADDR_NAME_MAX;
	case NAMES_PATTERN: return ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX;
	case NAMES_MIME: return POLICY_TYPE_LEN - 1;
	default: return ADDR_DOMAIN_MAX;
	}
}

static bool
names_qualified(const char *name)
{
	return strchr(name, '.') && strcmp(name, "localhost.localdomain") != 0
	       && !g_str_has_suffix(name, ".localhost");
}

bool
names_valid(enum names_kind kind, const char *text)
{
	switch (kind) {
	case NAMES_DOMAIN: return addr_domain_valid(text);
	case NAMES_HOSTNAME: return addr_domain_valid(text) && names_qualified(text);
	case NAMES_LOCAL: return addr_local_valid(text);
	case NAMES_MAILBOX: return addr_mailbox_name_valid(text);
	case NAMES_ALIAS: return addr_alias_name_valid(text);
	case NAMES_PATTERN: return addr_pattern_valid(text);
	default: return names_mime_valid(text);
	}
}

/* The first character c of text that none of allowed (letters and digits are) takes. */
static int
names_bad_char(const char *text, const char *allowed, bool upper)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (!(g_ascii_isdigit(*p) || g_ascii_islower(*p) || (upper && g_ascii_isupper(*p)) || strchr(allowed, *p)))
			return *p;
	return -1;
}

static void
names_char_words(int c, char *buf, size_t len)
{
	if (c == ' ')
		snprintf(buf, len, "a blank");
	else if (c < 0x20 || c == 0x7f)
		snprintf(buf, len, "a control character");
	else if (c >= 0x80)
		snprintf(buf, len, "a character outside ASCII");
	else
		snprintf(buf, len, "'%c'", c);
}

static const char *
names_domain_why(const char *text)
{
	const char *label = text;

	if (!*text)
		return "is empty";
	for (;;) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		if (len == 0)
			return "has an empty label (two dots, or a dot at either end)";
		if (len > 63)
			return "has a label longer than 63 characters";
		if (label[0] == '-' || label[len - 1] == '-')
			return "has a label that starts or ends with '-'";
		if (!dot)
			return strspn(label, "0123456789") == len ? "ends in a numeric label (an address is no domain name)"
								   : NULL;
		label = dot + 1;
	}
}

static const char *
names_local_why(const char *text)
{
	size_t len = strlen(text);

	if (!len)
		return "is empty";
	if (text[0] == '.' || text[len - 1] == '.')
		return "starts or ends with a dot";
	if (strstr(text, ".."))
		return "has two dots in a row";
	return NULL;
}

/* Why text breaks the rules of kind, beyond its characters and length; NULL: no rule found. */
static const char *
names_rule_why(enum names_kind kind, const char *text)
{
	const char *at;

	switch (kind) {
	case NAMES_DOMAIN: case NAMES_HOSTNAME:
		return names_domain_why(text);
	case NAMES_LOCAL:
		return names_local_why(text);
	case NAMES_MAILBOX:
		if (g_ascii_isdigit(text[0]) || text[0] == '-' || text[0] == '.')
			return "must start with a letter or '_' (a Unix user name)";
		return text[0] && text[strlen(text) - 1] == '.' ? "must not end with a dot" : NULL;
	case NAMES_ALIAS:
		if (text[0] == '-' || text[0] == '.' || text[0] == '+')
			return "must start with a letter, digit or '_'";
		return text[0] && text[strlen(text) - 1] == '.' ? "must not end with a dot" : NULL;
	case NAMES_PATTERN:
		at = strrchr(text, '@');
		if (!at)
			return "needs an '@': \"local@domain\" or \"@domain\"";
		return at[1] ? names_domain_why(at + 1) : "has no domain after the '@'";
	default:
		return strchr(text, '/') ? "needs exactly one '/' with a type before it and a subtype after it"
					 : "has no '/' (type/subtype)";
	}
}

static const char *const names_allowed[] = {
	[NAMES_DOMAIN] = "-.",
	[NAMES_HOSTNAME] = "-.",
	[NAMES_LOCAL] = "._+-",
	[NAMES_MAILBOX] = "_.-",
	[NAMES_ALIAS] = "_.+-",
	[NAMES_PATTERN] = "._+-@",
	[NAMES_MIME] = "/.+-_",
};

const char *
names_problem(enum names_kind kind, const char *text, size_t len, char *why, size_t whylen,
	      enum report_code *code)
{
	char buf[NAMES_BUF], c[32];
	const char *rule;
	int bad;

	*code = names_codes[kind];
	if (len != strlen(text)) {
		snprintf(why, whylen, "contains a NUL character");
		return why;
	}
	if (len > names_max(kind)) {
		*code = RC_TOO_LONG;
		snprintf(why, whylen, "is %zu characters long; a %s has at most %zu", len, names_words[kind],
			 names_max(kind));
		return why;
	}
	memcpy(buf, text, len + 1);
	if (kind != NAMES_MAILBOX)
		addr_lower(buf);
	if (names_valid(kind, buf))
		return NULL;
	if (kind == NAMES_HOSTNAME && addr_domain_valid(buf)) {
		*code = RC_HOSTNAME_NOT_QUALIFIED;
		snprintf(why, whylen, "is not fully qualified: other servers must find this server by it (it needs a "
			 "dot, and is not localhost)");
		return why;
	}
	if (kind == NAMES_MAILBOX && names_bad_char(buf, names_allowed[kind], false) >= 0
	    && names_bad_char(buf, names_allowed[kind], true) < 0) {
		snprintf(why, whylen, "has upper-case letters; a mailbox is a Unix account, and its name is in lower case");
		return why;
	}
	if ((bad = names_bad_char(buf, names_allowed[kind], false)) >= 0) {
		names_char_words(bad, c, sizeof(c));
		snprintf(why, whylen, "contains %s, which a %s cannot have (letters, digits and %s)", c,
			 names_words[kind], names_allowed[kind]);
		return why;
	}
	rule = names_rule_why(kind, buf);
	snprintf(why, whylen, "%s", rule ? rule : "breaks the syntax of hostmapgen-export(5)");
	return why;
}
