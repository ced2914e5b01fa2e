/*
 * check_milter - unit tests of hostmilter's configuration, address
 * parsing, decisions and policy lookups, without libmilter.  The lookups
 * run against a real hostmilter.db built from the sample export by the
 * same code hostmapgen uses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "dbmap.h"
#include "decide.h"
#include "emit.h"
#include "export.h"
#include "facts.h"
#include "fdlimit.h"
#include "policydb.h"
#include "scanners.h"
#include "stats.h"
#include "validate.h"

/* ---- configuration ---- */

START_TEST(conf_reads_keys_and_defaults)
{
	struct hm_conf conf;
	struct conf_errors errors;
	const char *text = "# comment\n\nSocket inet:8899@127.0.0.1\nuserid  mailfilter\n"
			   "AuthRequiredDaemons MSA, Submission\nMaxRecipients 50\nLogAccepted no\nScanner none\n";

	ck_assert_int_eq(conf_parse("t.conf", text, &conf, &errors), 0);
	ck_assert_str_eq(conf.socket, "inet:8899@127.0.0.1");
	ck_assert_str_eq(conf.user, "mailfilter");
	ck_assert_str_eq(conf.policy_db, "/etc/mail/hostmilter.db");
	ck_assert_uint_eq(conf.auth_required_daemons.count, 2);
	ck_assert(conf_list_has(&conf.auth_required_daemons, "submission"));
	ck_assert(!conf_list_has(&conf.auth_required_daemons, "MTA"));
	ck_assert_int_eq(conf.max_recipients, 50);
	ck_assert(!conf.log_accepted);
	conf_defaults(&conf);
	ck_assert(conf_list_has(&conf.auth_required_daemons, "MSA"));
	ck_assert(conf.log_accepted);
}
END_TEST

START_TEST(conf_reports_every_error_with_its_line)
{
	struct hm_conf conf;
	struct conf_errors errors;
	const char *text = "Sockett unix:/x\nMaxRecipients 0\nMaxRecipients 5\nLogAccepted maybe\nPidFile\n"
			   "DrainTimeout 12abc\nScanner none\n";

	ck_assert_int_eq(conf_parse("t.conf", text, &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 6);
	ck_assert_str_eq(errors.text[0], "t.conf:1: unknown key \"Sockett\"");
	ck_assert_ptr_nonnull(strstr(errors.text[1], "t.conf:2: MaxRecipients: \"0\" is out of bounds"));
	ck_assert_str_eq(errors.text[2], "t.conf:3: MaxRecipients given twice");
	ck_assert_ptr_nonnull(strstr(errors.text[3], "t.conf:4: LogAccepted"));
	ck_assert_str_eq(errors.text[4], "t.conf:5: PidFile needs a value");
	ck_assert_ptr_nonnull(strstr(errors.text[5], "t.conf:6: DrainTimeout"));
}
END_TEST

START_TEST(conf_load_refuses_missing_file)
{
	struct hm_conf conf;
	struct conf_errors errors;

	ck_assert_int_eq(conf_load("/nonexistent/hostmilter.conf", &conf, &errors), -1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "/nonexistent/hostmilter.conf: cannot open"));
}
END_TEST

START_TEST(conf_stats_listen_is_loopback_only)
{
	static const char *const good[] = { "127.0.0.1:9899", "127.5.5.5:1", "[::1]:65535", "::1:9899" };
	static const char *const bad[] = { "0.0.0.0:9899", "192.0.2.1:9899", "[::]:9899", "localhost:9899",
					   "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80",
					   "127.0.0.1:80x", ":9899", "[::ffff:127.0.0.1]:9899" };
	struct conf_listen listen;
	struct hm_conf conf;
	struct conf_errors errors;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(conf_listen_parse(good[i], &listen) == 0, "%s refused", good[i]);
	ck_assert_int_eq(conf_listen_parse("[::1]:9899", &listen), 0);
	ck_assert_int_eq(listen.family, AF_INET6);
	ck_assert_uint_eq(listen.port, 9899);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(conf_listen_parse(bad[i], &listen) < 0, "%s accepted", bad[i]);
	ck_assert_int_eq(conf_parse("t.conf", "Scanner none\n", &conf, &errors), 0);
	ck_assert_str_eq(conf.stats_listen, "");	/* off unless asked for */
	ck_assert_int_eq(conf_parse("t.conf", "StatsListen 0.0.0.0:9899\nScanner none\n", &conf, &errors), -1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:1: StatsListen: \"0.0.0.0:9899\" is not a loopback"));
	ck_assert_int_eq(conf_parse("t.conf", "StatsListen 127.0.0.1:9899\nScanner none\n", &conf, &errors), 0);
	ck_assert_str_eq(conf.stats_listen, "127.0.0.1:9899");
}
END_TEST

/* An empty or cut-off file must never mean "scan nothing": that takes "Scanner none". */
START_TEST(conf_scanner_must_be_named)
{
	struct hm_conf conf;
	struct conf_errors errors;

	ck_assert_int_eq(conf_parse("t.conf", "", &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf: no settings at all"));
	ck_assert_int_eq(conf_parse("t.conf", "# only a comment\n\n", &conf, &errors), -1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "no settings at all"));
	ck_assert_int_eq(conf_parse("t.conf", "Socket unix:/run/h.sock\nUserID hostmilter\n", &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf: no Scanner line"));
	ck_assert_int_eq(conf_parse("t.conf", "Scanner none\n", &conf, &errors), 0);
	ck_assert(conf.scanner_none);
	ck_assert_uint_eq(conf.nscanners, 0);
	ck_assert_int_eq(conf_parse("t.conf", "Scanner clamav\nScanner none\n", &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:2: Scanner: \"none\" cannot stand beside"));
	ck_assert_int_eq(conf_parse("t.conf", "Scanner none\nScanner clamd tcp:127.0.0.1:3310\n", &conf, &errors), -1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:2: Scanner:"));
	ck_assert_int_eq(conf_parse("t.conf", "Scanner none\nScanner none\n", &conf, &errors), -1);
	/* A Scanner line with an error is reported as such, not as a missing line too. */
	ck_assert_int_eq(conf_parse("t.conf", "Scanner avast\n", &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:1: Scanner:"));
}
END_TEST

START_TEST(conf_socket_forms)
{
	static const struct {
		const char *value;
		int family;
		bool loopback;
	} good[] = {
		{ "unix:/run/hostmilter/hostmilter.sock", AF_UNIX, true },
		{ "local:/run/h.sock", AF_UNIX, true },
		{ "inet:8899@127.0.0.1", AF_INET, true },
		{ "inet:8899@127.9.9.9", AF_INET, true },
		{ "inet:8899@[127.0.0.1]", AF_INET, true },
		{ "inet:8899@localhost", AF_INET, true },
		{ "inet6:8899@::1", AF_INET6, true },
		{ "inet6:8899@[::1]", AF_INET6, true },
		{ "inet:8899", AF_INET, false },
		{ "inet:8899@", AF_INET, false },
		{ "inet:8899@0.0.0.0", AF_INET, false },
		{ "inet:8899@192.0.2.1", AF_INET, false },
		{ "inet:8899@mx.example", AF_INET, false },
		{ "inet6:8899@::", AF_INET6, false },
		{ "inet6:8899@[::]", AF_INET6, false },
	};
	static const char *const bad[] = { "/run/h.sock", "unix:run/h.sock", "unix:", "inet:@127.0.0.1", "inet:0@127.0.0.1",
					   "inet:65536@127.0.0.1", "inet:+25@127.0.0.1", "inet:smtp@127.0.0.1",
					   "tcp:8899@127.0.0.1" };
	struct conf_socket sock;
	char path[200];
	const char *why;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		ck_assert_msg(conf_socket_parse(good[i].value, &sock, &why) == 0, "%s refused", good[i].value);
		ck_assert_int_eq(sock.family, good[i].family);
		ck_assert_msg(sock.loopback == good[i].loopback, "%s: loopback is %d", good[i].value, sock.loopback);
	}
	ck_assert_int_eq(conf_socket_parse("inet6:8899@[::1]", &sock, &why), 0);
	ck_assert_uint_eq(sock.port, 8899);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(conf_socket_parse(bad[i], &sock, &why) < 0, "%s accepted", bad[i]);
	/* sun_path holds 107 bytes and the NUL: one more and bind would cut the name. */
	snprintf(path, sizeof(path), "unix:/%0106d", 0);
	ck_assert_int_eq(conf_socket_parse(path, &sock, &why), 0);
	ck_assert_uint_eq(strlen(sock.path), 107);
	snprintf(path, sizeof(path), "unix:/%0107d", 0);
	ck_assert_int_eq(conf_socket_parse(path, &sock, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "sun_path"));
}
END_TEST

START_TEST(conf_socket_off_loopback_must_be_allowed)
{
	struct hm_conf conf;
	struct conf_errors errors;
	char text[300];

	ck_assert_int_eq(conf_parse("t.conf", "Scanner none\nSocket inet:8899\n", &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:2: Socket inet:8899 listens beyond loopback"));
	ck_assert_int_eq(conf_parse("t.conf", "Socket inet6:8899@[::]\nScanner none\n", &conf, &errors), -1);
	ck_assert_int_eq(conf_parse("t.conf", "Socket inet:8899@0.0.0.0\nAllowRemoteSocket yes\nScanner none\n", &conf,
				    &errors),
			 0);
	ck_assert(conf.allow_remote_socket);
	ck_assert_int_eq(conf_parse("t.conf", "Socket inet:8899@127.0.0.1\nScanner none\n", &conf, &errors), 0);
	ck_assert(!conf.allow_remote_socket);
	snprintf(text, sizeof(text), "Socket unix:/%0120d\nScanner none\n", 0);
	ck_assert_int_eq(conf_parse("t.conf", text, &conf, &errors), -1);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t.conf:1: Socket:"));
}
END_TEST

/* ---- descriptors ---- */

START_TEST(fdlimit_leaves_room_per_connection)
{
	ck_assert_uint_eq(fdlimit_connections(65536), (65536 - FDLIMIT_RESERVE) / FDLIMIT_PER_CONNECTION);
	ck_assert_uint_eq(fdlimit_connections(1024), 120);
	ck_assert_uint_eq(fdlimit_connections(128), 8);
	ck_assert_uint_eq(fdlimit_connections(10), 1);
	ck_assert_uint_eq(fdlimit_connections(0), 1);
	/* Every connection that fits leaves its share and the reserve free. */
	for (unsigned long nofile = 73; nofile < 5000; nofile += 7)
		ck_assert_uint_le(fdlimit_connections(nofile) * FDLIMIT_PER_CONNECTION + FDLIMIT_RESERVE, nofile);
	ck_assert_uint_eq(fdlimit_init(128), 8);
	for (int i = 0; i < 8; i++)
		ck_assert(fdlimit_enter());
	ck_assert(!fdlimit_enter());
	ck_assert_uint_eq(fdlimit_open(), 8);
	fdlimit_leave();
	ck_assert(fdlimit_enter());
	for (int i = 0; i < 8; i++)
		fdlimit_leave();
	fdlimit_leave();	/* one too many: stays at zero */
	ck_assert_uint_eq(fdlimit_open(), 0);
}
END_TEST

/* ---- statistics ---- */

static char *
stats_text(int (*write)(FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(write(out), 0);
	fclose(out);
	return text;
}

START_TEST(stats_counts_and_reports)
{
	char *report, *prom;

	stats_reset();
	stats_init(NULL);
	stats_message(STATS_ACCEPTED);
	stats_message(STATS_ACCEPTED);
	stats_message(STATS_REJECTED);
	stats_message(STATS_OUTCOMES);	/* out of range: ignored */
	stats_decision("rcpt", "relay", "reject");
	stats_decision("rcpt", "relay", "reject");
	stats_decision("scan", "virus", "reject");
	stats_decision("rcpt", "relay", "accept");
	stats_decision("rcpt", NULL, "accept");	/* no rule: ignored */
	report = stats_text(stats_report);
	ck_assert_ptr_nonnull(strstr(report, " messages accepted=2 quarantined=0 discarded=0 rejected=1 tempfailed=0 "));
	ck_assert_ptr_nonnull(strstr(report, "stats: decisions rcpt/relay/reject=2 scan/virus/reject=1 rcpt/relay/accept=1\n"));
	prom = stats_text(stats_prometheus);
	ck_assert_ptr_nonnull(strstr(prom, "# TYPE hostmilter_messages_total counter\n"));
	ck_assert_ptr_nonnull(strstr(prom, "\nhostmilter_messages_total{outcome=\"accepted\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(prom, "\nhostmilter_messages_total{outcome=\"no-recipients\"} 0\n"));
	ck_assert_ptr_nonnull(
		strstr(prom, "\nhostmilter_decisions_total{stage=\"rcpt\",rule=\"relay\",action=\"reject\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(prom, "\nhostmilter_decisions_uncounted_total 0\n"));
	free(report);
	free(prom);
}
END_TEST

START_TEST(stats_table_overflows_into_uncounted)
{
	char rule[32], *prom;

	stats_reset();
	for (int i = 0; i < STATS_DECISIONS_MAX + 5; i++) {
		snprintf(rule, sizeof(rule), "rule-%d", i);
		stats_decision("rcpt", rule, "reject");
	}
	stats_decision("rcpt", "rule-0", "reject");	/* still counted in its own entry */
	stats_decision("rcpt", "a-rule-name-much-longer-than-the-table-keeps", "reject");
	prom = stats_text(stats_prometheus);
	ck_assert_ptr_nonnull(strstr(prom, "rule=\"rule-0\",action=\"reject\"} 2\n"));
	ck_assert_ptr_null(strstr(prom, "rule=\"rule-96\""));
	ck_assert_ptr_nonnull(strstr(prom, "\nhostmilter_decisions_uncounted_total 6\n"));
	free(prom);
	stats_reset();
}
END_TEST

/* Node figures come from the clusters; a node's address is escaped as a label value. */
START_TEST(stats_report_scanner_nodes)
{
	struct hm_conf conf;
	struct conf_errors errors;
	struct scanners *scanners;
	char err[300], *report, *prom;

	ck_assert_int_eq(conf_parse("t.conf",
				    "Scanner clamd tcp:127.0.0.1:1\nScanner clamd unix:/run/a\"b\\c.sock\n",
				    &conf, &errors), 0);
	scanners = scanners_open(&conf, err, sizeof(err));
	ck_assert_msg(scanners != NULL, "%s", err);
	stats_reset();
	stats_init(scanners);
	report = stats_text(stats_report);
	ck_assert_ptr_nonnull(
		strstr(report, "stats: scanner clamd tcp:127.0.0.1:1 state=up scans=0 failures=0 latency=0.0ms\n"));
	prom = stats_text(stats_prometheus);
	ck_assert_ptr_nonnull(strstr(
		prom, "hostmilter_scanner_node_state{engine=\"clamd\",node=\"tcp:127.0.0.1:1\",state=\"up\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
		prom, "hostmilter_scanner_node_state{engine=\"clamd\",node=\"tcp:127.0.0.1:1\",state=\"down\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(prom, "node=\"unix:/run/a\\\"b\\\\c.sock\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(prom, "# TYPE hostmilter_scanner_node_latency_seconds gauge\n"));
	stats_init(NULL);
	scanners_close(scanners);
	free(report);
	free(prom);
}
END_TEST

/* ---- envelope addresses ---- */

START_TEST(envelope_plain_addresses)
{
	struct addr_envelope a;

	addr_envelope_parse("<Info@Example.COM>", &a);
	ck_assert_int_eq(a.kind, ADDR_ENV_PLAIN);
	ck_assert_str_eq(a.local, "info");
	ck_assert_str_eq(a.domain, "example.com");
	addr_envelope_parse("postmaster", &a);
	ck_assert_int_eq(a.kind, ADDR_ENV_PLAIN);
	ck_assert_str_eq(a.domain, "");
	addr_envelope_parse("<>", &a);
	ck_assert_int_eq(a.kind, ADDR_ENV_NULL);
	addr_envelope_parse("<first.last+tag@sub.example.org>", &a);
	ck_assert_int_eq(a.kind, ADDR_ENV_PLAIN);
}
END_TEST

START_TEST(envelope_routing_tricks)
{
	static const char *const tricks[] = {
		"<user%evil.example@example.com>", "<evil.example!user@example.com>", "<evil!user>",
		"<\"user@evil.example\"@example.com>", "<user@[192.0.2.1]>", "<user@example.com..>",
		"<user@evil.example@example.com>", "<user@>", "<@>", "<user@exa mple.com>", "<\"unbalanced@example.com>",
		"<user@example.com:25>", "<us\ter@example.com>", "<user\\@evil.example@example.com>",
		"<\"a\".b@example.com>", "<@relay.example>", "<user@ex\xc3\xa4mple.com>",
	};
	struct addr_envelope a;

	for (size_t i = 0; i < sizeof(tricks) / sizeof(*tricks); i++) {
		addr_envelope_parse(tricks[i], &a);
		ck_assert_msg(a.kind == ADDR_ENV_ROUTED, "%s not seen as routed", tricks[i]);
		ck_assert_ptr_nonnull(a.why);
	}
	addr_envelope_parse("<u%x@example.com>", &a);
	ck_assert_str_eq(a.why, "percent hack");
	ck_assert(a.local_routes);
	ck_assert_str_eq(a.domain, "example.com");	/* where Sendmail hands it unless the domain is its own */
	ck_assert_str_eq(a.local, "u%x");
	addr_envelope_parse("<\"John Smith\"@Partner.Example>", &a);
	ck_assert_str_eq(a.why, "quoted local part");
	ck_assert(!a.local_routes);
	ck_assert_str_eq(a.local, "\"john smith\"");
	ck_assert_str_eq(a.domain, "partner.example");
	addr_envelope_parse("<x@[192.0.2.1]>", &a);
	ck_assert_str_eq(a.why, "address literal");
	ck_assert_str_eq(a.domain, "");
}
END_TEST

/*
 * The one form of an address, as Sendmail reads it (sendmail -bv and -bt
 * 3,0 agree on each of these; t-probe compares the whole list with them).
 */
START_TEST(envelope_canonical_forms)
{
	static const struct {
		const char *arg, *local, *domain;
		unsigned userlen;
		bool route;
	} forms[] = {
		{ "<Info@Example.COM>", "info", "example.com", 4, false },
		{ "<info@example.com.>", "info", "example.com", 4, false },
		{ "<INFO@EXAMPLE.NET.>", "info", "example.net", 4, false },
		{ "<\"info\"@example.com>", "info", "example.com", 4, false },
		{ "<\"in\\fo\"@example.com>", "info", "example.com", 4, false },
		{ "<staff+x@example.com>", "staff+x", "example.com", 5, false },
		{ "<STAFF+X@EXAMPLE.NET>", "staff+x", "example.net", 5, false },
		{ "<sales+a+b@example.com>", "sales+a+b", "example.com", 5, false },
		{ "<+x@example.com>", "+x", "example.com", 2, false },
		{ "<a+@example.com>", "a+", "example.com", 1, false },
		{ "<\"x\"@spam.example>", "x", "spam.example", 1, false },
		{ "<x@spam.example.>", "x", "spam.example", 1, false },
		{ "<@relay.example:x@spam.example>", "x", "spam.example", 1, true },
		{ "<@a.example,@b.example:user@c.example>", "user", "c.example", 4, true },
		{ "<spam.example!x>", "x", "spam.example", 1, true },
		{ "<xyz00-info+x>", "xyz00-info+x", "", 10, false },
		{ "<sales=example.com>", "sales=example.com", "", 17, false },
		{ "postmaster", "postmaster", "", 10, false },
	};
	struct addr_envelope a;

	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
		addr_envelope_parse(forms[i].arg, &a);
		ck_assert_msg(a.kind == ADDR_ENV_PLAIN, "%s: kind %d (%s)", forms[i].arg, a.kind, a.why ? a.why : "");
		ck_assert_msg(strcmp(a.local, forms[i].local) == 0, "%s: local %s", forms[i].arg, a.local);
		ck_assert_msg(strcmp(a.domain, forms[i].domain) == 0, "%s: domain %s", forms[i].arg, a.domain);
		ck_assert_msg(a.userlen == forms[i].userlen, "%s: userlen %u", forms[i].arg, a.userlen);
		ck_assert_msg(a.route == forms[i].route, "%s: route %d", forms[i].arg, a.route);
	}
}
END_TEST

/* ---- decisions ---- */

static struct addr_envelope
envelope(const char *text)
{
	struct addr_envelope a;

	addr_envelope_parse(text, &a);
	return a;
}

START_TEST(decide_mail_rules)
{
	struct client_facts client = { 0 };
	struct addr_envelope sender = envelope("<info@example.com>");
	struct mail_facts f = { .client = &client, .sender = &sender, .sender_limit = 1000 };
	struct decision d;

	decide_mail(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	client.auth_required = true;
	decide_mail(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_REJECT);
	ck_assert_str_eq(d.rcode, "530");
	ck_assert_str_eq(d.xcode, "5.7.0");
	client.auth_user = "stranger";
	decide_mail(&f, &d);
	ck_assert_str_eq(d.rcode, "550");
	ck_assert_str_eq(d.rule, "auth-unknown-user");
	client.auth_mailbox = true;
	decide_mail(&f, &d);
	ck_assert_str_eq(d.rcode, "553");
	ck_assert_str_eq(d.xcode, "5.7.1");
	f.sender_owned = true;
	decide_mail(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	f.declared_size = 1001;
	decide_mail(&f, &d);
	ck_assert_str_eq(d.rcode, "552");
	ck_assert_str_eq(d.xcode, "5.3.4");
	f.declared_size = 1000;
	decide_mail(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	f.lookup_failed = true;
	decide_mail(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_TEMPFAIL);
	ck_assert_str_eq(d.rcode, "451");
	f.lookup_failed = false;
	f.sender_unreadable = true;	/* a form Sendmail would route elsewhere: refused, whoever sends */
	decide_mail(&f, &d);
	ck_assert_str_eq(d.rule, "sender-routing");
	ck_assert_str_eq(d.rcode, "553");
	ck_assert_str_eq(d.xcode, "5.1.7");
	f.content_missing = true;	/* a reload needs content this connection declined */
	decide_mail(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.3.2");
}
END_TEST

/* A recipient accepted for an authenticated user, as decide_rcpt leaves it. */
static void
decide_continue_for_test(struct decision *d)
{
	struct client_facts auth = { .auth_user = "u", .auth_mailbox = true };
	struct addr_envelope a = envelope("<a@elsewhere.example>");
	struct rcpt_facts f = { .client = &auth, .rcpt = &a, .destination = RCPT_REMOTE };

	decide_rcpt(&f, d);
}

static struct decision
rcpt_decision(struct client_facts *client, const char *rcpt, enum rcpt_destination dest)
{
	struct addr_envelope a = envelope(rcpt);
	struct rcpt_facts f = { .client = client, .rcpt = &a, .destination = dest };
	struct decision d;

	decide_rcpt(&f, &d);
	return d;
}

START_TEST(decide_relay_rules)
{
	struct client_facts outsider = { 0 }, network = { .in_relay_network = true },
			    cert = { .cert_relay = true }, auth = { .auth_user = "u", .auth_mailbox = true };
	struct decision d;

	d = rcpt_decision(&outsider, "<a@elsewhere.example>", RCPT_REMOTE);
	ck_assert_int_eq(d.action, DECIDE_REJECT);
	ck_assert_str_eq(d.rcode, "550");
	ck_assert_str_eq(d.xcode, "5.7.1");
	ck_assert_str_eq(d.rule, "relay");
	ck_assert_str_eq(rcpt_decision(&network, "<a@elsewhere.example>", RCPT_REMOTE).rule, "network");
	ck_assert_str_eq(rcpt_decision(&cert, "<a@elsewhere.example>", RCPT_REMOTE).rule, "certificate");
	ck_assert_str_eq(rcpt_decision(&auth, "<a@elsewhere.example>", RCPT_REMOTE).rule, "auth");
	ck_assert_int_eq(rcpt_decision(&outsider, "<a@example.com>", RCPT_LOCAL).action, DECIDE_CONTINUE);
	ck_assert_str_eq(rcpt_decision(&outsider, "<a@backup.example>", RCPT_BACKUP_MX).rule, "backup-mx");
	/* A routed address is refused even when its last domain is ours. */
	d = rcpt_decision(&outsider, "<a%elsewhere.example@example.com>", RCPT_LOCAL);
	ck_assert_int_eq(d.action, DECIDE_REJECT);
	ck_assert_str_eq(d.rule, "rcpt-routing");
	ck_assert_str_eq(d.xcode, "5.7.1");
	ck_assert_int_eq(rcpt_decision(&auth, "<a%elsewhere.example@example.com>", RCPT_REMOTE).action,
			 DECIDE_CONTINUE);
	/* An unauthenticated user who is not a mailbox has no relay right. */
	auth.auth_mailbox = false;
	ck_assert_int_eq(rcpt_decision(&auth, "<a@elsewhere.example>", RCPT_REMOTE).action, DECIDE_REJECT);
	/* Read through a route, the address is local; a client that may not relay may not use the route. */
	d = rcpt_decision(&outsider, "<@elsewhere.example:a@example.com>", RCPT_LOCAL);
	ck_assert_str_eq(d.rule, "rcpt-routing");
	ck_assert_str_eq(d.rcode, "550");
	ck_assert_int_eq(rcpt_decision(&outsider, "<elsewhere.example!a>", RCPT_REMOTE).action, DECIDE_REJECT);
	ck_assert_str_eq(rcpt_decision(&network, "<@relay.example:a@example.com>", RCPT_LOCAL).rule, "network");
	ck_assert_int_eq(rcpt_decision(&outsider, "<a@example.com.>", RCPT_LOCAL).action, DECIDE_CONTINUE);
}
END_TEST

/* A generated alias name is refused whoever sends to it. */
START_TEST(decide_generated_alias)
{
	struct client_facts auth = { .auth_user = "u", .auth_mailbox = true };
	struct addr_envelope a = envelope("<sales=example.com@xyz00.example.net>");
	struct rcpt_facts f = { .client = &auth, .rcpt = &a, .destination = RCPT_LOCAL, .generated_alias = true };
	struct decision d;

	decide_rcpt(&f, &d);
	ck_assert_str_eq(d.rule, "generated-alias");
	ck_assert_str_eq(d.rcode, "550");
	ck_assert_str_eq(d.xcode, "5.1.1");
}
END_TEST

START_TEST(decide_rcpt_limits)
{
	struct client_facts outsider = { 0 };
	struct addr_envelope a = envelope("<a@example.com>");
	struct rcpt_facts f = { .client = &outsider, .rcpt = &a, .destination = RCPT_LOCAL, .declared_size = 500,
				.rcpt_limit = 400, .max_recipients = 3 };
	struct decision d;

	decide_rcpt(&f, &d);
	ck_assert_str_eq(d.rcode, "552");
	ck_assert_str_eq(d.rule, "size-recipient");
	f.rcpt_limit = 0;
	decide_rcpt(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	f.unknown_recipient = true;	/* a routed domain that does not list it */
	decide_rcpt(&f, &d);
	ck_assert_str_eq(d.rule, "unknown-recipient");
	ck_assert_str_eq(d.rcode, "550");
	ck_assert_str_eq(d.xcode, "5.1.1");
	f.unknown_recipient = false;
	f.sender_blocked = true;
	decide_rcpt(&f, &d);
	ck_assert_str_eq(d.rule, "block-senders");
	f.accepted = 3;
	decide_rcpt(&f, &d);
	ck_assert_int_eq(d.action, DECIDE_TEMPFAIL);
	ck_assert_str_eq(d.rcode, "452");
	f.lookup_failed = true;
	decide_rcpt(&f, &d);
	ck_assert_str_eq(d.rcode, "451");
}
END_TEST

START_TEST(decide_rate_limits)
{
	struct decision d;

	decide_continue_for_test(&d);
	decide_rate(DECIDE_RATE_ALLOWED, false, "u", 20, 0, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	ck_assert_str_eq(d.rule, "auth");	/* the recipient's own decision stands */
	decide_rate(DECIDE_RATE_LIMITED, false, "xyz00-info", 20, 180, &d);
	ck_assert_int_eq(d.action, DECIDE_TEMPFAIL);
	ck_assert_str_eq(d.rcode, "451");
	ck_assert_str_eq(d.xcode, "4.7.1");
	ck_assert_str_eq(d.rule, "rate-limit");
	ck_assert_ptr_nonnull(strstr(d.text, "retry in 180 seconds"));
	ck_assert_ptr_nonnull(strstr(d.text, "xyz00-info"));
	decide_continue_for_test(&d);
	decide_rate(DECIDE_RATE_LIMITED, true, "u", 20, 180, &d);	/* warn: accepted, and said so */
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	ck_assert_str_eq(d.rule, "rate-limit-warn");
	decide_continue_for_test(&d);
	decide_rate(DECIDE_RATE_STORE_FAILED, false, "u", 20, 0, &d);
	ck_assert_int_eq(d.action, DECIDE_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.3.0");
	decide_continue_for_test(&d);
	decide_rate(DECIDE_RATE_STORE_FAILED, true, "u", 20, 0, &d);	/* warn does not accept a failed store */
	ck_assert_int_eq(d.action, DECIDE_TEMPFAIL);
}
END_TEST

/* {msg_size}, Sendmail's own count of the message, at end of message. */
START_TEST(decide_msg_size_macro)
{
	uint64_t size = 7;

	ck_assert_int_eq(decide_parse_msg_size("10240", &size), 1);
	ck_assert_uint_eq(size, 10240);
	ck_assert_int_eq(decide_parse_msg_size("0", &size), 1);
	ck_assert_uint_eq(size, 0);
	ck_assert_int_eq(decide_parse_msg_size(NULL, &size), 0);
	ck_assert_int_eq(decide_parse_msg_size("", &size), 0);
	ck_assert_int_eq(decide_parse_msg_size("-1", &size), 0);
	ck_assert_int_eq(decide_parse_msg_size("12k", &size), 0);
	ck_assert_int_eq(decide_parse_msg_size("99999999999999999999", &size), 0);
	ck_assert_int_eq(decide_parse_msg_size("123456789012345678901", &size), 0);
}
END_TEST

/* A certificate's identity: whole, case folded, refused (never cut) past the maximum. */
START_TEST(facts_certificate_identity)
{
	char id[FACTS_RATE_KEY_MAX], *long_dn = malloc(FACTS_CERT_DN_MAX + 2);

	ck_assert(facts_cert_identity("/C=DE/O=Probe+20CA", "/CN=SITE.Probe.example", id, sizeof(id)));
	ck_assert_str_eq(id, "/c=de/o=probe+20ca|/cn=site.probe.example");
	ck_assert(facts_cert_identity("/CN=CA", NULL, id, sizeof(id)));
	ck_assert_str_eq(id, "/cn=ca|");
	memset(long_dn, 'a', FACTS_CERT_DN_MAX + 1);
	long_dn[FACTS_CERT_DN_MAX + 1] = '\0';
	ck_assert(!facts_cert_identity("/CN=CA", long_dn, id, sizeof(id)));
	long_dn[FACTS_CERT_DN_MAX] = '\0';	/* at the maximum: whole */
	ck_assert(facts_cert_identity("/CN=CA", long_dn, id, sizeof(id)));
	ck_assert_uint_eq(strlen(id), strlen("/cn=ca|") + FACTS_CERT_DN_MAX);
	free(long_dn);
}
END_TEST

/* An IPv4-mapped IPv6 client is the IPv4 client. */
START_TEST(facts_client_identity)
{
	uint8_t addr[16];
	int family = AF_INET6;

	inet_pton(AF_INET6, "::ffff:127.77.0.6", addr);
	facts_client_canonical(&family, addr);
	ck_assert_int_eq(family, AF_INET);
	ck_assert_int_eq(memcmp(addr, "\x7f\x4d\x00\x06", 4), 0);
	family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::ffff:7f4d:6", addr);	/* not mapped: stays IPv6 */
	facts_client_canonical(&family, addr);
	ck_assert_int_eq(family, AF_INET6);
	family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", addr);
	facts_client_canonical(&family, addr);
	ck_assert_int_eq(family, AF_INET);
}
END_TEST

START_TEST(decide_size_and_params)
{
	struct decision d;
	uint64_t size = 0;

	decide_size(100, 100, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	decide_size(101, 100, &d);
	ck_assert_str_eq(d.rcode, "552");
	ck_assert_str_eq(d.rule, "size-counted");
	decide_size(1u << 30, 0, &d);
	ck_assert_int_eq(d.action, DECIDE_CONTINUE);
	ck_assert_uint_eq(decide_message_limit(0, 5), 5);
	ck_assert_uint_eq(decide_message_limit(7, 5), 5);
	ck_assert_uint_eq(decide_message_limit(7, 0), 7);
	ck_assert_int_eq(decide_parse_size_param("SIZE=12345", &size), 1);
	ck_assert_uint_eq(size, 12345);
	ck_assert_int_eq(decide_parse_size_param("size=7", &size), 1);
	ck_assert_int_eq(decide_parse_size_param("BODY=8BITMIME", &size), 0);
	ck_assert_int_eq(decide_parse_size_param("SIZE=", &size), -1);
	ck_assert_int_eq(decide_parse_size_param("SIZE=12a", &size), -1);
	ck_assert_int_eq(decide_parse_size_param("SIZE=99999999999999999999999", &size), -1);
	ck_assert_int_eq(decide_parse_size_param("SIZE=18446744073709551616", &size), -1);
}
END_TEST

/* ---- lookups in a hostmilter.db built from the sample export ---- */

static char db_dir[64];
static char db_path[128];
static struct policydb *db;

/* A record the next database built gets instead of hostmapgen's (a damaged or old one). */
static const char *override_key, *override_value;

static int
put_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	if (override_key && strlen(override_key) == keylen && memcmp(key, override_key, keylen) == 0) {
		value = override_value;
		valuelen = strlen(override_value);
	}
	return dbmap_put(context, key, keylen, value, valuelen) < 0 ? -1 : 0;
}

static void
build_db_file(const char *sample)
{
	struct mg_export *export = model_new();
	struct policy_records records = { 0 };
	struct mg_report report;
	struct dbmap_writer *map;
	char *data, err[256];
	size_t len;

	ck_assert_ptr_nonnull(sample);
	ck_assert_int_eq(export_slurp(sample, &data, &len), 0);
	report_init(&report);
	ck_assert_int_eq(export_parse(data, len, sample, export, &report), 0);
	ck_assert_uint_eq(validate_export(export, &report), 0);
	ck_assert_uint_eq(emit_policy(export, &records, &report), 0);
	strcpy(db_dir, "/tmp/check_milter.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(db_dir));
	snprintf(db_path, sizeof(db_path), "%s/hostmilter.db", db_dir);
	map = dbmap_create(db_path, records.count, records.data->len, err, sizeof(err));
	ck_assert_ptr_nonnull(map);
	ck_assert_int_eq(emit_policy_records_each(&records, put_record, map), 0);
	ck_assert_int_eq(dbmap_finish(map, 0644, getuid(), getgid(), err, sizeof(err)), 0);
	emit_policy_records_free(&records);
	report_free(&report);
	model_free(export);
	free(data);
	override_key = override_value = NULL;
}

static void
build_db_from(const char *sample)
{
	char err[256];

	build_db_file(sample);
	db = policydb_open(db_path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
}

static void
build_sample_db(void)
{
	build_db_from(getenv("HM_SAMPLE_EXPORT"));
}

static void
build_precedence_db(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/precedence-export.json", getenv("HM_TEST_DATA"));
	build_db_from(path);
}

static void
drop_sample_db(void)
{
	policydb_close(db);
	db = NULL;
	unlink(db_path);
	rmdir(db_dir);
}

static int
owned(const char *name, const char *sender)
{
	struct policy_mailbox mailbox;
	struct addr_envelope a = envelope(sender);
	char found[ADDR_NAME_MAX + 1];
	int rc;

	ck_assert_int_eq(facts_auth_mailbox(db, name, found, sizeof(found), &mailbox), 0);
	rc = facts_sender_owned(db, found, &mailbox, &a);
	policydb_mailbox_free(&mailbox);
	return rc;
}

START_TEST(facts_auth_users)
{
	struct policy_mailbox mailbox;
	char name[ADDR_NAME_MAX + 1];

	ck_assert_int_eq(facts_auth_mailbox(db, "xyz00-info", name, sizeof(name), &mailbox), 0);
	ck_assert_str_eq(name, "xyz00-info");
	ck_assert_uint_eq(mailbox.rules->set, 0);	/* sets nothing: the default limit */
	ck_assert_uint_eq(facts_sender_limit(db, &mailbox), 128u << 20);
	policydb_mailbox_free(&mailbox);
	ck_assert_int_eq(facts_auth_mailbox(db, "XYZ00-Sales@xyz00.example.net", name, sizeof(name), &mailbox), 0);
	ck_assert_uint_eq(facts_sender_limit(db, &mailbox), 50u << 20);
	ck_assert_uint_eq(mailbox.rate.per_hour, 1000);
	policydb_mailbox_free(&mailbox);
	ck_assert_int_eq(facts_auth_mailbox(db, "xyz00-info@elsewhere.example", name, sizeof(name), &mailbox), 1);
	ck_assert_int_eq(facts_auth_mailbox(db, "stranger", name, sizeof(name), &mailbox), 1);
	ck_assert_int_eq(facts_auth_mailbox(db, "news", name, sizeof(name), &mailbox), 1);
	ck_assert_int_eq(facts_auth_mailbox(db, "", name, sizeof(name), &mailbox), 1);
}
END_TEST

START_TEST(facts_sender_ownership)
{
	ck_assert_int_eq(owned("xyz00-info", "<info@example.com>"), 0);
	ck_assert_int_eq(owned("xyz00-info", "<INFO@Example.NET>"), 0);	/* alias domain, case */
	ck_assert_int_eq(owned("xyz00-info", "<sales@example.com>"), 0);	/* send_as */
	ck_assert_int_eq(owned("xyz00-sales", "<sales@example.net>"), 0);	/* delivery */
	ck_assert_int_eq(owned("xyz00-info", "<anything@example.com>"), 0);	/* catch-all */
	ck_assert_int_eq(owned("xyz00-sales", "<anything@example.com>"), 1);
	ck_assert_int_eq(owned("xyz00-info", "<boss@example.com>"), 1);	/* forwarded away */
	ck_assert_int_eq(owned("xyz00-info", "<office@example.org>"), 0);	/* send_as @domain */
	ck_assert_int_eq(owned("xyz00-office", "<office@example.org>"), 0);
	ck_assert_int_eq(owned("xyz00-office", "<team@example.org>"), 0);
	ck_assert_int_eq(owned("xyz00-office", "<staff@example.com>"), 0);	/* via alias xyz00-news */
	ck_assert_int_eq(owned("xyz00-news", "<staff@example.com>"), 1);	/* the alias shadows it */
	ck_assert_int_eq(owned("xyz00-office", "<info@example.com>"), 1);
	ck_assert_int_eq(owned("xyz00-sales", "<orders@shop.example.net>"), 0);
	ck_assert_int_eq(owned("xyz00-info", "<xyz00-info>"), 0);
	ck_assert_int_eq(owned("xyz00-info", "<xyz00-info@mail.example.net>"), 0);
	ck_assert_int_eq(owned("xyz00-info", "<root@xyz00.example.net>"), 1);
	ck_assert_int_eq(owned("xyz00-info", "<ceo@bank.example>"), 1);
	ck_assert_int_eq(owned("xyz00-info", "<a@backup.example>"), 1);
	ck_assert_int_eq(owned("xyz00-info", "<>"), 0);
	ck_assert_int_eq(owned("xyz00-info", "<info%bank.example@example.com>"), 1);
}
END_TEST

/*
 * Issue 24: the catch-all's owner sent as staff+x@; every form as Sendmail
 * reads it (t-probe compares the same with sendmail -bv).
 */
START_TEST(facts_sender_ownership_forms)
{
	static const struct {
		const char *mailbox, *sender;
		int owned;
	} forms[] = {
		{ "xyz00-info", "<staff+x@example.com>", 1 },	/* staff@'s, through +detail: not the catch-all's */
		{ "xyz00-info", "<STAFF+x@EXAMPLE.NET>", 1 },
		{ "xyz00-info", "<boss+x@example.com>", 1 },
		{ "xyz00-info", "<\"staff\"@example.com>", 1 },
		{ "xyz00-info", "<staff@example.com.>", 1 },
		{ "xyz00-office", "<staff+x@example.com>", 0 },
		{ "xyz00-office", "<Staff+Y@example.net.>", 0 },
		{ "xyz00-info", "<info+x@example.com>", 0 },
		{ "xyz00-info", "<anything+x@example.com>", 0 },
		{ "xyz00-info", "<sales+x@example.com>", 0 },	/* send_as, +detail */
		{ "xyz00-info", "<\"a b\"@example.com>", 0 },	/* Sendmail delivers it to the catch-all */
		{ "xyz00-info", "<@relay.example:info@example.com>", 0 },	/* the route is pruned */
		{ "xyz00-info", "<info%evil.example@example.com>", 1 },
		{ "xyz00-info", "<info!evil@example.com>", 1 },
		{ "xyz00-info", "<postmaster@example.com>", 1 },	/* root's, not the catch-all's */
		{ "xyz00-info", "<xyz00-info+x@mail.example.net>", 0 },
		{ "xyz00-info", "<xyz00-info+x>", 0 },
		{ "xyz00-office", "<xyz00-news@xyz00.example.net>", 0 },	/* the alias delivers to it */
		{ "xyz00-news", "<xyz00-news@xyz00.example.net>", 0 },	/* its own name still */
		{ "xyz00-sales", "<sales=example.com@xyz00.example.net>", 1 },	/* a generated name: nobody's */
		{ "xyz00-sales", "<sales=example.com>", 1 },
		{ "xyz00-info", "<x%y>", 1 },
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++)
		ck_assert_msg(owned(forms[i].mailbox, forms[i].sender) == forms[i].owned, "%s as %s: want %d",
			      forms[i].mailbox, forms[i].sender, forms[i].owned);
}
END_TEST

/* Which senders hostmilter can follow (facts_sender_readable): 0 yes, 1 no. */
START_TEST(facts_sender_forms_readable)
{
	static const struct {
		const char *sender;
		int readable;
	} forms[] = {
		{ "<>", 0 }, { "<x@spam.example>", 0 }, { "<x%y@spam.example>", 0 }, { "<x!y@spam.example>", 0 },
		{ "<\"x y\"@spam.example>", 0 }, { "<\"x y\"@example.com>", 0 }, { "<x@[192.0.2.1]>", 0 },
		{ "<spam.example!x>", 0 }, { "<x%y@backup.example>", 0 },
		{ "<x%y@example.com>", 1 }, { "<x%y@EXAMPLE.NET>", 1 }, { "<x!y@example.com>", 1 },
		{ "<x%y@xyz00.example.net>", 1 }, { "<x%y>", 1 }, { "<a!x>", 1 }, { "<a@b@c.example>", 1 },
		{ "<x@exa mple.com>", 1 }, { "<x@example.com..>", 1 },
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
		struct addr_envelope a = envelope(forms[i].sender);

		ck_assert_msg(facts_sender_readable(db, &a) == forms[i].readable, "%s", forms[i].sender);
	}
}
END_TEST

/* A block list matches every spelling of a blocked sender (issue 24). */
START_TEST(facts_patterns_canonical)
{
	char *const patterns[] = { "@spam.example", "bad@worse.example", NULL };
	static const char *const blocked[] = { "<x@spam.example.>", "<\"x\"@spam.example>", "<@relay.example:x@spam.example>",
					       "<x%y@spam.example>", "<spam.example!x>", "<\"x y\"@SPAM.example>",
					       "<bad+x@worse.example>", "<BAD@worse.example.>", "<\"bad\"@worse.example>" };
	static const char *const passed[] = { "<good@worse.example>", "<bad.x@worse.example>", "<x@sub.spam.example>",
					      "<x@spam.example.net>", "<x%spam.example@elsewhere.example>", "<>",
					      "<+bad@worse.example>" };

	for (size_t i = 0; i < sizeof(blocked) / sizeof(*blocked); i++) {
		struct addr_envelope a = envelope(blocked[i]);

		ck_assert_msg(facts_pattern_match(patterns, &a), "%s not matched", blocked[i]);
	}
	for (size_t i = 0; i < sizeof(passed) / sizeof(*passed); i++) {
		struct addr_envelope a = envelope(passed[i]);

		ck_assert_msg(!facts_pattern_match(patterns, &a), "%s matched", passed[i]);
	}
}
END_TEST

static struct rcpt_lookup lookup(const char *arg);

/* Another name of a mailbox: its domains' rules and block lists; generated names flagged. */
START_TEST(facts_local_names)
{
	struct rcpt_lookup l;

	l = lookup("<xyz00-info@xyz00.example.net>");	/* reached through example.com and example.org (team@) */
	ck_assert_int_eq(l.destination, RCPT_LOCAL);
	ck_assert_str_eq(l.recipient.mailbox, "xyz00-info");
	ck_assert_uint_eq(l.recipient.rules.max_size, 64u << 20);	/* example.com's, stricter than the defaults' */
	ck_assert_int_eq(l.recipient.rules.virus, POLICY_VIRUS_REJECT);
	ck_assert(l.recipient.rules.spam.has_reject && l.recipient.rules.spam.reject_score == 10.0);	/* example.org's */
	ck_assert(l.sender_blocked);	/* example.com blocks @spam.example */
	ck_assert(!l.sender_allowed);	/* no allow list at a server name */
	l = lookup("<XYZ00-INFO+list>");
	ck_assert_str_eq(l.recipient.mailbox, "xyz00-info");
	ck_assert_uint_eq(l.recipient.rules.max_size, 64u << 20);
	l = lookup("<xyz00-news@mail.example.net>");	/* the alias, not the mailbox of that name */
	ck_assert_str_eq(l.recipient.mailbox, "xyz00-office");
	ck_assert_int_eq(l.recipient.rules.virus, POLICY_VIRUS_TAG);	/* its own, through every domain */
	l = lookup("<root@xyz00.example.net>");	/* no name of the export: the defaults */
	ck_assert_str_eq(l.recipient.mailbox, "");
	ck_assert_uint_eq(l.recipient.rules.max_size, 128u << 20);
	ck_assert(!l.recipient.generated_alias);
	ck_assert(lookup("<sales=example.com@xyz00.example.net>").recipient.generated_alias);
	ck_assert(lookup("<SALES=EXAMPLE.COM>").recipient.generated_alias);
	ck_assert(lookup("<team=example.org+x@mail.example.net>").recipient.generated_alias);
	ck_assert(!lookup("<sales=example.com@example.com>").recipient.generated_alias);	/* example.com's catch-all */
	l = lookup("<postmaster@example.com>");	/* the local name postmaster's, not the catch-all's */
	ck_assert_str_eq(l.recipient.mailbox, "root");
}
END_TEST

/* What an RCPT of arg looks up, from an outside sender. */
static struct rcpt_lookup
lookup(const char *arg)
{
	struct addr_envelope rcpt = envelope(arg), sender = envelope("<x@spam.example>");
	struct rcpt_lookup l;

	ck_assert_int_eq(facts_rcpt_lookup(db, &rcpt, &sender, &l), 0);
	facts_rcpt_lookup_free(&l);	/* what the tests read is copied */
	return l;
}

START_TEST(facts_destinations)
{
	ck_assert_int_eq(lookup("<info@example.com>").destination, RCPT_LOCAL);
	ck_assert_uint_eq(lookup("<info@example.com>").recipient.rules.max_size, 64u << 20);
	ck_assert_int_eq(lookup("<nobody@EXAMPLE.net>").destination, RCPT_LOCAL);
	ck_assert_uint_eq(lookup("<nobody@EXAMPLE.net>").recipient.rules.max_size, 64u << 20);
	ck_assert_int_eq(lookup("<office@example.org>").destination, RCPT_LOCAL);
	ck_assert_uint_eq(lookup("<office@example.org>").recipient.rules.max_size, 128u << 20);
	ck_assert_uint_eq(lookup("<orders@shop.example>").recipient.rules.max_size, 50u << 20);	/* xyz00-sales's own */
	ck_assert_int_eq(lookup("<x@backup.example>").destination, RCPT_BACKUP_MX);
	ck_assert(!lookup("<x@backup.example>").recipient.unknown);	/* lists no addresses */
	ck_assert_int_eq(lookup("<x@elsewhere.example>").destination, RCPT_REMOTE);
	ck_assert_uint_eq(lookup("<x@elsewhere.example>").recipient.rules.max_size, 128u << 20);
	ck_assert_int_eq(lookup("<postmaster>").destination, RCPT_LOCAL);
	ck_assert_int_eq(lookup("<root@Mail.Example.Net>").destination, RCPT_LOCAL);
	ck_assert_int_eq(lookup("<x@sub.example.com>").destination, RCPT_REMOTE);
	ck_assert(lookup("<info@example.com>").sender_blocked);
	ck_assert(!lookup("<office@example.org>").sender_blocked);
}
END_TEST

START_TEST(facts_scan_policies)
{
	struct rcpt_lookup l;

	l = lookup("<office@example.org>");	/* a mailbox with rules of its own */
	ck_assert_str_eq(l.recipient.mailbox, "xyz00-office");
	ck_assert_int_eq(l.recipient.rules.virus, POLICY_VIRUS_TAG);
	ck_assert(!l.recipient.rules.spam.has_reject);
	ck_assert(l.recipient.rules.spam.tag_score == 4.0);
	l = lookup("<team@example.org>");	/* two mailboxes: the domain's rules */
	ck_assert_str_eq(l.recipient.mailbox, "");
	ck_assert_int_eq(l.recipient.rules.virus, POLICY_VIRUS_QUARANTINE);
	ck_assert(l.recipient.rules.spam.has_reject && l.recipient.rules.spam.reject_score == 10.0);
	l = lookup("<Info@Example.NET>");	/* alias domain; the mailbox has none of its own */
	ck_assert_str_eq(l.recipient.mailbox, "xyz00-info");
	ck_assert_uint_eq(l.recipient.rules.max_size, 64u << 20);
	ck_assert_int_eq(l.recipient.rules.virus, POLICY_VIRUS_REJECT);
	l = lookup("<whoever@example.com>");	/* the catch-all */
	ck_assert_str_eq(l.recipient.mailbox, "xyz00-info");
	l = lookup("<x@elsewhere.example>");	/* relayed: the defaults */
	ck_assert_str_eq(l.recipient.mailbox, "");
	ck_assert(policy_rules_equal(&l.recipient.rules, policydb_defaults(db)));
	ck_assert_uint_eq(l.recipient.rules.ntypes, 1);
}
END_TEST

/* The resolved rules of a recipient in the precedence export (test/data). */
static struct policy_rules
rules_of(const char *arg, const char *mailbox)
{
	struct rcpt_lookup l = lookup(arg);

	ck_assert_msg(strcmp(l.recipient.mailbox, mailbox) == 0, "%s: mailbox %s, not %s", arg, l.recipient.mailbox, mailbox);
	ck_assert_uint_eq(l.recipient.rules.set, POLICY_SET_ALL);
	return l.recipient.rules;
}

static void
assert_spam(const struct policy_rules *r, bool scan, double tag, const char *subject, double reject, double discard)
{
	ck_assert_int_eq(r->spam.scan, scan);
	ck_assert(r->spam.tag_score == tag);
	ck_assert_str_eq(r->spam.subject_tag, subject);
	ck_assert_int_eq(r->spam.has_reject, reject >= 0);
	ck_assert(reject < 0 || r->spam.reject_score == reject);
	ck_assert_int_eq(r->spam.has_discard, discard >= 0);
	ck_assert(discard < 0 || r->spam.discard_score == discard);
}

static void
assert_types(const struct policy_rules *r, const char *type)
{
	ck_assert_uint_eq(r->ntypes, type ? 1 : 0);
	if (type)
		ck_assert_str_eq(r->blocked_types[0], type);
}

/* Nothing set below the defaults; everything set by the mailbox. */
START_TEST(precedence_defaults_and_mailbox)
{
	struct policy_rules r = rules_of("<a@plain.example>", "m-plain");

	ck_assert_uint_eq(r.max_size, 100u << 20);
	ck_assert_int_eq(r.virus, POLICY_VIRUS_REJECT);
	assert_spam(&r, true, 5, "[SPAM]", 15, -1);
	assert_types(&r, "application/x-dosexec");
	for (int i = 0; i < 2; i++) {
		r = rules_of(i ? "<b@set.example>" : "<b@plain.example>", "m-all");
		ck_assert_uint_eq(r.max_size, 20u << 20);
		ck_assert_int_eq(r.virus, POLICY_VIRUS_TAG);
		assert_spam(&r, false, 1, "[M]", -1, 30);
		assert_types(&r, "application/pdf");
	}
}
END_TEST

/* The domain's settings; and a mailbox that sets only spam keeps the domain's other keys. */
START_TEST(precedence_domain_then_defaults)
{
	static const char *const domain_addresses[] = { "<a@set.example>", "<A@Set.Example.NET>", "<two@set.example>" };
	struct policy_rules r;

	for (int i = 0; i < 3; i++) {
		r = rules_of(domain_addresses[i], i == 2 ? "" : "m-plain");
		ck_assert_uint_eq(r.max_size, 64u << 20);
		ck_assert_int_eq(r.virus, POLICY_VIRUS_QUARANTINE);
		assert_spam(&r, true, 3, "[D]", 10, -1);
		assert_types(&r, "application/zip");
	}
	r = rules_of("<c@set.example>", "m-spam");
	ck_assert_uint_eq(r.max_size, 64u << 20);
	ck_assert_int_eq(r.virus, POLICY_VIRUS_QUARANTINE);
	assert_spam(&r, true, 2, "[D]", 10, -1);
	assert_types(&r, "application/zip");
	r = rules_of("<c@plain.example>", "m-spam");
	ck_assert_int_eq(r.virus, POLICY_VIRUS_REJECT);
	assert_spam(&r, true, 2, "[SPAM]", 15, -1);
	r = rules_of("<anyone@plain.example>", "m-spam");	/* through the catch-all */
	assert_spam(&r, true, 2, "[SPAM]", 15, -1);
}
END_TEST

/* One key set by the mailbox, the rest by the domain. */
START_TEST(precedence_key_by_key)
{
	struct policy_rules r = rules_of("<d@set.example>", "m-size");

	ck_assert_uint_eq(r.max_size, 10u << 20);
	ck_assert_int_eq(r.virus, POLICY_VIRUS_QUARANTINE);
	assert_types(&r, "application/zip");
	r = rules_of("<e@set.example>", "m-types");	/* an empty list is a setting too */
	assert_types(&r, NULL);
	ck_assert_uint_eq(r.max_size, 64u << 20);
	r = rules_of("<f@set.example>", "m-virus");
	ck_assert_int_eq(r.virus, POLICY_VIRUS_DISCARD);
	assert_spam(&r, true, 3, "[D]", 10, -1);
	assert_types(&r, "application/zip");
}
END_TEST

/* At a server name, a mailbox gets the strictest of what its domains give it, key by key. */
START_TEST(precedence_server_names_strictest)
{
	struct policy_rules r;
	struct rcpt_lookup l;

	/* m-plain: the defaults through plain.example, set.example's rules through set.example. */
	r = rules_of("<m-plain@prec.example.net>", "m-plain");
	ck_assert_uint_eq(r.max_size, 64u << 20);
	ck_assert_int_eq(r.virus, POLICY_VIRUS_REJECT);
	assert_spam(&r, true, 3, "[D]", 10, -1);
	ck_assert_uint_eq(r.ntypes, 2);	/* application/x-dosexec and application/zip */
	r = rules_of("<M-Spam+x>", "m-spam");
	ck_assert_uint_eq(r.max_size, 64u << 20);
	ck_assert_int_eq(r.virus, POLICY_VIRUS_REJECT);
	assert_spam(&r, true, 2, "[SPAM]", 10, -1);
	r = rules_of("<m-all>", "m-all");	/* it sets every key itself: its own, whichever domain */
	ck_assert_uint_eq(r.max_size, 20u << 20);
	ck_assert_int_eq(r.virus, POLICY_VIRUS_TAG);
	assert_spam(&r, false, 1, "[M]", -1, 30);
	assert_types(&r, "application/pdf");
	l = lookup("<nobody@prec.example.net>");
	ck_assert_uint_eq(l.recipient.rules.max_size, 100u << 20);	/* no name of the export: the defaults */
}
END_TEST

START_TEST(facts_relay_rights)
{
	uint8_t addr[16];
	struct policy_domain domain;
	struct addr_envelope spammer = envelope("<x@spam.example>"), partner = envelope("<x@partner.example>");

	inet_pton(AF_INET, "127.77.0.31", addr);
	ck_assert(policydb_relay_network(db, AF_INET, addr));
	ck_assert_str_eq(policydb_relay_network(db, AF_INET, addr)->text, "127.77.0.0/27");
	inet_pton(AF_INET, "127.77.0.32", addr);
	ck_assert(!policydb_relay_network(db, AF_INET, addr));
	inet_pton(AF_INET6, "2001:db8:1:ffff::5", addr);
	ck_assert(policydb_relay_network(db, AF_INET6, addr));
	inet_pton(AF_INET6, "2001:db8:2::5", addr);
	ck_assert(!policydb_relay_network(db, AF_INET6, addr));
	ck_assert(facts_cert_relay(db, "OK", "/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA", "/CN=site.in-berlin.de"));
	ck_assert(!facts_cert_relay(db, "OK", "/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA", "/CN=other.example"));
	ck_assert(!facts_cert_relay(db, "FAIL", "/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA", "/CN=site.in-berlin.de"));
	ck_assert(!facts_cert_relay(db, "OK", "/CN=Other+20CA", "/CN=site.in-berlin.de"));
	ck_assert(!facts_cert_relay(db, NULL, NULL, NULL));
	ck_assert_int_eq(policydb_domain(db, "example.net", &domain), 0);
	ck_assert_str_eq(domain.canonical, "example.com");
	ck_assert(facts_pattern_match(domain.block_senders, &spammer));
	ck_assert(!facts_pattern_match(domain.block_senders, &partner));
	ck_assert(facts_pattern_match(domain.allow_senders, &partner));
	policydb_domain_free(&domain);
}
END_TEST

/* An unreadable mailbox record tempfails the recipient; it is not "no rules of its own". */
START_TEST(unreadable_mailbox_fails_closed)
{
	struct addr_envelope rcpt = envelope("<c@set.example>"), sender = envelope("<x@y.example>");
	struct rcpt_lookup l;

	drop_sample_db();
	override_key = "M:m-spam";
	override_value = "{\"rules\":0,\"send_as\":";
	build_precedence_db();
	ck_assert_int_eq(facts_rcpt_lookup(db, &rcpt, &sender, &l), -1);
	facts_rcpt_lookup_free(&l);
	rcpt = envelope("<a@set.example>");	/* others are unaffected */
	ck_assert_int_eq(facts_rcpt_lookup(db, &rcpt, &sender, &l), 0);
	facts_rcpt_lookup_free(&l);
	drop_sample_db();
	override_key = "M:m-spam";
	override_value = "{\"rules\":99,\"send_as\":[]}";	/* a rule set that does not exist */
	build_precedence_db();
	rcpt = envelope("<c@set.example>");
	ck_assert_int_eq(facts_rcpt_lookup(db, &rcpt, &sender, &l), -1);
	facts_rcpt_lookup_free(&l);
}
END_TEST

/* Past the cache's limit every lookup still answers, from a private decode. */
START_TEST(record_cache_limit)
{
	static const char *const addresses[] = { "<a@set.example>", "<c@set.example>", "<b@plain.example>",
						 "<d@set.example>", "<c@plain.example>" };
	struct addr_envelope sender = envelope("<x@y.example>");

	policydb_cache_limit(db, 2);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(addresses) / sizeof(*addresses); i++) {
			struct addr_envelope rcpt = envelope(addresses[i]);
			struct rcpt_lookup l;

			ck_assert_int_eq(facts_rcpt_lookup(db, &rcpt, &sender, &l), 0);
			ck_assert_uint_eq(l.recipient.rules.set, POLICY_SET_ALL);
			ck_assert_uint_eq(l.recipient.rules.max_size, i == 3 ? 10u << 20 : i == 2 ? 20u << 20 : i == 4 ? 100u << 20
											  : 64u << 20);
			facts_rcpt_lookup_free(&l);
		}
	}
	ck_assert_uint_eq(policydb_cached(db), 2);
}
END_TEST

/* A database of the old format is refused with what to do about it. */
START_TEST(policydb_refuses_old_format)
{
	char err[300];

	drop_sample_db();
	override_key = "@format";
	override_value = "hostmilter-policy 1";
	build_db_file(getenv("HM_SAMPLE_EXPORT"));
	ck_assert_ptr_null(policydb_open(db_path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "rerun hostmapgen"), "%s", err);
}
END_TEST

static void
build_gateway_db(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/gateway-export.json", getenv("HM_TEST_DATA"));
	build_db_from(path);
}

/* A routed or backup-MX domain that lists its recipients refuses the others at RCPT. */
START_TEST(gateway_recipients)
{
	struct rcpt_lookup l = lookup("<info@hive.example>");

	ck_assert_int_eq(l.destination, RCPT_ROUTED);
	ck_assert(!l.recipient.unknown);
	ck_assert_uint_eq(l.recipient.rules.max_size, 20u << 20);	/* the routed domain's own limit applies */
	ck_assert_str_eq(l.recipient.mailbox, "");
	ck_assert(lookup("<nobody@hive.example>").recipient.unknown);
	ck_assert(!lookup("<SALES@Hive.Example.NET>").recipient.unknown);	/* alias name, any case */
	ck_assert_int_eq(lookup("<sales@hive.example.net>").destination, RCPT_ROUTED);
	ck_assert(lookup("<nobody@hive.example.net>").recipient.unknown);
	ck_assert(!lookup("<info+lists@hive.example>").recipient.unknown);	/* +detail, as Sendmail strips it */
	ck_assert(lookup("<nobody+info@hive.example>").recipient.unknown);
	ck_assert(!lookup("<postmaster@hive.example>").recipient.unknown);	/* always valid */
	ck_assert(!lookup("<anyone@open.example>").recipient.unknown);	/* catch_all relay */
	ck_assert(!lookup("<anyone@unlisted.example>").recipient.unknown);	/* lists none: relays all */
	ck_assert_int_eq(lookup("<a@backup.example>").destination, RCPT_BACKUP_MX);
	ck_assert(lookup("<b@backup.example>").recipient.unknown);
	ck_assert(!lookup("<b@dns-backup.example>").recipient.unknown);
	ck_assert_int_eq(lookup("<admin@local.example>").destination, RCPT_LOCAL);
	ck_assert_int_eq(lookup("<x@sub.hive.example>").destination, RCPT_REMOTE);
}
END_TEST

/* Relay networks and their own rate limits: the most specific network wins. */
START_TEST(gateway_relay_rates)
{
	uint8_t addr[16];
	const struct policy_relay_right *right;

	inet_pton(AF_INET, "192.0.2.5", addr);
	right = policydb_relay_network(db, AF_INET, addr);
	ck_assert_ptr_nonnull(right);
	ck_assert_str_eq(right->text, "192.0.2.0/24");
	ck_assert_uint_eq(right->rate.per_hour, 50);
	ck_assert_uint_eq(right->rate.burst, 5);
	inet_pton(AF_INET, "192.0.2.200", addr);
	right = policydb_relay_network(db, AF_INET, addr);
	ck_assert_str_eq(right->text, "192.0.2.128/25");
	ck_assert_uint_eq(right->rate.per_hour, 0);
	ck_assert_uint_eq(policydb_default_rate(db)->per_hour, 200);
}
END_TEST

/* Who pays for a recipient, and at what rate. */
START_TEST(gateway_rate_payers)
{
	uint8_t v4[16], v6[16];
	struct rate_payer payer = { 0 };
	struct rate_charge charge;
	struct policy_mailbox mailbox;

	inet_pton(AF_INET, "192.0.2.5", v4);
	payer.family = AF_INET;
	payer.addr = v4;
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 0);	/* from outside: nobody */
	payer.network = policydb_relay_network(db, AF_INET, v4);
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "client:192.0.2.5");
	ck_assert_str_eq(charge.who, "192.0.2.5");
	ck_assert_uint_eq(charge.per_hour, 50);
	ck_assert_uint_eq(charge.burst, 5);
	inet_pton(AF_INET, "192.0.2.200", v4);
	payer.network = policydb_relay_network(db, AF_INET, v4);	/* its network sets nothing: the defaults */
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_uint_eq(charge.per_hour, 200);
	ck_assert_uint_eq(charge.burst, 200);
	inet_pton(AF_INET6, "2001:db8:1:2:aaaa::1", v6);	/* an IPv6 client pays for its /64 */
	payer.family = AF_INET6;
	payer.addr = v6;
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "client:2001:db8:1:2::/64");
	ck_assert_str_eq(charge.who, "2001:db8:1:2::/64");
	inet_pton(AF_INET, "192.0.2.5", v4);	/* a network's own bulk allowance, counted apart (issue 24) */
	payer = (struct rate_payer){ .network = policydb_relay_network(db, AF_INET, v4), .family = AF_INET, .addr = v4,
				     .bulk = true };
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "bulk:client:192.0.2.5");
	ck_assert_uint_eq(charge.per_hour, 20);
	ck_assert_uint_eq(charge.burst, 2);
	payer.bulk = false;
	payer.family = AF_INET6;
	payer.addr = v6;
	ck_assert_int_eq(policydb_mailbox(db, "gw-admin", &mailbox), 0);
	payer.auth_mailbox = "gw-admin";	/* AUTH first, whatever the network */
	payer.mailbox = &mailbox;
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "mailbox:gw-admin");
	ck_assert_str_eq(charge.who, "gw-admin");
	ck_assert_uint_eq(charge.per_hour, 200);
	payer.bulk = true;	/* no bulk allowance set anywhere: the ordinary one, same counter */
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "mailbox:gw-admin");
	policydb_mailbox_free(&mailbox);
	ck_assert_int_eq(policydb_mailbox(db, "gw-bulk", &mailbox), 0);	/* a bulk allowance: counted apart */
	payer.auth_mailbox = "gw-bulk";
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "bulk:mailbox:gw-bulk");
	ck_assert_str_eq(charge.who, "gw-bulk");
	ck_assert_uint_eq(charge.per_hour, 3000);
	ck_assert_uint_eq(charge.burst, 100);
	payer.bulk = false;
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "mailbox:gw-bulk");
	ck_assert_uint_eq(charge.per_hour, 200);
	policydb_mailbox_free(&mailbox);
	payer = (struct rate_payer){ .certificate = &(struct policy_relay_right){ "/CN=a", { 7, 0, 0, 0 } },
				     .cert_identity = "/cn=ca|/cn=a", .cert_issuer = "/CN=CA", .cert_subject = "/CN=a" };
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "cert:/cn=ca|/cn=a");
	ck_assert_str_eq(charge.who, "/CN=a");
	ck_assert_uint_eq(charge.per_hour, 7);
	ck_assert_uint_eq(charge.burst, 7);
	payer.cert_subject = "";	/* a certificate without subject is named by its issuer */
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.who, "/CN=CA");
}
END_TEST

/*
 * A certificate is named in the reply by its subject: Sendmail's issuer
 * (xtext, "+20" for each space) is long enough to push the subject past
 * what the reply shows, and the reply then named "/CN=site.in-berli".
 */
START_TEST(gateway_rate_cert_reply)
{
	struct rate_payer payer = { .certificate = &(struct policy_relay_right){ "/CN=site.in-berlin.de", { 6, 2, 0, 0 } },
				    .cert_issuer = "/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA",
				    .cert_subject = "/CN=site.in-berlin.de" };
	char identity[FACTS_RATE_KEY_MAX];
	struct rate_charge charge;
	struct decision d;

	ck_assert(facts_cert_identity(payer.cert_issuer, payer.cert_subject, identity, sizeof(identity)));
	payer.cert_identity = identity;
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_str_eq(charge.key, "cert:/c=de/o=in-berlin+20e.v./cn=in-berlin+20ca|/cn=site.in-berlin.de");
	decide_continue_for_test(&d);
	decide_rate(DECIDE_RATE_LIMITED, false, charge.who, charge.per_hour, 600, &d);
	ck_assert_str_eq(d.text, "Rate limit of 6 recipients per hour for /CN=site.in-berlin.de exceeded, retry in 600 seconds");
}
END_TEST

/*
 * Two certificates are two payers however alike their DNs: the key is made
 * from the macros whole.  hostmilter once keyed on the copies it kept for
 * the reply, cut to 255 characters with non-ASCII made '?', so subjects
 * that differed only after that or only in a UTF-8 letter shared one
 * allowance.
 */
static void
cert_charge_key(const char *issuer, const char *subject, struct rate_charge *charge)
{
	struct rate_payer payer = { .certificate = &(struct policy_relay_right){ "/CN=any", { 6, 0, 0, 0 } },
				    .cert_issuer = issuer, .cert_subject = subject };
	char identity[FACTS_RATE_KEY_MAX];

	ck_assert(facts_cert_identity(issuer, subject, identity, sizeof(identity)));
	payer.cert_identity = identity;
	ck_assert_int_eq(facts_rate_charge(db, &payer, charge), 1);
}

START_TEST(gateway_rate_cert_keys_whole)
{
	char a[400], b[400];
	struct rate_charge ka, kb;

	memset(a, 'x', sizeof(a) - 1);
	a[0] = '/';
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(a));
	b[300] = 'y';	/* differs only after character 255 */
	cert_charge_key("/CN=CA", a, &ka);
	cert_charge_key("/CN=CA", b, &kb);
	ck_assert_uint_eq(strlen(ka.key), strlen("cert:/cn=ca|") + sizeof(a) - 1);
	ck_assert_str_ne(ka.key, kb.key);
	cert_charge_key("/CN=CA", "/CN=J\xc3\xa9r\xc3\xb4me", &ka);	/* only in a non-ASCII letter */
	cert_charge_key("/CN=CA", "/CN=J\xc3\xa8r\xc3\xb4me", &kb);
	ck_assert_str_ne(ka.key, kb.key);
	ck_assert_str_eq(ka.key, "cert:/cn=ca|/cn=j\xc3\xa9r\xc3\xb4me");	/* kept byte for byte */
	cert_charge_key("/CN=CA", "/CN=Jerome", &ka);	/* ASCII case still folds: one certificate, one payer */
	cert_charge_key("/cn=ca", "/cn=JEROME", &kb);
	ck_assert_str_eq(ka.key, kb.key);
}
END_TEST

/* A key that would not fit is refused (-1: the session tempfails), never charged cut. */
START_TEST(gateway_rate_key_too_long)
{
	char *identity = malloc(FACTS_RATE_KEY_MAX + 1);
	struct rate_payer payer = { .certificate = &(struct policy_relay_right){ "/CN=any", { 6, 0, 0, 0 } },
				    .cert_identity = identity, .cert_subject = "/CN=any" };
	struct rate_charge charge;

	memset(identity, 'a', FACTS_RATE_KEY_MAX);
	identity[FACTS_RATE_KEY_MAX] = '\0';
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), -1);
	identity[FACTS_RATE_KEY_MAX - 16] = '\0';	/* "cert:" and "bulk:" fit beside it */
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_uint_eq(strlen(charge.key), FACTS_RATE_KEY_MAX - 16 + 5);
	free(identity);
}
END_TEST

/* The sample: xyz00-sales sets 1000 an hour; no default, so others are unlimited. */
START_TEST(sample_rate_payers)
{
	struct policy_mailbox mailbox;
	struct rate_payer payer = { .auth_mailbox = "xyz00-sales", .mailbox = &mailbox };
	struct rate_charge charge;

	ck_assert_int_eq(policydb_mailbox(db, "xyz00-sales", &mailbox), 0);
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 1);
	ck_assert_uint_eq(charge.per_hour, 1000);
	ck_assert_uint_eq(charge.burst, 1000);
	policydb_mailbox_free(&mailbox);
	ck_assert_int_eq(policydb_mailbox(db, "xyz00-info", &mailbox), 0);
	payer.auth_mailbox = "xyz00-info";
	ck_assert_int_eq(facts_rate_charge(db, &payer, &charge), 0);
	policydb_mailbox_free(&mailbox);
}
END_TEST

START_TEST(policydb_refuses_foreign_files)
{
	char path[160], err[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/not-a-db", db_dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("hello\n", fp);
	fclose(fp);
	ck_assert_ptr_null(policydb_open(path, err, sizeof(err)));
	unlink(path);
	ck_assert_ptr_null(policydb_open("/nonexistent.db", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent.db"));
}
END_TEST

static Suite *
milter_suite(void)
{
	Suite *s = suite_create("milter");
	TCase *tc = tcase_create("decisions");
	TCase *lookups = tcase_create("lookups");
	TCase *precedence = tcase_create("precedence");
	TCase *gateway = tcase_create("gateway");

	tcase_add_test(tc, conf_reads_keys_and_defaults);
	tcase_add_test(tc, conf_reports_every_error_with_its_line);
	tcase_add_test(tc, conf_load_refuses_missing_file);
	tcase_add_test(tc, conf_stats_listen_is_loopback_only);
	tcase_add_test(tc, conf_scanner_must_be_named);
	tcase_add_test(tc, conf_socket_forms);
	tcase_add_test(tc, conf_socket_off_loopback_must_be_allowed);
	tcase_add_test(tc, fdlimit_leaves_room_per_connection);
	tcase_add_test(tc, stats_counts_and_reports);
	tcase_add_test(tc, stats_table_overflows_into_uncounted);
	tcase_add_test(tc, stats_report_scanner_nodes);
	tcase_add_test(tc, envelope_plain_addresses);
	tcase_add_test(tc, envelope_routing_tricks);
	tcase_add_test(tc, envelope_canonical_forms);
	tcase_add_test(tc, decide_mail_rules);
	tcase_add_test(tc, decide_relay_rules);
	tcase_add_test(tc, decide_rcpt_limits);
	tcase_add_test(tc, decide_size_and_params);
	tcase_add_test(tc, decide_rate_limits);
	tcase_add_test(tc, decide_generated_alias);
	tcase_add_test(tc, decide_msg_size_macro);
	tcase_add_test(tc, facts_certificate_identity);
	tcase_add_test(tc, facts_client_identity);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(lookups, build_sample_db, drop_sample_db);
	tcase_add_test(lookups, facts_auth_users);
	tcase_add_test(lookups, facts_sender_ownership);
	tcase_add_test(lookups, facts_sender_ownership_forms);
	tcase_add_test(lookups, facts_sender_forms_readable);
	tcase_add_test(lookups, facts_patterns_canonical);
	tcase_add_test(lookups, facts_local_names);
	tcase_add_test(lookups, facts_destinations);
	tcase_add_test(lookups, facts_relay_rights);
	tcase_add_test(lookups, facts_scan_policies);
	tcase_add_test(lookups, policydb_refuses_foreign_files);
	suite_add_tcase(s, lookups);
	tcase_add_checked_fixture(precedence, build_precedence_db, drop_sample_db);
	tcase_add_test(precedence, precedence_defaults_and_mailbox);
	tcase_add_test(precedence, precedence_domain_then_defaults);
	tcase_add_test(precedence, precedence_key_by_key);
	tcase_add_test(precedence, precedence_server_names_strictest);
	tcase_add_test(precedence, unreadable_mailbox_fails_closed);
	tcase_add_test(precedence, record_cache_limit);
	tcase_add_test(lookups, policydb_refuses_old_format);
	tcase_add_checked_fixture(gateway, build_gateway_db, drop_sample_db);
	tcase_add_test(gateway, gateway_recipients);
	tcase_add_test(gateway, gateway_relay_rates);
	tcase_add_test(gateway, gateway_rate_payers);
	tcase_add_test(gateway, gateway_rate_cert_reply);
	tcase_add_test(gateway, gateway_rate_cert_keys_whole);
	tcase_add_test(gateway, gateway_rate_key_too_long);
	tcase_add_test(lookups, sample_rate_payers);
	suite_add_tcase(s, gateway);
	suite_add_tcase(s, precedence);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(milter_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
