/*
 * marks - headers for scanned mail; see marks.h.
 *
 * The spam headers follow SpamAssassin's own, which users' filters
 * already match: "X-Spam-Status: Yes, score=15.2 required=5.0 tests=...".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "marks.h"

static struct mark *
marks_add(struct marks *marks, const char *name)
{
	struct mark *mark = &marks->mark[marks->n++];

	mark->name = name;
	mark->value[0] = '\0';
	return mark;
}

static void
marks_virus(const struct scan_outcome *o, struct marks *marks)
{
	if (o->virus_engines[0])
		snprintf(marks_add(marks, "X-Virus-Scanned")->value, sizeof(marks->mark[0].value), "%s by %s %s",
			 o->virus_engines, PACKAGE_NAME, PACKAGE_VERSION);
	else if (o->virus_failed)
		snprintf(marks_add(marks, "X-Virus-Scanned")->value, sizeof(marks->mark[0].value),
			 "failed (%.300s); accepted by OnScannerFailure", o->failure);
	else
		snprintf(marks_add(marks, "X-Virus-Scanned")->value, sizeof(marks->mark[0].value), "skipped (%.300s)",
			 o->skipped);
	if (o->virus)
		snprintf(marks_add(marks, "X-Virus-Status")->value, sizeof(marks->mark[0].value), "Infected (%s)",
			 o->virus_name);
	else if (o->virus_engines[0])
		snprintf(marks_add(marks, "X-Virus-Status")->value, sizeof(marks->mark[0].value), "Clean");
}

static void
marks_spam(const struct scan_outcome *o, const struct message_verdict *m, struct marks *marks)
{
	snprintf(marks_add(marks, "X-Spam-Status")->value, sizeof(marks->mark[0].value),
		 "%s, score=%.1f required=%.1f tests=%s", m->spam_tag ? "Yes" : "No", o->score, o->required,
		 o->rules[0] ? o->rules : "none");
	snprintf(marks_add(marks, "X-Spam-Score")->value, sizeof(marks->mark[0].value), "%.1f", o->score);
	if (m->spam_tag)
		snprintf(marks_add(marks, "X-Spam-Flag")->value, sizeof(marks->mark[0].value), "YES");
}

void
marks_build(const struct scan_outcome *outcome, const struct message_verdict *m, bool virus_scanning,
	    bool spam_scanning, struct marks *marks)
{
	marks->n = 0;
	if (virus_scanning)
		marks_virus(outcome, marks);
	if (spam_scanning && outcome->spam_scored)
		marks_spam(outcome, m, marks);
}

void
marks_subject(const char *subject, const char *tag, char *out, size_t outlen)
{
	const char *s = subject ? subject : "";

	s += strspn(s, " \t");
	if (strncasecmp(s, tag, strlen(tag)) == 0)
		snprintf(out, outlen, "%s", s);
	else
		snprintf(out, outlen, "%s%s%s", tag, s[0] ? " " : "", s);
}
