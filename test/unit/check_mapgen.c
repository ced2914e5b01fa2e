/*
 * check_mapgen - unit tests of hostmapgen's reader, checks, text maps,
 * emitters and the safety of its installation (links, FIFOs, caps, the
 * lock, the state file's decisions, the reload command's deadline), in
 * temporary directories, without touching /etc/mail.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit.h"
#include "export.h"
#include "policydb.h"
#include "install.h"
#include "maplock.h"
#include "reload.h"
#include "safefile.h"
#include "state.h"
#include "textmap.h"
#include "validate.h"

#define HEAD "{\"version\":1,\"server\":{\"hostname\":\"xyz00.example.net\"},"

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

/* A finding as the text form says it: "domains[0].name: duplicate ... [code]". */
static char *
finding(const struct report_entry *e)
{
	char *where = report_dotted(e->path), *text = g_strdup_printf("%s: %s [%s]", where, e->message,
								      report_code_name(e->code));

	g_free(where);
	return text;
}

static void
unload(struct loaded *l)
{
	report_free(&l->report);
	model_free(l->export);
}

static bool
has_finding(const GPtrArray *list, const char *needle)
{
	for (guint i = 0; i < list->len; i++) {
		char *text = finding(list->pdata[i]);
		bool found = strstr(text, needle) != NULL;

		g_free(text);
		if (found)
			return true;
	}
	return false;
}

static bool
has_error(const struct loaded *l, const char *needle)
{
	return has_finding(l->report.errors, needle);
}

static char *
all_findings(const GPtrArray *list)
{
	GString *all = g_string_new(NULL);

	for (guint i = 0; i < list->len; i++) {
		char *text = finding(list->pdata[i]);

		g_string_append_printf(all, "\n  %s", text);
		g_free(text);
	}
	return g_string_free(all, FALSE);
}

static void
expect_error(const char *json, const char *needle)
{
	struct loaded l = load(json);
	char *all = all_findings(l.report.errors);

	ck_assert_msg(has_error(&l, needle), "no error containing \"%s\" in:%s", needle, all);
	g_free(all);
	unload(&l);
}

static void
expect_valid(const char *json)
{
	struct loaded l = load(json);

	char *all = all_findings(l.report.errors);

	ck_assert_msg(l.report.errors->len == 0, "unexpected errors:%s", all);
	g_free(all);
	unload(&l);
}

START_TEST(minimal_export_is_valid)
{
	expect_valid(HEAD "\"domains\":[{\"name\":\"example.com\"}]}");
}
END_TEST

START_TEST(not_json)
{
	expect_error("{\"version\":1,", "not valid JSON");
	expect_error("[1]", "must be a JSON object");
}
END_TEST

START_TEST(wrong_version)
{
	expect_error("{\"version\":2,\"server\":{\"hostname\":\"h.example\"}}", "version: unsupported export version 2");
	expect_error("{\"server\":{\"hostname\":\"h.example\"}}", "missing key \"version\"");
}
END_TEST

START_TEST(unknown_key_named_with_path)
{
	expect_error(HEAD "\"bogus\":1}", "bogus: unknown key \"bogus\"");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"root\"],"
		     "\"colour\":\"red\"}]}]}", "domains[0].addresses[0].colour: unknown key");
}
END_TEST

START_TEST(wrong_type_named_with_path)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"root\"]},"
		     "{\"local\":\"y\",\"deliver\":[5]}]}]}", "domains[0].addresses[1].deliver[0]: expected a string, found an integer");
	expect_error(HEAD "\"domains\":{}}", "domains: expected an array, found an object");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"backup_mx\":\"yes\"}]}", "domains[0].backup_mx: expected a boolean");
}
END_TEST

/* "uninspectable" and "encrypted" take their own actions, named with the path when wrong. */
START_TEST(content_actions_validated)
{
	expect_error(HEAD "\"defaults\":{\"uninspectable\":\"accept\"}}",
		     "defaults.uninspectable: \"accept\" is not one of reject, quarantine, tag");
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"xyz00-a\",\"encrypted\":\"discard\"}]}",
		     "mailboxes[0].encrypted: \"discard\" is not one of accept, tag, quarantine, reject");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"encrypted\":true}]}",
		     "domains[0].encrypted: expected a string");
}
END_TEST

START_TEST(duplicate_domain_any_case)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"example.com\"},{\"name\":\"Example.COM\"}]}",
		     "domains[1].name: duplicate domain \"example.com\"");
}
END_TEST

START_TEST(duplicate_address_any_case)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"Info\",\"deliver\":[\"root\"]},"
		     "{\"local\":\"info\",\"deliver\":[\"root\"]}]}]}",
		     "domains[0].addresses[1].local: duplicate address info@a.example");
}
END_TEST

START_TEST(duplicate_through_alias_domains)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"aliases\":[\"c.example\"]},"
		     "{\"name\":\"b.example\",\"aliases\":[\"C.example\"]}]}",
		     "domains[1].aliases[0]: duplicate domain: \"c.example\" is already an alias of a.example");
}
END_TEST

START_TEST(alias_domain_is_also_domain)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"aliases\":[\"b.example\"]},{\"name\":\"b.example\"}]}",
		     "domains[0].aliases[0]: alias domain \"b.example\" is also a domain (domains[1])");
}
END_TEST

START_TEST(unknown_deliver_target)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"nobody-here\"]}]}]}",
		     "domains[0].addresses[0].deliver[0]: deliver target \"nobody-here\" is no mailbox, alias or address");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"y@a.example\"]}]}]}",
		     "is an address of this server that does not exist");
}
END_TEST

START_TEST(malformed_external_address)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"a b@c.example\"]}]}]}",
		     "deliver target \"a b@c.example\" is not a valid mail address");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"a@b@c.example\"]}]}]}",
		     "is not a valid mail address");
}
END_TEST

START_TEST(alias_loop)
{
	expect_error(HEAD "\"aliases\":[{\"name\":\"a\",\"deliver\":[\"b\"]},{\"name\":\"b\",\"deliver\":[\"a\"]}]}",
		     "delivery loop: a -> b -> a");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"y@a.example\"]},"
		     "{\"local\":\"y\",\"deliver\":[\"X@A.example\"]}]}]}", "delivery loop: x@a.example -> y@a.example -> X@A.example");
}
END_TEST

START_TEST(bad_network)
{
	expect_error(HEAD "\"relay\":{\"clients\":[{\"network\":\"192.0.2.1/24\"}]}}",
		     "relay.clients[0].network: bad network \"192.0.2.1/24\": address has bits set");
	expect_error(HEAD "\"relay\":{\"clients\":[{\"network\":\"300.0.0.0/8\"}]}}", "bad network");
	expect_error(HEAD "\"relay\":{\"clients\":[{\"network\":\"0.0.0.0/0\"}]}}", "open relay");
}
END_TEST

START_TEST(bad_size)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"max_message_size\":\"12X\"}]}",
		     "domains[0].max_message_size: bad size \"12X\"");
	expect_error(HEAD "\"defaults\":{\"max_message_size\":128}}", "defaults.max_message_size: expected a size");
}
END_TEST

START_TEST(multi_line_reject)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"reject\":\"gone\\nRCPT TO:<a@b>\"}]}]}",
		     "domains[0].addresses[0].reject: a reject text must be a single line");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"catch_all\":{\"reject\":\"say \\\"no\\\"\"}}]}",
		     "catch_all.reject: a reject text must not contain double quotes");
}
END_TEST

START_TEST(unsafe_mailbox_name)
{
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"../etc\"}]}", "mailboxes[0].name: \"../etc\" is not a valid mailbox name");
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"a;rm\"}]}", "is not a valid mailbox name");
}
END_TEST

START_TEST(pipes_only_in_aliases)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"|/bin/sh\"]}]}]}",
		     "is a pipe, file or :include:, which only aliases may deliver to [special_target]");
	expect_valid(HEAD "\"aliases\":[{\"name\":\"news\",\"deliver\":[\"|/usr/bin/x -L y\",\":include:/etc/mail/l\"]}]}");
}
END_TEST

START_TEST(backup_mx_has_no_addresses)
{
	expect_error(HEAD "\"domains\":[{\"name\":\"b.example\",\"backup_mx\":true,\"addresses\":[{\"local\":\"x\",\"deliver\":[\"root\"]}]}]}",
		     "domains[0].addresses[0]: the addresses of a routed or backup-MX domain are its valid recipients");
	expect_error(HEAD "\"domains\":[{\"name\":\"b.example\",\"backup_mx\":true,\"catch_all\":{\"reject\":\"no\"}}]}",
		     "domains[0].catch_all: a routed or backup-MX domain relays its mail");
}
END_TEST

START_TEST(all_errors_reported)
{
	struct loaded l = load(HEAD "\"mailboxes\":[{\"name\":\"Bad Name\"}],\"domains\":[{\"name\":\"-x\"},"
			       "{\"name\":\"ok.example\",\"max_message_size\":\"lots\"}],\"relay\":{\"clients\":[{\"network\":\"x\"}]},"
			       "\"colour\":1}");

	ck_assert_uint_ge(l.report.errors->len, 5);
	unload(&l);
}
END_TEST

START_TEST(sample_export_is_valid)
{
	char *path = g_build_filename(getenv("HM_TEST_DATA") ? getenv("HM_TEST_DATA") : "test/data",
				      "..", "..", "sample-etc-mail", "panel-export.json", NULL);
	char *data;
	size_t len;

	ck_assert_int_eq(export_slurp(path, &data, &len), 0);
	expect_valid(data);
	g_free(data);
	g_free(path);
}
END_TEST

/* ---- emitted values ---- */

START_TEST(virtuser_values)
{
	struct loaded l = load(HEAD "\"mailboxes\":[{\"name\":\"m1\"}],\"domains\":[{\"name\":\"a.example\","
			       "\"aliases\":[\"b.example\"],\"addresses\":[{\"local\":\"one\",\"deliver\":[\"m1\"]},"
			       "{\"local\":\"two\",\"deliver\":[\"m1\",\"x@ext.example\"]},{\"local\":\"no\",\"reject\":\"gone, sorry\"}]}]}");
	struct textmap map;

	ck_assert_uint_eq(l.report.errors->len, 0);
	textmap_init(&map, "virtmaps", TEXTMAP_MAKEMAP, false);
	emit_virtmaps(l.export, &map);
	ck_assert_ptr_nonnull(strstr(map.block->str, "one@a.example\tm1\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "two@a.example\ttwo=a.example\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "no@a.example\terror:5.1.1:\"550 gone, sorry\"\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "postmaster@a.example\tpostmaster\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "@a.example\terror:5.1.1:\"550 User unknown\"\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "@b.example\t%1%3@a.example\n"));
	textmap_free(&map);
	unload(&l);
}
END_TEST

START_TEST(alias_values)
{
	struct loaded l = load(HEAD "\"mailboxes\":[{\"name\":\"m1\"}],\"domains\":[{\"name\":\"a.example\","
			       "\"addresses\":[{\"local\":\"two\",\"deliver\":[\"m1\",\"x@ext.example\"]}],"
			       "\"catch_all\":{\"deliver\":[\"m1\",\"root\"]}}],"
			       "\"aliases\":[{\"name\":\"news\",\"deliver\":[\"|/usr/bin/list -L news\"]}]}");
	struct textmap map;

	textmap_init(&map, "aliases", TEXTMAP_ALIASES, true);
	emit_aliases(l.export, &map);
	ck_assert_ptr_nonnull(strstr(map.block->str, "postmaster: root\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "news: \"|/usr/bin/list -L news\"\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "two=a.example: m1, x@ext.example\n"));
	ck_assert_ptr_nonnull(strstr(map.block->str, "*=a.example: m1, root\n"));
	textmap_free(&map);
	unload(&l);
}
END_TEST

struct record_seen {
	const char *key;
	char *value;
};

static int
find_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct record_seen *seen = context;

	if (keylen == strlen(seen->key) && memcmp(key, seen->key, keylen) == 0) {
		seen->value = g_strndup(value, valuelen);
		return 1;
	}
	return 0;
}

static char *
record(const struct policy_records *records, const char *key)
{
	struct record_seen seen = { key, NULL };

	emit_policy_records_each(records, find_record, &seen);
	return seen.value;
}

START_TEST(policy_records)
{
	struct loaded l = load(HEAD "\"mailboxes\":[{\"name\":\"m1\",\"send_as\":[\"@b.example\"]},{\"name\":\"m2\","
			       "\"max_message_size\":\"50M\"}],\"domains\":[{\"name\":\"a.example\",\"aliases\":[\"b.example\"],"
			       "\"addresses\":[{\"local\":\"one\",\"deliver\":[\"list\"]},{\"local\":\"ext\",\"deliver\":[\"x@y.example\"]}],"
			       "\"virus\":\"tag\"}],\"aliases\":[{\"name\":\"list\",\"deliver\":[\"m1\",\"m2\",\"m1\"]}],"
			       "\"relay\":{\"clients\":[{\"network\":\"2001:DB8:1::/48\"}]}}");
	struct policy_records records = { 0 };
	char *value;

	ck_assert_uint_eq(l.report.errors->len, 0);
	ck_assert_uint_eq(emit_policy(l.export, &records, &l.report), 0);
	ck_assert_str_eq(value = record(&records, "A:one@a.example"), "m1,m2");
	g_free(value);
	/* present but empty: the address exists and reaches no mailbox */
	ck_assert_str_eq(value = record(&records, "A:ext@a.example"), "");
	g_free(value);
	value = record(&records, "D:b.example");
	ck_assert_str_eq(value, "{\"kind\":\"alias\",\"canonical\":\"a.example\",\"rules\":2,"
			 "\"allow_senders\":[],\"block_senders\":[],\"catch_all\":[]}");
	g_free(value);
	/* Rule sets hold what their owner sets, nothing inherited. */
	ck_assert_str_eq(value = record(&records, "R:2"), "{\"virus\":\"tag\"}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "M:m1"), "{\"rules\":0,\"send_as\":[\"@b.example\"]}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "R:0"), "{}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "M:m2"), "{\"rules\":1,\"send_as\":[]}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "R:1"), "{\"max_size\":52428800}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "@relay-networks"), "2001:db8:1::/48\t0\t0\t0\t0\n");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "@format"), POLICY_FORMAT);
	g_free(value);
	ck_assert_uint_eq(strlen(records.digest), 64);
	/* Local names (issue 24): the mailboxes a name reaches and the strictest rules of their domains. */
	ck_assert_str_eq(value = record(&records, "L:m1"), "{\"mailboxes\":[\"m1\"],\"rules\":3,\"block_senders\":[]}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "R:3"), "{\"max_size\":134217728,\"virus\":\"tag\","
			 "\"uninspectable\":\"reject\",\"encrypted\":\"accept\",\"spam\":"
			 "{\"scan\":true,\"tag_score\":5.0,\"subject_tag\":\"[SPAM]\",\"reject_score\":15.0,"
			 "\"discard_score\":null},\"blocked_types\":[]}");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "L:list"), "{\"mailboxes\":[\"m1\",\"m2\"],\"rules\":4,\"block_senders\":[]}");
	g_free(value);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "R:4"), "\"max_size\":52428800,\"virus\":\"tag\""));
	g_free(value);
	/* postmaster@ of a domain that does not list it goes where the local name postmaster goes. */
	ck_assert_str_eq(value = record(&records, "A:postmaster@a.example"), "root");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "L:postmaster"), "{\"mailboxes\":[\"root\"],\"rules\":5,\"block_senders\":[]}");
	g_free(value);
	emit_policy_records_free(&records);
	unload(&l);
}
END_TEST

/* A mailbox no domain delivers to gets its own rules over the defaults; blocked senders are pooled. */
START_TEST(policy_local_names)
{
	struct loaded l = load(HEAD "\"mailboxes\":[{\"name\":\"m\",\"virus\":\"discard\"},{\"name\":\"lone\"}],"
			       "\"domains\":[{\"name\":\"a.example\",\"max_message_size\":\"10K\",\"block_senders\":[\"@s.example\"],"
			       "\"addresses\":[{\"local\":\"m\",\"deliver\":[\"m\"]}]},"
			       "{\"name\":\"b.example\",\"max_message_size\":\"20K\",\"block_senders\":[\"x@t.example\",\"@s.example\"],"
			       "\"catch_all\":{\"deliver\":[\"m\"]}}],"
			       "\"aliases\":[{\"name\":\"postmaster\",\"deliver\":[\"m\"]}]}");
	struct policy_records records = { 0 };
	char *value;

	ck_assert_uint_eq(l.report.errors->len, 0);
	ck_assert_uint_eq(emit_policy(l.export, &records, &l.report), 0);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "L:m"), "\"block_senders\":[\"@s.example\",\"x@t.example\"]"));
	g_free(value);
	ck_assert_str_eq(value = record(&records, "A:postmaster@a.example"), "m");
	g_free(value);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "L:lone"), "\"mailboxes\":[\"lone\"]"));	/* no domain: its own */
	g_free(value);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "L:postmaster"), "\"mailboxes\":[\"m\"]"));
	g_free(value);
	emit_policy_records_free(&records);
	unload(&l);
}
END_TEST

/* ---- text maps ---- */

static char *
write_temp(const char *content)
{
	char path[] = "/tmp/check_mapgen.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (int)strlen(content));
	close(fd);
	return g_strdup(path);
}

START_TEST(admin_lines_survive_and_win)
{
	char *path = write_temp("# admin\nINFO@a.example\tboss\n" TEXTMAP_BEGIN ": old\nold@a.example\tx\n"
				TEXTMAP_END "\nlate@a.example\tlater\n");
	struct textmap map;
	char err[256];
	GString *out;

	textmap_init(&map, "virtmaps", TEXTMAP_MAKEMAP, false);
	ck_assert_int_eq(textmap_load(&map, path, err, sizeof(err)), 0);
	textmap_add(&map, "info@a.example", "m1");
	textmap_add(&map, "other@a.example", "m2");
	textmap_add(&map, "late@a.example", "m3");
	ck_assert_uint_eq(map.shadowed, 2);
	out = textmap_render(&map);
	ck_assert_ptr_nonnull(strstr(out->str, "# admin\nINFO@a.example\tboss\n" TEXTMAP_BEGIN));
	ck_assert_ptr_nonnull(strstr(out->str, "# overridden by the admin's line: info@a.example\tm1\n"));
	ck_assert_ptr_nonnull(strstr(out->str, "other@a.example\tm2\n"));
	ck_assert_ptr_null(strstr(out->str, "old@a.example"));
	ck_assert_ptr_nonnull(strstr(out->str, TEXTMAP_END "\nlate@a.example\tlater\n"));
	g_string_free(out, TRUE);
	textmap_free(&map);
	unlink(path);
	g_free(path);
}
END_TEST

START_TEST(broken_block_refused)
{
	char *path = write_temp("a b\n" TEXTMAP_BEGIN "\nx y\n");
	struct textmap map;
	char err[256];

	textmap_init(&map, "virtmaps", TEXTMAP_MAKEMAP, false);
	ck_assert_int_eq(textmap_load(&map, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no \"" TEXTMAP_END "\" line"));
	textmap_free(&map);
	unlink(path);
	g_free(path);
}
END_TEST

struct collected {
	GString *out;
};

static int
collect_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct collected *c = context;

	g_string_append_len(c->out, key, (gssize)keylen);
	g_string_append_c(c->out, '|');
	g_string_append_len(c->out, value, (gssize)valuelen);
	g_string_append_c(c->out, ';');
	return 0;
}

START_TEST(records_like_makemap_and_newaliases)
{
	const char *makemap = "# c\nKey\tvalue with  blanks \n\n  lead\tx\nnovalue\nk2  v2 # inline\n";
	const char *aliases = "# c\nMulti:\tone,\n\ttwo\nsimple: x\n#x: y\nnocolon\n";
	struct collected c = { g_string_new(NULL) };

	textmap_records(TEXTMAP_MAKEMAP, makemap, strlen(makemap), collect_record, &c);
	ck_assert_str_eq(c.out->str, "Key|value with  blanks ;k2|v2 # inline;");
	g_string_truncate(c.out, 0);
	textmap_records(TEXTMAP_ALIASES, aliases, strlen(aliases), collect_record, &c);
	ck_assert_uint_eq(c.out->len, 28);
	ck_assert_int_eq(memcmp(c.out->str, "multi\0|one,\ttwo\0;simple\0|x\0;", 28), 0);
	g_string_free(c.out, TRUE);
}
END_TEST

START_TEST(rate_limits_validated)
{
	expect_valid(HEAD "\"defaults\":{\"rate_limit\":{\"recipients_per_hour\":100,\"burst\":10,"
		     "\"bulk_recipients_per_hour\":5000}},\"mailboxes\":[{\"name\":\"m\",\"rate_limit\":{\"recipients_per_hour\":0}}],"
		     "\"relay\":{\"clients\":[{\"network\":\"192.0.2.1\",\"rate_limit\":{\"recipients_per_hour\":20,\"burst\":5}}],"
		     "\"certificates\":[{\"issuer\":\"/CN=CA\",\"rate_limit\":{\"burst\":3}}]}}");
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"m\",\"rate_limit\":{\"recipients_per_hour\":-1}}]}",
		     "mailboxes[0].rate_limit.recipients_per_hour: must be between 0");
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"m\",\"rate_limit\":{\"burst\":10000001}}]}",
		     "mailboxes[0].rate_limit.burst: must be between 0");
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"m\",\"rate_limit\":{\"recipients_per_hour\":\"100\"}}]}",
		     "mailboxes[0].rate_limit.recipients_per_hour: expected an integer");
	expect_error(HEAD "\"mailboxes\":[{\"name\":\"m\",\"rate_limit\":{\"recipients_per_hour\":1.5}}]}",
		     "mailboxes[0].rate_limit.recipients_per_hour: expected an integer");
	/* Networks and certificates have a bulk allowance of their own (issue 24). */
	expect_valid(HEAD "\"relay\":{\"clients\":[{\"network\":\"192.0.2.1\",\"rate_limit\":{\"bulk_recipients_per_hour\":1,"
		     "\"bulk_burst\":2}}],\"certificates\":[{\"issuer\":\"/CN=CA\",\"rate_limit\":{\"bulk_recipients_per_hour\":3}}]}}");
	expect_error(HEAD "\"relay\":{\"clients\":[{\"network\":\"192.0.2.1\",\"rate_limit\":{\"bulk_per_day\":1}}]}}",
		     "relay.clients[0].rate_limit.bulk_per_day: unknown key");
	expect_error(HEAD "\"defaults\":{\"rate_limit\":{\"per_day\":1}}}", "defaults.rate_limit.per_day: unknown key");
}
END_TEST

/* A chain of n aliases, a0 -> a1 -> ... -> m. */
static GString *
alias_chain(unsigned n)
{
	GString *json = g_string_new(HEAD "\"mailboxes\":[{\"name\":\"m\"}],\"aliases\":[");

	for (unsigned i = 0; i < n; i++) {
		g_string_append_printf(json, "%s{\"name\":\"a%u\",\"deliver\":[\"", i ? "," : "", i);
		if (i + 1 < n)
			g_string_append_printf(json, "a%u\"]}", i + 1);
		else
			g_string_append(json, "m\"]}");
	}
	g_string_append(json, "]}");
	return json;
}

START_TEST(delivery_chain_depth)
{
	GString *json = alias_chain(50);

	expect_valid(json->str);
	g_string_free(json, TRUE);
	json = alias_chain(51);
	expect_error(json->str, "deeper than 50");
	g_string_free(json, TRUE);
}
END_TEST

/* An alias reaching n mailboxes; the address a@x.example delivers to it. */
static struct loaded
many_mailboxes(unsigned n)
{
	GString *json = g_string_new(HEAD "\"mailboxes\":[");
	struct loaded l;

	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(json, "%s{\"name\":\"m%u\"}", i ? "," : "", i);
	g_string_append(json, "],\"aliases\":[{\"name\":\"all\",\"deliver\":[");
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(json, "%s\"m%u\"", i ? "," : "", i);
	g_string_append(json, "]}],\"domains\":[{\"name\":\"x.example\",\"addresses\":[{\"local\":\"a\",\"deliver\":[\"all\"]}]}]}");
	l = load(json->str);
	g_string_free(json, TRUE);
	ck_assert_uint_eq(l.report.errors->len, 0);
	return l;
}

/* Every owner is listed (64 was once a silent cap); past what hostmilter reads, an error. */
START_TEST(owner_lists_complete)
{
	struct loaded l = many_mailboxes(100);
	struct policy_records records = { 0 };
	char *value;
	unsigned commas = 0;

	ck_assert_uint_eq(emit_policy(l.export, &records, &l.report), 0);
	value = record(&records, "A:a@x.example");
	for (char *p = value; *p; p++)
		commas += *p == ',';
	ck_assert_uint_eq(commas, 99);
	g_free(value);
	emit_policy_records_free(&records);
	unload(&l);
	l = many_mailboxes(POLICYDB_LIST_MAX + 1);
	ck_assert_uint_eq(emit_policy(l.export, &records, &l.report), 2);	/* the address and the alias "all" */
	ck_assert(has_error(&l, "reaches 10001 mailboxes"));
	emit_policy_records_free(&records);
	unload(&l);
}
END_TEST

/* A certificate whose DN cannot be encoded is left out, never widened to "any subject". */
START_TEST(unencodable_certificate_grants_nothing)
{
	struct loaded l = load(HEAD "\"relay\":{\"certificates\":[{\"issuer\":\"/CN=Good CA\",\"subject\":\"/CN=a\"}]}}");
	struct policy_records records = { 0 };
	struct mg_cert long_subject = { .issuer = "/CN=Good CA" };
	char *subject = g_malloc(601), *value;

	memset(subject, '+', 600);	/* each '+' becomes "+2B": too long for Sendmail's macro */
	subject[600] = '\0';
	long_subject.subject = subject;
	g_array_append_val(l.export->certs, long_subject);
	ck_assert_uint_eq(emit_policy(l.export, &records, &l.report), 0);
	ck_assert_str_eq(value = record(&records, "@relay-certificates"), "/CN=Good+20CA\t/CN=a\t0\t0\t0\t0\n");
	g_free(value);
	g_free(subject);
	emit_policy_records_free(&records);
	unload(&l);
}
END_TEST

#define GATEWAY HEAD "\"domains\":[{\"name\":\"hive.example\",\"aliases\":[\"hive.example.net\"]," \
	"\"addresses\":[{\"local\":\"info\"},{\"local\":\"sales\"}],\"route\":{\"host\":\"hive1.provider.example\"}}," \
	"{\"name\":\"member.example\",\"addresses\":[{\"local\":\"info\"}],\"route\":{\"host\":\"192.0.2.7\",\"port\":2526," \
	"\"tls\":{\"verify\":true,\"name\":\"site.member.example\",\"issuer\":\"/O=Member CA/CN=Member CA\"}," \
	"\"hold\":true,\"etrn_clients\":[\"192.0.2.7\",\"2001:db8:5::/48\"]}}," \
	"{\"name\":\"six.example\",\"catch_all\":{\"relay\":true},\"route\":{\"host\":\"[2001:db8::25]\"}}," \
	"{\"name\":\"dyn.example\",\"route\":{\"host\":\"dyn.member.example\",\"mx\":true,\"port\":2526}}," \
	"{\"name\":\"backup.example\",\"backup_mx\":true,\"addresses\":[{\"local\":\"a\"}]}," \
	"{\"name\":\"backup2.example\",\"backup_mx\":true,\"route\":{\"host\":\"primary.backup2.example\"}}," \
	"{\"name\":\"local.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"root\"]},{\"local\":\"fw\"," \
	"\"deliver\":[\"info@hive.example\"]}]}]}"

START_TEST(routes_validated)
{
	expect_valid(GATEWAY);
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"mx.a.example:2526\"}}]}",
		     "domains[0].route.host: \"mx.a.example:2526\": a colon or comma outside brackets");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"a.example,b.example\"}}]}",
		     "domains[0].route.host: \"a.example,b.example\": a colon or comma");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"2001:db8::1\"}}]}",
		     "domains[0].route.host: \"2001:db8::1\": a colon or comma outside brackets");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"[not an ip]\"}}]}",
		     "domains[0].route.host: \"[not an ip]\" is not an IP address in brackets");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"h.a.example\",\"port\":0}}]}",
		     "domains[0].route.port: a port is between 1 and 65535");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"h.a.example\",\"port\":65536}}]}",
		     "domains[0].route.port: a port is between 1 and 65535");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"port\":25}}]}",
		     "domains[0].route: missing key \"host\"");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"h.a.example\",\"tls\":{\"verify\":true}}}]}",
		     "domains[0].route.tls: \"verify\": true needs the \"name\"");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"192.0.2.1\",\"mx\":true}}]}",
		     "domains[0].route.mx: an IP address has no MX records");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"h.a.example\",\"etrn_clients\":[\"x\"]}}]}",
		     "domains[0].route.etrn_clients[0]: bad network");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"h.a.example\",\"via\":1}}]}",
		     "domains[0].route.via: unknown key");
	/* a routed domain is not also local */
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"addresses\":[{\"local\":\"x\",\"deliver\":[\"root\"]}],"
		     "\"route\":{\"host\":\"h.a.example\"}}]}",
		     "domains[0].addresses[0]: the addresses of a routed or backup-MX domain are its valid recipients");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"catch_all\":{\"deliver\":[\"root\"]},"
		     "\"route\":{\"host\":\"h.a.example\"}}]}",
		     "domains[0].catch_all: a routed or backup-MX domain relays its mail");
	expect_error(HEAD "\"domains\":[{\"name\":\"xyz00.example.net\",\"route\":{\"host\":\"h.a.example\"}}]}",
		     "domains[0].route: \"xyz00.example.net\" is a name of this server");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"catch_all\":{\"relay\":true}}]}",
		     "domains[0].catch_all: \"relay\": true needs a route or backup_mx");
	expect_error(HEAD "\"domains\":[{\"name\":\"a.example\",\"catch_all\":{\"relay\":true,\"reject\":\"x\"},"
		     "\"route\":{\"host\":\"h.a.example\"}}]}",
		     "domains[0].catch_all: \"relay\" cannot be combined");
}
END_TEST

static struct textmap
emitted(const struct loaded *l, void (*emit)(const struct mg_export *, struct textmap *), const char *name)
{
	struct textmap map;

	textmap_init(&map, name, TEXTMAP_MAKEMAP, true);
	emit(l->export, &map);
	return map;
}

static void
emit_all_routes(const struct mg_export *export, struct textmap *map)
{
	ck_assert_uint_eq(emit_mailertable(export, NULL, map), 0);
}

static void
emit_access_only(const struct mg_export *export, struct textmap *map)
{
	struct mg_report report;

	report_init(&report);
	ck_assert_uint_eq(emit_access(export, map, &report), 0);
	report_free(&report);
}

START_TEST(routes_emitted)
{
	struct loaded l = load(GATEWAY);
	struct textmap mt, access, virt, cw;
	GString *mailers;

	ck_assert_uint_eq(l.report.errors->len, 0);
	mt = emitted(&l, emit_all_routes, "mailertable");
	ck_assert_ptr_nonnull(strstr(mt.block->str, "hive.example\tesmtp:[hive1.provider.example]\n"));
	ck_assert_ptr_nonnull(strstr(mt.block->str, "hive.example.net\tesmtp:[hive1.provider.example]\n"));
	ck_assert_ptr_nonnull(strstr(mt.block->str, "member.example\thm2526h:[192.0.2.7]\n"));
	ck_assert_ptr_nonnull(strstr(mt.block->str, "six.example\tesmtp:[IPv6:2001:db8::25]\n"));
	ck_assert_ptr_nonnull(strstr(mt.block->str, "dyn.example\thm2526:dyn.member.example\n"));
	ck_assert_ptr_nonnull(strstr(mt.block->str, "backup2.example\tesmtp:[primary.backup2.example]\n"));
	ck_assert_ptr_null(strstr(mt.block->str, "\nbackup.example"));	/* no route: its MX records */
	access = emitted(&l, emit_access_only, "access");
	ck_assert_ptr_nonnull(strstr(access.block->str, "To:hive.example\tRELAY\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "To:hive.example.net\tRELAY\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "To:backup.example\tRELAY\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str,
				     "TLS_Rcpt:member.example\tVERIFY+CI:/O=Member+20CA/CN=Member+20CA++CN:site.member.example\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "Srv_Features:192.0.2.7\te\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "Srv_Features:IPv6:2001:db8:5\te\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "Srv_Features:\tE\n"));
	virt = emitted(&l, emit_virtmaps, "virtmaps");
	ck_assert_ptr_null(strstr(virt.block->str, "@hive.example\t"));
	ck_assert_ptr_null(strstr(virt.block->str, "member.example"));
	ck_assert_ptr_nonnull(strstr(virt.block->str, "fw@local.example\tinfo@hive.example\n"));
	cw = emitted(&l, emit_cw, "sendmail.cw");
	ck_assert_ptr_nonnull(strstr(cw.block->str, "local.example"));
	ck_assert_ptr_null(strstr(cw.block->str, "hive.example"));
	mailers = emit_mailers(l.export);
	ck_assert_ptr_nonnull(strstr(mailers->str, "MAILER_DEFINITIONS\nMhm2526,"));
	ck_assert_ptr_nonnull(strstr(mailers->str, "Mhm2526h,\tP=[IPC], F=mDFMuXa%,"));
	ck_assert_ptr_nonnull(strstr(mailers->str, "A=TCP $h 2526\n"));
	ck_assert_ptr_null(strstr(mailers->str, "Mesmtp"));
	{
		GHashTable *named = emit_mailers_named(mailers->str);
		struct textmap partial;
		unsigned deferred;

		ck_assert_uint_eq(g_hash_table_size(named), 2);
		ck_assert(g_hash_table_contains(named, "hm2526h"));
		g_hash_table_remove(named, "hm2526h");	/* a Sendmail that has hm2526 only */
		textmap_init(&partial, "mailertable", TEXTMAP_MAKEMAP, true);
		deferred = emit_mailertable(l.export, named, &partial);
		ck_assert_uint_eq(deferred, 1);
		ck_assert_ptr_nonnull(strstr(partial.block->str, "member.example\terror:4.3.5:\"451 Route to member.example "
							  "not active until sendmail.cf is rebuilt\"\n"));
		ck_assert_ptr_nonnull(strstr(partial.block->str, "dyn.example\thm2526:dyn.member.example\n"));
		ck_assert_ptr_nonnull(strstr(partial.block->str, "hive.example\tesmtp:[hive1.provider.example]\n"));
		textmap_free(&partial);
		g_hash_table_destroy(named);
	}
	g_string_free(mailers, TRUE);
	textmap_free(&mt);
	textmap_free(&access);
	textmap_free(&virt);
	textmap_free(&cw);
	unload(&l);
}
END_TEST

/*
 * The CN requirement comes last: Sendmail 8.17's TLS_req, with
 * check_cert_altnames, forgets the requirements after a CN that matched a
 * wildcard subjectAltName, so an issuer after it would go unchecked
 * (t-routing showed a *.member.test certificate of another CA delivered).
 */
START_TEST(tls_rcpt_cn_last)
{
	struct loaded l = load(HEAD "\"domains\":[{\"name\":\"a.example\",\"route\":{\"host\":\"192.0.2.1\","
			       "\"tls\":{\"verify\":true,\"name\":\"mx.a.example\",\"issuer\":\"/O=A (CA)/CN=A\"}}},"
			       "{\"name\":\"b.example\",\"aliases\":[\"b.example.net\"],\"route\":{\"host\":\"192.0.2.2\","
			       "\"tls\":{\"verify\":true,\"name\":\"mx.b.example\"}}}]}");
	struct textmap access;

	ck_assert_uint_eq(l.report.errors->len, 0);
	access = emitted(&l, emit_access_only, "access");
	ck_assert_ptr_nonnull(strstr(access.block->str, "TLS_Rcpt:a.example\tVERIFY+CI:/O=A+20+28CA+29/CN=A++CN:mx.a.example\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "TLS_Rcpt:b.example\tVERIFY+CN:mx.b.example\n"));
	ck_assert_ptr_nonnull(strstr(access.block->str, "TLS_Rcpt:b.example.net\tVERIFY+CN:mx.b.example\n"));
	textmap_free(&access);
	unload(&l);
}
END_TEST

/*
 * While hostmilter-mailers.m4 waits for a reload command, the mailers the
 * installed mailertable routes by are the ones Sendmail has: read from
 * the generated block only, in the form emit_mailertable writes.
 */
START_TEST(mailers_routed)
{
	struct loaded l = load(GATEWAY);
	struct textmap mt;
	GString *text, *mailers;
	GHashTable *routed, *named;

	routed = emit_mailers_routed("admin.example\thm7:[192.0.2.9]\n" TEXTMAP_BEGIN ": generated\n"
				     "a.example\thm2592:[192.0.2.1]\nb.example\thm2593h:[IPv6:2001:db8::1]\n"
				     "c.example\terror:4.3.5:\"451 Route to c.example not active\"\n"
				     "d.example\tesmtp:[h.d.example]\n# a comment\thm8:x\n" TEXTMAP_END "\n"
				     "after.example\thm9:[192.0.2.9]\n");
	ck_assert_uint_eq(g_hash_table_size(routed), 4);
	ck_assert(g_hash_table_contains(routed, "hm2592"));
	ck_assert(g_hash_table_contains(routed, "hm2593h"));
	ck_assert(g_hash_table_contains(routed, "error"));
	ck_assert(g_hash_table_contains(routed, "esmtp"));
	g_hash_table_destroy(routed);
	routed = emit_mailers_routed(NULL);
	ck_assert_uint_eq(g_hash_table_size(routed), 0);
	g_hash_table_destroy(routed);

	mt = emitted(&l, emit_all_routes, "mailertable");
	text = textmap_render(&mt);
	routed = emit_mailers_routed(text->str);
	mailers = emit_mailers(l.export);
	named = emit_mailers_named(mailers->str);
	ck_assert_uint_eq(g_hash_table_size(named), 2);
	ck_assert(g_hash_table_contains(routed, "hm2526"));
	ck_assert(g_hash_table_contains(routed, "hm2526h"));
	ck_assert(g_hash_table_contains(routed, "esmtp"));
	ck_assert_uint_eq(g_hash_table_size(routed), 3);
	g_hash_table_destroy(named);
	g_hash_table_destroy(routed);
	g_string_free(mailers, TRUE);
	g_string_free(text, TRUE);
	textmap_free(&mt);
	unload(&l);
}
END_TEST

START_TEST(routes_in_policy)
{
	struct loaded l = load(GATEWAY);
	struct policy_records records = { 0 };
	char *value;

	ck_assert_uint_eq(emit_policy(l.export, &records, &l.report), 0);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "D:hive.example"), "\"kind\":\"routed\""));
	ck_assert_ptr_nonnull(strstr(value, "\"listed\":true"));
	g_free(value);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "D:hive.example.net"), "\"kind\":\"routed\""));
	ck_assert_ptr_nonnull(strstr(value, "\"canonical\":\"hive.example\""));
	g_free(value);
	ck_assert_ptr_null(strstr(value = record(&records, "D:six.example"), "listed"));	/* catch_all relay */
	g_free(value);
	ck_assert_ptr_nonnull(strstr(value = record(&records, "D:backup.example"), "\"kind\":\"backup\""));
	ck_assert_ptr_nonnull(strstr(value, "\"listed\":true"));
	g_free(value);
	ck_assert_str_eq(value = record(&records, "A:sales@hive.example"), "");
	g_free(value);
	ck_assert_str_eq(value = record(&records, "A:a@backup.example"), "");
	g_free(value);
	emit_policy_records_free(&records);
	unload(&l);
}
END_TEST

/* ---- installing safely ---- */

/* A fresh private directory; the caller removes it with rm_tree. */
static char *
temp_dir(void)
{
	char *dir = g_dir_make_tmp("check_mapgen.XXXXXX", NULL);

	ck_assert_ptr_nonnull(dir);
	return dir;
}

static void
rm_tree(char *dir)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

static char *
put_file(const char *dir, const char *name, const char *content)
{
	char *path = g_build_filename(dir, name, NULL);

	ck_assert(g_file_set_contents(path, content, -1, NULL));
	return path;
}

START_TEST(maps_are_read_only_from_regular_files)
{
	char *dir = temp_dir(), *secret = put_file(dir, "secret", "root:x:0:0\n");
	char *link = g_build_filename(dir, "virtmaps", NULL), *fifo = g_build_filename(dir, "aliases", NULL);
	char *missing = g_build_filename(dir, "access", NULL), *data = NULL, err[512];
	size_t len;

	ck_assert_int_eq(symlink(secret, link), 0);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	ck_assert_int_eq(safefile_read(link, SAFEFILE_NO_CAP, &data, &len, err, sizeof(err)), SAFEFILE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "is a symbolic link, not a regular file"));
	/* A FIFO without a writer: refused at once, never opened (Check's timeout would catch a hang). */
	ck_assert_int_eq(safefile_read(fifo, SAFEFILE_NO_CAP, &data, &len, err, sizeof(err)), SAFEFILE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "is a FIFO"));
	ck_assert_int_eq(safefile_read(dir, SAFEFILE_NO_CAP, &data, &len, err, sizeof(err)), SAFEFILE_ERROR);
	ck_assert_int_eq(safefile_read(missing, SAFEFILE_NO_CAP, &data, &len, err, sizeof(err)), SAFEFILE_MISSING);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(safefile_read(secret, 10, &data, &len, err, sizeof(err)), SAFEFILE_TOO_LARGE);
	ck_assert_int_eq(safefile_read(secret, 11, &data, &len, err, sizeof(err)), SAFEFILE_OK);
	ck_assert_uint_eq(len, 11);
	ck_assert_str_eq(data, "root:x:0:0\n");
	g_free(data);
	ck_assert_int_eq(safefile_check_target(link, false, err, sizeof(err)), -1);
	ck_assert_int_eq(safefile_check_target(fifo, false, err, sizeof(err)), -1);
	ck_assert_int_eq(safefile_check_target(missing, true, err, sizeof(err)), 0);
	ck_assert_int_eq(safefile_check_target(secret, true, err, sizeof(err)), 0);
	g_free(secret);
	g_free(link);
	g_free(fifo);
	g_free(missing);
	rm_tree(dir);
}
END_TEST

START_TEST(the_export_is_a_regular_file_within_its_cap)
{
	char *dir = temp_dir(), *export = put_file(dir, "export.json", "{\"version\": 1}");
	char *link = g_build_filename(dir, "current.json", NULL), *fifo = g_build_filename(dir, "fifo", NULL);
	char *data = NULL, err[512];
	size_t len;

	ck_assert_int_eq(symlink(export, link), 0);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	ck_assert_int_eq(safefile_read_export(link, 100, &data, &len, err, sizeof(err)), SAFEFILE_OK);
	ck_assert_uint_eq(len, 14);
	g_free(data);
	ck_assert_int_eq(safefile_read_export(export, 13, &data, &len, err, sizeof(err)), SAFEFILE_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(err, "is larger than 13 bytes"));
	ck_assert_int_eq(safefile_read_export(fifo, 100, &data, &len, err, sizeof(err)), SAFEFILE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "is a FIFO, not a regular file"));
	ck_assert_int_eq(safefile_read_export("/dev/zero", 100, &data, &len, err, sizeof(err)), SAFEFILE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "is a character device"));
	g_free(export);
	g_free(link);
	g_free(fifo);
	rm_tree(dir);
}
END_TEST

START_TEST(a_directory_others_can_write_is_refused)
{
	char *dir = temp_dir(), err[512];

	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(safefile_check_dir(dir, err, sizeof(err)), 0);
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(safefile_check_dir(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "writable by every user"));
	rm_tree(dir);
}
END_TEST

static struct stat
owned(mode_t type, mode_t perm, uid_t uid, gid_t gid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = type | perm;
	st.st_uid = uid;
	st.st_gid = gid;
	return st;
}

/* Root, the user running hostmapgen and the MTA's user are trusted; nobody else. */
START_TEST(trusted_owners_of_the_maps)
{
	struct safefile_trust trust;
	struct stat st;

	safefile_trust_init(&trust, 0, 0);
	ck_assert(safefile_trusted(&trust, 0));
	ck_assert(!safefile_trusted(&trust, 105));
	st = owned(S_IFDIR, 02755, 105, 108);	/* Debian's /etc/mail, smmta:smmsp */
	ck_assert_str_eq(safefile_judge_dir(&st, &trust), "belongs to a user hostmapgen does not trust");
	safefile_trust_mta(&trust, 105, "smmta");
	ck_assert(safefile_trusted(&trust, 105));
	ck_assert_ptr_null(safefile_judge_dir(&st, &trust));
	safefile_trust_mta(&trust, 105, "smmta");	/* twice: still one entry */
	ck_assert_uint_eq(trust.n, 2);
	st = owned(S_IFDIR, 0755, 1001, 1001);
	ck_assert_ptr_nonnull(safefile_judge_dir(&st, &trust));
	st = owned(S_IFDIR, 0777, 105, 108);
	ck_assert_str_eq(safefile_judge_dir(&st, &trust), "is writable by every user");
	st = owned(S_IFDIR, 01777, 0, 0);	/* /tmp: the sticky bit does not help a name not yet made */
	ck_assert_str_eq(safefile_judge_dir(&st, &trust), "is writable by every user");
	st = owned(S_IFDIR, 02775, 105, 108);
	ck_assert_str_eq(safefile_judge_dir(&st, &trust), "is writable by its group");
	st = owned(S_IFDIR, 0775, 0, 0);
	ck_assert_ptr_null(safefile_judge_dir(&st, &trust));
	st = owned(S_IFREG, 0755, 0, 0);
	ck_assert_str_eq(safefile_judge_dir(&st, &trust), "is not a directory");
	st = owned(S_IFREG, 0640, 105, 108);	/* Debian's access.db */
	ck_assert_ptr_null(safefile_judge_owner(&st, &trust));
	st = owned(S_IFLNK, 0777, 65534, 65534);	/* a link planted by nobody */
	ck_assert_ptr_nonnull(safefile_judge_owner(&st, &trust));
	/* A user running hostmapgen on its own directory trusts itself, and its group. */
	safefile_trust_init(&trust, 1000, 1000);
	st = owned(S_IFDIR, 0775, 1000, 1000);
	ck_assert_ptr_null(safefile_judge_dir(&st, &trust));
}
END_TEST

/* A link whose way leads through a directory every user may write is not followed. */
START_TEST(links_followed_only_through_trusted_directories)
{
	char tmpl[] = "/tmp/check_mapgen.XXXXXX";	/* under /tmp itself, whatever TMPDIR says */
	char *dir = g_strdup(mkdtemp(tmpl)), *target = put_file(dir, "aliases.real", "root: admin\n");
	char *link = g_build_filename(dir, "aliases", NULL), *to = NULL, *plain, err[1024];
	struct safefile_trust trust;

	safefile_trust_init(&trust, geteuid(), getegid());
	safefile_set_trust(&trust);
	ck_assert_int_eq(symlink("aliases.real", link), 0);
	ck_assert_int_eq(safefile_follow_link(link, &to, err, sizeof(err)), -1);	/* /tmp is 1777 */
	ck_assert_ptr_null(to);
	ck_assert_ptr_nonnull(strstr(err, "the way there is not safe"));
	ck_assert_ptr_nonnull(strstr(err, "is writable by every user"));
	plain = g_build_filename(dir, "plain", NULL);
	ck_assert_int_eq(safefile_follow_link(target, &to, err, sizeof(err)), 0);	/* no link: 0 */
	ck_assert_int_eq(safefile_follow_link(plain, &to, err, sizeof(err)), 0);	/* absent: 0 */
	ck_assert_ptr_null(to);
	g_free(plain);
	g_free(link);
	g_free(target);
	rm_tree(dir);
}
END_TEST

START_TEST(state_round_trip_and_decisions)
{
	const char *text = "hostmapgen-state 2 0.1.0\nexport abc hostnet\nfile virtmaps 1 2 3 4.5\n"
			   "file virtmaps.db 1 7 8 9.5\nreloaded sendmail.cw 1 3 3 3.3\ngarbage line\n";
	struct state old, now;
	GString *out;

	state_init(&old);
	state_parse(&old, text);
	out = state_format(&old);
	ck_assert_str_eq(out->str, "hostmapgen-state 2 0.1.0\nexport abc hostnet\nfile virtmaps 1 2 3 4.5\n"
			 "file virtmaps.db 1 7 8 9.5\nreloaded sendmail.cw 1 3 3 3.3\n");
	g_string_free(out, TRUE);
	ck_assert(state_vouches(&old, "virtmaps", "1 2 3 4.5", "virtmaps.db", "1 7 8 9.5"));
	ck_assert(!state_vouches(&old, "virtmaps", "1 2 3 4.6", "virtmaps.db", "1 7 8 9.5"));
	ck_assert(!state_vouches(&old, "access", "1 2 3 4.5", "access.db", "1 7 8 9.5"));
	/* A reload is due until one covered the file as it is now; never for an absent file. */
	ck_assert(!state_reload_due(&old, "sendmail.cw", "1 3 3 3.3"));
	ck_assert(state_reload_due(&old, "sendmail.cw", "1 4 3 3.3"));
	ck_assert(state_reload_due(&old, "sendmail.cf", "1 5 3 3.3"));
	ck_assert(!state_reload_due(&old, "sendmail.cf", NULL));
	state_init(&now);
	state_parse(&now, text);
	ck_assert(state_unchanged(&old, &now));
	g_hash_table_remove(now.files, "virtmaps.db");
	ck_assert(!state_unchanged(&old, &now));
	state_free(&now);
	/* A run that installed only part of its files is never taken as complete. */
	state_init(&now);
	state_parse(&now, text);
	g_free(old.digest);
	old.digest = g_strdup(STATE_INCOMPLETE);
	g_free(now.digest);
	now.digest = g_strdup(STATE_INCOMPLETE);
	ck_assert(!state_unchanged(&old, &now));
	state_free(&now);
	state_free(&old);
	state_init(&old);
	state_parse(&old, NULL);
	ck_assert(state_reload_due(&old, "sendmail.cw", "1 3 3 3.3"));
	state_free(&old);
}
END_TEST

START_TEST(lock_holder_from_proc_locks)
{
	const char *locks = "1: POSIX  ADVISORY  WRITE 11 fe:00:77 0 EOF\n"
			    "2: FLOCK  ADVISORY  WRITE 4242 fe:00:77 0 EOF\n"
			    "2: -> FLOCK  ADVISORY  WRITE 4343 fe:00:77 0 EOF\n"
			    "3: FLOCK  ADVISORY  WRITE 99 fe:01:77 0 EOF\n";

	ck_assert_int_eq(maplock_holder_pid(locks, 0xfe, 0, 77), 4242);
	ck_assert_int_eq(maplock_holder_pid(locks, 0xfe, 1, 77), 99);
	ck_assert_int_eq(maplock_holder_pid(locks, 0xfe, 0, 78), -1);
	ck_assert_int_eq(maplock_holder_pid("", 0xfe, 0, 77), -1);
}
END_TEST

START_TEST(a_held_lock_is_waited_for_only_so_long)
{
	char *dir = temp_dir(), *path = g_build_filename(dir, INSTALL_LOCK, NULL), err[512], pid[32];
	gint64 start;
	int held, fd;

	held = maplock_acquire(path, 0, err, sizeof(err));
	ck_assert_int_ge(held, 0);
	start = g_get_monotonic_time();
	/* flock conflicts between two open files even in one process. */
	ck_assert_int_eq(maplock_acquire(path, 1, err, sizeof(err)), -1);
	ck_assert_int_ge(g_get_monotonic_time() - start, 900000);
	ck_assert_int_lt(g_get_monotonic_time() - start, 3000000);
	snprintf(pid, sizeof(pid), "held by pid %ld", (long)getpid());
	ck_assert_msg(strstr(err, pid) != NULL, "\"%s\" lacks \"%s\"", err, pid);
	close(held);
	fd = maplock_acquire(path, 0, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(maplock_acquire(path, 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is a FIFO"));
	g_free(path);
	rm_tree(dir);
}
END_TEST

START_TEST(reload_command_status_and_deadline)
{
	char why[256];
	gint64 start;

	ck_assert_int_eq(reload_run("true", 5, why, sizeof(why)), 0);
	ck_assert_int_eq(reload_run("exit 3", 5, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "exit status 3");
	ck_assert_int_eq(reload_run("kill -9 $$", 5, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "killed by signal 9");
	start = g_get_monotonic_time();
	ck_assert_int_eq(reload_run("sleep 60", 1, why, sizeof(why)), -1);
	ck_assert_int_lt(g_get_monotonic_time() - start, 3000000);
	ck_assert_str_eq(why, "still running after 1 s; killed");
}
END_TEST

START_TEST(stale_temporary_files_are_removed)
{
	const char *stale[] = { ".virtmaps.hostmapgen-tmp.1.0", "__db..virtmaps.db.hostmapgen-tmp.1.5",
				".hostmapgen.state.AbC123", ".hostmapgen.state.hostmapgen-tmp.0123456789abcdef" };
	const char *kept[] = { "virtmaps", "__db.001", ".hostmapgen.state", "__db.virtmaps.hostmapgen-tmp" };
	char *dir = temp_dir();
	struct install_set set;

	for (unsigned i = 0; i < G_N_ELEMENTS(stale); i++)
		g_free(put_file(dir, stale[i], "x"));
	for (unsigned i = 0; i < G_N_ELEMENTS(kept); i++)
		g_free(put_file(dir, kept[i], "x"));
	install_init(&set, dir, "hostnet", "digest");
	install_clean_stale(&set);
	install_free(&set);
	for (unsigned i = 0; i < G_N_ELEMENTS(stale); i++) {
		char *path = g_build_filename(dir, stale[i], NULL);

		ck_assert_msg(access(path, F_OK) < 0, "%s is still there", stale[i]);
		g_free(path);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(kept); i++) {
		char *path = g_build_filename(dir, kept[i], NULL);

		ck_assert_msg(access(path, F_OK) == 0, "%s was removed", kept[i]);
		g_free(path);
	}
	rm_tree(dir);
}
END_TEST

START_TEST(install_has_room_for_more_maps)
{
	struct install_set set;

	install_init(&set, "/nonexistent", "hostnet", "digest");
	for (unsigned i = 0; i < 8; i++)
		install_add(&set, "map", TEXTMAP_MAKEMAP, true);
	ck_assert_uint_eq(set.nfiles, 8);
	ck_assert_uint_ge(G_N_ELEMENTS(set.files), 8);
	install_free(&set);
}
END_TEST

/* A generated entry that does not fit is never written cut: the run stops, exit 3, nothing installed. */
START_TEST(emit_fmt_fits_or_stops)
{
	char buf[16];

	emit_fmt(buf, sizeof(buf), "@%s", "example.org");
	ck_assert_str_eq(buf, "@example.org");
	emit_fmt(buf, sizeof(buf), "@%s", "example.org.long");	/* 17 bytes: exits 3 */
}
END_TEST

static Suite *
mapgen_suite(void)
{
	Suite *s = suite_create("mapgen");
	TCase *errors = tcase_create("export errors"), *emit = tcase_create("emitters"),
	      *text = tcase_create("text maps"), *safety = tcase_create("installing safely");

	tcase_add_exit_test(emit, emit_fmt_fits_or_stops, 3);

	tcase_add_test(errors, minimal_export_is_valid);
	tcase_add_test(errors, not_json);
	tcase_add_test(errors, wrong_version);
	tcase_add_test(errors, unknown_key_named_with_path);
	tcase_add_test(errors, wrong_type_named_with_path);
	tcase_add_test(errors, content_actions_validated);
	tcase_add_test(errors, duplicate_domain_any_case);
	tcase_add_test(errors, duplicate_address_any_case);
	tcase_add_test(errors, duplicate_through_alias_domains);
	tcase_add_test(errors, alias_domain_is_also_domain);
	tcase_add_test(errors, unknown_deliver_target);
	tcase_add_test(errors, malformed_external_address);
	tcase_add_test(errors, alias_loop);
	tcase_add_test(errors, bad_network);
	tcase_add_test(errors, bad_size);
	tcase_add_test(errors, multi_line_reject);
	tcase_add_test(errors, unsafe_mailbox_name);
	tcase_add_test(errors, pipes_only_in_aliases);
	tcase_add_test(errors, backup_mx_has_no_addresses);
	tcase_add_test(errors, all_errors_reported);
	tcase_add_test(errors, sample_export_is_valid);
	tcase_add_test(emit, virtuser_values);
	tcase_add_test(emit, alias_values);
	tcase_add_test(emit, policy_records);
	tcase_add_test(emit, policy_local_names);
	tcase_add_test(emit, owner_lists_complete);
	tcase_add_test(emit, unencodable_certificate_grants_nothing);
	tcase_add_test(errors, rate_limits_validated);
	tcase_add_test(errors, routes_validated);
	tcase_add_test(emit, routes_emitted);
	tcase_add_test(emit, tls_rcpt_cn_last);
	tcase_add_test(emit, mailers_routed);
	tcase_add_test(emit, routes_in_policy);
	tcase_add_test(errors, delivery_chain_depth);
	tcase_add_test(text, admin_lines_survive_and_win);
	tcase_add_test(text, broken_block_refused);
	tcase_add_test(text, records_like_makemap_and_newaliases);
	tcase_add_test(safety, maps_are_read_only_from_regular_files);
	tcase_add_test(safety, the_export_is_a_regular_file_within_its_cap);
	tcase_add_test(safety, a_directory_others_can_write_is_refused);
	tcase_add_test(safety, trusted_owners_of_the_maps);
	tcase_add_test(safety, links_followed_only_through_trusted_directories);
	tcase_add_test(safety, state_round_trip_and_decisions);
	tcase_add_test(safety, lock_holder_from_proc_locks);
	tcase_add_test(safety, a_held_lock_is_waited_for_only_so_long);
	tcase_add_test(safety, reload_command_status_and_deadline);
	tcase_add_test(safety, stale_temporary_files_are_removed);
	tcase_add_test(safety, install_has_room_for_more_maps);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, emit);
	suite_add_tcase(s, text);
	suite_add_tcase(s, safety);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(mapgen_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
