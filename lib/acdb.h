/*
 * acdb - autoconfig.db: which login and which servers a mail client gets
 * for an address.  hostmapgen writes it, hostautoconfig answers from it,
 * and hostmapgen --explain shows it.
 *
 * Layout, version 2 (a Berkeley DB hash file; keys and values are bytes
 * without a trailing NUL, keys lower-case):
 *
 *   @format          "hostmilter-autoconfig 2"; readers refuse other values
 *   @digest          hex SHA-256 over every other record, in write order
 *                    (the key and its meaning are hostmilter.db's, so that
 *                    hostmapgen leaves an unchanged file alone the same way)
 *   S:<id>           client settings: one line per server offered,
 *                    "imap|pop3|smtp\tHOST\tPORT\tSSL|STARTTLS\n", in
 *                    that order; ids are small decimal integers, one per
 *                    distinct set
 *   D:<domain>       "CANONICAL\tSETTINGS-ID\tBUCKETS\tCATCH-ALL-LOGIN"
 *                    for every domain that opted in and each of its alias
 *                    domains; the login is empty unless the catch-all
 *                    reaches exactly one mailbox.  BUCKETS 0: the domain
 *                    has fewer than ACDB_BUCKET_ADDRESSES addresses, and
 *                    they follow in this record, after a newline, as a
 *                    B: record holds them
 *   B:<canonical>/<n> the addresses of CANONICAL whose local part falls
 *                    in bucket n (acdb_bucket, 0 <= n < BUCKETS): one
 *                    "LOCAL\tLOGIN\n" per address; an empty LOGIN means
 *                    the address does not reach exactly one mailbox, and
 *                    the catch-all does not stand in for it
 *
 * An address is eligible when its domain has a D: record and its local
 * part (else, for "local+detail", the part before the "+", as Sendmail's
 * virtusertable resolves it) is listed with a login, or is not listed and
 * the catch-all has one.  Addresses are grouped, a small domain's in its
 * D: record, a larger one's in buckets of about ACDB_BUCKET_ADDRESSES, so
 * that the file holds a record per domain or per few dozen addresses
 * rather than one each (a full hostmapgen run on a million addresses pays
 * for records, not for bytes), while a lookup still reads one or two small
 * records whatever the size of the domain.  Version 1 kept every domain's
 * addresses in B: records, twice the records for the same answers.
 *
 * Promise: acdb_open refuses a file that is not this format; a lookup
 * answers found, not eligible, not an address, or -1 for a record it
 * cannot read (which callers treat as a failure, never as "not
 * eligible").  The *_parse and *_format functions are pure and
 * round-trip.  An open acdb is read-only and may be shared by threads.
 */
#ifndef HM_ACDB_H
#define HM_ACDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ACDB_FORMAT		"hostmilter-autoconfig 2"
#define ACDB_KEY_FORMAT		"@format"
#define ACDB_KEY_DIGEST		"@digest"
#define ACDB_PREFIX_SETTINGS	"S:"
#define ACDB_PREFIX_DOMAIN	"D:"
#define ACDB_PREFIX_BUCKET	"B:"

#define ACDB_BUCKET_ADDRESSES	32
/* Far above any real domain's (a million addresses); bounds a damaged file. */
#define ACDB_BUCKETS_MAX	1000000u
#define ACDB_SETTINGS_MAX	1000000u
/* Enough for local@domain: what a client may send is checked against it. */
#define ACDB_ADDRESS_MAX	(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

enum acdb_protocol { ACDB_IMAP, ACDB_POP3, ACDB_SMTP, ACDB_PROTOCOLS };
enum acdb_socket { ACDB_SOCKET_SSL, ACDB_SOCKET_STARTTLS };

struct acdb_server {
	bool offered;
	char host[ADDR_DOMAIN_MAX + 1];
	uint16_t port;
	enum acdb_socket socket;
};

struct acdb_settings {
	struct acdb_server server[ACDB_PROTOCOLS];
};

/* How an answer was found. */
enum acdb_via {
	ACDB_VIA_ADDRESS,	/* the address is listed */
	ACDB_VIA_DETAIL,	/* local+detail: the part before "+" is listed */
	ACDB_VIA_CATCH_ALL,	/* not listed; the catch-all reaches one mailbox */
	ACDB_VIA_DOMAIN,	/* acdb_lookup_domain: no address, no login */
};

struct acdb_answer {
	char address[ACDB_ADDRESS_MAX + 1];	/* lower-case; "" for a domain lookup */
	char local[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1];	/* as asked, lower-case */
	char canonical[ADDR_DOMAIN_MAX + 1];	/* the real domain of an alias domain */
	char login[ADDR_NAME_MAX + 1];		/* "" for a domain lookup */
	enum acdb_via via;
	unsigned settings_id;
	struct acdb_settings settings;
};

enum acdb_result {
	ACDB_FOUND = 0,
	ACDB_NOT_ELIGIBLE = 1,	/* not an address of an opted-in domain that reaches one mailbox */
	ACDB_NOT_ADDRESS = 2,	/* not something hostmapgen could have listed */
	ACDB_ERROR = -1,	/* a record that exists but cannot be read, or a read error */
};

struct acdb;

/* Opens path read-only and checks @format; NULL with err. */
struct acdb *acdb_open(const char *path, char *err, size_t errlen);
void acdb_close(struct acdb *db);
/* The @digest record, for a caller that wants to tell two files apart; "" when absent. */
const char *acdb_digest(const struct acdb *db);

/* address as a client sends it (any letter case); why says what failed for ACDB_ERROR. */
enum acdb_result acdb_lookup(struct acdb *db, const char *address, struct acdb_answer *answer,
			     const char **why);
/* The settings of an opted-in domain, without an address (the login stays ""). */
enum acdb_result acdb_lookup_domain(struct acdb *db, const char *domain, struct acdb_answer *answer,
				    const char **why);

/* ---- pure parts: record values, shared by the writer and the readers ---- */

/* The bucket of a lower-case local part among buckets (>= 1). */
unsigned acdb_bucket(const char *local, unsigned buckets);
/* "B:<canonical>/<n>" into buf; -1 when it does not fit. */
int acdb_bucket_key(const char *canonical, unsigned n, char *buf, size_t len);
/* Looks local up in a B: value: 1 listed (login copied, perhaps ""), 0 not listed, -1 malformed. */
int acdb_bucket_find(const char *value, size_t len, const char *local, char *login, size_t loginlen);

struct acdb_domain {
	char canonical[ADDR_DOMAIN_MAX + 1];
	unsigned settings_id;
	unsigned buckets;			/* 0: the addresses are lines, below */
	char catch_all[ADDR_NAME_MAX + 1];	/* "" when the catch-all is not eligible */
	const char *lines;			/* into the parsed value; NULL unless buckets is 0 */
	size_t lines_len;
};

/* Writes the D: value's first line (no newline); -1 when it does not fit.  With buckets 0, the caller appends "\n" and the lines. */
int acdb_domain_format(const struct acdb_domain *domain, char *buf, size_t len);
int acdb_domain_parse(const char *value, size_t len, struct acdb_domain *domain, const char **why);

/* Writes the S: value; -1 when it does not fit. */
int acdb_settings_format(const struct acdb_settings *settings, char *buf, size_t len);
int acdb_settings_parse(const char *value, size_t len, struct acdb_settings *settings, const char **why);

const char *acdb_protocol_name(enum acdb_protocol protocol);	/* "imap", "pop3", "smtp" */
/* How an answer was found, for people and JSON: "address", "detail", "catch-all", "domain". */
const char *acdb_via_name(enum acdb_via via);
const char *acdb_socket_name(enum acdb_socket socket);		/* "SSL", "STARTTLS" */
/* -1 for anything else; the names are case-sensitive, as the export writes them. */
int acdb_protocol_parse(const char *name, enum acdb_protocol *protocol);
int acdb_socket_parse(const char *name, enum acdb_socket *socket);

/*
 * An address as a client typed it, lower-cased into local and domain:
 * surrounding blanks are not part of it, and anything addr_address_valid
 * refuses is not an address.  true when it is one.
 */
bool acdb_address_split(const char *address, char local[ADDR_LOCAL_MAX + 1], char domain[ADDR_DOMAIN_MAX + 1]);

#endif
