/*
 * policydb - hostmilter.db opened for reading (layout in policy.h).
 *
 * Promise: policydb_open refuses a file whose @format is not ours, and
 * loads what every connection needs (server names, defaults, every rule
 * set, relay networks and certificates) into memory, so that the lookups
 * per message are one hash probe each (domains, mailboxes, addresses).
 * An open policydb never changes and may be shared by any number of
 * threads; a new hostmilter.db is a new policydb.  Lookups answer found,
 * not found, or -1 for a record that exists but cannot be read, which the
 * caller treats as a temporary failure, never as "not found".
 */
#ifndef HM_POLICYDB_H
#define HM_POLICYDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "policy.h"

struct policydb;

enum policy_domain_kind { POLICY_DOMAIN_LOCAL, POLICY_DOMAIN_BACKUP, POLICY_DOMAIN_ALIAS };

/* Lists of patterns ("a@dom" or "@dom") and names, NULL-terminated. */
struct policy_domain {
	enum policy_domain_kind kind;
	char canonical[ADDR_DOMAIN_MAX + 1];
	const struct policy_rules *rules;
	char **allow_senders;
	char **block_senders;
	char **catch_all;	/* mailboxes the domain's catch-all delivers to */
};

struct policy_mailbox {
	const struct policy_rules *rules;
	unsigned recipients_per_hour;
	char **send_as;
};

struct policydb *policydb_open(const char *path, char *err, size_t errlen);
void policydb_close(struct policydb *db);

const char *policydb_digest(const struct policydb *db);
const struct policy_rules *policydb_defaults(const struct policydb *db);
/* The largest max_size of any rule set: the largest message the policy accepts. */
uint64_t policydb_largest_size(const struct policydb *db);
/* The server's own host names: the hostname and the export's "names". */
bool policydb_server_name(const struct policydb *db, const char *domain);
bool policydb_relay_network(const struct policydb *db, int family, const uint8_t *addr);
/* issuer and subject as Sendmail gives {cert_issuer} and {cert_subject}. */
bool policydb_relay_certificate(const struct policydb *db, const char *issuer, const char *subject);

/* Lower-case keys.  0 found, 1 not found, -1 unreadable record. */
int policydb_domain(const struct policydb *db, const char *domain, struct policy_domain *out);
void policy_domain_free(struct policy_domain *domain);
int policydb_mailbox(const struct policydb *db, const char *name, struct policy_mailbox *out);
void policy_mailbox_free(struct policy_mailbox *mailbox);
/* The mailboxes "local@canonical-domain" delivers to, NULL-terminated
 * (empty for an address that exists but reaches no mailbox). */
int policydb_address(const struct policydb *db, const char *address, char ***mailboxes);
void policy_names_free(char **names);

#endif
