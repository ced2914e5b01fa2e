/*
 * export - panel export reader; see export.h.
 *
 * Values are copied out of the jansson tree as each domain is read and the
 * domain's subtree is then cleared, so a million addresses need the tree of
 * one JSON document at most once, not twice.
 *
 * jansson refuses a document with invalid UTF-8 or a NUL character ("\u0000")
 * in a string at the first one, and says where in bytes, not in which
 * string.  So such a document is read a second time, carefully
 * (export_careful): each invalid byte sequence replaced by U+FFFF, a
 * noncharacter no panel writes, NULs allowed, and every value walked for
 * both, so that each is reported with the JSON path of its string and the
 * rest of the export is still checked.  The first reading, which nearly
 * every export passes, walks nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accessrule.h"
#include "addr.h"
#include "export.h"
#include "names.h"
#include "size.h"
#include "xtext.h"

#define EXPORT_TEXT_MAX 400
/* Spam scores: GTUBE scores 1000; beyond, a score is a typo or "never", which null says. */
#define EXPORT_SCORE_MAX 1000.0
/* U+FFFF, which export_careful writes in place of an invalid byte sequence. */
#define EXPORT_BAD_UTF8 "\xef\xbf\xbf"

struct reader {
	struct mg_export *export;
	struct mg_report *report;
	GString *path;		/* JSON Pointer of the value being read */
	bool careful;		/* the second reading: see the top of this file */
	bool retry;		/* the first reading met invalid UTF-8 or a NUL */
};

static size_t
path_key(struct reader *r, const char *key)
{
	size_t saved = r->path->len;

	report_pointer_key(r->path, key, strlen(key));
	return saved;
}

/* "/N": every element of a million-address export is indexed, so no printf. */
static size_t
path_index(struct reader *r, size_t index)
{
	size_t saved = r->path->len;
	char digits[24], *p = digits + sizeof(digits);

	do {
		*--p = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	*--p = '/';
	g_string_append_len(r->path, p, digits + sizeof(digits) - p);
	return saved;
}

static void
path_restore(struct reader *r, size_t saved)
{
	g_string_truncate(r->path, saved);
}

static void __attribute__((format(printf, 3, 4)))
fail(struct reader *r, enum report_code code, const char *fmt, ...)
{
	char text[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	report_add(r->report, code, r->path->str, "%s", text);
}

static const char *
json_type_name(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Reports members of obj not in allowed (a NULL-terminated list). */
static void
check_keys(struct reader *r, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, key) != 0; a++)
			;
		if (!*a) {
			size_t saved = path_key(r, key);

			fail(r, RC_UNKNOWN_KEY, "unknown key \"%.100s\"", key);
			path_restore(r, saved);
		}
	}
}

static bool
want_type(struct reader *r, json_t *value, int type, const char *what)
{
	if (value && (int)json_typeof(value) == type)
		return true;
	if (type == JSON_REAL && value && json_is_number(value))
		return true;
	fail(r, RC_WRONG_TYPE, "expected %s, found %s", what, value ? json_type_name(value) : "nothing");
	return false;
}

/* Member key of obj with the given type; NULL when absent (reported if required) or mistyped. */
static json_t *
member(struct reader *r, json_t *obj, const char *key, int type, const char *what, bool required)
{
	json_t *value = json_object_get(obj, key);
	size_t saved;

	if (!value) {
		if (required)
			fail(r, RC_MISSING_KEY, "missing key \"%s\"", key);
		return NULL;
	}
	saved = path_key(r, key);
	if (!want_type(r, value, type, what))
		value = NULL;
	path_restore(r, saved);
	return value;
}

static bool
text_printable(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool
text_ascii(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/*
 * A single-line text an admin writes into a map, such as a reject text:
 * printable, at most EXPORT_TEXT_MAX characters, and ASCII where Sendmail
 * writes it into SMTP (reject texts, targets, access entries).
 */
static const char *
read_text(struct reader *r, json_t *value, const char *what, bool ascii)
{
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);

	if (!text)
		return NULL;
	/* One pass for what nearly every text is: printable ASCII of a sensible length. */
	if (len && len <= EXPORT_TEXT_MAX && text_ascii(text) && strlen(text) == len)
		return model_intern(r->export, text, len, false);
	if (strchr(text, '\n') || strchr(text, '\r')) {
		fail(r, RC_INVALID_TEXT, "%s must be a single line", what);
		return NULL;
	}
	if (!text_printable(text) || len != strlen(text)) {
		fail(r, RC_INVALID_TEXT, "%s contains control characters", what);
		return NULL;
	}
	if (ascii && !text_ascii(text)) {
		fail(r, RC_INVALID_TEXT, "%s must be ASCII: Sendmail writes it as it is", what);
		return NULL;
	}
	if (len == 0) {
		fail(r, RC_EMPTY, "%s must not be empty", what);
		return NULL;
	}
	if (g_utf8_strlen(text, (gssize)len) > EXPORT_TEXT_MAX) {
		fail(r, RC_TOO_LONG, "%s is longer than %d characters", what, EXPORT_TEXT_MAX);
		return NULL;
	}
	return model_intern(r->export, text, len, false);
}

/* A string that names something of kind, interned lower-case (mailbox names as they are); NULL after reporting. */
static const char *
read_name(struct reader *r, json_t *value, enum names_kind kind)
{
	const char *text;
	char buf[600], why[300];
	enum report_code code;
	size_t len;

	if (!want_type(r, value, JSON_STRING, "a string"))
		return NULL;
	text = json_string_value(value);
	len = json_string_length(value);
	/* Valid names are nearly all: lower-case them and ask addr.h; only a refusal asks names.c why. */
	if (len < sizeof(buf) && len == strlen(text)) {
		memcpy(buf, text, len + 1);
		if (kind != NAMES_MAILBOX)
			addr_lower(buf);
		if (names_valid(kind, buf))
			return model_intern(r->export, buf, len, false);
	}
	if (names_problem(kind, text, len, why, sizeof(why), &code)) {
		if (code == RC_TOO_LONG)
			fail(r, code, "\"%.60s...\" %s", text, why);
		else
			fail(r, code, "\"%s\" is not a valid %s: it %s", text, names_what(kind), why);
	}
	return NULL;
}

/* *pos, when not NULL, gets each name's index in the array where it differs from its own. */
static const char **
read_name_list(struct reader *r, json_t *array, enum names_kind kind, uint32_t *count, uint32_t **pos)
{
	const char **names = g_new0(const char *, json_array_size(array) + 1);
	size_t i;
	json_t *value;

	*count = 0;
	json_array_foreach(array, i, value) {
		size_t saved = path_index(r, i);
		const char *name = read_name(r, value, kind);

		if (name) {
			if (pos && *count != i && !*pos)
				*pos = g_new0(uint32_t, json_array_size(array));
			if (pos && *pos)
				(*pos)[*count] = (uint32_t)i;
			names[(*count)++] = name;
		}
		path_restore(r, saved);
	}
	return names;
}

static const char **
member_name_list(struct reader *r, json_t *obj, const char *key, enum names_kind kind, uint32_t *count,
		 uint32_t **pos)
{
	json_t *array = member(r, obj, key, JSON_ARRAY, "an array", false);
	const char **names;
	size_t saved;

	*count = 0;
	if (!array)
		return NULL;
	saved = path_key(r, key);
	names = read_name_list(r, array, kind, count, pos);
	path_restore(r, saved);
	return names;
}

/* ---- policy rules ---- */

/* Digits and an optional K, M or G (and B): the syntax size_parse reads, whatever the value. */
static bool
size_syntax_ok(const char *text)
{
	size_t digits = strspn(text, "0123456789");
	const char *suffix = text + digits;

	if (!digits || strlen(text) > 40)
		return false;
	if (*suffix && strchr("kKmMgG", *suffix))
		suffix += suffix[1] == 'b' || suffix[1] == 'B' ? 2 : 1;
	return *suffix == '\0';
}

/*
 * A spam score: finite, within +-EXPORT_SCORE_MAX (GTUBE scores 1000), and
 * for a reject or discard score above 0: ordinary mail scores around 0, so
 * a threshold at or below it refuses nearly every message.
 */
static bool
score_ok(struct reader *r, const char *key, double score, bool threshold)
{
	if (!(score >= -EXPORT_SCORE_MAX && score <= EXPORT_SCORE_MAX)) {
		fail(r, RC_SCORE_OUT_OF_RANGE, "a spam score is between -%g and %g (GTUBE scores 1000)%s", EXPORT_SCORE_MAX,
		     EXPORT_SCORE_MAX, threshold ? "; null turns this threshold off" : "");
		return false;
	}
	if (threshold && score <= 0) {
		fail(r, RC_SCORE_NOT_POSITIVE, "%s %g would refuse nearly every message (ordinary mail scores around 0); "
		     "null turns it off", key, score);
		return false;
	}
	return true;
}

static void
read_size(struct reader *r, json_t *obj, struct policy_rules *rules)
{
	json_t *value = member(r, obj, "max_message_size", JSON_STRING, "a size such as \"128M\"", false);
	const char *why;
	size_t saved;

	if (!value)
		return;
	saved = path_key(r, "max_message_size");
	if (size_parse(json_string_value(value), &rules->max_size, &why) < 0)
		fail(r, size_syntax_ok(json_string_value(value)) ? RC_SIZE_OUT_OF_RANGE : RC_INVALID_SIZE,
		     "bad size \"%.60s\": %s", json_string_value(value), why);
	rules->set |= POLICY_SET_MAX_SIZE;
	path_restore(r, saved);
}

static void
read_score(struct reader *r, json_t *spam, const char *key, bool nullable, bool *present, double *score,
	   unsigned *set, unsigned bit)
{
	json_t *value = json_object_get(spam, key);
	size_t saved;

	if (!value)
		return;
	*set |= bit;
	saved = path_key(r, key);
	if (nullable && json_is_null(value)) {
		*present = false;
	} else if (want_type(r, value, JSON_REAL, nullable ? "a number or null" : "a number")
		   && score_ok(r, key, json_number_value(value), nullable)) {
		*present = true;
		*score = json_number_value(value);
	}
	path_restore(r, saved);
}

static void
read_bool(struct reader *r, json_t *obj, const char *key, bool *out)
{
	json_t *value = json_object_get(obj, key);
	size_t saved;

	if (!value)
		return;
	saved = path_key(r, key);
	if (json_is_boolean(value))
		*out = json_is_true(value);
	else
		want_type(r, value, JSON_TRUE, "a boolean");
	path_restore(r, saved);
}

static void
read_spam_members(struct reader *r, json_t *spam, struct policy_rules *rules)
{
	static const char *const keys[] = { "scan", "tag_score", "subject_tag", "reject_score",
					    "discard_score", NULL };
	struct policy_spam *out = &rules->spam;
	json_t *value;
	bool present;

	check_keys(r, spam, keys);
	if (json_object_get(spam, "scan"))
		rules->set |= POLICY_SET_SPAM_SCAN;
	read_bool(r, spam, "scan", &out->scan);
	read_score(r, spam, "tag_score", false, &present, &out->tag_score, &rules->set, POLICY_SET_TAG_SCORE);
	read_score(r, spam, "reject_score", true, &out->has_reject, &out->reject_score, &rules->set,
		   POLICY_SET_REJECT_SCORE);
	read_score(r, spam, "discard_score", true, &out->has_discard, &out->discard_score, &rules->set,
		   POLICY_SET_DISCARD_SCORE);
	if ((value = member(r, spam, "subject_tag", JSON_STRING, "a string", false))) {
		rules->set |= POLICY_SET_SUBJECT_TAG;
		const char *tag = json_string_value(value);
		size_t saved = path_key(r, "subject_tag");

		if (strlen(tag) >= sizeof(out->subject_tag))
			fail(r, RC_TOO_LONG, "a subject tag is shorter than %zu characters", sizeof(out->subject_tag));
		else if (!text_ascii(tag) || json_string_length(value) != strlen(tag))
			fail(r, RC_INVALID_TEXT, "a subject tag is printable ASCII: it goes into the Subject as it is");
		else
			strcpy(out->subject_tag, tag);
		path_restore(r, saved);
	}
}

static void
read_spam(struct reader *r, json_t *obj, struct policy_rules *out)
{
	json_t *spam = json_object_get(obj, "spam");
	size_t saved;

	if (!spam)
		return;
	saved = path_key(r, "spam");
	if (want_type(r, spam, JSON_OBJECT, "an object"))
		read_spam_members(r, spam, out);
	path_restore(r, saved);
}

static void
read_virus(struct reader *r, json_t *obj, struct policy_rules *rules)
{
	json_t *value = member(r, obj, "virus", JSON_STRING, "a string", false);
	size_t saved;

	if (!value)
		return;
	rules->set |= POLICY_SET_VIRUS;
	saved = path_key(r, "virus");
	if (policy_virus_parse(json_string_value(value), &rules->virus) < 0)
		fail(r, RC_INVALID_CHOICE, "\"%.60s\" is not one of reject, discard, quarantine, tag",
		     json_string_value(value));
	path_restore(r, saved);
}

/* "uninspectable" and "encrypted": what happens to content no engine inspects, and to encrypted content. */
static void
read_content_actions(struct reader *r, json_t *obj, struct policy_rules *rules)
{
	json_t *value = member(r, obj, "uninspectable", JSON_STRING, "a string", false);
	size_t saved;

	if (value) {
		rules->set |= POLICY_SET_UNINSPECTABLE;
		saved = path_key(r, "uninspectable");
		if (policy_uninspectable_parse(json_string_value(value), &rules->uninspectable) < 0)
			fail(r, RC_INVALID_CHOICE, "\"%.60s\" is not one of reject, quarantine, tag", json_string_value(value));
		path_restore(r, saved);
	}
	if ((value = member(r, obj, "encrypted", JSON_STRING, "a string", false))) {
		rules->set |= POLICY_SET_ENCRYPTED;
		saved = path_key(r, "encrypted");
		if (policy_encrypted_parse(json_string_value(value), &rules->encrypted) < 0)
			fail(r, RC_INVALID_CHOICE, "\"%.60s\" is not one of accept, tag, quarantine, reject",
			     json_string_value(value));
		path_restore(r, saved);
	}
}

static void
read_blocked_types(struct reader *r, json_t *obj, struct policy_rules *rules)
{
	json_t *types = member(r, obj, "blocked_types", JSON_ARRAY, "an array", false);
	const char **names;
	uint32_t count;
	size_t saved;

	if (!types)
		return;
	saved = path_key(r, "blocked_types");
	if (json_array_size(types) > POLICY_TYPES_MAX)
		fail(r, RC_OUT_OF_RANGE, "at most %d blocked types", POLICY_TYPES_MAX);
	names = read_name_list(r, types, NAMES_MIME, &count, NULL);
	rules->ntypes = 0;
	memset(rules->blocked_types, 0, sizeof(rules->blocked_types));	/* interned byte-wise */
	for (uint32_t i = 0; i < count && i < POLICY_TYPES_MAX; i++)
		strcpy(rules->blocked_types[rules->ntypes++], names[i]);
	rules->set |= POLICY_SET_TYPES;
	g_free(names);
	path_restore(r, saved);
}

/*
 * The rules an object sets itself, on top of base: the built-in defaults
 * for "defaults", nothing for a domain or mailbox, whose unset keys are
 * inherited when hostmilter resolves a recipient (lib/policy.h).
 */
static const struct policy_rules *
read_rules(struct reader *r, json_t *obj, const struct policy_rules *base)
{
	static const char *const keys[] = { "max_message_size", "spam", "virus", "uninspectable", "encrypted",
					    "blocked_types", NULL };
	struct policy_rules rules;
	const char *const *key = keys;

	/* Most objects set nothing: skip interning (hashing) a whole rule set for each. */
	while (!base && *key && !json_object_get(obj, *key))
		key++;
	if (!base && !*key)
		return model_empty_rules(r->export);

	if (base)
		rules = *base;
	else
		memset(&rules, 0, sizeof(rules));	/* padding too: rule sets are interned byte-wise */
	read_size(r, obj, &rules);
	read_spam(r, obj, &rules);
	read_virus(r, obj, &rules);
	read_content_actions(r, obj, &rules);
	read_blocked_types(r, obj, &rules);
	return model_intern_rules(r->export, &rules);
}

/* A rate_limit object: recipients per hour and burst, each 0 ("the default's") to POLICY_RATE_MAX. */
static void
read_rate_limit(struct reader *r, json_t *obj, bool bulk, struct policy_rate *rate)
{
	static const char *const keys[] = { "recipients_per_hour", "burst", "bulk_recipients_per_hour",
					    "bulk_burst", NULL };
	uint32_t *fields[] = { &rate->per_hour, &rate->burst, &rate->bulk_per_hour, &rate->bulk_burst };
	json_t *limit = member(r, obj, "rate_limit", JSON_OBJECT, "an object", false);
	size_t saved;

	if (!limit)
		return;
	saved = path_key(r, "rate_limit");
	check_keys(r, limit, bulk ? keys : (const char *const[]){ "recipients_per_hour", "burst", NULL });
	for (int i = 0; i < (bulk ? 4 : 2); i++) {
		json_t *value = member(r, limit, keys[i], JSON_INTEGER, "an integer", false);
		size_t inner;

		if (!value)
			continue;
		inner = path_key(r, keys[i]);
		if (json_integer_value(value) < 0 || json_integer_value(value) > POLICY_RATE_MAX)
			fail(r, RC_OUT_OF_RANGE, "must be between 0 (the default applies) and %u", POLICY_RATE_MAX);
		else
			*fields[i] = (uint32_t)json_integer_value(value);
		path_restore(r, inner);
	}
	path_restore(r, saved);
}

/* ---- mail client autoconfiguration (autoconfig.db) ---- */

/* {"host": name, "port": 1-65535, "socket": "SSL"|"STARTTLS"}, every member required. */
static void
read_client_server(struct reader *r, json_t *obj, struct mg_client_server *out)
{
	static const char *const keys[] = { "host", "port", "socket", NULL };
	json_t *value;
	enum acdb_socket socket;
	size_t saved;

	check_keys(r, obj, keys);
	out->state = MG_SERVER_SET;
	if ((value = json_object_get(obj, "host"))) {
		saved = path_key(r, "host");
		out->host = read_name(r, value, NAMES_HOSTNAME);	/* qualified, not localhost */
		path_restore(r, saved);
	} else {
		fail(r, RC_MISSING_KEY, "missing key \"host\"");
	}
	if ((value = member(r, obj, "port", JSON_INTEGER, "an integer", true))) {
		saved = path_key(r, "port");
		if (json_integer_value(value) < 1 || json_integer_value(value) > 65535)
			fail(r, RC_OUT_OF_RANGE, "a port is between 1 and 65535");
		else
			out->port = (uint16_t)json_integer_value(value);
		path_restore(r, saved);
	}
	if ((value = member(r, obj, "socket", JSON_STRING, "a string", true))) {
		saved = path_key(r, "socket");
		if (acdb_socket_parse(json_string_value(value), &socket) < 0)
			fail(r, RC_INVALID_CHOICE, "\"%.60s\" is not one of SSL (TLS from the start) and STARTTLS",
			     json_string_value(value));
		else
			out->socket = (uint8_t)socket;
		path_restore(r, saved);
	}
}

/*
 * "client_settings": {"imap": server, "pop3": server, "smtp": server}, each
 * optional; null says a domain does not offer what the defaults do.
 */
static void
read_client_settings(struct reader *r, json_t *obj, struct mg_client_settings *out)
{
	static const char *const keys[] = { "imap", "pop3", "smtp", NULL };
	json_t *settings = member(r, obj, "client_settings", JSON_OBJECT, "an object", false);
	size_t saved;

	if (!settings)
		return;
	saved = path_key(r, "client_settings");
	check_keys(r, settings, keys);
	for (unsigned p = 0; p < ACDB_PROTOCOLS; p++) {
		json_t *server = json_object_get(settings, keys[p]);
		size_t inner;

		if (!server)
			continue;
		inner = path_key(r, keys[p]);
		if (json_is_null(server))
			out->server[p].state = MG_SERVER_REMOVED;
		else if (want_type(r, server, JSON_OBJECT, "an object or null"))
			read_client_server(r, server, &out->server[p]);
		path_restore(r, inner);
	}
	path_restore(r, saved);
}

/* A domain's "autoconfig" (boolean) and "client_settings". */
static void
read_autoconfig(struct reader *r, json_t *obj, struct mg_domain *domain)
{
	read_bool(r, obj, "autoconfig", &domain->autoconfig);
	read_client_settings(r, obj, &domain->client_settings);
}

static void
read_defaults(struct reader *r, json_t *top)
{
	static const char *const keys[] = { "max_message_size", "spam", "virus", "uninspectable", "encrypted",
					    "blocked_types", "rate_limit", "client_settings", NULL };
	json_t *defaults = member(r, top, "defaults", JSON_OBJECT, "an object", false);
	size_t saved;

	if (!defaults)
		return;
	saved = path_key(r, "defaults");
	check_keys(r, defaults, keys);
	/* What the export sets itself is kept apart: --explain tells "defaults" from "built-in". */
	r->export->defaults_own = read_rules(r, defaults, NULL);
	policy_rules_default(&r->export->defaults);
	policy_rules_overlay(&r->export->defaults, r->export->defaults_own);
	read_rate_limit(r, defaults, true, &r->export->default_rate);
	read_client_settings(r, defaults, &r->export->client_settings);
	path_restore(r, saved);
}

/* ---- deliver targets and rejects ---- */

static void
read_targets(struct reader *r, json_t *array, struct mg_deliver *deliver)
{
	size_t i;
	json_t *value;

	deliver->targets = model_alloc(r->export, sizeof(struct mg_target) * (json_array_size(array) ? json_array_size(array) : 1));
	json_array_foreach(array, i, value) {
		size_t saved = path_index(r, i);
		const char *text = NULL;

		if (want_type(r, value, JSON_STRING, "a string"))
			text = read_text(r, value, "a deliver target", true);
		if (text)
			deliver->targets[deliver->ntargets++].text = text;
		path_restore(r, saved);
	}
}

/* "deliver" or "reject", exactly one of them. */
static void
read_deliver(struct reader *r, json_t *obj, struct mg_deliver *deliver)
{
	json_t *targets = json_object_get(obj, "deliver");
	json_t *reject = json_object_get(obj, "reject");
	size_t saved;

	if ((targets != NULL) == (reject != NULL)) {
		fail(r, RC_DELIVER_OR_REJECT, "needs exactly one of \"deliver\" and \"reject\"");
		return;
	}
	if (reject) {
		saved = path_key(r, "reject");
		if (want_type(r, reject, JSON_STRING, "a string"))
			deliver->reject = read_text(r, reject, "a reject text", true);
		/* It is written inside double quotes in virtmaps. */
		if (deliver->reject && strpbrk(deliver->reject, "\"\\")) {
			fail(r, RC_INVALID_TEXT, "a reject text must not contain double quotes or backslashes");
			deliver->reject = NULL;
		}
		path_restore(r, saved);
		return;
	}
	saved = path_key(r, "deliver");
	if (want_type(r, targets, JSON_ARRAY, "an array")) {
		if (json_array_size(targets) == 0)
			fail(r, RC_EMPTY, "needs at least one target");
		read_targets(r, targets, deliver);
	}
	path_restore(r, saved);
}

/* ---- mailboxes ---- */

static void
read_mailbox(struct reader *r, json_t *obj)
{
	static const char *const keys[] = { "name", "send_as", "max_message_size", "spam", "virus",
					    "uninspectable", "encrypted", "blocked_types", "rate_limit", NULL };
	struct mg_mailbox mailbox = { 0 };
	json_t *name;

	mailbox.where = model_intern(r->export, r->path->str, r->path->len, false);
	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	if ((name = json_object_get(obj, "name"))) {
		size_t saved = path_key(r, "name");

		mailbox.name = read_name(r, name, NAMES_MAILBOX);
		path_restore(r, saved);
	} else {
		fail(r, RC_MISSING_KEY, "missing key \"name\"");
	}
	mailbox.send_as = member_name_list(r, obj, "send_as", NAMES_PATTERN, &mailbox.nsend_as, &mailbox.send_as_pos);
	read_rate_limit(r, obj, true, &mailbox.rate);
	mailbox.rules = read_rules(r, obj, NULL);
	if (!mailbox.name) {
		g_free(mailbox.send_as);
		g_free(mailbox.send_as_pos);
		return;
	}
	g_array_append_val(r->export->mailboxes, mailbox);
}

/* ---- domains ---- */

static void
read_address(struct reader *r, json_t *obj, struct mg_domain *domain, uint32_t index)
{
	static const char *const keys[] = { "local", "deliver", "reject", NULL };
	struct mg_address *address = &domain->addresses[domain->naddresses];
	json_t *local;

	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	memset(address, 0, sizeof(*address));
	address->index = index;
	address->domain = r->export->domains->len;	/* read_domain appends its domain next */
	if ((local = json_object_get(obj, "local"))) {
		size_t saved = path_key(r, "local");

		address->local = read_name(r, local, NAMES_LOCAL);
		path_restore(r, saved);
	} else {
		fail(r, RC_MISSING_KEY, "missing key \"local\"");
	}
	if (!model_domain_relayed(domain))
		read_deliver(r, obj, &address->deliver);
	else if (json_object_get(obj, "deliver") || json_object_get(obj, "reject"))
		fail(r, RC_NOT_ALLOWED_HERE, "the addresses of a routed or backup-MX domain are its valid recipients, "
		     "relayed to its server: no \"deliver\" or \"reject\" here");
	if (address->local && domain->name) {
		char full[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
		size_t locallen = strlen(address->local), namelen = strlen(domain->name);

		/* Both were checked: at most 64 and 253 bytes. */
		memcpy(full, address->local, locallen);
		full[locallen] = '@';
		memcpy(full + locallen + 1, domain->name, namelen + 1);
		address->full = model_intern(r->export, full, locallen + 1 + namelen, false);
		domain->naddresses++;
	}
}

static void
read_addresses(struct reader *r, json_t *obj, struct mg_domain *domain)
{
	json_t *array = member(r, obj, "addresses", JSON_ARRAY, "an array", false);
	size_t saved, i;
	json_t *value;

	if (!array)
		return;
	saved = path_key(r, "addresses");
	domain->addresses = g_new(struct mg_address, json_array_size(array) + 1);
	json_array_foreach(array, i, value) {
		size_t inner = path_index(r, i);

		read_address(r, value, domain, (uint32_t)i);
		path_restore(r, inner);
	}
	path_restore(r, saved);
}

/* {"deliver": [...]} or {"reject": "..."} for a local domain; {"relay": true} for a relayed one. */
static void
read_catch_all(struct reader *r, json_t *obj, struct mg_domain *domain)
{
	static const char *const keys[] = { "deliver", "reject", "relay", NULL };
	json_t *catch_all = member(r, obj, "catch_all", JSON_OBJECT, "an object", false);
	size_t saved;

	if (!catch_all)
		return;
	saved = path_key(r, "catch_all");
	check_keys(r, catch_all, keys);
	if (!json_object_get(catch_all, "relay")) {
		read_deliver(r, catch_all, &domain->catch_all);
		domain->has_catch_all = true;
		if (model_domain_relayed(domain))
			fail(r, RC_NOT_ALLOWED_HERE, "a routed or backup-MX domain relays its mail: its catch-all can only "
			     "be {\"relay\": true}");
	} else if (json_object_size(catch_all) != 1) {
		fail(r, RC_CONFLICTING_KEYS, "\"relay\" cannot be combined with \"deliver\" or \"reject\"");
	} else {
		read_bool(r, catch_all, "relay", &domain->catch_all_relay);
		if (domain->catch_all_relay && !model_domain_relayed(domain))
			fail(r, RC_NOT_ALLOWED_HERE, "\"relay\": true needs a route or backup_mx: a local domain delivers "
			     "here");
	}
	path_restore(r, saved);
}

/* ---- routes ---- */

static const char *read_dn(struct reader *r, json_t *obj, const char *key, bool required);

/*
 * A route's host, as the export gives it: a host name, an IPv4 address, or
 * an IP address in brackets ("[2001:db8::1]", "[IPv6:2001:db8::1]").  A
 * colon or comma outside brackets is an error: in a mailertable value
 * Sendmail reads "host:2526" as two hosts, the second being 0.0.9.222.
 */
static void
read_route_host(struct reader *r, json_t *value, struct mg_route *route)
{
	const char *text = json_string_value(value);
	char inner[INET6_ADDRSTRLEN + 8];
	unsigned char bytes[16];
	size_t len = strlen(text);

	if (text[0] == '[' && len > 2 && text[len - 1] == ']' && len - 2 < sizeof(inner)) {
		memcpy(inner, text + 1, len - 2);
		inner[len - 2] = '\0';
		text = g_ascii_strncasecmp(inner, "IPv6:", 5) == 0 ? inner + 5 : inner;
		route->family = inet_pton(AF_INET6, text, bytes) == 1 ? AF_INET6
				: inet_pton(AF_INET, text, bytes) == 1 ? AF_INET : 0;
		if (!route->family) {
			fail(r, RC_INVALID_ROUTE_HOST, "\"%.100s\" is not an IP address in brackets", json_string_value(value));
			return;
		}
	} else if (strpbrk(text, ":,[]")) {
		fail(r, RC_INVALID_ROUTE_HOST, "\"%.100s\": a colon or comma outside brackets; give the port as "
		     "\"port\" and an IPv6 address in brackets", text);
		return;
	} else if (inet_pton(AF_INET, text, bytes) == 1) {
		route->family = AF_INET;
	} else if (!addr_domain_valid(text) || !strchr(text, '.')) {
		fail(r, RC_INVALID_ROUTE_HOST, "\"%.100s\" is not a host name or IP address", text);
		return;
	}
	route->host = model_intern(r->export, text, strlen(text), true);
}

static void
read_route_tls(struct reader *r, json_t *route_obj, struct mg_route *route)
{
	static const char *const keys[] = { "verify", "name", "issuer", NULL };
	json_t *tls = member(r, route_obj, "tls", JSON_OBJECT, "an object", false), *name;
	size_t saved;

	if (!tls)
		return;
	saved = path_key(r, "tls");
	check_keys(r, tls, keys);
	read_bool(r, tls, "verify", &route->tls_verify);
	if ((name = member(r, tls, "name", JSON_STRING, "a string", false))) {
		size_t inner = path_key(r, "name");

		route->tls_name = read_name(r, name, NAMES_DOMAIN);
		path_restore(r, inner);
	}
	route->tls_issuer = read_dn(r, tls, "issuer", false);
	if (route->tls_verify && !json_object_get(tls, "name"))
		fail(r, RC_MISSING_KEY, "\"verify\": true needs the \"name\" the server's certificate must carry");
	if (!route->tls_verify && (json_object_get(tls, "name") || json_object_get(tls, "issuer")))
		fail(r, RC_CONFLICTING_KEYS, "\"name\" and \"issuer\" are checked only with \"verify\": true");
	path_restore(r, saved);
}

static void
read_etrn_clients(struct reader *r, json_t *route_obj, struct mg_route *route)
{
	json_t *array = member(r, route_obj, "etrn_clients", JSON_ARRAY, "an array", false), *value;
	size_t saved, i;
	const char *why;

	if (!array)
		return;
	saved = path_key(r, "etrn_clients");
	route->etrn_clients = g_new0(struct cidr, json_array_size(array) + 1);
	json_array_foreach(array, i, value) {
		size_t inner = path_index(r, i);

		if (!want_type(r, value, JSON_STRING, "a string"))
			;
		else if (cidr_parse(json_string_value(value), &route->etrn_clients[route->netrn], &why) < 0)
			fail(r, RC_INVALID_NETWORK, "bad network \"%.100s\": %s", json_string_value(value), why);
		else
			route->netrn++;
		path_restore(r, inner);
	}
	path_restore(r, saved);
}

static void
read_route(struct reader *r, json_t *obj, struct mg_domain *domain)
{
	static const char *const keys[] = { "host", "port", "mx", "tls", "hold", "etrn_clients", NULL };
	json_t *route = member(r, obj, "route", JSON_OBJECT, "an object", false), *value;
	struct mg_route *out = &domain->route;
	size_t saved;

	if (!route)
		return;
	domain->has_route = true;
	out->port = 25;
	saved = path_key(r, "route");
	check_keys(r, route, keys);
	if ((value = member(r, route, "host", JSON_STRING, "a string", true))) {
		size_t inner = path_key(r, "host");

		read_route_host(r, value, out);
		path_restore(r, inner);
	}
	if ((value = member(r, route, "port", JSON_INTEGER, "an integer", false))) {
		size_t inner = path_key(r, "port");

		if (json_integer_value(value) < 1 || json_integer_value(value) > 65535)
			fail(r, RC_OUT_OF_RANGE, "a port is between 1 and 65535");
		else
			out->port = (uint16_t)json_integer_value(value);
		path_restore(r, inner);
	}
	read_bool(r, route, "mx", &out->mx);
	if (out->mx && out->family) {
		size_t inner = path_key(r, "mx");

		fail(r, RC_CONFLICTING_KEYS, "an IP address has no MX records: \"mx\": true needs a host name");
		path_restore(r, inner);
	}
	read_route_tls(r, route, out);
	read_bool(r, route, "hold", &out->hold);
	read_etrn_clients(r, route, out);
	path_restore(r, saved);
}

static void
read_domain(struct reader *r, json_t *obj)
{
	static const char *const keys[] = { "name", "aliases", "addresses", "catch_all", "backup_mx", "route",
					    "max_message_size", "spam", "virus", "uninspectable", "encrypted",
					    "blocked_types", "allow_senders", "block_senders", "autoconfig", "client_settings",
					    NULL };
	struct mg_domain domain = { 0 };
	json_t *name;

	domain.where = model_intern(r->export, r->path->str, r->path->len, false);
	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	if ((name = json_object_get(obj, "name"))) {
		size_t saved = path_key(r, "name");

		domain.name = read_name(r, name, NAMES_DOMAIN);
		path_restore(r, saved);
	} else {
		fail(r, RC_MISSING_KEY, "missing key \"name\"");
	}
	domain.aliases = member_name_list(r, obj, "aliases", NAMES_DOMAIN, &domain.naliases, NULL);
	read_bool(r, obj, "backup_mx", &domain.backup_mx);	/* first: they decide what addresses are */
	read_route(r, obj, &domain);
	read_addresses(r, obj, &domain);
	read_catch_all(r, obj, &domain);
	domain.allow_senders = member_name_list(r, obj, "allow_senders", NAMES_PATTERN, &domain.nallow, NULL);
	domain.block_senders = member_name_list(r, obj, "block_senders", NAMES_PATTERN, &domain.nblock, NULL);
	domain.rules = read_rules(r, obj, NULL);
	read_autoconfig(r, obj, &domain);
	/* A domain without a valid name is kept so its addresses are checked; validate skips it. */
	g_array_append_val(r->export->domains, domain);
}

/* ---- aliases, relay, access, server ---- */

static void
read_alias(struct reader *r, json_t *obj)
{
	static const char *const keys[] = { "name", "deliver", NULL };
	struct mg_alias alias = { 0 };
	json_t *name, *targets;
	size_t saved;

	alias.where = model_intern(r->export, r->path->str, r->path->len, false);
	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	if ((name = json_object_get(obj, "name"))) {
		saved = path_key(r, "name");
		alias.name = read_name(r, name, NAMES_ALIAS);
		path_restore(r, saved);
	} else {
		fail(r, RC_MISSING_KEY, "missing key \"name\"");
	}
	if ((targets = member(r, obj, "deliver", JSON_ARRAY, "an array", true))) {
		saved = path_key(r, "deliver");
		if (json_array_size(targets) == 0)
			fail(r, RC_EMPTY, "needs at least one target");
		read_targets(r, targets, &alias.deliver);
		path_restore(r, saved);
	}
	if (alias.name)
		g_array_append_val(r->export->aliases, alias);
}

static void
read_network(struct reader *r, json_t *obj)
{
	static const char *const keys[] = { "network", "note", "rate_limit", NULL };
	struct mg_network network = { 0 };
	json_t *value;
	const char *why;

	network.where = model_intern(r->export, r->path->str, r->path->len, false);
	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	member(r, obj, "note", JSON_STRING, "a string", false);
	if (!(value = member(r, obj, "network", JSON_STRING, "a string", true)))
		return;
	size_t saved = path_key(r, "network");
	if (cidr_parse(json_string_value(value), &network.net, &why) < 0) {
		fail(r, RC_INVALID_NETWORK, "bad network \"%.100s\": %s", json_string_value(value), why);
	} else {
		network.text = model_intern(r->export, json_string_value(value), json_string_length(value), true);
	}
	path_restore(r, saved);
	read_rate_limit(r, obj, true, &network.rate);
	if (network.text)
		g_array_append_val(r->export->networks, network);
}

static const char *
read_dn(struct reader *r, json_t *obj, const char *key, bool required)
{
	json_t *value = member(r, obj, key, JSON_STRING, "a string", required);
	const char *text = NULL;
	size_t saved;

	if (!value)
		return NULL;
	saved = path_key(r, key);
	text = read_text(r, value, "a distinguished name", false);
	if (text && text[0] != '/') {
		fail(r, RC_INVALID_DN, "a distinguished name starts with '/' as in \"/C=DE/O=Example/CN=Example CA\"");
		text = NULL;
	}
	path_restore(r, saved);
	return text;
}

static void
read_certificate(struct reader *r, json_t *obj)
{
	static const char *const keys[] = { "issuer", "subject", "note", "rate_limit", NULL };
	struct mg_cert cert = { 0 };

	cert.where = model_intern(r->export, r->path->str, r->path->len, false);
	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	member(r, obj, "note", JSON_STRING, "a string", false);
	cert.issuer = read_dn(r, obj, "issuer", true);
	cert.subject = read_dn(r, obj, "subject", false);
	read_rate_limit(r, obj, true, &cert.rate);
	if (cert.issuer)
		g_array_append_val(r->export->certs, cert);
}

typedef void (*item_fn)(struct reader *r, json_t *item);

static void
read_list(struct reader *r, json_t *obj, const char *key, item_fn read_item)
{
	json_t *array = member(r, obj, key, JSON_ARRAY, "an array", false);
	size_t saved, i;
	json_t *item;

	if (!array)
		return;
	saved = path_key(r, key);
	json_array_foreach(array, i, item) {
		size_t inner = path_index(r, i);

		read_item(r, item);
		/* Free each item's tree as soon as it has been copied out. */
		if (json_is_object(item))
			json_object_clear(item);
		path_restore(r, inner);
	}
	path_restore(r, saved);
}

static void
read_relay(struct reader *r, json_t *top)
{
	static const char *const keys[] = { "clients", "certificates", NULL };
	json_t *relay = member(r, top, "relay", JSON_OBJECT, "an object", false);
	size_t saved;

	if (!relay)
		return;
	saved = path_key(r, "relay");
	check_keys(r, relay, keys);
	read_list(r, relay, "clients", read_network);
	read_list(r, relay, "certificates", read_certificate);
	path_restore(r, saved);
}

static void
read_access(struct reader *r, json_t *obj)
{
	static const char *const keys[] = { "key", "value", NULL };
	struct mg_access entry = { 0 };
	json_t *key, *value;
	enum report_code code;
	char why[600];
	size_t saved;

	entry.where = model_intern(r->export, r->path->str, r->path->len, false);
	if (!want_type(r, obj, JSON_OBJECT, "an object"))
		return;
	check_keys(r, obj, keys);
	key = member(r, obj, "key", JSON_STRING, "a string", true);
	value = member(r, obj, "value", JSON_STRING, "a string", true);
	if (!key || !value)
		return;
	saved = path_key(r, "key");
	entry.key = read_text(r, key, "an access key", true);
	if (entry.key && !accessrule_key_valid(entry.key)) {
		fail(r, RC_INVALID_ACCESS_KEY, "\"%s\" is not a tagged access key (Connect:, From:, To:, ...) without "
		     "blanks", entry.key);
		entry.key = NULL;
	}
	path_restore(r, saved);
	saved = path_key(r, "value");
	entry.value = read_text(r, value, "an access value", true);
	if (entry.key && entry.value && accessrule_check(entry.key, entry.value, why, sizeof(why), &code)) {
		if (code != RC_INVALID_ACCESS_VALUE)
			path_restore(r, saved), path_key(r, "key");
		fail(r, code, "%s", why);
	}
	path_restore(r, saved);
	if (entry.key && entry.value)
		g_array_append_val(r->export->access, entry);
}

static void
read_server(struct reader *r, json_t *top)
{
	static const char *const keys[] = { "hostname", "names", NULL };
	json_t *server = member(r, top, "server", JSON_OBJECT, "an object", true);
	json_t *hostname;
	size_t saved;

	if (!server)
		return;
	saved = path_key(r, "server");
	check_keys(r, server, keys);
	if ((hostname = member(r, server, "hostname", JSON_STRING, "a string", true))) {
		size_t inner = path_key(r, "hostname");

		r->export->hostname = read_name(r, hostname, NAMES_HOSTNAME);
		path_restore(r, inner);
	}
	r->export->names = member_name_list(r, server, "names", NAMES_HOSTNAME, &r->export->nnames, NULL);
	path_restore(r, saved);
}

static void
read_version(struct reader *r, json_t *top)
{
	json_t *version = member(r, top, "version", JSON_INTEGER, "an integer", true);
	size_t saved;

	if (!version)
		return;
	saved = path_key(r, "version");
	if (json_integer_value(version) != EXPORT_VERSION)
		fail(r, RC_UNSUPPORTED_VERSION, "unsupported export version %lld (this hostmapgen reads version %d)",
		     (long long)json_integer_value(version), EXPORT_VERSION);
	path_restore(r, saved);
}

/* ---- the top level, streamed ----
 *
 * jansson has no incremental parser, and the tree of a million addresses
 * takes about a gigabyte.  So the top-level object and its big arrays are
 * walked here -- only the punctuation between values -- and every value,
 * each array element included, is decoded by jansson on its own
 * (JSON_DISABLE_EOF_CHECK reports how many bytes it used).  One element's
 * tree is alive at a time.
 */

struct stream {
	const char *base, *p, *end;
	const char *name;
	struct reader *r;
	bool broken;
};

static void
stream_error(struct stream *s, enum report_code code, const char *at, const char *text)
{
	int line = 1, column = 1;

	for (const char *c = s->base; c < at && c < s->end; c++, column++)
		if (*c == '\n') {
			line++;
			column = 0;
		}
	report_add(s->r->report, code, s->r->path->str, "%s:%d:%d: not valid JSON: %s", s->name, line, column, text);
	s->broken = true;
}

static bool
stream_accept(struct stream *s, char c)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* A string of the careful reading: reported and mended when it holds what jansson refused. */
static void
careful_string(struct reader *r, json_t *value)
{
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
	bool bad = memmem(text, len, EXPORT_BAD_UTF8, 3) != NULL, nul = memchr(text, '\0', len) != NULL;
	GString *mended;

	if (bad)
		fail(r, RC_INVALID_UTF8, "this string is not valid UTF-8 (each bad byte is shown as U+FFFF here)");
	if (nul)
		fail(r, RC_INVALID_TEXT, "this string contains a NUL character (\\u0000)");
	if (!bad && !nul)
		return;
	mended = g_string_sized_new(len);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\0')
			g_string_append_c(mended, '?');
		else if (i + 3 <= len && memcmp(text + i, EXPORT_BAD_UTF8, 3) == 0) {
			g_string_append_c(mended, '?');
			i += 2;
		} else
			g_string_append_c(mended, text[i]);
	}
	json_string_setn(value, mended->str, mended->len);
	g_string_free(mended, TRUE);
}

/* Every string and key of value, for careful_string (jansson bounds the depth). */
static void
careful_walk(struct reader *r, json_t *value)
{
	const char *key;
	json_t *member;
	size_t i, saved;

	switch (json_typeof(value)) {
	case JSON_OBJECT:
		json_object_foreach(value, key, member) {
			saved = path_key(r, key);
			if (strstr(key, EXPORT_BAD_UTF8))
				fail(r, RC_INVALID_UTF8, "this key is not valid UTF-8");
			careful_walk(r, member);
			path_restore(r, saved);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(value, i, member) {
			saved = path_index(r, i);
			careful_walk(r, member);
			path_restore(r, saved);
		}
		break;
	case JSON_STRING:
		careful_string(r, value);
		break;
	default:
		break;
	}
}

/* Why the stream stopped, kept by a thread that must not report (stream_array's reader). */
struct stream_stop {
	enum report_code code;
	const char *at;
	char text[JSON_ERROR_TEXT_LENGTH];
	bool retry;		/* invalid UTF-8 or a NUL: read again carefully */
};

/* The next value, or NULL with why in *stop; touches nothing but s->p. */
static json_t *
stream_parse(struct stream *s, bool careful, struct stream_stop *stop)
{
	size_t flags = JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES;
	json_error_t error;
	json_t *value;

	stream_accept(s, ' ');
	value = json_loadb(s->p, (size_t)(s->end - s->p), flags | (careful ? JSON_ALLOW_NUL : 0), &error);
	if (!value) {
		enum json_error_code code = json_error_code(&error);

		stop->retry = !careful && (code == json_error_invalid_utf8 || code == json_error_null_character);
		stop->code = code == json_error_duplicate_key ? RC_DUPLICATE_KEY : RC_JSON_SYNTAX;
		stop->at = s->p + error.position;
		g_strlcpy(stop->text, error.text, sizeof(stop->text));
		return NULL;
	}
	s->p += error.position;
	return value;
}

/* Says why the stream stopped: read again carefully, or a syntax error at the reader's path. */
static void
stream_stopped(struct stream *s, const struct stream_stop *stop)
{
	if (stop->retry) {
		s->r->retry = true;
		s->broken = true;
	} else
		stream_error(s, stop->code, stop->at, stop->text);
}

static json_t *
stream_value(struct stream *s)
{
	struct stream_stop stop;
	json_t *value = stream_parse(s, s->r->careful, &stop);

	if (!value)
		stream_stopped(s, &stop);
	else if (s->r->careful)
		careful_walk(s->r, value);
	return value;
}

/* Reads the next "," or the closing c; false on anything else (with *stop). */
static bool
stream_next_raw(struct stream *s, char close, bool *done, struct stream_stop *stop)
{
	*done = stream_accept(s, close);
	if (*done || stream_accept(s, ','))
		return true;
	*stop = (struct stream_stop){ .code = RC_JSON_SYNTAX, .at = s->p };
	g_strlcpy(stop->text, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'", sizeof(stop->text));
	return false;
}

static bool
stream_next(struct stream *s, char close, bool *done)
{
	struct stream_stop stop;

	if (stream_next_raw(s, close, done, &stop))
		return true;
	stream_stopped(s, &stop);
	return false;
}

/*
 * A big array's elements are parsed by jansson on a thread of their own,
 * a batch at a time, while this one turns the previous batches into the
 * model: on two cores that halves the longest single-threaded stage of a
 * run (mapgen-bench).  The reading thread touches only the stream's
 * position and the parsed trees it hands over; every report is made here,
 * after the batches before it, so they come in the document's order.
 */
#define PIPE_BATCH 256
#define PIPE_DEPTH 16		/* batches parsed ahead, at most: memory stays bounded */

/*
 * jansson's allocations for a batch, on the reading thread: malloc and free
 * for each of a million small objects were half of that thread's time.
 * With export_use_arenas, what jansson allocates while a batch is parsed
 * comes from that batch's arena, and the whole arena is dropped once the
 * model has been read from it, never object by object.  jansson frees
 * only on the reading thread while it parses (a hash table it grows) --
 * the model's thread only reads the trees -- so its free of a pointer of
 * the thread's current arena is the one that does nothing; every other
 * allocation, on any thread, is malloc's as without arenas.  Not in the
 * careful reading, whose walk replaces strings from the model's thread.
 */
#define ARENA_BLOCK ((size_t)1 << 20)

struct arena_block {
	char *base;
	size_t size;
};

struct arena {
	GArray *blocks;		/* struct arena_block, the last one being cut */
	size_t used;		/* of the last one */
};

static bool arenas_enabled;
static __thread struct arena *arena_current;

static struct arena *
arena_new(void)
{
	struct arena *a = g_new0(struct arena, 1);

	a->blocks = g_array_new(FALSE, FALSE, sizeof(struct arena_block));
	a->used = ARENA_BLOCK;	/* no block yet: the first allocation makes one */
	return a;
}

static void
arena_free(struct arena *a)
{
	if (!a)
		return;
	for (guint i = 0; i < a->blocks->len; i++)
		free(g_array_index(a->blocks, struct arena_block, i).base);
	g_array_free(a->blocks, TRUE);
	g_free(a);
}

static void *
arena_block(struct arena *a, size_t size)
{
	struct arena_block block = { malloc(size), size };

	if (!block.base)
		return NULL;
	if (size == ARENA_BLOCK || !a->blocks->len) {
		g_array_append_val(a->blocks, block);
		if (size == ARENA_BLOCK)
			a->used = 0;
	} else	/* a big one goes before the block being cut */
		g_array_insert_val(a->blocks, a->blocks->len - 1, block);
	return block.base;
}

static void *
arena_malloc(size_t size)
{
	struct arena *a = arena_current;
	char *p;

	if (!a)
		return malloc(size);
	size = (size + 15) & ~(size_t)15;
	if (size > ARENA_BLOCK / 4)
		return arena_block(a, size);
	if (a->used + size > ARENA_BLOCK && !arena_block(a, ARENA_BLOCK))
		return NULL;
	p = g_array_index(a->blocks, struct arena_block, a->blocks->len - 1).base + a->used;
	a->used += size;
	return p;
}

static bool
arena_holds(const struct arena *a, const void *p)
{
	for (guint i = 0; i < a->blocks->len; i++) {
		const struct arena_block *block = &g_array_index(a->blocks, struct arena_block, i);

		if ((const char *)p >= block->base && (const char *)p < block->base + block->size)
			return true;
	}
	return false;
}

static void
arena_free_fn(void *p)
{
	if (p && arena_current && arena_holds(arena_current, p))
		return;
	free(p);
}

void
export_use_arenas(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free_fn);
	arenas_enabled = true;
}

/* The parsed elements of a batch, and the arena they were parsed into (NULL: malloc's). */
struct batch {
	GPtrArray *items;
	struct arena *arena;
};

struct pipe {
	struct stream *s;
	bool careful;
	GMutex lock;
	GCond cond;
	GQueue full;		/* struct batch*, in order; NULL: no more */
	GQueue used;		/* batches read into the model, for the reading thread to free */
	struct stream_stop stop;
	bool stopped;		/* stop holds why the array ended early */
	size_t stopped_at;	/* the index of the element that could not be parsed */
	bool in_item;		/* ... and whether it was an element (else a separator) */
};

static struct batch *
batch_new(const struct pipe *p)
{
	struct batch *batch = g_new(struct batch, 1);

	batch->items = g_ptr_array_sized_new(PIPE_BATCH);
	batch->arena = arenas_enabled && !p->careful ? arena_new() : NULL;
	arena_current = batch->arena;
	return batch;
}

/* Frees the batches the model no longer needs: glibc frees fastest on the thread that allocated. */
static void
pipe_free_used(struct pipe *p)
{
	struct batch *batch;

	for (;;) {
		g_mutex_lock(&p->lock);
		batch = g_queue_pop_head(&p->used);
		g_mutex_unlock(&p->lock);
		if (!batch)
			return;
		if (batch->arena)
			arena_free(batch->arena);	/* every tree of it at once */
		else
			for (guint b = 0; b < batch->items->len; b++)
				json_decref(batch->items->pdata[b]);
		g_ptr_array_free(batch->items, TRUE);
		g_free(batch);
	}
}

/* Hands a batch over (NULL: the end), freeing used ones while it waits for room. */
static void
pipe_push(struct pipe *p, struct batch *batch)
{
	for (;;) {
		pipe_free_used(p);
		g_mutex_lock(&p->lock);
		if (!batch || p->full.length < PIPE_DEPTH)
			break;
		if (g_queue_is_empty(&p->used))
			g_cond_wait(&p->cond, &p->lock);
		g_mutex_unlock(&p->lock);
	}
	g_queue_push_tail(&p->full, batch);
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->lock);
}

static struct batch *
pipe_pop(struct pipe *p)
{
	struct batch *batch;

	g_mutex_lock(&p->lock);
	while (g_queue_is_empty(&p->full))
		g_cond_wait(&p->cond, &p->lock);
	batch = g_queue_pop_head(&p->full);
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->lock);
	return batch;
}

static gpointer
pipe_read(gpointer data)
{
	struct pipe *p = data;
	struct stream *s = p->s;
	struct batch *batch = batch_new(p);
	bool done = stream_accept(s, ']');
	size_t i = 0;

	while (!done) {
		json_t *item = stream_parse(s, p->careful, &p->stop);

		if (!item) {
			p->stopped = p->in_item = true;
			p->stopped_at = i;
			break;
		}
		g_ptr_array_add(batch->items, item);
		i++;
		if (batch->items->len == PIPE_BATCH) {
			arena_current = NULL;	/* pipe_push frees with malloc's free */
			pipe_push(p, batch);
			batch = batch_new(p);
		}
		if (!stream_next_raw(s, ']', &done, &p->stop)) {
			p->stopped = true;
			break;
		}
	}
	arena_current = NULL;
	pipe_push(p, batch);
	pipe_push(p, NULL);
	return NULL;
}

static void
stream_array(struct stream *s, const char *key, item_fn read_item)
{
	struct reader *r = s->r;
	size_t saved = path_key(r, key), i = 0, inner;
	struct pipe p = { .s = s, .careful = r->careful };
	struct batch *batch;
	GThread *reader;

	if (!stream_accept(s, '[')) {
		json_t *value = stream_value(s);

		if (value)
			want_type(r, value, JSON_ARRAY, "an array");
		json_decref(value);
		path_restore(r, saved);
		return;
	}
	g_mutex_init(&p.lock);
	g_cond_init(&p.cond);
	reader = g_thread_new("export", pipe_read, &p);
	while ((batch = pipe_pop(&p)) != NULL) {
		for (guint b = 0; b < batch->items->len; b++) {
			inner = path_index(r, i++);
			if (r->careful)
				careful_walk(r, batch->items->pdata[b]);
			read_item(r, batch->items->pdata[b]);
			path_restore(r, inner);
		}
		g_mutex_lock(&p.lock);
		g_queue_push_tail(&p.used, batch);
		g_cond_broadcast(&p.cond);
		g_mutex_unlock(&p.lock);
	}
	g_thread_join(reader);
	pipe_free_used(&p);
	g_mutex_clear(&p.lock);
	g_cond_clear(&p.cond);
	if (p.stopped) {
		inner = p.in_item ? path_index(r, p.stopped_at) : r->path->len;
		stream_stopped(s, &p.stop);
		path_restore(r, inner);
	}
	path_restore(r, saved);
}

static item_fn
streamed_array(const char *key)
{
	if (strcmp(key, "mailboxes") == 0)
		return read_mailbox;
	if (strcmp(key, "domains") == 0)
		return read_domain;
	if (strcmp(key, "aliases") == 0)
		return read_alias;
	if (strcmp(key, "access") == 0)
		return read_access;
	return NULL;
}

/* One "key": value member of the top level; small values are kept in top. */
static void
stream_member(struct stream *s, json_t *top)
{
	json_t *key = stream_value(s), *value;
	item_fn read_item;
	const char *name;
	size_t saved;

	if (!key)
		return;
	if (!json_is_string(key) || !stream_accept(s, ':')) {
		stream_error(s, RC_JSON_SYNTAX, s->p, "expected a key and ':'");
		json_decref(key);
		return;
	}
	name = json_string_value(key);
	if (json_object_get(top, name)) {
		saved = path_key(s->r, name);
		stream_error(s, RC_DUPLICATE_KEY, s->p, "duplicate object key");
		path_restore(s->r, saved);
	} else if ((read_item = streamed_array(name)) != NULL) {
		stream_array(s, name, read_item);
		json_object_set_new(top, name, json_true());	/* marks it seen */
	} else {
		saved = path_key(s->r, name);
		if ((value = stream_value(s)) != NULL)
			json_object_set_new(top, name, value);
		path_restore(s->r, saved);
	}
	json_decref(key);
}

static void
read_top(struct reader *r, json_t *top)
{
	static const char *const keys[] = { "version", "server", "defaults", "mailboxes", "domains",
					    "aliases", "relay", "access", NULL };

	check_keys(r, top, keys);
	read_version(r, top);
	read_server(r, top);
	read_defaults(r, top);
	read_relay(r, top);
}

static int
export_parse_as(const char *data, size_t len, const char *name, struct mg_export *export,
		struct mg_report *report, bool careful)
{
	struct reader r = { .export = export, .report = report, .path = g_string_new(NULL), .careful = careful };
	struct stream s = { data, data, data + len, name, &r, false };
	json_t *top = json_object();
	bool done;

	if (!stream_accept(&s, '{')) {
		report_add(report, RC_WRONG_TYPE, "", "%s: the export must be a JSON object", name);
		s.broken = true;
	} else if (!(done = stream_accept(&s, '}'))) {
		while (!done && !s.broken) {
			stream_member(&s, top);
			if (!s.broken)
				stream_next(&s, '}', &done);
		}
	}
	if (!s.broken && (stream_accept(&s, ' '), s.p != s.end))
		stream_error(&s, RC_JSON_SYNTAX, s.p, "end of file expected");
	if (!s.broken)
		read_top(&r, top);
	json_decref(top);
	g_string_free(r.path, TRUE);
	return r.retry ? 1 : s.broken ? -1 : 0;
}

int
export_parse(const char *data, size_t len, const char *name, struct mg_export *export,
	     struct mg_report *report)
{
	return export_parse_as(data, len, name, export, report, false);
}

char *
export_careful(const char *data, size_t len, size_t *newlen)
{
	GString *out = g_string_sized_new(len + 64);
	const char *p = data, *end = data + len, *valid_end;

	while (p < end) {
		if (g_utf8_validate_len(p, (gsize)(end - p), &valid_end)) {
			g_string_append_len(out, p, end - p);
			break;
		}
		g_string_append_len(out, p, valid_end - p);
		g_string_append(out, EXPORT_BAD_UTF8);
		p = valid_end + 1;
	}
	*newlen = out->len;
	return g_string_free(out, FALSE);
}

int
export_read(const char *data, size_t len, const char *name, struct mg_export **export, struct mg_report *report)
{
	struct mg_report first;
	char *mended;
	size_t mended_len;
	int rc;

	report_init(&first);
	*export = model_new();
	rc = export_parse_as(data, len, name, *export, &first, false);
	if (rc != 1) {
		report_merge(report, &first);
		report_free(&first);
		return rc;
	}
	/* Invalid UTF-8 or a NUL: everything again, carefully (see the top of this file). */
	report_free(&first);
	model_free(*export);
	*export = model_new();
	mended = export_careful(data, len, &mended_len);
	rc = export_parse_as(mended, mended_len, name, *export, report, true);
	g_free(mended);
	return rc < 0 ? -1 : 0;
}

int
export_slurp(const char *path, char **data, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	GByteArray *buf;
	unsigned char chunk[1 << 16];
	ssize_t n;

	if (fd < 0)
		return -1;
	buf = g_byte_array_sized_new(1 << 20);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			int saved = errno;

			close(fd);
			g_byte_array_free(buf, TRUE);
			errno = saved;
			return -1;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	close(fd);
	*len = buf->len;
	g_byte_array_append(buf, (const guint8 *)"", 1);
	*data = (char *)g_byte_array_free(buf, FALSE);
	return 0;
}

void
export_digest(const char *data, size_t len, char digest[EXPORT_DIGEST_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(digest + 2 * i, 3, "%02x", md[i]);
}
