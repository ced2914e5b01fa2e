/*
 * check_scan - unit tests of the scanning half: spool, reply parsers,
 * cluster breaker, attachment types, verdicts and marks.
 *
 * The cluster tests use "scripted", an engine defined here whose nodes
 * answer what the test tells them: it exercises the breaker's logic, and
 * stands in for no real scanner (those are driven in test/integration).
 */
#include "config.h"

#include <check.h>
#include <magic.h>
#include <dirent.h>
#include <limits.h>
#include <glib.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "exetype.h"
#include "lenient.h"
#include "clamfeed.h"
#include "cluster.h"
#include "conf.h"
#include "dstr.h"
#include "engine.h"
#include "magicset.h"
#include "marks.h"
#include "net.h"
#include "scanners.h"
#include "service.h"
#include "spool.h"
#include "verdict.h"
#include "poison.h"
#include "workers.h"

/* ---- spool ---- */

static unsigned
dir_entries(const char *path)
{
	DIR *dir = opendir(path);
	unsigned n = 0;

	for (struct dirent *e; dir && (e = readdir(dir));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (dir)
		closedir(dir);
	return n;
}

START_TEST(spool_moves_to_a_nameless_file)
{
	char dir[] = "/tmp/check_scan.XXXXXX", buf[200];
	struct spool *spool;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	spool = spool_new(dir, 100);
	ck_assert_int_eq(spool_append(spool, "0123456789", 10), 0);
	ck_assert_ptr_nonnull(spool_memory(spool));
	ck_assert_int_eq(spool_fd(spool), -1);
	for (int i = 0; i < 15; i++)
		ck_assert_int_eq(spool_append(spool, "0123456789", 10), 0);
	ck_assert_ptr_null(spool_memory(spool));
	ck_assert_int_ge(spool_fd(spool), 0);
	ck_assert_uint_eq(spool_size(spool), 160);
	ck_assert_uint_eq(dir_entries(dir), 0);	/* no name on disk, ever */
	ck_assert_int_eq(spool_read(spool, 155, buf, sizeof(buf)), 5);
	ck_assert(memcmp(buf, "56789", 5) == 0);
	ck_assert_int_eq(spool_read(spool, 160, buf, sizeof(buf)), 0);
	spool_free(spool);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A declared size is a hint: a lie in either direction changes nothing stored. */
START_TEST(spool_expect_is_only_a_hint)
{
	char dir[] = "/tmp/check_scan.XXXXXX", buf[16];
	struct spool *small, *large, *huge;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	small = spool_new(dir, 1 << 20);
	ck_assert_int_eq(spool_expect(small, 3), 0);
	for (int i = 0; i < 2000; i++)	/* far more than declared: it grows */
		ck_assert_int_eq(spool_append(small, "0123456789", 10), 0);
	ck_assert_ptr_nonnull(spool_memory(small));
	ck_assert_uint_eq(spool_size(small), 20000);
	large = spool_new(dir, 1 << 20);
	ck_assert_int_eq(spool_expect(large, 5u << 20), 0);	/* declared past memory: a file at once */
	ck_assert_int_ge(spool_fd(large), 0);
	ck_assert_int_eq(spool_append(large, "abc", 3), 0);
	ck_assert_int_eq(spool_read(large, 0, buf, sizeof(buf)), 3);
	ck_assert(memcmp(buf, "abc", 3) == 0);
	huge = spool_new(dir, 1 << 20);
	ck_assert_int_eq(spool_expect(huge, UINT64_MAX), 0);	/* no overflow into a small buffer */
	ck_assert_int_ge(spool_fd(huge), 0);
	ck_assert_int_eq(spool_expect(huge, 10), 0);	/* only before the first append, once */
	ck_assert_int_ge(spool_fd(huge), 0);
	ck_assert_uint_eq(dir_entries(dir), 0);
	spool_free(small);
	spool_free(large);
	spool_free(huge);
	huge = spool_new("/nonexistent/dir", 4);
	ck_assert_int_eq(spool_expect(huge, 100), -1);	/* the file cannot be made: as a failed append */
	ck_assert_int_eq(spool_append(huge, "a", 1), -1);
	spool_free(huge);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(spool_failure_is_sticky)
{
	struct spool *spool = spool_new("/nonexistent/dir", 4);
	char buf[8];

	ck_assert_int_eq(spool_append(spool, "abc", 3), 0);
	ck_assert_int_eq(spool_append(spool, "defgh", 5), -1);
	ck_assert_int_eq(spool_append(spool, "i", 1), -1);
	ck_assert_int_eq(spool_read(spool, 0, buf, sizeof(buf)), -1);
	ck_assert_ptr_null(spool_memory(spool));
	spool_free(spool);
}
END_TEST

/* ---- reply parsers ---- */

START_TEST(clamd_replies)
{
	struct scan_result r;

	memset(&r, 0, sizeof(r));
	clamd_parse_reply("stream: OK", &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(!r.virus);
	memset(&r, 0, sizeof(r));
	clamd_parse_reply("stream: Eicar-Signature FOUND", &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(r.virus);
	ck_assert_str_eq(r.virus_name, "Eicar-Signature");
	/* What clamd did not inspect is no verdict, and not the node's fault either. */
	memset(&r, 0, sizeof(r));
	clamd_parse_reply("INSTREAM size limit exceeded. ERROR", &r);
	ck_assert_int_eq(r.status, SCAN_INCOMPLETE);
	memset(&r, 0, sizeof(r));
	clamd_parse_reply("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", &r);
	ck_assert_int_eq(r.status, SCAN_INCOMPLETE);
	ck_assert(!r.virus);
	ck_assert_ptr_nonnull(strstr(r.note, "Heuristics.Limits.Exceeded.MaxFileSize"));
	{
		/* Classed whole: the time-out's tell-tale after what the field keeps (it read INCOMPLETE). */
		char reply[400], x[201];

		memset(x, 'X', 200);
		x[200] = '\0';
		snprintf(reply, sizeof(reply), "stream: Heuristics.Limits.Exceeded.%s.MaxScanTime FOUND", x);
		memset(&r, 0, sizeof(r));
		clamd_parse_reply(reply, &r);
		ck_assert_int_eq(r.status, SCAN_FAILED);
		snprintf(reply, sizeof(reply), "stream: Win.Test.%s FOUND", x);	/* kept cut, and marked */
		memset(&r, 0, sizeof(r));
		clamd_parse_reply(reply, &r);
		ck_assert(r.virus);
		ck_assert_uint_eq(strlen(r.virus_name), SCAN_NAME_MAX - 1);
		ck_assert_str_eq(r.virus_name + SCAN_NAME_MAX - 4, "...");
	}
	for (const char *bad = "stream: Can't allocate memory ERROR\0\0UNKNOWN COMMAND\0\0 FOUND\0\0"; *bad;
	     bad += strlen(bad) + 1) {
		memset(&r, 0, sizeof(r));
		clamd_parse_reply(bad, &r);
		ck_assert_int_eq(r.status, SCAN_FAILED);
		ck_assert(!r.virus);
	}
}
END_TEST

/*
 * A rule list longer than SCAN_RULES_MAX keeps whole names and says it
 * goes on (",..."): it was cut in the middle of a name, which then read as
 * a rule that does not exist.  rspamd's score is held to spamd's bound.
 */
START_TEST(scanner_rules_whole_names)
{
	struct scan_result r;
	char reply[4096] = "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 15.2 / 5.0\r\n\r\n";
	static const char huge[] = "HTTP/1.1 200 OK\r\n\r\n{\"score\":1e300,\"required_score\":15}";
	const char *last;

	for (int i = 0; i < 100; i++)
		snprintf(reply + strlen(reply), sizeof(reply) - strlen(reply), "%sRULE_NUMBER_%03d", i ? "," : "", i);
	memset(&r, 0, sizeof(r));
	spamd_parse_reply(reply, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert_uint_lt(strlen(r.rules), SCAN_RULES_MAX);
	ck_assert_int_eq(strncmp(r.rules, "RULE_NUMBER_000,RULE_NUMBER_001,", 32), 0);
	last = strrchr(r.rules, ',');
	ck_assert_str_eq(last, ",...");
	ck_assert_int_eq(strncmp(last - 15, "RULE_NUMBER_", 12), 0);	/* the name before it whole */
	ck_assert_uint_eq((strlen(r.rules) - 4 + 1) % 16, 0);	/* nothing but whole names of 15 and commas */
	memset(&r, 0, sizeof(r));
	spamd_parse_reply("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 15.2 / 5.0\r\n\r\nA,,B,", &r);
	ck_assert_str_eq(r.rules, "A,B");
	memset(&r, 0, sizeof(r));
	rspamd_parse_reply(huge, sizeof(huge) - 1, &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
}
END_TEST

START_TEST(spamd_replies)
{
	struct scan_result r;
	const char *end;
	double n;

	memset(&r, 0, sizeof(r));
	spamd_parse_reply("SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: True ; 15.2 / 5.0\r\n\r\nGTUBE,X_Y", &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(r.score > 15.19 && r.score < 15.21);
	ck_assert(r.required > 4.99 && r.required < 5.01);
	ck_assert_str_eq(r.rules, "GTUBE,X_Y");
	memset(&r, 0, sizeof(r));
	spamd_parse_reply("SPAMD/1.1 0 EX_OK\r\nSpam: No ; -1.5 / 5.0\r\n\r\n", &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(r.score < -1.49 && r.score > -1.51);
	memset(&r, 0, sizeof(r));
	spamd_parse_reply("SPAMD/1.0 76 Bad header line: x\r\n", &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
	memset(&r, 0, sizeof(r));
	spamd_parse_reply("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1,5 / 5,0\r\n\r\n", &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);	/* a locale's decimal comma is not a score */
	memset(&r, 0, sizeof(r));
	spamd_parse_reply("HTTP/1.0 200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
	ck_assert_int_eq(spamd_parse_number("12.25 /", &end, &n), 0);
	ck_assert(n == 12.25 && *end == ' ');
	ck_assert_int_eq(spamd_parse_number("abc", &end, &n), -1);
	ck_assert_int_eq(spamd_parse_number("-", &end, &n), -1);
}
END_TEST


/*
 * rspamd's request head carries the envelope whole: a long sender or
 * recipient (SMTPUTF8 and VERP addresses run long) once went out cut to
 * 299 bytes; a CR or LF in a value cannot start a header of its own.
 */
START_TEST(rspamd_head_whole)
{
	struct engine_node node = { 0 };
	char *sender = malloc(2001);
	const char *rcpts[] = { "a@example.org", "b@example.org" };
	struct scan_job job = { .helo = "mx\r\nX-Evil: 1", .sender = sender, .rcpts = rcpts, .nrcpts = 2 };
	struct dstr head = DSTR_INIT(RSPAMD_HEAD_MAX);
	struct spool *spool = spool_new("/tmp", 1024);

	ck_assert_ptr_nonnull(spool);
	job.spool = spool;
	strcpy(node.addr.host, "127.0.0.1");
	memset(sender, 's', 2000);
	sender[2000] = '\0';
	ck_assert_int_eq(rspamd_request_head(&node, &job, &head), 0);
	ck_assert_ptr_nonnull(strstr(dstr_text(&head), "\r\nHelo: mx??X-Evil: 1\r\n"));
	ck_assert_ptr_nonnull(strstr(dstr_text(&head), sender));
	ck_assert_ptr_nonnull(strstr(dstr_text(&head), "\r\nRcpt: b@example.org\r\n\r\n"));
	dstr_free(&head);
	dstr_init(&head, 1000);	/* too small: refused, never sent cut */
	ck_assert_int_eq(rspamd_request_head(&node, &job, &head), -1);
	dstr_free(&head);
	spool_free(spool);
	free(sender);
}
END_TEST
START_TEST(rspamd_replies)
{
	static const char good[] = "HTTP/1.1 200 OK\r\nContent-Length: 80\r\n\r\n"
				   "{\"action\":\"reject\",\"score\":16.5,\"required_score\":15,"
				   "\"symbols\":{\"GTUBE\":{\"score\":0}}}";
	static const char status[] = "HTTP/1.1 500 Internal\r\n\r\n{}";
	static const char bad[] = "HTTP/1.1 200 OK\r\n\r\n{\"score\":\"high\"}";
	static const char skipped[] = "HTTP/1.1 200 OK\r\n\r\n{\"is_skipped\":true,\"score\":0,\"required_score\":15,"
				      "\"action\":\"no action\"}";
	static const char preresult[] = "HTTP/1.1 200 OK\r\n\r\n{\"is_skipped\":true,\"score\":15,\"required_score\":15,"
					"\"action\":\"reject\",\"symbols\":{\"GTUBE\":{\"score\":0}}}";
	struct scan_result r;

	memset(&r, 0, sizeof(r));
	rspamd_parse_reply(good, sizeof(good) - 1, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(r.score == 16.5 && r.required == 15);
	ck_assert_str_eq(r.rules, "GTUBE");
	memset(&r, 0, sizeof(r));
	rspamd_parse_reply(status, sizeof(status) - 1, &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
	memset(&r, 0, sizeof(r));
	rspamd_parse_reply(bad, sizeof(bad) - 1, &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
	memset(&r, 0, sizeof(r));
	rspamd_parse_reply(skipped, sizeof(skipped) - 1, &r);
	ck_assert_int_eq(r.status, SCAN_SKIPPED);	/* its score of 0 is no verdict */
	memset(&r, 0, sizeof(r));
	rspamd_parse_reply(preresult, sizeof(preresult) - 1, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);	/* GTUBE: rules skipped, the verdict stands */
	ck_assert(r.score == 15);
}
END_TEST

/* ---- cluster: the breaker, with nodes that answer what they are told ---- */

struct scripted {
	enum scan_status answer;
	unsigned calls;
};

static void *
scripted_open(const char *address, const struct scan_settings *settings, char *err, size_t errlen)
{
	return calloc(1, sizeof(struct scripted));
}

static void
scripted_scan(void *node, const struct scan_job *job, const struct net_wait *wait, struct scan_result *result)
{
	struct scripted *s = node;

	s->calls++;
	if (s->answer == SCAN_FAILED)
		engine_fail(result, "scripted failure");
	else
		result->status = s->answer;
}

static void
scripted_close(void *node)
{
	free(node);
}

static const struct scan_engine scripted_engine = { "scripted", SCAN_KIND_VIRUS, scripted_open, scripted_scan,
						    scripted_close };

START_TEST(cluster_retries_and_opens_breakers)
{
	struct cluster *cluster = cluster_new(&scripted_engine);
	struct scan_job job = { 0 };
	struct scan_result r;
	struct cluster_node_stats stats;
	struct scripted *a, *b;
	char err[100];

	ck_assert_int_eq(cluster_add(cluster, "a", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(cluster_add(cluster, "b", NULL, err, sizeof(err)), 0);
	a = cluster_node_impl(cluster, 0);
	b = cluster_node_impl(cluster, 1);
	a->answer = SCAN_FAILED;
	b->answer = SCAN_DONE;
	for (int i = 0; i < 10; i++) {
		cluster_scan(cluster, &job, net_now_ms() + 1000, &r);
		ck_assert_int_eq(r.status, SCAN_DONE);	/* a failing node costs a retry, never a verdict */
	}
	cluster_node_stats(cluster, 0, &stats);
	ck_assert_int_eq(stats.state, NODE_OPEN);
	ck_assert_uint_eq(a->calls, CLUSTER_FAILS_IN_A_ROW);	/* no traffic once open */
	ck_assert_uint_eq(b->calls, 10);
	b->answer = SCAN_FAILED;
	cluster_scan(cluster, &job, net_now_ms() + 1000, &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
	b->answer = SCAN_SKIPPED;
	cluster_scan(cluster, &job, net_now_ms() + 1000, &r);
	ck_assert_int_eq(r.status, SCAN_SKIPPED);	/* a skip is an answer, not a failure */
	cluster_node_stats(cluster, 1, &stats);
	ck_assert_int_eq(stats.state, NODE_CLOSED);
	cluster_free(cluster);
}
END_TEST

START_TEST(cluster_all_down_fails_fast)
{
	struct cluster *cluster = cluster_new(&scripted_engine);
	struct scan_job job = { 0 };
	struct scan_result r;
	struct scripted *a;
	char err[100];

	ck_assert_int_eq(cluster_add(cluster, "a", NULL, err, sizeof(err)), 0);
	a = cluster_node_impl(cluster, 0);
	a->answer = SCAN_FAILED;
	for (int i = 0; i < 5; i++)
		cluster_scan(cluster, &job, net_now_ms() + 1000, &r);
	ck_assert_int_eq(r.status, SCAN_FAILED);
	ck_assert_uint_eq(a->calls, CLUSTER_FAILS_IN_A_ROW);
	ck_assert_ptr_nonnull(strstr(r.note, "down"));
	cluster_free(cluster);
}
END_TEST

/* ---- attachments ---- */

static struct spool *
spool_of(const char *text)
{
	struct spool *spool = spool_new("/tmp", 1 << 20);

	ck_assert_int_eq(spool_append(spool, text, strlen(text)), 0);
	return spool;
}

START_TEST(attach_names_true_types_in_nested_parts)
{
	/* base64 of a PNG signature and IHDR chunk, declared as a text file */
	const char *msg = "From: a@b\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
			  "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
			  "--o\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
			  "--o\r\nContent-Type: message/rfc822\r\n\r\n"
			  "From: c@d\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n"
			  "--i\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
			  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n"
			  "--i--\r\n--o--\r\n";
	struct spool *spool = spool_of(msg);
	struct attach_report report;
	char err[200];
	bool png = false;

	ck_assert_int_eq(attach_scan(spool, NULL, &report, err, sizeof(err)), 0);
	for (unsigned i = 0; i < report.ntypes; i++)
		png |= strcmp(report.types[i].type, "image/png") == 0 && strcmp(report.types[i].filename, "notes.txt") == 0;
	ck_assert(png);
	spool_free(spool);
}
END_TEST

/* A message built piece by piece. */
struct text {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = 2 * (t->len + (size_t)n + 1);
		t->p = realloc(t->p, t->cap);
		ck_assert_ptr_nonnull(t->p);
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* The smallest file libmagic calls a PE executable: an MZ header pointing at "PE\0\0". */
static void
pe_bytes(unsigned char pe[256])
{
	memset(pe, 0, 256);
	pe[0] = 'M', pe[1] = 'Z';
	pe[0x18] = 0x40;	/* relocations past the DOS header: not plain MS-DOS */
	pe[0x3c] = 0x80;	/* e_lfanew */
	memcpy(pe + 0x80, "PE\0\0", 4);
	pe[0x80 + 24] = 0x0b, pe[0x80 + 25] = 0x01;	/* PE32 */
}

static char *
pe_base64(void)
{
	unsigned char pe[256];

	pe_bytes(pe);
	return g_base64_encode(pe, sizeof(pe));
}

static void
text_exe_part(struct text *t, const char *name)
{
	char *b64 = pe_base64();

	text_add(t, "Content-Type: application/pdf; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", name,
		 b64);
	g_free(b64);
}

static const char *const dosexec[] = { "application/x-dosexec" };

/* The report of msg, with libmagic's rules chosen for x-dosexec (want) or all of them. */
static void
report_of(const char *msg, bool want, unsigned types_max, struct attach_report *report)
{
	struct attach_want w = { dosexec, 1, types_max };
	struct spool *spool = spool_of(msg);
	char err[200];

	attach_scan(spool, want ? &w : NULL, report, err, sizeof(err));
	spool_free(spool);
}

static bool
report_has(const struct attach_report *report, const char *type)
{
	for (unsigned i = 0; i < report->ntypes; i++)
		if (attach_same_type(report->types[i].type, type))
			return true;
	return false;
}

static void
assert_found_exe(const char *msg)
{
	struct attach_report report;

	for (int want = 0; want < 2; want++) {
		report_of(msg, want, 0, &report);
		ck_assert_msg(report_has(&report, "application/x-dosexec"), "no executable found (%s)", report.why);
	}
}

static void
assert_incomplete(const char *msg, const char *why)
{
	struct attach_report report;

	report_of(msg, true, 0, &report);
	ck_assert_msg(report.incomplete, "complete, expected \"%s\"", why);
	ck_assert_msg(strstr(report.why, why), "why \"%s\", expected \"%s\"", report.why, why);
}

#define HEAD "From: a@b\r\nSubject: x\r\nMIME-Version: 1.0\r\n"

/* ATTACH_PARTS_MAX parts are looked at; the one after them is not, and the report says so. */
START_TEST(attach_parts_cap)
{
	for (int extra = 0; extra < 2; extra++) {
		struct text t = { 0 };
		struct attach_report report;

		text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
		for (int i = 0; i < ATTACH_PARTS_MAX - 1 + extra; i++)
			text_add(&t, "--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i);
		text_add(&t, "--b\r\n");
		text_exe_part(&t, "invoice.pdf");
		text_add(&t, "--b--\r\n");
		report_of(t.p, true, 0, &report);
		ck_assert(report_has(&report, "application/x-dosexec") == !extra);
		ck_assert(report.incomplete == extra);
		if (extra)
			ck_assert_ptr_nonnull(strstr(report.why, "more than 1000 parts"));
		free(t.p);
	}
}
END_TEST

START_TEST(attach_depth_cap)
{
	for (int depth = ATTACH_DEPTH_MAX - 1; depth <= ATTACH_DEPTH_MAX + 8; depth += 9) {
		struct text t = { 0 };
		struct attach_report report;

		text_add(&t, HEAD);
		for (int i = 0; i < depth; i++)	/* every other level a forwarded message */
			text_add(&t, i % 2 ? "Content-Type: message/rfc822\r\n\r\nFrom: c@d\r\nMIME-Version: 1.0\r\n"
					   : "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n",
				 i, i);
		text_exe_part(&t, "x.pdf");
		for (int i = depth - 1; i >= 0; i--)
			if (i % 2 == 0)
				text_add(&t, "--b%d--\r\n", i);
		report_of(t.p, true, 0, &report);
		ck_assert_msg(report_has(&report, "application/x-dosexec") == (depth < ATTACH_DEPTH_MAX), "depth %d", depth);
		ck_assert(report.incomplete == (depth >= ATTACH_DEPTH_MAX));
		free(t.p);
	}
}
END_TEST

START_TEST(attach_types_cap)
{
	struct text t = { 0 };
	struct attach_report report;

	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\r\nhello\r\n"
			  "--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
			  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n--b\r\n");
	text_exe_part(&t, "x.pdf");
	text_add(&t, "--b--\r\n");
	/* The rules chosen for x-dosexec name text and the PNG alike, application/octet-stream. */
	report_of(t.p, true, 2, &report);
	ck_assert(report_has(&report, "application/x-dosexec") && !report.incomplete);
	report_of(t.p, true, 1, &report);
	ck_assert(!report_has(&report, "application/x-dosexec") && report.incomplete);
	ck_assert_ptr_nonnull(strstr(report.why, "more than 1 distinct types"));
	free(t.p);
}
END_TEST

/* A part of arbitrary bytes, base64, declared as a PDF. */
static void
text_bytes_part(struct text *t, const char *name, const unsigned char *data, size_t len)
{
	char *b64 = g_base64_encode(data, len);

	text_add(t, "Content-Type: application/pdf; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", name,
		 b64);
	g_free(b64);
}

static const char *
libmagic_type(const unsigned char *data, size_t len)
{
	static char type[100];
	magic_t cookie = magic_open(MAGIC_MIME_TYPE);

	magic_load(cookie, NULL);
	snprintf(type, sizeof(type), "%s", magic_buffer(cookie, data, len));
	magic_close(cookie);
	return type;
}

/*
 * Executables are recognized by their structure, whatever libmagic names
 * first: a PE whose first 512 bytes carry a valid tar checksum is
 * application/x-tar to libmagic, one with an ISO 9660 descriptor in its
 * overlay an ISO image; Windows runs both.
 */
START_TEST(attach_executable_by_structure)
{
	static unsigned char pe[32768 + 4096];
	unsigned sum = 0;
	struct text t = { 0 };

	memset(pe, 0, sizeof(pe));
	pe[0] = 'M', pe[1] = 'Z';
	pe[0x18] = 0x40;
	pe[0x3c] = 0x00, pe[0x3d] = 0x01;	/* e_lfanew 0x100: the tar header's checksum lies in the DOS stub */
	memcpy(pe + 0x100, "PE\0\0", 4);
	pe[0x118] = 0x0b, pe[0x119] = 0x01;
	memset(pe + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += pe[i];
	snprintf((char *)pe + 148, 8, "%06o", sum);
	pe[155] = ' ';
	ck_assert_str_eq(libmagic_type(pe, 1024), "application/x-tar");	/* the polyglot fools libmagic */
	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n");
	text_bytes_part(&t, "tar.pdf", pe, 1024);
	text_add(&t, "--b--\r\n");
	assert_found_exe(t.p);
	memset(pe + 148, 0, 8);	/* no tar now: an ISO 9660 descriptor in the overlay instead */
	memcpy(pe + 32768, "\x01" "CD001\x01", 7);
	ck_assert_str_eq(libmagic_type(pe, sizeof(pe)), "application/x-iso9660-image");
	t.len = 0;
	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n");
	text_bytes_part(&t, "iso.pdf", pe, sizeof(pe));
	text_add(&t, "--b--\r\n");
	assert_found_exe(t.p);
	free(t.p);
	ck_assert_str_eq(exetype_of((const unsigned char *)"\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", 16),
			 "application/x-executable");
	ck_assert_str_eq(exetype_of((const unsigned char *)"\xcf\xfa\xed\xfe\x07\0\0\x01", 8), "application/x-mach-binary");
	ck_assert_ptr_null(exetype_of((const unsigned char *)"\xca\xfe\xba\xbe\0\0\0\x34", 8));	/* a Java class */
	ck_assert_ptr_null(exetype_of((const unsigned char *)"%PDF-1.7\n", 9));
}
END_TEST

/* 64 wanted types of the longest length a policy allows fit the chosen rules' key (once one byte past it). */
START_TEST(magicset_longest_types_fit)
{
	static char names[64][POLICY_TYPE_LEN];
	const char *types[64];
	struct magicset_cookie *cookie = NULL;

	for (int i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "application/x-%02d", i);
		memset(names[i] + strlen(names[i]), 'a', POLICY_TYPE_LEN - 1 - strlen(names[i]));
		names[i][POLICY_TYPE_LEN - 1] = '\0';
		types[i] = names[i];
	}
	ck_assert_int_ge(magicset_choose(&cookie, MAGIC_MIME_TYPE | MAGIC_ERROR, types, 64), 0);
	magicset_cookie_free(cookie);
}
END_TEST

/* Thunderbird's readings: base64 past padding, empty uuencoded lines, yEnc, cut encoding names. */
START_TEST(lenient_decoders)
{
	struct lenient_base64 b64 = { 0 };
	unsigned char out[64];
	size_t n;

	n = lenient_base64_step(&b64, "TQ==\r\nWlo=\r\nQUJD", 16, out);	/* "M", then "ZZ", then "ABC" */
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(out, "MZZABC", 6) == 0);
	memset(&b64, 0, sizeof(b64));
	n = lenient_base64_step(&b64, "TV", 2, out);	/* a quartet split across calls */
	n += lenient_base64_step(&b64, "pa", 2, out + n);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "MZZ", 3) == 0);
	ck_assert_uint_eq(lenient_uu_line("`", 1, out), 0);	/* a zero-length line ends nothing */
	n = lenient_uu_line("#35I:", 5, out);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "MZZ", 3) == 0);
	n = lenient_yenc_line("w\x84=}", 4, out);	/* 'M' + 42, 'Z' + 42, and an escaped byte */
	ck_assert_uint_eq(n, 3);
	ck_assert(out[0] == 'M' && out[1] == 'Z' && out[2] == (unsigned char)('}' - 64 - 42));
	ck_assert_int_eq(lenient_transfer_encoding("base64;"), LENIENT_BASE64);
	ck_assert_int_eq(lenient_transfer_encoding(" BASE64, 7bit"), LENIENT_BASE64);
	ck_assert_int_eq(lenient_transfer_encoding("x-uue"), LENIENT_UUENCODE);
	ck_assert_int_eq(lenient_transfer_encoding("x-yencode"), LENIENT_YENC);
	ck_assert_int_eq(lenient_transfer_encoding("base64x"), LENIENT_IDENTITY);
	ck_assert_int_eq(lenient_transfer_encoding(NULL), LENIENT_IDENTITY);
}
END_TEST

/*
 * A message spooled to a file -- past SpoolMemory, or declared larger by
 * SIZE= -- is read to the end of every part, as one held in memory is:
 * its text parts were once "a part could not be decoded" (GMime's file
 * streams answer -1 at the end of a part) and every such message
 * tempfailed.
 */
START_TEST(attach_file_spool_read_to_the_end)
{
	struct text t = { 0 };
	struct attach_want w = { dosexec, 1, 0 };
	char err[200];

	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n");
	for (int i = 0; i < 2000; i++)
		text_add(&t, "An ordinary line of text, number %d.\r\n", i);
	text_add(&t, "--b\r\n");
	text_exe_part(&t, "x.pdf");
	text_add(&t, "--b--\r\n");
	for (int declared = 0; declared < 2; declared++) {
		struct spool *spool = spool_new("/tmp", 4096);
		struct attach_report report;

		ck_assert_ptr_nonnull(spool);
		ck_assert_int_eq(spool_expect(spool, declared ? 60000000 : t.len), 0);
		ck_assert_int_eq(spool_append(spool, t.p, t.len), 0);
		ck_assert_int_ge(spool_fd(spool), 0);	/* on disk, not in memory */
		ck_assert_int_eq(attach_scan(spool, &w, &report, err, sizeof(err)), 0);
		ck_assert_msg(!report.failed && !report.incomplete, "%s%s", report.failed_why, report.why);
		ck_assert(report_has(&report, "application/x-dosexec"));
		spool_free(spool);
	}
	free(t.p);
}
END_TEST

/*
 * What GMime cannot read at all is not clean; ambiguity is no reason to
 * refuse: a multipart without a boundary is also read the way lenient
 * readers guess it, and conflicting or repeated headers leave the report
 * complete.
 */
START_TEST(attach_unreadable_or_ambiguous)
{
	struct text t = { 0 };
	struct attach_report report;

	assert_incomplete("x", "not a message GMime can parse");
	text_add(&t, HEAD "Content-Type: multipart/mixed\r\n\r\n--b\r\n");
	text_exe_part(&t, "x.pdf");
	text_add(&t, "--b--\r\n");
	assert_found_exe(t.p);
	report_of(t.p, true, 0, &report);
	ck_assert_msg(!report.incomplete, "%s", report.why);
	t.len = 0;
	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Transfer-Encoding: 7bit\r\n");
	text_exe_part(&t, "x.pdf");	/* a second, conflicting, Content-Transfer-Encoding */
	text_add(&t, "--b--\r\n");
	report_of(t.p, true, 0, &report);
	ck_assert_msg(!report.incomplete && !report.failed, "%s%s", report.why, report.failed_why);
	t.len = 0;
	text_add(&t, "From: a@b\r\nCc: x@y\r\nCC: z@y\r\ncc: q@y\r\nSubject: x\r\nSubject: y\r\n\r\nhello\r\n");
	report_of(t.p, true, 0, &report);
	ck_assert_msg(!report.incomplete && !report.failed, "%s%s", report.why, report.failed_why);
	free(t.p);
}
END_TEST

/* A forwarded message sent base64-encoded, an .eml attachment, content that is a message: all opened. */
START_TEST(attach_opens_embedded_messages)
{
	static const char *const wrappers[] = { "Content-Type: message/rfc822",
						"Content-Type: application/octet-stream; name=\"fwd.eml\"",
						"Content-Type: application/octet-stream" };
	char *inner_b64, *b64 = pe_base64();
	struct text inner = { 0 }, t = { 0 };

	text_add(&inner, "From: c@d\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n--i\r\n"
			 "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--i--\r\n", b64);
	inner_b64 = g_base64_encode((const guchar *)inner.p, inner.len);
	for (size_t i = 0; i < sizeof(wrappers) / sizeof(*wrappers); i++) {
		t.len = 0;
		text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\n%s\r\n"
				  "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--o--\r\n", wrappers[i], inner_b64);
		assert_found_exe(t.p);
	}
	g_free(inner_b64);
	g_free(b64);
	free(inner.p);
	free(t.p);
}
END_TEST

static void
text_uuencode(struct text *t, const unsigned char *data, size_t len)
{
	for (size_t at = 0; at < len; at += 45) {
		size_t n = len - at < 45 ? len - at : 45;

		text_add(t, "%c", (char)(' ' + n));
		for (size_t i = 0; i < n; i += 3) {
			unsigned char b[3] = { data[at + i], i + 1 < n ? data[at + i + 1] : 0, i + 2 < n ? data[at + i + 2] : 0 };
			unsigned c[4] = { b[0] >> 2, ((b[0] & 3) << 4) | (b[1] >> 4), ((b[1] & 15) << 2) | (b[2] >> 6), b[2] & 63 };

			for (int k = 0; k < 4; k++)
				text_add(t, "%c", c[k] ? (char)(' ' + c[k]) : '`');
		}
		text_add(t, "\r\n");
	}
	text_add(t, "`\r\nend\r\n");
}

/* Mail readers decode "begin 644 NAME" blocks in a text body: so does the walk, each one. */
START_TEST(attach_decodes_uuencoded_text)
{
	unsigned char pe[256], png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
	struct text t = { 0 };
	struct attach_report report;

	pe_bytes(pe);
	text_add(&t, HEAD "Content-Type: text/plain\r\n\r\nHello,\r\nthe picture and the program:\r\n\r\nbegin 644 a.png\r\n");
	text_uuencode(&t, png, sizeof(png));
	text_add(&t, "\r\nbegin 755 setup.exe\r\n");
	text_uuencode(&t, pe, sizeof(pe));
	text_add(&t, "bye\r\n");
	assert_found_exe(t.p);
	report_of(t.p, false, 0, &report);
	ck_assert(report_has(&report, "image/png"));
	ck_assert_uint_eq(report.nparts, 3);
	free(t.p);
}
END_TEST

/* Two Content-Type headers, or two types in one: readers differ (first, last), so each reading is walked. */
/*
 * A winmail.dat Outlook 16.0 made (a message recall, posted to the Linux
 * kernel's mailing list: test/data/tnef/README), as Outlook sends it: read
 * by libytnef, its compressed RTF body walked as a part of its own, and
 * nothing left uninspected.
 */
/*
 * A bzip2 file whose first block checksum begins with ':' starts like a
 * header line ("BZh91AY&SY:"): it was walked as a message only, and the
 * executable in the zip inside it passed (t-differential, case 290 of a
 * run whose zip timestamps made that checksum).  Both readings now.
 */
START_TEST(attach_opens_an_archive_that_starts_like_a_message)
{
	static const char bz2_of_zip_of_exe[] =
		"QlpoOTFBWSZTWTq/eTUAANF///+/3LHgIfiI/h/bGj/u/WTkiQAAgAZEWUAGABBDIAwgsAFWMNDUVP0yk8pmampkxGgAAAaZ"
		"GmTTRo9Q0aNHpHqaGYmUeUImlPQTJkR6DSGE2UyMmRhGTBMTEyYAjEGQ0zUMMSVMGp+qGmjQAaGgGTQaGQGIAAABoNAyD1zG"
		"FYAZPR4VBboxTODiGQKuXEJCNgEhFFCpiR8AkOERKF54LF78jcgEIEBBECNbsSycGadNYlw/pDOAE9GIicRAC8REhHXRD0Qk"
		"HoTVyPgcc1EfSGe5se/YZUWzniXfQyIi67RjgAICMcxi0loBLDFwyZ0UCyMOUwH2UiLWMG6vX63DkhZfmxHJolmlcxQ3lCXx"
		"Q2CllD5KcF2RVMZyeDE7gwBCH7QoCQJUzFC0NvyX5gvSIy+DqF5VGkrC42y2qa2K+1d4EZ4OQW5IUs+Y9Bx2Elr5mWG1sE7o"
		"MrvnlzIJYvGiVTRdcfAnIYHfZkaAdwoeDs8cgWRgTrBu7SXoh2Tk4Q88DJyL+PLaeoAw8BUwKqJv2yweSRDcyIMpA1+AgHyA"
		"tFfgHAaUDzYbkYRGWDesNeNSA8KY1hEWJhMan+LuSKcKEgdX7yag";
	guchar *bz2;
	gsize len;
	struct text t = { 0 };
	struct attach_report report;

	bz2 = g_base64_decode(bz2_of_zip_of_exe, &len);
	ck_assert(len > 11 && memcmp(bz2, "BZh91AY&SY:", 11) == 0);
	text_add(&t, HEAD "Content-Type: application/octet-stream; name=\"archive.zip.bz2\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n", bz2_of_zip_of_exe);
	report_of(t.p, true, 0, &report);
	ck_assert(report_has(&report, "application/x-dosexec"));
	g_free(bz2);
	free(t.p);
}
END_TEST

START_TEST(attach_reads_outlook_tnef)
{
	char *path = g_build_filename(getenv("HM_TEST_DATA") ? getenv("HM_TEST_DATA") : "test/data", "tnef",
				      "outlook16-recall.dat.b64", NULL);
	gchar *b64 = NULL;
	struct text t = { 0 };
	struct attach_report report;

	ck_assert_msg(g_file_get_contents(path, &b64, NULL, NULL), "%s", path);
	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\nX-Mailer: Microsoft Outlook 16.0\r\n\r\n"
			  "--b\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\nwould like to recall the message\r\n"
			  "--b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n"
			  "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n%s\r\n--b--\r\n", b64);
	report_of(t.p, true, 0, &report);
	ck_assert_msg(!report.incomplete && !report.failed && !report.encrypted, "%s%s", report.why, report.failed_why);
	ck_assert_uint_eq(report.nparts, 3);	/* the text, winmail.dat, and the RTF body libytnef took out of it */
	g_free(b64);
	g_free(path);
	free(t.p);
}
END_TEST

START_TEST(attach_reads_every_content_type)
{
	static const char *const orders[][2] = {
		{ "text/plain", "multipart/mixed; boundary=\"b\"" },
		{ "multipart/mixed; boundary=\"b\"", "text/plain" },
		{ "multipart/mixed; boundary=\"b\"", "multipart/mixed; boundary=\"c\"" },
	};
	unsigned char pe[256];
	struct attach_report report;

	pe_bytes(pe);
	for (size_t i = 0; i < sizeof(orders) / sizeof(*orders); i++) {
		struct text t = { 0 };

		text_add(&t, HEAD "Content-Type: %s\r\nContent-Type: %s\r\n\r\n--b\r\n", orders[i][0], orders[i][1]);
		text_exe_part(&t, "x.pdf");
		text_add(&t, "--b--\r\n");
		assert_found_exe(t.p);
		t.len = 0;
		/* a part's: the uuencoded program is a file only to a reader that takes text/plain */
		text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: %s\r\n"
			 "Content-Type: %s\r\n\r\nbegin 755 setup.exe\r\n", i ? "text/plain" : "application/pdf",
			 i ? "application/pdf" : "text/plain");
		text_uuencode(&t, pe, sizeof(pe));
		text_add(&t, "--o--\r\n");
		assert_found_exe(t.p);
		free(t.p);
	}
	{
		struct text t = { 0 };

		text_add(&t, HEAD "Content-Type: text/plain; multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n");
		text_exe_part(&t, "x.pdf");
		text_add(&t, "--b--\r\n");
		assert_found_exe(t.p);
		t.len = 0;
		/* the legit twin: the same header twice is one reading, and nothing is found or missed */
		text_add(&t, HEAD "Content-Type: text/plain\r\nContent-Type: text/plain\r\n\r\nhello\r\n");
		report_of(t.p, false, 0, &report);
		ck_assert_msg(!report.incomplete && !report.failed, "%s%s", report.why, report.failed_why);
		ck_assert_uint_eq(report.nparts, 1);
		free(t.p);
	}
}
END_TEST

/* Containers the walk does not open (BinHex, message/partial), and TNEF or S/MIME their libraries cannot read. */
/* BinHex 4.0 of data named name, run-length encoded as encoders write it, in t. */
static void
text_binhex(struct text *t, const char *name, const unsigned char *data, size_t len)
{
	static const char alphabet[] = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
	unsigned char *bin = calloc(1, 64 + 3 * len), *rle = calloc(1, 128 + 6 * len);
	size_t n = 0, r = 0, nlen = strlen(name), col = 0;
	unsigned bits = 0, nbits = 0;

	bin[n++] = (unsigned char)nlen;
	memcpy(bin + n, name, nlen), n += nlen;
	n += 1 + 4 + 4 + 2;	/* version, type, creator, flags */
	bin[n++] = (unsigned char)(len >> 24), bin[n++] = (unsigned char)(len >> 16);
	bin[n++] = (unsigned char)(len >> 8), bin[n++] = (unsigned char)len;
	n += 4 + 2;	/* no resource fork; header CRC (not checked) */
	memcpy(bin + n, data, len), n += len + 2 + 2;	/* data, its CRC, the resource fork's */
	for (size_t i = 0; i < n;) {
		size_t run = 1;

		while (i + run < n && bin[i + run] == bin[i] && run < 255)
			run++;
		rle[r++] = bin[i];
		if (bin[i] == 0x90)
			rle[r++] = 0;
		if (run > 2)
			rle[r++] = 0x90, rle[r++] = (unsigned char)run, i += run;
		else
			i++;
	}
	text_add(t, "(This file must be converted with BinHex 4.0)\r\n:");
	for (size_t i = 0; i < r || nbits > 0; i++) {
		bits = bits << 8 | (i < r ? rle[i] : 0), nbits += 8;
		while (nbits >= 6) {
			nbits -= 6;
			text_add(t, "%c%s", alphabet[(bits >> nbits) & 63], ++col % 64 == 0 ? "\r\n" : "");
		}
		if (i >= r)
			break;
	}
	text_add(t, ":\r\n");
	free(bin);
	free(rle);
}

/* BinHex, in a text body or a part of its own, is decoded: the executable in its data fork is found. */
START_TEST(attach_decodes_binhex)
{
	unsigned char pe[256];
	struct text t = { 0 };
	struct attach_report report;

	pe_bytes(pe);
	text_add(&t, HEAD "Content-Type: text/plain\r\n\r\nHere it is:\r\n\r\n");
	text_binhex(&t, "setup.exe", pe, sizeof(pe));
	assert_found_exe(t.p);
	report_of(t.p, true, 0, &report);
	ck_assert_msg(!report.incomplete, "%s", report.why);
	t.len = 0;
	text_add(&t, HEAD "Content-Type: application/mac-binhex40; name=\"setup.hqx\"\r\n\r\n");
	text_binhex(&t, "setup.exe", pe, sizeof(pe));
	assert_found_exe(t.p);
	t.len = 0;	/* the legit twin: a text file, found as text and nothing else */
	text_add(&t, HEAD "Content-Type: application/mac-binhex40\r\n\r\n");
	text_binhex(&t, "notes.txt", (const unsigned char *)"Meeting at ten.\n\n\n\n\n", 20);
	report_of(t.p, false, 0, &report);
	ck_assert_msg(!report.incomplete && !report.failed, "%s%s", report.why, report.failed_why);
	ck_assert(!report_has(&report, "application/x-dosexec"));
	ck_assert(report_has(&report, "text/plain"));
	t.len = 0;	/* declared BinHex with nothing in it: nothing inside, nothing failed */
	text_add(&t, HEAD "Content-Type: application/mac-binhex40\r\n\r\n");
	report_of(t.p, false, 0, &report);
	ck_assert_msg(!report.incomplete && !report.failed, "%s%s", report.why, report.failed_why);
	free(t.p);
}
END_TEST

START_TEST(attach_unopened_containers)
{
	static const unsigned char signed_data[] = { 0x30, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
						     0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x82, 0x01, 0x00, 0x30 };
	unsigned char p7[64] = { 0 };
	char *b64;
	struct text t = { 0 };

	text_add(&t, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/ms-tnef; "
			  "name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n", "eJ8+IgEAAQaQCAD///9/AA==");
	assert_incomplete(t.p, "TNEF (winmail.dat) that libytnef cannot read");	/* an attribute longer than the file */
	t.len = 0;
	text_add(&t, HEAD "Content-Type: text/plain\r\n\r\nHere it is:\r\n(This file must be converted with BinHex 4.0)\r\n"
			  ":!!!!!!!!\r\n");
	assert_incomplete(t.p, "BinHex");
	t.len = 0;
	text_add(&t, HEAD "Content-Type: message/partial; id=\"x@y\"; number=1; total=2\r\n\r\nFrom: a@b\r\n\r\nhalf\r\n");
	assert_incomplete(t.p, "message/partial");
	memcpy(p7, signed_data, sizeof(signed_data));
	b64 = g_base64_encode(p7, sizeof(p7));
	t.len = 0;	/* declared enveloped (encrypted), but the bytes say signed-data, and broken ones */
	text_add(&t, HEAD "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n", b64);
	assert_incomplete(t.p, "S/MIME content OpenSSL cannot read");
	g_free(b64);
	free(t.p);
}
END_TEST

/*
 * The chosen rules name x-dosexec exactly where the whole database does,
 * even for text; what they name otherwise counts for nothing (text is
 * application/octet-stream to them: magicset_load leaves libmagic's look
 * at text out when no chosen rule is a text test).
 */
START_TEST(magicset_agrees_with_the_whole_database)
{
	static const char *const texts[] = { "just some text\r\n", "MZ looks like an executable, is text\r\n",
					     "\xb8\xc0\x07 three bytes of a DOS program" };
	char drdos[400];
	unsigned char pe[256];
	magic_t full = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
	struct magicset_cookie *chosen = NULL;

	ck_assert_int_eq(magic_load(full, NULL), 0);
	ck_assert_int_eq(magicset_choose(&chosen, MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS, dosexec, 1), 0);
	ck_assert_ptr_nonnull(chosen);	/* Debian's libmagic 5.44: a database this can choose from */
	ck_assert_uint_lt(magicset_rules(dosexec, 1), 200);
	memset(drdos, 'x', sizeof(drdos));	/* 7-bit text libmagic calls a DR-DOS program */
	memcpy(drdos + 252, "Must have DOS version", 21);
	pe_bytes(pe);
	for (size_t i = 0; i < 5; i++) {
		const char *buf = i < 3 ? texts[i] : i == 3 ? drdos : (const char *)pe;
		size_t len = i < 3 ? strlen(texts[i]) : i == 3 ? sizeof(drdos) : sizeof(pe);
		char want[POLICY_TYPE_LEN];

		snprintf(want, sizeof(want), "%s", magic_buffer(full, buf, len));
		ck_assert(attach_same_type(want, dosexec[0]) == (i >= 2));
		if (i >= 2)
			ck_assert_str_eq(magicset_type(chosen, full, buf, len), want);
		else
			ck_assert(!attach_same_type(magicset_type(chosen, full, buf, len), dosexec[0]));
	}
	magicset_cookie_free(chosen);
	magic_close(full);
}
END_TEST

/* Where a wanted type is text, or a chosen rule a test of text, libmagic still looks at text. */
START_TEST(magicset_looks_at_text_when_wanted)
{
	static const char *const script[] = { "text/x-shellscript" }, *const plain[] = { "text/plain" };
	static const char sh[] = "#!/bin/sh\necho hello\n", note[] = "just some text\r\n";
	int flags = MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS;
	magic_t full = magic_open(flags);
	struct magicset_cookie *chosen = NULL;

	ck_assert_int_eq(magic_load(full, NULL), 0);
	ck_assert_int_eq(magicset_choose(&chosen, flags, script, 1), 0);
	ck_assert_str_eq(magicset_type(chosen, full, sh, strlen(sh)), "text/x-shellscript");
	ck_assert_int_eq(magicset_choose(&chosen, flags, plain, 1), 0);
	ck_assert_str_eq(magicset_type(chosen, full, note, strlen(note)), "text/plain");
	ck_assert_int_eq(magicset_choose(&chosen, flags, dosexec, 1), 0);	/* binary rules only */
	ck_assert_str_eq(magicset_type(chosen, full, note, strlen(note)), "application/octet-stream");
	magicset_cookie_free(chosen);
	magic_close(full);
}
END_TEST

/* ---- verdicts ---- */

static struct policy_rules
rules_with(enum policy_virus virus, double tag, double reject)
{
	struct policy_rules rules;

	policy_rules_default(&rules);
	rules.virus = virus;
	rules.spam.tag_score = tag;
	rules.spam.has_reject = reject > 0;
	rules.spam.reject_score = reject;
	return rules;
}

static enum verdict_action
verdict_of(const struct scan_outcome *o, const struct attach_report *a, const struct policy_rules *rules,
	   bool allowed, bool accept_on_failure, struct verdict *v)
{
	struct verdict_facts facts = { o, a, rules, allowed, accept_on_failure };

	verdict_for_rcpt(&facts, v);
	return v->action;
}

START_TEST(verdict_per_recipient)
{
	struct policy_rules reject = rules_with(POLICY_VIRUS_REJECT, 5, 15), tag = rules_with(POLICY_VIRUS_TAG, 4, 0);
	struct scan_outcome o = { 0 };
	struct attach_report a = { .ntypes = 1 }, none = { 0 };
	struct verdict v;

	strcpy(a.types[0].type, "application/vnd.microsoft.portable-executable");
	strcpy(reject.blocked_types[reject.ntypes++], "application/x-dosexec");
	ck_assert_int_eq(verdict_of(&o, &none, &reject, false, false, &v), VERDICT_DELIVER);
	ck_assert_int_eq(verdict_of(&o, &a, &reject, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rule, "blocked-type");
	ck_assert_str_eq(v.rcode, "550");
	o.virus = true;
	strcpy(o.virus_name, "Eicar");
	ck_assert_int_eq(verdict_of(&o, &none, &reject, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rcode, "554");
	ck_assert_int_eq(verdict_of(&o, NULL, &tag, false, false, &v), VERDICT_TAG);
	tag.ntypes = 1;
	strcpy(tag.blocked_types[0], "application/x-dosexec");
	ck_assert_int_eq(verdict_of(&o, &a, &tag, false, false, &v), VERDICT_REJECT);	/* tag never passes a blocked type */
	o.virus = false;
	o.spam_scored = true;
	o.score = 12;
	ck_assert_int_eq(verdict_of(&o, &none, &reject, false, false, &v), VERDICT_TAG);
	ck_assert(v.spam_tag);
	ck_assert_int_eq(verdict_of(&o, &none, &reject, true, false, &v), VERDICT_DELIVER);	/* allow_senders */
	o.score = 15;
	ck_assert_int_eq(verdict_of(&o, &none, &reject, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rcode, "550");
	o.spam_failed = true;
	o.spam_scored = false;
	ck_assert_int_eq(verdict_of(&o, &none, &reject, false, false, &v), VERDICT_TEMPFAIL);
	ck_assert_str_eq(v.xcode, "4.7.1");
	ck_assert_int_eq(verdict_of(&o, &none, &reject, true, false, &v), VERDICT_DELIVER);	/* spam not wanted */
	ck_assert_int_eq(verdict_of(&o, &none, &reject, false, true, &v), VERDICT_DELIVER);	/* OnScannerFailure accept */
	o.virus_failed = true;
	ck_assert_int_eq(verdict_of(&o, &none, &reject, true, false, &v), VERDICT_TEMPFAIL);
}
END_TEST

/* An incomplete report is no "clean" for a recipient that blocks types; what was inspected still counts. */
START_TEST(verdict_fails_closed_on_uninspected_parts)
{
	struct policy_rules blocks = rules_with(POLICY_VIRUS_REJECT, 5, 15), open = rules_with(POLICY_VIRUS_REJECT, 5, 15);
	struct scan_outcome o = { 0 };
	struct attach_report a = { .incomplete = true };
	struct verdict v;

	strcpy(a.why, "more than 1000 parts");
	strcpy(blocks.blocked_types[blocks.ntypes++], "application/x-dosexec");
	/* Deterministic: the "uninspectable" action (reject by default), never a 4xx, whatever OnScannerFailure says. */
	for (int accept = 0; accept < 2; accept++) {
		ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, accept, &v), VERDICT_REJECT);
		ck_assert_str_eq(v.rule, "uninspectable");
		ck_assert_str_eq(v.rcode, "554");
		ck_assert_str_eq(v.xcode, "5.7.1");
		ck_assert_ptr_nonnull(strstr(v.text, "more than 1000 parts"));
	}
	blocks.uninspectable = POLICY_UNINSPECTABLE_QUARANTINE;
	ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, false, &v), VERDICT_QUARANTINE);
	blocks.uninspectable = POLICY_UNINSPECTABLE_TAG;
	ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, false, &v), VERDICT_TAG);
	ck_assert_str_eq(v.unscanned, "more than 1000 parts");
	ck_assert(v.virus_flag);
	blocks.uninspectable = POLICY_UNINSPECTABLE_REJECT;
	ck_assert_int_eq(verdict_of(&o, NULL, &blocks, false, false, &v), VERDICT_TEMPFAIL);	/* not examined at all */
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_DELIVER);	/* blocks nothing */
	/* Transient: the walk failed for now; OnScannerFailure decides. */
	a.incomplete = false;
	a.failed = true;
	strcpy(a.failed_why, "cannot read the spooled message");
	ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, false, &v), VERDICT_TEMPFAIL);
	ck_assert_str_eq(v.rule, "scanner-failure");
	ck_assert_str_eq(v.failure, "cannot read the spooled message");
	ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, true, &v), VERDICT_DELIVER);	/* OnScannerFailure accept */
	ck_assert_str_eq(v.rule, "scanner-failure-accepted");
	a.failed = false;
	a.incomplete = true;
	a.ntypes = 1;
	strcpy(a.types[0].type, "application/x-dosexec");
	ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, false, &v), VERDICT_REJECT);	/* found before the cap */
	ck_assert_str_eq(v.rule, "blocked-type");
	a.ntypes = 0;
	o.virus = true;
	strcpy(o.virus_name, "Eicar");
	ck_assert_int_eq(verdict_of(&o, &a, &blocks, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rule, "virus");
}
END_TEST

/* Encrypted content: the "encrypted" action, accept by default (marked), for every recipient. */
START_TEST(verdict_encrypted_content)
{
	struct policy_rules open = rules_with(POLICY_VIRUS_REJECT, 5, 15);
	struct scan_outcome o = { 0 };
	struct attach_report a = { .encrypted = true };
	struct verdict v;

	strcpy(a.encrypted_why, "PGP/MIME");
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_DELIVER);
	ck_assert_str_eq(v.unscanned, "encrypted");
	ck_assert(!v.virus_flag);
	open.encrypted = POLICY_ENCRYPTED_TAG;
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_TAG);
	ck_assert(v.virus_flag);
	open.encrypted = POLICY_ENCRYPTED_QUARANTINE;
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_QUARANTINE);
	open.encrypted = POLICY_ENCRYPTED_REJECT;
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rcode, "554");
	ck_assert_ptr_nonnull(strstr(v.text, "PGP/MIME"));
	/* libclamav's "Heuristics.Encrypted.Zip" counts the same, and a virus found still wins. */
	memset(&a, 0, sizeof(a));
	o.encrypted = true;
	strcpy(o.encrypted_why, "libclamav: Heuristics.Encrypted.Zip");
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rule, "encrypted");
	o.virus = true;
	strcpy(o.virus_name, "Eicar");
	ck_assert_int_eq(verdict_of(&o, &a, &open, false, false, &v), VERDICT_REJECT);
	ck_assert_str_eq(v.rule, "virus");
}
END_TEST

/* Delivered uninspected: "X-Virus-Status: Unscanned (why)", and X-Virus-Flag where a policy said tag. */
START_TEST(marks_unscanned)
{
	struct scan_outcome o = { 0 };
	struct message_verdict m = { .unscanned = "encrypted" };
	struct marks_facts f = { &o, &m, true, false, NULL };
	struct marks marks;

	strcpy(o.virus_engines, "clamav");
	marks_build(&f, &marks);
	ck_assert_uint_eq(marks.n, 2);
	ck_assert_str_eq(marks.mark[1].name, "X-Virus-Status");
	ck_assert_str_eq(marks.mark[1].value, "Unscanned (encrypted)");
	m.unscanned = "more than 1000 parts\r\nX-Injected: yes";
	m.virus_flag = true;
	marks_build(&f, &marks);
	ck_assert_uint_eq(marks.n, 3);
	ck_assert_str_eq(marks.mark[1].value, "Unscanned (more than 1000 parts??X-Injected: yes)");
	ck_assert_str_eq(marks.mark[2].name, "X-Virus-Flag");
	ck_assert_str_eq(marks.mark[2].value, "YES");
	ck_assert_int_eq(marks_owned("X-Virus-Flag", true, false), 2);
}
END_TEST

START_TEST(verdict_per_message)
{
	struct verdict v[3] = { { .action = VERDICT_REJECT, .rcode = "554" },
				{ .action = VERDICT_TAG, .spam_tag = true, .subject_tag = "[SPAM]" },
				{ .action = VERDICT_DISCARD } };
	struct message_verdict m;

	verdict_for_message(v, 3, &m);
	ck_assert_int_eq(m.action, VERDICT_DELIVER);
	ck_assert_uint_eq(m.removed, 2);
	ck_assert(m.spam_tag);
	ck_assert_str_eq(m.subject_tag, "[SPAM]");
	v[1].action = VERDICT_DISCARD;
	verdict_for_message(v, 3, &m);
	ck_assert_int_eq(m.action, VERDICT_REJECT);	/* all refuse: one rejects, so the message is rejected */
	ck_assert_ptr_eq(m.reply, &v[0]);
	verdict_for_message(v + 1, 2, &m);
	ck_assert_int_eq(m.action, VERDICT_DISCARD);
	v[1].action = VERDICT_QUARANTINE;
	verdict_for_message(v, 3, &m);
	ck_assert_int_eq(m.action, VERDICT_DELIVER);
	ck_assert(m.quarantine);
	v[2].action = VERDICT_TEMPFAIL;
	verdict_for_message(v, 3, &m);
	ck_assert_int_eq(m.action, VERDICT_TEMPFAIL);	/* nothing accepted unscanned */
}
END_TEST

START_TEST(marks_for_delivery)
{
	struct scan_outcome o = { .spam_scored = true, .score = 7.25, .required = 5 };
	struct message_verdict m = { .spam_tag = true };
	struct marks_facts f = { &o, &m, true, true, NULL };
	struct marks marks;
	char subject[100];

	strcpy(o.virus_engines, "clamav");
	strcpy(o.rules, "A,B");
	marks_build(&f, &marks);
	ck_assert_uint_eq(marks.n, 5);
	ck_assert_str_eq(marks.mark[0].name, "X-Virus-Scanned");
	ck_assert_str_eq(marks.mark[1].value, "Clean");
	ck_assert_str_eq(marks.mark[2].value, "Yes, score=7.2 required=5.0 tests=A,B");
	ck_assert_str_eq(marks.mark[4].name, "X-Spam-Flag");
	marks_subject("Hello", "[SPAM]", subject, sizeof(subject));
	ck_assert_str_eq(subject, "[SPAM] Hello");
	marks_subject(" [SPAM] Hello", "[SPAM]", subject, sizeof(subject));
	ck_assert_str_eq(subject, "[SPAM] Hello");	/* not tagged twice */
}
END_TEST

/* What was not inspected is never marked clean: no "Clean", no "No", no score. */
START_TEST(marks_never_call_unscanned_clean)
{
	struct scan_outcome o = { .virus_failed = true };
	struct message_verdict m = { 0 };
	struct marks_facts f = { &o, &m, true, true, NULL };
	struct marks marks;

	strcpy(o.failure, "clamav: libclamav did not inspect all of it: Heuristics.Limits.Exceeded.MaxScanSize");
	strcpy(o.skipped, "spamd: larger than SpamMaxSize");
	marks_build(&f, &marks);
	ck_assert_uint_eq(marks.n, 2);	/* no X-Virus-Status, no X-Spam-Score, no X-Spam-Flag */
	ck_assert_ptr_nonnull(strstr(marks.mark[0].value, "failed (clamav: libclamav did not inspect"));
	ck_assert_str_eq(marks.mark[1].name, "X-Spam-Status");
	ck_assert_str_eq(marks.mark[1].value, "skipped (spamd: larger than SpamMaxSize)");
	o.virus_failed = false;
	o.spam_failed = true;
	strcpy(o.virus_engines, "clamav");
	f.blocked_type = "application/x-dosexec";
	marks_build(&f, &marks);
	ck_assert_str_eq(marks.mark[1].value, "Blocked (application/x-dosexec)");
	ck_assert_ptr_nonnull(strstr(marks.mark[2].value, "failed ("));
	ck_assert_int_eq(marks_owned("x-spam-flag", true, true), 5);
	ck_assert_int_eq(marks_owned("X-VIRUS-STATUS", true, false), 1);
	ck_assert_int_eq(marks_owned("X-Spam-Status", true, false), -1);	/* not written without spam engines */
	ck_assert_int_eq(marks_owned("X-Spam-Level", true, true), -1);
	ck_assert_str_eq(marks_name(3), "X-Spam-Status");
}
END_TEST

/* A virus engine that skipped the message or hit a limit has failed; a spam engine's skip is a skip. */
START_TEST(scanners_virus_engines_never_skip)
{
	struct scan_result skip = { .status = SCAN_SKIPPED }, limit = { .status = SCAN_INCOMPLETE };
	struct scan_outcome o;

	strcpy(skip.note, "larger than SpamMaxSize");
	strcpy(limit.note, "clamd did not inspect all of it: Heuristics.Limits.Exceeded.MaxRecursion");
	memset(&o, 0, sizeof(o));
	scanners_add(&o, &engine_clamd, &skip);
	ck_assert(o.virus_failed);
	memset(&o, 0, sizeof(o));
	scanners_add(&o, &engine_clamd, &limit);
	ck_assert(o.virus_incomplete && !o.virus_failed && !o.virus);	/* a limit: deterministic */
	ck_assert_ptr_nonnull(strstr(o.incomplete, "clamd: clamd did not inspect"));
	memset(&o, 0, sizeof(o));
	scanners_add(&o, &engine_spamd, &skip);
	ck_assert(!o.spam_failed && !o.spam_scored);
	ck_assert_str_eq(o.skipped, "spamd: larger than SpamMaxSize");
}
END_TEST

/* X-Virus-Scanned names each engine once, however many of its clusters answered: twelve clamd
 * clusters filled the 64 bytes and the list was cut. */
START_TEST(scanners_engines_named_once)
{
	struct scan_result done = { .status = SCAN_DONE };
	struct scan_outcome o;

	memset(&o, 0, sizeof(o));
	for (int i = 0; i < 12; i++) {
		scanners_add(&o, &engine_clamd, &done);
		scanners_add(&o, &engine_clamav, &done);
	}
	ck_assert_str_eq(o.virus_engines, "clamd,clamav");
}
END_TEST

/* ---- in-process libclamav ---- */

static unsigned progress_calls;

static void
count_progress(void *arg)
{
	progress_calls++;
}

/* A fresh directory (dir, a mkdtemp template) holding unit.hdb: a libclamav signature of one whole message. */
static void
unit_signature_db(char *dir, const char *infected)
{
	char path[PATH_MAX], md5[EVP_MAX_MD_SIZE * 2 + 1];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	EVP_Digest(infected, strlen(infected), digest, &digest_len, EVP_md5(), NULL);
	for (unsigned i = 0; i < digest_len; i++)
		snprintf(md5 + 2 * i, 3, "%02x", digest[i]);
	snprintf(path, sizeof(path), "%s/unit.hdb", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%s:%zu:Hostmilter.Unit.Test\n", md5, strlen(infected));
	fclose(f);
}

/* A real engine on a signature of one whole message: that message is a
 * virus and another is clean, and a scan of milliseconds sends Sendmail no
 * progress (it is a heartbeat for long scans only, even on a new thread). */
START_TEST(clamav_scans_in_process)
{
	const char *infected = "Subject: unit\r\n\r\nhostmilter unit-test signature\r\n";
	char dir[] = "/tmp/check-clamav.XXXXXX", path[PATH_MAX], err[200];
	struct hm_conf conf;
	struct scan_settings settings = { .conf = &conf };
	struct scan_result r;
	struct spool *spool;
	void *node;

	unit_signature_db(dir, infected);
	snprintf(path, sizeof(path), "%s/unit.hdb", dir);
	conf_defaults(&conf);
	snprintf(conf.clamav_database, sizeof(conf.clamav_database), "%s", dir);
	snprintf(conf.spool_directory, sizeof(conf.spool_directory), "%s", dir);
	node = engine_clamav.open("", &settings, err, sizeof(err));
	ck_assert_msg(node != NULL, "%s", err);
	spool = spool_of(infected);
	engine_clamav.scan(node, &(struct scan_job){ .spool = spool, .progress = count_progress }, NULL, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(r.virus);
	ck_assert_ptr_nonnull(strstr(r.virus_name, "Hostmilter.Unit.Test"));
	spool_free(spool);
	spool = spool_of("Subject: unit\r\n\r\nnothing to see\r\n");
	engine_clamav.scan(node, &(struct scan_job){ .spool = spool, .progress = count_progress }, NULL, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(!r.virus);
	ck_assert_uint_eq(progress_calls, 0);
	spool_free(spool);
	/* Mail nested deeper than MaxRecursion: libclamav's alert, an incomplete scan, not "clean". */
	{
		struct text t = { 0 };

		text_add(&t, "Subject: unit\r\nMIME-Version: 1.0\r\n");
		for (int i = 0; i < 25; i++)
			text_add(&t, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
		text_add(&t, "Content-Type: text/plain\r\n\r\nnothing to see\r\n");
		spool = spool_of(t.p);
		engine_clamav.scan(node, &(struct scan_job){ .spool = spool }, NULL, &r);
		ck_assert_int_eq(r.status, SCAN_INCOMPLETE);
		ck_assert_ptr_nonnull(strstr(r.note, "Heuristics.Limits.Exceeded"));
		spool_free(spool);
		free(t.p);
	}
	engine_clamav.close(node);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);	/* libclamav left no temporary file behind */
}
END_TEST

/* A clamav node whose database has one hash signature, on the bytes sig; its directory in dir. */
static void *
clamav_node_for(const char *sig, const char *name, char *dir, char *path, size_t pathlen)
{
	char md5[EVP_MAX_MD_SIZE * 2 + 1], err[200];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	static struct hm_conf conf;
	static struct scan_settings settings = { .conf = &conf };
	void *node;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	EVP_Digest(sig, strlen(sig), digest, &digest_len, EVP_md5(), NULL);
	for (unsigned i = 0; i < digest_len; i++)
		snprintf(md5 + 2 * i, 3, "%02x", digest[i]);
	snprintf(path, pathlen, "%s/unit.hdb", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%s:%zu:%s\n", md5, strlen(sig), name);
	fclose(f);
	conf_defaults(&conf);
	snprintf(conf.clamav_database, sizeof(conf.clamav_database), "%s", dir);
	snprintf(conf.spool_directory, sizeof(conf.spool_directory), "%s", dir);
	node = engine_clamav.open("", &settings, err, sizeof(err));
	ck_assert_msg(node != NULL, "%s", err);
	return node;
}

static void
clamav_scan_text(void *node, const char *msg, struct scan_result *r)
{
	struct spool *spool = spool_of(msg);

	engine_clamav.scan(node, &(struct scan_job){ .spool = spool }, NULL, r);
	spool_free(spool);
}

/* libclamav is given what the walk decodes: base64 padded after its first
 * byte, which only the lenient reading decodes whole, is a virus to every
 * recipient; the same bytes twice are scanned once; a walk cut short by its
 * cap is no "clean". */
START_TEST(clamav_scans_what_the_walk_decodes)
{
	const char *blob = "hostmilter unit-test blob, read only by a lenient decoder\n";
	char dir[] = "/tmp/check-clamav.XXXXXX", path[PATH_MAX];
	void *node = clamav_node_for(blob, "Hostmilter.Unit.Blob", dir, path, sizeof(path));
	char *first = g_base64_encode((const guchar *)blob, 1), *rest = g_base64_encode((const guchar *)blob + 1,
											 strlen(blob) - 1);
	struct clamfeed_stats stats;
	struct scan_result r;
	struct text t = { 0 };

	text_add(&t, "Subject: unit\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	for (int i = 0; i < 2; i++)
		text_add(&t, "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
			 "%s\r\n%s\r\n", first, rest);
	text_add(&t, "--b--\r\n");
	clamav_scan_text(node, t.p, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(r.virus);
	ck_assert_str_eq(r.virus_name, "Hostmilter.Unit.Blob.UNOFFICIAL");
	free(t.p);
	t = (struct text){ 0 };
	text_add(&t, "Subject: unit\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	for (int i = 0; i < 2; i++)
		text_add(&t, "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", rest);
	text_add(&t, "--b--\r\n");
	clamav_scan_text(node, t.p, &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(!r.virus);
	clamfeed_last(&stats);
	ck_assert_uint_eq(stats.blobs, 2);
	/* the twin part's bytes are not scanned again, nor bytes libclamav took out as the walk does */
	ck_assert_uint_eq(stats.scanned, 0);
	free(t.p);
	t = (struct text){ 0 };
	text_add(&t, "Subject: unit\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	for (int i = 0; i <= ATTACH_PARTS_MAX; i++)
		text_add(&t, "--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i);
	text_add(&t, "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n%s\r\n"
		 "--b--\r\n", first, rest);
	clamav_scan_text(node, t.p, &r);
	ck_assert_int_eq(r.status, SCAN_INCOMPLETE);
	ck_assert_ptr_nonnull(strstr(r.note, "more than 1000 parts"));
	clamav_scan_text(node, "From: a@b\r\nSubject: unit\r\n\r\nnothing to see\r\n", &r);
	ck_assert_int_eq(r.status, SCAN_DONE);
	ck_assert(!r.virus);
	clamfeed_last(&stats);	/* the text libclamav took out with its line ends changed: not scanned again */
	ck_assert_uint_eq(stats.blobs, 1);
	ck_assert_uint_eq(stats.scanned, 0);
	free(t.p);
	g_free(first);
	g_free(rest);
	engine_clamav.close(node);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* libclamav inspects whole every message the policy accepts; never less than its own defaults. */
START_TEST(clamav_limits_from_the_policy)
{
	uint64_t file, scan;

	clamav_limits(128u << 20, &file, &scan);
	ck_assert_uint_eq(file, 128u << 20);
	ck_assert_uint_eq(scan, 512u << 20);
	clamav_limits(10u << 20, &file, &scan);	/* an archive entry may be larger than the message */
	ck_assert_uint_eq(file, 100u << 20);
	ck_assert_uint_eq(scan, 400u << 20);
	clamav_limits((uint64_t)64 << 30, &file, &scan);	/* libclamav's own ceiling */
	ck_assert_uint_eq(file, (uint64_t)INT_MAX - 2);
}
END_TEST

/* The scan service's heads: what one end writes the other reads, and nothing else passes. */
START_TEST(service_wire_format)
{
	static const char *const types[] = { "application/x-dosexec", "application/zip" };
	struct service_request req = { 51200, true, { types[0], types[1] }, 2 }, back;
	struct service_reply reply = { .ok = true, .virus_scanning = true, .spam_scanning = true }, parsed;
	char head[SERVICE_HEAD_MAX], *text = malloc(SERVICE_REPLY_MAX);
	const char *why;

	ck_assert_uint_gt(service_request_head(&req, head, sizeof(head)), 0);
	ck_assert_int_eq(service_request_parse(head, &back, &why), 0);
	ck_assert(back.size == 51200 && back.want_spam && back.ntypes == 2);
	ck_assert_str_eq(back.types[1], "application/zip");
	strcpy(head, "HOSTSCAN/1\nsize: 10\nspam: 2\n\n");
	ck_assert_int_eq(service_request_parse(head, &back, &why), -1);
	strcpy(head, "HOSTSCAN/1\nspam: 1\n");	/* no size, no blank line */
	ck_assert_int_eq(service_request_parse(head, &back, &why), -1);
	reply.outcome.spam_scored = true;
	reply.outcome.score = 12.5;
	reply.outcome.required = 5;
	strcpy(reply.outcome.rules, "HOSTMILTER_TEST_12");
	strcpy(reply.outcome.virus_engines, "clamav");
	reply.attachments_read = true;
	reply.attachments.ntypes = 1;
	strcpy(reply.attachments.types[0].type, "application/x-dosexec");
	strcpy(reply.attachments.types[0].filename, "a\tb\n.exe");	/* a sender's name cannot add lines */
	ck_assert_uint_gt(service_reply_format(&reply, text, SERVICE_REPLY_MAX), 0);
	ck_assert_int_eq(service_reply_parse(text, &parsed), 0);
	ck_assert(parsed.ok && parsed.virus_scanning && parsed.spam_scanning && parsed.attachments_read);
	ck_assert(parsed.outcome.spam_scored && parsed.outcome.score == 12.5);
	ck_assert_str_eq(parsed.attachments.types[0].filename, "a?b?.exe");
	ck_assert(!parsed.attachments.incomplete);
	text[strlen(text) - 1] = '\0';	/* cut short: no blank line */
	ck_assert_int_eq(service_reply_parse(text, &parsed), -1);
	ck_assert_int_eq(service_reply_parse("HOSTSCAN/1 ok\nvirus: x\nbogus: 1\n\n", &parsed), -1);
	ck_assert_int_eq(service_reply_parse("HOSTSCAN/1 error busy\n\n", &parsed), -1);
	ck_assert_ptr_nonnull(strstr(parsed.error, "busy"));
	ck_assert_uint_eq(service_reply_format(&reply, text, 64), 0);	/* never sent with a line left out */
	free(text);
}
END_TEST

START_TEST(conf_scanner_lines)
{
	struct hm_conf conf;
	struct conf_errors errors;

	ck_assert_int_eq(conf_parse("t", "Scanner clamav\nScanner clamd tcp:10.0.0.1:3310\nScanner clamd unix:/run/c.sock\n"
					 "scanner spamd tls:spam1:783\nScanner rspamd http://r1:11333\nScanTimeout 30\n"
					 "OnScannerFailure accept\nSpoolMemory 512K\n",
				    &conf, &errors),
			 0);
	ck_assert_uint_eq(conf.nscanners, 5);
	ck_assert_str_eq(conf.scanners[1].engine, "clamd");
	ck_assert_str_eq(conf.scanners[2].address, "unix:/run/c.sock");
	ck_assert_int_eq(conf.on_scanner_failure, CONF_FAILURE_ACCEPT);
	ck_assert_int_eq(conf.spool_memory, 512 * 1024);
	ck_assert_int_eq(conf_parse("t", "Scanner clamd\nScanner avast tcp:1:2\nScanner clamav extra\n"
					 "ScanTimeout 9999\nOnScannerFailure maybe\n",
				    &conf, &errors),
			 -1);
	ck_assert_uint_eq(errors.count, 5);
	ck_assert_ptr_nonnull(strstr(errors.text[0], "t:1:"));
}
END_TEST

START_TEST(poison_counts_by_digest_and_forgets_the_oldest)
{
	static struct poison_table table;
	uint8_t a[POISON_DIGEST_LEN] = { 1 }, b[POISON_DIGEST_LEN] = { 2 };

	ck_assert_uint_eq(poison_note(&table, a), 1);
	ck_assert_uint_eq(poison_note(&table, b), 1);
	ck_assert_uint_eq(poison_note(&table, a), 2);
	ck_assert_uint_eq(poison_note(&table, a), 3);
	for (unsigned i = 0; i < POISON_MAX; i++) {	/* as many new contents as the table holds */
		uint8_t d[POISON_DIGEST_LEN] = { 9 };

		memcpy(d + 1, &i, sizeof(i));
		ck_assert_uint_eq(poison_note(&table, d), 1);
	}
	ck_assert_uint_eq(table.n, POISON_MAX);
	ck_assert_uint_eq(poison_note(&table, a), 1);	/* the oldest went first */
}
END_TEST

/* A clamav-only scanner set over a one-signature database in dir. */
static struct scanners *
workers_test_scanners(char *dir, struct hm_conf *conf, const char *infected)
{
	char err[300];
	struct scanners *scanners;

	unit_signature_db(dir, infected);
	conf_defaults(conf);
	ck_assert_int_eq(conf_parse("t", "Scanner clamav\nScanMaxSize 10M\nScanTimeout 30\n", conf,
				    &(struct conf_errors){ 0 }), 0);
	snprintf(conf->clamav_database, sizeof(conf->clamav_database), "%s", dir);
	snprintf(conf->spool_directory, sizeof(conf->spool_directory), "%s", dir);
	scanners = scanners_open(conf, err, sizeof(err));
	ck_assert_msg(scanners != NULL, "%s", err);
	return scanners;
}

/* The directory workers_test_scanners made, with its database. */
static void
workers_test_remove(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/unit.hdb", dir);
	unlink(path);
	rmdir(dir);
}

static enum workers_status
workers_test_scan(struct workers *w, struct scanners *scanners, const char *text, struct scan_outcome *o,
		  struct attach_report *report)
{
	struct spool *spool = spool_of(text);
	struct attach_want want = { NULL, 0, 0 };
	enum workers_status status = workers_scan_message(w, scanners, &(struct scan_job){ .spool = spool }, &want,
							  net_now_ms() + 30000, "unit", o, report);

	spool_free(spool);
	return status;
}

/* The children of this process (of its main thread, which forked them), as /proc lists them. */
static unsigned
workers_test_children(void)
{
	char path[64], buf[4096];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fscanf(f, "%4095s", buf) == 1)
		n++;
	fclose(f);
	return n;
}

/* Until the supervisor has replaced every lost worker (it looks once a second). */
static void
workers_test_settle(struct workers *w, unsigned n, uint64_t restarts)
{
	struct workers_counts c;
	uint64_t until = net_now_ms() + 20000;

	do {
		usleep(20000);
		workers_counts(w, &c);
	} while ((c.alive != n || c.restarts != restarts) && net_now_ms() < until);
	ck_assert_uint_eq(c.alive, n);
	ck_assert_uint_eq(c.restarts, restarts);
}

START_TEST(workers_answer_and_survive_their_deaths)
{
	const char *infected = "Subject: unit\r\n\r\nhostmilter unit-test signature\r\n";
	const char *crash = "Received: from a by b id 1\r\n\tfor <x@y>; Sun, 6 Dec 2026 20:00:00 +0000\r\n"
			    "Subject: unit\r\nX-Hostmilter-Test-Fault: crash\r\n\r\nboom\r\n";
	/* Its retry: Sendmail's new Received field and a Message-ID of its own, the same content. */
	const char *retry = "Received: from a by b id 2\r\n\tfor <x@y>; Sun, 6 Dec 2026 20:05:00 +0000\r\n"
			    "Subject: unit\r\nMessage-ID: <2@b>\r\nX-Hostmilter-Test-Fault: crash\r\n\r\nboom\r\n";
	const char *cpu = "Subject: unit\r\nX-Hostmilter-Test-Fault: cpu\r\n\r\nspin\r\n";
	char dir[] = "/tmp/check-workers.XXXXXX";
	struct workers_settings settings = { 2, 1UL << 30, 1, true, false };
	struct attach_report *report = calloc(1, sizeof(*report));
	struct scan_outcome o;
	struct workers_counts c;
	struct hm_conf conf;
	struct scanners *scanners = workers_test_scanners(dir, &conf, infected);
	struct workers *w;
	char err[300];

	w = workers_start(scanners, &settings, err, sizeof(err));
	ck_assert_msg(w != NULL, "%s", err);
	/* An answer: libclamav's verdict and the walk's report, from the worker. */
	ck_assert_int_eq(workers_test_scan(w, scanners, infected, &o, report), WORKERS_DONE);
	ck_assert(o.virus);
	ck_assert_ptr_nonnull(strstr(o.virus_name, "Hostmilter.Unit.Test"));
	ck_assert_uint_ge(report->nparts, 1);
	ck_assert(!report->failed && !report->incomplete);
	/* A worker that crashes costs its message a failure, the first time... */
	ck_assert_int_eq(workers_test_scan(w, scanners, crash, &o, report), WORKERS_LOST);
	ck_assert(o.virus_failed && !o.virus_incomplete && !o.virus);
	ck_assert(report->failed);
	/* ...and the same content the second time is uninspectable. */
	ck_assert_int_eq(workers_test_scan(w, scanners, retry, &o, report), WORKERS_POISON);
	ck_assert(o.virus_incomplete && !o.virus_failed);
	ck_assert(report->incomplete);
	/* Past its CPU limit, SIGXCPU: another content, a failure. */
	ck_assert_int_eq(workers_test_scan(w, scanners, cpu, &o, report), WORKERS_LOST);
	ck_assert(o.virus_failed);
	workers_test_settle(w, 2, 3);
	/* The three ways a message reaches a worker: inline (above), a memfd, the spool's own file. */
	{
		struct spool *big = spool_new("/tmp", 1 << 20), *file = spool_new("/tmp", 16);
		char line[1001];

		memset(line, 'x', 998);
		memcpy(line + 998, "\r\n", 3);
		ck_assert_int_eq(spool_append(big, "Subject: big\r\n\r\n", 17), 0);
		for (int i = 0; i < 100; i++)
			ck_assert_int_eq(spool_append(big, line, 1000), 0);
		ck_assert_int_eq(spool_append(big, infected + 15, strlen(infected) - 15), 0);
		ck_assert_int_eq(spool_append(file, infected, strlen(infected)), 0);
		ck_assert_int_eq(spool_fd(file) >= 0, 1);
		ck_assert_int_eq(workers_scan_message(w, scanners, &(struct scan_job){ .spool = big }, NULL,
						      net_now_ms() + 30000, "unit", &o, report), WORKERS_DONE);
		ck_assert(!o.virus && !o.virus_failed);
		ck_assert_int_eq(workers_scan_message(w, scanners, &(struct scan_job){ .spool = file }, NULL,
						      net_now_ms() + 30000, "unit", &o, report), WORKERS_DONE);
		ck_assert(o.virus);
		spool_free(big);
		spool_free(file);
	}
	/* A worker that hangs is killed at the deadline and its grace: no wait outlives them. */
	{
		struct spool *hang = spool_of("Subject: unit\r\nX-Hostmilter-Test-Fault: hang\r\n\r\nzzz\r\n");
		uint64_t start = net_now_ms();

		ck_assert_int_eq(workers_scan_message(w, scanners, &(struct scan_job){ .spool = hang }, NULL,
						      start + 300, "unit", &o, report), WORKERS_LOST);
		ck_assert_uint_ge(net_now_ms() - start, 300 + WORKERS_GRACE_MS);
		ck_assert_uint_lt(net_now_ms() - start, 300 + WORKERS_GRACE_MS + 3000);
		ck_assert(o.virus_failed);
		spool_free(hang);
	}
	workers_test_settle(w, 2, 4);
	/* Every worker, the first ones and the replacements, is the fork server's child, not this process's. */
	ck_assert_uint_eq(workers_test_children(), 1);
	/* The others keep answering. */
	ck_assert_int_eq(workers_test_scan(w, scanners, "Subject: x\r\n\r\nclean\r\n", &o, report), WORKERS_DONE);
	ck_assert(!o.virus && !o.virus_failed);
	workers_counts(w, &c);
	ck_assert_uint_eq(c.lost, 4);
	ck_assert_uint_eq(c.poison, 1);
	workers_stop(w);
	scanners_close(scanners);
	free(report);
	workers_test_remove(dir);
}
END_TEST

START_TEST(workers_absent_scan_in_this_thread)
{
	const char *infected = "Subject: unit\r\n\r\nhostmilter unit-test signature\r\n";
	char dir[] = "/tmp/check-workers.XXXXXX";
	struct attach_report *report = calloc(1, sizeof(*report));
	struct scan_outcome o;
	struct hm_conf conf;
	struct scanners *scanners = workers_test_scanners(dir, &conf, infected);

	ck_assert_int_eq(workers_test_scan(NULL, scanners, infected, &o, report), WORKERS_DONE);
	ck_assert(o.virus);
	ck_assert_uint_ge(report->nparts, 1);
	scanners_close(scanners);
	free(report);
	workers_test_remove(dir);
}
END_TEST

START_TEST(conf_scan_worker_keys)
{
	struct hm_conf conf;
	struct conf_errors errors = { 0 };

	ck_assert_int_eq(conf_parse("t", "Scanner clamav\n", &conf, &errors), 0);
	ck_assert_int_eq(conf.scan_workers, 4);
	ck_assert_int_eq(conf.scan_worker_memory, 1L << 30);
	ck_assert(!conf.scan_worker_faults);
	ck_assert_str_eq(conf.scan_temporary_directory, "");
	ck_assert_int_eq(conf_parse("t", "Scanner clamav\nScanWorkers 0\nScanWorkerMemory 256M\n"
					 "ScanTemporaryDirectory /run/hostmilter/scan\n", &conf, &errors), 0);
	ck_assert_int_eq(conf.scan_workers, 0);
	ck_assert_int_eq(conf.scan_worker_memory, 256L << 20);
	ck_assert_str_eq(conf.scan_temporary_directory, "/run/hostmilter/scan");
	memset(&errors, 0, sizeof(errors));
	ck_assert_int_eq(conf_parse("t", "Scanner clamav\nScanWorkers 257\nScanWorkerMemory 1M\nScanWorkers -1\n",
				    &conf, &errors), -1);
	ck_assert_uint_eq(errors.count, 3);
}
END_TEST

static Suite *
scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("scan");

	tcase_add_test(tc, spool_moves_to_a_nameless_file);
	tcase_add_test(tc, spool_failure_is_sticky);
	tcase_add_test(tc, spool_expect_is_only_a_hint);
	tcase_add_test(tc, clamd_replies);
	tcase_add_test(tc, spamd_replies);
	tcase_add_test(tc, rspamd_replies);
	tcase_add_test(tc, rspamd_head_whole);
	tcase_add_test(tc, scanner_rules_whole_names);
	tcase_add_test(tc, scanners_engines_named_once);
	tcase_add_test(tc, cluster_retries_and_opens_breakers);
	tcase_add_test(tc, cluster_all_down_fails_fast);
	tcase_add_test(tc, attach_names_true_types_in_nested_parts);
	tcase_add_test(tc, attach_parts_cap);
	tcase_add_test(tc, attach_depth_cap);
	tcase_add_test(tc, attach_types_cap);
	tcase_add_test(tc, attach_unreadable_or_ambiguous);
	tcase_add_test(tc, attach_file_spool_read_to_the_end);
	tcase_add_test(tc, attach_executable_by_structure);
	tcase_add_test(tc, lenient_decoders);
	tcase_add_test(tc, magicset_longest_types_fit);
	tcase_add_test(tc, attach_opens_embedded_messages);
	tcase_add_test(tc, attach_decodes_uuencoded_text);
	tcase_add_test(tc, attach_reads_every_content_type);
	tcase_add_test(tc, attach_reads_outlook_tnef);
	tcase_add_test(tc, attach_opens_an_archive_that_starts_like_a_message);
	tcase_add_test(tc, attach_unopened_containers);
	tcase_add_test(tc, attach_decodes_binhex);
	tcase_add_test(tc, magicset_agrees_with_the_whole_database);
	tcase_add_test(tc, magicset_looks_at_text_when_wanted);
	tcase_add_test(tc, verdict_per_recipient);
	tcase_add_test(tc, verdict_per_message);
	tcase_add_test(tc, verdict_fails_closed_on_uninspected_parts);
	tcase_add_test(tc, verdict_encrypted_content);
	tcase_add_test(tc, marks_for_delivery);
	tcase_add_test(tc, marks_unscanned);
	tcase_add_test(tc, marks_never_call_unscanned_clean);
	tcase_add_test(tc, scanners_virus_engines_never_skip);
	tcase_add_test(tc, conf_scanner_lines);
	tcase_add_test(tc, clamav_limits_from_the_policy);
	tcase_add_test(tc, service_wire_format);
	tcase_add_test(tc, clamav_scans_in_process);
	tcase_add_test(tc, poison_counts_by_digest_and_forgets_the_oldest);
	tcase_add_test(tc, conf_scan_worker_keys);
	tcase_add_test(tc, workers_absent_scan_in_this_thread);
	tcase_add_test(tc, clamav_scans_what_the_walk_decodes);
	suite_add_tcase(s, tc);
	tc = tcase_create("workers");
	tcase_set_timeout(tc, 120);	/* a worker spins a CPU second past its limit */
	tcase_add_test(tc, workers_answer_and_survive_their_deaths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(scan_suite());
	int failed;

	attach_init();
	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	attach_shutdown();
	return failed ? 1 : 0;
}
