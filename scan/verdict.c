/*
 * verdict - per-recipient and per-message verdicts; see verdict.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "verdict.h"

static void
verdict_set(struct verdict *v, enum verdict_action action, const char *rule, const char *rcode, const char *xcode,
	    const char *text)
{
	v->action = action;
	v->rule = rule;
	v->rcode = rcode;
	v->xcode = xcode;
	snprintf(v->text, sizeof(v->text), "%s", text ? text : "");
}

/*
 * Names libmagic has used for one kind of file: 5.44 calls a PE file
 * application/vnd.microsoft.portable-executable where older versions and
 * every panel say application/x-dosexec.  A policy naming any of them
 * blocks them all, so that a libmagic upgrade cannot unblock executables.
 */
static const char *const verdict_synonyms[][4] = {
	{ "application/x-dosexec", "application/vnd.microsoft.portable-executable", "application/x-msdownload",
	  "application/x-ms-dos-executable" },
	{ "application/zip", "application/x-zip-compressed", "application/x-zip", NULL },
	{ "application/x-rar", "application/vnd.rar", "application/x-rar-compressed", NULL },
};

static int
verdict_family(const char *type)
{
	for (size_t f = 0; f < sizeof(verdict_synonyms) / sizeof(*verdict_synonyms); f++)
		for (size_t i = 0; i < 4 && verdict_synonyms[f][i]; i++)
			if (strcasecmp(verdict_synonyms[f][i], type) == 0)
				return (int)f;
	return -1;
}

static bool
verdict_same_type(const char *found, const char *blocked)
{
	int family = verdict_family(found);

	return strcasecmp(found, blocked) == 0 || (family >= 0 && family == verdict_family(blocked));
}

const char *
verdict_blocked_type(const struct attach_report *attachments, const struct policy_rules *rules)
{
	for (unsigned i = 0; attachments && i < attachments->ntypes; i++)
		for (unsigned j = 0; j < rules->ntypes; j++)
			if (verdict_same_type(attachments->types[i].type, rules->blocked_types[j]))
				return rules->blocked_types[j];
	return NULL;
}

static void
verdict_virus(const struct verdict_facts *f, struct verdict *v)
{
	char text[160];

	snprintf(text, sizeof(text), "Virus found: %.100s", f->outcome->virus_name);
	switch (f->rules->virus) {
	case POLICY_VIRUS_REJECT:
		verdict_set(v, VERDICT_REJECT, "virus", "554", "5.7.1", text);
		break;
	case POLICY_VIRUS_DISCARD:
		verdict_set(v, VERDICT_DISCARD, "virus", NULL, NULL, text);
		break;
	case POLICY_VIRUS_QUARANTINE:
		verdict_set(v, VERDICT_QUARANTINE, "virus", NULL, NULL, text);
		break;
	case POLICY_VIRUS_TAG:
		verdict_set(v, VERDICT_TAG, "virus", NULL, NULL, text);
		break;
	}
}

static void
verdict_spam(const struct verdict_facts *f, struct verdict *v)
{
	const struct policy_spam *spam = &f->rules->spam;
	double score = f->outcome->score;

	if (spam->has_reject && score >= spam->reject_score)
		verdict_set(v, VERDICT_REJECT, "spam", "550", "5.7.1", "Message refused as spam");
	else if (spam->has_discard && score >= spam->discard_score)
		verdict_set(v, VERDICT_DISCARD, "spam", NULL, NULL, "spam discarded");
	else if (score >= spam->tag_score) {
		verdict_set(v, VERDICT_TAG, "spam", NULL, NULL, "spam tagged");
		v->spam_tag = true;
		v->subject_tag = spam->subject_tag[0] ? spam->subject_tag : NULL;
	}
}

void
verdict_for_rcpt(const struct verdict_facts *f, struct verdict *v)
{
	const struct scan_outcome *o = f->outcome;
	bool wants_spam = f->rules->spam.scan && !f->sender_allowed;
	const char *blocked = verdict_blocked_type(f->attachments, f->rules);

	memset(v, 0, sizeof(*v));
	verdict_set(v, VERDICT_DELIVER, "clean", NULL, NULL, NULL);
	if ((o->virus_failed && !o->virus) || (wants_spam && o->spam_failed && !o->virus)) {
		if (!f->accept_on_failure) {
			verdict_set(v, VERDICT_TEMPFAIL, "scanner-failure", "451", "4.7.1",
				    "Message could not be scanned; try again later");
			return;
		}
		v->rule = "scanner-failure-accepted";
	}
	/* A virus is named first; but a tag policy never lets a blocked type through. */
	if (o->virus && !(blocked && f->rules->virus == POLICY_VIRUS_TAG))
		verdict_virus(f, v);
	else if (blocked) {
		char text[160];

		snprintf(text, sizeof(text), "Attachments of type %.100s are not accepted", blocked);
		verdict_set(v, VERDICT_REJECT, "blocked-type", "550", "5.7.1", text);
	}
	else if (wants_spam && o->spam_scored)
		verdict_spam(f, v);
}

bool
verdict_refuses(const struct verdict *v)
{
	return v->action == VERDICT_REJECT || v->action == VERDICT_DISCARD;
}

void
verdict_for_message(const struct verdict *rcpts, size_t n, struct message_verdict *m)
{
	const struct verdict *reject = NULL, *discard = NULL;

	memset(m, 0, sizeof(*m));
	m->action = VERDICT_DELIVER;
	for (size_t i = 0; i < n; i++) {
		const struct verdict *v = &rcpts[i];

		if (v->action == VERDICT_TEMPFAIL) {
			m->action = VERDICT_TEMPFAIL;
			m->reply = v;
			return;
		}
		if (v->action == VERDICT_REJECT && !reject)
			reject = v;
		if (v->action == VERDICT_DISCARD && !discard)
			discard = v;
		m->removed += verdict_refuses(v);
		m->quarantine |= v->action == VERDICT_QUARANTINE;
		if (v->spam_tag && !verdict_refuses(v) && !m->spam_tag) {
			m->spam_tag = true;
			m->subject_tag = v->subject_tag;
		}
	}
	if (n > 0 && m->removed == n) {
		m->action = reject ? VERDICT_REJECT : VERDICT_DISCARD;
		m->reply = reject ? reject : discard;
		m->quarantine = m->spam_tag = false;
		m->subject_tag = NULL;
	}
}
