/*
 * facts - what the decisions need, looked up in an open policy database.
 *
 * Promise: no libmilter types; every function takes plain strings as
 * Sendmail's macros and the SMTP arguments give them, and answers 0 / 1
 * (yes / no, found / not found) or -1 when a record could not be read,
 * which callers turn into a temporary failure.
 */
#ifndef HM_FACTS_H
#define HM_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "decide.h"
#include "policydb.h"

/*
 * The mailbox an {auth_authen} names: "user", or "user@REALM" when REALM
 * is one of the server's names.  0 found (*mailbox filled, free it with
 * policydb_mailbox_free), 1 not a mailbox, -1 unreadable.
 */
int facts_auth_mailbox(const struct policydb *db, const char *auth_user, char *name, size_t namelen,
		       struct policy_mailbox *mailbox);

/*
 * Whether Sendmail's reading of a sender is one hostmilter can follow: 0
 * yes, 1 no (a '%' or '!' local part at a domain of this server, which
 * Sendmail would route elsewhere, or a domain that is no host name), -1 a
 * record could not be read.  See facts.c.
 */
int facts_sender_readable(const struct policydb *db, const struct addr_envelope *sender);

/* 0 owned, 1 not owned, -1 unreadable.  See facts.c for what "own" means. */
int facts_sender_owned(const struct policydb *db, const char *mailbox_name,
		       const struct policy_mailbox *mailbox, const struct addr_envelope *sender);

/*
 * Everything hostmilter needs of a recipient, looked up once at RCPT:
 * where it goes and the rules it gets (policydb_recipient), and what its
 * domain says of the sender.
 */
struct rcpt_lookup {
	enum rcpt_destination destination;
	struct policy_recipient recipient;
	bool sender_blocked, sender_allowed;
};

/* 0, or -1 when a record could not be read; free with facts_rcpt_lookup_free either way. */
int facts_rcpt_lookup(const struct policydb *db, const struct addr_envelope *rcpt, const struct addr_envelope *sender,
		      struct rcpt_lookup *out);
void facts_rcpt_lookup_free(struct rcpt_lookup *lookup);
/* What decide_rcpt needs of a lookup. */
void facts_rcpt_apply(const struct rcpt_lookup *lookup, struct rcpt_facts *facts);

/* The limit an authenticated mailbox's messages are held to: its own, else the default. */
uint64_t facts_sender_limit(const struct policydb *db, const struct policy_mailbox *mailbox);

/*
 * Who pays for an accepted recipient, and at what rate (DESIGN: rate
 * limits): the authenticated mailbox, else the relay network's client (an
 * IPv6 client by its /64), else the relaying certificate; nobody for other
 * mail (to local or routed domains from outside).  Rate and burst are
 * resolved member by member from the payer's own rate_limit and the
 * defaults; a burst of 0 is one hour's allowance.  On a bulk daemon the
 * bulk allowance applies, counted apart ("bulk:" keys), when the mailbox or
 * the defaults set one; else the ordinary allowance and counter.
 */
struct rate_payer {
	const char *auth_mailbox;	/* the mailbox name, or NULL */
	const struct policy_mailbox *mailbox;
	const struct policy_relay_right *network;	/* the client's relay network, or NULL */
	int family;			/* the client's address, canonical (facts_client_canonical) */
	const uint8_t *addr;
	const struct policy_relay_right *certificate;	/* the relaying certificate, or NULL */
	const char *cert_identity;	/* facts_cert_identity of it: the key */
	const char *cert_issuer, *cert_subject;	/* printable, as Sendmail gave them: the reply's name */
	bool bulk;			/* {daemon_name} is in BulkDaemons */
};

/*
 * Certificate DNs longer than this ({cert_issuer} or {cert_subject}, xtext
 * as Sendmail gives them) grant no relay right at all: refused, never cut,
 * so two certificates can never share a right or a rate allowance by a
 * common prefix.  Sendmail's own are at most 3 x 255 bytes.
 */
#define FACTS_CERT_DN_MAX 2048
#define FACTS_RATE_KEY_MAX (2 * FACTS_CERT_DN_MAX + 16)
#define FACTS_RATE_WHO_MAX 300

struct rate_charge {
	char key[FACTS_RATE_KEY_MAX];	/* "mailbox:NAME", "client:ADDR", "cert:ISSUER|SUBJECT", with "bulk:" */
	char who[FACTS_RATE_WHO_MAX];	/* the payer as a reply names it: NAME, ADDR, else SUBJECT (ISSUER if none) */
	uint32_t per_hour;		/* 0: unlimited */
	uint32_t burst;
};

/* 1 when someone pays (*charge filled), 0 when nobody does or the rate is unlimited, -1 when the
 * key would not fit FACTS_RATE_KEY_MAX (refused, never cut into another payer's key). */
int facts_rate_charge(const struct policydb *db, const struct rate_payer *payer, struct rate_charge *charge);

/* Does a pattern list ("a@dom", "@dom") match this sender ("a@dom" also a+detail@dom)? */
bool facts_pattern_match(char *const *patterns, const struct addr_envelope *sender);

/* The client's certificate relay right from {verify}, {cert_issuer}, {cert_subject}, or NULL
 * (also for a DN longer than FACTS_CERT_DN_MAX). */
const struct policy_relay_right *facts_cert_relay(const struct policydb *db, const char *verify, const char *issuer,
						  const char *subject);

/*
 * A certificate as relaying compares it, whole: "issuer|subject", ASCII
 * case folded (the relay check and Sendmail's access map ignore case), so
 * that one certificate has one rate allowance however its DN is spelled.
 * Written into out (FACTS_RATE_KEY_MAX bytes); false when a DN is longer
 * than FACTS_CERT_DN_MAX.
 */
bool facts_cert_identity(const char *issuer, const char *subject, char *out, size_t outlen);

/* The client's address as every decision keys on it: an IPv4-mapped IPv6 address is IPv4. */
void facts_client_canonical(int *family, uint8_t addr[16]);

#endif
