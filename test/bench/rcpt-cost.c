/*
 * rcpt-cost - the policy lookups hostmilter makes for one RCPT, without
 * libmilter, for counting instructions with callgrind (test/bench/rcpt-bench).
 *
 * Usage: rcpt-cost POLICY_DB ADDRESSES_FILE ROUNDS
 * Opens the database once, then looks up every address of the file (one
 * per line, as RCPT TO gives it) ROUNDS times, as session_envrcpt does:
 * parse, destination and domain, decision, the recipient's policy.  The
 * instructions of one RCPT are (Ir(ROUNDS=b) - Ir(ROUNDS=a)) / ((b - a) *
 * addresses), which removes the cost of opening the database.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "policydb.h"

#define ADDRESSES_MAX 10000

static int
rcpt_once(const struct policydb *db, const struct addr_envelope *sender, const char *arg)
{
	struct client_facts client = { 0 };
	struct rcpt_facts facts = { 0 };
	struct rcpt_lookup lookup;
	struct addr_envelope rcpt;
	struct decision d;

	addr_envelope_parse(arg, &rcpt);
	facts.client = &client;
	facts.rcpt = &rcpt;
	facts.max_recipients = 1000;
	facts.lookup_failed = facts_rcpt_lookup(db, &rcpt, sender, &lookup) < 0;
	facts_rcpt_apply(&lookup, &facts);
	decide_rcpt(&facts, &d);
	facts_rcpt_lookup_free(&lookup);
	return d.action;
}

int
main(int argc, char **argv)
{
	static char *addresses[ADDRESSES_MAX];
	struct addr_envelope sender;
	struct policydb *db;
	char line[600], err[300];
	size_t n = 0;
	long rounds, actions = 0;
	FILE *in;

	if (argc != 4 || (rounds = strtol(argv[3], NULL, 10)) < 0) {
		fprintf(stderr, "usage: rcpt-cost POLICY_DB ADDRESSES_FILE ROUNDS\n");
		return 2;
	}
	if (!(db = policydb_open(argv[1], err, sizeof(err)))) {
		fprintf(stderr, "rcpt-cost: %s\n", err);
		return 1;
	}
	if (!(in = fopen(argv[2], "r"))) {
		perror(argv[2]);
		return 1;
	}
	while (n < ADDRESSES_MAX && fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			addresses[n++] = strdup(line);
	}
	fclose(in);
	addr_envelope_parse("<someone@client.example>", &sender);
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++)
			actions += rcpt_once(db, &sender, addresses[i]);
	printf("%zu addresses, %ld rounds, %ld refusals\n", n, rounds, actions);
	for (size_t i = 0; i < n; i++)
		free(addresses[i]);
	policydb_close(db);
	return 0;
}
