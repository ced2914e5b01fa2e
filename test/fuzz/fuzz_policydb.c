/*
 * fuzz_policydb - a hostmilter.db that is damaged or was not written by
 * hostmapgen: the input is "KEY\tVALUE" lines, stored as a real Berkeley
 * DB file, opened as hostmilter opens its database and looked up the way
 * a message would.  A record that cannot be read must be refused (-1)
 * or the database not opened at all, never trusted half-way.
 */
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "fuzz.h"
#include "fuzz_db.h"

static const char *const lookups[] = {
	"example.com", "example.net", "alias.example", "info@example.com", "customer1",
};

static void
look_up(const struct policydb *db, const char *name)
{
	struct policy_domain domain;
	struct policy_mailbox mailbox;
	struct policy_address address;
	struct policy_local local;
	struct policy_recipient recipient;
	struct policy_rules resolved;
	uint8_t host[4] = { 192, 0, 2, 1 };

	for (int twice = 0; twice < 2; twice++) {	/* decoded, then from the cache */
		if (policydb_domain(db, name, &domain) == 0 && (!domain.rules || !domain.allow_senders || !domain.canonical))
			abort();
		if (policydb_mailbox(db, name, &mailbox) == 0 && (!mailbox.rules || !mailbox.send_as))
			abort();
		policydb_resolve(db, domain.rules, mailbox.rules, &resolved);
		if (resolved.set != POLICY_SET_ALL)
			abort();
		policydb_domain_free(&domain);
		policydb_mailbox_free(&mailbox);
		if (policydb_address(db, name, &address) == 0 && !address.mailboxes)
			abort();
		policydb_address_free(&address);
		if (policydb_local(db, name, &local) == 0
		    && (!local.mailboxes || !local.block_senders || !local.rules || local.rules->set != POLICY_SET_ALL))
			abort();
		policydb_local_free(&local);
		if (policydb_recipient(db, name, "", &recipient) == 0 && recipient.rules.set != POLICY_SET_ALL)
			abort();	/* a local name's rules are complete, or it gets the defaults */
		policydb_recipient_free(&recipient);
	}
	policydb_server_name(db, name);
	policydb_relay_network(db, 2 /* AF_INET */, host);
	policydb_relay_certificate(db, name, "");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct policydb *db = fuzz_db_from_lines((const char *)data, size, err, sizeof(err));

	if (db) {
		if (!policydb_defaults(db) || !policydb_digest(db))
			abort();
		for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++)
			look_up(db, lookups[i]);
	} else if (!err[0]) {
		abort();	/* a refusal says why */
	}
	fuzz_db_drop(db);
	return 0;
}
