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
 * policy_mailbox_free), 1 not a mailbox, -1 unreadable.
 */
int facts_auth_mailbox(const struct policydb *db, const char *auth_user, char *name, size_t namelen,
		       struct policy_mailbox *mailbox);

/* 0 owned, 1 not owned, -1 unreadable.  See facts.c for what "own" means. */
int facts_sender_owned(const struct policydb *db, const char *mailbox_name,
		       const struct policy_mailbox *mailbox, const struct addr_envelope *sender);

/*
 * Where a recipient goes and the limit its domain sets (0: the default's,
 * which the sender limit already covers).  Fills *domain when the domain
 * is one of ours (free it with policy_domain_free).  0 or -1.
 */
int facts_rcpt_destination(const struct policydb *db, const struct addr_envelope *rcpt,
			   enum rcpt_destination *destination, uint64_t *limit, struct policy_domain *domain);

/*
 * The rules a recipient's mail is scanned by: its mailbox's own rules when
 * the address reaches exactly one mailbox that has rules of its own, else
 * its domain's, else (relayed mail) the defaults.  mailbox gets that one
 * mailbox's name, or "" (spamd's User).  0 or -1.
 */
int facts_rcpt_policy(const struct policydb *db, const struct addr_envelope *rcpt, enum rcpt_destination destination,
		      const struct policy_domain *domain, const struct policy_rules **rules, char *mailbox, size_t len);

/* Does a pattern list ("a@dom", "@dom") match this sender? */
bool facts_pattern_match(char *const *patterns, const struct addr_envelope *sender);

/* The client's certificate relay right from {verify}, {cert_issuer}, {cert_subject}. */
bool facts_cert_relay(const struct policydb *db, const char *verify, const char *issuer, const char *subject);

#endif
