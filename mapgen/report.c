/*
 * report - findings with codes and JSON Pointers; see report.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "report.h"

struct report_kind {
	const char *name;
	bool error;
};

/* In the order of enum report_code; the names are a promise to panels (hostmapgen(8)). */
static const struct report_kind report_kinds[RC_COUNT] = {
	[RC_JSON_SYNTAX] = { "json_syntax", true },
	[RC_INVALID_UTF8] = { "invalid_utf8", true },
	[RC_DUPLICATE_KEY] = { "duplicate_key", true },
	[RC_WRONG_TYPE] = { "wrong_type", true },
	[RC_UNKNOWN_KEY] = { "unknown_key", true },
	[RC_MISSING_KEY] = { "missing_key", true },
	[RC_UNSUPPORTED_VERSION] = { "unsupported_version", true },
	[RC_OUT_OF_RANGE] = { "out_of_range", true },
	[RC_TOO_LONG] = { "too_long", true },
	[RC_EMPTY] = { "empty", true },
	[RC_INVALID_CHOICE] = { "invalid_choice", true },
	[RC_INVALID_DOMAIN] = { "invalid_domain", true },
	[RC_INVALID_HOSTNAME] = { "invalid_hostname", true },
	[RC_INVALID_LOCAL_PART] = { "invalid_local_part", true },
	[RC_INVALID_MAILBOX_NAME] = { "invalid_mailbox_name", true },
	[RC_INVALID_ALIAS_NAME] = { "invalid_alias_name", true },
	[RC_INVALID_SENDER_PATTERN] = { "invalid_sender_pattern", true },
	[RC_INVALID_MIME_TYPE] = { "invalid_mime_type", true },
	[RC_INVALID_SIZE] = { "invalid_size", true },
	[RC_INVALID_TEXT] = { "invalid_text", true },
	[RC_INVALID_DN] = { "invalid_dn", true },
	[RC_INVALID_ACCESS_KEY] = { "invalid_access_key", true },
	[RC_INVALID_ROUTE_HOST] = { "invalid_route_host", true },
	[RC_DELIVER_OR_REJECT] = { "deliver_or_reject", true },
	[RC_NOT_ALLOWED_HERE] = { "not_allowed_here", true },
	[RC_CONFLICTING_KEYS] = { "conflicting_keys", true },
	[RC_INVALID_NETWORK] = { "invalid_network", true },
	[RC_SIZE_OUT_OF_RANGE] = { "size_out_of_range", true },
	[RC_SCORE_OUT_OF_RANGE] = { "score_out_of_range", true },
	[RC_SCORE_NOT_POSITIVE] = { "score_not_positive", true },
	[RC_HOSTNAME_NOT_QUALIFIED] = { "hostname_not_qualified", true },
	[RC_INVALID_ACCESS_VALUE] = { "invalid_access_value", true },
	[RC_ACCESS_KEY_CIDR] = { "access_key_cidr", true },
	[RC_ACCESS_OPEN_RELAY] = { "access_open_relay", true },
	[RC_DUPLICATE_MAILBOX] = { "duplicate_mailbox", true },
	[RC_DUPLICATE_ALIAS] = { "duplicate_alias", true },
	[RC_DUPLICATE_DOMAIN] = { "duplicate_domain", true },
	[RC_DUPLICATE_ADDRESS] = { "duplicate_address", true },
	[RC_DUPLICATE_NETWORK] = { "duplicate_network", true },
	[RC_DUPLICATE_ACCESS_KEY] = { "duplicate_access_key", true },
	[RC_ALIAS_DOMAIN_IS_DOMAIN] = { "alias_domain_is_domain", true },
	[RC_RELAYED_SERVER_NAME] = { "relayed_server_name", true },
	[RC_UNKNOWN_TARGET] = { "unknown_target", true },
	[RC_INVALID_TARGET] = { "invalid_target", true },
	[RC_NO_SUCH_ADDRESS] = { "no_such_address", true },
	[RC_TARGET_NOT_LISTED] = { "target_not_listed", true },
	[RC_SPECIAL_TARGET] = { "special_target", true },
	[RC_DELIVERY_LOOP] = { "delivery_loop", true },
	[RC_CHAIN_TOO_DEEP] = { "chain_too_deep", true },
	[RC_TOO_MANY_MAILBOXES] = { "too_many_mailboxes", true },
	[RC_ACCESS_KEY_GENERATED] = { "access_key_generated", true },
	[RC_AUTOCONFIG_RELAYED] = { "autoconfig_relayed", true },
	[RC_AUTOCONFIG_NO_SERVERS] = { "autoconfig_without_servers", true },
	[RC_TOO_MANY_BLOCKED_TYPES] = { "too_many_blocked_types", true },
	[RC_ALIAS_SHADOWS_MAILBOX] = { "alias_shadows_mailbox", false },
	[RC_ROUTED_UNLISTED] = { "routed_unlisted", false },
	[RC_HELD_WITHOUT_ETRN] = { "held_without_etrn", false },
	[RC_REJECT_BELOW_TAG] = { "reject_below_tag", false },
	[RC_DISCARD_BELOW_REJECT] = { "discard_below_reject", false },
	[RC_BLOCKED_TYPE_UNKNOWN] = { "blocked_type_unknown", false },
	[RC_SEND_AS_FOREIGN_DOMAIN] = { "send_as_foreign_domain", false },
	[RC_NETWORK_OVERLAP] = { "network_overlap", false },
	[RC_ACCESS_RELAY_FROM] = { "access_relay_from", false },
	[RC_TOO_MANY_ERRORS] = { "too_many_errors", true },
	[RC_USAGE] = { "usage", true },
	[RC_EXPORT_UNREADABLE] = { "export_unreadable", true },
	[RC_EXPORT_TOO_LARGE] = { "export_too_large", true },
	[RC_LOCK_FAILED] = { "lock_failed", true },
	[RC_UNSAFE_FILE] = { "unsafe_file", true },
	[RC_BROKEN_MAP] = { "broken_map", true },
	[RC_INSTALL_FAILED] = { "install_failed", true },
	[RC_PARTLY_INSTALLED] = { "partly_installed", true },
	[RC_RELOAD_FAILED] = { "reload_failed", true },
	[RC_POLICY_UNREADABLE] = { "policy_unreadable", true },
	[RC_ADMIN_LINE_OVERRIDES] = { "admin_line_overrides", false },
	[RC_ADMIN_DUPLICATE_KEY] = { "admin_duplicate_key", false },
	[RC_STALE_FILE_REMOVED] = { "stale_file_removed", false },
	[RC_ROUTES_DEFERRED] = { "routes_deferred", false },
	[RC_STATE_NOT_RECORDED] = { "state_not_recorded", false },
	[RC_NOTICE] = { "notice", false },
};

static void
report_entry_free(gpointer data)
{
	struct report_entry *entry = data;

	g_free(entry->path);
	g_free(entry->message);
	g_free(entry);
}

void
report_init(struct mg_report *report)
{
	memset(report, 0, sizeof(*report));
	report->errors = g_ptr_array_new_with_free_func(report_entry_free);
	report->warnings = g_ptr_array_new_with_free_func(report_entry_free);
	report->scratch = g_string_new(NULL);
}

void
report_free(struct mg_report *report)
{
	if (!report->errors)
		return;
	g_ptr_array_free(report->errors, TRUE);
	g_ptr_array_free(report->warnings, TRUE);
	g_string_free(report->scratch, TRUE);
	memset(report, 0, sizeof(*report));
}

const char *
report_code_name(enum report_code code)
{
	return code < RC_COUNT && report_kinds[code].name ? report_kinds[code].name : "unknown";
}

bool
report_code_is_error(enum report_code code)
{
	return code >= RC_COUNT || report_kinds[code].error;
}

int
report_code_of(const char *name)
{
	for (int i = 0; i < RC_COUNT; i++)
		if (report_kinds[i].name && strcmp(report_kinds[i].name, name) == 0)
			return i;
	return -1;
}

void
report_add(struct mg_report *report, enum report_code code, const char *path, const char *fmt, ...)
{
	bool error = report_code_is_error(code);
	GPtrArray *list = error ? report->errors : report->warnings;
	struct report_entry *entry;
	va_list ap;

	if (list->len >= REPORT_MAX) {
		if (error)
			report->dropped_errors++;
		else
			report->dropped_warnings++;
		return;
	}
	entry = g_new(struct report_entry, 1);
	entry->code = code;
	entry->path = g_strdup(path ? path : "");
	va_start(ap, fmt);
	entry->message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(list, entry);
}

const char *
report_at(struct mg_report *report, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_string_vprintf(report->scratch, fmt, ap);
	va_end(ap);
	return report->scratch->str;
}

static void
report_move(GPtrArray *to, GPtrArray *from, unsigned long *dropped)
{
	for (guint i = 0; i < from->len; i++) {
		if (to->len < REPORT_MAX)
			g_ptr_array_add(to, from->pdata[i]);
		else {
			report_entry_free(from->pdata[i]);
			(*dropped)++;
		}
	}
	g_ptr_array_set_free_func(from, NULL);
	g_ptr_array_set_size(from, 0);
	g_ptr_array_set_free_func(from, report_entry_free);
}

void
report_merge(struct mg_report *to, struct mg_report *from)
{
	report_move(to->errors, from->errors, &to->dropped_errors);
	report_move(to->warnings, from->warnings, &to->dropped_warnings);
	to->dropped_errors += from->dropped_errors;
	to->dropped_warnings += from->dropped_warnings;
	from->dropped_errors = from->dropped_warnings = 0;
}

void
report_pointer_key(GString *pointer, const char *key, size_t len)
{
	g_string_append_c(pointer, '/');
	if (!memchr(key, '~', len) && !memchr(key, '/', len)) {	/* every key of the format */
		g_string_append_len(pointer, key, (gssize)len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (key[i] == '~')
			g_string_append(pointer, "~0");
		else if (key[i] == '/')
			g_string_append(pointer, "~1");
		else
			g_string_append_c(pointer, key[i]);
	}
}

/* One segment of a pointer, unescaped, appended to out as ".key" or "[N]". */
static void
report_dotted_segment(GString *out, const char *segment, size_t len)
{
	bool index = len > 0 && strspn(segment, "0123456789") >= len;

	if (index) {
		g_string_append_c(out, '[');
		g_string_append_len(out, segment, (gssize)len);
		g_string_append_c(out, ']');
		return;
	}
	if (out->len)
		g_string_append_c(out, '.');
	for (size_t i = 0; i < len; i++) {
		if (segment[i] == '~' && i + 1 < len && (segment[i + 1] == '0' || segment[i + 1] == '1')) {
			g_string_append_c(out, segment[i + 1] == '0' ? '~' : '/');
			i++;
		} else
			g_string_append_c(out, segment[i]);
	}
}

char *
report_dotted(const char *pointer)
{
	GString *out = g_string_new(NULL);
	const char *p = pointer;

	while (*p == '/') {
		const char *next = strchr(p + 1, '/');
		size_t len = next ? (size_t)(next - p - 1) : strlen(p + 1);

		report_dotted_segment(out, p + 1, len);
		p += len + 1;
	}
	if (!out->len)
		g_string_append(out, "(top level)");
	return g_string_free(out, FALSE);
}

/* A string jansson takes: messages quote export text, cut anywhere. */
static json_t *
report_json_string(const char *text)
{
	json_t *s = json_string(text);
	char *valid;

	if (s)
		return s;
	valid = g_utf8_make_valid(text, -1);
	s = json_string(valid);
	g_free(valid);
	return s ? s : json_string("");
}

static json_t *
report_entry_json(enum report_code code, const char *path, const char *message)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", report_json_string(path));
	json_object_set_new(o, "code", json_string(report_code_name(code)));
	json_object_set_new(o, "message", report_json_string(message));
	return o;
}

json_t *
report_json(const struct mg_report *report, bool errors)
{
	const GPtrArray *list = errors ? report->errors : report->warnings;
	unsigned long dropped = errors ? report->dropped_errors : report->dropped_warnings;
	json_t *array = json_array();
	char more[80];

	for (guint i = 0; i < list->len; i++) {
		const struct report_entry *e = list->pdata[i];

		json_array_append_new(array, report_entry_json(e->code, e->path, e->message));
	}
	if (dropped) {
		snprintf(more, sizeof(more), "... and %lu more %s", dropped, errors ? "errors" : "warnings");
		json_array_append_new(array, report_entry_json(RC_TOO_MANY_ERRORS, "", more));
	}
	return array;
}

void
report_print(const struct mg_report *report, bool errors, unsigned max)
{
	const GPtrArray *list = errors ? report->errors : report->warnings;
	unsigned long more = errors ? report->dropped_errors : report->dropped_warnings;

	for (guint i = 0; i < list->len; i++) {
		const struct report_entry *e = list->pdata[i];
		char *where;

		if (i >= max) {
			more += list->len - i;
			break;
		}
		where = e->path[0] || e->code < RC_USAGE ? report_dotted(e->path) : NULL;
		if (errors)
			msg_error("%s%s%s [%s]", where ? where : "", where ? ": " : "", e->message,
				  report_code_name(e->code));
		else
			msg_warn("%s%s%s [%s]", where ? where : "", where ? ": " : "", e->message,
				 report_code_name(e->code));
		g_free(where);
	}
	if (more && errors)
		msg_error("... and %lu more errors", more);
	else if (more)
		msg_warn("... and %lu more warnings", more);
}
