/*
 * validate - cross-reference checks; see validate.h.
 */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "magictypes.h"
#include "validate.h"

enum { MARK_NEW, MARK_ACTIVE, MARK_DONE };

/* "duplicate mailbox "x" (first at mailboxes[2])", at where/name. */
static void
duplicate(struct mg_report *report, enum report_code code, const char *where, const char *what, const char *name,
	  const char *first)
{
	char *there = report_dotted(first);

	report_add(report, code, report_at(report, "%s/name", where), "duplicate %s \"%s\" (first at %s)", what, name,
		   there);
	g_free(there);
}

static void
index_mailboxes(struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->mailboxes->len; i++) {
		struct mg_mailbox *mailbox = model_mailbox(export, i);
		struct mg_mailbox *first = g_hash_table_lookup(export->mailbox_index, mailbox->name);

		if (first)
			duplicate(report, RC_DUPLICATE_MAILBOX, mailbox->where, "mailbox", mailbox->name, first->where);
		else
			g_hash_table_insert(export->mailbox_index, (gpointer)mailbox->name, mailbox);
	}
}

static void
index_aliases(struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->aliases->len; i++) {
		struct mg_alias *alias = model_alias(export, i);
		struct mg_alias *first = g_hash_table_lookup(export->alias_index, alias->name);

		if (first) {
			duplicate(report, RC_DUPLICATE_ALIAS, alias->where, "alias", alias->name, first->where);
			continue;
		}
		g_hash_table_insert(export->alias_index, (gpointer)alias->name, alias);
		if (g_hash_table_contains(export->mailbox_index, alias->name)) {
			alias->shadows_mailbox = true;
			report_add(report, RC_ALIAS_SHADOWS_MAILBOX, report_at(report, "%s/name", alias->where),
				   "alias \"%s\" takes precedence over the mailbox of the same name", alias->name);
		}
	}
	export->add_postmaster = !g_hash_table_contains(export->alias_index, "postmaster")
				 && !g_hash_table_contains(export->mailbox_index, "postmaster");
}

static bool
server_name(const struct mg_export *export, const char *name)
{
	if (export->hostname && strcmp(export->hostname, name) == 0)
		return true;
	for (uint32_t i = 0; i < export->nnames; i++)
		if (strcmp(export->names[i], name) == 0)
			return true;
	return false;
}

/*
 * A routed or backup-MX domain is relayed to another server: it cannot also
 * be one of this server's own names (class w, delivered here), and one that
 * lists no valid recipients lets a dictionary attack through to be bounced
 * later (backscatter): said, not refused, since some hives want it.
 */
static void
check_relayed_domain(const struct mg_export *export, struct mg_report *report, const struct mg_domain *domain)
{
	if (!model_domain_relayed(domain))
		return;
	if (server_name(export, domain->name))
		report_add(report, RC_RELAYED_SERVER_NAME, report_at(report, "%s/%s", domain->where,
			   domain->has_route ? "route" : "backup_mx"),
			   "\"%s\" is a name of this server, where its mail is delivered", domain->name);
	for (uint32_t a = 0; a < domain->naliases; a++)
		if (server_name(export, domain->aliases[a]))
			report_add(report, RC_RELAYED_SERVER_NAME, report_at(report, "%s/aliases/%u", domain->where, a),
				   "\"%s\" is a name of this server, where its mail is delivered", domain->aliases[a]);
	if (domain->has_route && domain->naddresses == 0 && !domain->catch_all_relay)
		report_add(report, RC_ROUTED_UNLISTED, domain->where, "routed domain %s lists no addresses: every "
			   "recipient is relayed, and mail to unknown users bounces later (backscatter); list them, "
			   "or say \"catch_all\": {\"relay\": true}", domain->name);
	if (domain->has_route && domain->route.hold && domain->route.netrn == 0)
		report_add(report, RC_HELD_WITHOUT_ETRN, report_at(report, "%s/route", domain->where),
			   "mail for %s is held, and no etrn_clients may ask for it", domain->name);
}

static void
index_domain_names(struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);
		struct mg_domain *first;

		if (!domain->name)
			continue;
		if ((first = g_hash_table_lookup(export->domain_index, domain->name)))
			duplicate(report, RC_DUPLICATE_DOMAIN, domain->where, "domain", domain->name, first->where);
		else
			g_hash_table_insert(export->domain_index, (gpointer)domain->name, domain);
		check_relayed_domain(export, report, domain);
	}
}

static void
index_alias_domains(struct mg_export *export, struct mg_report *report, GHashTable *alias_of)
{
	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);

		for (uint32_t a = 0; domain->name && a < domain->naliases; a++) {
			const char *name = domain->aliases[a];
			struct mg_domain *real = g_hash_table_lookup(export->domain_index, name);
			struct mg_domain *other = g_hash_table_lookup(alias_of, name);

			const char *at = report_at(report, "%s/aliases/%u", domain->where, a);
			char *there = report_dotted(real ? real->where : other ? other->where : "");

			if (real && real == domain)
				report_add(report, RC_ALIAS_DOMAIN_IS_DOMAIN, at, "\"%s\" is an alias of itself", name);
			else if (real)
				report_add(report, RC_ALIAS_DOMAIN_IS_DOMAIN, at, "alias domain \"%s\" is also a domain (%s)",
					   name, there);
			else if (other)
				report_add(report, RC_DUPLICATE_DOMAIN, at, "duplicate domain: \"%s\" is already an alias of "
					   "%s (%s)", name, other->name, there);
			g_free(there);
			if (!real && !other)
				g_hash_table_insert(alias_of, (gpointer)name, domain);
		}
	}
}

/* By local part, then by position in the export: the first of equal ones comes first. */
static gint
by_local_order(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct mg_address *addresses = data;
	const struct mg_address *x = &addresses[*(const uint32_t *)a], *y = &addresses[*(const uint32_t *)b];
	int c = strcmp(x->local, y->local);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* A local part given again: the later address and the first one, as positions in the domain. */
struct duplicate {
	uint32_t later, first;
};

static gint
by_position(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct mg_address *addresses = data;

	return (gint)addresses[((const struct duplicate *)a)->later].index
	       - (gint)addresses[((const struct duplicate *)b)->later].index;
}

/*
 * Each domain's addresses sorted by local part, each once: lookups are a
 * binary search in the domain, and a million addresses need no hash
 * table.  A local part given twice is reported at the later one, in the
 * order of the export.
 */
static void
index_domain_addresses(struct mg_export *export, struct mg_report *report, struct mg_domain *domain)
{
	uint32_t *pos = g_new(uint32_t, domain->naddresses + 1), n = 0;
	GArray *dups = g_array_new(FALSE, FALSE, sizeof(struct duplicate));

	for (uint32_t a = 0; a < domain->naddresses; a++)
		pos[a] = a;
	g_qsort_with_data(pos, (gint)domain->naddresses, sizeof(*pos), by_local_order, domain->addresses);
	for (uint32_t k = 0; k < domain->naddresses; k++) {
		const struct mg_address *address = &domain->addresses[pos[k]];

		if (n && strcmp(address->local, domain->addresses[pos[n - 1]].local) == 0) {
			struct duplicate dup = { pos[k], pos[n - 1] };

			g_array_append_val(dups, dup);
			continue;
		}
		pos[n++] = pos[k];
		if (strcmp(address->local, "postmaster") == 0)
			domain->defines_postmaster = true;
	}
	domain->by_local = pos;
	domain->nby_local = n;
	export->naddresses += n;
	g_array_sort_with_data(dups, by_position, domain->addresses);
	for (guint d = 0; d < dups->len; d++) {
		const struct duplicate *dup = &g_array_index(dups, struct duplicate, d);
		const struct mg_address *address = &domain->addresses[dup->later];
		char *there = report_dotted(report_at(report, "%s/addresses/%u", domain->where,
						      domain->addresses[dup->first].index));

		report_add(report, RC_DUPLICATE_ADDRESS, report_at(report, "%s/addresses/%u/local", domain->where,
			   address->index), "duplicate address %s (first at %s)", address->full, there);
		g_free(there);
	}
	g_array_free(dups, TRUE);
}

static void
index_addresses(struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);

		if (domain->name)
			index_domain_addresses(export, report, domain);
	}
}

/* The address of domain with this local part (n bytes, lower case), or NULL. */
static struct mg_address *
domain_address(const struct mg_domain *domain, const char *local, size_t n)
{
	uint32_t lo = 0, hi = domain->nby_local;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct mg_address *address = &domain->addresses[domain->by_local[mid]];
		int c = strncmp(local, address->local, n);

		if (c == 0 && address->local[n])
			c = -1;	/* local is a prefix of this one: it sorts before */
		if (c == 0)
			return address;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct mg_domain *
validate_domain(const struct mg_export *export, const char *name)
{
	return g_hash_table_lookup(export->domain_index, name);
}

/* root exists on every system and is where postmaster mail traditionally goes. */
#define SYSTEM_MAILBOX "root"

static enum mg_target_kind
classify_local_name(const struct mg_export *export, const char *text)
{
	if (g_hash_table_contains(export->alias_index, text))
		return MG_TARGET_ALIAS;
	if (g_hash_table_contains(export->mailbox_index, text) || strcmp(text, SYSTEM_MAILBOX) == 0)
		return MG_TARGET_MAILBOX;
	return MG_TARGET_UNKNOWN;
}

/* Resolves a hosted address to what handles it: the address, or the catch-all. */
static struct mg_deliver *
follow_hosted(const struct mg_export *export, const char *text)
{
	char lower[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	const char *at;
	struct mg_domain *domain;
	struct mg_address *address;

	g_strlcpy(lower, text, sizeof(lower));
	addr_lower(lower);
	at = addr_at(lower);
	domain = at ? validate_domain(export, at + 1) : NULL;
	if (!domain || model_domain_relayed(domain))
		return NULL;
	if ((address = domain_address(domain, lower, (size_t)(at - lower))))
		return &address->deliver;
	return domain->has_catch_all ? &domain->catch_all : NULL;
}

struct mg_deliver *
validate_follow(const struct mg_export *export, const struct mg_target *target)
{
	if (target->kind == MG_TARGET_ALIAS)
		return &((struct mg_alias *)g_hash_table_lookup(export->alias_index, target->text))->deliver;
	if (target->kind == MG_TARGET_HOSTED)
		return follow_hosted(export, target->text);
	return NULL;
}

/* Why a target is refused: its code and words; code RC_COUNT: it is fine. */
struct verdict {
	enum report_code code;
	const char *why;
};

static const struct verdict target_ok = { RC_COUNT, NULL };

static struct verdict
refuse(enum report_code code, const char *why)
{
	return (struct verdict){ code, why };
}

/* Pipes, files and includes; false when the target is none of them. */
static bool
classify_special(struct mg_target *target, struct verdict *v)
{
	const char *text = target->text;

	*v = target_ok;
	if (text[0] == '|') {
		target->kind = MG_TARGET_PIPE;
		if (!text[1])
			*v = refuse(RC_INVALID_TARGET, "is a pipe without a command");
	} else if (text[0] == '/') {
		target->kind = MG_TARGET_FILE;
	} else if (g_ascii_strncasecmp(text, ":include:", 9) == 0) {
		target->kind = MG_TARGET_INCLUDE;
		if (text[9] != '/')
			*v = refuse(RC_INVALID_TARGET, "needs an absolute path after :include:");
	} else
		return false;
	return true;
}

/* A relayed domain that lists its valid recipients: is the local part of lower among them? */
static bool
listed_in(const struct mg_export *export, const struct mg_domain *domain, const char *lower)
{
	const char *at = addr_at(lower);

	if (!model_domain_listed(domain) || strncmp(lower, "postmaster@", 11) == 0)
		return true;
	return domain_address(domain, lower, (size_t)(at - lower)) != NULL;
}

static struct verdict
classify_address(const struct mg_export *export, struct mg_target *target)
{
	char lower[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	struct mg_domain *domain;

	if (strlen(target->text) >= sizeof(lower) || !addr_address_valid(target->text))
		return refuse(RC_INVALID_TARGET, "is not a valid mail address");
	strcpy(lower, target->text);
	addr_lower(lower);
	domain = validate_domain(export, addr_at(lower) + 1);
	if (!domain || model_domain_relayed(domain)) {
		target->kind = MG_TARGET_EXTERNAL;
		if (domain && !listed_in(export, domain, lower))
			return refuse(RC_TARGET_NOT_LISTED, "is not among the addresses its routed or backup-MX domain "
				      "lists, so the server behind it refuses it: list it there, or deliver elsewhere");
		return target_ok;
	}
	target->kind = MG_TARGET_HOSTED;
	if (!follow_hosted(export, lower))
		return refuse(RC_NO_SUCH_ADDRESS, "is an address of this server that does not exist (no such address "
			      "and no catch-all)");
	return target_ok;
}

static struct verdict
classify_target(const struct mg_export *export, struct mg_target *target, bool in_aliases)
{
	struct verdict v;

	if (classify_special(target, &v))
		return v.why || in_aliases ? v : refuse(RC_SPECIAL_TARGET, "is a pipe, file or :include:, which only "
							"aliases may deliver to");
	if (strchr(target->text, '@'))
		return classify_address(export, target);
	target->kind = classify_local_name(export, target->text);
	return target->kind == MG_TARGET_UNKNOWN ? refuse(RC_UNKNOWN_TARGET, "is no mailbox, alias or address")
						 : target_ok;
}

/*
 * The object holding a "deliver": its owner's JSON Pointer and, for an
 * address, its index ("/addresses/N") or, for a catch-all, "/catch_all".
 * The path is written only for a report: a million addresses are classified.
 */
struct holder {
	const char *where;
	const char *part;	/* "addresses", "catch_all" or NULL (an alias) */
	uint32_t index;
};

static void
classify_deliver(const struct mg_export *export, struct mg_report *report, struct mg_deliver *deliver,
		 bool in_aliases, const struct holder *h)
{
	for (uint32_t t = 0; t < deliver->ntargets; t++) {
		struct verdict v = classify_target(export, &deliver->targets[t], in_aliases);
		char *path;

		if (!v.why)
			continue;
		if (!h->part)
			path = g_strdup(h->where);
		else if (strcmp(h->part, "addresses") == 0)
			path = g_strdup_printf("%s/addresses/%u", h->where, h->index);
		else
			path = g_strdup_printf("%s/%s", h->where, h->part);
		report_add(report, v.code, report_at(report, "%s/deliver/%u", path, t), "deliver target \"%s\" %s",
			   deliver->targets[t].text, v.why);
		g_free(path);
	}
}

/* The domains from..to-1: a half of them, on a thread of its own (classify_all). */
struct classify_job {
	struct mg_export *export;
	guint from, to;
	struct mg_report report;
};

static gpointer
classify_domains(gpointer data)
{
	struct classify_job *job = data;

	for (guint i = job->from; i < job->to; i++) {
		struct mg_domain *domain = model_domain(job->export, i);
		struct holder h = { domain->where, "addresses", 0 };

		for (uint32_t a = 0; domain->name && a < domain->naddresses; a++) {
			h.index = domain->addresses[a].index;
			classify_deliver(job->export, &job->report, &domain->addresses[a].deliver, false, &h);
		}
		h.part = "catch_all";
		if (domain->has_catch_all)
			classify_deliver(job->export, &job->report, &domain->catch_all, false, &h);
	}
	return NULL;
}

/* Past this many domains the second half is classified on another thread. */
#define VALIDATE_SPLIT 10000

/*
 * Classifying a target only reads the indexes and writes its own kind, so
 * on two cores the domains' second half is classified beside the first;
 * each half reports into its own report, and the findings come in the
 * export's order.
 */
static void
classify_all(struct mg_export *export, struct mg_report *report)
{
	guint n = export->domains->len, mid = n >= VALIDATE_SPLIT ? n / 2 : n;
	struct classify_job first = { export, 0, mid, { 0 } }, second = { export, mid, n, { 0 } };
	GThread *other = NULL;

	report_init(&first.report);
	report_init(&second.report);
	if (mid < n)
		other = g_thread_new("classify", classify_domains, &second);
	classify_domains(&first);
	if (other)
		g_thread_join(other);
	report_merge(report, &first.report);
	report_merge(report, &second.report);
	report_free(&first.report);
	report_free(&second.report);
	for (guint i = 0; i < export->aliases->len; i++) {
		struct mg_alias *alias = model_alias(export, i);
		struct holder h = { alias->where, NULL, 0 };

		classify_deliver(export, report, &alias->deliver, true, &h);
	}
}

/* ---- loops: iterative depth-first search over delivers ---- */

struct frame {
	struct mg_deliver *deliver;
	uint32_t next;
};

/* A search from one deliver: where it starts (a name, and the JSON Pointer of its "deliver"). */
struct search {
	const char *start;
	const struct holder *holder;	/* of the "deliver" it started from */
	GArray *stack;
};

/* The JSON Pointer of a search's "deliver", for a report (g_free it). */
static char *
search_path(const struct search *s)
{
	const struct holder *h = s->holder;

	if (!h->part)
		return g_strdup_printf("%s/deliver", h->where);
	if (strcmp(h->part, "addresses") == 0)
		return g_strdup_printf("%s/addresses/%u/deliver", h->where, h->index);
	return g_strdup_printf("%s/%s/deliver", h->where, h->part);
}

static void
tell_loop(struct mg_report *report, const struct search *s)
{
	GString *chain = g_string_new(s->start);

	for (guint i = 0; i < s->stack->len; i++) {
		struct frame *f = &g_array_index(s->stack, struct frame, i);

		g_string_append_printf(chain, " -> %s", f->deliver->targets[f->next - 1].text);
	}
	char *where = search_path(s);

	report_add(report, RC_DELIVERY_LOOP, where, "delivery loop: %s", chain->str);
	g_free(where);
	g_string_free(chain, TRUE);
}

/*
 * A deliver is done when all it leads to is: its depth is one more than
 * theirs.  Sendmail gives up on a chain of more than 50 rewrites, and
 * hostmilter.db's owner lists are collected along these chains, so a deeper
 * chain is an error here rather than a silently shortened list there.
 */
static void
finish_deliver(const struct mg_export *export, struct mg_report *report, struct mg_deliver *deliver,
	       const struct search *s)
{
	unsigned depth = 0;

	for (uint32_t t = 0; t < deliver->ntargets; t++) {
		const struct mg_deliver *next = validate_follow(export, &deliver->targets[t]);

		if (next && next->mark == MARK_DONE && next->depth > depth)
			depth = next->depth;
	}
	deliver->mark = MARK_DONE;
	deliver->depth = (uint16_t)(depth < VALIDATE_DEPTH_MAX ? depth + 1 : VALIDATE_DEPTH_MAX + 1);
	if (deliver->depth > VALIDATE_DEPTH_MAX && depth <= VALIDATE_DEPTH_MAX) {
		char *where = search_path(s);

		report_add(report, RC_CHAIN_TOO_DEEP, where, "delivery chain from %s is deeper than %d aliases and "
			   "addresses", s->start, VALIDATE_DEPTH_MAX);
		g_free(where);
	}
}

static void
search_loops(const struct mg_export *export, struct mg_report *report, struct mg_deliver *root,
	     const struct search *s)
{
	struct frame top = { root, 0 };

	if (root->mark != MARK_NEW)
		return;
	root->mark = MARK_ACTIVE;
	g_array_set_size(s->stack, 0);
	g_array_append_val(s->stack, top);
	while (s->stack->len) {
		struct frame *f = &g_array_index(s->stack, struct frame, s->stack->len - 1);
		struct mg_deliver *next;

		if (f->next == f->deliver->ntargets) {
			finish_deliver(export, report, f->deliver, s);
			g_array_set_size(s->stack, s->stack->len - 1);
			continue;
		}
		next = validate_follow(export, &f->deliver->targets[f->next++]);
		if (!next || next->mark == MARK_DONE)
			continue;
		if (next->mark == MARK_ACTIVE) {
			tell_loop(report, s);
			continue;
		}
		next->mark = MARK_ACTIVE;
		top.deliver = next;
		g_array_append_val(s->stack, top);
	}
}

/* Loops are rare: the path of a search is written only when one is reported (search_path). */
static void
search_from(const struct mg_export *export, struct mg_report *report, struct mg_deliver *root, const char *start,
	    const struct holder *h, GArray *stack)
{
	struct search s = { start, h, stack };

	if (root->mark == MARK_NEW)
		search_loops(export, report, root, &s);
}

static void
check_loops(struct mg_export *export, struct mg_report *report)
{
	GArray *stack = g_array_new(FALSE, FALSE, sizeof(struct frame));

	for (guint i = 0; i < export->aliases->len; i++) {
		struct mg_alias *alias = model_alias(export, i);
		struct holder h = { alias->where, NULL, 0 };

		search_from(export, report, &alias->deliver, alias->name, &h, stack);
	}
	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);
		struct holder h = { domain->where, "addresses", 0 };

		for (uint32_t a = 0; domain->name && a < domain->naddresses; a++) {
			h.index = domain->addresses[a].index;
			search_from(export, report, &domain->addresses[a].deliver, domain->addresses[a].full, &h, stack);
		}
		h.part = "catch_all";
		if (domain->has_catch_all)
			search_from(export, report, &domain->catch_all, domain->name, &h, stack);
	}
	g_array_free(stack, TRUE);
}

static void
check_access(struct mg_export *export, struct mg_report *report)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < export->access->len; i++) {
		struct mg_access *entry = &g_array_index(export->access, struct mg_access, i);

		/* Sendmail folds access keys, so keys differing only in case collide. */
		if (!g_hash_table_add(seen, g_ascii_strdown(entry->key, -1)))
			report_add(report, RC_DUPLICATE_ACCESS_KEY, report_at(report, "%s/key", entry->where),
				   "duplicate access key \"%s\"", entry->key);
	}
	g_hash_table_destroy(seen);
}

/*
 * Mail client autoconfiguration: an opted-in domain needs an incoming and
 * an outgoing server to tell clients about, and its mailboxes here (a
 * relayed domain's are on its own server, which answers for them).
 */
static void
check_autoconfig(const struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);
		struct mg_client_settings settings;

		if (!domain->autoconfig || !domain->name)
			continue;
		model_client_settings(export, domain, &settings);
		if (model_domain_relayed(domain))
			report_add(report, RC_AUTOCONFIG_RELAYED, report_at(report, "%s/autoconfig", domain->where),
				   "%s is relayed to another server, whose mailboxes mail clients log in to; autoconfig "
				   "is for domains delivered here", domain->name);
		else if (!model_client_settings_complete(&settings))
			report_add(report, RC_AUTOCONFIG_NO_SERVERS, report_at(report, "%s/autoconfig", domain->where),
				   "needs client_settings with \"imap\" or \"pop3\" and \"smtp\" (in the domain or "
				   "in defaults)");
	}
}

/* ---- relay networks: the same one twice, and overlaps ---- */

static gint
network_order(gconstpointer a, gconstpointer b)
{
	const struct mg_network *x = *(const struct mg_network *const *)a, *y = *(const struct mg_network *const *)b;
	int c = x->net.family - y->net.family;

	if (!c)
		c = memcmp(x->net.addr, y->net.addr, sizeof(x->net.addr));
	if (!c)
		c = (int)x->net.prefix - (int)y->net.prefix;
	return c;
}

static bool
same_rate(const struct policy_rate *a, const struct policy_rate *b)
{
	return a->per_hour == b->per_hour && a->burst == b->burst && a->bulk_per_hour == b->bulk_per_hour
	       && a->bulk_burst == b->bulk_burst;
}

/*
 * The rule (hostmapgen-export(5)): a client address in several networks
 * gets the most specific network's rate limit, as hostmilter looks it up
 * (policydb_relay_network).  The same network twice is an error; a network
 * inside another one with a different limit is said, since the wider
 * limit does not hold for it.  Sorted by address and prefix, every network
 * follows the ones that contain it, so a stack of the enclosing ones
 * finds each overlap in one pass.
 */
/* The innermost network of the stack that holds n; the others, which do not, are popped. */
static const struct mg_network *
enclosing(GPtrArray *outer, const struct mg_network *n)
{
	while (outer->len) {
		const struct mg_network *o = outer->pdata[outer->len - 1];

		if (o->net.family == n->net.family && cidr_contains(&o->net, n->net.family, n->net.addr))
			return o;
		g_ptr_array_set_size(outer, outer->len - 1);
	}
	return NULL;
}

static void
check_networks(struct mg_export *export, struct mg_report *report)
{
	GPtrArray *sorted = g_ptr_array_sized_new(export->networks->len), *outer = g_ptr_array_new();

	for (guint i = 0; i < export->networks->len; i++)
		g_ptr_array_add(sorted, &g_array_index(export->networks, struct mg_network, i));
	g_ptr_array_sort(sorted, network_order);
	for (guint i = 0; i < sorted->len; i++) {
		const struct mg_network *n = sorted->pdata[i], *o = enclosing(outer, n);
		char *there;

		if (o) {
			there = report_dotted(o->where);
			if (o->net.prefix == n->net.prefix)
				report_add(report, RC_DUPLICATE_NETWORK, report_at(report, "%s/network", n->where),
					   "duplicate network %s (first at %s)", n->text, there);
			else if (!same_rate(&o->rate, &n->rate))
				report_add(report, RC_NETWORK_OVERLAP, report_at(report, "%s/network", n->where),
					   "%s lies inside %s (%s) with another rate limit: its clients get this, the more "
					   "specific one's", n->text, o->text, there);
			g_free(there);
		}
		g_ptr_array_add(outer, (gpointer)n);
	}
	g_ptr_array_free(outer, TRUE);
	g_ptr_array_free(sorted, TRUE);
}

/* ---- rules that parse but cannot be meant ---- */

/* over on top of the export's defaults, checked once per distinct rule set (they are interned). */
static void
check_rules(const struct mg_export *export, struct mg_report *report, const struct policy_rules *over,
	    const char *where, GHashTable *seen)
{
	struct policy_rules r = export->defaults;
	const struct policy_spam *spam = &r.spam;

	if (!over || (over != export->defaults_own && !g_hash_table_add(seen, (gpointer)over)))
		return;
	policy_rules_overlay(&r, over);
	if (spam->scan && spam->has_reject && spam->reject_score < spam->tag_score)
		report_add(report, RC_REJECT_BELOW_TAG, report_at(report, "%s/spam", where), "reject score %g is below the "
			   "tag score %g: spam is refused before any is tagged (the defaults fill in what is not set here)",
			   spam->reject_score, spam->tag_score);
	if (spam->scan && spam->has_reject && spam->has_discard && spam->discard_score < spam->reject_score)
		report_add(report, RC_DISCARD_BELOW_REJECT, report_at(report, "%s/spam", where), "discard score %g is "
			   "below the reject score %g: spam is dropped silently before any is refused", spam->discard_score,
			   spam->reject_score);
	for (unsigned t = 0; (over->set & POLICY_SET_TYPES) && t < over->ntypes; t++)
		if (!magictypes_known(over->blocked_types[t]))
			report_add(report, RC_BLOCKED_TYPE_UNKNOWN, report_at(report, "%s/blocked_types/%u", where, t),
				   "libmagic never names a part \"%s\", so this blocks nothing; write a type that "
				   "\"file --mime-type\" prints", over->blocked_types[t]);
}

static void
check_all_rules(const struct mg_export *export, struct mg_report *report)
{
	GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);

	g_hash_table_add(seen, (gpointer)export->empty_rules);
	check_rules(export, report, export->defaults_own, "/defaults", seen);
	for (guint i = 0; i < export->domains->len; i++)
		check_rules(export, report, model_domain(export, i)->rules, model_domain(export, i)->where, seen);
	for (guint i = 0; i < export->mailboxes->len; i++)
		check_rules(export, report, model_mailbox(export, i)->rules, model_mailbox(export, i)->where, seen);
	g_hash_table_destroy(seen);
}

/* A mailbox that may send as a whole domain this server does not host: anyone's, as far as it knows. */
static void
check_send_as(const struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->mailboxes->len; i++) {
		const struct mg_mailbox *m = model_mailbox(export, i);

		for (uint32_t s = 0; s < m->nsend_as; s++) {
			const char *domain = m->send_as[s] + 1;

			if (m->send_as[s][0] != '@' || validate_domain(export, domain) || server_name(export, domain))
				continue;
			report_add(report, RC_SEND_AS_FOREIGN_DOMAIN, report_at(report, "%s/send_as/%u", m->where,
				   m->send_as_pos ? m->send_as_pos[s] : s), "mailbox %s may send as anyone at %s, a domain "
				   "this server does not host; name the addresses instead", m->name, domain);
		}
	}
}

unsigned
validate_export(struct mg_export *export, struct mg_report *report)
{
	unsigned before = report->errors->len;
	GHashTable *alias_of = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter iter;
	gpointer name, domain;

	export->mailbox_index = g_hash_table_new(g_str_hash, g_str_equal);
	export->alias_index = g_hash_table_new(g_str_hash, g_str_equal);
	export->domain_index = g_hash_table_new(g_str_hash, g_str_equal);
	index_mailboxes(export, report);
	index_aliases(export, report);
	index_domain_names(export, report);
	index_alias_domains(export, report, alias_of);
	g_hash_table_iter_init(&iter, alias_of);
	while (g_hash_table_iter_next(&iter, &name, &domain))
		g_hash_table_insert(export->domain_index, name, domain);
	g_hash_table_destroy(alias_of);
	index_addresses(export, report);
	classify_all(export, report);
	check_loops(export, report);	/* unknown targets are leaves to it: every loop is found, whatever else is wrong */
	check_access(export, report);
	check_autoconfig(export, report);
	check_networks(export, report);
	check_all_rules(export, report);
	check_send_as(export, report);
	return report->errors->len - before;
}
