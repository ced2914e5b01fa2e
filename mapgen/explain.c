/*
 * explain - the installed files' answer for an address or a client; see explain.h.
 *
 * The answer is built as JSON; the text for people is written from it, so
 * the two never say different things.
 */
#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acdb.h"
#include "addr.h"
#include "cidr.h"
#include "dbmap.h"
#include "explain.h"
#include "policydb.h"
#include "safefile.h"
#include "size.h"
#include "xtext.h"

/* Sendmail gives up after 50 rewrites; so does this. */
#define EXPLAIN_DEPTH_MAX 50
/* At most this many final recipients are listed (an alias may name thousands). */
#define EXPLAIN_DELIVERIES_MAX 1000

enum { MAP_VIRTUSER, MAP_ALIASES, MAP_ACCESS, MAP_MAILERTABLE, MAP_COUNT };

struct explainer {
	const struct explain_files *files;
	const char *map_names[MAP_COUNT];
	struct dbmap_reader *maps[MAP_COUNT];	/* NULL: no such map, an empty one */
	char *cw;		/* class w: "\nname\n..." in lower case */
	struct policydb *db;
	struct acdb *autoconfig;	/* NULL: no autoconfig.db, nobody's client is configured */
	struct policy_rules defaults_set;	/* what the export's defaults set themselves */
	bool defaults_set_known;
};

/* ---- opening ---- */

static char *
path_of(const struct explainer *e, const char *name, const char *suffix)
{
	return g_strdup_printf("%s/%s%s", e->files->dir, name, suffix);
}

/* A map's .db: 0 (maybe absent: *map NULL), or -1 with err. */
static int
open_map(const struct explainer *e, const char *name, struct dbmap_reader **map, char *err, size_t errlen)
{
	char *path = path_of(e, name, ".db");
	int rc = 0;

	*map = NULL;
	if (safefile_check_target(path, false, err, errlen) < 0
	    || (access(path, F_OK) == 0 && !(*map = dbmap_open(path, err, errlen))))
		rc = -1;
	g_free(path);
	return rc;
}

/* Class w as Sendmail fills it here: sendmail.cw's words, the host's name, localhost. */
static int
open_class_w(struct explainer *e, char *err, size_t errlen)
{
	char *path = path_of(e, e->files->cw, ""), *text = NULL, host[256] = "";
	size_t len = 0;
	GString *cw = g_string_new("\nlocalhost\nlocalhost.localdomain\n");
	enum safefile_status status = safefile_read(path, SAFEFILE_NO_CAP, &text, &len, err, errlen);

	g_free(path);
	if (status == SAFEFILE_ERROR || status == SAFEFILE_TOO_LARGE) {
		g_string_free(cw, TRUE);
		return -1;
	}
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0])
		g_string_append_printf(cw, "%s\n", host);
	for (size_t i = 0; text && i < len; i++)	/* words, one a line, comments out */
		g_string_append_c(cw, text[i] == ' ' || text[i] == '\t' ? '\n' : g_ascii_tolower(text[i]));
	g_string_append_c(cw, '\n');
	g_free(text);
	e->cw = g_string_free(cw, FALSE);
	return 0;
}

static bool
in_class_w(const struct explainer *e, const char *domain)
{
	char *needle = g_strdup_printf("\n%s\n", domain);
	bool found;

	addr_lower(needle);
	found = strstr(e->cw, needle) != NULL;
	g_free(needle);
	return found;
}

/* @defaults-set: which defaults the export set itself (hostmapgen writes it; older files lack it). */
static void
read_defaults_set(struct explainer *e)
{
	char *path = path_of(e, e->files->policy, ""), err[256], *value = NULL;
	struct dbmap_reader *raw = dbmap_open(path, err, sizeof(err));
	size_t len;
	json_t *json;
	const char *why;

	g_free(path);
	if (!raw)
		return;
	if (dbmap_get(raw, POLICY_KEY_DEFAULTS_SET, strlen(POLICY_KEY_DEFAULTS_SET), &value, &len) == 0
	    && (json = json_loadb(value, len, 0, NULL))) {
		e->defaults_set_known = policy_rules_from_json(json, &e->defaults_set, &why) == 0;
		json_decref(json);
	}
	free(value);
	dbmap_close(raw);
}

/* autoconfig.db, when there is one: written before this feature, a server has none. */
static int
open_autoconfig(struct explainer *e, char *err, size_t errlen)
{
	char *path;
	int rc = 0;

	if (!e->files->autoconfig)
		return 0;
	path = path_of(e, e->files->autoconfig, "");
	if (safefile_check_target(path, false, err, errlen) < 0
	    || (access(path, F_OK) == 0 && !(e->autoconfig = acdb_open(path, err, errlen))))
		rc = -1;
	g_free(path);
	return rc;
}

static int
explainer_open(struct explainer *e, const struct explain_files *files, char *err, size_t errlen)
{
	char *policy;

	memset(e, 0, sizeof(*e));
	e->files = files;
	e->map_names[MAP_VIRTUSER] = files->virtuser;
	e->map_names[MAP_ALIASES] = files->aliases;
	e->map_names[MAP_ACCESS] = files->access;
	e->map_names[MAP_MAILERTABLE] = files->mailertable;
	for (int m = 0; m < MAP_COUNT; m++)
		if (open_map(e, e->map_names[m], &e->maps[m], err, errlen) < 0)
			return -1;
	if (open_class_w(e, err, errlen) < 0)
		return -1;
	policy = path_of(e, files->policy, "");
	if (safefile_check_target(policy, false, err, errlen) == 0)
		e->db = policydb_open(policy, err, errlen);
	g_free(policy);
	if (!e->db || open_autoconfig(e, err, errlen) < 0)
		return -1;
	read_defaults_set(e);
	return 0;
}

static void
explainer_close(struct explainer *e)
{
	for (int m = 0; m < MAP_COUNT; m++)
		if (e->maps[m])
			dbmap_close(e->maps[m]);
	policydb_close(e->db);
	acdb_close(e->autoconfig);
	g_free(e->cw);
}

/* The value of key (folded) in map, or NULL; aliases keys and values end in a NUL. */
static char *
lookup(const struct explainer *e, int map, const char *key)
{
	char *folded = g_ascii_strdown(key, -1), *value = NULL, *copy;
	size_t len = 0;
	int rc;

	if (!e->maps[map]) {
		g_free(folded);
		return NULL;
	}
	rc = dbmap_get(e->maps[map], folded, strlen(folded) + (map == MAP_ALIASES), &value, &len);
	g_free(folded);
	if (rc != 0)
		return NULL;
	if (len && value[len - 1] == '\0')
		len--;
	copy = g_strndup(value, len);
	free(value);
	return copy;
}

/* ---- the delivery chain, as Sendmail resolves it ---- */

struct chain {
	json_t *steps;		/* [{"address", "map", "key", "value"}] */
	json_t *deliveries;	/* [{"address", "mailer", ...}] */
	GHashTable *seen;	/* final recipients and expanded names already listed */
};

static void resolve(const struct explainer *e, struct chain *c, const char *address, const char *self, unsigned depth);

static void
step(struct chain *c, const char *address, const char *map, const char *key, const char *value)
{
	json_array_append_new(c->steps, json_pack("{s:s, s:s, s:s, s:s}", "address", address, "map", map, "key", key,
						  "value", value));
}

static void
deliver(struct chain *c, json_t *delivery)
{
	char *dump = json_dumps(delivery, JSON_COMPACT | JSON_SORT_KEYS);

	/* Sendmail delivers to each final recipient once. */
	if (json_array_size(c->deliveries) < EXPLAIN_DELIVERIES_MAX && g_hash_table_add(c->seen, dump))
		json_array_append(c->deliveries, delivery);
	else if (!g_hash_table_contains(c->seen, dump))
		g_free(dump);
	json_decref(delivery);
}

/* error:D.S.N:"550 text", error:D.S.N:text, error:550 text: the status and the text. */
static void
deliver_error(struct chain *c, const char *address, const char *value)
{
	const char *p = value + strlen("error:");
	char status[16] = "";
	char *text;
	size_t n = strspn(p, "0123456789.");

	if (n && n < sizeof(status) && p[n] == ':') {
		memcpy(status, p, n);
		status[n] = '\0';
		p += n + 1;
	}
	text = g_strdup(p);
	if (text[0] == '"' && strlen(text) > 1 && text[strlen(text) - 1] == '"') {
		memmove(text, text + 1, strlen(text));
		text[strlen(text) - 1] = '\0';
	}
	if (strspn(text, "0123456789") == 3 && text[3] == ' ')
		memmove(text, text + 4, strlen(text + 4) + 1);
	deliver(c, json_pack("{s:s, s:s, s:s, s:s}", "address", address, "mailer", "error", "status",
			     status[0] ? status : "5.0.0", "text", text));
	g_free(text);
}

/* The user of a local delivery: exists in the password database or not ("User unknown"). */
static void
deliver_local(struct chain *c, const char *address, const char *name)
{
	char *user = g_strndup(name, strcspn(name, "+"));
	struct passwd *pw = getpwnam(user);

	deliver(c, json_pack("{s:s, s:s, s:s, s:b}", "address", address, "mailer", "local", "user", user, "exists",
			     pw != NULL));
	g_free(user);
}

/* "a, b, \"|cmd x\"": the targets of an aliases value, quotes kept. */
static GPtrArray *
split_targets(const char *value)
{
	GPtrArray *targets = g_ptr_array_new_with_free_func(g_free);
	GString *one = g_string_new(NULL);
	bool quoted = false;

	for (const char *p = value;; p++) {
		if (!*p || (*p == ',' && !quoted)) {
			char *t = g_strstrip(one->str);
			size_t len = strlen(t);

			if (len >= 2 && t[0] == '"' && t[len - 1] == '"')	/* Sendmail dequotes a whole target */
				g_ptr_array_add(targets, g_strndup(t + 1, len - 2));
			else if (len)
				g_ptr_array_add(targets, g_strdup(t));
			g_string_truncate(one, 0);
			if (!*p)
				break;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		g_string_append_c(one, *p);
	}
	g_string_free(one, TRUE);
	return targets;
}

static void
resolve_special(struct chain *c, const char *address, const char *target)
{
	const char *mailer = target[0] == '|' ? "prog" : target[0] == '/' ? "file" : "include";

	deliver(c, json_pack("{s:s, s:s, s:s}", "address", address, "mailer", mailer, "user", target));
}

/*
 * A local name: aliases (name, then user+* and user for user+detail), else
 * the local mailer.  self: the alias being expanded, whose own name in its
 * list is delivered, not expanded again.
 */
static void
resolve_local(const struct explainer *e, struct chain *c, const char *name, const char *self, unsigned depth)
{
	const char *plus = strchr(name, '+');
	char *keys[3] = { g_strdup(name), plus ? g_strdup_printf("%.*s+*", (int)(plus - name), name) : NULL,
			  plus ? g_strndup(name, (gsize)(plus - name)) : NULL };
	char *value = NULL, *key = NULL;

	for (int i = 0; i < 3 && keys[i] && !value; i++)
		if (!(self && g_ascii_strcasecmp(keys[i], self) == 0) && (value = lookup(e, MAP_ALIASES, keys[i])))
			key = keys[i];
	if (value && g_hash_table_add(c->seen, g_strdup_printf("alias:%s", key))) {
		GPtrArray *targets = split_targets(value);

		step(c, name, e->map_names[MAP_ALIASES], key, value);
		for (guint t = 0; t < targets->len; t++)
			resolve(e, c, targets->pdata[t], key, depth + 1);
		g_ptr_array_free(targets, TRUE);
	} else if (!value)
		deliver_local(c, name, name);
	g_free(value);
	for (int i = 0; i < 3; i++)
		g_free(keys[i]);
}

/* %1 (user), %2 (detail), %3 (+detail) of a virtmaps value. */
static char *
expand(const char *value, const char *user, const char *detail)
{
	GString *out = g_string_new(NULL);

	for (const char *p = value; *p; p++) {
		if (p[0] == '%' && p[1] >= '1' && p[1] <= '3') {
			if (p[1] == '1')
				g_string_append(out, user);
			else if (p[1] == '2')
				g_string_append(out, detail ? detail : "");
			else if (detail)
				g_string_append_printf(out, "+%s", detail);
			p++;
		} else
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* A domain of class w: virtmaps as Sendmail's rule set 0 looks it up, else the local part is a local name. */
static void
resolve_virtual(const struct explainer *e, struct chain *c, const char *address, const char *local,
		const char *domain, unsigned depth)
{
	const char *plus = strchr(local, '+');
	char *user = g_strndup(local, plus ? (gsize)(plus - local) : strlen(local)), *detail = plus ? g_strdup(plus + 1) : NULL;
	char *keys[5] = { g_strdup_printf("%s@%s", local, domain), NULL, NULL, NULL, NULL };
	char *value = NULL, *key = NULL, *target;
	int n = 1;

	if (plus) {
		keys[n++] = g_strdup_printf("%s+*@%s", user, domain);
		keys[n++] = g_strdup_printf("%s@%s", user, domain);
		keys[n++] = g_strdup_printf("+*@%s", domain);
	}
	keys[n++] = g_strdup_printf("@%s", domain);
	for (int i = 0; i < n && !value; i++)
		if ((value = lookup(e, MAP_VIRTUSER, keys[i])))
			key = keys[i];
	if (!value)
		resolve_local(e, c, local, NULL, depth);
	else if (g_str_has_prefix(value, "error:")) {
		step(c, address, e->map_names[MAP_VIRTUSER], key, value);
		deliver_error(c, address, value);
	} else {
		step(c, address, e->map_names[MAP_VIRTUSER], key, value);
		target = expand(value, user, detail);
		if (strchr(target, '@'))
			resolve(e, c, target, NULL, depth + 1);
		else
			resolve_local(e, c, target, NULL, depth + 1);
		g_free(target);
	}
	g_free(value);
	for (int i = 0; i < n; i++)
		g_free(keys[i]);
	g_free(user);
	g_free(detail);
}

/* Elsewhere: mailertable (the domain, each parent ".domain", then "."), else SMTP to the domain. */
static void
resolve_remote(const struct explainer *e, struct chain *c, const char *address, const char *domain,
	       unsigned depth)
{
	char *value = NULL, *key = g_strdup(domain), *colon;
	const char *dot = domain;

	while (!(value = lookup(e, MAP_MAILERTABLE, key)) && dot) {
		g_free(key);
		dot = strchr(dot + (*dot == '.'), '.');
		key = g_strdup(dot ? dot : ".");
	}
	if (!value) {
		deliver(c, json_pack("{s:s, s:s, s:s, s:s}", "address", address, "mailer", "esmtp", "host", domain, "user",
				     address));
	} else {
		step(c, address, e->map_names[MAP_MAILERTABLE], key, value);
		if (g_str_has_prefix(value, "error:"))
			deliver_error(c, address, value);
		else if (g_str_has_prefix(value, "local:"))
			resolve_local(e, c, value[6] ? value + 6 : address, NULL, depth + 1);
		else if ((colon = strchr(value, ':'))) {
			*colon = '\0';
			deliver(c, json_pack("{s:s, s:s, s:s, s:s}", "address", address, "mailer", value, "host", colon + 1,
					     "user", address));
		}
	}
	g_free(value);
	g_free(key);
}

static void
resolve(const struct explainer *e, struct chain *c, const char *address, const char *self, unsigned depth)
{
	const char *at = strrchr(address, '@');
	char *local, *domain;

	if (depth > EXPLAIN_DEPTH_MAX) {
		deliver(c, json_pack("{s:s, s:s, s:s, s:s}", "address", address, "mailer", "error", "status", "5.4.6",
				     "text", "too many hops: aliasing or forwarding loop"));
		return;
	}
	if (address[0] == '|' || address[0] == '/' || g_ascii_strncasecmp(address, ":include:", 9) == 0) {
		resolve_special(c, address, address);
		return;
	}
	if (!at) {
		resolve_local(e, c, address, self, depth);
		return;
	}
	local = g_strndup(address, (gsize)(at - address));
	domain = g_ascii_strdown(at + 1, -1);
	if (in_class_w(e, domain))
		resolve_virtual(e, c, address, local, domain, depth);
	else
		resolve_remote(e, c, address, domain, depth);
	g_free(local);
	g_free(domain);
}

/* ---- hostmilter.db: the recipient's policy ---- */

struct rule_key {
	const char *name;
	unsigned bit;
};

static const struct rule_key rule_keys[] = {
	{ "max_message_size", POLICY_SET_MAX_SIZE }, { "virus", POLICY_SET_VIRUS },
	{ "blocked_types", POLICY_SET_TYPES }, { "spam.scan", POLICY_SET_SPAM_SCAN },
	{ "spam.tag_score", POLICY_SET_TAG_SCORE }, { "spam.subject_tag", POLICY_SET_SUBJECT_TAG },
	{ "spam.reject_score", POLICY_SET_REJECT_SCORE }, { "spam.discard_score", POLICY_SET_DISCARD_SCORE },
};

static json_t *
rule_value(const struct policy_rules *r, unsigned bit)
{
	char size[32];
	json_t *types;

	switch (bit) {
	case POLICY_SET_MAX_SIZE:
		size_format(r->max_size, size, sizeof(size));
		return json_string(size);
	case POLICY_SET_VIRUS: return json_string(policy_virus_name(r->virus));
	case POLICY_SET_TYPES:
		types = json_array();
		for (unsigned i = 0; i < r->ntypes; i++)
			json_array_append_new(types, json_string(r->blocked_types[i]));
		return types;
	case POLICY_SET_SPAM_SCAN: return json_boolean(r->spam.scan);
	case POLICY_SET_TAG_SCORE: return json_real(r->spam.tag_score);
	case POLICY_SET_SUBJECT_TAG: return json_string(r->spam.subject_tag);
	case POLICY_SET_REJECT_SCORE: return r->spam.has_reject ? json_real(r->spam.reject_score) : json_null();
	default: return r->spam.has_discard ? json_real(r->spam.discard_score) : json_null();
	}
}

/* Key by key, where the value came from: the mailbox's own, the domain's, the export's defaults, built in. */
static json_t *
resolved_keys(const struct explainer *e, const struct policy_rules *resolved, const struct policy_rules *domain,
	    const char *domain_name, const struct policy_rules *mailbox, const char *mailbox_name)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < G_N_ELEMENTS(rule_keys); i++) {
		unsigned bit = rule_keys[i].bit;
		json_t *k = json_pack("{s:s, s:o}", "key", rule_keys[i].name, "value", rule_value(resolved, bit));

		if (mailbox && (mailbox->set & bit))
			json_object_set_new(k, "from", json_pack("{s:s, s:s}", "kind", "mailbox", "name", mailbox_name));
		else if (domain && (domain->set & bit))
			json_object_set_new(k, "from", json_pack("{s:s, s:s}", "kind", "domain", "name", domain_name));
		else if (!e->defaults_set_known || (e->defaults_set.set & bit))
			json_object_set_new(k, "from", json_pack("{s:s}", "kind", "defaults"));
		else
			json_object_set_new(k, "from", json_pack("{s:s}", "kind", "built-in"));
		json_array_append_new(keys, k);
	}
	return keys;
}

/*
 * The rate a payer gets, as hostmilter charges it (milter/facts.c,
 * facts_rate_resolve): its own recipients per hour, else the defaults';
 * its own burst, else the defaults', else an hour's allowance; 0 per hour
 * is unlimited.  The bulk pair applies on the daemons of BulkDaemons.
 */
static json_t *
rate_json(const struct policy_rate *own, const struct policy_rate *defaults, bool bulk)
{
	static const struct policy_rate none;
	uint32_t per_hour, burst, own_rate, own_burst;
	bool from_own;

	own = own ? own : &none;
	own_rate = bulk ? own->bulk_per_hour : own->per_hour;
	own_burst = bulk ? own->bulk_burst : own->burst;
	per_hour = own_rate ? own_rate : bulk ? defaults->bulk_per_hour : defaults->per_hour;
	burst = own_burst ? own_burst : (bulk ? defaults->bulk_burst : defaults->burst) ? (bulk ? defaults->bulk_burst
											       : defaults->burst)
										      : per_hour;
	from_own = own_rate != 0;
	if (!per_hour)
		return json_pack("{s:b, s:s}", "unlimited", 1, "from", from_own ? "own" : "defaults");
	return json_pack("{s:b, s:I, s:I, s:s}", "unlimited", 0, "recipients_per_hour", (json_int_t)per_hour, "burst",
			 (json_int_t)burst, "from", from_own ? "own" : "defaults");
}

static json_t *
rates_json(const struct explainer *e, const struct policy_rate *own, const char *payer)
{
	const struct policy_rate *defaults = policydb_default_rate(e->db);
	bool bulk_apart = (own && own->bulk_per_hour) || defaults->bulk_per_hour;

	return json_pack("{s:s, s:o, s:o}", "payer", payer, "normal", rate_json(own, defaults, false), "bulk",
			 bulk_apart ? rate_json(own, defaults, true) : rate_json(own, defaults, false));
}

static const char *
place_name(enum policy_rcpt_place place)
{
	static const char *const names[] = { "elsewhere", "here", "backup", "routed" };

	return names[place];
}

/*
 * What hostautoconfig tells a mail client for this address, from
 * autoconfig.db (lib/acdb.h): {"login", "via" (address, detail,
 * catch-all), "domain", "servers": [{"protocol", "host", "port",
 * "socket"}]}; null when the address is not eligible (or there is no
 * autoconfig.db), {"error": why} for a record that cannot be read.
 */
static json_t *
autoconfig_json(const struct explainer *e, const char *address)
{
	struct acdb_answer answer;
	const char *why = "";
	json_t *servers;

	if (!e->autoconfig)
		return json_null();
	switch (acdb_lookup(e->autoconfig, address, &answer, &why)) {
	case ACDB_FOUND:
		break;
	case ACDB_ERROR:
		return json_pack("{s:s}", "error", why);
	default:
		return json_null();
	}
	servers = json_array();
	for (unsigned p = 0; p < ACDB_PROTOCOLS; p++) {
		const struct acdb_server *server = &answer.settings.server[p];

		if (server->offered)
			json_array_append_new(servers, json_pack("{s:s, s:s, s:i, s:s}", "protocol",
								 acdb_protocol_name((enum acdb_protocol)p), "host", server->host,
								 "port", (int)server->port, "socket",
								 acdb_socket_name(server->socket)));
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "login", answer.login, "via", acdb_via_name(answer.via),
			 "domain", answer.canonical, "servers", servers);
}

/* The recipient as hostmilter sees it at RCPT TO. */
static json_t *
recipient_json(const struct explainer *e, const char *local, const char *domain)
{
	struct policy_recipient rcpt;
	struct policy_mailbox mailbox = { 0 };
	const struct policy_rules *domain_rules = NULL, *mailbox_rules = NULL;
	json_t *out, *route = json_null();
	char *mt;

	if (policydb_recipient(e->db, local, domain, &rcpt) < 0) {
		policydb_recipient_free(&rcpt);
		return json_pack("{s:s}", "error", "a record of hostmilter.db cannot be read: hostmilter tempfails (451)");
	}
	if (rcpt.domain.canonical)
		domain_rules = rcpt.domain.rules;
	if (rcpt.mailbox[0] && policydb_mailbox(e->db, rcpt.mailbox, &mailbox) == 0)
		mailbox_rules = mailbox.rules;
	out = json_pack("{s:s, s:s?, s:s?, s:b}", "place", place_name(rcpt.place), "domain", rcpt.domain.canonical,
			"mailbox", rcpt.mailbox[0] ? rcpt.mailbox : NULL, "accepted", !rcpt.unknown);
	if (rcpt.unknown)
		json_object_set_new(out, "refusal", json_string("550 5.1.1 User unknown: its domain lists its valid "
								"recipients, and this is none of them"));
	json_object_set_new(out, "policy", resolved_keys(e, &rcpt.rules, domain_rules, rcpt.domain.canonical,
						       mailbox_rules, rcpt.mailbox));
	json_object_set_new(out, "rate_limit", mailbox_rules ? rates_json(e, &mailbox.rate, rcpt.mailbox) : json_null());
	if (rcpt.domain.canonical && (rcpt.place == POLICY_RCPT_ROUTED || rcpt.place == POLICY_RCPT_BACKUP)) {
		mt = lookup(e, MAP_MAILERTABLE, rcpt.domain.canonical);
		route = json_pack("{s:s, s:s?}", "kind", rcpt.place == POLICY_RCPT_ROUTED ? "routed" : "backup",
				  "mailertable", mt);
		g_free(mt);
	}
	json_object_set_new(out, "route", route);
	if (mailbox_rules)
		policydb_mailbox_free(&mailbox);
	policydb_recipient_free(&rcpt);
	return out;
}

static json_t *
explain_address(const struct explainer *e, const char *address)
{
	struct chain c = { json_array(), json_array(), g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
	const char *at = strrchr(address, '@');
	char *local = g_strndup(address, at ? (gsize)(at - address) : strlen(address));
	json_t *out;

	resolve(e, &c, address, NULL, 0);
	out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "subject", "address", "address", address, "steps", c.steps,
			"deliveries", c.deliveries, "recipient", recipient_json(e, local, at ? at + 1 : ""),
			"autoconfig", autoconfig_json(e, address));
	g_hash_table_destroy(c.seen);
	g_free(local);
	return out;
}

/* ---- clients ---- */

/* Sendmail's access map for a client address: the whole address, then cut at each dot or colon. */
static json_t *
access_for_address(const struct explainer *e, int family, const uint8_t *addr)
{
	char full[CIDR_KEY_MAX + 8], *value = NULL, *key = NULL;
	struct cidr host = { .family = family, .prefix = family == AF_INET ? 32 : 128 };
	json_t *out = json_null();

	memcpy(host.addr, addr, 16);
	cidr_format(&host, full, sizeof(full));
	if (family == AF_INET6) {
		char tmp[CIDR_KEY_MAX + 8];
		struct in6_addr a6;

		memcpy(&a6, addr, 16);
		snprintf(tmp, sizeof(tmp), "IPv6:%x:%x:%x:%x:%x:%x:%x:%x", ntohs(a6.s6_addr16[0]), ntohs(a6.s6_addr16[1]),
			 ntohs(a6.s6_addr16[2]), ntohs(a6.s6_addr16[3]), ntohs(a6.s6_addr16[4]), ntohs(a6.s6_addr16[5]),
			 ntohs(a6.s6_addr16[6]), ntohs(a6.s6_addr16[7]));
		g_strlcpy(full, tmp, sizeof(full));
	} else
		*strchr(full, '/') = '\0';
	for (;;) {
		key = g_strdup_printf("Connect:%s", full);
		if ((value = lookup(e, MAP_ACCESS, key)) || (value = lookup(e, MAP_ACCESS, full)))
			break;
		g_free(key);
		key = NULL;
		char *cut = strrchr(full, family == AF_INET ? '.' : ':');

		if (!cut || (family == AF_INET6 && cut - full <= 4))
			break;
		*cut = '\0';
	}
	if (value)
		out = json_pack("{s:s, s:s}", "key", key, "value", value);
	g_free(key);
	g_free(value);
	return out;
}

static json_t *
explain_ip(const struct explainer *e, const char *text, int family, const uint8_t *addr)
{
	const struct policy_relay_right *right = policydb_relay_network(e->db, family, addr);
	json_t *access = access_for_address(e, family, addr);
	const char *value = json_is_object(access) ? json_string_value(json_object_get(access, "value")) : NULL;

	char *reason = right ? g_strdup_printf("its address is in the relay network %s (relay.clients; the most "
					       "specific one that holds it)", right->text)
			     : g_strdup("its address is in no relay network: it relays only after SMTP AUTH as a mailbox "
					"or with a listed client certificate, else 550 5.7.1 Relaying denied");
	json_t *out = json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:s, s:o, s:o, s:b}", "subject", "client", "client", text,
				"may_relay", right != NULL, "right", right ? "network" : NULL, "network",
				right ? right->text : NULL, "reason", reason, "sendmail_access", access, "rate_limit",
				right ? rates_json(e, &right->rate, text) : json_null(), "sendmail_relays",
				value && g_ascii_strcasecmp(value, "RELAY") == 0);

	g_free(reason);
	return out;
}

static json_t *
explain_auth(const struct explainer *e, const char *user)
{
	char name[ADDR_NAME_MAX + 1] = "";
	const char *at = strchr(user, '@');
	size_t len = at ? (size_t)(at - user) : strlen(user);
	struct policy_mailbox mailbox;
	json_t *send_as = json_array(), *out;
	int rc = 1;

	if (len && len <= ADDR_NAME_MAX && (!at || policydb_server_name(e->db, at + 1))) {
		memcpy(name, user, len);
		name[len] = '\0';
		addr_lower(name);
		rc = addr_mailbox_name_valid(name) ? policydb_mailbox(e->db, name, &mailbox) : 1;
	}
	if (rc != 0)
		return json_pack("{s:s, s:s, s:b, s:s}", "subject", "auth", "user", user, "may_relay", 0, "refusal", rc < 0
				 ? "451 4.3.0: its record in hostmilter.db cannot be read" : "550 5.7.1 Authenticated user "
				 "is not a mailbox of this server");
	for (char *const *p = mailbox.send_as; p && *p; p++)
		json_array_append_new(send_as, json_string(*p));
	out = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:o}", "subject", "auth", "user", user, "may_relay", 1,
			"right", "auth", "mailbox", name, "reason", "it authenticates as a mailbox of this server", "send_as",
			send_as, "rate_limit", rates_json(e, &mailbox.rate, name));
	policydb_mailbox_free(&mailbox);
	return out;
}

static json_t *
explain_cert(const struct explainer *e, const char *issuer, const char *subject)
{
	char enc_issuer[1400], enc_subject[1400], *key, *value;
	const struct policy_relay_right *right = NULL;
	json_t *access = json_null();

	if (xtext_encode(issuer, enc_issuer, sizeof(enc_issuer)) < 0
	    || xtext_encode(subject ? subject : "", enc_subject, sizeof(enc_subject)) < 0)
		return json_pack("{s:s, s:s, s:b}", "subject", "certificate", "issuer", issuer, "may_relay", 0);
	right = policydb_relay_certificate(e->db, enc_issuer, enc_subject);
	key = g_strdup_printf("CERTISSUER:%s", enc_issuer);
	if ((value = lookup(e, MAP_ACCESS, key)) && g_ascii_strcasecmp(value, "SUBJECT") == 0 && subject) {
		g_free(key);
		g_free(value);
		key = g_strdup_printf("CERTSUBJECT:%s", enc_subject);
		value = lookup(e, MAP_ACCESS, key);
	}
	if (value)
		access = json_pack("{s:s, s:s}", "key", key, "value", value);
	g_free(key);
	g_free(value);
	return json_pack("{s:s, s:s, s:s?, s:b, s:s?, s:s, s:o, s:o}", "subject", "certificate", "issuer", issuer,
			 "certificate_subject", subject, "may_relay", right != NULL, "right", right ? "certificate" : NULL,
			 "reason", !right ? "relay.certificates lists neither this issuer with this subject nor this issuer "
			 "for any subject" : right->text[0] ? "relay.certificates lists this issuer with this subject"
			 : "relay.certificates lists this issuer for any subject", "sendmail_access", access, "rate_limit",
			 right ? rates_json(e, &right->rate, subject && *subject ? subject : issuer) : json_null());
}

/* ---- text ---- */

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void
text_value(GString *out, const json_t *v)
{
	char *dump;

	if (json_is_string(v))
		g_string_append(out, json_string_value(v));
	else if (json_is_array(v)) {
		size_t i;
		json_t *item;

		json_array_foreach(v, i, item) {
			g_string_append(out, i ? ", " : "");
			text_value(out, item);
		}
		if (!json_array_size(v))
			g_string_append(out, "(none)");
	}
	else if (json_is_real(v))
		g_string_append_printf(out, "%g", json_real_value(v));
	else if (json_is_null(v))
		g_string_append(out, "none");
	else {
		dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		g_string_append(out, dump);
		free(dump);
	}
}

/* Final recipients in sendmail -bv's words. */
static void
text_deliveries(GString *out, const json_t *deliveries)
{
	size_t i;
	json_t *d;

	json_array_foreach(deliveries, i, d) {
		const char *mailer = str(d, "mailer");

		if (strcmp(mailer, "error") == 0)
			g_string_append_printf(out, "%s... %s\n", str(d, "address"), str(d, "text"));
		else if (strcmp(mailer, "local") == 0 && !json_is_true(json_object_get(d, "exists")))
			g_string_append_printf(out, "%s... User unknown\n", str(d, "address"));
		else if (json_object_get(d, "host"))
			g_string_append_printf(out, "%s... deliverable: mailer %s, host %s, user %s\n", str(d, "address"),
					       mailer, str(d, "host"), str(d, "user"));
		else
			g_string_append_printf(out, "%s... deliverable: mailer %s, user %s\n", str(d, "address"), mailer,
					       str(d, "user"));
	}
}

static void
text_rate(GString *out, const json_t *rate)
{
	const json_t *normal = json_object_get(rate, "normal"), *bulk = json_object_get(rate, "bulk");

	g_string_append_printf(out, "rate limit (%s sending):", str(rate, "payer"));
	for (int i = 0; i < 2; i++) {
		const json_t *r = i ? bulk : normal;

		if (i && json_equal((json_t *)normal, (json_t *)bulk))
			break;
		g_string_append(out, i ? "; on BulkDaemons" : "");
		if (json_is_true(json_object_get(r, "unlimited")))
			g_string_append_printf(out, " unlimited (%s)", str(r, "from"));
		else
			g_string_append_printf(out, " %lld recipients an hour, burst %lld (%s)",
					       (long long)json_integer_value(json_object_get(r, "recipients_per_hour")),
					       (long long)json_integer_value(json_object_get(r, "burst")), str(r, "from"));
	}
	g_string_append_c(out, '\n');
}

static void
text_recipient(GString *out, const json_t *r)
{
	size_t i;
	json_t *k;

	if (json_object_get(r, "error")) {
		g_string_append_printf(out, "hostmilter: %s\n", str(r, "error"));
		return;
	}
	g_string_append_printf(out, "hostmilter: %s recipient%s%s%s%s%s\n", str(r, "place"),
			       json_object_get(r, "domain") && !json_is_null(json_object_get(r, "domain")) ? " of " : "",
			       str(r, "domain"), *str(r, "mailbox") ? ", mailbox " : "", str(r, "mailbox"),
			       json_is_true(json_object_get(r, "accepted")) ? "" : "; refused");
	if (*str(r, "refusal"))
		g_string_append_printf(out, "  %s\n", str(r, "refusal"));
	g_string_append(out, "policy:\n");
	json_array_foreach(json_object_get(r, "policy"), i, k) {
		const json_t *from = json_object_get(k, "from");

		g_string_append_printf(out, "  %-19s ", str(k, "key"));
		text_value(out, json_object_get(k, "value"));
		g_string_append_printf(out, "  (%s%s%s)\n", str(from, "kind"), *str(from, "name") ? " " : "", str(from, "name"));
	}
	if (json_is_object(json_object_get(r, "rate_limit")))
		text_rate(out, json_object_get(r, "rate_limit"));
	if (json_is_object(json_object_get(r, "route")))
		g_string_append_printf(out, "route: %s, mailertable %s\n", str(json_object_get(r, "route"), "kind"),
				       *str(json_object_get(r, "route"), "mailertable") ? str(json_object_get(r, "route"), "mailertable")
				       : "(none: its MX records)");
}

static void
text_client(GString *out, const json_t *a)
{
	const json_t *access = json_object_get(a, "sendmail_access");

	g_string_append_printf(out, "hostmilter: %s", json_is_true(json_object_get(a, "may_relay")) ? "may relay" : "may not relay");
	if (*str(a, "right"))
		g_string_append_printf(out, " (%s%s%s)", str(a, "right"), *str(a, "network") ? " " : "", str(a, "network"));
	if (*str(a, "refusal"))
		g_string_append_printf(out, ": %s", str(a, "refusal"));
	if (*str(a, "reason"))
		g_string_append_printf(out, ": %s", str(a, "reason"));
	g_string_append_c(out, '\n');
	if (json_is_array(json_object_get(a, "send_as"))) {
		g_string_append(out, "send_as: ");
		text_value(out, json_object_get(a, "send_as"));
		g_string_append_c(out, '\n');
	}
	if (json_object_get(a, "sendmail_access"))
		g_string_append_printf(out, "sendmail access: %s%s%s\n", json_is_object(access) ? str(access, "key") : "no entry",
				       json_is_object(access) ? " " : "", json_is_object(access) ? str(access, "value") : "");
	if (json_is_object(json_object_get(a, "rate_limit")))
		text_rate(out, json_object_get(a, "rate_limit"));
}

/* "autoconfig: login xyz00-info (address), imap mail.example.net:993 SSL, smtp ...", or "none". */
static void
text_autoconfig(GString *out, const json_t *ac)
{
	size_t i;
	json_t *server;

	g_string_append(out, "autoconfig: ");
	if (!json_is_object(ac) || !json_object_get(ac, "login")) {
		text_value(out, ac);
		g_string_append_c(out, '\n');
		return;
	}
	g_string_append_printf(out, "login %s (%s)", str(ac, "login"), str(ac, "via"));
	json_array_foreach(json_object_get(ac, "servers"), i, server) {
		g_string_append_printf(out, ", %s %s:%lld %s", str(server, "protocol"), str(server, "host"),
				       (long long)json_integer_value(json_object_get(server, "port")), str(server, "socket"));
	}
	g_string_append_c(out, '\n');
}

static char *
explain_text(const json_t *a)
{
	GString *out = g_string_new(NULL);
	size_t i;
	json_t *s;

	if (strcmp(str(a, "subject"), "address") != 0) {
		text_client(out, a);
		return g_string_free(out, FALSE);
	}
	json_array_foreach(json_object_get(a, "steps"), i, s) {
		g_string_append_printf(out, "%s: %s -> %s", str(s, "map"), str(s, "key"), str(s, "value"));
		if (g_ascii_strcasecmp(str(s, "key"), str(s, "address")) != 0)
			g_string_append_printf(out, " (for %s)", str(s, "address"));
		g_string_append_c(out, '\n');
	}
	text_deliveries(out, json_object_get(a, "deliveries"));
	text_recipient(out, json_object_get(a, "recipient"));
	text_autoconfig(out, json_object_get(a, "autoconfig"));
	return g_string_free(out, FALSE);
}

int
explain_subject(const struct explain_files *files, int n, char **subject, json_t **answer, char **text,
		char *err, size_t errlen)
{
	struct explainer e;
	uint8_t addr[16];
	int family;

	if (explainer_open(&e, files, err, errlen) < 0) {
		explainer_close(&e);
		return -1;
	}
	if (n >= 2 && strcmp(subject[0], "auth") == 0)
		*answer = explain_auth(&e, subject[1]);
	else if (n >= 2 && strcmp(subject[0], "cert") == 0)
		*answer = explain_cert(&e, subject[1], n > 2 ? subject[2] : NULL);
	else if (cidr_parse_host(subject[0], &family, addr) == 0 && !strchr(subject[0], '@'))
		*answer = explain_ip(&e, subject[0], family, addr);
	else
		*answer = explain_address(&e, subject[0]);
	*text = explain_text(*answer);
	explainer_close(&e);
	return 0;
}
