/*
 * emit_autoconfig - the records of autoconfig.db (layout in lib/acdb.h).
 *
 * An address is eligible when everything it delivers to, followed through
 * aliases and hosted addresses (and a hosted address's catch-all), holds
 * exactly one mailbox of the export: that mailbox's name is the login.
 * Outside addresses, pipes and files beside it do not count (the mailbox
 * still gets the mail and its owner reads it); a second mailbox, the
 * system's root, or none at all make it ineligible, since no single login
 * reads that mail.  Addresses are written for opted-in domains only: a
 * small domain's in its D: record and each alias domain's, a larger one's
 * once, in B: records under the real domain, which its aliases point to.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "acdb.h"
#include "emit.h"
#include "validate.h"

struct ac_emitter {
	const struct mg_export *export;
	struct policy_records *records;
	EVP_MD_CTX *md;
	GHashTable *settings_ids;	/* S: value -> id + 1 */
	GHashTable *visited;		/* struct mg_deliver* followed for the current address */
	unsigned defaults_id;		/* of domains that set no client settings of their own; 0: none yet */
	GString *lines;			/* a small domain's addresses, reused */
	GString *value;			/* a D: record, reused */
};

static void
put_bytes(GByteArray *data, const char *bytes, size_t len)
{
	guint32 n = (guint32)len;

	g_byte_array_append(data, (const guint8 *)&n, sizeof(n));
	g_byte_array_append(data, (const guint8 *)bytes, (guint)len);
}

/* value is a string of valuelen bytes (its NUL is digested too, as hostmilter.db's records are). */
static void
put(struct ac_emitter *e, const char *key, const char *value, size_t valuelen)
{
	size_t keylen = strlen(key);

	put_bytes(e->records->data, key, keylen);
	put_bytes(e->records->data, value, valuelen);
	EVP_DigestUpdate(e->md, key, keylen + 1);
	EVP_DigestUpdate(e->md, value, valuelen + 1);
	e->records->count++;
}

/*
 * The one mailbox a deliver reaches, through aliases and hosted
 * addresses; NULL when it reaches none or more than one (*found counts
 * them, stopping at two).  Each deliver is followed once per address:
 * validate has refused loops and bounded the depth.
 */
static void
walk(struct ac_emitter *e, const struct mg_deliver *deliver, const char **mailbox, unsigned *found)
{
	for (uint32_t t = 0; t < deliver->ntargets && *found < 2; t++) {
		const struct mg_target *target = &deliver->targets[t];
		const struct mg_deliver *next;

		if (target->kind == MG_TARGET_MAILBOX) {
			if (!*mailbox || strcmp(*mailbox, target->text) != 0)
				(*found)++;
			*mailbox = target->text;
			continue;
		}
		next = validate_follow(e->export, target);
		if (next && g_hash_table_add(e->visited, (gpointer)next))
			walk(e, next, mailbox, found);
	}
}

/* The login of whatever delivers this way, or NULL when no single mailbox of the export reads it. */
static const char *
login_of(struct ac_emitter *e, const struct mg_deliver *deliver)
{
	const char *mailbox = NULL;
	unsigned found = 0;

	/* Most addresses name one mailbox: no walk, no set of visited delivers. */
	if (deliver->ntargets == 1 && deliver->targets[0].kind == MG_TARGET_MAILBOX)
		mailbox = deliver->targets[0].text, found = 1;
	else if (!deliver->reject) {
		if (g_hash_table_size(e->visited))
			g_hash_table_remove_all(e->visited);
		walk(e, deliver, &mailbox, &found);
	}
	/* A mailbox target is one the export lists, or root, which is no customer's login. */
	if (found != 1 || (strcmp(mailbox, "root") == 0 && !g_hash_table_contains(e->export->mailbox_index, mailbox)))
		return NULL;
	return mailbox;
}

static bool
sets_no_settings(const struct mg_domain *domain)
{
	for (unsigned p = 0; p < ACDB_PROTOCOLS; p++)
		if (domain->client_settings.server[p].state != MG_SERVER_UNSET)
			return false;
	return true;
}

static unsigned settings_id_of(struct ac_emitter *e, const struct mg_domain *domain);

/* The id of a domain's settings; most domains have the defaults', which are formatted once. */
static unsigned
settings_id(struct ac_emitter *e, const struct mg_domain *domain)
{
	if (!sets_no_settings(domain))
		return settings_id_of(e, domain);
	if (!e->defaults_id)
		e->defaults_id = settings_id_of(e, domain) + 1;
	return e->defaults_id - 1;
}

/* The id of a domain's settings, writing its S: record the first time. */
static unsigned
settings_id_of(struct ac_emitter *e, const struct mg_domain *domain)
{
	struct mg_client_settings own;
	struct acdb_settings settings = { 0 };
	char value[1024], key[32];
	gpointer id;

	model_client_settings(e->export, domain, &own);
	for (unsigned p = 0; p < ACDB_PROTOCOLS; p++) {
		const struct mg_client_server *from = &own.server[p];
		struct acdb_server *to = &settings.server[p];

		if ((to->offered = from->state == MG_SERVER_SET)) {
			g_strlcpy(to->host, from->host, sizeof(to->host));
			to->port = from->port;
			to->socket = (enum acdb_socket)from->socket;
		}
	}
	acdb_settings_format(&settings, value, sizeof(value));	/* fits: three validated host names */
	if ((id = g_hash_table_lookup(e->settings_ids, value)))
		return GPOINTER_TO_UINT(id) - 1;
	g_hash_table_insert(e->settings_ids, g_strdup(value), GUINT_TO_POINTER(g_hash_table_size(e->settings_ids) + 1));
	snprintf(key, sizeof(key), ACDB_PREFIX_SETTINGS "%u", g_hash_table_size(e->settings_ids) - 1);
	put(e, key, value, strlen(value));
	return g_hash_table_size(e->settings_ids) - 1;
}

/* The D: record of name: the first line, and a small domain's addresses after it. */
static void
put_domain_record(struct ac_emitter *e, const char *name, const struct acdb_domain *record, const GString *lines)
{
	char key[ADDR_DOMAIN_MAX + 8], head[ADDR_DOMAIN_MAX + ADDR_NAME_MAX + 40];

	emit_fmt(key, sizeof(key), ACDB_PREFIX_DOMAIN "%s", name);
	acdb_domain_format(record, head, sizeof(head));	/* fits: validated names */
	if (record->buckets) {
		put(e, key, head, strlen(head));
		return;
	}
	g_string_assign(e->value, head);
	g_string_append_c(e->value, '\n');
	g_string_append_len(e->value, lines->str, (gssize)lines->len);
	put(e, key, e->value->str, e->value->len);
}

static void
append_line(GString *out, const struct mg_address *address, const char *login)
{
	g_string_append(out, address->local);
	g_string_append_c(out, '\t');
	if (login)
		g_string_append(out, login);
	g_string_append_c(out, '\n');
}

/* A larger domain's B: records: each address's "LOCAL\tLOGIN\n" in its bucket. */
static void
put_buckets(struct ac_emitter *e, const struct mg_domain *domain, unsigned buckets)
{
	GString **lines = g_new0(GString *, buckets);
	char key[ADDR_DOMAIN_MAX + 24];

	for (unsigned n = 0; n < buckets; n++)
		lines[n] = g_string_new(NULL);
	for (uint32_t a = 0; a < domain->naddresses; a++) {
		const struct mg_address *address = &domain->addresses[a];

		append_line(lines[acdb_bucket(address->local, buckets)], address, login_of(e, &address->deliver));
	}
	for (unsigned n = 0; n < buckets; n++) {
		if (lines[n]->len) {	/* a lookup takes a missing bucket for an empty one */
			acdb_bucket_key(domain->name, n, key, sizeof(key));
			put(e, key, lines[n]->str, lines[n]->len);
		}
		g_string_free(lines[n], TRUE);
	}
	g_free(lines);
}

/*
 * Nearly every domain has fewer than ACDB_BUCKET_ADDRESSES addresses: they
 * go into its D: record (and each alias domain's), one record per name.
 */
static void
put_domain(struct ac_emitter *e, const struct mg_domain *domain)
{
	struct acdb_domain record = { 0 };
	const char *catch_all = domain->has_catch_all ? login_of(e, &domain->catch_all) : NULL;

	g_strlcpy(record.canonical, domain->name, sizeof(record.canonical));
	record.settings_id = settings_id(e, domain);
	record.buckets = domain->naddresses < ACDB_BUCKET_ADDRESSES ? 0 : domain->naddresses / ACDB_BUCKET_ADDRESSES + 1;
	g_strlcpy(record.catch_all, catch_all ? catch_all : "", sizeof(record.catch_all));
	g_string_truncate(e->lines, 0);
	for (uint32_t a = 0; record.buckets == 0 && a < domain->naddresses; a++)
		append_line(e->lines, &domain->addresses[a], login_of(e, &domain->addresses[a].deliver));
	put_domain_record(e, domain->name, &record, e->lines);
	for (uint32_t a = 0; a < domain->naliases; a++)
		put_domain_record(e, domain->aliases[a], &record, e->lines);
	if (record.buckets)
		put_buckets(e, domain, record.buckets);
}

unsigned
emit_autoconfig(const struct mg_export *export, struct policy_records *records)
{
	struct ac_emitter e = { export, records, EVP_MD_CTX_new(),
				g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
				g_hash_table_new(g_direct_hash, g_direct_equal), 0, g_string_sized_new(1024),
				g_string_sized_new(1024) };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, domains = 0;

	records->data = g_byte_array_sized_new(1 << 16);
	records->count = 0;
	EVP_DigestInit_ex(e.md, EVP_sha256(), NULL);
	put(&e, ACDB_KEY_FORMAT, ACDB_FORMAT, strlen(ACDB_FORMAT));
	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		/* validate refused autoconfig on relayed domains and without settings */
		if (domain->autoconfig && domain->name && !model_domain_relayed(domain)) {
			put_domain(&e, domain);
			domains++;
		}
	}
	EVP_DigestFinal_ex(e.md, md, &mdlen);
	EVP_MD_CTX_free(e.md);
	g_hash_table_destroy(e.settings_ids);
	g_hash_table_destroy(e.visited);
	g_string_free(e.lines, TRUE);
	g_string_free(e.value, TRUE);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(records->digest + 2 * i, 3, "%02x", md[i]);
	return domains;
}
