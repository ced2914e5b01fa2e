/*
 * hostscan - hostmilter's scanners from the command line.
 *
 * Reads hostmilter.conf (its Scanner lines, ScanTimeout, OnScannerFailure)
 * and the default policy of its PolicyDB when that is readable -- the
 * export's defaults, as a message to an unknown recipient gets them --
 * else the built-in defaults.  A message on stdin is spooled and scanned
 * exactly as hostmilter scans it; the verdict is printed (exit 0 clean,
 * 1 spam, 2 virus, 3 blocked type, 75 scanner failure), or with --filter
 * the message is written back with the marking headers, for procmail.
 * Configuration and usage errors exit 78 and 64 (sysexits).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attach.h"
#include "conf.h"
#include "marks.h"
#include "msg.h"
#include "policydb.h"
#include "scanners.h"
#include "spool.h"
#include "verdict.h"

#define EXIT_SPAM 1
#define EXIT_VIRUS 2
#define EXIT_BLOCKED 3
#define EXIT_USAGE 64
#define EXIT_TEMPFAIL 75
#define EXIT_CONFIG 78

struct hostscan {
	struct hm_conf conf;
	struct policy_rules rules;
	struct scanners *scanners;
	struct spool *spool;
	struct scan_outcome outcome;
	struct attach_report attachments;
	struct verdict verdict;
	struct message_verdict message;
};

static void
usage(void)
{
	fprintf(stderr, "usage: hostscan [-c CONF] [--filter] < MESSAGE\n");
	exit(EXIT_USAGE);
}

static int
hostscan_load(struct hostscan *h, const char *conf_path)
{
	struct conf_errors errors;
	struct policydb *db;
	char err[300];

	if (conf_load(conf_path, &h->conf, &errors) < 0) {
		for (unsigned i = 0; i < errors.count; i++)
			msg_error("%s", errors.text[i]);
		return -1;
	}
	policy_rules_default(&h->rules);
	if ((db = policydb_open(h->conf.policy_db, err, sizeof(err)))) {
		h->rules = *policydb_defaults(db);
		policydb_close(db);
	}
	h->scanners = scanners_open(&h->conf, err, sizeof(err));
	if (!h->scanners) {
		msg_error("%s", err);
		return -1;
	}
	return 0;
}

static int
hostscan_read(struct hostscan *h)
{
	char buf[65536];
	ssize_t n;

	h->spool = spool_new(h->conf.spool_directory, (size_t)h->conf.spool_memory);
	if (!h->spool)
		return -1;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || spool_append(h->spool, buf, (size_t)n) < 0) {
			msg_error("cannot spool the message: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void
hostscan_scan(struct hostscan *h)
{
	struct scan_job job = { .spool = h->spool, .want_spam = h->rules.spam.scan };
	struct verdict_facts facts = { &h->outcome, NULL, &h->rules, false,
				       h->conf.on_scanner_failure == CONF_FAILURE_ACCEPT };
	char err[300];

	if (h->rules.ntypes > 0) {
		const char *types[POLICY_TYPES_MAX];
		struct attach_want want = { types, h->rules.ntypes };

		for (unsigned i = 0; i < h->rules.ntypes; i++)
			types[i] = h->rules.blocked_types[i];
		if (attach_scan(h->spool, &want, &h->attachments, err, sizeof(err)) < 0)
			msg_warn("%s", err);
		facts.attachments = &h->attachments;
	}
	scanners_scan(h->scanners, &job, net_now_ms() + (uint64_t)h->conf.scan_timeout * 1000, &h->outcome);
	verdict_for_rcpt(&facts, &h->verdict);
	verdict_for_message(&h->verdict, 1, &h->message);
}

static int
hostscan_exit_code(const struct hostscan *h)
{
	const struct verdict *v = &h->verdict;

	if (v->action == VERDICT_TEMPFAIL)
		return EXIT_TEMPFAIL;
	if (strcmp(v->rule, "blocked-type") == 0)
		return EXIT_BLOCKED;
	if (strcmp(v->rule, "virus") == 0)
		return EXIT_VIRUS;
	return strcmp(v->rule, "spam") == 0 ? EXIT_SPAM : 0;
}

static void
hostscan_print(const struct hostscan *h)
{
	const struct scan_outcome *o = &h->outcome;
	const char *blocked = verdict_blocked_type(&h->attachments, &h->rules);

	if (h->verdict.action == VERDICT_TEMPFAIL)
		printf("tempfail: %s\n", o->failure[0] ? o->failure : "attachments could not be examined");
	else if (blocked)
		printf("blocked: %s\n", blocked);
	else if (o->virus)
		printf("virus: %s\n", o->virus_name);
	else if (strcmp(h->verdict.rule, "spam") == 0)
		printf("spam: score=%.1f required=%.1f tests=%s\n", o->score, o->required, o->rules);
	else if (o->spam_scored)
		printf("clean: score=%.1f required=%.1f\n", o->score, o->required);
	else
		printf("clean\n");
	if (o->skipped[0])
		printf("skipped: %s\n", o->skipped);
}

/* The header block's lines, with the Subject line tagged when asked. */
static void
hostscan_write_headers(const char *head, size_t len, const char *tag)
{
	char subject[1024], tagged[1100];

	while (len > 0) {
		const char *nl = memchr(head, '\n', len);
		size_t line = nl ? (size_t)(nl - head) + 1 : len;

		if (tag && strncasecmp(head, "Subject:", 8) == 0 && line < sizeof(subject)) {
			size_t end = line;

			while (end > 8 && (head[end - 1] == '\n' || head[end - 1] == '\r'))
				end--;
			memcpy(subject, head + 8, end - 8);
			subject[end - 8] = '\0';
			marks_subject(subject, tag, tagged, sizeof(tagged));
			printf("Subject: %s%.*s", tagged, (int)(line - end), head + end);
		} else
			fwrite(head, 1, line, stdout);
		head += line;
		len -= line;
	}
}

/* A filter passes every message on: spam the policy would refuse is still marked as spam. */
static int
hostscan_filter(struct hostscan *h)
{
	struct marks marks;
	char buf[65536];
	uint64_t offset = 0, head_len;
	ssize_t n = spool_read(h->spool, 0, buf, sizeof(buf) - 1);
	char *end;

	if (strcmp(h->verdict.rule, "spam") == 0) {
		h->message.spam_tag = true;
		h->message.subject_tag = h->rules.spam.subject_tag[0] ? h->rules.spam.subject_tag : NULL;
	}
	marks_build(&h->outcome, &h->message, scanners_any(h->scanners, SCAN_KIND_VIRUS),
		    scanners_any(h->scanners, SCAN_KIND_SPAM), &marks);
	for (unsigned i = 0; i < marks.n; i++)
		printf("%s: %s\n", marks.mark[i].name, marks.mark[i].value);
	if (n > 0) {
		buf[n] = '\0';
		end = strstr(buf, "\n\n");
		if (!end || (strstr(buf, "\r\n\r\n") && strstr(buf, "\r\n\r\n") < end))
			end = strstr(buf, "\r\n\r\n");
		head_len = end ? (uint64_t)(end - buf) + 1 : 0;
		hostscan_write_headers(buf, (size_t)head_len, h->message.spam_tag ? h->message.subject_tag : NULL);
		offset = head_len;
	}
	while ((n = spool_read(h->spool, offset, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		offset += (uint64_t)n;
	}
	return fflush(stdout) == 0 && n == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = { { "filter", no_argument, NULL, 'F' },
						 { "help", no_argument, NULL, 'h' },
						 { NULL, 0, NULL, 0 } };
	struct hostscan *h = calloc(1, sizeof(*h));
	const char *conf_path = "/etc/mail/hostmilter.conf";	/* where hostmilter reads it */
	bool filter = false;
	int opt, rc;

	msg_init("hostscan");
	while ((opt = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
		if (opt == 'c')
			conf_path = optarg;
		else if (opt == 'F')
			filter = true;
		else if (opt == 'V') {
			printf("hostscan %s\n", PACKAGE_VERSION);
			free(h);
			return 0;
		} else
			usage();
	}
	if (optind != argc || !h)
		usage();
	attach_init();
	if (hostscan_load(h, conf_path) < 0)
		return EXIT_CONFIG;
	if (hostscan_read(h) < 0)
		return EXIT_TEMPFAIL;
	hostscan_scan(h);
	rc = hostscan_exit_code(h);
	if (filter ? hostscan_filter(h) < 0 : (hostscan_print(h), 0))
		rc = EXIT_TEMPFAIL;
	spool_free(h->spool);
	scanners_close(h->scanners);
	attach_shutdown();
	free(h);
	return rc;
}
