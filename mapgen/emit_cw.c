/*
 * emit_cw - sendmail.cw (local-host-names): the names this server takes
 * mail for as its own.  Backup-MX domains are relayed, never listed here.
 */
#include "config.h"

#include "emit.h"

void
emit_cw(const struct mg_export *export, struct textmap *map)
{
	if (export->hostname)
		textmap_add(map, export->hostname, NULL);
	for (uint32_t i = 0; i < export->nnames; i++)
		textmap_add(map, export->names[i], NULL);
	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		if (!domain->name || model_domain_relayed(domain))
			continue;
		textmap_add(map, domain->name, NULL);
		for (uint32_t a = 0; a < domain->naliases; a++)
			textmap_add(map, domain->aliases[a], NULL);
	}
}
