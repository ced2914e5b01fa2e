/*
 * emit_policy - the records of hostmilter.db (layout in lib/policy.h).
 *
 * Records are collected in memory with their digest first, so that an
 * unchanged policy is recognised without rewriting the database.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "emit.h"
#include "msg.h"
#include "policydb.h"
#include "validate.h"
#include "xtext.h"

struct emitter {
	const struct mg_export *export;
	struct policy_records *records;
	struct mg_report *report;
	EVP_MD_CTX *md;
	GHashTable *rule_ids;	/* const struct policy_rules* -> id + 1 */
	GHashTable *visited;	/* struct mg_deliver* followed for the current address */
	GHashTable *found;	/* its mailboxes, once they are too many to search a list for them */
	GString *value;
	GHashTable *delivering;	/* mailbox name -> GPtrArray of the domains delivering to it (L: records) */
};

static void
put_bytes(GByteArray *data, const char *bytes, size_t len)
{
	guint32 n = (guint32)len;

	g_byte_array_append(data, (const guint8 *)&n, sizeof(n));
	g_byte_array_append(data, (const guint8 *)bytes, (guint)len);
}

static void
put(struct emitter *e, const char *key, const char *value)
{
	size_t keylen = strlen(key), valuelen = strlen(value);

	put_bytes(e->records->data, key, keylen);
	put_bytes(e->records->data, value, valuelen);
	EVP_DigestUpdate(e->md, key, keylen + 1);
	EVP_DigestUpdate(e->md, value, valuelen + 1);
	e->records->count++;
}

static void
put_json(struct emitter *e, const char *key, json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT);

	if (!text)	/* out of memory: a record left out or "(null)" would change the policy */
		msg_fatal(3, "%s: cannot encode its record", key);	/* 3: nothing changed */
	put(e, key, text);
	free(text);
	json_decref(value);
}

static json_t *
string_list(const char *const *items, uint32_t count)
{
	json_t *array = json_array();

	for (uint32_t i = 0; i < count; i++)
		json_array_append_new(array, json_string(items[i]));
	return array;
}

/* The id of a rule set, writing its R: record the first time. */
static guint
rules_id(struct emitter *e, const struct policy_rules *rules)
{
	guint id = GPOINTER_TO_UINT(g_hash_table_lookup(e->rule_ids, rules));
	char key[32];

	if (id)
		return id - 1;
	id = g_hash_table_size(e->rule_ids);
	g_hash_table_insert(e->rule_ids, (gpointer)rules, GUINT_TO_POINTER(id + 1));
	snprintf(key, sizeof(key), POLICY_PREFIX_RULES "%u", id);
	put_json(e, key, policy_rules_to_json(rules));
	return id;
}

/* Appends a JSON array of validated names (no quotes or backslashes to escape). */
static void
append_names(GString *out, const char *const *items, uint32_t count)
{
	g_string_append_c(out, '[');
	for (uint32_t i = 0; i < count; i++)
		g_string_append_printf(out, "%s\"%s\"", i ? "," : "", items[i]);
	g_string_append_c(out, ']');
}

static void collect_mailboxes(struct emitter *e, const struct mg_deliver *deliver, GPtrArray *found);

static void
put_domain(struct emitter *e, const struct mg_domain *domain, const char *name, const char *kind,
	   GPtrArray *catch_all)
{
	guint id = rules_id(e, domain->rules);
	char key[300];

	g_string_printf(e->value, "{\"kind\":\"%s\",\"canonical\":\"%s\",\"rules\":%u,\"allow_senders\":",
			kind, domain->name, id);
	append_names(e->value, domain->allow_senders, domain->nallow);
	g_string_append(e->value, ",\"block_senders\":");
	append_names(e->value, domain->block_senders, domain->nblock);
	g_string_append(e->value, ",\"catch_all\":");
	append_names(e->value, (const char *const *)catch_all->pdata, catch_all->len);
	if (model_domain_listed(domain))
		g_string_append(e->value, ",\"listed\":true");
	g_string_append_c(e->value, '}');
	emit_fmt(key, sizeof(key), POLICY_PREFIX_DOMAIN "%s", name);
	put(e, key, e->value->str);
}

/*
 * Every mailbox a deliver reaches, through aliases and hosted addresses;
 * each deliver is followed once per address (validate bounds the depth and
 * refuses loops), and the list is complete: an owner left out would be
 * refused its own address, a second mailbox left out would let the first
 * one's rules decide for both.
 */
/* Past this many, the mailboxes found are looked up in a hash table, not searched (an alias may name 10,000). */
#define EMIT_FOUND_LIST 16

static void
add_mailbox(struct emitter *e, GPtrArray *found, const char *name)
{
	if (found->len < EMIT_FOUND_LIST) {
		if (!g_ptr_array_find_with_equal_func(found, name, g_str_equal, NULL))
			g_ptr_array_add(found, (gpointer)name);
		return;
	}
	if (!g_hash_table_size(e->found))
		for (guint i = 0; i < found->len; i++)
			g_hash_table_add(e->found, found->pdata[i]);
	if (g_hash_table_add(e->found, (gpointer)name))
		g_ptr_array_add(found, (gpointer)name);
}

static void
collect_mailboxes(struct emitter *e, const struct mg_deliver *deliver, GPtrArray *found)
{
	for (uint32_t t = 0; t < deliver->ntargets; t++) {
		const struct mg_target *target = &deliver->targets[t];
		const struct mg_deliver *next;

		if (target->kind == MG_TARGET_MAILBOX) {
			add_mailbox(e, found, target->text);
			continue;
		}
		next = validate_follow(e->export, target);
		if (next && g_hash_table_add(e->visited, (gpointer)next))
			collect_mailboxes(e, next, found);
	}
}

/* The mailboxes deliver reaches, into found; true when they are more than hostmilter reads. */
static bool
collect_deliver(struct emitter *e, const struct mg_deliver *deliver, GPtrArray *found)
{
	g_ptr_array_set_size(found, 0);
	if (g_hash_table_size(e->visited))
		g_hash_table_remove_all(e->visited);
	if (g_hash_table_size(e->found))
		g_hash_table_remove_all(e->found);
	collect_mailboxes(e, deliver, found);
	return found->len > POLICYDB_LIST_MAX;
}

/* An address's or a catch-all's (address NULL) mailboxes; too many is an error at its "deliver". */
static void
collect_for(struct emitter *e, const struct mg_deliver *deliver, GPtrArray *found, const char *what,
	    const struct mg_domain *domain, const struct mg_address *address)
{
	if (collect_deliver(e, deliver, found))
		report_add(e->report, RC_TOO_MANY_MAILBOXES,
			   address ? report_at(e->report, "%s/addresses/%u/deliver", domain->where, address->index)
				   : report_at(e->report, "%s/catch_all/deliver", domain->where),
			   "%s reaches %u mailboxes; hostmilter reads at most %d", what, found->len, POLICYDB_LIST_MAX);
}

/* The same for an alias. */
static void
collect_for_alias(struct emitter *e, const struct mg_alias *alias, GPtrArray *found, const char *what)
{
	if (collect_deliver(e, &alias->deliver, found))
		report_add(e->report, RC_TOO_MANY_MAILBOXES, report_at(e->report, "%s/deliver", alias->where),
			   "%s reaches %u mailboxes; hostmilter reads at most %d", what, found->len, POLICYDB_LIST_MAX);
}

static void
note_delivering(struct emitter *e, const struct mg_domain *domain, GPtrArray *found)
{
	for (guint i = 0; i < found->len; i++) {
		GPtrArray *domains = g_hash_table_lookup(e->delivering, found->pdata[i]);

		if (!domains) {
			domains = g_ptr_array_new();
			g_hash_table_insert(e->delivering, found->pdata[i], domains);
		}
		if (!domains->len || domains->pdata[domains->len - 1] != domain)
			g_ptr_array_add(domains, (gpointer)domain);
	}
}

static void
put_addresses(struct emitter *e, const struct mg_domain *domain, GPtrArray *found, GString *value)
{
	char key[600];

	for (uint32_t a = 0; a < domain->naddresses; a++) {
		const struct mg_address *address = &domain->addresses[a];

		/* Written even when it reaches no mailbox, so that the domain's
		 * catch-all owner does not seem to own this address. */
		collect_for(e, &address->deliver, found, address->full, domain, address);
		note_delivering(e, domain, found);
		g_string_truncate(value, 0);
		for (guint i = 0; i < found->len; i++) {
			if (i)
				g_string_append_c(value, ',');
			g_string_append(value, found->pdata[i]);
		}
		emit_fmt(key, sizeof(key), POLICY_PREFIX_ADDRESS "%s", address->full);
		put(e, key, value->str);
	}
}

/*
 * The mailboxes the local name "postmaster" reaches: the export's alias of
 * that name, else the "postmaster: root" hostmapgen adds (emit_aliases).
 */
static void
collect_postmaster(struct emitter *e, GPtrArray *found)
{
	const struct mg_alias *alias = g_hash_table_lookup(e->export->alias_index, "postmaster");

	g_ptr_array_set_size(found, 0);
	if (alias)
		collect_for_alias(e, alias, found, "postmaster");
	else if (e->export->add_postmaster)
		g_ptr_array_add(found, (gpointer) "root");
}

/*
 * postmaster@DOMAIN of a domain that does not list it: virtmaps sends it to
 * the local name postmaster, so its A: record says where that goes -- else
 * hostmilter would give it the catch-all's rules and owner.
 */
static void
put_postmaster(struct emitter *e, const struct mg_domain *domain, GPtrArray *found, GString *value)
{
	char key[300];

	if (domain->defines_postmaster || model_domain_relayed(domain))
		return;
	collect_postmaster(e, found);
	note_delivering(e, domain, found);
	g_string_truncate(value, 0);
	for (guint i = 0; i < found->len; i++)
		g_string_append_printf(value, "%s%s", i ? "," : "", (const char *)found->pdata[i]);
	emit_fmt(key, sizeof(key), POLICY_PREFIX_ADDRESS "postmaster@%s", domain->name);
	put(e, key, value->str);
}

static const char *
domain_kind(const struct mg_domain *domain)
{
	return domain->backup_mx ? "backup" : domain->has_route ? "routed" : "local";
}

static void
put_domains(struct emitter *e)
{
	GPtrArray *found = g_ptr_array_new();
	GString *value = g_string_new(NULL);

	for (guint i = 0; i < e->export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(e->export, i);

		if (!domain->name)
			continue;
		g_ptr_array_set_size(found, 0);
		if (domain->has_catch_all) {
			collect_for(e, &domain->catch_all, found, "the catch-all", domain, NULL);
			note_delivering(e, domain, found);
		}
		/* A relayed domain's alias names are relayed too, and checked against its list. */
		put_domain(e, domain, domain->name, domain_kind(domain), found);
		for (uint32_t a = 0; a < domain->naliases; a++)
			put_domain(e, domain, domain->aliases[a], model_domain_relayed(domain) ? domain_kind(domain) : "alias",
				   found);
		put_addresses(e, domain, found, value);
		put_postmaster(e, domain, found, value);
	}
	g_string_free(value, TRUE);
	g_ptr_array_free(found, TRUE);
}

/*
 * The rules a mailbox gets as a local name (policy.h, L: records): the
 * strictest over the domains delivering to it of its own over the
 * domain's over the defaults; its own over the defaults when none does.
 * Merged into *rules, which starts as the caller's first value.
 */
static int
local_rules(struct emitter *e, const struct mg_mailbox *mailbox, struct policy_rules *rules, bool *first,
	    GPtrArray *block)
{
	GPtrArray *domains = g_hash_table_lookup(e->delivering, mailbox->name);
	struct policy_rules one;
	int rc = 0;

	for (guint i = 0; i < (domains ? domains->len : 1); i++) {
		const struct mg_domain *domain = domains ? domains->pdata[i] : NULL;

		one = e->export->defaults;
		if (domain)
			policy_rules_overlay(&one, domain->rules);
		policy_rules_overlay(&one, mailbox->rules);
		if (*first)
			*rules = one;
		else if (policy_rules_strictest(rules, &one) < 0)
			rc = -1;
		*first = false;
		for (uint32_t b = 0; domain && b < domain->nblock; b++)
			if (!g_ptr_array_find_with_equal_func(block, domain->block_senders[b], g_str_equal, NULL))
				g_ptr_array_add(block, (gpointer)domain->block_senders[b]);
	}
	return rc;
}

/* One L: record: the mailboxes name reaches, their strictest rules, their domains' blocked senders. */
static void
put_local(struct emitter *e, const char *name, GPtrArray *mailboxes, GPtrArray *block, const char *where)
{
	struct policy_rules rules = e->export->defaults, interned;
	bool first = true;
	char key[100];
	guint id;

	g_ptr_array_set_size(block, 0);
	for (guint i = 0; i < mailboxes->len; i++) {
		const struct mg_mailbox *mailbox = g_hash_table_lookup(e->export->mailbox_index, mailboxes->pdata[i]);

		if (mailbox && local_rules(e, mailbox, &rules, &first, block) < 0)
			report_add(e->report, RC_TOO_MANY_BLOCKED_TYPES, where,
				   "the domains delivering to \"%s\" block more than %d types together; hostmilter keeps "
				   "at most %d for one recipient", name, POLICY_TYPES_MAX, POLICY_TYPES_MAX);
	}
	/* Interned like the export's own, so that equal rule sets share one R: record. */
	memset(&interned, 0, sizeof(interned));
	policy_rules_overlay(&interned, &rules);
	id = rules_id(e, model_intern_rules((struct mg_export *)e->export, &interned));
	g_string_printf(e->value, "{\"mailboxes\":");
	append_names(e->value, (const char *const *)mailboxes->pdata, mailboxes->len);
	g_string_append_printf(e->value, ",\"rules\":%u,\"block_senders\":", id);
	append_names(e->value, (const char *const *)block->pdata, block->len);
	g_string_append_c(e->value, '}');
	emit_fmt(key, sizeof(key), POLICY_PREFIX_LOCAL "%s", name);
	put(e, key, e->value->str);
}

/* L: records for every mailbox no alias shadows and every alias of the export. */
static void
put_locals(struct emitter *e)
{
	GPtrArray *found = g_ptr_array_new(), *block = g_ptr_array_new();

	for (guint i = 0; i < e->export->mailboxes->len; i++) {
		const struct mg_mailbox *mailbox = model_mailbox(e->export, i);

		if (g_hash_table_contains(e->export->alias_index, mailbox->name))
			continue;	/* Sendmail's aliases come first: the alias's record says where it goes */
		g_ptr_array_set_size(found, 0);
		g_ptr_array_add(found, (gpointer)mailbox->name);
		put_local(e, mailbox->name, found, block, mailbox->where);
	}
	for (guint i = 0; i < e->export->aliases->len; i++) {
		const struct mg_alias *alias = model_alias(e->export, i);

		collect_for_alias(e, alias, found, alias->name);
		put_local(e, alias->name, found, block, alias->where);
	}
	if (e->export->add_postmaster) {
		collect_postmaster(e, found);
		put_local(e, "postmaster", found, block, "postmaster");
	}
	g_ptr_array_free(found, TRUE);
	g_ptr_array_free(block, TRUE);
}

/* ',"rate_limit":{...}' when any member is set. */
static void
append_rate(GString *out, const struct policy_rate *rate)
{
	json_t *json;
	char *text;

	if (!rate->per_hour && !rate->burst && !rate->bulk_per_hour && !rate->bulk_burst)
		return;
	json = policy_rate_to_json(rate);
	text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)	/* out of memory, as above */
		msg_fatal(3, "cannot encode a rate limit");
	g_string_append_printf(out, ",\"rate_limit\":%s", text);
	free(text);
	json_decref(json);
}

static void
put_mailboxes(struct emitter *e)
{
	char key[100];

	for (guint i = 0; i < e->export->mailboxes->len; i++) {
		const struct mg_mailbox *mailbox = model_mailbox(e->export, i);
		guint id = rules_id(e, mailbox->rules);

		g_string_printf(e->value, "{\"rules\":%u,\"send_as\":", id);
		append_names(e->value, mailbox->send_as, mailbox->nsend_as);
		append_rate(e->value, &mailbox->rate);
		g_string_append_c(e->value, '}');
		emit_fmt(key, sizeof(key), POLICY_PREFIX_MAILBOX "%s", mailbox->name);
		put(e, key, e->value->str);
	}
}

/*
 * Relay certificates as Sendmail gives {cert_issuer} and {cert_subject}.
 * validate has refused a DN too long to encode; should one still fail, the
 * certificate is left out (no relay right), never written with an empty
 * subject, which would mean any certificate of the issuer.
 */
static void
put_certificates(struct emitter *e, GString *text)
{
	char issuer[1400], subject[1400];

	for (guint i = 0; i < e->export->certs->len; i++) {
		const struct mg_cert *cert = &g_array_index(e->export->certs, struct mg_cert, i);

		if (xtext_encode(cert->issuer, issuer, sizeof(issuer)) < 0)
			continue;
		subject[0] = '\0';
		if (cert->subject && xtext_encode(cert->subject, subject, sizeof(subject)) < 0)
			continue;
		g_string_append_printf(text, "%s\t%s\t%u\t%u\t%u\t%u\n", issuer, subject, cert->rate.per_hour,
				       cert->rate.burst, cert->rate.bulk_per_hour, cert->rate.bulk_burst);
	}
}

static void
put_relay(struct emitter *e)
{
	GString *text = g_string_new(NULL);
	char line[64];

	for (guint i = 0; i < e->export->networks->len; i++) {
		const struct mg_network *network = &g_array_index(e->export->networks, struct mg_network, i);

		cidr_format(&network->net, line, sizeof(line));
		g_string_append_printf(text, "%s\t%u\t%u\t%u\t%u\n", line, network->rate.per_hour, network->rate.burst,
				       network->rate.bulk_per_hour, network->rate.bulk_burst);
	}
	put(e, POLICY_KEY_NETWORKS, text->str);
	g_string_truncate(text, 0);
	put_certificates(e, text);
	put(e, POLICY_KEY_CERTS, text->str);
	g_string_free(text, TRUE);
}

/* @defaults: every rule, and the default rate limit. */
static void
put_defaults(struct emitter *e)
{
	json_t *json = policy_rules_to_json(&e->export->defaults);

	json_object_set_new(json, "rate_limit", policy_rate_to_json(&e->export->default_rate));
	put_json(e, POLICY_KEY_DEFAULTS, json);
	if (e->export->defaults_own)
		put_json(e, POLICY_KEY_DEFAULTS_SET, policy_rules_to_json(e->export->defaults_own));
	else
		put(e, POLICY_KEY_DEFAULTS_SET, "{}");
}

unsigned
emit_policy(const struct mg_export *export, struct policy_records *records, struct mg_report *report)
{
	unsigned before = report->errors->len;
	struct emitter e = { .export = export, .records = records, .report = report, .md = EVP_MD_CTX_new(),
			     .rule_ids = g_hash_table_new(g_direct_hash, g_direct_equal),
			     .visited = g_hash_table_new(g_direct_hash, g_direct_equal),
			     .found = g_hash_table_new(g_str_hash, g_str_equal), .value = g_string_new(NULL),
			     .delivering = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref) };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	records->data = g_byte_array_sized_new(1 << 20);
	records->count = 0;
	EVP_DigestInit_ex(e.md, EVP_sha256(), NULL);
	put(&e, POLICY_KEY_FORMAT, POLICY_FORMAT);
	put_json(&e, POLICY_KEY_SERVER, json_pack("{s:s, s:o}", "hostname", export->hostname ? export->hostname : "",
						  "names", string_list(export->names, export->nnames)));
	put_defaults(&e);
	put_relay(&e);
	put_mailboxes(&e);
	put_domains(&e);
	put_locals(&e);
	EVP_DigestFinal_ex(e.md, md, &mdlen);
	EVP_MD_CTX_free(e.md);
	g_hash_table_destroy(e.rule_ids);
	g_hash_table_destroy(e.visited);
	g_hash_table_destroy(e.found);
	g_string_free(e.value, TRUE);
	g_hash_table_destroy(e.delivering);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(records->digest + 2 * i, 3, "%02x", md[i]);
	return report->errors->len - before;
}

void
emit_policy_records_free(struct policy_records *records)
{
	if (records->data)
		g_byte_array_free(records->data, TRUE);
	records->data = NULL;
}

int
emit_policy_records_each(const struct policy_records *records, policy_record_fn fn, void *context)
{
	const guint8 *p = records->data->data, *limit = p + records->data->len;

	while (p < limit) {
		guint32 keylen, valuelen;
		const char *key, *value;
		int rc;

		memcpy(&keylen, p, sizeof(keylen));
		key = (const char *)p + sizeof(keylen);
		p += sizeof(keylen) + keylen;
		memcpy(&valuelen, p, sizeof(valuelen));
		value = (const char *)p + sizeof(valuelen);
		p += sizeof(valuelen) + valuelen;
		if ((rc = fn(key, keylen, value, valuelen, context)) != 0)
			return rc;
	}
	return 0;
}
