/*
 * policydb - hostmilter.db opened for reading (layout in policy.h).
 *
 * Promise: policydb_open refuses a file whose @format is not ours (naming
 * an older format as "rerun hostmapgen"), and loads what every connection
 * needs (server names, defaults, every rule set, relay networks and
 * certificates) into memory.  Domain, mailbox and address records are
 * decoded once per open policydb and kept (at most POLICYDB_CACHE_MAX of
 * them; past that a lookup decodes a private copy), so a lookup is a hash
 * probe.  An open policydb never changes and may be shared by any number of
 * threads; a new hostmilter.db is a new policydb.  Lookups answer found,
 * not found, or -1 for a record that exists but cannot be read, which the
 * caller treats as a temporary failure, never as "not found".  What a
 * lookup fills stays valid until its *_free, which callers always call.
 */
#ifndef HM_POLICYDB_H
#define HM_POLICYDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "policy.h"

struct policydb;

/* Far above any panel's; bounds a damaged database. */
#define POLICYDB_LIST_MAX 10000
#define POLICYDB_CACHE_MAX 200000

enum policy_domain_kind { POLICY_DOMAIN_LOCAL, POLICY_DOMAIN_BACKUP, POLICY_DOMAIN_ALIAS, POLICY_DOMAIN_ROUTED };

/* Lists of patterns ("a@dom" or "@dom") and names, NULL-terminated; rules
 * are what the record sets itself (policy_rules_overlay resolves them). */
struct policy_domain {
	enum policy_domain_kind kind;
	const char *canonical;
	const struct policy_rules *rules;
	char *const *allow_senders;
	char *const *block_senders;
	char *const *catch_all;	/* mailboxes the domain's catch-all delivers to */
	bool listed;		/* only its A: records (and postmaster) are valid recipients */
	void *owned;		/* a private decode, freed by policydb_domain_free */
};

struct policy_mailbox {
	const struct policy_rules *rules;
	struct policy_rate rate;
	char *const *send_as;
	void *owned;
};

/* A local name addressed unqualified or at a server name (L: records, policy.h). */
struct policy_local {
	char *const *mailboxes;		/* the mailboxes it reaches, NULL-terminated */
	const struct policy_rules *rules;	/* complete: the strictest of its mailboxes' domains */
	char *const *block_senders;
	void *owned;
};

/* A relay network or certificate, and its own rate limit. */
struct policy_relay_right {
	const char *text;	/* "192.0.2.0/27", or the certificate's subject ("" any) */
	struct policy_rate rate;
};

struct policydb *policydb_open(const char *path, char *err, size_t errlen);
void policydb_close(struct policydb *db);
/* Lowers how many decoded records are kept (tests cross the limit); how many are. */
void policydb_cache_limit(struct policydb *db, size_t max);
size_t policydb_cached(const struct policydb *db);

const char *policydb_digest(const struct policydb *db);
const struct policy_rules *policydb_defaults(const struct policydb *db);
const struct policy_rate *policydb_default_rate(const struct policydb *db);
/* The largest max_size of any rule set: the largest message the policy accepts. */
uint64_t policydb_largest_size(const struct policydb *db);
/* Whether some rule set blocks types: then some message's content must be read. */
bool policydb_blocks_types(const struct policydb *db);
/* The server's own host names: the hostname and the export's "names". */
bool policydb_server_name(const struct policydb *db, const char *domain);
/* The most specific relay network holding the address, or NULL. */
const struct policy_relay_right *policydb_relay_network(const struct policydb *db, int family, const uint8_t *addr);
/* issuer and subject as Sendmail gives {cert_issuer} and {cert_subject}; a
 * certificate listed for its subject wins over one for any subject. */
const struct policy_relay_right *policydb_relay_certificate(const struct policydb *db, const char *issuer,
							    const char *subject);

/* Lower-case keys.  0 found, 1 not found, -1 unreadable record. */
int policydb_domain(const struct policydb *db, const char *domain, struct policy_domain *out);
void policydb_domain_free(struct policy_domain *domain);
int policydb_mailbox(const struct policydb *db, const char *name, struct policy_mailbox *out);
void policydb_mailbox_free(struct policy_mailbox *mailbox);
/* The mailboxes "local@canonical-domain" delivers to, NULL-terminated
 * (empty for an address that exists but reaches no mailbox). */
struct policy_address {
	char *const *mailboxes;
	void *owned;
};
int policydb_address(const struct policydb *db, const char *address, struct policy_address *out);
void policydb_address_free(struct policy_address *address);
int policydb_local(const struct policydb *db, const char *name, struct policy_local *out);
void policydb_local_free(struct policy_local *local);

/*
 * The rules a recipient gets, key by key: the mailbox's own (may be NULL),
 * else the domain's (may be NULL), else the defaults.
 */
void policydb_resolve(const struct policydb *db, const struct policy_rules *domain,
		      const struct policy_rules *mailbox, struct policy_rules *out);

/*
 * A recipient address: where it goes, whether its domain knows it, and the
 * rules it gets -- its mailbox's own setting, key by key, else its
 * domain's, else the defaults, the mailbox counting when the address
 * reaches exactly one (directly, through aliases or the catch-all); a
 * routed or backup-MX domain's own rules; the defaults elsewhere.  An
 * unqualified address, or one at a server name, is a local name (L:
 * record): the rules are the strictest its mailboxes get through any of
 * their domains, and its senders are blocked by all of those domains; a
 * name hostmilter.db does not know (a system account) gets the defaults,
 * and a generated alias name (POLICY_GENERATED_ALIAS_MARK) is flagged.
 * A local part with "+detail" falls back to the address without it, as
 * Sendmail does.  local and domain are the canonical (lower-case) form
 * addr_envelope_parse gives, made once per RCPT and not again here.  0,
 * or -1 when a record could not be read (then the rules are not to be
 * used); free with policydb_recipient_free either way.
 */
enum policy_rcpt_place { POLICY_RCPT_ELSEWHERE, POLICY_RCPT_HERE, POLICY_RCPT_BACKUP, POLICY_RCPT_ROUTED };

struct policy_recipient {
	enum policy_rcpt_place place;
	struct policy_domain domain;	/* zero unless the domain is ours */
	struct policy_local local;	/* zero unless addressed at a server name or unqualified */
	bool unknown;			/* its routed or backup domain lists addresses, not this one */
	bool generated_alias;		/* a generated alias name at a server name: never an address */
	struct policy_rules rules;
	char mailbox[ADDR_NAME_MAX + 1];	/* the one mailbox it reaches, "" else */
	char *const *allow_senders;	/* of its domain (none at a server name) */
	char *const *block_senders;	/* of its domain, or of every domain of its local name */
};

int policydb_recipient(const struct policydb *db, const char *local, const char *domain,
		       struct policy_recipient *out);
void policydb_recipient_free(struct policy_recipient *recipient);

#endif
