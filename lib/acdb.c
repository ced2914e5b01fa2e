/*
 * acdb - autoconfig.db; see acdb.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acdb.h"
#include "dbmap.h"
#include "dstr.h"

struct acdb {
	struct dbmap_reader *map;
	char digest[80];
};

static const char *const protocol_names[ACDB_PROTOCOLS] = { "imap", "pop3", "smtp" };
static const char *const socket_names[] = { "SSL", "STARTTLS" };

/* Longest S: and D: values: three servers of a full-length host name, and a domain record. */
#define ACDB_VALUE_MAX 1024

const char *
acdb_protocol_name(enum acdb_protocol protocol)
{
	return protocol < ACDB_PROTOCOLS ? protocol_names[protocol] : "?";
}

const char *
acdb_via_name(enum acdb_via via)
{
	switch (via) {
	case ACDB_VIA_ADDRESS: return "address";
	case ACDB_VIA_DETAIL: return "detail";
	case ACDB_VIA_CATCH_ALL: return "catch-all";
	default: return "domain";
	}
}

const char *
acdb_socket_name(enum acdb_socket socket)
{
	return socket == ACDB_SOCKET_STARTTLS ? socket_names[1] : socket_names[0];
}

int
acdb_protocol_parse(const char *name, enum acdb_protocol *protocol)
{
	for (unsigned i = 0; i < ACDB_PROTOCOLS; i++)
		if (strcmp(name, protocol_names[i]) == 0) {
			*protocol = (enum acdb_protocol)i;
			return 0;
		}
	return -1;
}

int
acdb_socket_parse(const char *name, enum acdb_socket *socket)
{
	if (strcmp(name, "SSL") == 0)
		*socket = ACDB_SOCKET_SSL;
	else if (strcmp(name, "STARTTLS") == 0)
		*socket = ACDB_SOCKET_STARTTLS;
	else
		return -1;
	return 0;
}

/* FNV-1a: stable across builds and machines, which the file format needs. */
unsigned
acdb_bucket(const char *local, unsigned buckets)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)local; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return buckets > 1 ? h % buckets : 0;
}

int
acdb_bucket_key(const char *canonical, unsigned n, char *buf, size_t len)
{
	int w = snprintf(buf, len, ACDB_PREFIX_BUCKET "%s/%u", canonical, n);

	return w > 0 && (size_t)w < len ? 0 : -1;
}

/* Copies [start, end) into out (of outlen) as a string; false when it does not fit. */
static bool
copy_field(const char *start, const char *end, char *out, size_t outlen)
{
	size_t n = (size_t)(end - start);

	if (n >= outlen)
		return false;
	memcpy(out, start, n);
	out[n] = '\0';
	return true;
}

int
acdb_bucket_find(const char *value, size_t len, const char *local, char *login, size_t loginlen)
{
	const char *p = value, *end = value + len;
	size_t want = strlen(local);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *tab = nl ? memchr(p, '\t', (size_t)(nl - p)) : NULL;

		if (!nl || !tab)
			return -1;
		if ((size_t)(tab - p) == want && memcmp(p, local, want) == 0)
			return copy_field(tab + 1, nl, login, loginlen) ? 1 : -1;
		p = nl + 1;
	}
	return 0;
}

/* ---- D: and S: values ---- */

/* Appends text to buf at *used (of len); false when it does not fit. */
static bool
append_text(char *buf, size_t len, size_t *used, const char *text)
{
	size_t n = strlen(text);

	if (n >= len - *used)
		return false;
	memcpy(buf + *used, text, n + 1);
	*used += n;
	return true;
}

static bool
append_number(char *buf, size_t len, size_t *used, unsigned value)
{
	char digits[12], *p = digits + sizeof(digits) - 1;

	*p = '\0';
	do
		*--p = (char)('0' + value % 10);
	while ((value /= 10) != 0);
	return append_text(buf, len, used, p);
}

/* Without snprintf: hostmapgen formats one per domain name, a hundred thousand and more a run. */
int
acdb_domain_format(const struct acdb_domain *domain, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	return append_text(buf, len, &used, domain->canonical) && append_text(buf, len, &used, "\t")
	       && append_number(buf, len, &used, domain->settings_id) && append_text(buf, len, &used, "\t")
	       && append_number(buf, len, &used, domain->buckets) && append_text(buf, len, &used, "\t")
	       && append_text(buf, len, &used, domain->catch_all) ? 0 : -1;
}

/* An unsigned decimal number of [p, end) no greater than max. */
static bool
parse_number(const char *p, const char *end, unsigned long max, unsigned long *out)
{
	unsigned long n = 0;

	if (p == end || end - p > 10)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n > max)
		return false;
	*out = n;
	return true;
}

/* Splits value into exactly n tab-separated fields: starts[i], ends[i]. */
static bool
split_fields(const char *value, const char *end, unsigned n, const char **starts, const char **ends)
{
	const char *p = value;

	for (unsigned i = 0; i < n; i++) {
		const char *tab = i + 1 < n ? memchr(p, '\t', (size_t)(end - p)) : NULL;

		starts[i] = p;
		ends[i] = i + 1 < n ? tab : end;
		if (!ends[i] || memchr(p, '\t', (size_t)(ends[i] - p)) || memchr(p, '\n', (size_t)(ends[i] - p)))
			return false;
		p = ends[i] + 1;
	}
	return true;
}

int
acdb_domain_parse(const char *value, size_t len, struct acdb_domain *domain, const char **why)
{
	const char *s[4], *e[4];
	const char *nl = memchr(value, '\n', len), *end = nl ? nl : value + len;
	unsigned long id, buckets;

	memset(domain, 0, sizeof(*domain));
	if (!split_fields(value, end, 4, s, e)) {
		*why = "a domain record is not four fields";
		return -1;
	}
	if (!copy_field(s[0], e[0], domain->canonical, sizeof(domain->canonical))
	    || !addr_domain_valid(domain->canonical)) {
		*why = "a domain record names no valid domain";
		return -1;
	}
	if (!parse_number(s[1], e[1], ACDB_SETTINGS_MAX, &id) || !parse_number(s[2], e[2], ACDB_BUCKETS_MAX, &buckets)
	    || (buckets > 0 && nl)) {
		*why = "a domain record has a bad settings id or bucket count";
		return -1;
	}
	if (buckets == 0) {	/* the addresses follow */
		domain->lines = nl ? nl + 1 : value + len;
		domain->lines_len = (size_t)(value + len - domain->lines);
	}
	domain->settings_id = (unsigned)id;
	domain->buckets = (unsigned)buckets;
	if (!copy_field(s[3], e[3], domain->catch_all, sizeof(domain->catch_all))
	    || (domain->catch_all[0] && !addr_mailbox_name_valid(domain->catch_all))) {
		*why = "a domain record has a bad catch-all login";
		return -1;
	}
	return 0;
}

int
acdb_settings_format(const struct acdb_settings *settings, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ACDB_PROTOCOLS; i++) {
		const struct acdb_server *server = &settings->server[i];
		int w;

		if (!server->offered)
			continue;
		w = snprintf(buf + used, len - used, "%s\t%s\t%u\t%s\n", protocol_names[i], server->host,
			     server->port, acdb_socket_name(server->socket));
		if (w < 0 || (size_t)w >= len - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

/* One "PROTOCOL\tHOST\tPORT\tSOCKET" line (without its newline) into settings. */
static int
settings_line(const char *line, const char *end, struct acdb_settings *settings, const char **why)
{
	const char *s[4], *e[4];
	char name[8], socket[12];
	enum acdb_protocol protocol;
	struct acdb_server server = { .offered = true };
	unsigned long port;

	if (!split_fields(line, end, 4, s, e) || !copy_field(s[0], e[0], name, sizeof(name))
	    || acdb_protocol_parse(name, &protocol) < 0) {
		*why = "a settings record has a malformed line";
		return -1;
	}
	if (settings->server[protocol].offered) {
		*why = "a settings record names a protocol twice";
		return -1;
	}
	if (!copy_field(s[1], e[1], server.host, sizeof(server.host)) || !addr_domain_valid(server.host)
	    || !parse_number(s[2], e[2], 65535, &port) || port == 0
	    || !copy_field(s[3], e[3], socket, sizeof(socket)) || acdb_socket_parse(socket, &server.socket) < 0) {
		*why = "a settings record has a malformed line";
		return -1;
	}
	server.port = (uint16_t)port;
	settings->server[protocol] = server;
	return 0;
}

int
acdb_settings_parse(const char *value, size_t len, struct acdb_settings *settings, const char **why)
{
	const char *p = value, *end = value + len;

	memset(settings, 0, sizeof(*settings));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			*why = "a settings record does not end with a newline";
			return -1;
		}
		if (settings_line(p, nl, settings, why) < 0)
			return -1;
		p = nl + 1;
	}
	if (!settings->server[ACDB_SMTP].offered
	    || (!settings->server[ACDB_IMAP].offered && !settings->server[ACDB_POP3].offered)) {
		*why = "a settings record lacks an incoming or an outgoing server";
		return -1;
	}
	return 0;
}

bool
acdb_address_split(const char *address, char local[ADDR_LOCAL_MAX + 1], char domain[ADDR_DOMAIN_MAX + 1])
{
	char copy[ACDB_ADDRESS_MAX + 1];
	size_t len = 0;
	const char *at;

	address += strspn(address, " \t");
	len = strlen(address);
	while (len && (address[len - 1] == ' ' || address[len - 1] == '\t'))
		len--;
	if (len == 0 || len > ACDB_ADDRESS_MAX)
		return false;
	memcpy(copy, address, len);
	copy[len] = '\0';
	addr_lower(copy);
	if (!addr_address_valid(copy) || !(at = addr_at(copy)) || (size_t)(at - copy) > ADDR_LOCAL_MAX)
		return false;
	memcpy(local, copy, (size_t)(at - copy));
	local[at - copy] = '\0';
	strcpy(domain, at + 1);	/* addr_address_valid: at most ADDR_DOMAIN_MAX */
	return true;
}

/* ---- the reader ---- */

/* A record's value as a string (values never hold NUL bytes); 0, 1 absent, -1 error. */
static int
get_record(struct acdb *db, const char *key, char *buf, size_t buflen, size_t *len)
{
	char *value = NULL;
	size_t n = 0;
	int rc = dbmap_get(db->map, key, strlen(key), &value, &n);

	if (rc != 0)
		return rc;
	if (n >= buflen || memchr(value, '\0', n)) {
		free(value);
		return -1;
	}
	memcpy(buf, value, n);
	buf[n] = '\0';
	*len = n;
	free(value);
	return 0;
}

struct acdb *
acdb_open(const char *path, char *err, size_t errlen)
{
	struct acdb *db = calloc(1, sizeof(*db));
	char format[64];
	size_t len = 0;
	int rc;

	if (!db) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (!(db->map = dbmap_open(path, err, errlen))) {
		free(db);
		return NULL;
	}
	rc = get_record(db, ACDB_KEY_FORMAT, format, sizeof(format), &len);
	if (rc != 0 || strcmp(format, ACDB_FORMAT) != 0) {
		snprintf(err, errlen, "%s: not an autoconfig database of this version (%s \"%s\"); rerun hostmapgen",
			 path, ACDB_KEY_FORMAT, rc == 0 ? format : "missing");
		acdb_close(db);
		return NULL;
	}
	if (get_record(db, ACDB_KEY_DIGEST, db->digest, sizeof(db->digest), &len) != 0)
		db->digest[0] = '\0';
	return db;
}

void
acdb_close(struct acdb *db)
{
	if (!db)
		return;
	dbmap_close(db->map);
	free(db);
}

const char *
acdb_digest(const struct acdb *db)
{
	return db->digest;
}

/*
 * The D: record of domain into record (*value holds it, and the addresses
 * record->lines points to: the caller frees it) and its settings into
 * answer; ACDB_FOUND, ACDB_NOT_ELIGIBLE or ACDB_ERROR.
 */
static enum acdb_result
load_domain(struct acdb *db, const char *domain, struct acdb_domain *record, char **value,
	    struct acdb_answer *answer, const char **why)
{
	char key[ADDR_DOMAIN_MAX + 8], settings[ACDB_VALUE_MAX], skey[32];
	size_t len = 0, slen = 0;
	int rc;

	*value = NULL;
	if (dstr_fmt(key, sizeof(key), ACDB_PREFIX_DOMAIN "%s", domain) < 0)
		return ACDB_NOT_ELIGIBLE;	/* longer than any domain name: none of ours */
	if ((rc = dbmap_get(db->map, key, strlen(key), value, &len)) == 1)
		return ACDB_NOT_ELIGIBLE;
	if (rc < 0 || memchr(*value, '\0', len)) {
		*why = "cannot read a domain record";
		return ACDB_ERROR;
	}
	if (acdb_domain_parse(*value, len, record, why) < 0)
		return ACDB_ERROR;
	snprintf(skey, sizeof(skey), ACDB_PREFIX_SETTINGS "%u", record->settings_id);
	if (get_record(db, skey, settings, sizeof(settings), &slen) != 0) {
		*why = "a domain record names settings that cannot be read";
		return ACDB_ERROR;
	}
	if (acdb_settings_parse(settings, slen, &answer->settings, why) < 0)
		return ACDB_ERROR;
	strcpy(answer->domain, domain);
	strcpy(answer->canonical, record->canonical);
	answer->settings_id = record->settings_id;
	return ACDB_FOUND;
}

/* Looks local up among the domain's addresses: 1 listed (login set, perhaps ""), 0 not, -1 error. */
static int
find_local(struct acdb *db, const struct acdb_domain *record, const char *local, char *login, size_t loginlen,
	   const char **why)
{
	char key[ADDR_DOMAIN_MAX + 24], *value = NULL;
	size_t len = 0;
	int rc;

	if (record->buckets == 0) {
		rc = acdb_bucket_find(record->lines, record->lines_len, local, login, loginlen);
	} else {
		if (acdb_bucket_key(record->canonical, acdb_bucket(local, record->buckets), key, sizeof(key)) < 0)
			return -1;
		if ((rc = dbmap_get(db->map, key, strlen(key), &value, &len)) == 1)
			return 0;	/* an empty bucket is not written */
		if (rc < 0) {
			*why = "cannot read an address record";
			return -1;
		}
		rc = acdb_bucket_find(value, len, local, login, loginlen);
		free(value);
	}
	if (rc < 0 || (rc == 1 && login[0] && !addr_mailbox_name_valid(login))) {
		*why = "an address record is malformed";
		return -1;
	}
	return rc;
}

/* The login of local under record: listed, then without +detail, then the catch-all. */
static enum acdb_result
resolve_local(struct acdb *db, const struct acdb_domain *record, struct acdb_answer *answer, const char **why)
{
	char base[ADDR_LOCAL_MAX + 1];
	const char *plus = strchr(answer->local, '+');
	int rc = find_local(db, record, answer->local, answer->login, sizeof(answer->login), why);

	answer->via = ACDB_VIA_ADDRESS;
	if (rc == 0 && plus && plus != answer->local) {
		memcpy(base, answer->local, (size_t)(plus - answer->local));
		base[plus - answer->local] = '\0';
		rc = find_local(db, record, base, answer->login, sizeof(answer->login), why);
		answer->via = ACDB_VIA_DETAIL;
	}
	if (rc < 0)
		return ACDB_ERROR;
	if (rc == 0) {
		strcpy(answer->login, record->catch_all);
		answer->via = ACDB_VIA_CATCH_ALL;
	}
	return answer->login[0] ? ACDB_FOUND : ACDB_NOT_ELIGIBLE;
}

enum acdb_result
acdb_lookup(struct acdb *db, const char *address, struct acdb_answer *answer, const char **why)
{
	struct acdb_domain record;
	char domain[ADDR_DOMAIN_MAX + 1], *value = NULL;
	enum acdb_result rc;

	memset(answer, 0, sizeof(*answer));
	*why = "";
	if (!acdb_address_split(address, answer->local, domain))
		return ACDB_NOT_ADDRESS;
	if ((rc = load_domain(db, domain, &record, &value, answer, why)) == ACDB_FOUND) {
		/* local and domain were split to their maxima, which answer->address holds together */
		if (dstr_fmt(answer->address, sizeof(answer->address), "%s@%s", answer->local, domain) < 0)
			rc = ACDB_NOT_ADDRESS;
		else
			rc = resolve_local(db, &record, answer, why);
	}
	free(value);
	return rc;
}

enum acdb_result
acdb_lookup_domain(struct acdb *db, const char *domain, struct acdb_answer *answer, const char **why)
{
	struct acdb_domain record;
	char lower[ADDR_DOMAIN_MAX + 1], *value = NULL;
	enum acdb_result rc;

	memset(answer, 0, sizeof(*answer));
	*why = "";
	if (strlen(domain) > ADDR_DOMAIN_MAX)
		return ACDB_NOT_ADDRESS;
	strcpy(lower, domain);
	addr_lower(lower);
	if (!addr_domain_valid(lower))
		return ACDB_NOT_ADDRESS;
	rc = load_domain(db, lower, &record, &value, answer, why);
	free(value);
	answer->via = ACDB_VIA_DOMAIN;
	return rc;
}
