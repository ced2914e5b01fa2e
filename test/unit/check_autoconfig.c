/*
 * check_autoconfig - unit tests of mail client autoconfiguration: the
 * export's keys and their errors, which addresses hostmapgen lists in
 * autoconfig.db (written as a real Berkeley DB file and read back through
 * lib/acdb), the record values, and hostautoconfig's pure parts: paths,
 * query strings, Host headers, Outlook's request XML (hostile ones too),
 * the documents, the responder's decisions, the rate table.
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

#include "acdb.h"
#include "answer.h"
#include "dbmap.h"
#include "emit.h"
#include "export.h"
#include "report.h"
#include "mapwatch.h"
#include "msg.h"
#include "odreq.h"
#include "ratetable.h"
#include "request.h"
#include "respond.h"
#include "validate.h"

#define HEAD "{\"version\":1,\"server\":{\"hostname\":\"xyz00.example.net\"},"
#define SETTINGS "\"client_settings\":{\"imap\":{\"host\":\"imap.example.net\",\"port\":993,\"socket\":\"SSL\"}," \
	"\"smtp\":{\"host\":\"smtp.example.net\",\"port\":587,\"socket\":\"STARTTLS\"}}"

/* ---- exports ---- */

struct loaded {
	struct mg_export *export;
	struct mg_report report;
};

static struct loaded
load(const char *json)
{
	struct loaded l = { 0 };

	report_init(&l.report);
	if (export_read(json, strlen(json), "test", &l.export, &l.report) == 0)
		validate_export(l.export, &l.report);
	return l;
}

static void
unload(struct loaded *l)
{
	report_free(&l->report);
	model_free(l->export);
}

static void
expect_error(const char *json, const char *needle)
{
	struct loaded l = load(json);
	GString *all = g_string_new(NULL);
	bool found = false;

	for (guint i = 0; i < l.report.errors->len; i++) {
		const struct report_entry *e = l.report.errors->pdata[i];
		char *where = report_dotted(e->path), *text = g_strdup_printf("%s: %s", where, e->message);

		g_string_append_printf(all, "\n  %s", text);
		found |= strstr(text, needle) != NULL;
		g_free(text);
		g_free(where);
	}
	ck_assert_msg(found, "no error containing \"%s\" in:%s", needle, all->str);
	g_string_free(all, TRUE);
	unload(&l);
}

static void
expect_valid(const char *json)
{
	struct loaded l = load(json);

	ck_assert_msg(l.report.errors->len == 0, "unexpected error: %s",
		      l.report.errors->len ? ((const struct report_entry *)l.report.errors->pdata[0])->message : "");
	unload(&l);
}

#define MAILBOXES "\"mailboxes\":[{\"name\":\"xyz00-hugo\"},{\"name\":\"xyz00-anna\"},{\"name\":\"xyz00-shop\"}],"

START_TEST(client_settings_errors_name_their_path)
{
	expect_error(HEAD "\"defaults\":{\"client_settings\":{\"imap\":{\"host\":\"imap.example.net\",\"port\":993,"
		     "\"socket\":\"TLS\"}}}}", "defaults.client_settings.imap.socket: \"TLS\" is not one of SSL");
	expect_error(HEAD "\"defaults\":{\"client_settings\":{\"smtp\":{\"host\":\"smtp.example.net\",\"port\":0,"
		     "\"socket\":\"SSL\"}}}}", "defaults.client_settings.smtp.port: a port is between 1 and 65535");
	expect_error(HEAD "\"defaults\":{\"client_settings\":{\"smtp\":{\"host\":\"localhost\",\"port\":25,"
		     "\"socket\":\"SSL\"}}}}", "defaults.client_settings.smtp.host: \"localhost\" is not a valid host name");
	expect_error(HEAD "\"defaults\":{\"client_settings\":{\"imap\":{\"port\":993,\"socket\":\"SSL\"}}}}",
		     "defaults.client_settings.imap: missing key \"host\"");
	expect_error(HEAD "\"defaults\":{\"client_settings\":{\"jmap\":{}}}}",
		     "defaults.client_settings.jmap: unknown key \"jmap\"");
	expect_error(HEAD "\"defaults\":{\"client_settings\":{\"imap\":{\"host\":\"imap.example.net\",\"port\":993,"
		     "\"socket\":\"SSL\",\"user\":\"x\"}}}}", "defaults.client_settings.imap.user: unknown key");
	expect_error(HEAD "\"domains\":[{\"name\":\"example.com\",\"autoconfig\":\"yes\"}]}",
		     "domains[0].autoconfig: expected a boolean");
	expect_error(HEAD "\"domains\":[{\"name\":\"example.com\",\"client_settings\":{\"pop3\":[]}}]}",
		     "domains[0].client_settings.pop3: expected an object or null");
}
END_TEST

START_TEST(autoconfig_needs_servers_and_a_local_domain)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"example.com\",\"autoconfig\":true}]}",
		     "domains[0].autoconfig: needs client_settings with \"imap\" or \"pop3\" and \"smtp\"");
	/* null takes away what the defaults offer */
	expect_error(HEAD "\"defaults\":{" SETTINGS "},\"domains\":[{\"name\":\"example.com\",\"autoconfig\":true,"
		     "\"client_settings\":{\"smtp\":null}}]}", "domains[0].autoconfig: needs client_settings");
	expect_valid(HEAD "\"defaults\":{" SETTINGS "},\"domains\":[{\"name\":\"example.com\",\"autoconfig\":true,"
		     "\"client_settings\":{\"pop3\":null}}]}");
	expect_error(HEAD "\"defaults\":{" SETTINGS "},\"domains\":[{\"name\":\"member.example\",\"autoconfig\":true,"
		     "\"route\":{\"host\":\"relay.example.net\"}}]}", "domains[0].autoconfig: member.example is relayed");
	/* the domain's own settings are enough without defaults */
	expect_valid(HEAD "\"domains\":[{\"name\":\"example.com\",\"autoconfig\":true," SETTINGS "}]}");
}
END_TEST

/* ---- autoconfig.db, written and read back ---- */

static char tmpdir[64];

static void
make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/check_autoconfig.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	chmod(tmpdir, 0755);
}

static void
remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static int
store(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	return dbmap_put(context, key, keylen, value, valuelen);
}

/* The export's autoconfig.db as install writes it (records, then @digest), at path; its record count. */
static size_t
write_db(const char *json, const char *path)
{
	struct loaded l = load(json);
	struct policy_records records = { 0 };
	struct dbmap_writer *writer;
	char err[256];
	size_t count;

	ck_assert_msg(l.report.errors->len == 0, "export: %s",
		      l.report.errors->len ? (const char *)l.report.errors->pdata[0] : "");
	emit_autoconfig(l.export, &records);
	writer = dbmap_create(path, records.count + 1, records.data->len, err, sizeof(err));
	ck_assert_msg(writer != NULL, "%s", err);
	ck_assert_int_eq(emit_policy_records_each(&records, store, writer), 0);
	ck_assert_int_eq(dbmap_put(writer, ACDB_KEY_DIGEST, strlen(ACDB_KEY_DIGEST), records.digest,
				   strlen(records.digest)), 0);
	ck_assert_msg(dbmap_finish(writer, 0644, (uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0, "%s", err);
	count = records.count;
	emit_policy_records_free(&records);
	unload(&l);
	return count;
}

#define SAMPLE HEAD "\"defaults\":{" SETTINGS "}," MAILBOXES \
	"\"domains\":[" \
	"{\"name\":\"example.com\",\"aliases\":[\"example.net\"],\"autoconfig\":true,\"addresses\":[" \
	"{\"local\":\"hugo\",\"deliver\":[\"xyz00-hugo\"]}," \
	"{\"local\":\"sales\",\"deliver\":[\"xyz00-hugo\",\"boss@partner.example\"]}," \
	"{\"local\":\"both\",\"deliver\":[\"xyz00-hugo\",\"xyz00-anna\"]}," \
	"{\"local\":\"away\",\"deliver\":[\"boss@partner.example\"]}," \
	"{\"local\":\"old\",\"reject\":\"gone\"}," \
	"{\"local\":\"chain\",\"deliver\":[\"team\"]}," \
	"{\"local\":\"hops\",\"deliver\":[\"anna@example.org\"]}," \
	"{\"local\":\"admin\",\"deliver\":[\"root\"]}," \
	"{\"local\":\"twice\",\"deliver\":[\"xyz00-hugo\",\"hugo@example.com\"]}]," \
	"\"catch_all\":{\"deliver\":[\"xyz00-anna\"]}}," \
	"{\"name\":\"example.org\",\"addresses\":[{\"local\":\"anna\",\"deliver\":[\"xyz00-anna\"]}]}," \
	"{\"name\":\"shop.example\",\"autoconfig\":true,\"client_settings\":{\"pop3\":{\"host\":\"pop.shop.example\"," \
	"\"port\":995,\"socket\":\"SSL\"},\"imap\":null},\"catch_all\":{\"deliver\":[\"xyz00-shop\",\"xyz00-anna\"]}," \
	"\"addresses\":[{\"local\":\"orders\",\"deliver\":[\"xyz00-shop\"]}]}]," \
	"\"aliases\":[{\"name\":\"team\",\"deliver\":[\"shop-fwd@example.org\"]}]}"

/* example.org's shop-fwd does not exist: team reaches anna through the catch-all?  No: add it. */
#define SAMPLE_FIXED_ORG "{\"local\":\"shop-fwd\",\"deliver\":[\"xyz00-shop\"]}"

static struct acdb *
sample_db(void)
{
	char path[128], err[256];
	struct acdb *db;
	GString *json = g_string_new(SAMPLE);

	/* team -> shop-fwd@example.org -> xyz00-shop: a chain through an alias and a hosted address */
	g_string_replace(json, "{\"local\":\"anna\",\"deliver\":[\"xyz00-anna\"]}",
			 "{\"local\":\"anna\",\"deliver\":[\"xyz00-anna\"]}," SAMPLE_FIXED_ORG, 1);
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/autoconfig.db", tmpdir);
	write_db(json->str, path);
	g_string_free(json, TRUE);
	db = acdb_open(path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	return db;
}

static void
expect_login(struct acdb *db, const char *address, const char *login, enum acdb_via via)
{
	struct acdb_answer answer;
	const char *why;
	enum acdb_result rc = acdb_lookup(db, address, &answer, &why);

	ck_assert_msg(rc == ACDB_FOUND, "%s: result %d (%s)", address, rc, why);
	ck_assert_str_eq(answer.login, login);
	ck_assert_int_eq(answer.via, via);
}

static void
expect_result(struct acdb *db, const char *address, enum acdb_result want)
{
	struct acdb_answer answer;
	const char *why;

	ck_assert_msg(acdb_lookup(db, address, &answer, &why) == want, "%s: not result %d", address, want);
}

START_TEST(eligible_addresses_reach_exactly_one_mailbox)
{
	struct acdb *db = sample_db();

	expect_login(db, "hugo@example.com", "xyz00-hugo", ACDB_VIA_ADDRESS);
	expect_login(db, "Hugo@EXAMPLE.com", "xyz00-hugo", ACDB_VIA_ADDRESS);
	expect_login(db, "sales@example.com", "xyz00-hugo", ACDB_VIA_ADDRESS);	/* a forward beside it */
	expect_login(db, "twice@example.com", "xyz00-hugo", ACDB_VIA_ADDRESS);	/* the same mailbox twice */
	expect_login(db, "chain@example.com", "xyz00-shop", ACDB_VIA_ADDRESS);	/* alias, then another domain */
	expect_login(db, "hops@example.com", "xyz00-anna", ACDB_VIA_ADDRESS);
	expect_login(db, "hugo@example.net", "xyz00-hugo", ACDB_VIA_ADDRESS);	/* alias domain */
	expect_login(db, "hugo+lists@example.com", "xyz00-hugo", ACDB_VIA_DETAIL);
	ck_assert_str_eq(acdb_via_name(ACDB_VIA_DETAIL), "detail");
	ck_assert_str_eq(acdb_via_name(ACDB_VIA_CATCH_ALL), "catch-all");
	expect_login(db, "nobody-listed@example.com", "xyz00-anna", ACDB_VIA_CATCH_ALL);
	expect_login(db, "orders@shop.example", "xyz00-shop", ACDB_VIA_ADDRESS);
	expect_result(db, "both@example.com", ACDB_NOT_ELIGIBLE);
	expect_result(db, "away@example.com", ACDB_NOT_ELIGIBLE);
	expect_result(db, "old@example.com", ACDB_NOT_ELIGIBLE);
	expect_result(db, "admin@example.com", ACDB_NOT_ELIGIBLE);	/* root is nobody's login */
	expect_result(db, "old+x@example.com", ACDB_NOT_ELIGIBLE);	/* listed: no catch-all */
	expect_result(db, "anyone@shop.example", ACDB_NOT_ELIGIBLE);	/* catch-all reaches two */
	expect_result(db, "anna@example.org", ACDB_NOT_ELIGIBLE);	/* not opted in */
	expect_result(db, "hugo@elsewhere.example", ACDB_NOT_ELIGIBLE);
	expect_result(db, "not an address", ACDB_NOT_ADDRESS);
	expect_result(db, "a%b@example.com", ACDB_NOT_ADDRESS);
	expect_result(db, "", ACDB_NOT_ADDRESS);
	acdb_close(db);
	remove_tmpdir();
}
END_TEST

START_TEST(settings_come_from_the_domain_over_the_defaults)
{
	struct acdb *db = sample_db();
	struct acdb_answer a, b;
	const char *why;

	ck_assert_int_eq(acdb_lookup(db, "hugo@example.net", &a, &why), ACDB_FOUND);
	ck_assert_str_eq(a.domain, "example.net");
	ck_assert_str_eq(a.canonical, "example.com");
	ck_assert(a.settings.server[ACDB_IMAP].offered);
	ck_assert(!a.settings.server[ACDB_POP3].offered);
	ck_assert_str_eq(a.settings.server[ACDB_SMTP].host, "smtp.example.net");
	ck_assert_int_eq(a.settings.server[ACDB_SMTP].port, 587);
	ck_assert_int_eq(a.settings.server[ACDB_SMTP].socket, ACDB_SOCKET_STARTTLS);
	ck_assert_int_eq(acdb_lookup(db, "orders@shop.example", &b, &why), ACDB_FOUND);
	ck_assert(!b.settings.server[ACDB_IMAP].offered);
	ck_assert_str_eq(b.settings.server[ACDB_POP3].host, "pop.shop.example");
	ck_assert_str_eq(b.settings.server[ACDB_SMTP].host, "smtp.example.net");
	ck_assert_uint_ne(a.settings_id, b.settings_id);
	ck_assert_int_eq(acdb_lookup_domain(db, "EXAMPLE.net", &a, &why), ACDB_FOUND);
	ck_assert_str_eq(a.login, "");
	ck_assert_int_eq(acdb_lookup_domain(db, "example.org", &a, &why), ACDB_NOT_ELIGIBLE);
	ck_assert_int_eq(acdb_lookup_domain(db, "[192.0.2.1]", &a, &why), ACDB_NOT_ADDRESS);
	acdb_close(db);
	remove_tmpdir();
}
END_TEST

START_TEST(big_domains_spread_over_buckets)
{
	GString *json = g_string_new(HEAD "\"defaults\":{" SETTINGS "}," MAILBOXES
				     "\"domains\":[{\"name\":\"big.example\",\"autoconfig\":true,\"addresses\":[");
	char path[128], small[128], err[256], address[64];
	struct acdb *db;
	size_t records;

	for (int i = 0; i < 1000; i++)
		g_string_append_printf(json, "%s{\"local\":\"user%d\",\"deliver\":[\"%s\"]}", i ? "," : "", i,
				       i % 2 ? "xyz00-hugo" : "xyz00-anna");
	g_string_append(json, "]}]}");
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/autoconfig.db", tmpdir);
	records = write_db(json->str, path);
	ck_assert_uint_gt(records, 1000 / ACDB_BUCKET_ADDRESSES);	/* buckets, not one record each */
	ck_assert_uint_lt(records, 1000 / ACDB_BUCKET_ADDRESSES + 10);
	/* and a small domain is one record: format, settings, its D: record */
	g_string_assign(json, HEAD "\"defaults\":{" SETTINGS "}," MAILBOXES "\"domains\":[{\"name\":\"small.example\","
			"\"autoconfig\":true,\"addresses\":[{\"local\":\"a\",\"deliver\":[\"xyz00-hugo\"]}]}]}");
	snprintf(small, sizeof(small), "%s/small.db", tmpdir);
	ck_assert_uint_eq(write_db(json->str, small), 3);
	db = acdb_open(path, err, sizeof(err));	/* the big domain's */
	ck_assert_msg(db != NULL, "%s", err);
	for (int i = 0; i < 1000; i++) {
		snprintf(address, sizeof(address), "user%d@big.example", i);
		expect_login(db, address, i % 2 ? "xyz00-hugo" : "xyz00-anna", ACDB_VIA_ADDRESS);
	}
	expect_result(db, "user1000@big.example", ACDB_NOT_ELIGIBLE);
	acdb_close(db);
	g_string_free(json, TRUE);
	remove_tmpdir();
}
END_TEST

START_TEST(a_foreign_or_older_file_is_refused)
{
	char path[128], err[256];
	struct dbmap_writer *writer;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/autoconfig.db", tmpdir);
	writer = dbmap_create(path, 1, 10, err, sizeof(err));
	ck_assert_int_eq(dbmap_put(writer, "@format", 7, "hostmilter-autoconfig 0", 23), 0);
	ck_assert_int_eq(dbmap_finish(writer, 0644, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_ptr_null(acdb_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "rerun hostmapgen"), "%s", err);
	remove_tmpdir();
}
END_TEST

START_TEST(record_values_round_trip_and_refuse_damage)
{
	struct acdb_settings s = { 0 }, back;
	struct acdb_domain d = { .canonical = "example.com", .settings_id = 3, .buckets = 2, .catch_all = "xyz00-hugo" }, dback;
	char buf[512], login[40];
	const char *why;

	s.server[ACDB_IMAP] = (struct acdb_server){ true, "imap.example.net", 993, ACDB_SOCKET_SSL };
	s.server[ACDB_SMTP] = (struct acdb_server){ true, "smtp.example.net", 587, ACDB_SOCKET_STARTTLS };
	ck_assert_int_eq(acdb_settings_format(&s, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "imap\timap.example.net\t993\tSSL\nsmtp\tsmtp.example.net\t587\tSTARTTLS\n");
	ck_assert_int_eq(acdb_settings_parse(buf, strlen(buf), &back, &why), 0);
	ck_assert_mem_eq(&back, &s, sizeof(s));
	ck_assert_int_eq(acdb_domain_format(&d, buf, sizeof(buf)), 0);
	ck_assert_int_eq(acdb_domain_parse(buf, strlen(buf), &dback, &why), 0);
	ck_assert_str_eq(dback.catch_all, "xyz00-hugo");
	ck_assert_uint_eq(dback.buckets, 2);
	/* damage */
	ck_assert_int_eq(acdb_settings_parse("imap\th.example\t993\tSSL\n", 24, &back, &why), -1);	/* no smtp */
	ck_assert_int_eq(acdb_settings_parse("smtp\th.example\t99999\tSSL\nimap\th.example\t1\tSSL\n", 47, &back, &why), -1);
	ck_assert_int_eq(acdb_settings_parse("smtp\th.example\t25\tSSL", 21, &back, &why), -1);
	ck_assert_int_eq(acdb_settings_parse("smtp\th.example\t25\tSSL\nsmtp\th.example\t25\tSSL\n", 44, &back, &why), -1);
	ck_assert_int_eq(acdb_domain_parse("example.com\t0\t2\t\nx\ty\n", 21, &dback, &why), -1);	/* lines and buckets */
	/* a small domain's addresses follow its first line */
	ck_assert_int_eq(acdb_domain_parse("example.com\t0\t0\t\nhugo\txyz00-hugo\n", 33, &dback, &why), 0);
	ck_assert_uint_eq(dback.buckets, 0);
	ck_assert_int_eq(acdb_bucket_find(dback.lines, dback.lines_len, "hugo", login, sizeof(login)), 1);
	ck_assert_str_eq(login, "xyz00-hugo");
	ck_assert_int_eq(acdb_domain_parse("example.com\t0\t0\t", 16, &dback, &why), 0);
	ck_assert_uint_eq(dback.lines_len, 0);
	ck_assert_int_eq(acdb_domain_parse("example.com\t0\t1\tRoot!", 21, &dback, &why), -1);
	ck_assert_int_eq(acdb_domain_parse("example.com\t0\t1", 15, &dback, &why), -1);
	ck_assert_int_eq(acdb_domain_parse("example.com\tx\t1\t", 16, &dback, &why), -1);
	/* buckets */
	ck_assert_int_eq(acdb_bucket_find("a\tx\nhugo\txyz00-hugo\nold\t\n", 25, "hugo", login, sizeof(login)), 1);
	ck_assert_str_eq(login, "xyz00-hugo");
	ck_assert_int_eq(acdb_bucket_find("a\tx\nhugo\txyz00-hugo\nold\t\n", 25, "old", login, sizeof(login)), 1);
	ck_assert_str_eq(login, "");
	ck_assert_int_eq(acdb_bucket_find("a\tx\nhugo\txyz00-hugo\nold\t\n", 25, "hug", login, sizeof(login)), 0);
	ck_assert_int_eq(acdb_bucket_find("a\tx\nhugo", 8, "hugo", login, sizeof(login)), -1);
	ck_assert_int_eq(acdb_bucket_find("hugo\t0123456789012345678901234567890123456789\n", 46, "hugo", login,
					  sizeof(login)), -1);
	ck_assert_uint_lt(acdb_bucket("hugo", 7), 7);
	ck_assert_uint_eq(acdb_bucket("hugo", 1), 0);
}
END_TEST

START_TEST(addresses_as_clients_type_them)
{
	char local[ADDR_LOCAL_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	char longer[400];

	ck_assert(acdb_address_split(" Hugo@Example.COM\t", local, domain));
	ck_assert_str_eq(local, "hugo");
	ck_assert_str_eq(domain, "example.com");
	ck_assert(!acdb_address_split("hugo@example.com@x.example", local, domain));
	ck_assert(!acdb_address_split("hugo", local, domain));
	ck_assert(!acdb_address_split("\"a b\"@example.com", local, domain));
	ck_assert(!acdb_address_split("hugo@[192.0.2.1]", local, domain));
	ck_assert(!acdb_address_split("h\xc3\xbcgo@example.com", local, domain));
	ck_assert(!acdb_address_split("hugo@ex\xff.com", local, domain));
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	longer[100] = '@';
	ck_assert(!acdb_address_split(longer, local, domain));
}
END_TEST

/* ---- requests ---- */

START_TEST(paths_in_any_letter_case)
{
	const char *address;

	ck_assert_int_eq(request_classify("/mail/config-v1.1.xml", &address), REQUEST_THUNDERBIRD);
	ck_assert_int_eq(request_classify("/.well-known/autoconfig/mail/config-v1.1.xml", &address), REQUEST_THUNDERBIRD);
	ck_assert_int_eq(request_classify("/autodiscover/autodiscover.xml", &address), REQUEST_OUTLOOK);
	ck_assert_int_eq(request_classify("/AutoDiscover/AutoDiscover.xml", &address), REQUEST_OUTLOOK);
	ck_assert_int_eq(request_classify("/AUTODISCOVER/AUTODISCOVER.XML", &address), REQUEST_OUTLOOK);
	ck_assert_int_eq(request_classify("/autodiscover/autodiscover.json", &address), REQUEST_OUTLOOK_JSON);
	ck_assert_ptr_null(address);
	ck_assert_int_eq(request_classify("/autodiscover/autodiscover.json/v1.0/hugo@example.com", &address),
			 REQUEST_OUTLOOK_JSON);
	ck_assert_str_eq(address, "hugo@example.com");
	ck_assert_int_eq(request_classify("/mobileconfig", &address), REQUEST_APPLE);
	ck_assert_int_eq(request_classify("/mail/config-v1.1.xml/../../etc/passwd", &address), REQUEST_UNKNOWN);
	ck_assert_int_eq(request_classify("/", &address), REQUEST_UNKNOWN);
}
END_TEST

START_TEST(query_strings_decode_or_are_refused)
{
	struct request req = { 0 };
	char buf[] = "emailaddress=hugo%40example.com&x=a+b&flag&&=v";
	char bad[] = "emailaddress=hugo%4";
	char nul[] = "emailaddress=hugo%00@example.com";
	bool ambiguous = false;

	ck_assert_int_eq(request_parse_query(buf, &req), 0);
	ck_assert_str_eq(request_arg(&req, "EmailAddress", &ambiguous), "hugo@example.com");
	ck_assert_str_eq(request_arg(&req, "x", &ambiguous), "a b");
	ck_assert_str_eq(request_arg(&req, "flag", &ambiguous), "");
	ck_assert(!ambiguous);
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(request_parse_query(bad, &req), -1);
	ck_assert_int_eq(request_parse_query(nul, &req), -1);
}
END_TEST

START_TEST(an_argument_twice_is_ambiguous)
{
	struct request req = { 0 };
	char buf[] = "emailaddress=a@example.com&EMAILADDRESS=b@example.com";
	char many[400] = "";
	bool ambiguous = false;

	ck_assert_int_eq(request_parse_query(buf, &req), 0);
	request_arg(&req, "emailaddress", &ambiguous);
	ck_assert(ambiguous);
	memset(&req, 0, sizeof(req));
	for (int i = 0; i < 20; i++)
		sprintf(many + strlen(many), "a%d=1&", i);
	ck_assert_int_eq(request_parse_query(many, &req), 0);
	ck_assert_uint_eq(req.nargs, REQUEST_ARGS_MAX);
	ck_assert_uint_eq(req.dropped_args, 20 - REQUEST_ARGS_MAX);
}
END_TEST

START_TEST(host_headers)
{
	char domain[ADDR_DOMAIN_MAX + 1];

	ck_assert(request_host_domain("Autoconfig.Example.COM.", domain));
	ck_assert_str_eq(domain, "autoconfig.example.com");
	ck_assert_str_eq(request_service_parent(domain), "example.com");
	ck_assert(request_host_domain("example.com:8443", domain));
	ck_assert_str_eq(domain, "example.com");
	ck_assert_ptr_null(request_service_parent(domain));
	ck_assert(!request_host_domain("example.com:", domain));
	ck_assert(!request_host_domain("example.com:99999999", domain));
	ck_assert(!request_host_domain("example.com:65536", domain));
	ck_assert(!request_host_domain("[2001:db8::1]:80", domain));
	ck_assert(!request_host_domain("192.0.2.1", domain));
	ck_assert(!request_host_domain("localhost", domain));
	ck_assert(!request_host_domain("exa mple.com", domain));
	ck_assert(!request_host_domain("ex\xc3\xa4mple.com", domain));
	ck_assert(!request_host_domain("", domain));
	ck_assert(!request_host_domain("autoconfig.example.com/../x", domain));
}
END_TEST

/* ---- Outlook's request ---- */

#define OD_OUTLOOK "<Autodiscover xmlns=\"" ODREQ_NS_OUTLOOK_REQUEST "\"><Request><EMailAddress>%s</EMailAddress>" \
	"<AcceptableResponseSchema>" ODREQ_SCHEMA_OUTLOOK "</AcceptableResponseSchema></Request></Autodiscover>"

static int
parse(const char *body, struct odreq *od, const char **why)
{
	return odreq_parse(body, strlen(body), od, why);
}

START_TEST(outlook_requests_are_read)
{
	struct odreq od;
	const char *why = "";
	char body[1024];

	snprintf(body, sizeof(body), "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" OD_OUTLOOK, "hugo@example.com");
	ck_assert_msg(parse(body, &od, &why) == 0, "%s", why);
	ck_assert_int_eq(od.family, ODREQ_OUTLOOK);
	ck_assert_str_eq(od.address, "hugo@example.com");
	ck_assert_str_eq(od.schema, ODREQ_SCHEMA_OUTLOOK);
	/* a prefix instead of a default namespace, blanks around the text, unknown elements */
	ck_assert_msg(parse("<a:Autodiscover xmlns:a=\"" ODREQ_NS_OUTLOOK_REQUEST "\"><a:Request><a:Legacy/>"
			    "<a:EMailAddress>\n  hugo@example.com\n</a:EMailAddress></a:Request></a:Autodiscover>",
			    &od, &why) == 0, "%s", why);
	ck_assert_str_eq(od.address, "hugo@example.com");
	ck_assert_str_eq(od.schema, "");
	ck_assert_msg(parse("<Autodiscover xmlns=\"" ODREQ_NS_MOBILESYNC_REQUEST "\"><Request><EMailAddress>"
			    "hugo@example.com</EMailAddress><AcceptableResponseSchema>" ODREQ_SCHEMA_MOBILESYNC
			    "</AcceptableResponseSchema></Request></Autodiscover>", &od, &why) == 0, "%s", why);
	ck_assert_int_eq(od.family, ODREQ_MOBILESYNC);
	/* entities XML defines itself are text */
	snprintf(body, sizeof(body), OD_OUTLOOK, "a&amp;b@example.com");
	ck_assert_int_eq(parse(body, &od, &why), 0);
	ck_assert_str_eq(od.address, "a&b@example.com");
}
END_TEST

START_TEST(hostile_outlook_requests_are_refused)
{
	struct odreq od;
	const char *why = "";
	char body[8192];
	GString *deep = g_string_new("<Autodiscover xmlns=\"" ODREQ_NS_OUTLOOK_REQUEST "\">");

	/* billion laughs: refused at the DTD, before any entity exists */
	ck_assert_int_eq(parse("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			       "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
			       "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>"
			       "<Autodiscover xmlns=\"" ODREQ_NS_OUTLOOK_REQUEST "\"><Request><EMailAddress>&lol2;"
			       "</EMailAddress></Request></Autodiscover>", &od, &why), -1);
	ck_assert_msg(strstr(why, "document type"), "%s", why);
	/* an external entity: the same */
	ck_assert_int_eq(parse("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Autodiscover xmlns=\""
			       ODREQ_NS_OUTLOOK_REQUEST "\"><Request><EMailAddress>&x;</EMailAddress></Request>"
			       "</Autodiscover>", &od, &why), -1);
	/* an entity never declared */
	snprintf(body, sizeof(body), OD_OUTLOOK, "&x;@example.com");
	ck_assert_int_eq(parse(body, &od, &why), -1);
	/* not UTF-8 */
	snprintf(body, sizeof(body), OD_OUTLOOK, "h\xff\xfe@example.com");
	ck_assert_int_eq(parse(body, &od, &why), -1);
	/* not well-formed, another root, another namespace, nothing at all */
	ck_assert_int_eq(parse("<Autodiscover xmlns=\"" ODREQ_NS_OUTLOOK_REQUEST "\"><Request>", &od, &why), -1);
	ck_assert_int_eq(parse("<Request xmlns=\"" ODREQ_NS_OUTLOOK_REQUEST "\"/>", &od, &why), -1);
	ck_assert_int_eq(parse("<Autodiscover xmlns=\"urn:other\"/>", &od, &why), -1);
	ck_assert_int_eq(parse("", &od, &why), -1);
	/* deeper than any request */
	for (int i = 0; i < 40; i++)
		g_string_append(deep, "<Request>");
	ck_assert_int_eq(parse(deep->str, &od, &why), -1);
	g_string_free(deep, TRUE);
	/* a field longer than any address */
	memset(body, 0, sizeof(body));
	strcpy(body, "<Autodiscover xmlns=\"" ODREQ_NS_OUTLOOK_REQUEST "\"><Request><EMailAddress>");
	memset(body + strlen(body), 'a', 2000);
	strcat(body, "@example.com</EMailAddress></Request></Autodiscover>");
	ck_assert_int_eq(parse(body, &od, &why), -1);
}
END_TEST

/* ---- documents ---- */

static void
sample_answer(struct acdb_answer *a, const char *login)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->address, "hugo@example.net");
	strcpy(a->domain, "example.net");
	strcpy(a->canonical, "example.com");
	strcpy(a->login, login);
	a->settings.server[ACDB_IMAP] = (struct acdb_server){ true, "imap.example.net", 993, ACDB_SOCKET_SSL };
	a->settings.server[ACDB_POP3] = (struct acdb_server){ true, "pop.example.net", 110, ACDB_SOCKET_STARTTLS };
	a->settings.server[ACDB_SMTP] = (struct acdb_server){ true, "smtp.example.net", 587, ACDB_SOCKET_STARTTLS };
}

START_TEST(documents_carry_the_login_and_servers)
{
	struct acdb_answer a;
	GString *out = g_string_new(NULL);

	sample_answer(&a, "xyz00-hugo");
	answer_thunderbird(&a, out);
	ck_assert_ptr_nonnull(strstr(out->str, "<clientConfig version=\"1.1\">"));
	ck_assert_ptr_nonnull(strstr(out->str, "<username>xyz00-hugo</username>"));
	ck_assert_ptr_nonnull(strstr(out->str, "<incomingServer type=\"pop3\">"));
	ck_assert(strstr(out->str, "type=\"imap\"") < strstr(out->str, "type=\"pop3\""));
	g_string_truncate(out, 0);
	sample_answer(&a, "");
	answer_thunderbird(&a, out);
	ck_assert_ptr_nonnull(strstr(out->str, "<username>%EMAILADDRESS%</username>"));
	g_string_truncate(out, 0);
	sample_answer(&a, "xyz00-hugo");
	answer_outlook(&a, out);
	ck_assert_ptr_nonnull(strstr(out->str, "<LoginName>xyz00-hugo</LoginName>"));
	ck_assert_ptr_nonnull(strstr(out->str, "<Encryption>TLS</Encryption>"));
	ck_assert_ptr_null(strstr(out->str, "DisplayName"));
	g_string_truncate(out, 0);
	answer_outlook_json("autodiscover.example.net", out);
	ck_assert_str_eq(out->str, "{\"Protocol\":\"AutodiscoverV1\",\"Url\":"
			 "\"https://autodiscover.example.net/autodiscover/autodiscover.xml\"}\n");
	g_string_truncate(out, 0);
	answer_json_error("X", "a \"quoted\"\n text", out);
	ck_assert_str_eq(out->str, "{\"ErrorCode\":\"X\",\"ErrorMessage\":\"a \\\"quoted\\\"\\u000a text\"}\n");
	g_string_truncate(out, 0);
	answer_xml_escape(out, "<a href=\"x\">&'");
	ck_assert_str_eq(out->str, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
	g_string_free(out, TRUE);
}
END_TEST

START_TEST(profiles_have_no_password_and_stable_ids)
{
	struct acdb_answer a;
	GString *one = g_string_new(NULL), *two = g_string_new(NULL);

	sample_answer(&a, "xyz00-hugo");
	answer_mobileconfig(&a, one);
	answer_mobileconfig(&a, two);
	ck_assert_str_eq(one->str, two->str);
	ck_assert_ptr_null(strstr(one->str, "<key>IncomingPassword</key>"));
	ck_assert_ptr_null(strstr(one->str, "<key>OutgoingPassword</key>"));
	ck_assert_ptr_nonnull(strstr(one->str, "<string>EmailTypeIMAP</string>"));
	ck_assert_ptr_nonnull(strstr(one->str, "<string>net.example.autoconfig."));
	strcpy(a.address, "anna@example.net");
	g_string_truncate(two, 0);
	answer_mobileconfig(&a, two);
	ck_assert_str_ne(one->str, two->str);
	/* without IMAP, the POP3 server */
	a.settings.server[ACDB_IMAP].offered = false;
	g_string_truncate(two, 0);
	answer_mobileconfig(&a, two);
	ck_assert_ptr_nonnull(strstr(two->str, "<string>EmailTypePOP</string>"));
	ck_assert_ptr_nonnull(strstr(two->str, "<string>pop.example.net</string>"));
	g_string_free(one, TRUE);
	g_string_free(two, TRUE);
}
END_TEST

/* ---- the responder's decisions, over a real database ---- */

static unsigned
status_of(struct acdb *db, const char *method, const char *path, const char *query, const char *host,
	  const char *body, GString *out)
{
	struct request req = { .method = method, .path = path, .host = host, .body = body,
			       .bodylen = body ? strlen(body) : 0 };
	char *q = g_strdup(query ? query : "");
	struct response r;
	unsigned status;

	ck_assert_int_eq(request_parse_query(q, &req), 0);
	respond(db, &req, "12:00:00", &r);
	status = r.status;
	if (out)
		g_string_assign(out, r.body->str);
	response_free(&r);
	g_free(q);
	return status;
}

START_TEST(responder_decisions)
{
	struct acdb *db = sample_db();
	GString *out = g_string_new(NULL);
	char body[1024];

	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", "emailaddress=hugo%40example.com", NULL, NULL,
				    out), 200);
	ck_assert_ptr_nonnull(strstr(out->str, "<username>xyz00-hugo</username>"));
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", "emailaddress=both@example.com", NULL, NULL,
				    NULL), 404);
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", "emailaddress=nonsense", NULL, NULL, NULL), 400);
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml",
				    "emailaddress=hugo@example.com&emailaddress=anna@example.com", NULL, NULL, NULL), 400);
	/* Thunderbird for Android: no address, the Host names the domain */
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", NULL, "autoconfig.example.net", NULL, out), 200);
	ck_assert_ptr_nonnull(strstr(out->str, "%EMAILADDRESS%"));
	ck_assert_uint_eq(status_of(db, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml", NULL, "example.com:443",
				    NULL, NULL), 200);
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", NULL, "autoconfig.example.org", NULL, NULL), 404);
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", NULL, "<script>", NULL, NULL), 400);
	ck_assert_uint_eq(status_of(db, "GET", "/mail/config-v1.1.xml", NULL, NULL, NULL, NULL), 400);
	ck_assert_uint_eq(status_of(db, "POST", "/mail/config-v1.1.xml", NULL, NULL, "x", NULL), 405);
	/* Outlook */
	snprintf(body, sizeof(body), OD_OUTLOOK, "HUGO@example.net");
	ck_assert_uint_eq(status_of(db, "POST", "/Autodiscover/Autodiscover.xml", NULL, NULL, body, out), 200);
	ck_assert_ptr_nonnull(strstr(out->str, "<LoginName>xyz00-hugo</LoginName>"));
	snprintf(body, sizeof(body), OD_OUTLOOK, "both@example.com");
	ck_assert_uint_eq(status_of(db, "POST", "/autodiscover/autodiscover.xml", NULL, NULL, body, out), 404);
	ck_assert_ptr_nonnull(strstr(out->str, "<ErrorCode>500</ErrorCode>"));
	ck_assert_uint_eq(status_of(db, "GET", "/autodiscover/autodiscover.xml", NULL, NULL, NULL, out), 405);
	ck_assert_ptr_nonnull(strstr(out->str, "<ErrorCode>600</ErrorCode>"));
	ck_assert_uint_eq(status_of(db, "POST", "/autodiscover/autodiscover.xml", NULL, NULL, "<x/>", out), 400);
	ck_assert_uint_eq(status_of(db, "POST", "/autodiscover/autodiscover.xml", NULL, NULL,
				    "<Autodiscover xmlns=\"" ODREQ_NS_MOBILESYNC_REQUEST "\"><Request><EMailAddress>"
				    "hugo@example.com</EMailAddress></Request></Autodiscover>", out), 200);
	ck_assert_ptr_nonnull(strstr(out->str, "<ErrorCode>601</ErrorCode>"));
	/* the JSON probe */
	ck_assert_uint_eq(status_of(db, "GET", "/autodiscover/autodiscover.json",
				    "Email=hugo@example.com&Protocol=AutodiscoverV1", "autodiscover.example.com", NULL, out), 200);
	ck_assert_ptr_nonnull(strstr(out->str, "https://autodiscover.example.com/autodiscover/autodiscover.xml"));
	ck_assert_uint_eq(status_of(db, "GET", "/autodiscover/autodiscover.json/v1.0/hugo@example.com",
				    "Protocol=autodiscoverv1", "autodiscover.example.com", NULL, NULL), 200);
	ck_assert_uint_eq(status_of(db, "GET", "/autodiscover/autodiscover.json/v1.0/hugo@example.com",
				    "Protocol=ActiveSync", "autodiscover.example.com", NULL, NULL), 400);
	ck_assert_uint_eq(status_of(db, "GET", "/autodiscover/autodiscover.json/v1.0/both@example.com",
				    "Protocol=AutodiscoverV1", "autodiscover.example.com", NULL, NULL), 404);
	/* Apple */
	ck_assert_uint_eq(status_of(db, "GET", "/mobileconfig", "emailaddress=hugo@example.com", NULL, NULL, out), 200);
	ck_assert_ptr_nonnull(strstr(out->str, "com.apple.mail.managed"));
	ck_assert_uint_eq(status_of(db, "GET", "/mobileconfig", NULL, "example.com", NULL, NULL), 400);
	/* anything else */
	ck_assert_uint_eq(status_of(db, "GET", "/etc/passwd", NULL, NULL, NULL, NULL), 404);
	g_string_free(out, TRUE);
	acdb_close(db);
	remove_tmpdir();
}
END_TEST

START_TEST(oversized_requests_are_refused)
{
	struct request req = { .method = "POST", .path = "/autodiscover/autodiscover.xml", .body_too_large = true };
	struct response r;

	respond(NULL, &req, "12:00:00", &r);	/* refused before any lookup */
	ck_assert_uint_eq(r.status, 413);
	response_free(&r);
	req = (struct request){ .method = "GET", .path = "/mail/config-v1.1.xml", .dropped_args = 1 };
	respond(NULL, &req, "12:00:00", &r);
	ck_assert_uint_eq(r.status, 400);
	response_free(&r);
}
END_TEST

/* ---- rate limits ---- */

START_TEST(gcra_bursts_then_paces)
{
	int64_t tat = 0, now = 1000000;

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ratetable_gcra(&tat, now, 1000, 5), 0);
	ck_assert_int_eq(ratetable_gcra(&tat, now, 1000, 5), 1000);	/* wait one interval */
	ck_assert_int_eq(ratetable_gcra(&tat, now + 999, 1000, 5), 1);
	ck_assert_int_eq(ratetable_gcra(&tat, now + 1000, 1000, 5), 0);
	ck_assert_int_gt(ratetable_gcra(&tat, now + 1000, 1000, 5), 0);
	/* the clock went back an hour: one burst's wait, not an hour */
	ck_assert_int_le(ratetable_gcra(&tat, now - 3600000, 1000, 5), 5000);
}
END_TEST

START_TEST(clients_behind_a_trusted_proxy)
{
	struct cidr trusted[2];
	const char *why;
	uint8_t loop[16] = { 127, 0, 0, 1 }, other[16] = { 192, 0, 2, 9 }, addr[16];
	int family;

	ck_assert_int_eq(cidr_parse("127.0.0.0/8", &trusted[0], &why), 0);
	ck_assert_int_eq(cidr_parse("::1", &trusted[1], &why), 0);
	ck_assert(ratetable_client(AF_INET, loop, "203.0.113.5, 198.51.100.7", trusted, 2, &family, addr));
	ck_assert_int_eq(family, AF_INET);
	ck_assert_int_eq(addr[0], 198);	/* the last: the proxy's own */
	ck_assert(ratetable_client(AF_INET, loop, "2001:db8::5", trusted, 2, &family, addr));
	ck_assert_int_eq(family, AF_INET6);
	ck_assert(ratetable_client(AF_INET, other, "198.51.100.7", trusted, 2, &family, addr));
	ck_assert_int_eq(addr[0], 192);	/* not a proxy of ours: its header is ignored */
	ck_assert(ratetable_client(AF_INET, loop, NULL, trusted, 2, &family, addr));
	ck_assert_int_eq(addr[0], 127);
	ck_assert(!ratetable_client(AF_INET, loop, "198.51.100.7, unknown", trusted, 2, &family, addr));
	ck_assert(!ratetable_client(AF_INET, loop, "1.2.3.4 5.6.7.8", trusted, 2, &family, addr));
}
END_TEST

START_TEST(the_table_counts_clients_apart)
{
	struct ratetable *t = ratetable_new(60, 2, 64);
	uint8_t a[16] = { 192, 0, 2, 1 }, b[16] = { 192, 0, 2, 2 }, v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
		v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
	int64_t now = ratetable_now_ms();

	ck_assert_uint_eq(ratetable_charge(t, AF_INET, a, now), 0);
	ck_assert_uint_eq(ratetable_charge(t, AF_INET, a, now), 0);
	ck_assert_uint_eq(ratetable_charge(t, AF_INET, a, now), 1);
	ck_assert_uint_eq(ratetable_charge(t, AF_INET, b, now), 0);
	/* one /64 is one client */
	ck_assert_uint_eq(ratetable_charge(t, AF_INET6, v6a, now), 0);
	ck_assert_uint_eq(ratetable_charge(t, AF_INET6, v6b, now), 0);
	ck_assert_uint_gt(ratetable_charge(t, AF_INET6, v6a, now), 0);
	/* thousands of other clients cannot grow it; a limited one stays limited among a few */
	for (int i = 0; i < 10000; i++) {
		uint8_t c[16] = { 10, (uint8_t)(i >> 8), (uint8_t)i, 1 };

		ratetable_charge(t, AF_INET, c, now);
	}
	ratetable_free(t);
}
END_TEST

START_TEST(the_cgi_table_is_a_file_of_this_user)
{
	char path[128], err[256];
	struct ratetable *one, *two;
	uint8_t a[16] = { 192, 0, 2, 1 };
	int64_t now = ratetable_now_ms();

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/rate", tmpdir);
	one = ratetable_open_file(path, 60, 1, err, sizeof(err));
	ck_assert_msg(one != NULL, "%s", err);
	two = ratetable_open_file(path, 60, 1, err, sizeof(err));
	ck_assert_msg(two != NULL, "%s", err);
	ck_assert_uint_eq(ratetable_charge(one, AF_INET, a, now), 0);
	ck_assert_uint_gt(ratetable_charge(two, AF_INET, a, now), 0);	/* shared */
	ratetable_free(one);
	ratetable_free(two);
	chmod(path, 0620);
	ck_assert_ptr_null(ratetable_open_file(path, 60, 1, err, sizeof(err)));
	unlink(path);
	snprintf(err, sizeof(err), "%s/elsewhere", tmpdir);
	ck_assert_int_eq(symlink(err, path), 0);
	ck_assert_ptr_null(ratetable_open_file(path, 60, 1, err, sizeof(err)));
	remove_tmpdir();
}
END_TEST

START_TEST(who_may_write_the_database)
{
	struct pathsafe_user user = { .uid = 1000, .ngroups = 2, .groups = { 1000, 50 } };
	struct stat st = { .st_uid = 0, .st_gid = 0, .st_mode = S_IFREG | 0644 };

	ck_assert_ptr_null(mapwatch_judge(&st, &user));
	st.st_mode = S_IFREG | 0666;
	ck_assert_ptr_nonnull(mapwatch_judge(&st, &user));
	st = (struct stat){ .st_uid = 1000, .st_mode = S_IFREG | 0444 };
	ck_assert_ptr_nonnull(mapwatch_judge(&st, &user));
	st = (struct stat){ .st_uid = 0, .st_gid = 50, .st_mode = S_IFDIR | 0775 };
	ck_assert_ptr_nonnull(mapwatch_judge(&st, &user));
	st.st_gid = 51;
	ck_assert_ptr_null(mapwatch_judge(&st, &user));
}
END_TEST

static Suite *
autoconfig_suite(void)
{
	Suite *s = suite_create("autoconfig");
	TCase *exp = tcase_create("export"), *db = tcase_create("autoconfig.db"), *req = tcase_create("requests"),
	      *doc = tcase_create("documents"), *rate = tcase_create("rate limits");

	tcase_add_test(exp, client_settings_errors_name_their_path);
	tcase_add_test(exp, autoconfig_needs_servers_and_a_local_domain);
	tcase_add_test(db, eligible_addresses_reach_exactly_one_mailbox);
	tcase_add_test(db, settings_come_from_the_domain_over_the_defaults);
	tcase_add_test(db, big_domains_spread_over_buckets);
	tcase_add_test(db, a_foreign_or_older_file_is_refused);
	tcase_add_test(db, record_values_round_trip_and_refuse_damage);
	tcase_add_test(db, addresses_as_clients_type_them);
	tcase_add_test(db, who_may_write_the_database);
	tcase_add_test(req, paths_in_any_letter_case);
	tcase_add_test(req, query_strings_decode_or_are_refused);
	tcase_add_test(req, an_argument_twice_is_ambiguous);
	tcase_add_test(req, host_headers);
	tcase_add_test(req, outlook_requests_are_read);
	tcase_add_test(req, hostile_outlook_requests_are_refused);
	tcase_add_test(req, responder_decisions);
	tcase_add_test(req, oversized_requests_are_refused);
	tcase_add_test(doc, documents_carry_the_login_and_servers);
	tcase_add_test(doc, profiles_have_no_password_and_stable_ids);
	tcase_add_test(rate, gcra_bursts_then_paces);
	tcase_add_test(rate, clients_behind_a_trusted_proxy);
	tcase_add_test(rate, the_table_counts_clients_apart);
	tcase_add_test(rate, the_cgi_table_is_a_file_of_this_user);
	suite_add_tcase(s, exp);
	suite_add_tcase(s, db);
	suite_add_tcase(s, req);
	suite_add_tcase(s, doc);
	suite_add_tcase(s, rate);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(autoconfig_suite());
	int failed;

	msg_init("check_autoconfig");
	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
