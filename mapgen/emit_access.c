/*
 * emit_access - access lines: relay networks as the octet- and group-cut
 * keys Sendmail matches, relay certificates, backup-MX domains, and the
 * export's own entries.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "emit.h"
#include "msg.h"
#include "xtext.h"

static void
emit_connect_key(const char *key, void *context)
{
	char line[CIDR_KEY_MAX + 16];

	snprintf(line, sizeof(line), "Connect:%s", key);
	/* Overlapping networks generate a key twice with the same value: harmless. */
	textmap_add(context, line, "RELAY");
}

static void
emit_networks(const struct mg_export *export, struct textmap *map)
{
	for (guint i = 0; i < export->networks->len; i++) {
		const struct mg_network *network = &g_array_index(export->networks, struct mg_network, i);

		cidr_access_keys(&network->net, emit_connect_key, map);
	}
}

static void
emit_cert_key(struct textmap *map, const char *tag, const char *dn, const char *value)
{
	char encoded[1400], key[1500];

	if (xtext_encode(dn, encoded, sizeof(encoded)) < 0) {
		msg_warn("access: distinguished name too long for Sendmail: %.60s...", dn);
		return;
	}
	snprintf(key, sizeof(key), "%s:%s", tag, encoded);
	textmap_add(map, key, value);
}

static void
emit_certificates(const struct mg_export *export, struct textmap *map)
{
	/* An issuer listed without subject trusts all its certificates: RELAY beats SUBJECT. */
	for (guint i = 0; i < export->certs->len; i++) {
		const struct mg_cert *cert = &g_array_index(export->certs, struct mg_cert, i);

		if (!cert->subject)
			emit_cert_key(map, "CERTISSUER", cert->issuer, "RELAY");
	}
	for (guint i = 0; i < export->certs->len; i++) {
		const struct mg_cert *cert = &g_array_index(export->certs, struct mg_cert, i);

		if (cert->subject) {
			emit_cert_key(map, "CERTISSUER", cert->issuer, "SUBJECT");
			emit_cert_key(map, "CERTSUBJECT", cert->subject, "RELAY");
		}
	}
}

static void
emit_backup_mx(const struct mg_export *export, struct textmap *map)
{
	char key[300];

	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		if (domain->name && domain->backup_mx) {
			snprintf(key, sizeof(key), "To:%s", domain->name);
			textmap_add(map, key, "RELAY");
		}
	}
}

unsigned
emit_access(const struct mg_export *export, struct textmap *map, struct mg_report *report)
{
	unsigned errors = 0;

	emit_networks(export, map);
	emit_certificates(export, map);
	emit_backup_mx(export, map);
	for (guint i = 0; i < export->access->len; i++) {
		const struct mg_access *entry = &g_array_index(export->access, struct mg_access, i);

		if (!textmap_add(map, entry->key, entry->value)) {
			report_error(report, "access[%u].key: \"%s\" is also generated from relay or domains "
				     "with another value", i, entry->key);
			errors++;
		}
	}
	return errors;
}
