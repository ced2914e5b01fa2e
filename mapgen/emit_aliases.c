/*
 * emit_aliases - aliases lines: the export's aliases, one generated alias
 * per multi-target address or catch-all, and postmaster when missing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "emit.h"

/* hostmilter recognises these names by the mark (policy.h) and refuses them as recipients. */
void
emit_alias_name(const char *local, const char *domain, char *buf, size_t len)
{
	emit_fmt(buf, len, "%s%c%s", local ? local : "*", POLICY_GENERATED_ALIAS_MARK, domain);
}

static void
append_target(GString *rhs, const struct mg_target *target)
{
	if (rhs->len)
		g_string_append(rhs, ", ");
	/* A pipe carries blanks; Sendmail wants it quoted. */
	if (target->kind == MG_TARGET_PIPE)
		g_string_append_printf(rhs, "\"%s\"", target->text);
	else
		g_string_append(rhs, target->text);
}

static void
emit_deliver(struct textmap *map, const char *name, const struct mg_deliver *deliver, GString *rhs)
{
	g_string_truncate(rhs, 0);
	for (uint32_t t = 0; t < deliver->ntargets; t++)
		append_target(rhs, &deliver->targets[t]);
	textmap_add(map, name, rhs->str);
}

static void
emit_generated(const struct mg_export *export, struct textmap *map, GString *rhs)
{
	char name[600];

	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		if (!domain->name || model_domain_relayed(domain))
			continue;
		for (uint32_t a = 0; a < domain->naddresses; a++) {
			const struct mg_address *address = &domain->addresses[a];

			if (address->deliver.ntargets < 2)
				continue;
			emit_alias_name(address->local, domain->name, name, sizeof(name));
			emit_deliver(map, name, &address->deliver, rhs);
		}
		if (domain->has_catch_all && domain->catch_all.ntargets > 1) {
			emit_alias_name(NULL, domain->name, name, sizeof(name));
			emit_deliver(map, name, &domain->catch_all, rhs);
		}
	}
}

void
emit_aliases(const struct mg_export *export, struct textmap *map)
{
	GString *rhs = g_string_new(NULL);

	if (export->add_postmaster) {
		textmap_note(map, "the export names no postmaster; RFC 5321 requires one");
		textmap_add(map, "postmaster", "root");
	}
	for (guint i = 0; i < export->aliases->len; i++) {
		const struct mg_alias *alias = model_alias(export, i);

		emit_deliver(map, alias->name, &alias->deliver, rhs);
	}
	emit_generated(export, map, rhs);
	g_string_free(rhs, TRUE);
}
