/*
 * model - the panel export as hostmapgen holds it after reading.
 *
 * Promise: after export_read and validate succeed, every name in the model
 * is lower-case and syntactically valid, every deliver target is classified
 * and known to exist, the indexes answer by name, and there is no loop.
 * Strings live in one string chunk owned by the export, deliver targets in
 * its blocks (model_alloc); rules are interned,
 * so domains and mailboxes that set the same rules share one struct.
 */
#ifndef HM_MODEL_H
#define HM_MODEL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "acdb.h"
#include "cidr.h"
#include "policy.h"
#include "report.h"

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
	uint16_t depth;		/* delivers in the longest chain from here, set by validate */
};

struct mg_address {
	const char *local;
	const char *full;	/* local@domain */
	struct mg_deliver deliver;
	uint32_t index;		/* position in the export, for error paths */
	uint32_t domain;	/* its domain's position in the export's domains */
};

/*
 * Where a routed domain's mail goes (export "route"): never delivered here,
 * relayed by Sendmail through mailertable, optionally only to a server
 * whose certificate verifies with the given name (and issuer), and held in
 * the queue until an ETRN from one of etrn_clients.
 */
struct mg_route {
	const char *host;	/* a name, or an address without brackets */
	int family;		/* AF_INET or AF_INET6 for an address, 0 for a name */
	uint16_t port;
	bool mx;		/* look up the host's MX records (a name only) */
	bool tls_verify;
	const char *tls_name;	/* the certificate's CN or subjectAltName */
	const char *tls_issuer;	/* its issuer's DN, NULL: any trusted CA */
	bool hold;
	struct cidr *etrn_clients;
	uint32_t netrn;
};

/*
 * The server a mail client uses for one protocol (export "client_settings"):
 * set, unset (inherited from defaults), or removed ("null": not offered
 * for this domain although the defaults offer it).
 */
enum mg_server_state { MG_SERVER_UNSET, MG_SERVER_SET, MG_SERVER_REMOVED };

struct mg_client_server {
	const char *host;
	uint16_t port;
	uint8_t socket;		/* enum acdb_socket */
	uint8_t state;		/* enum mg_server_state */
};

struct mg_client_settings {
	struct mg_client_server server[ACDB_PROTOCOLS];	/* imap, pop3, smtp */
};

struct mg_domain {
	const char *name;
	const char *where;	/* JSON Pointer, for messages */
	const char **aliases;
	uint32_t naliases;
	struct mg_address *addresses;
	uint32_t naddresses;
	uint32_t *by_local;	/* positions of its addresses sorted by local part, each local part once (validate) */
	uint32_t nby_local;
	bool has_catch_all;
	struct mg_deliver catch_all;
	bool backup_mx;
	bool has_route;
	struct mg_route route;
	bool catch_all_relay;	/* relayed domain: every local part is a valid recipient */
	bool defines_postmaster;
	const struct policy_rules *rules;	/* what it sets itself */
	const char **allow_senders, **block_senders;
	uint32_t nallow, nblock;
	bool autoconfig;	/* mail clients may configure themselves (autoconfig.db) */
	struct mg_client_settings client_settings;	/* what it sets itself */
};

struct mg_mailbox {
	const char *name;
	const char *where;
	const char **send_as;
	uint32_t nsend_as;
	uint32_t *send_as_pos;	/* each one's index in the export's array; NULL: its own */
	struct policy_rate rate;
	const struct policy_rules *rules;	/* what it sets itself */
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
	const char *where;
	struct policy_rate rate;
};

struct mg_cert {
	const char *issuer;
	const char *subject;	/* NULL: any certificate of the issuer */
	const char *where;
	struct policy_rate rate;
};

struct mg_access {
	const char *key;
	const char *value;
	const char *where;
};

struct mg_export {
	GStringChunk *strings;
	GSList *blocks, *big;	/* model_alloc's memory: blocks to cut, and big pieces of their own */
	size_t block_used;	/* in the first block */
	GHashTable *interned_rules;	/* struct policy_rules* set */
	const struct policy_rules *empty_rules;	/* interned once: what most objects set */

	const char *hostname;
	const char **names;
	uint32_t nnames;
	struct policy_rules defaults;	/* every key set */
	const struct policy_rules *defaults_own;	/* what the export's "defaults" sets itself; NULL: nothing */
	struct policy_rate default_rate;
	struct mg_client_settings client_settings;	/* defaults' */

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
	size_t naddresses;
	bool add_postmaster;	/* the export defines no postmaster: hostmapgen adds one */
};

/* A domain relayed to another server (backup MX, or a route): not in class w, no virtmaps. */
static inline bool
model_domain_relayed(const struct mg_domain *domain)
{
	return domain->backup_mx || domain->has_route;
}

/* Whether only its listed addresses (and postmaster) are valid recipients. */
static inline bool
model_domain_listed(const struct mg_domain *domain)
{
	return model_domain_relayed(domain) && domain->naddresses > 0 && !domain->catch_all_relay;
}

/* A domain's client settings, protocol by protocol: its own, else the defaults'. */
static inline void
model_client_settings(const struct mg_export *export, const struct mg_domain *domain,
		      struct mg_client_settings *out)
{
	for (unsigned p = 0; p < ACDB_PROTOCOLS; p++) {
		const struct mg_client_server *own = &domain->client_settings.server[p];

		out->server[p] = own->state != MG_SERVER_UNSET ? *own : export->client_settings.server[p];
	}
}

/* Whether settings offer an incoming (IMAP or POP3) and an outgoing server. */
static inline bool
model_client_settings_complete(const struct mg_client_settings *settings)
{
	return settings->server[ACDB_SMTP].state == MG_SERVER_SET
	       && (settings->server[ACDB_IMAP].state == MG_SERVER_SET
		   || settings->server[ACDB_POP3].state == MG_SERVER_SET);
}

struct mg_export *model_new(void);
void model_free(struct mg_export *export);
const char *model_intern(struct mg_export *export, const char *text, size_t len, bool lower);
/* Zeroed memory that lives as long as the model (a million small arrays need no malloc each). */
void *model_alloc(struct mg_export *export, size_t size);
const struct policy_rules *model_intern_rules(struct mg_export *export, const struct policy_rules *rules);
/* The interned rule set that sets nothing. */
const struct policy_rules *model_empty_rules(struct mg_export *export);
struct mg_domain *model_domain(const struct mg_export *export, uint32_t i);
struct mg_mailbox *model_mailbox(const struct mg_export *export, uint32_t i);
struct mg_alias *model_alias(const struct mg_export *export, uint32_t i);

#endif
