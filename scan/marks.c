/*
 * marks - headers for scanned mail; see marks.h.
 *
 * The spam headers follow SpamAssassin's own, which users' filters
 * already match: "X-Spam-Status: Yes, score=15.2 required=5.0 tests=...".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "marks.h"

/* Every header marks_build writes; the first three come from virus engines and the walk. */
static const char *const marks_names[MARKS_MAX] = { "X-Virus-Scanned", "X-Virus-Status", "X-Virus-Flag",
						    "X-Spam-Status", "X-Spam-Score", "X-Spam-Flag" };

#define MARKS_VIRUS_NAMES 3
enum { MARK_SCANNED, MARK_STATUS, MARK_VFLAG, MARK_SPAM_STATUS, MARK_SPAM_SCORE, MARK_SPAM_FLAG };

int
marks_owned(const char *name, bool virus_scanning, bool spam_scanning)
{
	for (int i = 0; i < MARKS_MAX; i++)
		if (strcasecmp(name, marks_names[i]) == 0)
			return (i < MARKS_VIRUS_NAMES ? virus_scanning : spam_scanning) ? i : -1;
	return -1;
}

const char *
marks_name(int index)
{
	return index >= 0 && index < MARKS_MAX ? marks_names[index] : NULL;
}

static char *
marks_add(struct marks *marks, int name)
{
	struct mark *mark = &marks->mark[marks->n++];

	mark->name = marks_names[name];
	mark->value[0] = '\0';
	return mark->value;
}

#define MARK_VALUE sizeof(((struct mark *)0)->value)
/*
 * Every value fits whole, by the size of what goes into it: the longest is
 * X-Spam-Status, "Yes, score=S required=R tests=LIST", with scores held to
 * +-1e9 by the engines (13 characters each) and LIST under SCAN_RULES_MAX
 * (whole rule names, ",..." when there were more); notes and failures are
 * 200 bytes, virus names SCAN_NAME_MAX, and blocked types the policy's.
 */
_Static_assert(sizeof("Yes, score= required= tests=") + 2 * 13 + SCAN_RULES_MAX <= MARK_VALUE,
	       "X-Spam-Status fits a mark whole");
_Static_assert(sizeof("failed (); accepted by OnScannerFailure") + 300 <= MARK_VALUE, "a failure fits a mark");

/* Content delivered uninspected, and why: one line of printable ASCII, whatever the reason's text. */
static void
marks_unscanned(const struct marks_facts *f, struct marks *marks)
{
	char why[300];
	size_t n = 0;

	for (const char *p = f->verdict->unscanned; *p && n + 1 < sizeof(why); p++)
		why[n++] = *p >= ' ' && *p <= '~' ? *p : '?';
	why[n] = '\0';
	snprintf(marks_add(marks, MARK_STATUS), MARK_VALUE, "Unscanned (%s)", why);
}

static void
marks_virus(const struct marks_facts *f, struct marks *marks)
{
	const struct scan_outcome *o = f->outcome;

	if (o->virus_failed && !o->virus)
		snprintf(marks_add(marks, MARK_SCANNED), MARK_VALUE, "failed (%.300s); accepted by OnScannerFailure", o->failure);
	else
		snprintf(marks_add(marks, MARK_SCANNED), MARK_VALUE, "%s by %s %s", o->virus_engines, PACKAGE_NAME,
			 PACKAGE_VERSION);
	if (o->virus)
		snprintf(marks_add(marks, MARK_STATUS), MARK_VALUE, "Infected (%s)", o->virus_name);
	else if (f->blocked_type)
		snprintf(marks_add(marks, MARK_STATUS), MARK_VALUE, "Blocked (%.200s)", f->blocked_type);
	else if (f->verdict->unscanned)
		marks_unscanned(f, marks);
	else if (!o->virus_failed)
		snprintf(marks_add(marks, MARK_STATUS), MARK_VALUE, "Clean");
}

static void
marks_spam(const struct marks_facts *f, struct marks *marks)
{
	const struct scan_outcome *o = f->outcome;
	bool tag = f->verdict->spam_tag;

	if (!o->spam_scored) {
		if (o->spam_failed)
			snprintf(marks_add(marks, MARK_SPAM_STATUS), MARK_VALUE, "failed (%.300s); accepted by OnScannerFailure",
				 o->failure);
		else
			snprintf(marks_add(marks, MARK_SPAM_STATUS), MARK_VALUE, "skipped (%.300s)",
				 o->skipped[0] ? o->skipped : "not scanned");
		return;
	}
	snprintf(marks_add(marks, MARK_SPAM_STATUS), MARK_VALUE, "%s, score=%.1f required=%.1f tests=%s", tag ? "Yes" : "No",
		 o->score, o->required, o->rules[0] ? o->rules : "none");
	snprintf(marks_add(marks, MARK_SPAM_SCORE), MARK_VALUE, "%.1f", o->score);
	if (tag)
		snprintf(marks_add(marks, MARK_SPAM_FLAG), MARK_VALUE, "YES");
}

void
marks_build(const struct marks_facts *facts, struct marks *marks)
{
	marks->n = 0;
	if (facts->virus_scanning)
		marks_virus(facts, marks);
	else if (facts->blocked_type)
		snprintf(marks_add(marks, MARK_STATUS), MARK_VALUE, "Blocked (%.200s)", facts->blocked_type);
	else if (facts->verdict->unscanned)
		marks_unscanned(facts, marks);
	if (facts->verdict->virus_flag)
		snprintf(marks_add(marks, MARK_VFLAG), MARK_VALUE, "YES");
	if (facts->spam_scanning)
		marks_spam(facts, marks);
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

char *
marks_subject_dup(const char *subject, const char *tag)
{
	size_t len = (subject ? strlen(subject) : 0) + strlen(tag) + 2;
	char *out = malloc(len);

	if (out)
		marks_subject(subject, tag, out, len);
	return out;
}
