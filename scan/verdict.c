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

const char *
verdict_blocked_type(const struct attach_report *attachments, const struct policy_rules *rules)
{
	for (unsigned i = 0; attachments && i < attachments->ntypes; i++)
		for (unsigned j = 0; j < rules->ntypes; j++)
			if (attach_same_type(attachments->types[i].type, rules->blocked_types[j]))
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

/* What the recipient needed and did not get: a scanner's verdict, or every part's type; NULL if nothing. */
static const char *
verdict_failure(const struct verdict_facts *f, bool wants_spam)
{
	const struct scan_outcome *o = f->outcome;

	if (o->virus)
		return NULL;	/* a virus found is certain, whatever else was not inspected */
	if (o->virus_failed || (wants_spam && o->spam_failed))
		return o->failure[0] ? o->failure : "a scanner failed";
	if (f->rules->ntypes > 0 && !f->attachments)
		return "attachments: not examined";
	if (f->rules->ntypes > 0 && f->attachments->incomplete)
		return f->attachments->why[0] ? f->attachments->why : "attachments: not every part inspected";
	return NULL;
}

void
verdict_for_rcpt(const struct verdict_facts *f, struct verdict *v)
{
	const struct scan_outcome *o = f->outcome;
	bool wants_spam = f->rules->spam.scan && !f->sender_allowed;
	const char *blocked = verdict_blocked_type(f->attachments, f->rules);

	memset(v, 0, sizeof(*v));
	verdict_set(v, VERDICT_DELIVER, "clean", NULL, NULL, NULL);
	if ((v->failure = verdict_failure(f, wants_spam))) {
		if (!f->accept_on_failure && !blocked) {
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
