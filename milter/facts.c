/*
 * facts - policy lookups for the decisions; see facts.h.
 *
 * A mailbox owns, case-insensitively and through alias domains:
 *  - every address that delivers to it (the A: records), and the whole of
 *    a domain whose catch-all delivers to it, except the addresses that
 *    domain lists explicitly for someone else;
 *  - its send_as entries ("a@dom" one address, "@dom" a whole domain);
 *  - its own name, unqualified or at one of the server's host names,
 *    because that is where Sendmail delivers it locally;
 *  - the null sender, which bounces and auto-replies need.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "facts.h"

int
facts_auth_mailbox(const struct policydb *db, const char *auth_user, char *name, size_t namelen,
		   struct policy_mailbox *mailbox)
{
	const char *at = strchr(auth_user, '@');
	size_t len = at ? (size_t)(at - auth_user) : strlen(auth_user);

	memset(mailbox, 0, sizeof(*mailbox));
	if (len == 0 || len >= namelen || len > ADDR_NAME_MAX)
		return 1;
	if (at && !policydb_server_name(db, at + 1))
		return 1;
	memcpy(name, auth_user, len);
	name[len] = '\0';
	addr_lower(name);
	if (!addr_mailbox_name_valid(name))
		return 1;
	return policydb_mailbox(db, name, mailbox);
}

static bool
facts_names_have(char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/* The canonical form of a domain: itself unless it is one of our alias domains. */
static int
facts_canonical(const struct policydb *db, const char *domain, char *out)
{
	struct policy_domain record;
	int rc = policydb_domain(db, domain, &record);

	if (rc < 0)
		return -1;
	strcpy(out, rc == 0 ? record.canonical : domain);
	policy_domain_free(&record);
	return 0;
}

/* Owned through delivery: A: record, else the domain's catch-all. */
static int
facts_owned_by_delivery(const struct policydb *db, const char *name, const struct addr_envelope *sender)
{
	struct policy_domain record;
	char address[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2], **mailboxes;
	int rc = policydb_domain(db, sender->domain, &record), owned;

	if (rc != 0)
		return rc;
	if (record.kind == POLICY_DOMAIN_BACKUP) {
		policy_domain_free(&record);
		return 1;
	}
	snprintf(address, sizeof(address), "%s@%s", sender->local, record.canonical);
	rc = policydb_address(db, address, &mailboxes);
	if (rc == 0)
		owned = facts_names_have(mailboxes, name) ? 0 : 1;
	else if (rc == 1)
		owned = facts_names_have(record.catch_all, name) ? 0 : 1;
	else
		owned = -1;
	policy_names_free(mailboxes);
	policy_domain_free(&record);
	return owned;
}

/* Does the local part of "local@dom" or "@dom" (locallen bytes) admit this local part? */
static bool
facts_pattern_local(const char *pattern, size_t locallen, const char *local)
{
	return locallen == 0 || (locallen == strlen(local) && strncasecmp(pattern, local, locallen) == 0);
}

/* The pattern's domain is looked up only when it is not already the sender's. */
static int
facts_owned_by_send_as(const struct policydb *db, const struct policy_mailbox *mailbox,
		       const struct addr_envelope *sender)
{
	char sender_domain[ADDR_DOMAIN_MAX + 1], pattern_domain[ADDR_DOMAIN_MAX + 1];

	if (facts_canonical(db, sender->domain, sender_domain) < 0)
		return -1;
	for (char **p = mailbox->send_as; p && *p; p++) {
		const char *at = strrchr(*p, '@'), *domain;

		if (!at || !facts_pattern_local(*p, (size_t)(at - *p), sender->local))
			continue;
		domain = at + 1;
		if (strcmp(domain, sender->domain) != 0 && strcmp(domain, sender_domain) != 0) {
			if (strlen(domain) > ADDR_DOMAIN_MAX)
				continue;
			if (facts_canonical(db, domain, pattern_domain) < 0)
				return -1;
			if (strcmp(pattern_domain, sender_domain) != 0)
				continue;
		}
		return 0;
	}
	return 1;
}

int
facts_sender_owned(const struct policydb *db, const char *name, const struct policy_mailbox *mailbox,
		   const struct addr_envelope *sender)
{
	int rc;

	if (sender->kind == ADDR_ENV_NULL)
		return 0;
	if (sender->kind != ADDR_ENV_PLAIN)
		return 1;
	if (sender->domain[0] == '\0' || policydb_server_name(db, sender->domain))
		return strcmp(sender->local, name) == 0 ? 0 : 1;
	rc = facts_owned_by_delivery(db, name, sender);
	if (rc != 1)
		return rc;
	return facts_owned_by_send_as(db, mailbox, sender);
}

int
facts_rcpt_destination(const struct policydb *db, const struct addr_envelope *rcpt,
		       enum rcpt_destination *destination, uint64_t *limit, struct policy_domain *domain)
{
	int rc;

	memset(domain, 0, sizeof(*domain));
	*limit = 0;
	*destination = RCPT_REMOTE;
	if (rcpt->kind != ADDR_ENV_PLAIN)
		return 0;
	if (rcpt->domain[0] == '\0' || policydb_server_name(db, rcpt->domain)) {
		*destination = RCPT_LOCAL;
		return 0;
	}
	rc = policydb_domain(db, rcpt->domain, domain);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*destination = domain->kind == POLICY_DOMAIN_BACKUP ? RCPT_BACKUP_MX : RCPT_LOCAL;
		*limit = domain->rules->max_size;
	}
	return 0;
}

bool
facts_pattern_match(char *const *patterns, const struct addr_envelope *sender)
{
	if (sender->kind != ADDR_ENV_PLAIN || sender->domain[0] == '\0')
		return false;
	for (; patterns && *patterns; patterns++) {
		const char *at = strrchr(*patterns, '@');

		if (at && strcasecmp(at + 1, sender->domain) == 0
		    && facts_pattern_local(*patterns, (size_t)(at - *patterns), sender->local))
			return true;
	}
	return false;
}

bool
facts_cert_relay(const struct policydb *db, const char *verify, const char *issuer, const char *subject)
{
	if (!verify || strcmp(verify, "OK") != 0 || !issuer || !issuer[0])
		return false;
	return policydb_relay_certificate(db, issuer, subject ? subject : "");
}

/* The one mailbox in a list, or NULL when there are none or several. */
static const char *
facts_single(char *const *names)
{
	return names && names[0] && !names[1] ? names[0] : NULL;
}

/* A mailbox whose effective rules are the defaults set none of its own: its domain's apply. */
static const struct policy_rules *
facts_mailbox_rules(const struct policydb *db, const char *name, const struct policy_rules *rules)
{
	struct policy_mailbox mailbox;
	const struct policy_rules *own = NULL;

	if (policydb_mailbox(db, name, &mailbox) == 0) {
		own = policy_rules_equal(mailbox.rules, policydb_defaults(db)) ? NULL : mailbox.rules;
		policy_mailbox_free(&mailbox);
	}
	return own ? own : rules;
}

int
facts_rcpt_policy(const struct policydb *db, const struct addr_envelope *rcpt, enum rcpt_destination destination,
		  const struct policy_domain *domain, const struct policy_rules **rules, char *mailbox, size_t len)
{
	char address[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2], **names = NULL;
	const char *single = NULL;
	int rc;

	*rules = domain->rules ? domain->rules : policydb_defaults(db);
	mailbox[0] = '\0';
	if (destination != RCPT_LOCAL)
		return 0;
	if (!domain->rules) {	/* unqualified, or at one of the server's names: the local part is the mailbox */
		snprintf(address, sizeof(address), "%s", rcpt->local);
		addr_lower(address);
		single = address;
	} else {
		snprintf(address, sizeof(address), "%s@%s", rcpt->local, domain->canonical);
		addr_lower(address);
		rc = policydb_address(db, address, &names);
		if (rc < 0)
			return -1;
		single = facts_single(rc == 0 ? names : domain->catch_all);
	}
	if (single && strlen(single) < len) {
		strcpy(mailbox, single);
		*rules = facts_mailbox_rules(db, mailbox, *rules);
	}
	policy_names_free(names);
	return 0;
}
