/*
 * policy - the records of hostmilter.db, written by hostmapgen and read by
 * hostmilter and hostscan.
 *
 * Layout, version 1 (a Berkeley DB hash file; keys and values are bytes
 * without a trailing NUL, keys lower-case):
 *
 *   @format              "hostmilter-policy 1"  -- readers refuse other values
 *   @digest              hex SHA-256 over every other record, in write order
 *   @server              JSON {"hostname": str, "names": [str]}
 *   @defaults            JSON rules (below): the export's defaults
 *   @relay-networks      one CIDR per line ("192.0.2.0/27", "2001:db8:1::/48")
 *   @relay-certificates  one "ISSUER\tSUBJECT" per line, DNs xtext-encoded as
 *                        Sendmail gives {cert_issuer}; an empty SUBJECT means
 *                        any certificate of that issuer
 *   R:<id>               JSON rules (below); one record per distinct rule set,
 *                        ids are small decimal integers
 *   D:<domain>           JSON {"kind": "local" | "backup" | "alias",
 *                        "canonical": the real domain (itself unless an alias),
 *                        "rules": id, "allow_senders"/"block_senders": [pattern],
 *                        "catch_all": [mailbox]: where unlisted addresses go};
 *                        every domain a message may be addressed to has one
 *   M:<mailbox>          JSON {"rules": id, "recipients_per_hour": int (0: none),
 *                        "send_as": [pattern]}  (pattern: "a@dom" or "@dom")
 *   A:<local@domain>     comma-separated mailboxes the address delivers to,
 *                        followed through aliases; canonical domains only;
 *                        empty for an address that reaches no mailbox
 *                        (external forwards, rejects)
 *
 * JSON rules: {"max_size": bytes, "virus": "reject"|"discard"|"quarantine"|"tag",
 * "spam": {"scan": bool, "tag_score": num, "subject_tag": str,
 * "reject_score": num|null, "discard_score": num|null}, "blocked_types": [str]}
 * with defaults already merged in, so a reader needs no inheritance logic;
 * rule sets are shared by reference because a panel has few distinct ones
 * and hundreds of thousands of domains and mailboxes.
 *
 * Promise: policy_rules_to_json and policy_rules_from_json round-trip;
 * from_json refuses a record it cannot fully read instead of guessing.
 */
#ifndef HM_POLICY_H
#define HM_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define POLICY_FORMAT		"hostmilter-policy 1"
#define POLICY_KEY_FORMAT	"@format"
#define POLICY_KEY_DIGEST	"@digest"
#define POLICY_KEY_SERVER	"@server"
#define POLICY_KEY_DEFAULTS	"@defaults"
#define POLICY_KEY_NETWORKS	"@relay-networks"
#define POLICY_KEY_CERTS	"@relay-certificates"
#define POLICY_PREFIX_RULES	"R:"
#define POLICY_PREFIX_DOMAIN	"D:"
#define POLICY_PREFIX_MAILBOX	"M:"
#define POLICY_PREFIX_ADDRESS	"A:"

enum policy_virus {
	POLICY_VIRUS_REJECT,
	POLICY_VIRUS_DISCARD,
	POLICY_VIRUS_QUARANTINE,
	POLICY_VIRUS_TAG,
};

struct policy_spam {
	bool scan;
	double tag_score;
	char subject_tag[64];
	bool has_reject;
	double reject_score;
	bool has_discard;
	double discard_score;
};

#define POLICY_TYPES_MAX 16
#define POLICY_TYPE_LEN 96

struct policy_rules {
	uint64_t max_size;
	enum policy_virus virus;
	struct policy_spam spam;
	unsigned ntypes;
	char blocked_types[POLICY_TYPES_MAX][POLICY_TYPE_LEN];
};

const char *policy_virus_name(enum policy_virus virus);
int policy_virus_parse(const char *name, enum policy_virus *virus);
void policy_rules_default(struct policy_rules *rules);
/* Member by member: a struct's padding bytes need not be equal. */
bool policy_rules_equal(const struct policy_rules *a, const struct policy_rules *b);

/* New reference; the caller may add further members. */
json_t *policy_rules_to_json(const struct policy_rules *rules);
int policy_rules_from_json(const json_t *json, struct policy_rules *rules, const char **why);

#endif
