/*
 * model - the export in memory; see model.h.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "model.h"

/*
 * The bytes of rules that can differ: the members before the blocked
 * types and the types in use.  Every rule set here starts from
 * policy_rules_default's memset, so padding and the unused types are
 * zero; hashing and comparing them too cost a million mailboxes 1.6 KB
 * each, most of hostmapgen's own time on the benchmark export.
 */
static size_t
model_rules_used_bytes(const struct policy_rules *rules)
{
	unsigned ntypes = rules->ntypes < POLICY_TYPES_MAX ? rules->ntypes : POLICY_TYPES_MAX;

	return offsetof(struct policy_rules, blocked_types) + (size_t)ntypes * POLICY_TYPE_LEN;
}

static guint
model_rules_hash(gconstpointer key)
{
	const unsigned char *p = key;
	size_t used = model_rules_used_bytes(key);
	guint hash = 2166136261u;

	for (size_t i = 0; i < used; i++)
		hash = (hash ^ p[i]) * 16777619u;
	return hash;
}

/* Byte-wise, like the hash (policy_rules_equal compares member by member
 * where zeroed padding is not known). */
static gboolean
model_rules_equal(gconstpointer a, gconstpointer b)
{
	size_t used = model_rules_used_bytes(a);

	return used == model_rules_used_bytes(b) && memcmp(a, b, used) == 0;
}

struct mg_export *
model_new(void)
{
	struct mg_export *export = g_new0(struct mg_export, 1);

	export->strings = g_string_chunk_new(1 << 20);
	export->interned_rules = g_hash_table_new_full(model_rules_hash, model_rules_equal, g_free, NULL);
	export->mailboxes = g_array_new(FALSE, TRUE, sizeof(struct mg_mailbox));
	export->domains = g_array_new(FALSE, TRUE, sizeof(struct mg_domain));
	export->aliases = g_array_new(FALSE, TRUE, sizeof(struct mg_alias));
	export->networks = g_array_new(FALSE, TRUE, sizeof(struct mg_network));
	export->certs = g_array_new(FALSE, TRUE, sizeof(struct mg_cert));
	export->access = g_array_new(FALSE, TRUE, sizeof(struct mg_access));
	policy_rules_default(&export->defaults);
	return export;
}

/* Targets live in the model's blocks (model_alloc), freed with it. */
static void
model_free_deliver(struct mg_deliver *deliver)
{
	(void)deliver;
}

static void
model_free_domains(GArray *domains)
{
	for (guint i = 0; i < domains->len; i++) {
		struct mg_domain *d = &g_array_index(domains, struct mg_domain, i);

		for (uint32_t a = 0; a < d->naddresses; a++)
			model_free_deliver(&d->addresses[a].deliver);
		model_free_deliver(&d->catch_all);
		g_free(d->addresses);
		g_free(d->by_local);
		g_free(d->aliases);
		g_free(d->allow_senders);
		g_free(d->block_senders);
		g_free(d->route.etrn_clients);
	}
	g_array_free(domains, TRUE);
}

void
model_free(struct mg_export *export)
{
	if (!export)
		return;
	model_free_domains(export->domains);
	for (guint i = 0; i < export->mailboxes->len; i++) {
		g_free(model_mailbox(export, i)->send_as);
		g_free(model_mailbox(export, i)->send_as_pos);
	}
	for (guint i = 0; i < export->aliases->len; i++)
		model_free_deliver(&model_alias(export, i)->deliver);
	g_array_free(export->mailboxes, TRUE);
	g_array_free(export->aliases, TRUE);
	g_array_free(export->networks, TRUE);
	g_array_free(export->certs, TRUE);
	g_array_free(export->access, TRUE);
	g_free(export->names);
	if (export->mailbox_index) {
		g_hash_table_destroy(export->mailbox_index);
		g_hash_table_destroy(export->alias_index);
		g_hash_table_destroy(export->domain_index);
	}
	g_hash_table_destroy(export->interned_rules);
	g_slist_free_full(export->blocks, g_free);
	g_slist_free_full(export->big, g_free);
	g_string_chunk_free(export->strings);
	g_free(export);
}

const char *
model_intern(struct mg_export *export, const char *text, size_t len, bool lower)
{
	char *copy = g_string_chunk_insert_len(export->strings, text, (gssize)len);

	if (lower)
		for (char *p = copy; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + ('a' - 'A'));
	return copy;
}

#define MODEL_BLOCK (1u << 20)

void *
model_alloc(struct mg_export *export, size_t size)
{
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (size > MODEL_BLOCK / 4) {	/* a big one gets a block of its own */
		p = g_malloc0(size);
		export->big = g_slist_prepend(export->big, p);
		return p;
	}
	if (!export->blocks || export->block_used + size > MODEL_BLOCK) {
		export->blocks = g_slist_prepend(export->blocks, g_malloc0(MODEL_BLOCK));
		export->block_used = 0;
	}
	p = (char *)export->blocks->data + export->block_used;
	export->block_used += size;
	return p;
}

const struct policy_rules *
model_intern_rules(struct mg_export *export, const struct policy_rules *rules)
{
	struct policy_rules *found = g_hash_table_lookup(export->interned_rules, rules);

	if (!found) {
		found = g_memdup2(rules, sizeof(*rules));
		g_hash_table_add(export->interned_rules, found);
	}
	return found;
}

const struct policy_rules *
model_empty_rules(struct mg_export *export)
{
	struct policy_rules none;

	if (!export->empty_rules) {
		memset(&none, 0, sizeof(none));
		export->empty_rules = model_intern_rules(export, &none);
	}
	return export->empty_rules;
}

struct mg_domain *
model_domain(const struct mg_export *export, uint32_t i)
{
	return &g_array_index(export->domains, struct mg_domain, i);
}

struct mg_mailbox *
model_mailbox(const struct mg_export *export, uint32_t i)
{
	return &g_array_index(export->mailboxes, struct mg_mailbox, i);
}

struct mg_alias *
model_alias(const struct mg_export *export, uint32_t i)
{
	return &g_array_index(export->aliases, struct mg_alias, i);
}
