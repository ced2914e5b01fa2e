/*
 * outcome - what one hostmapgen run found and did, said once at its end:
 * for people as text (findings on stderr, the summary, a diff or an
 * explanation on stdout), or for a panel as one JSON document on stdout
 * (hostmapgen(8), JSON OUTPUT):
 *
 *   {"ok": bool, "status": exit status, "mode": "check" | "dry-run" | "diff" | "install" | "explain",
 *    "errors": [{"path": JSON Pointer, "code": name, "message": text}], "warnings": [...],
 *    "export": {"domains": n, "addresses": n, "mailboxes": n, "aliases": n} | null,
 *    "changed": bool | null, "files": [name], "changes": [change] | null,
 *    "reload": {"due": [name], "command": text | null, "outcome": ..., "message": text} | null,
 *    "explain": {...}}                                  (--explain only)
 *
 * Promise: outcome_finish prints exactly one of the two forms, and in
 * JSON form nothing but the document goes to stdout (and nothing to
 * stderr); members are only ever added, never renamed.
 */
#ifndef HM_OUTCOME_H
#define HM_OUTCOME_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

#include "model.h"
#include "report.h"

struct outcome {
	const char *mode;
	bool json, quiet;
	struct mg_report report;
	bool counted;		/* the export was read: the counts hold */
	unsigned domains, mailboxes, aliases;
	size_t addresses;
	bool compared;		/* the installed files were compared: files and changed hold */
	GPtrArray *files;	/* char*: files changed, or that would change */
	json_t *changes;	/* --diff's per-object changes, else NULL */
	json_t *reload;		/* NULL: nothing was due */
	json_t *explain;	/* --explain's answer */
	char *explain_text;
	char *partial;		/* what a partial install left where, for the text form */
};

void outcome_init(struct outcome *o, const char *mode, bool json, bool quiet);
void outcome_count(struct outcome *o, const struct mg_export *export);
/* A file the run changed (or would change). */
void outcome_file(struct outcome *o, const char *name);
/* The reload: due (space-separated names), the command, and how it went: "done", "failed", "left to the admin". */
void outcome_reload(struct outcome *o, const char *due, const char *command, const char *result, const char *message);
/* Prints the outcome in its form; returns status. */
int outcome_finish(struct outcome *o, int status);

#endif
