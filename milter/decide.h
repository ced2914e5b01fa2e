/*
 * decide - the provider's rules as pure functions over plain structs.
 *
 * Promise: nothing here reads a socket, a macro, a clock or a database;
 * the libmilter callbacks gather facts (facts.c) and apply the decision.
 * Every refusal names its rule (for the log line) and carries the SMTP
 * reply of the table in hostmilter(8), SMTP REPLIES.  When a fact could
 * not be gathered (lookup_failed) the answer is a temporary failure,
 * never an acceptance.
 */
#ifndef HM_DECIDE_H
#define HM_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

enum decide_action { DECIDE_CONTINUE, DECIDE_REJECT, DECIDE_TEMPFAIL };

struct decision {
	enum decide_action action;
	const char *rule;	/* short name for the log: "relay", "auth-required", ... */
	const char *rcode;	/* "550"; NULL when continuing */
	const char *xcode;	/* "5.7.1" */
	char text[160];
	char note[240];		/* more for the log line, "" for none; a decision with a note is always logged */
	const char *mailbox;	/* the one mailbox whose rules a recipient gets, for the log; NULL: none */
};

/* What is known of the client when a message starts. */
struct client_facts {
	bool auth_required;	/* its {daemon_name} is in AuthRequiredDaemons */
	const char *auth_user;	/* {auth_authen}, NULL without AUTH */
	bool auth_mailbox;	/* auth_user is a mailbox of this server */
	bool in_relay_network;
	bool cert_relay;	/* {verify} OK with a configured issuer and subject */
};

struct mail_facts {
	const struct client_facts *client;
	const struct addr_envelope *sender;
	bool sender_owned;	/* by auth_user; read only when authenticated */
	bool sender_unreadable;	/* Sendmail would route it where hostmilter cannot follow (facts_sender_readable) */
	uint64_t declared_size;	/* ESMTP SIZE=, 0 when not given */
	uint64_t sender_limit;	/* an authenticated mailbox's limit; 0: none (recipients' apply) */
	bool lookup_failed;
	bool shutting_down;
	bool content_missing;	/* a reload needs the content the connection negotiated away */
};

/* Local: delivered here; backup MX and routed: relayed for a domain of ours; remote: anywhere else. */
enum rcpt_destination { RCPT_LOCAL, RCPT_BACKUP_MX, RCPT_ROUTED, RCPT_REMOTE };

struct rcpt_facts {
	const struct client_facts *client;
	const struct addr_envelope *rcpt;
	enum rcpt_destination destination;
	uint64_t declared_size;
	uint64_t rcpt_limit;	/* the recipient's size limit (its rules'); 0: none */
	bool unknown_recipient;	/* not a valid recipient of its routed or backup domain */
	bool generated_alias;	/* a name hostmapgen generated for the virtusertable, at a server name */
	bool sender_blocked;	/* the sender is in the domain's block_senders */
	unsigned accepted;	/* recipients accepted so far in this message */
	unsigned max_recipients;
	bool lookup_failed;
};

/* The right that lets this client relay ("auth", "network", "certificate"), or NULL. */
const char *decide_relay_right(const struct client_facts *client);

void decide_mail(const struct mail_facts *facts, struct decision *d);
void decide_rcpt(const struct rcpt_facts *facts, struct decision *d);
/*
 * A recipient d accepted, then charged to a sender's rate limit: over the
 * limit, 451 4.7.1 for this recipient only, with the seconds to wait (warn:
 * accepted as rule rate-limit-warn); a store that failed with
 * OnRateLimitStoreFailure tempfail, 451 4.3.0; allowed, d stands.  who: the
 * payer as the reply names it; retry_after in seconds.
 */
enum decide_rate_outcome { DECIDE_RATE_ALLOWED, DECIDE_RATE_LIMITED, DECIDE_RATE_STORE_FAILED };
void decide_rate(enum decide_rate_outcome outcome, bool warn_only, const char *who, uint32_t per_hour,
		 uint64_t retry_after, struct decision *d);

/* Bytes counted so far against the message's limit. */
void decide_size(uint64_t counted, uint64_t limit, struct decision *d);
/* {msg_size} at end of message, Sendmail's own count of the message: 1 read, 0 absent or malformed. */
int decide_parse_msg_size(const char *macro, uint64_t *size);
/* The limit a message is held to: the smaller of the two, 0 meaning none. */
uint64_t decide_message_limit(uint64_t current, uint64_t more);

/* "1.5.3 MESSAGE" parsing of ESMTP MAIL parameters: the SIZE= value.
 * 0 absent, 1 present (*size set), -1 malformed. */
int decide_parse_size_param(const char *param, uint64_t *size);

#endif
