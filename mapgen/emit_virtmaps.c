/*
 * emit_virtmaps - virtmaps (virtusertable) lines; naming rules in emit.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "emit.h"

/* The reply text goes in quotes with its code: unquoted, Sendmail's address
 * parser drops the blank after a comma ("moved,write"). */
#define UNKNOWN_USER "error:5.1.1:\"550 User unknown\""

const char *
emit_virtuser_value(const struct mg_deliver *deliver, const char *local, const char *domain,
		    char *buf, size_t len)
{
	if (deliver->reject) {
		emit_fmt(buf, len, "error:5.1.1:\"550 %s\"", deliver->reject);
		return buf;
	}
	if (deliver->ntargets == 1)
		return deliver->targets[0].text;
	emit_alias_name(local, domain, buf, len);
	return buf;
}

static void
emit_domain(struct textmap *map, const struct mg_domain *domain)
{
	char key[600], value[EMIT_VALUE_MAX];

	for (uint32_t a = 0; a < domain->naddresses; a++) {
		const struct mg_address *address = &domain->addresses[a];

		textmap_add(map, address->full,
			    emit_virtuser_value(&address->deliver, address->local, domain->name, value, sizeof(value)));
	}
	if (!domain->defines_postmaster) {
		emit_fmt(key, sizeof(key), "postmaster@%s", domain->name);
		textmap_add(map, key, "postmaster");
	}
	emit_fmt(key, sizeof(key), "@%s", domain->name);
	if (domain->has_catch_all)
		textmap_add(map, key, emit_virtuser_value(&domain->catch_all, NULL, domain->name, value, sizeof(value)));
	else
		textmap_add(map, key, UNKNOWN_USER);
	emit_fmt(value, sizeof(value), "%%1%%3@%s", domain->name);
	for (uint32_t i = 0; i < domain->naliases; i++) {
		emit_fmt(key, sizeof(key), "@%s", domain->aliases[i]);
		textmap_add(map, key, value);
	}
}

void
emit_virtmaps(const struct mg_export *export, struct textmap *map)
{
	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		if (domain->name && !model_domain_relayed(domain))
			emit_domain(map, domain);
	}
}
