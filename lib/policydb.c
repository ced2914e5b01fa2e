/*
 * policydb - hostmilter.db for reading; see policydb.h.
 *
 * Records are JSON (and comma lists for A:), which cost tens of thousands
 * of instructions to decode; an RCPT looks up one domain, one address and
 * one mailbox, mostly the same few again and again.  So each decoded
 * record is kept in a hash table of the open database, under a reader-
 * writer lock: readers never wait for each other, and a record is decoded
 * once per hostmilter.db.  Past POLICYDB_CACHE_MAX records (a dictionary
 * attack on a million-address server) a lookup decodes a private copy that
 * its *_free releases, so memory stays bounded and every answer is still
 * read from the file.  Records not found are not kept: a miss is one probe
 * of the hash file, and keeping misses would let a client fill the table.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>
#include <jansson.h>

#include "cidr.h"
#include "dbmap.h"
#include "dstr.h"
#include "policydb.h"

#define POLICYDB_RULES_MAX 100000
#define POLICYDB_KEY_MAX 600

struct policydb_network {
	struct cidr net;
	struct policy_relay_right right;
	char text[64];
};

struct policydb_cert {
	char *issuer;
	struct policy_relay_right right;	/* text: the subject, "" matches any */
};

/* Decoded records, shared by every thread reading this database. */
struct policydb_cache {
	pthread_rwlock_t lock;
	GHashTable *records;	/* "D:name" -> struct policydb_record* */
	size_t max;		/* records kept; POLICYDB_CACHE_MAX unless a test lowers it */
};

struct policydb {
	struct dbmap_reader *map;
	char digest[65];
	struct policy_rules defaults;
	struct policy_rate default_rate;
	struct policy_rules *rules;
	size_t nrules;
	char **names;		/* server host names, lower-case */
	struct policydb_network *networks;
	size_t nnetworks;
	struct policydb_cert *certs;
	size_t ncerts;
	struct policydb_cache *cache;
	bool blocks_types;	/* some rule set blocks types */
};

enum policydb_type { POLICYDB_DOMAIN, POLICYDB_MAILBOX, POLICYDB_ADDRESS, POLICYDB_LOCAL };

/* One decoded D:, M: or A: record, owning its strings and lists. */
struct policydb_record {
	enum policydb_type type;
	union {
		struct policy_domain domain;
		struct policy_mailbox mailbox;
		struct policy_address address;
		struct policy_local local;
	} u;
	char *canonical;
	char **lists[3];
};

static void
policydb_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

static void
policydb_record_free(void *data)
{
	struct policydb_record *record = data;

	if (!record)
		return;
	for (int i = 0; i < 3; i++)
		policydb_names_free(record->lists[i]);
	free(record->canonical);
	free(record);
}

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
			policydb_names_free(names);
			return NULL;
		}
		addr_lower(names[i]);
	}
	return names;
}

/* @defaults must set every rule: nothing is left to inherit from. */
static int
policydb_load_defaults(struct policydb *db, const char **why)
{
	json_t *json, *rate;
	int rc;

	*why = "";
	json = policydb_get_json(db, POLICY_KEY_DEFAULTS, &rc);
	if (!json)
		return -1;
	rate = json_object_get(json, "rate_limit");
	if (rate)
		json_incref(rate);
	json_object_del(json, "rate_limit");
	rc = policy_rules_from_json(json, &db->defaults, why) < 0 || policy_rate_from_json(rate, &db->default_rate, why) < 0
		     ? -1
		     : 0;
	if (rc == 0 && db->defaults.set != POLICY_SET_ALL) {
		*why = "(defaults that leave rules unset)";
		rc = -1;
	}
	json_decref(rate);
	json_decref(json);
	return rc;
}

static int
policydb_load_rules(struct policydb *db, const char *why_prefix, char *err, size_t errlen)
{
	const char *why = "";
	json_t *json = NULL;
	int rc;

	if (policydb_load_defaults(db, &why) < 0)
		goto bad;
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

/* Splits "a\tb\t..." in place into exactly n fields. */
static int
policydb_fields(char *line, char **fields, int n)
{
	for (int i = 0; i < n; i++) {
		fields[i] = line;
		line += strcspn(line, "\t");
		if (i + 1 < n) {
			if (*line != '\t')
				return -1;
			*line++ = '\0';
		}
	}
	return *line == '\0' ? 0 : -1;
}

/* A decimal rate of a relay line, within POLICY_RATE_MAX. */
static int
policydb_rate_field(const char *text, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (!text[0] || strspn(text, "0123456789") != strlen(text) || strlen(text) > 9)
		return -1;
	n = strtoul(text, &end, 10);
	if (n > POLICY_RATE_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* PER_HOUR, BURST, BULK_PER_HOUR, BULK_BURST of a relay line. */
static int
policydb_rate_fields(char **f, struct policy_rate *rate)
{
	return policydb_rate_field(f[0], &rate->per_hour) < 0 || policydb_rate_field(f[1], &rate->burst) < 0
		       || policydb_rate_field(f[2], &rate->bulk_per_hour) < 0
		       || policydb_rate_field(f[3], &rate->bulk_burst) < 0
		   ? -1
		   : 0;
}

static int
policydb_load_networks(struct policydb *db)
{
	char *text = policydb_lines(db, POLICY_KEY_NETWORKS, &db->nnetworks), *line = text, *f[5];
	const char *why;

	if (!text || !(db->networks = calloc(db->nnetworks + 1, sizeof(*db->networks)))) {
		free(text);
		return -1;
	}
	for (size_t i = 0; i < db->nnetworks; i++) {
		struct policydb_network *n = &db->networks[i];
		char *next = line + strlen(line) + 1;

		if (policydb_fields(line, f, 5) < 0 || cidr_parse(f[0], &n->net, &why) < 0
		    || policydb_rate_fields(f + 1, &n->right.rate) < 0) {
			free(text);
			return -1;
		}
		cidr_format(&n->net, n->text, sizeof(n->text));
		n->right.text = n->text;
		line = next;
	}
	free(text);
	return 0;
}

static int
policydb_load_certs(struct policydb *db)
{
	char *text = policydb_lines(db, POLICY_KEY_CERTS, &db->ncerts), *line = text, *f[6];

	if (!text || !(db->certs = calloc(db->ncerts + 1, sizeof(*db->certs)))) {
		free(text);
		return -1;
	}
	for (size_t i = 0; i < db->ncerts; i++) {
		struct policydb_cert *c = &db->certs[i];
		char *next = line + strlen(line) + 1;

		if (policydb_fields(line, f, 6) < 0 || !f[0][0] || !(c->issuer = strdup(f[0]))
		    || !(c->right.text = strdup(f[1])) || policydb_rate_fields(f + 2, &c->right.rate) < 0) {
			free(text);
			return -1;
		}
		line = next;
	}
	free(text);
	return 0;
}

static int
policydb_check_format(struct policydb *db, char *err, size_t errlen, const char *path)
{
	char *text = NULL;

	if (policydb_get(db, POLICY_KEY_FORMAT, &text) != 0 || strcmp(text, POLICY_FORMAT) != 0) {
		if (text && strncmp(text, POLICY_FORMAT_PREFIX, strlen(POLICY_FORMAT_PREFIX)) == 0)
			snprintf(err, errlen,
				 "%s: policy database of format \"%.40s\", this hostmilter reads \"%s\": "
				 "rerun hostmapgen to rebuild it",
				 path, text, POLICY_FORMAT);
		else
			snprintf(err, errlen, "%s: not a hostmilter policy database of format \"%s\"", path,
				 POLICY_FORMAT);
		free(text);
		return -1;
	}
	free(text);
	text = NULL;
	if (policydb_get(db, POLICY_KEY_DIGEST, &text) == 0 && dstr_fmt(db->digest, sizeof(db->digest), "%s", text) < 0)
		db->digest[0] = '\0';	/* not the export's digest: none shown rather than part of one */
	free(text);
	return 0;
}

static struct policydb_cache *
policydb_cache_new(void)
{
	struct policydb_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return NULL;
	if (pthread_rwlock_init(&cache->lock, NULL) != 0) {
		free(cache);
		return NULL;
	}
	cache->records = g_hash_table_new_full(g_str_hash, g_str_equal, free, policydb_record_free);
	cache->max = POLICYDB_CACHE_MAX;
	return cache;
}

struct policydb *
policydb_open(const char *path, char *err, size_t errlen)
{
	struct policydb *db = calloc(1, sizeof(*db));

	if (!db || !(db->cache = policydb_cache_new())) {
		free(db);
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
	db->blocks_types = db->defaults.ntypes > 0;
	for (size_t i = 0; i < db->nrules; i++)
		db->blocks_types = db->blocks_types || db->rules[i].ntypes > 0;
	return db;
}

void
policydb_close(struct policydb *db)
{
	if (!db)
		return;
	dbmap_close(db->map);
	free(db->rules);
	policydb_names_free(db->names);
	free(db->networks);
	for (size_t i = 0; db->certs && i < db->ncerts; i++) {
		free(db->certs[i].issuer);
		free((char *)db->certs[i].right.text);
	}
	free(db->certs);
	if (db->cache) {
		g_hash_table_destroy(db->cache->records);
		pthread_rwlock_destroy(&db->cache->lock);
		free(db->cache);
	}
	free(db);
}

void
policydb_cache_limit(struct policydb *db, size_t max)
{
	db->cache->max = max < POLICYDB_CACHE_MAX ? max : POLICYDB_CACHE_MAX;
}

size_t
policydb_cached(const struct policydb *db)
{
	size_t n;

	pthread_rwlock_rdlock(&db->cache->lock);
	n = g_hash_table_size(db->cache->records);
	pthread_rwlock_unlock(&db->cache->lock);
	return n;
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

const struct policy_rate *
policydb_default_rate(const struct policydb *db)
{
	return &db->default_rate;
}

void
policydb_resolve(const struct policydb *db, const struct policy_rules *domain, const struct policy_rules *mailbox,
		 struct policy_rules *out)
{
	*out = db->defaults;
	if (domain)
		policy_rules_overlay(out, domain);
	if (mailbox)
		policy_rules_overlay(out, mailbox);
}

bool
policydb_server_name(const struct policydb *db, const char *domain)
{
	for (char **p = db->names; *p; p++)
		if (strcasecmp(*p, domain) == 0)
			return true;
	return false;
}

const struct policy_relay_right *
policydb_relay_network(const struct policydb *db, int family, const uint8_t *addr)
{
	const struct policydb_network *best = NULL;

	for (size_t i = 0; i < db->nnetworks; i++)
		if (cidr_contains(&db->networks[i].net, family, addr)
		    && (!best || db->networks[i].net.prefix > best->net.prefix))
			best = &db->networks[i];
	return best ? &best->right : NULL;
}

const struct policy_relay_right *
policydb_relay_certificate(const struct policydb *db, const char *issuer, const char *subject)
{
	const struct policydb_cert *any = NULL;

	/* Sendmail's access map, where admins know CERTISSUER from, ignores case too. */
	for (size_t i = 0; i < db->ncerts; i++) {
		const struct policydb_cert *c = &db->certs[i];

		if (strcasecmp(c->issuer, issuer) != 0)
			continue;
		if (strcasecmp(c->right.text, subject) == 0 && subject[0])
			return &c->right;
		if (!c->right.text[0] && !any)
			any = c;
	}
	return any ? &any->right : NULL;
}

/* ---- D:, M: and A: records, decoded once (see the top of this file) ---- */

static const struct policy_rules *
policydb_rules_by_id(const struct policydb *db, json_int_t id)
{
	return id >= 0 && (size_t)id < db->nrules ? &db->rules[id] : NULL;
}

static int
policydb_domain_kind(const char *kind, enum policy_domain_kind *out)
{
	static const char *const kinds[] = { "local", "backup", "alias", "routed" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(kind, kinds[i]) == 0) {
			*out = (enum policy_domain_kind)i;
			return 0;
		}
	}
	return -1;
}

static int
policydb_decode_domain(const struct policydb *db, json_t *json, struct policydb_record *r)
{
	json_t *allow, *block, *catch_all = NULL, *none = json_array();
	const char *kind, *canonical;
	json_int_t rules;
	int listed = 0, rc = -1;
	struct policy_domain *d = &r->u.domain;

	if (json_unpack(json, "{s:s, s:s, s:I, s:o, s:o, s?o, s?b}", "kind", &kind, "canonical", &canonical, "rules",
			&rules, "allow_senders", &allow, "block_senders", &block, "catch_all", &catch_all, "listed",
			&listed) == 0
	    && policydb_domain_kind(kind, &d->kind) == 0 && strlen(canonical) <= ADDR_DOMAIN_MAX
	    && (d->rules = policydb_rules_by_id(db, rules)) && (r->canonical = strdup(canonical))
	    && (r->lists[0] = policydb_names(allow)) && (r->lists[1] = policydb_names(block))
	    && (r->lists[2] = policydb_names(catch_all ? catch_all : none))) {
		addr_lower(r->canonical);
		d->canonical = r->canonical;
		d->allow_senders = r->lists[0];
		d->block_senders = r->lists[1];
		d->catch_all = r->lists[2];
		d->listed = listed;
		rc = 0;
	}
	json_decref(none);
	return rc;
}

static int
policydb_decode_mailbox(const struct policydb *db, json_t *json, struct policydb_record *r)
{
	struct policy_mailbox *m = &r->u.mailbox;
	json_t *send_as, *rate = NULL;
	json_int_t rules;
	const char *why;

	if (json_unpack(json, "{s:I, s:o, s?o}", "rules", &rules, "send_as", &send_as, "rate_limit", &rate) < 0
	    || json_object_size(json) != 2 + (rate != NULL) || !(m->rules = policydb_rules_by_id(db, rules))
	    || policy_rate_from_json(rate, &m->rate, &why) < 0 || !(r->lists[0] = policydb_names(send_as)))
		return -1;
	m->send_as = r->lists[0];
	return 0;
}

static int
policydb_decode_local(const struct policydb *db, json_t *json, struct policydb_record *r)
{
	struct policy_local *l = &r->u.local;
	json_t *mailboxes, *block;
	json_int_t rules;

	if (json_unpack(json, "{s:o, s:I, s:o}", "mailboxes", &mailboxes, "rules", &rules, "block_senders", &block) < 0
	    || json_object_size(json) != 3 || !(l->rules = policydb_rules_by_id(db, rules))
	    || l->rules->set != POLICY_SET_ALL || !(r->lists[0] = policydb_names(mailboxes))
	    || !(r->lists[1] = policydb_names(block)))
		return -1;
	l->mailboxes = r->lists[0];
	l->block_senders = r->lists[1];
	return 0;
}

/* "a,b,c" (or "" for none) as a NULL-terminated list. */
static int
policydb_decode_address(char *text, struct policydb_record *r)
{
	char *save = NULL;
	size_t n = 1;

	for (char *p = text; *p; p++)
		n += *p == ',';
	if (n > POLICYDB_LIST_MAX || !(r->lists[0] = calloc(n + 1, sizeof(char *))))
		return -1;
	n = 0;
	for (char *name = strtok_r(text, ",", &save); name; name = strtok_r(NULL, ",", &save))
		if (!(r->lists[0][n++] = strdup(name)))
			return -1;
	r->u.address.mailboxes = r->lists[0];
	return 0;
}

/* Reads and decodes one record from the file: 0, 1 not found, -1 unreadable. */
static int
policydb_decode(const struct policydb *db, const char *key, enum policydb_type type, struct policydb_record **out)
{
	struct policydb_record *r = calloc(1, sizeof(*r));
	json_t *json = NULL;
	char *text = NULL;
	int rc;

	if (!r)
		return -1;
	r->type = type;
	if (type == POLICYDB_ADDRESS) {
		if ((rc = policydb_get(db, key, &text)) == 0 && policydb_decode_address(text, r) < 0)
			rc = -1;
	} else if ((json = policydb_get_json(db, key, &rc))) {
		rc = type == POLICYDB_DOMAIN	? policydb_decode_domain(db, json, r)
		     : type == POLICYDB_LOCAL ? policydb_decode_local(db, json, r)
					      : policydb_decode_mailbox(db, json, r);
	}
	free(text);
	json_decref(json);
	if (rc != 0) {
		policydb_record_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* Keeps a fresh record unless the table is full or another thread won; *owned when the caller keeps it. */
static struct policydb_record *
policydb_keep(struct policydb_cache *cache, const char *key, struct policydb_record *fresh, bool *owned)
{
	struct policydb_record *kept;
	char *copy;

	*owned = false;
	pthread_rwlock_wrlock(&cache->lock);
	kept = g_hash_table_lookup(cache->records, key);
	if (!kept && g_hash_table_size(cache->records) < cache->max && (copy = strdup(key))) {
		g_hash_table_insert(cache->records, copy, fresh);
		kept = fresh;
		fresh = NULL;
	}
	pthread_rwlock_unlock(&cache->lock);
	if (kept) {
		policydb_record_free(fresh);
		return kept;
	}
	*owned = true;
	return fresh;
}

/*
 * a, then b (blen bytes), into buf (len bytes) with a NUL; false when it
 * does not fit.  Keys are made for every lookup of every RCPT: memcpy, not
 * snprintf, whose formatting was a fifth of an RCPT's instructions.
 */
static bool
policydb_join(char *buf, size_t len, const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);

	if (alen + blen + 1 > len)
		return false;
	memcpy(buf, a, alen);
	memcpy(buf + alen, b, blen);
	buf[alen + blen] = '\0';
	return true;
}

static int
policydb_record(const struct policydb *db, const char *prefix, const char *name, enum policydb_type type,
		struct policydb_record **out, bool *owned)
{
	char key[POLICYDB_KEY_MAX];
	struct policydb_record *fresh;
	int rc;

	*owned = false;
	if (!policydb_join(key, sizeof(key), prefix, name, strlen(name)))
		return 1;	/* longer than any key hostmapgen writes */
	pthread_rwlock_rdlock(&db->cache->lock);
	*out = g_hash_table_lookup(db->cache->records, key);
	pthread_rwlock_unlock(&db->cache->lock);
	if (*out)
		return (*out)->type == type ? 0 : -1;
	if ((rc = policydb_decode(db, key, type, &fresh)) != 0)
		return rc;
	*out = policydb_keep(db->cache, key, fresh, owned);
	return 0;
}

int
policydb_domain(const struct policydb *db, const char *domain, struct policy_domain *out)
{
	struct policydb_record *r;
	bool owned;
	int rc = policydb_record(db, POLICY_PREFIX_DOMAIN, domain, POLICYDB_DOMAIN, &r, &owned);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		*out = r->u.domain;
		out->owned = owned ? r : NULL;
	}
	return rc;
}

void
policydb_domain_free(struct policy_domain *domain)
{
	policydb_record_free(domain->owned);
	memset(domain, 0, sizeof(*domain));
}

int
policydb_mailbox(const struct policydb *db, const char *name, struct policy_mailbox *out)
{
	struct policydb_record *r;
	bool owned;
	int rc = policydb_record(db, POLICY_PREFIX_MAILBOX, name, POLICYDB_MAILBOX, &r, &owned);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		*out = r->u.mailbox;
		out->owned = owned ? r : NULL;
	}
	return rc;
}

void
policydb_mailbox_free(struct policy_mailbox *mailbox)
{
	policydb_record_free(mailbox->owned);
	memset(mailbox, 0, sizeof(*mailbox));
}

int
policydb_address(const struct policydb *db, const char *address, struct policy_address *out)
{
	struct policydb_record *r;
	bool owned;
	int rc = policydb_record(db, POLICY_PREFIX_ADDRESS, address, POLICYDB_ADDRESS, &r, &owned);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		*out = r->u.address;
		out->owned = owned ? r : NULL;
	}
	return rc;
}

void
policydb_address_free(struct policy_address *address)
{
	policydb_record_free(address->owned);
	memset(address, 0, sizeof(*address));
}

int
policydb_local(const struct policydb *db, const char *name, struct policy_local *out)
{
	struct policydb_record *r;
	bool owned;
	int rc = policydb_record(db, POLICY_PREFIX_LOCAL, name, POLICYDB_LOCAL, &r, &owned);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		*out = r->u.local;
		out->owned = owned ? r : NULL;
	}
	return rc;
}

void
policydb_local_free(struct policy_local *local)
{
	policydb_record_free(local->owned);
	memset(local, 0, sizeof(*local));
}

/* ---- recipients: where they go and the rules they get ---- */

/* The one mailbox in a list, or NULL when there are none or several. */
static const char *
policydb_single(char *const *names)
{
	return names && names[0] && !names[1] ? names[0] : NULL;
}

/* The rules of a local recipient: its one mailbox's over its domain's (NULL: a server name's). */
static int
policydb_local_rules(const struct policydb *db, const char *single, const struct policy_rules *domain_rules,
		  struct policy_recipient *out)
{
	struct policy_mailbox mailbox;
	int rc = single ? policydb_mailbox(db, single, &mailbox) : 1;

	if (rc < 0)
		return -1;	/* an unreadable mailbox record is not "no rules of its own" */
	policydb_resolve(db, domain_rules, rc == 0 ? mailbox.rules : NULL, &out->rules);
	if (single && strlen(single) < sizeof(out->mailbox))
		strcpy(out->mailbox, single);
	if (rc == 0)
		policydb_mailbox_free(&mailbox);
	return 0;
}

/* The part of a local part before "+detail", as Sendmail's fallbacks cut it. */
static size_t
policydb_user_len(const char *local)
{
	const char *plus = strchr(local, '+');

	return plus && plus != local ? (size_t)(plus - local) : strlen(local);
}

/*
 * A recipient at one of the server's names, or unqualified: a local name,
 * looked up as Sendmail's aliases are (the name, then without "+detail").
 */
static int
policydb_at_server_name(const struct policydb *db, const char *local, struct policy_recipient *out)
{
	char name[ADDR_LOCAL_MAX + 1];
	size_t userlen = policydb_user_len(local);
	int rc;

	out->place = POLICY_RCPT_HERE;
	if (memchr(local, POLICY_GENERATED_ALIAS_MARK, userlen)) {
		out->generated_alias = true;
		return 0;
	}
	rc = policydb_local(db, local, &out->local);
	if (rc == 1 && userlen < strlen(local) && userlen < sizeof(name)) {
		memcpy(name, local, userlen);
		name[userlen] = '\0';
		rc = policydb_local(db, name, &out->local);
	}
	if (rc != 0)
		return rc < 0 ? -1 : 0;	/* not a name of the export (a system account): the defaults */
	policydb_resolve(db, NULL, out->local.rules, &out->rules);
	out->block_senders = out->local.block_senders;
	if (policydb_single(out->local.mailboxes) && strlen(policydb_single(out->local.mailboxes)) < sizeof(out->mailbox))
		strcpy(out->mailbox, policydb_single(out->local.mailboxes));
	return 0;
}

/*
 * The address record of local@canonical, else of the local part before a
 * "+detail", as Sendmail's virtusertable and access lookups fall back.
 */
static int
policydb_address_or_detail(const struct policydb *db, const char *local, const char *canonical,
			   struct policy_address *found)
{
	char address[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2], at_domain[ADDR_DOMAIN_MAX + 2];
	size_t userlen = policydb_user_len(local);
	int rc;

	memset(found, 0, sizeof(*found));
	if (!canonical)
		return 1;	/* no domain of ours: no such address */
	if (!policydb_join(at_domain, sizeof(at_domain), "@", canonical, strlen(canonical))
	    || !policydb_join(address, sizeof(address), local, at_domain, strlen(at_domain)))
		return 1;
	rc = policydb_address(db, address, found);
	if (rc != 1 || userlen == strlen(local))
		return rc;
	memcpy(address + userlen, at_domain, strlen(at_domain) + 1);
	return policydb_address(db, address, found);
}

/* A recipient in a domain of ours: its address record says where it goes and whether it exists. */
static int
policydb_in_domain(const struct policydb *db, const char *local, struct policy_recipient *out)
{
	const struct policy_domain *domain = &out->domain;
	struct policy_address found;
	int rc;

	if ((rc = policydb_address_or_detail(db, local, domain->canonical, &found)) < 0)
		return -1;
	if (domain->kind == POLICY_DOMAIN_BACKUP || domain->kind == POLICY_DOMAIN_ROUTED) {
		out->place = domain->kind == POLICY_DOMAIN_BACKUP ? POLICY_RCPT_BACKUP : POLICY_RCPT_ROUTED;
		out->unknown = domain->listed && rc == 1 && strcasecmp(local, "postmaster") != 0;
		policydb_resolve(db, domain->rules, NULL, &out->rules);
		policydb_address_free(&found);
		return 0;
	}
	out->place = POLICY_RCPT_HERE;
	rc = policydb_local_rules(db, policydb_single(rc == 0 ? found.mailboxes : domain->catch_all), domain->rules, out);
	policydb_address_free(&found);
	return rc;
}

/* Where local@domain goes, and its rules unless the defaults (see policydb_recipient). */
static int
policydb_place(const struct policydb *db, const char *local, const char *domain, struct policy_recipient *out)
{
	int rc;

	if (domain[0] == '\0' || policydb_server_name(db, domain))
		return policydb_at_server_name(db, local, out);
	if ((rc = policydb_domain(db, domain, &out->domain)) != 0)
		return rc < 0 ? -1 : 0;
	out->allow_senders = out->domain.allow_senders;
	out->block_senders = out->domain.block_senders;
	return policydb_in_domain(db, local, out);
}

int
policydb_recipient(const struct policydb *db, const char *local, const char *domain, struct policy_recipient *out)
{
	int rc;

	memset(out, 0, offsetof(struct policy_recipient, rules));
	out->rules.set = 0;
	out->mailbox[0] = '\0';
	out->allow_senders = out->block_senders = NULL;
	out->place = POLICY_RCPT_ELSEWHERE;
	rc = policydb_place(db, local, domain, out);
	if (!out->rules.set)
		out->rules = db->defaults;	/* elsewhere, a name no record knows, or an unreadable record */
	return rc;
}

void
policydb_recipient_free(struct policy_recipient *recipient)
{
	policydb_domain_free(&recipient->domain);
	policydb_local_free(&recipient->local);
}

bool
policydb_blocks_types(const struct policydb *db)
{
	return db->blocks_types;
}

uint64_t
policydb_largest_size(const struct policydb *db)
{
	uint64_t largest = db->defaults.max_size;

	for (size_t i = 0; i < db->nrules; i++)	/* a rule set that leaves the size unset takes another's */
		if ((db->rules[i].set & POLICY_SET_MAX_SIZE) && db->rules[i].max_size > largest)
			largest = db->rules[i].max_size;
	return largest;
}
