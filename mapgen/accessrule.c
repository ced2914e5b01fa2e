/*
 * accessrule - the export's access entries as Sendmail reads them; see accessrule.h.
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "accessrule.h"

enum tag_values { VALUES_ACTION, VALUES_SPAM, VALUES_NUMBER, VALUES_FEATURES, VALUES_YESNO, VALUES_TLS, VALUES_CERT,
		  VALUES_ANY };

struct tag {
	const char *name;	/* lower case, with the colon */
	enum tag_values values;
	bool network;		/* its keys are client addresses or names */
};

static const struct tag tags[] = {
	{ "connect:", VALUES_ACTION, true }, { "from:", VALUES_ACTION, false }, { "to:", VALUES_ACTION, false },
	{ "spam:", VALUES_SPAM, false }, { "tls_srv:", VALUES_TLS, true }, { "tls_clt:", VALUES_TLS, true },
	{ "tls_rcpt:", VALUES_TLS, false }, { "certissuer:", VALUES_CERT, false },
	{ "certsubject:", VALUES_CERT, false }, { "srv_features:", VALUES_FEATURES, true },
	{ "clt_features:", VALUES_FEATURES, true }, { "try_tls:", VALUES_YESNO, true },
	{ "greetpause:", VALUES_NUMBER, true }, { "clientrate:", VALUES_NUMBER, true },
	{ "clientconn:", VALUES_NUMBER, true }, { "authinfo:", VALUES_ANY, false },
};

static const struct tag *
tag_of(const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(tags); i++)
		if (g_ascii_strncasecmp(key, tags[i].name, strlen(tags[i].name)) == 0)
			return &tags[i];
	return NULL;
}

bool
accessrule_key_valid(const char *key)
{
	return *key && !strpbrk(key, " \t") && tag_of(key);
}

static bool
is_word(const char *value, const char *const *words)
{
	for (; *words; words++)
		if (g_ascii_strcasecmp(value, *words) == 0)
			return true;
	return false;
}

static bool
has_prefix(const char *value, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (g_ascii_strncasecmp(value, *prefixes, strlen(*prefixes)) == 0 && value[strlen(*prefixes)])
			return true;
	return false;
}

/* "550 text" or "450 4.7.1 text": a reply Sendmail gives as it is. */
static bool
is_reply(const char *value)
{
	return (value[0] == '4' || value[0] == '5') && g_ascii_isdigit(value[1]) && g_ascii_isdigit(value[2])
	       && value[3] == ' ' && value[4];
}

static bool
all_of(const char *value, const char *set)
{
	return *value && strspn(value, set) == strlen(value);
}

static bool
value_valid(enum tag_values values, const char *value)
{
	static const char *const actions[] = { "OK", "RELAY", "REJECT", "DISCARD", "SKIP", NULL };
	static const char *const action_args[] = { "ERROR:", "QUARANTINE:", "DISCARD:", NULL };
	static const char *const spam[] = { "FRIEND", "HATER", NULL };
	static const char *const yesno[] = { "YES", "NO", NULL };
	static const char *const tls[] = { "VERIFY", "ENCR:", "PERM+", "TEMP+", "CN", "CS:", "CI:", NULL };
	static const char *const cert[] = { "RELAY", "SUBJECT", NULL };

	switch (values) {
	case VALUES_ACTION: return is_word(value, actions) || has_prefix(value, action_args) || is_reply(value);
	case VALUES_SPAM: return is_word(value, spam);
	case VALUES_NUMBER: return all_of(value, "0123456789");
	case VALUES_FEATURES: return all_of(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ");
	case VALUES_YESNO: return is_word(value, yesno);
	case VALUES_TLS: return g_ascii_strcasecmp(value, "VERIFY") == 0 || has_prefix(value, tls);
	case VALUES_CERT: return is_word(value, cert);
	default: return true;
	}
}

static const char *
values_words(enum tag_values values)
{
	switch (values) {
	case VALUES_ACTION: return "OK, RELAY, REJECT, DISCARD, SKIP, ERROR:..., QUARANTINE:... or a reply such as "
				   "\"550 no thanks\"";
	case VALUES_SPAM: return "FRIEND or HATER";
	case VALUES_NUMBER: return "a number";
	case VALUES_FEATURES: return "feature letters";
	case VALUES_YESNO: return "YES or NO";
	case VALUES_TLS: return "a TLS requirement (VERIFY, ENCR:bits, PERM+..., CN:name, ...)";
	default: return "RELAY or SUBJECT";
	}
}

/* "192.0.2.0/24", "::/0": an address with a prefix length. */
static bool
is_cidr(const char *rest)
{
	const char *slash = strchr(rest, '/');

	return slash && slash > rest && strspn(rest, "0123456789abcdefABCDEF.:") == (size_t)(slash - rest)
	       && all_of(slash + 1, "0123456789");
}

/* A single label (no dot), and not an address: a top-level domain. */
static bool
is_top_level(const char *rest)
{
	return *rest && !strchr(rest, '.') && !all_of(rest, "0123456789") && g_ascii_strcasecmp(rest, "localhost") != 0
	       && g_ascii_strncasecmp(rest, "IPv6:", 5) != 0;
}

static const char *
relay_problem(const struct tag *tag, const char *rest, char *why, size_t whylen, enum report_code *code)
{
	*code = RC_ACCESS_OPEN_RELAY;
	if (strcmp(tag->name, "connect:") == 0 && (!*rest || is_top_level(rest))) {
		snprintf(why, whylen, "RELAY for every client whose host name ends in \".%s\" makes this server an open "
			 "relay; give the customer's networks in relay.clients", rest);
		return why;
	}
	if (strcmp(tag->name, "to:") == 0 && (!*rest || is_top_level(rest))) {
		snprintf(why, whylen, "RELAY for every destination in \"%s\" lets anyone relay through this server; "
			 "name the relayed domains themselves (or use a route or backup_mx)", rest);
		return why;
	}
	if (strcmp(tag->name, "from:") == 0) {
		*code = RC_ACCESS_RELAY_FROM;
		snprintf(why, whylen, "RELAY for a sender (where FEATURE(`relay_mail_from') is on) lets anyone who writes "
			 "this sender address relay; prefer relay.clients, certificates or SMTP AUTH");
		return why;
	}
	return NULL;
}

const char *
accessrule_check(const char *key, const char *value, char *why, size_t whylen, enum report_code *code)
{
	const struct tag *tag = tag_of(key);
	const char *rest;

	if (!tag)
		return NULL;	/* the reader refused the key already */
	rest = key + strlen(tag->name);
	if (tag->network && is_cidr(rest)) {
		*code = RC_ACCESS_KEY_CIDR;
		snprintf(why, whylen, "\"%s\" is a network in CIDR notation, which Sendmail's access map never matches "
			 "(it cuts client addresses at octets)%s; give networks in relay.clients", rest,
			 g_str_has_suffix(rest, "/0") ? ", and which means every client" : "");
		return why;
	}
	if (!value_valid(tag->values, value)) {
		*code = RC_INVALID_ACCESS_VALUE;
		snprintf(why, whylen, "\"%s\" is not a value Sendmail reads for %.*s (%s)", value, (int)(rest - key), key,
			 values_words(tag->values));
		return why;
	}
	if (g_ascii_strcasecmp(value, "RELAY") == 0)
		return relay_problem(tag, rest, why, whylen, code);
	return NULL;
}
