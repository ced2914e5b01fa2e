/*
 * fuzz_macros - what Sendmail's macros and the SMTP arguments carry into
 * hostmilter's lookups, against the sample export's real database:
 * {auth_authen}, {verify}, {cert_issuer}, {cert_subject}, {client_addr},
 * the MAIL FROM address and its ESMTP parameters, and RCPT TO addresses.
 * The input is NUL-separated fields in that order (recipients last, any
 * number).  Every answer must be one the callbacks know how to apply.
 */
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "decide.h"
#include "facts.h"
#include "fuzz.h"
#include "fuzz_db.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_sample_db();
	return 0;
}

static void
fuzz_rcpt(const struct policydb *db, const char *arg, const struct client_facts *client)
{
	struct addr_envelope rcpt, sender;
	struct rcpt_lookup lookup;
	struct rcpt_facts facts = { .client = client, .rcpt = &rcpt, .max_recipients = 100 };
	struct decision d;
	int rc;

	addr_envelope_parse(arg, &rcpt);
	addr_envelope_parse("<a@b.example>", &sender);
	rc = facts_rcpt_lookup(db, &rcpt, &sender, &lookup);
	facts.lookup_failed = rc < 0;
	facts_rcpt_apply(&lookup, &facts);
	decide_rcpt(&facts, &d);
	if (rc == 0 && (lookup.recipient.rules.set != POLICY_SET_ALL || memchr(lookup.recipient.mailbox, '\0', sizeof(lookup.recipient.mailbox)) == NULL))
		abort();
	if (d.action != DECIDE_CONTINUE && (!d.rcode || !d.rule))
		abort();
	facts_rcpt_lookup_free(&lookup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct policydb *db = fuzz_sample_db();
	char *text = fuzz_string(data, size), *cursor = text, *end = text + size;
	const char *auth = fuzz_field(&cursor, end), *verify = fuzz_field(&cursor, end);
	const char *issuer = fuzz_field(&cursor, end), *subject = fuzz_field(&cursor, end);
	const char *client_addr = fuzz_field(&cursor, end), *from = fuzz_field(&cursor, end);
	const char *param = fuzz_field(&cursor, end), *arg;
	struct client_facts client = { 0 };
	struct mail_facts mail = { .client = &client };
	struct policy_mailbox mailbox = { 0 };
	struct addr_envelope sender;
	char name[ADDR_NAME_MAX + 1];
	uint8_t host[16];
	struct decision d;
	int family, owned = 1;

	client.cert_relay = facts_cert_relay(db, verify, issuer, subject) != NULL;
	if (client_addr && cidr_parse_host(client_addr, &family, host) == 0)
		client.in_relay_network = policydb_relay_network(db, family, host) != NULL;
	addr_envelope_parse(from ? from : "", &sender);
	mail.sender = &sender;
	if (auth && auth[0]) {
		client.auth_user = auth;
		client.auth_mailbox = facts_auth_mailbox(db, auth, name, sizeof(name), &mailbox) == 0;
		if (client.auth_mailbox)
			owned = facts_sender_owned(db, name, &mailbox, &sender);
		policydb_mailbox_free(&mailbox);
	}
	mail.sender_owned = owned == 0;
	mail.lookup_failed = owned < 0;
	if (param && decide_parse_size_param(param, &mail.declared_size) < 0)
		mail.declared_size = 0;
	decide_mail(&mail, &d);
	while ((arg = fuzz_field(&cursor, end)))
		fuzz_rcpt(db, arg, &client);
	free(text);
	return 0;
}
