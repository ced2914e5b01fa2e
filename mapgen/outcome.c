/*
 * outcome - a run's last words, as text or one JSON document; see outcome.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "msg.h"
#include "outcome.h"

/* How many errors the text form prints before it only counts the rest. */
#define OUTCOME_ERRORS_SHOWN 200

/* The exit statuses that mean "nothing went wrong" (hostmapgen(8), EXIT STATUS). */
#define OUTCOME_OK(status) ((status) == 0 || (status) == 6)

void
outcome_init(struct outcome *o, const char *mode, bool json, bool quiet)
{
	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->json = json;
	o->quiet = quiet;
	report_init(&o->report);
	o->files = g_ptr_array_new_with_free_func(g_free);
}

void
outcome_count(struct outcome *o, const struct mg_export *export)
{
	o->counted = true;
	o->domains = export->domains->len;
	o->addresses = export->naddresses;
	o->mailboxes = export->mailboxes->len;
	o->aliases = export->aliases->len;
}

void
outcome_file(struct outcome *o, const char *name)
{
	for (guint i = 0; i < o->files->len; i++)
		if (strcmp(o->files->pdata[i], name) == 0)
			return;	/* written by both passes of a run (hostmapgen.c, run) */
	g_ptr_array_add(o->files, g_strdup(name));
}

void
outcome_reload(struct outcome *o, const char *due, const char *command, const char *result, const char *message)
{
	json_t *names = json_array();
	char **split = g_strsplit(due, " ", -1);

	for (char **p = split; *p; p++)
		if (**p)
			json_array_append_new(names, json_string(*p));
	g_strfreev(split);
	json_decref(o->reload);
	o->reload = json_pack("{s:o, s:s?, s:s, s:s}", "due", names, "command", command, "outcome", result, "message",
			      message);
}

static json_t *
outcome_counts(const struct outcome *o)
{
	if (!o->counted)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I}", "domains", (json_int_t)o->domains, "addresses",
			 (json_int_t)o->addresses, "mailboxes", (json_int_t)o->mailboxes, "aliases",
			 (json_int_t)o->aliases);
}

static json_t *
outcome_document(const struct outcome *o, int status)
{
	json_t *doc = json_object(), *files = json_array();

	for (guint i = 0; i < o->files->len; i++)
		json_array_append_new(files, json_string(o->files->pdata[i]));
	json_object_set_new(doc, "ok", json_boolean(OUTCOME_OK(status)));
	json_object_set_new(doc, "status", json_integer(status));
	json_object_set_new(doc, "mode", json_string(o->mode));
	json_object_set_new(doc, "errors", report_json(&o->report, true));
	json_object_set_new(doc, "warnings", report_json(&o->report, false));
	json_object_set_new(doc, "export", outcome_counts(o));
	json_object_set_new(doc, "changed", o->compared ? json_boolean(o->files->len > 0) : json_null());
	json_object_set_new(doc, "files", files);
	json_object_set_new(doc, "changes", o->changes ? json_incref(o->changes) : json_null());
	json_object_set_new(doc, "reload", o->reload ? json_incref(o->reload) : json_null());
	if (o->explain)
		json_object_set_new(doc, "explain", json_incref(o->explain));
	return doc;
}

static void
outcome_summary(const struct outcome *o, int status)
{
	GString *line = g_string_new("hostmapgen: ");
	bool dry = strcmp(o->mode, "install") != 0;

	if (strcmp(o->mode, "check") == 0)
		g_string_append(line, "export is valid: ");
	if (o->counted)
		g_string_append_printf(line, "%u domains, %zu addresses, %u mailboxes, %u aliases", o->domains,
				       o->addresses, o->mailboxes, o->aliases);
	if (o->compared && o->files->len) {
		g_string_append_printf(line, "%s%u file%s %s:", o->counted ? "; " : "", o->files->len,
				       o->files->len == 1 ? "" : "s", dry ? "would change" : "changed");
		for (guint i = 0; i < o->files->len; i++)
			g_string_append_printf(line, " %s", (const char *)o->files->pdata[i]);
	} else if (o->compared)
		g_string_append_printf(line, "%s%s: the installed files already match the export", o->counted ? "; " : "",
				       dry ? "nothing would change" : "nothing changed");
	if (OUTCOME_OK(status) || status == 5)
		printf("%s\n", line->str);
	g_string_free(line, TRUE);
}

/* Why the run stopped, when the findings do not say it all. */
static void
outcome_closing(const struct outcome *o, int status)
{
	bool export_errors = false;

	for (guint i = 0; i < o->report.errors->len; i++)
		export_errors |= ((const struct report_entry *)o->report.errors->pdata[i])->code < RC_USAGE;
	if (status == 1 && export_errors)
		msg_error("export is invalid (%u errors); nothing written", report_errors(&o->report));
}

static void
outcome_text(const struct outcome *o, int status)
{
	report_print(&o->report, false, REPORT_MAX);
	report_print(&o->report, true, OUTCOME_ERRORS_SHOWN);
	outcome_closing(o, status);
	if (o->reload && json_is_string(json_object_get(o->reload, "message"))
	    && strcmp(json_string_value(json_object_get(o->reload, "outcome")), "failed") != 0)
		msg_info("%s", json_string_value(json_object_get(o->reload, "message")));
	if (o->changes)
		diff_print(o->changes, stdout);
	if (o->explain_text)
		fputs(o->explain_text, stdout);
	if (!o->quiet && strcmp(o->mode, "explain") != 0)
		outcome_summary(o, status);
}

int
outcome_finish(struct outcome *o, int status)
{
	fflush(stdout);
	if (o->json) {
		json_t *doc = outcome_document(o, status);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		fputc('\n', stdout);
		json_decref(doc);
	} else
		outcome_text(o, status);
	fflush(stdout);
	return status;
}
