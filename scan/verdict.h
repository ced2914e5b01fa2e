/*
 * verdict - what a scan means for each recipient, and for the message.
 *
 * Promise: pure functions over plain structs (no clock, no I/O, no
 * libmilter), shared by hostmilter and hostscan and unit-tested directly.
 * For one recipient, in this order:
 * 1. a virus found is handled by the recipient's virus policy (reject
 *    554 5.7.1, discard, quarantine, tag), whatever else failed;
 * 2. a blocked true type found among the parts inspected rejects (550
 *    5.7.1), also when the virus policy would only tag;
 * 3. what could not be inspected, for a reason the next try meets again
 *    (a virus engine's limit, an incomplete attachment walk when its rules
 *    block types), gets the recipient's "uninspectable" action: reject
 *    (554 5.7.1 naming why), quarantine, or tag; encrypted content (a
 *    virus engine's or the walk's finding) gets its "encrypted" action:
 *    reject (554 5.7.1), quarantine, tag or accept.  A retry would meet
 *    the same message, so neither is ever a 4xx;
 * 4. a failure that matters to it and may pass on the next try tempfails
 *    (451 4.7.1) unless OnScannerFailure is accept -- a virus engine that
 *    failed, a spam engine that gave no score when the recipient wants
 *    one, attachments not examined or a walk that failed when its rules
 *    block types;
 * 5. content delivered uninspected is marked: "X-Virus-Status: Unscanned
 *    (why)" (unscanned), and "X-Virus-Flag: YES" (virus_flag) when the
 *    policy said tag -- for a virus, uninspectable or encrypted content;
 * 6. a spam score is held against the recipient's reject, discard and tag
 *    scores, unless the sender is in the recipient domain's allow_senders
 *    or the recipient's policy does not scan.  For the message: any tempfail tempfails it all
 * (nothing is accepted unscanned); when every recipient refuses, the
 * message is refused (rejected if any recipient rejects, else discarded);
 * otherwise the refusing recipients are removed and the rest delivered,
 * held in quarantine when any of them asks for it.
 */
#ifndef HM_VERDICT_H
#define HM_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "attach.h"
#include "policy.h"
#include "scanners.h"

enum verdict_action {
	VERDICT_DELIVER,
	VERDICT_TAG,		/* deliver, marked as spam or virus */
	VERDICT_QUARANTINE,
	VERDICT_DISCARD,
	VERDICT_REJECT,
	VERDICT_TEMPFAIL,
};

struct verdict {
	enum verdict_action action;
	const char *rule;	/* "virus", "spam", "blocked-type", "scanner-failure", "clean" */
	const char *rcode, *xcode;
	char text[160];
	bool spam_tag;		/* deliver with X-Spam-Flag YES and the subject tag */
	const char *failure;	/* what was not inspected, when the rule says scanner-failure */
	const char *subject_tag;
	const char *unscanned;	/* delivered uninspected: why ("encrypted" for encrypted content) */
	bool virus_flag;	/* the policy said tag: X-Virus-Flag */
};

struct verdict_facts {
	const struct scan_outcome *outcome;
	const struct attach_report *attachments;	/* NULL when not examined (a failure if the rules block types) */
	const struct policy_rules *rules;	/* the recipient's */
	bool sender_allowed;	/* in the recipient domain's allow_senders */
	bool accept_on_failure;	/* OnScannerFailure accept */
};

void verdict_for_rcpt(const struct verdict_facts *facts, struct verdict *v);

/* A type the rules block, among those found, or NULL. */
const char *verdict_blocked_type(const struct attach_report *attachments, const struct policy_rules *rules);

struct message_verdict {
	enum verdict_action action;	/* DELIVER (with removals), DISCARD, REJECT or TEMPFAIL */
	const struct verdict *reply;	/* the recipient verdict whose reply the message gets */
	bool quarantine;
	bool spam_tag;
	const char *subject_tag;
	const char *unscanned;	/* some delivered recipient gets it uninspected: why */
	bool virus_flag;	/* some delivered recipient's policy said tag */
	size_t removed;		/* recipients whose verdict refuses: removed when delivering */
};

void verdict_for_message(const struct verdict *rcpts, size_t n, struct message_verdict *m);

/* Whether a recipient with this verdict is removed from a delivered message. */
bool verdict_refuses(const struct verdict *v);

#endif
