/*
 * decide - the provider's rules; see decide.h.
 *
 * Order of the recipient checks, and why:
 *  1. lookup failures tempfail first: without the facts no answer is safe;
 *  2. routing tricks before relaying: a "local" domain we parsed may not be
 *     where Sendmail would send the message, and a source route or bang
 *     path is no form a client without a relay right needs;
 *  3. relaying; 4. a generated alias name at a server name, and a
 *     recipient its routed or backup domain does not list (550 5.1.1 at
 *     the edge, instead of a bounce later); 5. the recipient count; 6. SIZE=
 *     against the recipient's limit; 7. the domain's blocked senders.
 * At MAIL, a sender Sendmail would route where hostmilter cannot follow is
 * refused for every client (553 5.1.7): no decision keyed on it could be
 * trusted, and nobody's mail needs such a form.
 * Size over the limit while the body streams refuses the whole message
 * (552), never a silent subset of recipients: a sender whose message is
 * refused gets a bounce and can split it, while a removed recipient would
 * simply never see the mail.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decide.h"
#include "size.h"

static void
decide_continue(struct decision *d, const char *rule)
{
	memset(d, 0, sizeof(*d));
	d->action = DECIDE_CONTINUE;
	d->rule = rule;
}

static void
decide_refuse(struct decision *d, enum decide_action action, const char *rule, const char *rcode,
	      const char *xcode, const char *text)
{
	d->action = action;
	d->rule = rule;
	d->rcode = rcode;
	d->xcode = xcode;
	snprintf(d->text, sizeof(d->text), "%s", text);
	d->note[0] = '\0';
}

static void
decide_tempfail(struct decision *d)
{
	decide_refuse(d, DECIDE_TEMPFAIL, "policy-unavailable", "451", "4.3.0",
		      "Policy temporarily unavailable, try again later");
}

const char *
decide_relay_right(const struct client_facts *client)
{
	if (client->auth_user && client->auth_mailbox)
		return "auth";
	if (client->in_relay_network)
		return "network";
	if (client->cert_relay)
		return "certificate";
	return NULL;
}

static void
decide_size_text(struct decision *d, const char *rule, uint64_t limit)
{
	char limit_text[32], text[120];

	size_format(limit, limit_text, sizeof(limit_text));
	snprintf(text, sizeof(text), "Message size exceeds the limit of %s", limit_text);
	decide_refuse(d, DECIDE_REJECT, rule, "552", "5.3.4", text);
}

void
decide_mail(const struct mail_facts *f, struct decision *d)
{
	const struct client_facts *client = f->client;

	decide_continue(d, "mail");
	if (f->shutting_down)
		decide_refuse(d, DECIDE_TEMPFAIL, "shutdown", "451", "4.3.2", "Filter shutting down, try again later");
	else if (f->lookup_failed)
		decide_tempfail(d);
	else if (f->content_missing)
		decide_refuse(d, DECIDE_TEMPFAIL, "policy-reloaded", "451", "4.3.2",
			      "Policy changed since this connection began, try again");
	else if (client->auth_required && !client->auth_user)
		decide_refuse(d, DECIDE_REJECT, "auth-required", "530", "5.7.0", "Authentication required");
	else if (client->auth_user && !client->auth_mailbox)
		decide_refuse(d, DECIDE_REJECT, "auth-unknown-user", "550", "5.7.1",
			      "Authenticated user is not a mailbox of this server");
	else if (f->sender_unreadable)
		decide_refuse(d, DECIDE_REJECT, "sender-routing", "553", "5.1.7",
			      "Sender address form not accepted: it routes elsewhere");
	else if (client->auth_user && !f->sender_owned)
		decide_refuse(d, DECIDE_REJECT, "sender-not-owned", "553", "5.7.1", "Sender address not owned");
	else if (f->declared_size && f->sender_limit && f->declared_size > f->sender_limit)
		decide_size_text(d, "size-sender", f->sender_limit);
}

void
decide_rcpt(const struct rcpt_facts *f, struct decision *d)
{
	static const char *const rules[] = { [RCPT_LOCAL] = "local", [RCPT_BACKUP_MX] = "backup-mx",
					     [RCPT_ROUTED] = "routed", [RCPT_REMOTE] = NULL };
	const char *right = decide_relay_right(f->client);

	if (f->lookup_failed) {
		decide_tempfail(d);
		return;
	}
	decide_continue(d, rules[f->destination] ? rules[f->destination] : right);
	if ((f->rcpt->kind != ADDR_ENV_PLAIN || f->rcpt->route) && !right) {
		char text[120];

		snprintf(text, sizeof(text), "Recipient address not accepted: %s",
			 f->rcpt->kind == ADDR_ENV_NULL ? "empty address" : f->rcpt->why);
		decide_refuse(d, DECIDE_REJECT, "rcpt-routing", "550", "5.7.1", text);
	} else if (f->rcpt->kind != ADDR_ENV_PLAIN || f->rcpt->route) {
		d->rule = right;	/* a relaying client may use any address form */
	} else if (f->destination == RCPT_REMOTE && !right)
		decide_refuse(d, DECIDE_REJECT, "relay", "550", "5.7.1", "Relaying denied");
	if (d->action != DECIDE_CONTINUE)
		return;
	if (f->generated_alias && f->rcpt->kind == ADDR_ENV_PLAIN)
		decide_refuse(d, DECIDE_REJECT, "generated-alias", "550", "5.1.1", "User unknown");
	else if (f->unknown_recipient && f->rcpt->kind == ADDR_ENV_PLAIN)
		decide_refuse(d, DECIDE_REJECT, "unknown-recipient", "550", "5.1.1", "User unknown");
	else if (f->max_recipients && f->accepted >= f->max_recipients)
		decide_refuse(d, DECIDE_TEMPFAIL, "too-many-recipients", "452", "4.5.3", "Too many recipients");
	else if (f->declared_size && f->rcpt_limit && f->declared_size > f->rcpt_limit)
		decide_size_text(d, "size-recipient", f->rcpt_limit);
	else if (f->sender_blocked)
		decide_refuse(d, DECIDE_REJECT, "block-senders", "550", "5.7.1",
			      "Sender refused by the recipient's domain");
}

void
decide_rate(enum decide_rate_outcome outcome, bool warn_only, const char *who, uint32_t per_hour, uint64_t retry_after,
	    struct decision *d)
{
	char text[160];

	if (outcome == DECIDE_RATE_ALLOWED)
		return;	/* the recipient's own decision stands */
	if (outcome == DECIDE_RATE_LIMITED && warn_only)
		d->rule = "rate-limit-warn";	/* accepted, and logged */
	else if (outcome == DECIDE_RATE_STORE_FAILED)
		decide_refuse(d, DECIDE_TEMPFAIL, "rate-limit-store", "451", "4.3.0",
			      "Rate limit store unavailable, try again later");
	else if (outcome == DECIDE_RATE_LIMITED && !warn_only) {
		snprintf(text, sizeof(text), "Rate limit of %u recipients per hour for %.60s exceeded, retry in %llu seconds",
			 per_hour, who, (unsigned long long)retry_after);
		decide_refuse(d, DECIDE_TEMPFAIL, "rate-limit", "451", "4.7.1", text);
	}
}

void
decide_size(uint64_t counted, uint64_t limit, struct decision *d)
{
	decide_continue(d, "size");
	if (limit && counted > limit)
		decide_size_text(d, "size-counted", limit);
}

uint64_t
decide_message_limit(uint64_t current, uint64_t more)
{
	if (!current)
		return more;
	if (!more)
		return current;
	return more < current ? more : current;
}

int
decide_parse_msg_size(const char *macro, uint64_t *size)
{
	uint64_t n = 0;

	if (!macro || !*macro || strlen(macro) > 20)
		return 0;
	for (const char *p = macro; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*size = n;
	return 1;
}

int
decide_parse_size_param(const char *param, uint64_t *size)
{
	const char *digits;
	uint64_t n = 0;

	if (strncasecmp(param, "SIZE=", 5) != 0)
		return 0;
	digits = param + 5;
	if (*digits == '\0' || strlen(digits) > 20)
		return -1;
	for (const char *p = digits; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*size = n;
	return 1;
}
