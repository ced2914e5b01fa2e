/*
 * validate - cross-reference checks; see validate.h.
 */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "msg.h"
#include "validate.h"

enum { MARK_NEW, MARK_ACTIVE, MARK_DONE };

static void
index_mailboxes(struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->mailboxes->len; i++) {
		struct mg_mailbox *mailbox = model_mailbox(export, i);
		struct mg_mailbox *first = g_hash_table_lookup(export->mailbox_index, mailbox->name);

		if (first)
			report_error(report, "%s.name: duplicate mailbox \"%s\" (first at %s)",
				     mailbox->where, mailbox->name, first->where);
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
			report_error(report, "%s.name: duplicate alias \"%s\" (first at %s)",
				     alias->where, alias->name, first->where);
			continue;
		}
		g_hash_table_insert(export->alias_index, (gpointer)alias->name, alias);
		if (g_hash_table_contains(export->mailbox_index, alias->name)) {
			alias->shadows_mailbox = true;
			msg_warn("%s: alias \"%s\" takes precedence over the mailbox of the same name",
				 alias->where, alias->name);
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
		report_error(report, "%s.%s: \"%s\" is a name of this server, where its mail is delivered", domain->where,
			     domain->has_route ? "route" : "backup_mx", domain->name);
	for (uint32_t a = 0; a < domain->naliases; a++)
		if (server_name(export, domain->aliases[a]))
			report_error(report, "%s.aliases[%u]: \"%s\" is a name of this server, where its mail is delivered",
				     domain->where, a, domain->aliases[a]);
	if (domain->has_route && domain->naddresses == 0 && !domain->catch_all_relay)
		msg_warn("%s: routed domain %s lists no addresses: every recipient is relayed, and mail to unknown "
			 "users bounces later (backscatter); list them, or say \"catch_all\": {\"relay\": true}",
			 domain->where, domain->name);
	if (domain->has_route && domain->route.hold && domain->route.netrn == 0)
		msg_warn("%s.route: mail for %s is held, and no etrn_clients may ask for it", domain->where,
			 domain->name);
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
			report_error(report, "%s.name: duplicate domain \"%s\" (first at %s)",
				     domain->where, domain->name, first->where);
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

			if (real && real == domain)
				report_error(report, "%s.aliases[%u]: \"%s\" is an alias of itself", domain->where, a, name);
			else if (real)
				report_error(report, "%s.aliases[%u]: alias domain \"%s\" is also a domain (%s)",
					     domain->where, a, name, real->where);
			else if (other)
				report_error(report, "%s.aliases[%u]: duplicate domain: \"%s\" is already an alias of %s (%s)",
					     domain->where, a, name, other->name, other->where);
			else
				g_hash_table_insert(alias_of, (gpointer)name, domain);
		}
	}
}

static void
index_addresses(struct mg_export *export, struct mg_report *report)
{
	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);

		for (uint32_t a = 0; domain->name && a < domain->naddresses; a++) {
			struct mg_address *address = &domain->addresses[a];
			struct mg_address *first = g_hash_table_lookup(export->address_index, address->full);

			if (first) {
				report_error(report, "%s.addresses[%u].local: duplicate address %s (first at %s.addresses[%u])",
					     domain->where, address->index, address->full, domain->where, first->index);
				continue;
			}
			g_hash_table_insert(export->address_index, (gpointer)address->full, address);
			g_hash_table_insert(export->address_domain, address, domain);
			if (strcmp(address->local, "postmaster") == 0)
				domain->defines_postmaster = true;
			export->naddresses++;
		}
	}
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
	char lower[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2], key[sizeof(lower)];
	const char *at;
	struct mg_domain *domain;
	struct mg_address *address;

	g_strlcpy(lower, text, sizeof(lower));
	addr_lower(lower);
	at = addr_at(lower);
	domain = at ? validate_domain(export, at + 1) : NULL;
	if (!domain || model_domain_relayed(domain))
		return NULL;
	snprintf(key, sizeof(key), "%.*s@%s", (int)(at - lower), lower, domain->name);
	if ((address = g_hash_table_lookup(export->address_index, key)))
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

static const char *
classify_special(struct mg_target *target)
{
	const char *text = target->text;

	if (text[0] == '|') {
		target->kind = MG_TARGET_PIPE;
		return text[1] ? NULL : "a pipe needs a command";
	}
	if (text[0] == '/') {
		target->kind = MG_TARGET_FILE;
		return NULL;
	}
	if (g_ascii_strncasecmp(text, ":include:", 9) == 0) {
		target->kind = MG_TARGET_INCLUDE;
		return text[9] == '/' ? NULL : ":include: needs an absolute path";
	}
	return "";
}

static const char *
classify_address(const struct mg_export *export, struct mg_target *target)
{
	char lower[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	struct mg_domain *domain;

	if (strlen(target->text) >= sizeof(lower) || !addr_address_valid(target->text))
		return "is not a valid mail address";
	strcpy(lower, target->text);
	addr_lower(lower);
	domain = validate_domain(export, addr_at(lower) + 1);
	if (!domain || model_domain_relayed(domain)) {
		target->kind = MG_TARGET_EXTERNAL;
		return NULL;
	}
	target->kind = MG_TARGET_HOSTED;
	if (!follow_hosted(export, lower))
		return "is an address of this server that does not exist (no such address and no catch-all)";
	return NULL;
}

/* Classifies one target; returns why it is invalid, or NULL. */
static const char *
classify_target(const struct mg_export *export, struct mg_target *target, bool in_aliases)
{
	const char *why = classify_special(target);

	if (!why)
		return in_aliases ? NULL : "pipes, files and :include: are allowed only in aliases";
	if (*why)
		return why;
	if (strchr(target->text, '@'))
		return classify_address(export, target);
	target->kind = classify_local_name(export, target->text);
	return target->kind == MG_TARGET_UNKNOWN ? "is no mailbox, alias or address" : NULL;
}

static void
classify_deliver(const struct mg_export *export, struct mg_report *report, struct mg_deliver *deliver,
		 bool in_aliases, const char *where, const char *suffix)
{
	for (uint32_t t = 0; t < deliver->ntargets; t++) {
		const char *why = classify_target(export, &deliver->targets[t], in_aliases);

		if (why)
			report_error(report, "%s%s.deliver[%u]: deliver target \"%s\" %s",
				     where, suffix, t, deliver->targets[t].text, why);
	}
}

static void
classify_all(struct mg_export *export, struct mg_report *report)
{
	char suffix[40];

	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);

		for (uint32_t a = 0; domain->name && a < domain->naddresses; a++) {
			snprintf(suffix, sizeof(suffix), ".addresses[%u]", domain->addresses[a].index);
			classify_deliver(export, report, &domain->addresses[a].deliver, false, domain->where, suffix);
		}
		if (domain->has_catch_all)
			classify_deliver(export, report, &domain->catch_all, false, domain->where, ".catch_all");
	}
	for (guint i = 0; i < export->aliases->len; i++) {
		struct mg_alias *alias = model_alias(export, i);

		classify_deliver(export, report, &alias->deliver, true, alias->where, "");
	}
}

/* ---- loops: iterative depth-first search over delivers ---- */

struct frame {
	struct mg_deliver *deliver;
	uint32_t next;
};

static void
report_loop(struct mg_report *report, GArray *stack, const char *start, const char *where)
{
	GString *chain = g_string_new(start);

	for (guint i = 0; i < stack->len; i++) {
		struct frame *f = &g_array_index(stack, struct frame, i);

		g_string_append_printf(chain, " -> %s", f->deliver->targets[f->next - 1].text);
	}
	report_error(report, "%s: delivery loop: %s", where, chain->str);
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
	       const char *start, const char *where)
{
	unsigned depth = 0;

	for (uint32_t t = 0; t < deliver->ntargets; t++) {
		const struct mg_deliver *next = validate_follow(export, &deliver->targets[t]);

		if (next && next->mark == MARK_DONE && next->depth > depth)
			depth = next->depth;
	}
	deliver->mark = MARK_DONE;
	deliver->depth = (uint16_t)(depth < VALIDATE_DEPTH_MAX ? depth + 1 : VALIDATE_DEPTH_MAX + 1);
	if (deliver->depth > VALIDATE_DEPTH_MAX && depth <= VALIDATE_DEPTH_MAX)
		report_error(report, "%s: delivery chain from %s is deeper than %d aliases and addresses", where, start,
			     VALIDATE_DEPTH_MAX);
}

static void
search_loops(const struct mg_export *export, struct mg_report *report, struct mg_deliver *root,
	     const char *start, const char *where, GArray *stack)
{
	struct frame top = { root, 0 };

	if (root->mark != MARK_NEW)
		return;
	root->mark = MARK_ACTIVE;
	g_array_set_size(stack, 0);
	g_array_append_val(stack, top);
	while (stack->len) {
		struct frame *f = &g_array_index(stack, struct frame, stack->len - 1);
		struct mg_deliver *next;

		if (f->next == f->deliver->ntargets) {
			finish_deliver(export, report, f->deliver, start, where);
			g_array_set_size(stack, stack->len - 1);
			continue;
		}
		next = validate_follow(export, &f->deliver->targets[f->next++]);
		if (!next || next->mark == MARK_DONE)
			continue;
		if (next->mark == MARK_ACTIVE) {
			report_loop(report, stack, start, where);
			continue;
		}
		next->mark = MARK_ACTIVE;
		top.deliver = next;
		g_array_append_val(stack, top);
	}
}

static void
check_loops(struct mg_export *export, struct mg_report *report)
{
	GArray *stack = g_array_new(FALSE, FALSE, sizeof(struct frame));

	for (guint i = 0; i < export->aliases->len; i++) {
		struct mg_alias *alias = model_alias(export, i);

		search_loops(export, report, &alias->deliver, alias->name, alias->where, stack);
	}
	for (guint i = 0; i < export->domains->len; i++) {
		struct mg_domain *domain = model_domain(export, i);

		for (uint32_t a = 0; domain->name && a < domain->naddresses; a++)
			search_loops(export, report, &domain->addresses[a].deliver,
				     domain->addresses[a].full, domain->where, stack);
		if (domain->has_catch_all)
			search_loops(export, report, &domain->catch_all, domain->name, domain->where, stack);
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
			report_error(report, "access[%u].key: duplicate access key \"%s\"", i, entry->key);
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
			report_error(report, "%s.autoconfig: %s is relayed to another server, whose mailboxes mail "
				     "clients log in to; autoconfig is for domains delivered here", domain->where,
				     domain->name);
		else if (!model_client_settings_complete(&settings))
			report_error(report, "%s.autoconfig: needs client_settings with \"imap\" or \"pop3\" and "
				     "\"smtp\" (in the domain or in defaults)", domain->where);
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
	export->address_index = g_hash_table_new(g_str_hash, g_str_equal);
	export->address_domain = g_hash_table_new(g_direct_hash, g_direct_equal);
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
	if (report->errors->len == before)
		check_loops(export, report);
	check_access(export, report);
	check_autoconfig(export, report);
	return report->errors->len - before;
}
