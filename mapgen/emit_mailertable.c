/*
 * emit_mailertable - where Sendmail relays each routed domain, and the
 * mailers those routes need.
 *
 * mailertable: "DOMAIN MAILER:[HOST]" for a routed domain and each of its
 * alias names.  The host is always in brackets, which stops Sendmail from
 * looking up MX records for it (the gateway may itself be the domain's
 * MX: an MX lookup would loop back), unless the route says "mx": true.
 * An IPv6 address is written [IPv6:ADDRESS], as Sendmail wants it.  A port
 * cannot be written there: Sendmail reads "host:2526" as a fallback host
 * named 2526; a port is the third argument of an [IPC] mailer's A= line,
 * so each port gets a mailer of its own, "hmPORT", and a held domain (mail
 * kept queued until an ETRN) gets "hmPORTh", the same with F=% (deliver
 * only on ETRN or -qR/-qI, as dsmtp does).  Port 25 without hold keeps
 * Sendmail's own esmtp.  A backup-MX domain without a route has no line:
 * Sendmail follows its MX records.
 *
 * The mailers go into hostmilter-mailers.m4, which FEATURE(`hostmilter')
 * includes: a change there takes m4 and a restart of Sendmail, while a
 * change of mailertable.db is seen on the next message.  Their flags are
 * Debian's esmtp's (F=mDFMuXa) so that relayed mail is handled as esmtp
 * would handle it.
 *
 * Until the running Sendmail has a mailer, a route naming it would be
 * refused for good (554 5.3.5 buildaddr: unknown mailer): such a route is
 * written as error:4.3.5 instead, so senders retry, and hostmapgen writes
 * the real route once the reload command has rebuilt sendmail.cf
 * (hostmapgen(8), Routes).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "emit.h"

/* "esmtp", "hm2526", "hm25h". */
void
emit_route_mailer(const struct mg_route *route, char *buf, size_t len)
{
	if (route->port == 25 && !route->hold)
		snprintf(buf, len, "esmtp");
	else
		snprintf(buf, len, "hm%u%s", (unsigned)route->port, route->hold ? "h" : "");
}

static void
emit_route_value(const struct mg_route *route, char *buf, size_t len)
{
	char mailer[16];

	emit_route_mailer(route, mailer, sizeof(mailer));
	if (route->mx)
		emit_fmt(buf, len, "%s:%s", mailer, route->host);
	else
		emit_fmt(buf, len, "%s:[%s%s]", mailer, route->family == AF_INET6 ? "IPv6:" : "", route->host);
}

/* A route whose mailer the running Sendmail lacks: tempfail, so the mail comes back. */
static void
emit_route_deferred(const struct mg_domain *domain, char *buf, size_t len)
{
	emit_fmt(buf, len, "error:4.3.5:\"451 Route to %s not active until sendmail.cf is rebuilt\"", domain->name);
}

unsigned
emit_mailertable(const struct mg_export *export, GHashTable *active, struct textmap *map)
{
	char value[EMIT_VALUE_MAX], mailer[16];
	unsigned deferred = 0;

	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);

		if (!domain->name || !domain->has_route)
			continue;
		emit_route_mailer(&domain->route, mailer, sizeof(mailer));
		if (active && strcmp(mailer, "esmtp") != 0 && !g_hash_table_contains(active, mailer)) {
			emit_route_deferred(domain, value, sizeof(value));
			deferred++;
		} else
			emit_route_value(&domain->route, value, sizeof(value));
		textmap_add(map, domain->name, value);
		for (uint32_t a = 0; a < domain->naliases; a++)
			textmap_add(map, domain->aliases[a], value);
	}
	return deferred;
}

GHashTable *
emit_mailers_named(const char *text)
{
	GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		size_t len = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz0123456789");

		if (line[0] == 'M' && len && line[1 + len] == ',')
			g_hash_table_add(names, g_strndup(line + 1, len));
	}
	return names;
}

GHashTable *
emit_mailers_routed(const char *text)
{
	GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	bool block = false;

	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *value = strpbrk(line, "\t\n");
		size_t len;

		if (strncmp(line, TEXTMAP_BEGIN, strlen(TEXTMAP_BEGIN)) == 0)
			block = true;
		else if (strncmp(line, TEXTMAP_END, strlen(TEXTMAP_END)) == 0)
			block = false;
		else if (block && line[0] != '#' && value && *value == '\t') {	/* '#': a shadowed line */
			len = strspn(value + 1, "abcdefghijklmnopqrstuvwxyz0123456789");
			if (len && value[1 + len] == ':')
				g_hash_table_add(names, g_strndup(value + 1, len));
		}
	}
	return names;
}

static gint
compare_mailers(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
append_mailer(GString *out, const struct mg_route *route)
{
	char mailer[16];

	emit_route_mailer(route, mailer, sizeof(mailer));
	g_string_append_printf(out,
			       "M%s,\tP=[IPC], F=mDFMuXa%s, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,\n"
			       "\t\tT=DNS/RFC822/SMTP,\n"
			       "\t\tA=TCP $h %u\n",
			       mailer, route->hold ? "%" : "", (unsigned)route->port);
}

GString *
emit_mailers(const struct mg_export *export)
{
	/* m4 reads this with comments off (cf.m4): dnl lines, and no word that is an m4 or cf macro. */
	GString *out = g_string_new("divert(-1)\n"
				    "dnl hostmilter-mailers.m4, written by hostmapgen from the panel export: do not edit.\n"
				    "dnl The mailer definitions that mailertable names for routes on other ports, or held\n"
				    "dnl for ETRN; the hostmilter feature of sendmail.mc reads this file.  After a change:\n"
				    "dnl m4 sendmail.mc, and restart sendmail.\n");
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < export->domains->len; i++) {
		const struct mg_domain *domain = model_domain(export, i);
		char mailer[16];
		GString *line;

		if (!domain->name || !domain->has_route)
			continue;
		emit_route_mailer(&domain->route, mailer, sizeof(mailer));
		if (strcmp(mailer, "esmtp") == 0 || !g_hash_table_add(seen, g_strdup(mailer)))
			continue;
		line = g_string_new(NULL);
		append_mailer(line, &domain->route);
		g_ptr_array_add(lines, g_string_free(line, FALSE));
	}
	g_ptr_array_sort(lines, compare_mailers);	/* the same export, the same file */
	if (lines->len)
		g_string_append(out, "MAILER_DEFINITIONS\n");
	for (guint i = 0; i < lines->len; i++)
		g_string_append(out, lines->pdata[i]);
	g_string_append(out, "divert(-1)\n");
	g_ptr_array_free(lines, TRUE);
	g_hash_table_destroy(seen);
	return out;
}
