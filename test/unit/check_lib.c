/*
 * check_lib - unit tests of lib/: sizes, addresses, networks and their
 * Sendmail access keys, xtext, Berkeley DB maps and policy records, the
 * rate-limit keys of hostmilter.conf, the safety of paths root trusts,
 * and rate-limited log lines.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "addr.h"
#include "cidr.h"
#include "conf.h"
#include "dbmap.h"
#include "dstr.h"
#include "monotime.h"
#include "pathsafe.h"
#include "policy.h"
#include "ratelog.h"
#include "size.h"
#include "xtext.h"

START_TEST(size_accepts_admin_forms)
{
	uint64_t bytes;
	const char *why;

	ck_assert_int_eq(size_parse("128M", &bytes, &why), 0);
	ck_assert_uint_eq(bytes, 128ull << 20);
	ck_assert_int_eq(size_parse("50m", &bytes, &why), 0);
	ck_assert_uint_eq(bytes, 50ull << 20);
	ck_assert_int_eq(size_parse("1G", &bytes, &why), 0);
	ck_assert_uint_eq(bytes, 1ull << 30);
	ck_assert_int_eq(size_parse("10KB", &bytes, &why), 0);
	ck_assert_uint_eq(bytes, 10240);
	ck_assert_int_eq(size_parse("52428800", &bytes, &why), 0);
	ck_assert_uint_eq(bytes, 52428800);
}
END_TEST

START_TEST(size_refuses_garbage)
{
	static const char *const bad[] = { "", "M", "-1", "12X", "1.5M", "0", "65G", "99999999999999999999",
					   "12 M", "12MM", " 12M" };
	uint64_t bytes;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(size_parse(bad[i], &bytes, &why) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(size_formats_shortest)
{
	char buf[32];

	size_format(128ull << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "128M");
	size_format(1536, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1536");
	size_format(3072, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3K");
}
END_TEST

START_TEST(domains)
{
	ck_assert(addr_domain_valid("example.com"));
	ck_assert(addr_domain_valid("xn--bcher-kva.example"));
	ck_assert(addr_domain_valid("a-b.example"));
	ck_assert(!addr_domain_valid(""));
	ck_assert(!addr_domain_valid("-a.example"));
	ck_assert(!addr_domain_valid("a..example"));
	ck_assert(!addr_domain_valid("example.com."));
	ck_assert(!addr_domain_valid("192.0.2.1"));
	ck_assert(!addr_domain_valid("[192.0.2.1]"));
	ck_assert(!addr_domain_valid("exa_mple.com"));
	ck_assert(!addr_domain_valid("a.b%c"));
}
END_TEST

START_TEST(local_parts)
{
	ck_assert(addr_local_valid("info"));
	ck_assert(addr_local_valid("first.last"));
	ck_assert(addr_local_valid("user+tag"));
	ck_assert(!addr_local_valid("a%b"));
	ck_assert(!addr_local_valid("a!b"));
	ck_assert(!addr_local_valid("a=b"));
	ck_assert(!addr_local_valid("\"a@b\""));
	ck_assert(!addr_local_valid(".a"));
	ck_assert(!addr_local_valid("a."));
	ck_assert(!addr_local_valid("a..b"));
	ck_assert(!addr_local_valid(""));
}
END_TEST

START_TEST(names)
{
	ck_assert(addr_mailbox_name_valid("xyz00-info"));
	ck_assert(addr_mailbox_name_valid("_backup"));
	ck_assert(!addr_mailbox_name_valid("Xyz"));
	ck_assert(!addr_mailbox_name_valid("0day"));
	ck_assert(!addr_mailbox_name_valid("a b"));
	ck_assert(!addr_mailbox_name_valid("a/b"));
	ck_assert(!addr_mailbox_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	ck_assert(addr_alias_name_valid("owner-list"));
	ck_assert(!addr_alias_name_valid("a=b"));
	ck_assert(!addr_alias_name_valid("*=b"));
	ck_assert(addr_address_valid("a@example.com"));
	ck_assert(!addr_address_valid("@example.com"));
	ck_assert(!addr_address_valid("a@"));
	ck_assert(!addr_address_valid("a@b@c.example"));
	ck_assert(addr_pattern_valid("@example.org"));
	ck_assert(!addr_pattern_valid("@"));
}
END_TEST

struct keys {
	char list[64][CIDR_KEY_MAX];
	size_t n;
};

static void
collect_key(const char *key, void *context)
{
	struct keys *keys = context;

	if (keys->n < 64)
		strcpy(keys->list[keys->n], key);
	keys->n++;
}

static struct keys
keys_of(const char *network)
{
	struct keys keys = { .n = 0 };
	struct cidr net;
	const char *why = NULL;

	ck_assert_msg(cidr_parse(network, &net, &why) == 0, "%s: %s", network, why);
	ck_assert_uint_eq(cidr_access_keys(&net, collect_key, &keys), keys.n);
	return keys;
}

START_TEST(cidr_keys_v4)
{
	struct keys k = keys_of("192.0.2.10");

	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.list[0], "192.0.2.10");
	k = keys_of("192.109.42.0/27");
	ck_assert_uint_eq(k.n, 32);
	ck_assert_str_eq(k.list[0], "192.109.42.0");
	ck_assert_str_eq(k.list[31], "192.109.42.31");
	k = keys_of("10.20.0.0/22");
	ck_assert_uint_eq(k.n, 4);
	ck_assert_str_eq(k.list[3], "10.20.3");
	k = keys_of("10.0.0.0/8");
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.list[0], "10");
	k = keys_of("172.16.0.0/12");
	ck_assert_uint_eq(k.n, 16);
	ck_assert_str_eq(k.list[15], "172.31");
	k = keys_of("198.51.100.128/25");
	ck_assert_uint_eq(k.n, 128);
}
END_TEST

START_TEST(cidr_keys_v6)
{
	struct keys k = keys_of("2001:db8:1::/48");

	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.list[0], "IPv6:2001:db8:1");
	k = keys_of("2001:db8:10::/44");
	ck_assert_uint_eq(k.n, 16);
	ck_assert_str_eq(k.list[0], "IPv6:2001:db8:10");
	ck_assert_str_eq(k.list[15], "IPv6:2001:db8:1f");
	k = keys_of("2001:DB8::5");
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.list[0], "IPv6:2001:db8:0:0:0:0:0:5");
}
END_TEST

START_TEST(cidr_refuses_bad_networks)
{
	static const char *const bad[] = { "", "192.0.2.1/33", "192.0.2.0/", "192.0.2.1/24", "0.0.0.0/0",
					   "::/0", "256.1.1.1", "example.com", "192.0.2.0/2x", "2001:db8::/129",
					   "[192.0.2.1]", "IPv6:2001:db8::1", "192.0.2.0/0024" };
	struct cidr net;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(cidr_parse(bad[i], &net, &why) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(cidr_matches)
{
	struct cidr net;
	const char *why;
	uint8_t addr[16];
	int family;

	ck_assert_int_eq(cidr_parse("127.77.0.0/27", &net, &why), 0);
	ck_assert_int_eq(cidr_parse_host("127.77.0.31", &family, addr), 0);
	ck_assert(cidr_contains(&net, family, addr));
	ck_assert_int_eq(cidr_parse_host("127.77.0.32", &family, addr), 0);
	ck_assert(!cidr_contains(&net, family, addr));
	ck_assert_int_eq(cidr_parse("2001:db8:1::/48", &net, &why), 0);
	ck_assert_int_eq(cidr_parse_host("IPv6:2001:db8:1:0:0:0:0:5", &family, addr), 0);
	ck_assert(cidr_contains(&net, family, addr));
	ck_assert_int_eq(cidr_parse_host("[2001:db8:2::5]", &family, addr), 0);
	ck_assert(!cidr_contains(&net, family, addr));
}
END_TEST

START_TEST(xtext_as_sendmail)
{
	char out[128];

	ck_assert_int_eq(xtext_encode("/C=DE/O=IN-Berlin e.V./CN=IN-Berlin CA", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA");
	ck_assert_int_eq(xtext_encode("a+b(c)<d>\"e\\", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a+2Bb+28c+29+3Cd+3E+22e+5C");
	ck_assert_int_eq(xtext_encode("long text", out, 5), -1);
}
END_TEST

static char *
temp_db_path(void)
{
	char dir[] = "/tmp/check_lib.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return g_strdup_printf("%s/map.db", dir);
}

static void
remove_db(char *path)
{
	char *dir = g_path_get_dirname(path);

	unlink(path);
	rmdir(dir);
	g_free(dir);
	g_free(path);
}

static void
count_dbmap_duplicates(const void *key, size_t keylen, void *context)
{
	(*(int *)context)++;
}

static void
count_duplicate(const void *key, size_t keylen, void *context)
{
	ck_assert_uint_eq(keylen, 1);
	ck_assert_int_eq(*(const char *)key, 'a');
	(*(int *)context)++;
}

START_TEST(dbmap_round_trip)
{
	char *path = temp_db_path(), err[256], *value;
	struct dbmap_writer *w = dbmap_create(path, 10, 100, err, sizeof(err));
	struct dbmap_reader *r;
	size_t len;
	int duplicates = 0;

	ck_assert_ptr_nonnull(w);
	dbmap_on_duplicate(w, count_duplicate, &duplicates);
	ck_assert_int_eq(dbmap_put(w, "a", 1, "one", 3), 0);
	ck_assert_int_eq(dbmap_put(w, "b", 1, "two", 3), 0);
	ck_assert_int_eq(dbmap_put(w, "a", 1, "again", 5), 0);
	ck_assert_int_eq(dbmap_finish(w, 0640, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(duplicates, 1);
	r = dbmap_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(dbmap_get(r, "a", 1, &value, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(value, "one", 3), 0);
	free(value);
	ck_assert_int_eq(dbmap_get(r, "c", 1, &value, &len), 1);
	dbmap_close(r);
	remove_db(path);
}
END_TEST

/* An estimate far above what is put: the table's last buckets stay empty,
 * and the writer builds into a file cut back to its first page
 * (dbmap_unextend), yet the file has every page of the table again and a
 * lookup in any bucket answers "not found", not an error. */
START_TEST(dbmap_empty_buckets_read_back)
{
	char *path = temp_db_path(), err[256], key[32], *value;
	struct dbmap_writer *w = dbmap_create(path, 100000, 1000000, err, sizeof(err));
	struct dbmap_reader *r;
	struct stat st;
	size_t len;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(dbmap_put(w, "k", 1, "v", 1), 0);
	ck_assert_int_eq(dbmap_finish(w, 0640, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 513 * 4096);	/* 100,000 records of 10 bytes: 512 buckets, and the meta page */
	r = dbmap_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "absent%d", i);
		ck_assert_int_eq(dbmap_get(r, key, strlen(key), &value, &len), 1);
	}
	ck_assert_int_eq(dbmap_get(r, "k", 1, &value, &len), 0);
	free(value);
	dbmap_close(r);
	remove_db(path);
}
END_TEST

/* Without a duplicate callback a repeated key fails the build and leaves no file. */
START_TEST(dbmap_duplicate_without_callback_fails)
{
	char *path = temp_db_path(), err[256];
	struct dbmap_writer *w = dbmap_create(path, 2, 2, err, sizeof(err));

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(dbmap_put(w, "k", 1, "1", 1), 0);
	ck_assert_int_eq(dbmap_put(w, "k", 1, "2", 1), 0);
	ck_assert_int_eq(dbmap_finish(w, 0640, (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate key"));
	ck_assert_int_eq(access(path, F_OK), -1);
	remove_db(path);
}
END_TEST

/* Many records, estimates far too small, keys that share hash buckets:
 * every record is found again with its own value, and the first of each
 * repeated key wins, whatever order the writer stored them in. */
START_TEST(dbmap_many_records_first_wins)
{
	char *path = temp_db_path(), err[256], key[32], want[32], *value;
	struct dbmap_writer *w = dbmap_create(path, 1, 1, err, sizeof(err));
	struct dbmap_reader *r;
	size_t len;
	int duplicates = 0;
	const int n = 20000;

	ck_assert_ptr_nonnull(w);
	dbmap_on_duplicate(w, count_dbmap_duplicates, &duplicates);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		snprintf(want, sizeof(want), "first%d", i);
		ck_assert_int_eq(dbmap_put(w, key, strlen(key), want, strlen(want)), 0);
	}
	for (int i = 0; i < n; i += 7) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		ck_assert_int_eq(dbmap_put(w, key, strlen(key), "later", 5), 0);
	}
	ck_assert_int_eq(dbmap_finish(w, 0640, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(duplicates, (n + 6) / 7);
	ck_assert_ptr_nonnull(r = dbmap_open(path, err, sizeof(err)));
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		snprintf(want, sizeof(want), "first%d", i);
		ck_assert_int_eq(dbmap_get(r, key, strlen(key), &value, &len), 0);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_int_eq(memcmp(value, want, len), 0);
		free(value);
	}
	dbmap_close(r);
	remove_db(path);
}
END_TEST

/* An empty key and value, into a writer told to expect nothing. */
START_TEST(dbmap_empty_record)
{
	char *path = temp_db_path(), err[256], *value = NULL;
	struct dbmap_writer *w = dbmap_create(path, 0, 0, err, sizeof(err));
	struct dbmap_reader *r;
	size_t len = 1;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(dbmap_put(w, "", 0, "", 0), 0);
	ck_assert_int_eq(dbmap_finish(w, 0640, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(r = dbmap_open(path, err, sizeof(err)));
	ck_assert_int_eq(dbmap_get(r, "", 0, &value, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(value);
	dbmap_close(r);
	remove_db(path);
}
END_TEST

START_TEST(dbmap_refuses_existing_path)
{
	char *path = temp_db_path(), err[256];
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_ptr_null(dbmap_create(path, 1, 1, err, sizeof(err)));
	remove_db(path);
}
END_TEST

START_TEST(dbmap_discard_leaves_nothing)
{
	char *path = temp_db_path(), err[256];
	struct dbmap_writer *w = dbmap_create(path, 1, 1, err, sizeof(err));

	ck_assert_int_eq(dbmap_put(w, "k", 1, "v", 1), 0);
	dbmap_discard(w);
	ck_assert_int_eq(access(path, F_OK), -1);
	remove_db(path);
}
END_TEST

START_TEST(policy_round_trip)
{
	struct policy_rules in, out, partial;
	const char *why = NULL;
	json_t *json;

	policy_rules_default(&in);
	in.max_size = 50u << 20;
	in.virus = POLICY_VIRUS_QUARANTINE;
	in.spam.has_reject = false;
	in.spam.has_discard = true;
	in.spam.discard_score = 30.5;
	strcpy(in.blocked_types[in.ntypes++], "application/x-dosexec");
	json = policy_rules_to_json(&in);
	ck_assert_int_eq(policy_rules_from_json(json, &out, &why), 0);
	ck_assert(policy_rules_equal(&in, &out));
	ck_assert_uint_eq(out.set, POLICY_SET_ALL);
	json_decref(json);
	/* A rule set that sets only some members reads back with only those set. */
	memset(&partial, 0, sizeof(partial));
	partial.set = POLICY_SET_TAG_SCORE | POLICY_SET_REJECT_SCORE | POLICY_SET_TYPES;
	partial.spam.tag_score = 2.5;	/* reject_score set to null: "never reject" */
	json = policy_rules_to_json(&partial);
	ck_assert_int_eq(policy_rules_from_json(json, &out, &why), 0);
	ck_assert(policy_rules_equal(&partial, &out));
	ck_assert_uint_eq(out.ntypes, 0);
	json_decref(json);
	json = policy_rules_to_json(&(struct policy_rules){ 0 });
	ck_assert_uint_eq(json_object_size(json), 0);
	json_decref(json);
}
END_TEST

START_TEST(policy_overlay_key_by_key)
{
	struct policy_rules rules, domain = { 0 }, mailbox = { 0 };

	policy_rules_default(&rules);
	domain.set = POLICY_SET_VIRUS | POLICY_SET_REJECT_SCORE | POLICY_SET_MAX_SIZE;
	domain.virus = POLICY_VIRUS_QUARANTINE;
	domain.spam.has_reject = true;
	domain.spam.reject_score = 10;
	domain.max_size = 1000;
	mailbox.set = POLICY_SET_TAG_SCORE | POLICY_SET_REJECT_SCORE | POLICY_SET_TYPES;
	mailbox.spam.tag_score = 2;	/* and reject_score null, no blocked types */
	policy_rules_overlay(&rules, &domain);
	policy_rules_overlay(&rules, &mailbox);
	ck_assert_int_eq(rules.virus, POLICY_VIRUS_QUARANTINE);
	ck_assert_uint_eq(rules.max_size, 1000);
	ck_assert(rules.spam.tag_score == 2);
	ck_assert(!rules.spam.has_reject);
	ck_assert(rules.spam.scan);
	ck_assert_str_eq(rules.spam.subject_tag, "[SPAM]");
	ck_assert_uint_eq(rules.ntypes, 0);
	ck_assert_uint_eq(rules.set, POLICY_SET_ALL);
}
END_TEST

/* The strictest of two complete rule sets, key by key (L: records, issue 24). */
START_TEST(policy_strictest_key_by_key)
{
	struct policy_rules a, b;

	policy_rules_default(&a);
	policy_rules_default(&b);
	a.max_size = 10240;
	a.virus = POLICY_VIRUS_TAG;
	a.spam.scan = false;
	a.spam.has_reject = false;
	strcpy(a.blocked_types[a.ntypes++], "application/zip");
	b.max_size = 0;	/* none: the largest */
	b.virus = POLICY_VIRUS_QUARANTINE;
	b.spam.tag_score = 3.0;
	strcpy(b.spam.subject_tag, "[B]");
	b.spam.has_discard = true;
	b.spam.discard_score = 30;
	strcpy(b.blocked_types[b.ntypes++], "application/zip");
	strcpy(b.blocked_types[b.ntypes++], "application/pdf");
	ck_assert_int_eq(policy_rules_strictest(&a, &b), 0);
	ck_assert_uint_eq(a.max_size, 10240);
	ck_assert_int_eq(a.virus, POLICY_VIRUS_QUARANTINE);
	ck_assert(a.spam.scan);
	ck_assert(a.spam.tag_score == 3.0);
	ck_assert_str_eq(a.spam.subject_tag, "[B]");
	ck_assert(a.spam.has_reject && a.spam.reject_score == 15.0);
	ck_assert(a.spam.has_discard && a.spam.discard_score == 30);
	ck_assert_uint_eq(a.ntypes, 2);
	ck_assert_str_eq(a.blocked_types[1], "application/pdf");
	b.virus = POLICY_VIRUS_REJECT;
	b.max_size = 5000;
	ck_assert_int_eq(policy_rules_strictest(&a, &b), 0);
	ck_assert_int_eq(a.virus, POLICY_VIRUS_REJECT);
	ck_assert_uint_eq(a.max_size, 5000);
	policy_rules_default(&a);
	a.max_size = 0;
	b.max_size = 0;
	ck_assert_int_eq(policy_rules_strictest(&a, &b), 0);
	ck_assert_uint_eq(a.max_size, 0);	/* no limit on either side: none */
	/* More types than one rule set holds: as many as fit, and said. */
	a.ntypes = b.ntypes = 0;
	for (unsigned i = 0; i < POLICY_TYPES_MAX; i++) {
		snprintf(a.blocked_types[a.ntypes++], POLICY_TYPE_LEN, "application/a%u", i);
		snprintf(b.blocked_types[b.ntypes++], POLICY_TYPE_LEN, "application/b%u", i);
	}
	ck_assert_int_eq(policy_rules_strictest(&a, &b), -1);
	ck_assert_uint_eq(a.ntypes, POLICY_TYPES_MAX);
}
END_TEST

START_TEST(policy_refuses_malformed)
{
	static const char *const bad[] = {
		"[]", "{\"max_size\":0}", "{\"max_size\":\"5\"}", "{\"virus\":\"eat\"}", "{\"virus\":1}",
		"{\"spam\":{\"reject_score\":\"x\"}}", "{\"spam\":{\"tag_score\":null}}", "{\"spam\":{\"scan\":1}}",
		"{\"spam\":{\"bogus\":1}}", "{\"spam\":[]}", "{\"blocked_types\":[1]}", "{\"mystery\":true}",
	};
	struct policy_rules out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		json_t *json = json_loads(bad[i], 0, NULL);
		const char *why = NULL;

		ck_assert_msg(policy_rules_from_json(json, &out, &why) == -1, "accepted %s", bad[i]);
		json_decref(json);
	}
}
END_TEST

START_TEST(policy_rates)
{
	struct policy_rate rate = { 20, 5, 0, 0 }, out;
	const char *why;
	json_t *json = policy_rate_to_json(&rate);

	ck_assert_uint_eq(json_object_size(json), 2);	/* zeros are left out */
	ck_assert_int_eq(policy_rate_from_json(json, &out, &why), 0);
	ck_assert_uint_eq(out.per_hour, 20);
	ck_assert_uint_eq(out.burst, 5);
	json_decref(json);
	ck_assert_int_eq(policy_rate_from_json(NULL, &out, &why), 0);
	ck_assert_uint_eq(out.per_hour, 0);
	json = json_loads("{\"recipients_per_hour\":-1}", 0, NULL);
	ck_assert_int_eq(policy_rate_from_json(json, &out, &why), -1);
	json_decref(json);
	json = json_loads("{\"recipients_per_hour\":10000001}", 0, NULL);
	ck_assert_int_eq(policy_rate_from_json(json, &out, &why), -1);
	json_decref(json);
	json = json_loads("{\"per_day\":1}", 0, NULL);
	ck_assert_int_eq(policy_rate_from_json(json, &out, &why), -1);
	json_decref(json);
}
END_TEST

/* ---- hostmilter.conf: the rate-limit keys ---- */

/* A configuration must name its scanners (conf.h); these tests are about other keys. */
static int
conf_one(const char *text, struct hm_conf *conf)
{
	struct conf_errors errors;
	char with_scanner[1024];

	snprintf(with_scanner, sizeof(with_scanner), "%sScanner none\n", text);
	return conf_parse("t.conf", with_scanner, conf, &errors);
}

START_TEST(conf_ratelimit_defaults)
{
	struct hm_conf conf;

	ck_assert_int_eq(conf_one("", &conf), 0);
	ck_assert_int_eq(conf.rate_limit, CONF_RATE_LIMIT_ENFORCE);
	ck_assert_str_eq(conf.rate_limit_store, "local");
	ck_assert_int_eq(conf.on_store_failure, CONF_STORE_FAILURE_LOCAL);
	ck_assert_int_eq(conf.rate_limit_store_timeout, 200);
	ck_assert_int_eq(conf.rate_limit_local_size, 100000);
	ck_assert_uint_eq(conf.bulk_daemons.count, 0);
	ck_assert_str_eq(conf.control_socket, "unix:/run/hostmilter/control.sock");
}
END_TEST

START_TEST(conf_ratelimit_good_values)
{
	struct hm_conf conf;
	struct conf_store store;

	ck_assert_int_eq(conf_one("RateLimit warn\nOnRateLimitStoreFailure tempfail\nRateLimitStoreTimeout 10\n"
				  "RateLimitLocalSize 100\nBulkDaemons MTA-bulk, bulk2\nControlSocket none\n"
				  "RateLimitStore redis   unix:/run/redis/redis-server.sock\n", &conf), 0);
	ck_assert_int_eq(conf.rate_limit, CONF_RATE_LIMIT_WARN);
	ck_assert_int_eq(conf.on_store_failure, CONF_STORE_FAILURE_TEMPFAIL);
	ck_assert_int_eq(conf.rate_limit_store_timeout, 10);
	ck_assert_int_eq(conf.rate_limit_local_size, 100);
	ck_assert(conf_list_has(&conf.bulk_daemons, "MTA-bulk"));
	ck_assert(conf_list_has(&conf.bulk_daemons, "bulk2"));
	ck_assert(!conf_list_has(&conf.bulk_daemons, "MTA"));
	ck_assert_str_eq(conf.control_socket, "none");
	ck_assert_int_eq(conf_store_parse(conf.rate_limit_store, &store), 0);
	ck_assert_int_eq(store.kind, CONF_STORE_REDIS_UNIX);
	ck_assert_str_eq(store.path, "/run/redis/redis-server.sock");
	ck_assert_int_eq(conf_one("RateLimit OFF\nOnRateLimitStoreFailure accept\nRateLimitStoreTimeout 2000\n"
				  "RateLimitLocalSize 10000000\nControlSocket unix:/var/run/hm/ctl\n", &conf), 0);
	ck_assert_int_eq(conf.rate_limit, CONF_RATE_LIMIT_OFF);
	ck_assert_int_eq(conf.on_store_failure, CONF_STORE_FAILURE_ACCEPT);
	ck_assert_int_eq(conf_store_parse("redis tcp:10.0.0.5:6379", &store), 0);
	ck_assert_int_eq(store.kind, CONF_STORE_REDIS_TCP);
	ck_assert_str_eq(store.host, "10.0.0.5");
	ck_assert_uint_eq(store.port, 6379);
	ck_assert_int_eq(conf_store_parse("redis tcp:[2001:db8::1]:65535", &store), 0);
	ck_assert_str_eq(store.host, "2001:db8::1");
	ck_assert_uint_eq(store.port, 65535);
	ck_assert_int_eq(conf_store_parse("Redis\ttcp:redis.example:1", &store), 0);
	ck_assert_str_eq(store.host, "redis.example");
	ck_assert_int_eq(conf_store_parse("LOCAL", &store), 0);
	ck_assert_int_eq(store.kind, CONF_STORE_LOCAL);
}
END_TEST

START_TEST(conf_ratelimit_bad_values)
{
	static const char *const bad[] = {
		"RateLimit maybe", "RateLimit enforce warn", "RateLimitStore redis", "RateLimitStore redis unix:relative",
		"RateLimitStore redis unix:", "RateLimitStore redis tcp:host", "RateLimitStore redis tcp:host:0",
		"RateLimitStore redis tcp:host:65536", "RateLimitStore redis tcp:host:+1", "RateLimitStore redis tcp::6379",
		"RateLimitStore redis tcp:2001:db8::1:6379", "RateLimitStore redis tcp:[::1]:x",
		"RateLimitStore redis tcp:[]:1", "RateLimitStore memcached tcp:host:1", "RateLimitStore redisunix:/x",
		"RateLimitStore redis unix:/x extra", "RateLimitStore local redis", "OnRateLimitStoreFailure reject",
		"RateLimitStoreTimeout 9", "RateLimitStoreTimeout 2001", "RateLimitStoreTimeout 1s",
		"RateLimitLocalSize 99", "RateLimitLocalSize 10000001", "RateLimitLocalSize -5",
		"BulkDaemons a b c d e f g h i j k l m n o p q", "ControlSocket tcp:127.0.0.1:5",
		"ControlSocket unix:relative", "ControlSocket /run/x.sock", "RateLimit", "RateLimitStore",
	};
	char line[400];
	struct hm_conf conf;
	struct conf_errors errors;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(line, sizeof(line), "%s\n", bad[i]);
		ck_assert_msg(conf_parse("t.conf", line, &conf, &errors) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:1: "));
	}
	/* A socket path must fit sockaddr_un: 107 bytes do, 108 do not. */
	snprintf(line, sizeof(line), "RateLimitStore redis unix:/%0106d\nScanner none\n", 0);
	ck_assert_int_eq(conf_parse("t.conf", line, &conf, &errors), 0);
	snprintf(line, sizeof(line), "RateLimitStore redis unix:/%0107d\n", 0);
	ck_assert_int_eq(conf_parse("t.conf", line, &conf, &errors), -1);
	snprintf(line, sizeof(line), "ControlSocket unix:/%0107d\n", 0);
	ck_assert_int_eq(conf_parse("t.conf", line, &conf, &errors), -1);
	ck_assert_int_eq(conf_parse("t.conf", "RateLimitStore redis tcp:h:1\nRateLimitStore local\n", &conf, &errors),
			 -1);
	ck_assert_str_eq(errors.text[0], "t.conf:2: RateLimitStore given twice");
}
END_TEST

/* ---- paths root trusts ---- */

static struct stat
fake_stat(mode_t type, mode_t perm, uid_t uid, gid_t gid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = type | perm;
	st.st_uid = uid;
	st.st_gid = gid;
	return st;
}

START_TEST(pathsafe_socket_directories)
{
	struct pathsafe_user hm = { .uid = 109, .ngroups = 2, .groups = { 112, 8 } };
	struct stat st;

	st = fake_stat(S_IFDIR, 0755, 0, 0);
	ck_assert_ptr_null(pathsafe_judge_socket_dir(&st, &hm));
	st = fake_stat(S_IFDIR, 0700, 109, 112);	/* UserID's own */
	ck_assert_ptr_null(pathsafe_judge_socket_dir(&st, &hm));
	st = fake_stat(S_IFDIR, 0775, 0, 0);	/* root's group */
	ck_assert_ptr_null(pathsafe_judge_socket_dir(&st, &hm));
	st = fake_stat(S_IFDIR, 0755, 1000, 1000);	/* another user's */
	ck_assert_str_eq(pathsafe_judge_socket_dir(&st, &hm), "belongs to neither root nor UserID");
	st = fake_stat(S_IFDIR, 01777, 0, 0);	/* /tmp: the name could be taken first */
	ck_assert_str_eq(pathsafe_judge_socket_dir(&st, &hm), "is writable by every user");
	st = fake_stat(S_IFDIR, 0775, 0, 1000);
	ck_assert_str_eq(pathsafe_judge_socket_dir(&st, &hm), "is writable by its group");
	st = fake_stat(S_IFREG, 0755, 0, 0);
	ck_assert_str_eq(pathsafe_judge_socket_dir(&st, &hm), "is not a directory");
	/* Ancestors: others may add names under the sticky bit, not rename ours. */
	st = fake_stat(S_IFDIR, 01777, 0, 0);
	ck_assert_ptr_null(pathsafe_judge_ancestor(&st, &hm));
	st = fake_stat(S_IFDIR, 0777, 0, 0);
	ck_assert_ptr_nonnull(pathsafe_judge_ancestor(&st, &hm));
	st = fake_stat(S_IFDIR, 0775, 0, 1000);
	ck_assert_ptr_nonnull(pathsafe_judge_ancestor(&st, &hm));
	st = fake_stat(S_IFDIR, 0755, 1000, 0);
	ck_assert_ptr_nonnull(pathsafe_judge_ancestor(&st, &hm));
}
END_TEST

START_TEST(pathsafe_policy_files)
{
	struct pathsafe_user hm = { .uid = 109, .ngroups = 2, .groups = { 112, 8 } };
	struct stat st;

	st = fake_stat(S_IFREG, 0644, 0, 0);
	ck_assert_ptr_null(pathsafe_judge_policy(&st, &hm));
	st = fake_stat(S_IFREG, 0664, 1001, 1001);	/* the panel's user and group may write it */
	ck_assert_ptr_null(pathsafe_judge_policy(&st, &hm));
	st = fake_stat(S_IFREG, 0444, 109, 0);	/* UserID's: it may chmod it */
	ck_assert_ptr_nonnull(strstr(pathsafe_judge_policy(&st, &hm), "belongs to UserID"));
	st = fake_stat(S_IFREG, 0646, 0, 0);
	ck_assert_str_eq(pathsafe_judge_policy(&st, &hm), "is writable by every user");
	st = fake_stat(S_IFREG, 0664, 0, 8);	/* a supplementary group of UserID's */
	ck_assert_ptr_nonnull(strstr(pathsafe_judge_policy(&st, &hm), "group UserID is in"));
	st = fake_stat(S_IFDIR, 02755, 0, 8);	/* /etc/mail as Debian has it, group not writing */
	ck_assert_ptr_null(pathsafe_judge_policy(&st, &hm));
}
END_TEST

/* Only a directory directly under /run is made when missing (as the unit's RuntimeDirectory=). */
START_TEST(pathsafe_runtime_directories)
{
	struct pathsafe_user me;
	char err[512];

	ck_assert_ptr_null(pathsafe_judge_runtime_dir("/run/hostmilter"));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/run"));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/run/"));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/run/a/b"));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/run/.."));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/var/run/hostmilter"));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/runaway/hostmilter"));
	ck_assert_ptr_nonnull(pathsafe_judge_runtime_dir("/tmp/hostmilter"));
	/* Existing, or not ours to make: left to the other checks (0), and nothing made. */
	pathsafe_user_self(&me);
	ck_assert_int_eq(pathsafe_runtime_dir("/tmp/x.sock", &me, false, err, sizeof(err)), 0);
	ck_assert_int_eq(pathsafe_runtime_dir("/nonexistent-hostmilter/x.sock", &me, true, err, sizeof(err)), 0);
	ck_assert_int_eq(access("/nonexistent-hostmilter", F_OK), -1);
}
END_TEST

/* The checks on a real tree: a temporary directory of this test's user, standing for UserID. */
START_TEST(pathsafe_checks_real_paths)
{
	char dir[] = "/tmp/pathsafe.XXXXXX", path[300], link[sizeof(dir) + 8], err[512];
	struct pathsafe_user me, other;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pathsafe_user_self(&me);
	other = me;
	other.uid = me.uid + 1;
	other.ngroups = 0;
	snprintf(path, sizeof(path), "%s/hostmilter.sock", dir);
	ck_assert_msg(pathsafe_socket_dir(path, &me, err, sizeof(err)) == 0, "%s", err);
	chmod(dir, 0777);
	ck_assert_int_eq(pathsafe_socket_dir(path, &me, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is writable by every user"));
	ck_assert_ptr_nonnull(strstr(err, dir));
	chmod(dir, 0700);
	snprintf(link, sizeof(link), "%s.link", dir);
	ck_assert_int_eq(symlink(dir, link), 0);
	snprintf(path, sizeof(path), "%s/hostmilter.sock", link);
	ck_assert_int_eq(pathsafe_socket_dir(path, &me, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is a symbolic link"));
	unlink(link);

	snprintf(path, sizeof(path), "%s/hostmilter.db", dir);
	ck_assert_int_eq(pathsafe_policy(path, &other, err, sizeof(err)), -1);	/* missing */
	ck_assert_ptr_nonnull(strstr(err, path));
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	chmod(path, 0644);
	ck_assert_msg(pathsafe_policy(path, &other, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(pathsafe_policy(path, &me, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "belongs to UserID"));
	chmod(path, 0666);
	ck_assert_int_eq(pathsafe_policy(path, &other, err, sizeof(err)), -1);
	chmod(path, 0644);
	chmod(dir, 0777);
	ck_assert_int_eq(pathsafe_policy(path, &other, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "PolicyDB's directory"));
	chmod(dir, 0700);
	snprintf(link, sizeof(link), "%s/policy.link", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(pathsafe_policy(link, &other, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
	unlink(link);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(pathsafe_user_lookup)
{
	struct pathsafe_user user;
	char err[300];

	ck_assert_int_eq(pathsafe_user_named("root", &user, err, sizeof(err)), 0);
	ck_assert_uint_eq(user.uid, 0);
	ck_assert_uint_ge(user.ngroups, 1);
	ck_assert_uint_eq(user.groups[0], 0);
	ck_assert_int_eq(pathsafe_user_named("no-such-user-here", &user, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no such user"));
}
END_TEST

/* ---- rate-limited log lines ---- */

START_TEST(ratelog_one_line_per_interval)
{
	struct ratelog r = RATELOG_INIT(60);
	unsigned long held = 99;

	ck_assert(ratelog_allow(&r, 1000, &held));
	ck_assert_uint_eq(held, 0);
	for (int i = 0; i < 500; i++)
		ck_assert(!ratelog_allow(&r, 1000 + i % 60, &held));
	ck_assert(ratelog_allow(&r, 1060, &held));
	ck_assert_uint_eq(held, 500);
	ck_assert(!ratelog_allow(&r, 1061, &held));
	ck_assert(ratelog_allow(&r, 5000, &held));	/* a quiet hour later */
	ck_assert_uint_eq(held, 1);
	ck_assert_int_gt(ratelog_now(), 0);
}
END_TEST

/* ---- the monotonic clock ---- */

START_TEST(monotime_never_back)
{
	uint64_t us = monotime_us(), ms = monotime_ms(), coarse = monotime_coarse_ms(), later;

	ck_assert_uint_gt(us, 0);
	ck_assert_uint_ge(ms, us / 1000);	/* one clock in two units */
	ck_assert_uint_le(ms, us / 1000 + 1000);
	ck_assert_uint_le(coarse, ms + 100);	/* coarse: a few ms behind at most, never ahead */
	for (int i = 0; i < 1000; i++, us = later)
		ck_assert_uint_ge(later = monotime_us(), us);
	later = monotime_ms() / 1000 + 1;
	ck_assert_int_ge(ratelog_now(), (time_t)later);	/* ratelog's seconds are this clock's, never 0 */
	ck_assert_int_le(ratelog_now(), (time_t)monotime_ms() / 1000 + 1);
}
END_TEST

/* ---- bounded growing strings ---- */

/* Grows past any first guess, up to its maximum exactly; an append too long adds nothing. */
START_TEST(dstr_grows_to_its_maximum)
{
	struct dstr d = DSTR_INIT(1000);
	char chunk[7];

	ck_assert_str_eq(dstr_text(&d), "");
	for (int i = 0; i < 100; i++) {
		snprintf(chunk, sizeof(chunk), "%05d|", i);
		ck_assert_int_eq(dstr_puts(&d, chunk), 0);
	}
	ck_assert_uint_eq(dstr_len(&d), 600);
	ck_assert_int_eq(strncmp(dstr_text(&d) + 594, "00099|", 6), 0);
	ck_assert_int_eq(dstr_printf(&d, "%0399d", 7), 0);	/* 999 */
	ck_assert(!dstr_failed(&d));
	ck_assert_int_eq(dstr_puts(&d, "ab"), -1);	/* 1001: refused whole, not cut to "a" */
	ck_assert_uint_eq(dstr_len(&d), 999);
	ck_assert(dstr_failed(&d));
	ck_assert_int_eq(dstr_printf(&d, "%s", "xy"), -1);
	ck_assert_uint_eq(strlen(dstr_text(&d)), 999);
	ck_assert_int_eq(dstr_append(&d, "z", 1), 0);	/* the last byte fits */
	ck_assert_uint_eq(dstr_len(&d), 1000);
	ck_assert_uint_le(d.cap, 1001);	/* never more than the maximum and its NUL */
	ck_assert_int_eq(dstr_append(&d, "", 0), 0);
	dstr_reset(&d);
	ck_assert(!dstr_failed(&d));
	ck_assert_str_eq(dstr_text(&d), "");
	ck_assert_int_eq(dstr_append(&d, "a\0b", 3), 0);	/* bytes, not C strings */
	ck_assert_uint_eq(dstr_len(&d), 3);
	ck_assert_int_eq(memcmp(dstr_text(&d), "a\0b", 4), 0);
	dstr_free(&d);
	ck_assert_str_eq(dstr_text(&d), "");
	ck_assert_int_eq(dstr_puts(&d, "again"), 0);	/* usable after dstr_free, with the same maximum */
	ck_assert_uint_eq(d.max, 1000);
	dstr_free(&d);
}
END_TEST

START_TEST(dstr_zero_maximum_and_fixed_buffers)
{
	struct dstr d;
	char out[8];

	dstr_init(&d, 0);
	ck_assert_int_eq(dstr_puts(&d, ""), 0);
	ck_assert_int_eq(dstr_puts(&d, "x"), -1);
	dstr_free(&d);
	ck_assert_int_eq(dstr_fmt(out, sizeof(out), "%s", "1234567"), 7);
	ck_assert_str_eq(out, "1234567");
	ck_assert_int_eq(dstr_fmt(out, sizeof(out), "%s", "12345678"), -1);	/* would be cut: refused */
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(dstr_fmt(out, 0, "%d", 1), -1);
}
END_TEST

static Suite *
lib_suite(void)
{
	Suite *s = suite_create("lib");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, size_accepts_admin_forms);
	tcase_add_test(tc, size_refuses_garbage);
	tcase_add_test(tc, size_formats_shortest);
	tcase_add_test(tc, domains);
	tcase_add_test(tc, local_parts);
	tcase_add_test(tc, names);
	tcase_add_test(tc, cidr_keys_v4);
	tcase_add_test(tc, cidr_keys_v6);
	tcase_add_test(tc, cidr_refuses_bad_networks);
	tcase_add_test(tc, cidr_matches);
	tcase_add_test(tc, xtext_as_sendmail);
	tcase_add_test(tc, dbmap_round_trip);
	tcase_add_test(tc, dbmap_refuses_existing_path);
	tcase_add_test(tc, dbmap_discard_leaves_nothing);
	tcase_add_test(tc, dbmap_duplicate_without_callback_fails);
	tcase_add_test(tc, dbmap_empty_buckets_read_back);
	tcase_add_test(tc, dbmap_many_records_first_wins);
	tcase_add_test(tc, dbmap_empty_record);
	tcase_add_test(tc, policy_round_trip);
	tcase_add_test(tc, policy_refuses_malformed);
	tcase_add_test(tc, pathsafe_socket_directories);
	tcase_add_test(tc, pathsafe_policy_files);
	tcase_add_test(tc, pathsafe_runtime_directories);
	tcase_add_test(tc, pathsafe_checks_real_paths);
	tcase_add_test(tc, pathsafe_user_lookup);
	tcase_add_test(tc, ratelog_one_line_per_interval);
	tcase_add_test(tc, monotime_never_back);
	tcase_add_test(tc, dstr_grows_to_its_maximum);
	tcase_add_test(tc, dstr_zero_maximum_and_fixed_buffers);
	tcase_add_test(tc, policy_overlay_key_by_key);
	tcase_add_test(tc, policy_strictest_key_by_key);
	tcase_add_test(tc, policy_rates);
	tcase_add_test(tc, conf_ratelimit_defaults);
	tcase_add_test(tc, conf_ratelimit_good_values);
	tcase_add_test(tc, conf_ratelimit_bad_values);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(lib_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
