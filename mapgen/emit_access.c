/*
 * emit_access - access lines: relay networks as the octet- and group-cut
 * keys Sendmail matches, relay certificates, routed and backup-MX domains
 * (relaying, the TLS a route demands, who may ETRN), and the export's own
 * entries.
 *
 * A route's "tls" becomes TLS_Rcpt:DOMAIN VERIFY+CN:NAME, with an issuer
 * VERIFY+CI:ISSUER++CN:NAME: Sendmail checks it before each RCPT to that
 * domain and, when the server's certificate does not verify or carries
 * another name or issuer, answers itself 454 4.7.0 and keeps the message
 * queued (never PERM+, which would bounce it).  The issuer comes first:
 * with FEATURE(`check_cert_altnames') Sendmail's TLS_req rule set (8.17)
 * drops every requirement after a CN that matched a wildcard
 * subjectAltName, so "CN:x++CI:y" would take a *.domain certificate of any
 * trusted CA.  ETRN: when some route names etrn_clients, the bare key
 * Srv_Features: turns ETRN off (E) for every client and each listed network
 * gets it back (e), in the octet-cut keys the srv_features ruleset looks up.
 * Sendmail cannot restrict ETRN to the client's own domains this way: an
 * allowed client can start the queue run of another routed domain, whose
 * mail still goes only to that domain's own route.
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

	emit_fmt(line, sizeof(line), "Connect:%s", key);
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
	emit_fmt(key, sizeof(key), "%s:%s", tag, encoded);
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
emit_tls_rcpt(struct textmap *map, const char *name, const struct mg_route *route)
{
	char key[300], value[1600], issuer[1400];

	int n;

	emit_fmt(key, sizeof(key), "TLS_Rcpt:%s", name);	/* a domain name: 253 bytes at most */
	if (!route->tls_issuer)
		n = snprintf(value, sizeof(value), "VERIFY+CN:%s", route->tls_name);
	else if (xtext_encode(route->tls_issuer, issuer, sizeof(issuer)) < 0)
		n = -1;
	else	/* the CN last: see the header */
		n = snprintf(value, sizeof(value), "VERIFY+CI:%s++CN:%s", issuer, route->tls_name);
	if (n < 0 || (size_t)n >= sizeof(value)) {	/* a cut requirement would check another name */
		msg_warn("access: the TLS requirement of %s is too long for Sendmail; it is held, not relayed", name);
		snprintf(value, sizeof(value), "VERIFY+CI:too+20long");	/* never matches: held, not sent unchecked */
	}
	textmap_add(map, key, value);
}

/* To:NAME RELAY, and the route's TLS requirement, for a relayed domain and its alias names. */
static void
emit_relayed_name(struct textmap *map, const struct mg_domain *domain, const char *name)
{
	char key[300];

	emit_fmt(key, sizeof(key), "To:%s", name);
	textmap_add(map, key, "RELAY");
	if (domain->has_route && domain->route.tls_verify)
		emit_tls_rcpt(map, name, &domain->route);
}

static void
emit_etrn_key(const char *key, void *context)
{
	char line[CIDR_KEY_MAX + 20];

	emit_fmt(line, sizeof(line), "Srv_Features:%s", key);
	textmap_add(context, line, "e");
}

static void
emit_relayed(const struct mg_export *export, struct textmap *map)
{
	bool etrn = false;

	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		if (!domain->name || !model_domain_relayed(domain))
			continue;
		emit_relayed_name(map, domain, domain->name);
		for (uint32_t a = 0; a < domain->naliases; a++)
			emit_relayed_name(map, domain, domain->aliases[a]);
		for (uint32_t c = 0; domain->has_route && c < domain->route.netrn; c++) {
			cidr_access_keys(&domain->route.etrn_clients[c], emit_etrn_key, map);
			etrn = true;
		}
	}
	if (etrn)
		textmap_add(map, "Srv_Features:", "E");
}

unsigned
emit_access(const struct mg_export *export, struct textmap *map, struct mg_report *report)
{
	unsigned errors = 0;

	emit_networks(export, map);
	emit_certificates(export, map);
	emit_relayed(export, map);
	for (guint i = 0; i < export->access->len; i++) {
		const struct mg_access *entry = &g_array_index(export->access, struct mg_access, i);

		if (!textmap_add(map, entry->key, entry->value)) {
			report_add(report, RC_ACCESS_KEY_GENERATED, report_at(report, "%s/key", entry->where),
				   "\"%s\" is also generated from relay or domains with another value", entry->key);
			errors++;
		}
	}
	return errors;
}
