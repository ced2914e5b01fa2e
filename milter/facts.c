/*
 * facts - policy lookups for the decisions; see facts.h.
 *
 * A mailbox owns, case-insensitively and through alias domains, and each
 * address in the one form Sendmail reads it (addr.h):
 *  - every address that delivers to it (the A: records), and the whole of
 *    a domain whose catch-all delivers to it, except the addresses that
 *    domain lists explicitly for someone else; "user+detail@dom" is
 *    user@dom's, as Sendmail's virtusertable falls back, before the
 *    catch-all is asked -- so the catch-all's owner never owns staff+x@;
 *  - its send_as entries ("a@dom" one address, and its +detail forms;
 *    "@dom" a whole domain, whatever its local parts);
 *  - its own name, with any +detail, unqualified or at one of the server's
 *    host names, because that is where Sendmail delivers it locally, and
 *    there every name of the export that delivers to it (an alias; L:
 *    records) -- but no generated alias name, which is no address;
 *  - the null sender, which bounces and auto-replies need.
 * A sender whose local part Sendmail would route by ('%', '!') at a domain
 * of this server, or whose domain cannot be read at all, is nobody's: its
 * bounces would go where hostmilter cannot tell (facts_sender_readable).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dstr.h"
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
	/* a canonical name cut to fit would be another domain's: a database holding one is refused */
	rc = dstr_fmt(out, ADDR_DOMAIN_MAX + 1, "%s", rc == 0 ? record.canonical : domain) < 0 ? -1 : 0;
	policydb_domain_free(&record);
	return rc;
}

/* The A: record of local@canonical, else of its user part before "+detail": 0, 1 neither, -1. */
static int
facts_address_or_detail(const struct policydb *db, const struct addr_envelope *sender, const char *canonical,
			struct policy_address *found)
{
	char address[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	size_t len = strlen(sender->local);
	int rc;

	if (dstr_fmt(address, sizeof(address), "%s@%s", sender->local, canonical) < 0)
		return -1;
	rc = policydb_address(db, address, found);
	if (rc != 1 || sender->userlen >= len)
		return rc;
	if (dstr_fmt(address, sizeof(address), "%.*s@%s", (int)sender->userlen, sender->local, canonical) < 0)
		return -1;
	return policydb_address(db, address, found);
}

/* Owned through delivery: A: record (with the +detail fallback), else the domain's catch-all. */
static int
facts_owned_by_delivery(const struct policydb *db, const char *name, const struct addr_envelope *sender)
{
	struct policy_domain record;
	struct policy_address found;
	int rc = policydb_domain(db, sender->domain, &record), owned;

	if (rc != 0)
		return rc;
	if (record.kind == POLICY_DOMAIN_BACKUP || record.kind == POLICY_DOMAIN_ROUTED) {
		policydb_domain_free(&record);
		return 1;	/* its addresses live on another server */
	}
	rc = sender->kind == ADDR_ENV_PLAIN ? facts_address_or_detail(db, sender, record.canonical, &found) : 1;
	if (rc == 0)
		owned = facts_names_have(found.mailboxes, name) ? 0 : 1;
	else if (rc == 1)
		owned = facts_names_have(record.catch_all, name) ? 0 : 1;
	else
		owned = -1;
	if (rc == 0)
		policydb_address_free(&found);
	policydb_domain_free(&record);
	return owned;
}

/*
 * Does the local part of "local@dom" or "@dom" (locallen bytes) admit the
 * sender's?  "@dom" admits any; "a@dom" admits a, and a+detail, since
 * Sendmail's access map and virtusertable read a+detail as a.
 */
static bool
facts_pattern_local(const char *pattern, size_t locallen, const struct addr_envelope *sender)
{
	if (locallen == 0)
		return true;
	if (locallen == strlen(sender->local) && strncasecmp(pattern, sender->local, locallen) == 0)
		return true;
	return sender->kind == ADDR_ENV_PLAIN && locallen == sender->userlen
	       && strncasecmp(pattern, sender->local, locallen) == 0;
}

/* The pattern's domain is looked up only when it is not already the sender's. */
static int
facts_owned_by_send_as(const struct policydb *db, const struct policy_mailbox *mailbox,
		       const struct addr_envelope *sender)
{
	char sender_domain[ADDR_DOMAIN_MAX + 1], pattern_domain[ADDR_DOMAIN_MAX + 1];

	if (facts_canonical(db, sender->domain, sender_domain) < 0)
		return -1;
	for (char *const *p = mailbox->send_as; p && *p; p++) {
		const char *at = strrchr(*p, '@'), *domain;

		if (!at || !facts_pattern_local(*p, (size_t)(at - *p), sender))
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

/* Is local (a local name's, with any +detail) the mailbox's own name? */
static bool
facts_own_name(const struct addr_envelope *sender, const char *name)
{
	return sender->kind == ADDR_ENV_PLAIN && strlen(name) == sender->userlen
	       && strncmp(sender->local, name, sender->userlen) == 0;
}

/*
 * A local name (unqualified, or at a server name): the mailbox's own name,
 * or a name that delivers to it (L: record, with the +detail fallback);
 * never a generated alias name, which is no address (policy.h).
 */
static int
facts_owned_locally(const struct policydb *db, const char *name, const struct addr_envelope *sender)
{
	struct policy_recipient local;
	int rc;

	if (facts_own_name(sender, name))
		return 0;
	rc = policydb_recipient(db, sender->local, "", &local);
	if (rc == 0)
		rc = !local.generated_alias && facts_names_have(local.local.mailboxes, name) ? 0 : 1;
	policydb_recipient_free(&local);
	return rc;
}

int
facts_sender_owned(const struct policydb *db, const char *name, const struct policy_mailbox *mailbox,
		   const struct addr_envelope *sender)
{
	int rc;

	if (sender->kind == ADDR_ENV_NULL)
		return 0;
	if (sender->domain[0] == '\0')
		return sender->kind == ADDR_ENV_PLAIN ? facts_owned_locally(db, name, sender) : 1;
	if (policydb_server_name(db, sender->domain))
		return facts_owned_locally(db, name, sender);
	if ((rc = facts_sender_readable(db, sender)) != 0)
		return rc;
	rc = facts_owned_by_delivery(db, name, sender);
	if (rc != 1)
		return rc;
	return facts_owned_by_send_as(db, mailbox, sender);
}

int
facts_sender_readable(const struct policydb *db, const struct addr_envelope *sender)
{
	struct policy_domain record;
	int rc;

	if (sender->kind != ADDR_ENV_ROUTED)
		return 0;
	if (!sender->domain[0])
		return sender->local_routes || strcmp(sender->why, "address literal") != 0 ? 1 : 0;
	if (!sender->local_routes)
		return 0;	/* quoted or odd local part: still delivered at that domain */
	if (policydb_server_name(db, sender->domain))
		return 1;
	rc = policydb_domain(db, sender->domain, &record);
	if (rc != 0)
		return rc < 0 ? -1 : 0;	/* elsewhere: Sendmail hands it to that domain as it is */
	rc = record.kind == POLICY_DOMAIN_LOCAL || record.kind == POLICY_DOMAIN_ALIAS ? 1 : 0;
	policydb_domain_free(&record);
	return rc;
}

bool
facts_pattern_match(char *const *patterns, const struct addr_envelope *sender)
{
	if (sender->kind == ADDR_ENV_NULL || sender->domain[0] == '\0' || !sender->local[0])
		return false;
	for (; patterns && *patterns; patterns++) {
		const char *at = strrchr(*patterns, '@');

		if (at && strcasecmp(at + 1, sender->domain) == 0
		    && facts_pattern_local(*patterns, (size_t)(at - *patterns), sender))
			return true;
	}
	return false;
}

const struct policy_relay_right *
facts_cert_relay(const struct policydb *db, const char *verify, const char *issuer, const char *subject)
{
	if (!verify || strcmp(verify, "OK") != 0 || !issuer || !issuer[0])
		return NULL;
	if (strlen(issuer) > FACTS_CERT_DN_MAX || (subject && strlen(subject) > FACTS_CERT_DN_MAX))
		return NULL;
	return policydb_relay_certificate(db, issuer, subject ? subject : "");
}

bool
facts_cert_identity(const char *issuer, const char *subject, char *out, size_t outlen)
{
	size_t ilen = issuer ? strlen(issuer) : 0, slen = subject ? strlen(subject) : 0;

	if (ilen > FACTS_CERT_DN_MAX || slen > FACTS_CERT_DN_MAX || ilen + slen + 2 > outlen)
		return false;
	snprintf(out, outlen, "%s|%s", issuer ? issuer : "", subject ? subject : "");
	addr_lower(out);
	return true;
}

void
facts_client_canonical(int *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (*family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		*family = AF_INET;
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
	}
}

uint64_t
facts_sender_limit(const struct policydb *db, const struct policy_mailbox *mailbox)
{
	return mailbox->rules && (mailbox->rules->set & POLICY_SET_MAX_SIZE) ? mailbox->rules->max_size
									      : policydb_defaults(db)->max_size;
}

int
facts_rcpt_lookup(const struct policydb *db, const struct addr_envelope *rcpt, const struct addr_envelope *sender,
		  struct rcpt_lookup *out)
{
	static const enum rcpt_destination destinations[] = {
		[POLICY_RCPT_ELSEWHERE] = RCPT_REMOTE, [POLICY_RCPT_HERE] = RCPT_LOCAL,
		[POLICY_RCPT_BACKUP] = RCPT_BACKUP_MX, [POLICY_RCPT_ROUTED] = RCPT_ROUTED,
	};
	int rc;

	memset(out, 0, sizeof(*out));
	/* An odd local part Sendmail does not route by still goes to its domain (a relaying client's "a b"@dom
	 * reaches dom's catch-all, with dom's rules); one it routes by, or no domain, is read as elsewhere. */
	if (rcpt->kind == ADDR_ENV_NULL
	    || (rcpt->kind == ADDR_ENV_ROUTED && (!rcpt->domain[0] || !rcpt->local[0] || rcpt->local_routes))) {
		out->destination = RCPT_REMOTE;
		out->recipient.rules = *policydb_defaults(db);
		return 0;
	}
	rc = policydb_recipient(db, rcpt->local, rcpt->domain, &out->recipient);
	out->destination = destinations[out->recipient.place];
	out->sender_blocked = facts_pattern_match(out->recipient.block_senders, sender);
	out->sender_allowed = facts_pattern_match(out->recipient.allow_senders, sender);
	return rc;
}

void
facts_rcpt_lookup_free(struct rcpt_lookup *lookup)
{
	policydb_recipient_free(&lookup->recipient);
}

void
facts_rcpt_apply(const struct rcpt_lookup *lookup, struct rcpt_facts *facts)
{
	facts->destination = lookup->destination;
	facts->rcpt_limit = lookup->recipient.rules.max_size;
	facts->unknown_recipient = lookup->recipient.unknown;
	facts->generated_alias = lookup->recipient.generated_alias;
	facts->sender_blocked = lookup->sender_blocked;
}

/* Member by member: the payer's own, else the default's; a burst of 0 is an hour's allowance. */
static void
facts_rate_resolve(const struct policy_rate *own, const struct policy_rate *defaults, bool bulk,
		   struct rate_charge *charge)
{
	static const struct policy_rate none;
	uint32_t own_rate, own_burst, default_rate, default_burst;

	own = own ? own : &none;
	own_rate = bulk ? own->bulk_per_hour : own->per_hour;
	own_burst = bulk ? own->bulk_burst : own->burst;
	default_rate = bulk ? defaults->bulk_per_hour : defaults->per_hour;
	default_burst = bulk ? defaults->bulk_burst : defaults->burst;
	charge->per_hour = own_rate ? own_rate : default_rate;
	charge->burst = own_burst ? own_burst : default_burst ? default_burst : charge->per_hour;
}

/* "client:192.0.2.10", or "client:2001:db8:1:2::/64": one customer's IPv6 clients share a /64. */
static void
facts_client_key(int family, const uint8_t *addr, char *key, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	uint8_t net[16] = { 0 };

	if (family == AF_INET6) {
		memcpy(net, addr, 8);
		inet_ntop(AF_INET6, net, text, sizeof(text));
		snprintf(key, len, "client:%s/64", text);
	} else {
		inet_ntop(AF_INET, addr, text, sizeof(text));
		snprintf(key, len, "client:%s", text);
	}
}

int
facts_rate_charge(const struct policydb *db, const struct rate_payer *payer, struct rate_charge *charge)
{
	const struct policy_rate *defaults = policydb_default_rate(db);
	const struct policy_rate *own = NULL;
	const char *who;
	char key[FACTS_RATE_KEY_MAX - 5];	/* room for "bulk:" */
	bool bulk_apart;

	memset(charge, 0, sizeof(*charge));
	if (payer->auth_mailbox) {
		own = payer->mailbox ? &payer->mailbox->rate : NULL;
		if (dstr_fmt(key, sizeof(key), "mailbox:%s", payer->auth_mailbox) < 0)
			return -1;
		snprintf(charge->who, sizeof(charge->who), "%s", payer->auth_mailbox);
	} else if (payer->network && payer->addr) {
		own = &payer->network->rate;
		facts_client_key(payer->family, payer->addr, key, sizeof(key));
		snprintf(charge->who, sizeof(charge->who), "%.*s", (int)sizeof(charge->who) - 1, key + strlen("client:"));
	} else if (payer->certificate && payer->cert_identity) {
		own = &payer->certificate->rate;
		if (dstr_fmt(key, sizeof(key), "cert:%s", payer->cert_identity) < 0)
			return -1;
		/* The subject names the client; the issuer, often longer, would crowd it out of the reply. */
		who = payer->cert_subject && payer->cert_subject[0] ? payer->cert_subject : payer->cert_issuer;
		snprintf(charge->who, sizeof(charge->who), "%s", who ? who : "");
	} else
		return 0;
	bulk_apart = payer->bulk && ((own && own->bulk_per_hour) || defaults->bulk_per_hour);
	facts_rate_resolve(own, defaults, bulk_apart, charge);
	if (dstr_fmt(charge->key, sizeof(charge->key), "%s%s", bulk_apart ? "bulk:" : "", key) < 0)
		return -1;
	return charge->per_hour ? 1 : 0;
}
