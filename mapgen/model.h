/*
 * model - the panel export as hostmapgen holds it after reading.
 *
 * Promise: after export_read and validate succeed, every name in the model
 * is lower-case and syntactically valid, every deliver target is classified
 * and known to exist, the indexes answer by name, and there is no loop.
 * Strings live in one string chunk owned by the export; rules are interned,
 * so domains and mailboxes with the same effective rules share one struct.
 */
#ifndef HM_MODEL_H
#define HM_MODEL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"
#include "policy.h"

enum mg_target_kind {
	MG_TARGET_UNKNOWN,
	MG_TARGET_MAILBOX,	/* a local account */
	MG_TARGET_ALIAS,	/* a name in the export's aliases */
	MG_TARGET_HOSTED,	/* an address in a domain of this server */
	MG_TARGET_EXTERNAL,	/* an address elsewhere */
	MG_TARGET_PIPE,		/* "|command", aliases only */
	MG_TARGET_FILE,		/* "/path", aliases only */
	MG_TARGET_INCLUDE,	/* ":include:/path", aliases only */
};

struct mg_target {
	const char *text;
	enum mg_target_kind kind;
};

/* What an address, catch-all or alias does: deliver to targets, or reject. */
struct mg_deliver {
	struct mg_target *targets;
	uint32_t ntargets;
	const char *reject;	/* non-NULL: refuse with this text */
	uint8_t mark;		/* loop search state, owned by validate */
};

struct mg_address {
	const char *local;
	const char *full;	/* local@domain */
	struct mg_deliver deliver;
	uint32_t index;		/* position in the export, for error paths */
};

struct mg_domain {
	const char *name;
	const char *where;	/* JSON path, for messages */
	const char **aliases;
	uint32_t naliases;
	struct mg_address *addresses;
	uint32_t naddresses;
	bool has_catch_all;
	struct mg_deliver catch_all;
	bool backup_mx;
	bool defines_postmaster;
	const struct policy_rules *rules;
	const char **allow_senders, **block_senders;
	uint32_t nallow, nblock;
};

struct mg_mailbox {
	const char *name;
	const char *where;
	const char **send_as;
	uint32_t nsend_as;
	uint32_t recipients_per_hour;
	const struct policy_rules *rules;
};

struct mg_alias {
	const char *name;
	const char *where;
	struct mg_deliver deliver;
	bool shadows_mailbox;
};

struct mg_network {
	struct cidr net;
	const char *text;
};

struct mg_cert {
	const char *issuer;
	const char *subject;	/* NULL: any certificate of the issuer */
};

struct mg_access {
	const char *key;
	const char *value;
};

struct mg_export {
	GStringChunk *strings;
	GHashTable *interned_rules;	/* struct policy_rules* set */

	const char *hostname;
	const char **names;
	uint32_t nnames;
	struct policy_rules defaults;

	GArray *mailboxes;	/* struct mg_mailbox */
	GArray *domains;	/* struct mg_domain */
	GArray *aliases;	/* struct mg_alias */
	GArray *networks;	/* struct mg_network */
	GArray *certs;		/* struct mg_cert */
	GArray *access;		/* struct mg_access */

	/* Filled by validate. */
	GHashTable *mailbox_index;	/* name -> struct mg_mailbox* */
	GHashTable *alias_index;	/* name -> struct mg_alias* */
	GHashTable *domain_index;	/* name -> struct mg_domain* (alias domains too) */
	GHashTable *address_index;	/* local@domain -> struct mg_address* */
	GHashTable *address_domain;	/* struct mg_address* -> struct mg_domain* */
	size_t naddresses;
	bool add_postmaster;	/* the export defines no postmaster: hostmapgen adds one */
};

/* Errors and warnings found while reading and checking an export. */
struct mg_report {
	GPtrArray *errors;	/* char* */
	unsigned long warnings;
};

struct mg_export *model_new(void);
void model_free(struct mg_export *export);
const char *model_intern(struct mg_export *export, const char *text, size_t len, bool lower);
const struct policy_rules *model_intern_rules(struct mg_export *export, const struct policy_rules *rules);
struct mg_domain *model_domain(const struct mg_export *export, uint32_t i);
struct mg_mailbox *model_mailbox(const struct mg_export *export, uint32_t i);
struct mg_alias *model_alias(const struct mg_export *export, uint32_t i);

void report_init(struct mg_report *report);
void report_free(struct mg_report *report);
void report_error(struct mg_report *report, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
