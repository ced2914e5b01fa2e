/*
 * eom - scanning at the end of a message; see eom.h.
 *
 * Taken out of session.c so that the callbacks gather facts and this file
 * decides what the content means; the content itself is parsed in a scan
 * worker (workers.h), never here.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attach.h"
#include "conf.h"
#include "eom.h"
#include "marks.h"
#include "msg.h"
#include "net.h"
#include "scanners.h"
#include "stats.h"
#include "verdict.h"
#include "workers.h"

static struct scanners *eom_scanners;
static struct workers *eom_workers;

void
eom_set_scanners(struct scanners *scanners)
{
	eom_scanners = scanners;
}

void
eom_set_workers(struct workers *workers)
{
	eom_workers = workers;
}

static void
eom_progress(void *ctx)
{
	smfi_progress(ctx);	/* resets Sendmail's milter timeout while a scan runs */
}

/* The one mailbox the message reaches, or NULL (spamd's User). */
static const char *
eom_single_mailbox(const struct eom_message *s)
{
	const char *one = NULL;

	for (unsigned i = 0; i < s->nrcpts; i++) {
		if (!s->rcpts[i].mailbox[0] || (one && strcmp(one, s->rcpts[i].mailbox) != 0))
			return NULL;
		one = s->rcpts[i].mailbox;
	}
	return one;
}

static bool
eom_any_wants_spam(const struct eom_message *s)
{
	for (unsigned i = 0; i < s->nrcpts; i++)
		if (s->rcpts[i].rules.spam.scan && !s->rcpts[i].sender_allowed)
			return true;
	return false;
}

/* Every type some recipient blocks, once each (libmagic's rules are chosen from them); 0 when none. */
static size_t
eom_blocked_types(const struct eom_message *s, const char **types, size_t max)
{
	size_t n = 0;

	for (unsigned i = 0; i < s->nrcpts; i++)
		for (unsigned j = 0; j < s->rcpts[i].rules.ntypes; j++) {
			const char *type = s->rcpts[i].rules.blocked_types[j];
			size_t k = 0;

			while (k < n && strcasecmp(types[k], type) != 0)
				k++;
			if (k == n && n == max)
				return SIZE_MAX;	/* more than chosen rules are worth: every rule */
			if (k == n)
				types[n++] = type;
		}
	return n;
}

static void
eom_log_verdict(const struct eom_message *s, const char *rcpt, const struct verdict *v,
		    const struct scan_outcome *o)
{
	static const char *const actions[] = { "accept", "tag", "quarantine", "discard", "reject", "tempfail" };
	char detail[400] = "";

	stats_decision("scan", v->rule, actions[v->action]);
	if (v->action == VERDICT_DELIVER && !s->conf->log_accepted)
		return;
	if (o->virus)
		snprintf(detail, sizeof(detail), " virus=\"%s\"", o->virus_name);
	else if (o->spam_scored)
		snprintf(detail, sizeof(detail), " score=%.1f", o->score);
	if (v->failure)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " failure=\"%.200s\"", v->failure);
	if (v->unscanned)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " unscanned=\"%.150s\"", v->unscanned);
	else if (strcmp(v->rule, "uninspectable") == 0 || strcmp(v->rule, "encrypted") == 0)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " why=\"%.150s\"", v->text);
	msg_info("%s: %s rule=%s client=%s auth=%s from=<%s>%s%s%s%s%s%s%s%s%s", s->qid[0] ? s->qid : "NOQUEUE",
		 actions[v->action], v->rule, s->client[0] ? s->client : "unknown", s->auth_user[0] ? s->auth_user : "-",
		 s->sender, rcpt ? " to=<" : "", rcpt ? rcpt : "", rcpt ? ">" : "", detail,
		 v->rcode ? " reply=\"" : "", v->rcode ? v->rcode : "", v->rcode ? " " : "", v->rcode ? v->xcode : "",
		 v->rcode ? "\"" : "");
}

/* Scans the spool, and walks the attachments when some recipient blocks types; the
 * verdict of such a recipient fails closed on a report that is incomplete. */
static void
eom_run_scan(SMFICTX *ctx, const struct eom_message *s, struct scan_outcome *o, struct attach_report *attachments,
	     bool *attachments_read)
{
	const char *types[64];
	struct attach_want want = { types, eom_blocked_types(s, types, sizeof(types) / sizeof(*types)), 0 };
	const char **rcpts = calloc(s->nrcpts ? s->nrcpts : 1, sizeof(*rcpts));
	struct scan_job job = { .spool = s->spool, .client_ip = s->client, .helo = s->helo,
				.sender = s->sender, .queue_id = s->qid, .auth_user = s->auth_user,
				.user = eom_single_mailbox(s), .rcpts = rcpts, .nrcpts = rcpts ? s->nrcpts : 0,
				.want_spam = eom_any_wants_spam(s), .progress = eom_progress,
				.progress_arg = ctx };

	for (unsigned i = 0; rcpts && i < s->nrcpts; i++)
		rcpts[i] = s->rcpts[i].text;
	*attachments_read = want.ntypes > 0;
	if (want.ntypes == SIZE_MAX)
		want.ntypes = 0;
	workers_scan_message(eom_workers, eom_scanners, &job, *attachments_read ? &want : NULL,
			     net_now_ms() + (uint64_t)s->conf->scan_timeout * 1000, s->qid[0] ? s->qid : "NOQUEUE", o,
			     attachments);
	free(rcpts);
}

/*
 * Only hostmilter's own marks may reach the recipient: every copy the
 * sender wrote of a header hostmilter writes is deleted first, the last
 * one first, so that each deletion leaves the index of the ones before it
 * as Sendmail counts them.  0, or -1 when Sendmail refused a change.
 */
static int
eom_mark(SMFICTX *ctx, const struct eom_message *s, const struct scan_outcome *o, const struct message_verdict *m)
{
	struct marks_facts facts = { o, m, scanners_any(eom_scanners, SCAN_KIND_VIRUS),
				     scanners_any(eom_scanners, SCAN_KIND_SPAM), NULL };
	struct marks marks;
	char *subject;
	int rc;

	for (int i = 0; i < MARKS_MAX; i++)
		for (unsigned idx = s->marks_seen[i]; idx > 0; idx--)
			if (smfi_chgheader(ctx, (char *)marks_name(i), (int)idx, NULL) != MI_SUCCESS)
				return -1;
	marks_build(&facts, &marks);
	for (unsigned i = 0; i < marks.n; i++)
		if (smfi_addheader(ctx, (char *)marks.mark[i].name, marks.mark[i].value) != MI_SUCCESS)
			return -1;
	if (!m->spam_tag || !m->subject_tag)
		return 0;
	if (s->has_subject && !s->subject)
		return -1;	/* its copy failed: a tag on an empty subject would lose the sender's */
	if (!(subject = marks_subject_dup(s->subject, m->subject_tag)))
		return -1;
	rc = s->has_subject ? smfi_chgheader(ctx, "Subject", 1, subject) : smfi_addheader(ctx, "Subject", subject);
	free(subject);
	return rc == MI_SUCCESS ? 0 : -1;
}

static sfsistat
eom_apply_verdict(SMFICTX *ctx, const struct eom_message *s, const struct verdict *v, const struct message_verdict *m,
		  const struct scan_outcome *o, bool *quarantined)
{
	if (m->action != VERDICT_DELIVER) {
		if (m->reply->rcode)
			smfi_setreply(ctx, (char *)m->reply->rcode, (char *)m->reply->xcode, (char *)m->reply->text);
		return m->action == VERDICT_TEMPFAIL ? SMFIS_TEMPFAIL
		       : m->action == VERDICT_REJECT ? SMFIS_REJECT
						     : SMFIS_DISCARD;
	}
	for (unsigned i = 0; i < s->nrcpts; i++)
		if (verdict_refuses(&v[i]) && smfi_delrcpt(ctx, s->rcpts[i].arg) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;	/* cannot leave a refused recipient on the message */
	if (eom_mark(ctx, s, o, m) < 0)
		return SMFIS_TEMPFAIL;	/* a sender's mark that cannot be removed must not be delivered */
	*quarantined = m->quarantine;
	if (m->quarantine)
		smfi_quarantine(ctx, (char *)(o->virus ? o->virus_name : "held by hostmilter"));
	return SMFIS_CONTINUE;
}

sfsistat
eom_scan(SMFICTX *ctx, const struct eom_message *s, bool *quarantined)
{
	struct scan_outcome outcome;
	struct attach_report *attachments = calloc(1, sizeof(*attachments));
	struct verdict *v = calloc(s->nrcpts ? s->nrcpts : 1, sizeof(*v));
	struct message_verdict m;
	bool attachments_read = false;
	sfsistat rc = SMFIS_TEMPFAIL;

	*quarantined = false;
	if (attachments && v && s->spool) {
		eom_run_scan(ctx, s, &outcome, attachments, &attachments_read);
		for (unsigned i = 0; i < s->nrcpts; i++) {
			struct verdict_facts facts = { &outcome, attachments_read ? attachments : NULL, &s->rcpts[i].rules,
						       s->rcpts[i].sender_allowed,
						       s->conf->on_scanner_failure == CONF_FAILURE_ACCEPT };

			verdict_for_rcpt(&facts, &v[i]);
			eom_log_verdict(s, s->rcpts[i].text, &v[i], &outcome);
		}
		verdict_for_message(v, s->nrcpts, &m);
		rc = eom_apply_verdict(ctx, s, v, &m, &outcome, quarantined);
	} else
		msg_warn("%s: out of memory for the scan; tempfailing", s->qid[0] ? s->qid : "NOQUEUE");
	free(attachments);
	free(v);
	return rc;
}

