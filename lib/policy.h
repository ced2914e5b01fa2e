/*
 * policy - the records of hostmilter.db, written by hostmapgen and read by
 * hostmilter and hostscan.
 *
 * Layout, version 3 (a Berkeley DB hash file; keys and values are bytes
 * without a trailing NUL, keys lower-case):
 *
 *   @format              "hostmilter-policy 3"  -- readers refuse other values,
 *                        and name older versions as "rerun hostmapgen"
 *   @digest              hex SHA-256 over every other record, in write order
 *   @server              JSON {"hostname": str, "names": [str]}
 *   @defaults            JSON rules (below) with every key set, and
 *                        "rate_limit": rate (below): the export's defaults
 *   @defaults-set        JSON rules (below): what the export's defaults set
 *                        themselves; the rest of @defaults is built in
 *                        (hostmapgen --explain says which; hostmilter
 *                        does not read it)
 *   @relay-networks      one "CIDR\tPER_HOUR\tBURST\tBULK_PER_HOUR\tBULK_BURST"
 *                        per line ("192.0.2.0/27\t0\t0\t0\t0"; 0: the default's)
 *   @relay-certificates  one "ISSUER\tSUBJECT\tPER_HOUR\tBURST\tBULK_PER_HOUR\t
 *                        BULK_BURST" per line, DNs xtext-encoded as Sendmail
 *                        gives {cert_issuer}; an empty SUBJECT means any
 *                        certificate of that issuer
 *   R:<id>               JSON rules (below); one record per distinct rule set,
 *                        ids are small decimal integers
 *   D:<domain>           JSON {"kind": "local" | "backup" | "alias" | "routed",
 *                        "canonical": the real domain (itself unless an alias),
 *                        "rules": id, "allow_senders"/"block_senders": [pattern],
 *                        "catch_all": [mailbox]: where unlisted addresses go,
 *                        "listed": true when only the domain's A: records (and
 *                        postmaster) are valid recipients -- a routed or backup
 *                        domain that lists its addresses};
 *                        every domain a message may be addressed to has one
 *   M:<mailbox>          JSON {"rules": id, "rate_limit": rate,
 *                        "send_as": [pattern]}  (pattern: "a@dom" or "@dom")
 *   A:<local@domain>     comma-separated mailboxes the address delivers to,
 *                        followed through aliases; canonical domains only;
 *                        empty for an address that reaches no mailbox
 *                        (external forwards, rejects, routed domains)
 *   L:<name>             JSON {"mailboxes": [mailbox], "rules": id,
 *                        "block_senders": [pattern]}: a local name -- each
 *                        mailbox, each alias of the export, postmaster -- as
 *                        it is addressed unqualified or at one of the
 *                        server's names, where Sendmail delivers it through
 *                        aliases and the user table, not the virtusertable.
 *                        mailboxes: the ones it reaches (an alias of the
 *                        same name as a mailbox decides, as in Sendmail);
 *                        rules: a complete rule set, the strictest, key by
 *                        key, of what each mailbox it reaches gets through
 *                        each domain that delivers to that mailbox (the
 *                        mailbox's own over the domain's over the defaults;
 *                        the mailbox's own over the defaults for a mailbox
 *                        no domain delivers to; the defaults for a name that
 *                        reaches none), so that another name of a mailbox
 *                        never escapes a rule of its domains; block_senders:
 *                        the union of those domains' lists
 *
 * Generated alias names: hostmapgen names the alias of an address or
 * catch-all with several targets "LOCAL=DOMAIN" (or "*=DOMAIN"), and "="
 * (POLICY_GENERATED_ALIAS_MARK) is in no name an export may give.  A local
 * part addressed unqualified or at a server name whose part before any
 * "+detail" holds it is such a name: hostmilter refuses it as a recipient,
 * since it is the virtusertable's target and never an address.
 *
 * JSON rules hold only what their owner sets: {"max_size": bytes,
 * "virus": "reject"|"discard"|"quarantine"|"tag", "uninspectable":
 * "reject"|"quarantine"|"tag", "encrypted": "accept"|"tag"|"quarantine"|
 * "reject", "spam": {"scan": bool,
 * "tag_score": num, "subject_tag": str, "reject_score": num|null,
 * "discard_score": num|null}, "blocked_types": [str]}, each key (and each
 * member of "spam") optional.  A recipient's rules are resolved key by key:
 * its mailbox's own setting, else its domain's, else @defaults
 * (policy_rules_overlay), so a mailbox that sets only "spam" keeps its
 * domain's virus action.  Version 3 added "uninspectable" and "encrypted"
 * (what happens to content no engine could inspect, and to encrypted
 * content: scan/verdict.h); a version 2 reader would have refused them
 * as unknown members, so the format says so first.  Version 1 stored every rule set with the defaults
 * merged in, which made "set" and "inherited" indistinguishable.  Rule sets
 * are shared by reference because a panel has few distinct ones and
 * hundreds of thousands of domains and mailboxes.
 *
 * JSON rate: {"recipients_per_hour": n, "burst": n, "bulk_recipients_per_hour":
 * n, "bulk_burst": n}, all optional, 0 or absent meaning "the default's".
 * Version 2 had no L: records and no bulk fields for networks and
 * certificates.
 *
 * Promise: policy_rules_to_json and policy_rules_from_json round-trip,
 * including which keys are set; from_json refuses a record it cannot fully
 * read instead of guessing.
 */
#ifndef HM_POLICY_H
#define HM_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define POLICY_FORMAT		"hostmilter-policy 3"
#define POLICY_FORMAT_PREFIX	"hostmilter-policy "
#define POLICY_KEY_FORMAT	"@format"
#define POLICY_KEY_DIGEST	"@digest"
#define POLICY_KEY_SERVER	"@server"
#define POLICY_KEY_DEFAULTS	"@defaults"
#define POLICY_KEY_DEFAULTS_SET	"@defaults-set"
#define POLICY_KEY_NETWORKS	"@relay-networks"
#define POLICY_KEY_CERTS	"@relay-certificates"
#define POLICY_PREFIX_RULES	"R:"
#define POLICY_PREFIX_DOMAIN	"D:"
#define POLICY_PREFIX_MAILBOX	"M:"
#define POLICY_PREFIX_ADDRESS	"A:"
#define POLICY_PREFIX_LOCAL	"L:"
#define POLICY_GENERATED_ALIAS_MARK '='

enum policy_virus {
	POLICY_VIRUS_REJECT,
	POLICY_VIRUS_DISCARD,
	POLICY_VIRUS_QUARANTINE,
	POLICY_VIRUS_TAG,
};

/*
 * Content that cannot be inspected, for a reason that will not change on the
 * next try (a limit of the walk or an engine, a container no library here
 * opens): refused with 554 5.7.1 naming why, held, or delivered marked.
 */
enum policy_uninspectable {
	POLICY_UNINSPECTABLE_REJECT,
	POLICY_UNINSPECTABLE_QUARANTINE,
	POLICY_UNINSPECTABLE_TAG,
};

/* Encrypted content (PGP/MIME, S/MIME enveloped-data, password-protected
 * archives): nobody but its recipient can open it. */
enum policy_encrypted {
	POLICY_ENCRYPTED_ACCEPT,
	POLICY_ENCRYPTED_TAG,
	POLICY_ENCRYPTED_QUARANTINE,
	POLICY_ENCRYPTED_REJECT,
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

/* Which members a rule set sets; unset ones are inherited (policy_rules_overlay). */
enum policy_rule_bit {
	POLICY_SET_MAX_SIZE = 1u << 0,
	POLICY_SET_VIRUS = 1u << 1,
	POLICY_SET_TYPES = 1u << 2,
	POLICY_SET_SPAM_SCAN = 1u << 3,
	POLICY_SET_TAG_SCORE = 1u << 4,
	POLICY_SET_SUBJECT_TAG = 1u << 5,
	POLICY_SET_REJECT_SCORE = 1u << 6,
	POLICY_SET_DISCARD_SCORE = 1u << 7,
	POLICY_SET_UNINSPECTABLE = 1u << 8,
	POLICY_SET_ENCRYPTED = 1u << 9,
};
#define POLICY_SET_SPAM (POLICY_SET_SPAM_SCAN | POLICY_SET_TAG_SCORE | POLICY_SET_SUBJECT_TAG \
			 | POLICY_SET_REJECT_SCORE | POLICY_SET_DISCARD_SCORE)
#define POLICY_SET_ALL (POLICY_SET_MAX_SIZE | POLICY_SET_VIRUS | POLICY_SET_TYPES | POLICY_SET_SPAM \
			| POLICY_SET_UNINSPECTABLE | POLICY_SET_ENCRYPTED)

struct policy_rules {
	unsigned set;		/* enum policy_rule_bit; all of them in @defaults and resolved rules */
	uint64_t max_size;
	enum policy_virus virus;
	enum policy_uninspectable uninspectable;
	enum policy_encrypted encrypted;
	struct policy_spam spam;
	unsigned ntypes;
	char blocked_types[POLICY_TYPES_MAX][POLICY_TYPE_LEN];
};

const char *policy_virus_name(enum policy_virus virus);
int policy_virus_parse(const char *name, enum policy_virus *virus);
const char *policy_uninspectable_name(enum policy_uninspectable action);
int policy_uninspectable_parse(const char *name, enum policy_uninspectable *action);
const char *policy_encrypted_name(enum policy_encrypted action);
int policy_encrypted_parse(const char *name, enum policy_encrypted *action);
/* The built-in defaults, every member set. */
void policy_rules_default(struct policy_rules *rules);
/* Copies into rules what over sets, leaving the rest: mailbox over domain over defaults. */
void policy_rules_overlay(struct policy_rules *rules, const struct policy_rules *over);
/*
 * Makes rules (complete, every member set) at least as strict as other
 * (complete too), key by key: the smaller size limit (0, none, is the
 * largest), the virus action that delivers least (reject, discard,
 * quarantine, tag), the strictest uninspectable and encrypted actions,
 * spam scanning if either scans, the lower tag, reject
 * and discard scores (a score set in either), the subject tag of the
 * lower tag score, every blocked type of both.  -1 when the types of both
 * do not fit POLICY_TYPES_MAX (rules then holds as many as fit).
 */
int policy_rules_strictest(struct policy_rules *rules, const struct policy_rules *other);
/* Member by member: a struct's padding bytes need not be equal. */
bool policy_rules_equal(const struct policy_rules *a, const struct policy_rules *b);

/* New reference with the members rules sets; the caller may add further members. */
json_t *policy_rules_to_json(const struct policy_rules *rules);
/* Reads the members present; rules->set says which.  Unknown members are errors. */
int policy_rules_from_json(const json_t *json, struct policy_rules *rules, const char **why);

/*
 * Recipients per hour and burst (GCRA, hostmilter's rate limits): 0 means
 * "the default applies"; in the defaults, 0 recipients per hour means
 * unlimited and a burst of 0 one hour's allowance.  The bulk pair applies
 * on the daemons named in BulkDaemons.
 */
#define POLICY_RATE_MAX 10000000u	/* per hour; far above any honest sender */

struct policy_rate {
	uint32_t per_hour, burst;
	uint32_t bulk_per_hour, bulk_burst;
};

json_t *policy_rate_to_json(const struct policy_rate *rate);
int policy_rate_from_json(const json_t *json, struct policy_rate *rate, const char **why);

#endif
