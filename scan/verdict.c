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
		v->virus_flag = true;
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

/* What the recipient needed and did not get for now: a scanner's verdict, or every part's type; NULL if nothing. */
static const char *
verdict_failure(const struct verdict_facts *f, bool wants_spam)
{
	const struct scan_outcome *o = f->outcome;

	if (o->virus_failed || (wants_spam && o->spam_failed))
		return o->failure[0] ? o->failure : "a scanner failed";
	if (f->rules->ntypes > 0 && !f->attachments)
		return "attachments: not examined";
	if (f->rules->ntypes > 0 && f->attachments->failed)
		return f->attachments->failed_why[0] ? f->attachments->failed_why : "attachments: the walk failed";
	return NULL;
}

/* What the recipient needed and will never get from this message; NULL if nothing. */
static const char *
verdict_uninspectable(const struct verdict_facts *f)
{
	const struct scan_outcome *o = f->outcome;

	if (o->virus_incomplete)
		return o->incomplete[0] ? o->incomplete : "a virus engine did not inspect all of it";
	if (f->rules->ntypes > 0 && f->attachments && f->attachments->incomplete)
		return f->attachments->why[0] ? f->attachments->why : "not every part was inspected";
	return NULL;
}

/* Encrypted content some engine or the walk found; NULL if none. */
static const char *
verdict_encrypted(const struct verdict_facts *f)
{
	if (f->outcome->encrypted)
		return f->outcome->encrypted_why[0] ? f->outcome->encrypted_why : "encrypted";
	if (f->attachments && f->attachments->encrypted)
		return f->attachments->encrypted_why[0] ? f->attachments->encrypted_why : "encrypted";
	return NULL;
}

/* Step 3 (verdict.h), for the actions that refuse or hold: true when decided. */
static bool
verdict_uninspected_final(const struct verdict_facts *f, const char *uninspectable, const char *encrypted,
			  struct verdict *v)
{
	char text[160];

	if (uninspectable && f->rules->uninspectable != POLICY_UNINSPECTABLE_TAG) {
		snprintf(text, sizeof(text), "Message could not be inspected: %.120s", uninspectable);
		if (f->rules->uninspectable == POLICY_UNINSPECTABLE_REJECT)
			verdict_set(v, VERDICT_REJECT, "uninspectable", "554", "5.7.1", text);
		else
			verdict_set(v, VERDICT_QUARANTINE, "uninspectable", NULL, NULL, text);
		return true;
	}
	if (encrypted && (f->rules->encrypted == POLICY_ENCRYPTED_REJECT
			  || f->rules->encrypted == POLICY_ENCRYPTED_QUARANTINE)) {
		snprintf(text, sizeof(text), "Encrypted content is not accepted: %.100s", encrypted);
		if (f->rules->encrypted == POLICY_ENCRYPTED_REJECT)
			verdict_set(v, VERDICT_REJECT, "encrypted", "554", "5.7.1", text);
		else
			verdict_set(v, VERDICT_QUARANTINE, "encrypted", NULL, NULL, text);
		return true;
	}
	return false;
}

/* Step 5: delivered uninspected, and marked so. */
static void
verdict_uninspected_mark(const struct verdict_facts *f, const char *uninspectable, bool encrypted,
			 struct verdict *v)
{
	if (uninspectable) {
		verdict_set(v, VERDICT_TAG, "uninspectable", NULL, NULL, NULL);
		v->unscanned = uninspectable;
		v->virus_flag = true;
	} else if (encrypted) {
		bool tag = f->rules->encrypted == POLICY_ENCRYPTED_TAG;

		verdict_set(v, tag ? VERDICT_TAG : VERDICT_DELIVER, "encrypted", NULL, NULL, NULL);
		v->unscanned = "encrypted";
		v->virus_flag = tag;
	}
}

void
verdict_for_rcpt(const struct verdict_facts *f, struct verdict *v)
{
	const struct scan_outcome *o = f->outcome;
	bool wants_spam = f->rules->spam.scan && !f->sender_allowed;
	const char *blocked = verdict_blocked_type(f->attachments, f->rules);
	const char *uninspectable = verdict_uninspectable(f), *encrypted = verdict_encrypted(f);
	char text[160];

	memset(v, 0, sizeof(*v));
	verdict_set(v, VERDICT_DELIVER, "clean", NULL, NULL, NULL);
	/* A virus is certain, whatever else was not inspected; but a tag policy never lets a blocked type through. */
	if (o->virus && !(blocked && f->rules->virus == POLICY_VIRUS_TAG)) {
		verdict_virus(f, v);
		return;
	}
	if (blocked) {
		snprintf(text, sizeof(text), "Attachments of type %.100s are not accepted", blocked);
		verdict_set(v, VERDICT_REJECT, "blocked-type", "550", "5.7.1", text);
		return;
	}
	if (verdict_uninspected_final(f, uninspectable, encrypted, v))
		return;
	if ((v->failure = verdict_failure(f, wants_spam))) {
		if (!f->accept_on_failure) {
			verdict_set(v, VERDICT_TEMPFAIL, "scanner-failure", "451", "4.7.1",
				    "Message could not be scanned; try again later");
			return;
		}
		v->rule = "scanner-failure-accepted";
	}
	verdict_uninspected_mark(f, uninspectable, encrypted != NULL, v);
	if (wants_spam && o->spam_scored)
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
		if (!verdict_refuses(v)) {
			m->virus_flag |= v->virus_flag;
			if (v->unscanned && !m->unscanned)
				m->unscanned = v->unscanned;
		}
		if (v->spam_tag && !verdict_refuses(v) && !m->spam_tag) {
			m->spam_tag = true;
			m->subject_tag = v->subject_tag;
		}
	}
	if (n > 0 && m->removed == n) {
		m->action = reject ? VERDICT_REJECT : VERDICT_DISCARD;
		m->reply = reject ? reject : discard;
		m->quarantine = m->spam_tag = m->virus_flag = false;
		m->subject_tag = m->unscanned = NULL;
	}
}
