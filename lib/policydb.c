/*
 * policydb - hostmilter.db for reading; see policydb.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cidr.h"
#include "dbmap.h"
#include "policydb.h"

/* Far above any panel's distinct rule sets; bounds a damaged database. */
#define POLICYDB_RULES_MAX 100000
#define POLICYDB_LIST_MAX 10000
#define POLICYDB_KEY_MAX 600

struct policydb_cert {
	char *issuer;
	char *subject;		/* "" matches any subject of the issuer */
};

struct policydb {
	struct dbmap_reader *map;
	char digest[65];
	struct policy_rules defaults;
	struct policy_rules *rules;
	size_t nrules;
	char **names;		/* server host names, lower-case */
	struct cidr *networks;
	size_t nnetworks;
	struct policydb_cert *certs;
	size_t ncerts;
};

/* A record as a NUL-terminated string; 0, 1 not found, -1 error. */
static int
policydb_get(const struct policydb *db, const char *key, char **text)
{
	size_t len;
	char *value, *grown;
	int rc = dbmap_get(db->map, key, strlen(key), &value, &len);

	if (rc != 0)
		return rc;
	grown = realloc(value, len + 1);
	if (!grown) {
		free(value);
		return -1;
	}
	grown[len] = '\0';
	*text = grown;
	return 0;
}

static json_t *
policydb_get_json(const struct policydb *db, const char *key, int *rc)
{
	char *text;
	json_t *json;

	*rc = policydb_get(db, key, &text);
	if (*rc != 0)
		return NULL;
	json = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json || !json_is_object(json)) {
		json_decref(json);
		*rc = -1;
		return NULL;
	}
	return json;
}

void
policy_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

/* A JSON array of strings as a NULL-terminated, lower-cased list. */
static char **
policydb_names(const json_t *array)
{
	size_t n = json_array_size(array), i;
	char **names;
	json_t *item;

	if (!json_is_array(array) || n > POLICYDB_LIST_MAX || !(names = calloc(n + 1, sizeof(*names))))
		return NULL;
	json_array_foreach(array, i, item) {
		if (!json_is_string(item) || !(names[i] = strdup(json_string_value(item)))) {
			policy_names_free(names);
			return NULL;
		}
		addr_lower(names[i]);
	}
	return names;
}

static int
policydb_load_rules(struct policydb *db, const char *why_prefix, char *err, size_t errlen)
{
	const char *why = "";
	json_t *json;
	int rc;

	json = policydb_get_json(db, POLICY_KEY_DEFAULTS, &rc);
	if (!json || policy_rules_from_json(json, &db->defaults, &why) < 0)
		goto bad;
	json_decref(json);
	db->rules = calloc(16, sizeof(*db->rules));
	for (size_t cap = 16; db->rules && db->nrules < POLICYDB_RULES_MAX; db->nrules++) {
		char key[32];

		snprintf(key, sizeof(key), POLICY_PREFIX_RULES "%zu", db->nrules);
		json = policydb_get_json(db, key, &rc);
		if (rc == 1)
			return 0;
		if (!json || policy_rules_from_json(json, &db->rules[db->nrules], &why) < 0)
			goto bad;
		json_decref(json);
		if (db->nrules + 1 == cap) {
			struct policy_rules *grown = realloc(db->rules, 2 * cap * sizeof(*grown));

			if (!grown)
				break;
			db->rules = grown;
			cap *= 2;
		}
	}
	snprintf(err, errlen, "%s: too many rule sets, or out of memory", why_prefix);
	return -1;
bad:
	json_decref(json);
	snprintf(err, errlen, "%s: unreadable rule set %s", why_prefix, why);
	return -1;
}

static int
policydb_load_server(struct policydb *db)
{
	json_t *json, *names;
	const char *hostname;
	size_t n;
	int rc;

	json = policydb_get_json(db, POLICY_KEY_SERVER, &rc);
	if (!json || json_unpack(json, "{s:s, s:o}", "hostname", &hostname, "names", &names) < 0
	    || !(db->names = policydb_names(names))) {
		json_decref(json);
		return -1;
	}
	for (n = 0; db->names[n]; n++)
		;
	if (hostname[0]) {
		char **grown = realloc(db->names, (n + 2) * sizeof(*grown));

		if (!grown || !(grown[n] = strdup(hostname))) {
			db->names = grown ? grown : db->names;
			json_decref(json);
			return -1;
		}
		addr_lower(grown[n]);
		grown[n + 1] = NULL;
		db->names = grown;
	}
	json_decref(json);
	return 0;
}

/* Counts lines and returns a copy whose lines are NUL-separated. */
static char *
policydb_lines(const struct policydb *db, const char *key, size_t *count)
{
	char *text;

	*count = 0;
	if (policydb_get(db, key, &text) != 0)
		return NULL;
	for (char *p = text; *p; p++) {
		if (*p == '\n') {
			*p = '\0';
			(*count)++;
		}
	}
	return text;
}

static int
policydb_load_networks(struct policydb *db)
{
	char *text = policydb_lines(db, POLICY_KEY_NETWORKS, &db->nnetworks), *line = text;
	const char *why;

	if (!text || !(db->networks = calloc(db->nnetworks + 1, sizeof(*db->networks)))) {
		free(text);
		return -1;
	}
	for (size_t i = 0; i < db->nnetworks; i++, line += strlen(line) + 1) {
		if (cidr_parse(line, &db->networks[i], &why) < 0) {
			free(text);
			return -1;
		}
	}
	free(text);
	return 0;
}

static int
policydb_load_certs(struct policydb *db)
{
	char *text = policydb_lines(db, POLICY_KEY_CERTS, &db->ncerts), *line = text;

	if (!text || !(db->certs = calloc(db->ncerts + 1, sizeof(*db->certs)))) {
		free(text);
		return -1;
	}
	for (size_t i = 0; i < db->ncerts; i++, line += strlen(line) + 1) {
		char *tab = strchr(line, '\t');

		if (!tab) {
			free(text);
			return -1;
		}
		*tab = '\0';
		db->certs[i].issuer = strdup(line);
		db->certs[i].subject = strdup(tab + 1);
		if (!db->certs[i].issuer || !db->certs[i].subject) {
			free(text);
			return -1;
		}
	}
	free(text);
	return 0;
}

static int
policydb_check_format(struct policydb *db, char *err, size_t errlen, const char *path)
{
	char *text = NULL;

	if (policydb_get(db, POLICY_KEY_FORMAT, &text) != 0 || strcmp(text, POLICY_FORMAT) != 0) {
		snprintf(err, errlen, "%s: not a hostmilter policy database of format \"%s\"", path, POLICY_FORMAT);
		free(text);
		return -1;
	}
	free(text);
	text = NULL;
	if (policydb_get(db, POLICY_KEY_DIGEST, &text) == 0)
		snprintf(db->digest, sizeof(db->digest), "%s", text);
	free(text);
	return 0;
}

struct policydb *
policydb_open(const char *path, char *err, size_t errlen)
{
	struct policydb *db = calloc(1, sizeof(*db));

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!(db->map = dbmap_open(path, err, errlen)) || policydb_check_format(db, err, errlen, path) < 0
	    || policydb_load_rules(db, path, err, errlen) < 0) {
		policydb_close(db);
		return NULL;
	}
	if (policydb_load_server(db) < 0 || policydb_load_networks(db) < 0 || policydb_load_certs(db) < 0) {
		snprintf(err, errlen, "%s: unreadable server, relay network or certificate record", path);
		policydb_close(db);
		return NULL;
	}
	return db;
}

void
policydb_close(struct policydb *db)
{
	if (!db)
		return;
	dbmap_close(db->map);
	free(db->rules);
	policy_names_free(db->names);
	free(db->networks);
	for (size_t i = 0; db->certs && i < db->ncerts; i++) {
		free(db->certs[i].issuer);
		free(db->certs[i].subject);
	}
	free(db->certs);
	free(db);
}

const char *
policydb_digest(const struct policydb *db)
{
	return db->digest;
}

const struct policy_rules *
policydb_defaults(const struct policydb *db)
{
	return &db->defaults;
}

bool
policydb_server_name(const struct policydb *db, const char *domain)
{
	for (char **p = db->names; *p; p++)
		if (strcasecmp(*p, domain) == 0)
			return true;
	return false;
}

bool
policydb_relay_network(const struct policydb *db, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < db->nnetworks; i++)
		if (cidr_contains(&db->networks[i], family, addr))
			return true;
	return false;
}

bool
policydb_relay_certificate(const struct policydb *db, const char *issuer, const char *subject)
{
	/* Sendmail's access map, where admins know CERTISSUER from, ignores case too. */
	for (size_t i = 0; i < db->ncerts; i++)
		if (strcasecmp(db->certs[i].issuer, issuer) == 0
		    && (db->certs[i].subject[0] == '\0' || strcasecmp(db->certs[i].subject, subject) == 0))
			return true;
	return false;
}

static const struct policy_rules *
policydb_rules_by_id(const struct policydb *db, json_int_t id)
{
	return id >= 0 && (size_t)id < db->nrules ? &db->rules[id] : NULL;
}

static int
policydb_lookup(const struct policydb *db, const char *prefix, const char *name, json_t **json)
{
	char key[POLICYDB_KEY_MAX];
	int rc;

	if (snprintf(key, sizeof(key), "%s%s", prefix, name) >= (int)sizeof(key))
		return 1;	/* longer than any key hostmapgen writes */
	*json = policydb_get_json(db, key, &rc);
	return rc;
}

void
policy_domain_free(struct policy_domain *domain)
{
	policy_names_free(domain->allow_senders);
	policy_names_free(domain->block_senders);
	policy_names_free(domain->catch_all);
	memset(domain, 0, sizeof(*domain));
}

static int
policydb_domain_kind(const char *kind, enum policy_domain_kind *out)
{
	static const char *const kinds[] = { "local", "backup", "alias" };

	for (int i = 0; i < 3; i++) {
		if (strcmp(kind, kinds[i]) == 0) {
			*out = (enum policy_domain_kind)i;
			return 0;
		}
	}
	return -1;
}

int
policydb_domain(const struct policydb *db, const char *domain, struct policy_domain *out)
{
	json_t *json = NULL, *allow, *block, *catch_all = NULL, *none = json_array();
	const char *kind, *canonical;
	json_int_t rules;
	int rc = policydb_lookup(db, POLICY_PREFIX_DOMAIN, domain, &json);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		rc = -1;
		if (json_unpack(json, "{s:s, s:s, s:I, s:o, s:o, s?o}", "kind", &kind, "canonical", &canonical,
				"rules", &rules, "allow_senders", &allow, "block_senders", &block, "catch_all",
				&catch_all) == 0
		    && policydb_domain_kind(kind, &out->kind) == 0 && strlen(canonical) <= ADDR_DOMAIN_MAX
		    && (out->rules = policydb_rules_by_id(db, rules))
		    && (out->allow_senders = policydb_names(allow)) && (out->block_senders = policydb_names(block))
		    && (out->catch_all = policydb_names(catch_all ? catch_all : none))) {
			strcpy(out->canonical, canonical);
			addr_lower(out->canonical);
			rc = 0;
		}
		if (rc < 0)
			policy_domain_free(out);
	}
	json_decref(none);
	json_decref(json);
	return rc;
}

void
policy_mailbox_free(struct policy_mailbox *mailbox)
{
	policy_names_free(mailbox->send_as);
	memset(mailbox, 0, sizeof(*mailbox));
}

int
policydb_mailbox(const struct policydb *db, const char *name, struct policy_mailbox *out)
{
	json_t *json = NULL, *send_as;
	json_int_t rules, rate;
	int rc = policydb_lookup(db, POLICY_PREFIX_MAILBOX, name, &json);

	memset(out, 0, sizeof(*out));
	if (rc != 0)
		return rc;
	rc = -1;
	if (json_unpack(json, "{s:I, s:I, s:o}", "rules", &rules, "recipients_per_hour", &rate, "send_as",
			&send_as) == 0
	    && rate >= 0 && rate <= UINT32_MAX && (out->rules = policydb_rules_by_id(db, rules))
	    && (out->send_as = policydb_names(send_as))) {
		out->recipients_per_hour = (unsigned)rate;
		rc = 0;
	}
	json_decref(json);
	if (rc < 0)
		policy_mailbox_free(out);
	return rc;
}

int
policydb_address(const struct policydb *db, const char *address, char ***mailboxes)
{
	char key[POLICYDB_KEY_MAX], *text, *save = NULL;
	size_t n = 1;
	int rc;

	*mailboxes = NULL;
	if (snprintf(key, sizeof(key), POLICY_PREFIX_ADDRESS "%s", address) >= (int)sizeof(key))
		return 1;
	if ((rc = policydb_get(db, key, &text)) != 0)
		return rc;
	for (char *p = text; *p; p++)
		n += *p == ',';
	if (n > POLICYDB_LIST_MAX || !(*mailboxes = calloc(n + 1, sizeof(**mailboxes)))) {
		free(text);
		return -1;
	}
	n = 0;
	for (char *name = strtok_r(text, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!((*mailboxes)[n++] = strdup(name))) {
			policy_names_free(*mailboxes);
			*mailboxes = NULL;
			free(text);
			return -1;
		}
	}
	free(text);
	return 0;
}

uint64_t
policydb_largest_size(const struct policydb *db)
{
	uint64_t largest = db->defaults.max_size;

	for (size_t i = 0; i < db->nrules; i++)
		if (db->rules[i].max_size > largest)
			largest = db->rules[i].max_size;
	return largest;
}
