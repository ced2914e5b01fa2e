/*
 * emit - one emitter per generated file.  Each walks a validated model and
 * adds its entries to a textmap (or, for hostmilter.db, to a record list).
 *
 * Naming, decided here and documented in hostmapgen(8):
 *  - An address or catch-all with several targets becomes one alias named
 *    "LOCAL=DOMAIN" (catch-all: "*=DOMAIN").  Export alias names and local
 *    parts cannot contain "=" or "*", so these never collide with them.
 *  - A rejected address maps to error:5.1.1:"550 TEXT"; a hosted domain
 *    without catch-all maps "@DOMAIN" to error:5.1.1:"550 User unknown" so
 *    unknown users are refused instead of reaching a system account, and
 *    gets "postmaster@DOMAIN postmaster" unless it defines that address.
 *  - An alias domain maps "@ALIAS" to "%1%3@DOMAIN": Sendmail looks the
 *    result up again, so every address, +detail and the catch-all of the
 *    real domain exist under the alias with one line per alias domain.
 */
#ifndef HM_EMIT_H
#define HM_EMIT_H

#include <glib.h>

#include "export.h"
#include "model.h"
#include "textmap.h"

#define EMIT_VALUE_MAX 600

/*
 * snprintf for a generated key or value, checked: an entry that does not
 * fit its buffer stops the run (exit 3, nothing installed) instead of
 * being written cut, which would be another address or route.  The
 * buffers are sized from the export's own limits (names, EXPORT_TEXT_MAX),
 * so this is a guard against those limits changing apart.
 */
void emit_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void emit_alias_name(const char *local, const char *domain, char *buf, size_t len);
/* The single right-hand side of a virtmaps line for deliver. */
const char *emit_virtuser_value(const struct mg_deliver *deliver, const char *local,
				const char *domain, char *buf, size_t len);

void emit_virtmaps(const struct mg_export *export, struct textmap *map);
void emit_aliases(const struct mg_export *export, struct textmap *map);
/* Returns the number of errors (an export access key that clashes with a generated one). */
unsigned emit_access(const struct mg_export *export, struct textmap *map, struct mg_report *report);
void emit_cw(const struct mg_export *export, struct textmap *map);
/*
 * mailertable: routed domains and their alias names.  A route whose mailer
 * is not in active (the mailers the running Sendmail has; NULL: all) is
 * written as a temporary error; returns how many were.
 */
unsigned emit_mailertable(const struct mg_export *export, GHashTable *active, struct textmap *map);
/* The mailer names a hostmilter-mailers.m4 defines ("M<name>," lines). */
GHashTable *emit_mailers_named(const char *text);
/* The mailer names the generated block of a mailertable routes by ("DOMAIN\tNAME:..."). */
GHashTable *emit_mailers_routed(const char *text);
/* The mailer a route names in mailertable: "esmtp", "hm2526", "hm25h" (held). */
void emit_route_mailer(const struct mg_route *route, char *buf, size_t len);
/* hostmilter-mailers.m4, the M lines of those mailers (FEATURE(`hostmilter') includes it). */
GString *emit_mailers(const struct mg_export *export);

/* hostmilter.db records, in write order, and their digest. */
struct policy_records {
	GByteArray *data;	/* [u32 keylen][key][u32 valuelen][value]... */
	size_t count;
	char digest[EXPORT_DIGEST_LEN];
};

/* The number of errors: an address that reaches more mailboxes than hostmilter reads. */
unsigned emit_policy(const struct mg_export *export, struct policy_records *records, struct mg_report *report);
void emit_policy_records_free(struct policy_records *records);
typedef int (*policy_record_fn)(const char *key, size_t keylen, const char *value,
				size_t valuelen, void *context);
int emit_policy_records_each(const struct policy_records *records, policy_record_fn fn, void *context);

/*
 * autoconfig.db records (lib/acdb.h), in the same list form as
 * hostmilter.db's, so that the same install writes them; returns how many
 * domains opted in.  The export must have passed validate.
 */
unsigned emit_autoconfig(const struct mg_export *export, struct policy_records *records);

#endif
