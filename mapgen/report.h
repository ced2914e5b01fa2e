/*
 * report - what hostmapgen found wrong, or worth a word, in an export and
 * in a run: each finding has a stable code, a JSON Pointer into the export
 * (RFC 6901; "" for the export as a whole or for no place in it) and a
 * message for people.
 *
 * Promise: every code is in one table (report.c) with its name and whether
 * it is an error (nothing is written) or a warning; the names never
 * change once released, so a panel may translate them, and hostmapgen(8)
 * lists them all.  report_add is the one way to add a finding: it takes
 * the code, the path and a printf-style message.  A report keeps at most
 * REPORT_MAX errors and REPORT_MAX warnings and counts the rest.
 *
 * To add a code: one line in the enum and one in the table of report.c
 * (same order), a line in hostmapgen(8), ERRORS AND WARNINGS, and, when
 * the JSON Schema can say the same (a type, a key, a pattern, a range),
 * the schema says it: t-schema checks that it does.
 */
#ifndef HM_REPORT_H
#define HM_REPORT_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

enum report_code {
	/* reading the export: its shape (the JSON Schema says the same) */
	RC_JSON_SYNTAX,
	RC_INVALID_UTF8,
	RC_DUPLICATE_KEY,
	RC_WRONG_TYPE,
	RC_UNKNOWN_KEY,
	RC_MISSING_KEY,
	RC_UNSUPPORTED_VERSION,
	RC_OUT_OF_RANGE,
	RC_TOO_LONG,
	RC_EMPTY,
	RC_INVALID_CHOICE,
	RC_INVALID_DOMAIN,
	RC_INVALID_HOSTNAME,
	RC_INVALID_LOCAL_PART,
	RC_INVALID_MAILBOX_NAME,
	RC_INVALID_ALIAS_NAME,
	RC_INVALID_SENDER_PATTERN,
	RC_INVALID_MIME_TYPE,
	RC_INVALID_SIZE,
	RC_INVALID_TEXT,
	RC_INVALID_DN,
	RC_INVALID_ACCESS_KEY,
	RC_INVALID_ROUTE_HOST,
	RC_DELIVER_OR_REJECT,
	RC_NOT_ALLOWED_HERE,
	RC_CONFLICTING_KEYS,
	/* reading the export: values of the right shape that cannot be right */
	RC_INVALID_NETWORK,
	RC_SIZE_OUT_OF_RANGE,
	RC_SCORE_OUT_OF_RANGE,
	RC_SCORE_NOT_POSITIVE,
	RC_HOSTNAME_NOT_QUALIFIED,
	RC_INVALID_ACCESS_VALUE,
	RC_ACCESS_KEY_CIDR,
	RC_ACCESS_OPEN_RELAY,
	/* cross-references (validate) */
	RC_DUPLICATE_MAILBOX,
	RC_DUPLICATE_ALIAS,
	RC_DUPLICATE_DOMAIN,
	RC_DUPLICATE_ADDRESS,
	RC_DUPLICATE_NETWORK,
	RC_DUPLICATE_ACCESS_KEY,
	RC_ALIAS_DOMAIN_IS_DOMAIN,
	RC_RELAYED_SERVER_NAME,
	RC_UNKNOWN_TARGET,
	RC_INVALID_TARGET,
	RC_NO_SUCH_ADDRESS,
	RC_TARGET_NOT_LISTED,
	RC_SPECIAL_TARGET,
	RC_DELIVERY_LOOP,
	RC_CHAIN_TOO_DEEP,
	RC_TOO_MANY_MAILBOXES,
	RC_ACCESS_KEY_GENERATED,
	RC_AUTOCONFIG_RELAYED,
	RC_AUTOCONFIG_NO_SERVERS,
	RC_TOO_MANY_BLOCKED_TYPES,
	/* warnings about the export */
	RC_ALIAS_SHADOWS_MAILBOX,
	RC_ROUTED_UNLISTED,
	RC_HELD_WITHOUT_ETRN,
	RC_REJECT_BELOW_TAG,
	RC_DISCARD_BELOW_REJECT,
	RC_BLOCKED_TYPE_UNKNOWN,
	RC_SEND_AS_FOREIGN_DOMAIN,
	RC_NETWORK_OVERLAP,
	RC_ACCESS_RELAY_FROM,
	RC_TOO_MANY_ERRORS,
	/* the run: files, lock, installation, reload */
	RC_USAGE,
	RC_EXPORT_UNREADABLE,
	RC_EXPORT_TOO_LARGE,
	RC_LOCK_FAILED,
	RC_UNSAFE_FILE,
	RC_BROKEN_MAP,
	RC_INSTALL_FAILED,
	RC_PARTLY_INSTALLED,
	RC_RELOAD_FAILED,
	RC_POLICY_UNREADABLE,
	RC_ADMIN_LINE_OVERRIDES,
	RC_ADMIN_DUPLICATE_KEY,
	RC_STALE_FILE_REMOVED,
	RC_ROUTES_DEFERRED,
	RC_STATE_NOT_RECORDED,
	RC_NOTICE,
	RC_COUNT
};

struct report_entry {
	enum report_code code;
	char *path;		/* JSON Pointer */
	char *message;
};

struct mg_report {
	GPtrArray *errors;	/* struct report_entry* */
	GPtrArray *warnings;
	unsigned long dropped_errors, dropped_warnings;
	GString *scratch;	/* report_at's buffer */
};

#define REPORT_MAX 1000

void report_init(struct mg_report *report);
void report_free(struct mg_report *report);
/* Adds an error or a warning, as the code's table entry says. */
void report_add(struct mg_report *report, enum report_code code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A path built printf-style, valid until the next report_at: report_add(r, c, report_at(r, "%s/name", where), ...). */
const char *report_at(struct mg_report *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline unsigned
report_errors(const struct mg_report *report)
{
	return report->errors->len + (report->dropped_errors ? 1 : 0);
}
/* Moves every finding of from into to (from is left empty). */
void report_merge(struct mg_report *to, struct mg_report *from);

const char *report_code_name(enum report_code code);
bool report_code_is_error(enum report_code code);
/* The code of a name, or -1. */
int report_code_of(const char *name);

/* "/domains/3/addresses/1" as people read it: "domains[3].addresses[1]"; "" as "(top level)". Free it. */
char *report_dotted(const char *pointer);
/* Appends key to a JSON Pointer, escaped (~0, ~1). */
void report_pointer_key(GString *pointer, const char *key, size_t len);

/* The findings as JSON: [{"path", "code", "message"}, ...]; the count of dropped ones as a last entry. */
json_t *report_json(const struct mg_report *report, bool errors);
/* Each finding on stderr as "PROGRAM: error: PATH: MESSAGE [code]" (at most max errors; warnings all). */
void report_print(const struct mg_report *report, bool errors, unsigned max);

#endif
