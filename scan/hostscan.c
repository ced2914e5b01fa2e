/*
 * hostscan - hostmilter's scanners from the command line, and for a
 * user's procmail.
 *
 * Reads hostmilter.conf (its Scanner lines, ScanTimeout, OnScannerFailure,
 * ScanService) and applies the rules of hostscan_rules: with -r ADDRESS,
 * that recipient's rules from PolicyDB, resolved key by key exactly as
 * hostmilter resolves them (its mailbox's, else its domain's, else the
 * defaults; policydb_recipient), and a tempfail (75) when PolicyDB or the
 * recipient's records cannot be read, since the wrong rules would be
 * worse than none; without -r, the default policy of PolicyDB when that
 * is readable -- the export's defaults -- else the built-in defaults.  A message on stdin is spooled in $TMPDIR (or /tmp), in a
 * file with no name past SpoolMemory (libclamav unpacks there too, when
 * it runs here), and scanned exactly as hostmilter
 * scans it: by the running hostmilter when ScanService names its socket
 * (no ClamAV database in this process, nothing in the milter's spool:
 * what an ordinary user's LDA needs), else by the engines of the Scanner
 * lines in this process.
 *
 * Without --filter the verdict is printed (exit 0 clean, 1 spam, 2 virus,
 * 3 blocked type, 4 refused uninspected -- the uninspectable or encrypted
 * policy --, 75 failure).  With --filter the message is written back
 * with hostmilter's marks in place of any copies the sender wrote, and
 * the exit status is 0 once it is written, whatever the verdict (procmail
 * delivers the unfiltered original on any other status: "Rescue of
 * unfiltered data"), 75 only when it could not be scanned (and nothing is
 * written) or not written.  Configuration and usage errors exit 78 and 64
 * (sysexits).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "attach.h"
#include "conf.h"
#include "marks.h"
#include "msg.h"
#include "policydb.h"
#include "scanners.h"
#include "service.h"
#include "spool.h"
#include "verdict.h"

#define EXIT_SPAM 1
#define EXIT_VIRUS 2
#define EXIT_BLOCKED 3
#define EXIT_UNINSPECTED 4	/* refused by the uninspectable or encrypted policy */
#define EXIT_USAGE 64
#define EXIT_TEMPFAIL 75
#define EXIT_CONFIG 78
#define HOSTSCAN_SERVICE_SLACK_S 30	/* beyond ScanTimeout, for the message to travel to the service */

struct hostscan {
	struct hm_conf conf;
	struct policy_rules rules;	/* what the verdict applies: hostscan_rules */
	struct scanners *scanners;	/* the engines here; NULL when ScanService scans */
	struct spool *spool;
	struct service_reply result;	/* from the service, or from the engines here */
	struct verdict verdict;
	struct message_verdict message;
};

/* -h and --help: the usage on stdout and 0; a usage error: on stderr and EXIT_USAGE. */
static void
usage_to(FILE *out, int status)
{
	fprintf(out, "usage: hostscan [-c CONF] [-r|--recipient ADDRESS] [--filter] < MESSAGE\n"
		     "       hostscan -V | -h|--help\n"
		     "  -c CONF        hostmilter's configuration (default /etc/mail/hostmilter.conf)\n"
		     "  -r, --recipient ADDRESS\n"
		     "                 judge by this recipient's rules in PolicyDB\n"
		     "  --filter       write the message back with hostmilter's headers\n"
		     "  -V             the version; -h, --help: this text\n"
		     "Exit status: 0 clean (--filter: written), 1 spam, 2 virus, 3 blocked type,\n"
		     "64 usage, 75 could not scan, 78 configuration.\n");
	exit(status);
}

static void
usage(void)
{
	usage_to(stderr, EXIT_USAGE);
}

/* A recipient's rules: 0, or -1 (said why) when they cannot be known. */
static int
hostscan_recipient_rules(struct hostscan *h, const struct policydb *db, const char *address)
{
	struct addr_envelope rcpt;
	struct policy_recipient recipient;
	int rc;

	addr_envelope_parse(address, &rcpt);
	rc = policydb_recipient(db, rcpt.local, rcpt.domain, &recipient);
	if (rc == 0)
		h->rules = recipient.rules;
	else
		msg_error("%s: the policy of %s cannot be read", h->conf.policy_db, address);
	policydb_recipient_free(&recipient);
	return rc;
}

/* The one place the rules come from (see the top of this file); -1 when a recipient's cannot be read. */
static int
hostscan_rules(struct hostscan *h, const char *recipient)
{
	struct policydb *db;
	char err[300];
	int rc = 0;

	policy_rules_default(&h->rules);
	if (!(db = policydb_open(h->conf.policy_db, err, sizeof(err)))) {
		if (recipient)
			msg_error("%s; the policy of %s is unknown", err, recipient);
		return recipient ? -1 : 0;
	}
	h->rules = *policydb_defaults(db);
	if (recipient)
		rc = hostscan_recipient_rules(h, db, recipient);
	policydb_close(db);
	return rc;
}

/* The user's own temporary directory: the milter's spool is not this user's to write. */
static const char *
hostscan_tmpdir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && dir[0] == '/' ? dir : "/tmp";
}

/* 0, -1 a configuration error (78), -2 the recipient's policy unknown (75). */
static int
hostscan_load(struct hostscan *h, const char *conf_path, const char *recipient)
{
	struct conf_errors errors;
	char err[300];

	if (conf_load(conf_path, &h->conf, &errors) < 0) {
		for (unsigned i = 0; i < errors.count; i++)
			msg_error("%s", errors.text[i]);
		return -1;
	}
	if (hostscan_rules(h, recipient) < 0)
		return -2;
	if (h->conf.scan_service[0])
		return 0;	/* hostmilter scans: no engine, no libmagic here */
	/* libclamav unpacks where this user may write, not in the milter's spool */
	snprintf(h->conf.spool_directory, sizeof(h->conf.spool_directory), "%s", hostscan_tmpdir());
	attach_init();
	if (!(h->scanners = scanners_open(&h->conf, err, sizeof(err)))) {
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

	h->spool = spool_new(hostscan_tmpdir(), (size_t)h->conf.spool_memory);
	if (!h->spool)
		return -1;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || spool_append(h->spool, buf, (size_t)n) < 0) {
			msg_error("cannot spool the message in %s: %s", hostscan_tmpdir(), strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The engines of the Scanner lines, in this process. */
static void
hostscan_scan_here(struct hostscan *h, const struct service_request *req)
{
	struct scan_job job = { .spool = h->spool, .want_spam = req->want_spam };
	struct attach_want want = { req->types, req->ntypes, 0 };
	struct service_reply *r = &h->result;
	char err[300];

	scanners_scan(h->scanners, &job, net_now_ms() + (uint64_t)h->conf.scan_timeout * 1000, &r->outcome);
	r->attachments_read = req->ntypes > 0;
	if (r->attachments_read && attach_scan(h->spool, &want, &r->attachments, err, sizeof(err)) < 0)
		msg_warn("%s", err);
	r->virus_scanning = scanners_any(h->scanners, SCAN_KIND_VIRUS);
	r->spam_scanning = scanners_any(h->scanners, SCAN_KIND_SPAM);
	r->ok = true;
}

static void
hostscan_scan(struct hostscan *h)
{
	struct service_request req = { spool_size(h->spool), h->rules.spam.scan, { NULL }, h->rules.ntypes };
	struct verdict_facts facts = { &h->result.outcome, NULL, &h->rules, false,
				       h->conf.on_scanner_failure == CONF_FAILURE_ACCEPT };
	uint64_t deadline = net_now_ms() + (uint64_t)(h->conf.scan_timeout + HOSTSCAN_SERVICE_SLACK_S) * 1000;

	for (size_t i = 0; i < req.ntypes; i++)
		req.types[i] = h->rules.blocked_types[i];
	if (!h->scanners && service_scan(h->conf.scan_service, h->spool, &req, deadline, &h->result) < 0) {
		h->result.virus_scanning = true;	/* so that a failure accepted is marked as one */
		h->result.outcome.virus_failed = true;
		snprintf(h->result.outcome.failure, sizeof(h->result.outcome.failure), "%s", h->result.error);
	} else if (h->scanners)
		hostscan_scan_here(h, &req);
	facts.attachments = h->result.attachments_read ? &h->result.attachments : NULL;
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
	if (verdict_refuses(v) && (strcmp(v->rule, "uninspectable") == 0 || strcmp(v->rule, "encrypted") == 0))
		return EXIT_UNINSPECTED;
	if (strcmp(v->rule, "virus") == 0)
		return EXIT_VIRUS;
	return strcmp(v->rule, "spam") == 0 ? EXIT_SPAM : 0;
}

static const char *
hostscan_blocked(const struct hostscan *h)
{
	return h->result.attachments_read ? verdict_blocked_type(&h->result.attachments, &h->rules) : NULL;
}

static void
hostscan_print(const struct hostscan *h)
{
	const struct scan_outcome *o = &h->result.outcome;
	const char *blocked = hostscan_blocked(h);

	if (h->verdict.action == VERDICT_TEMPFAIL)
		printf("tempfail: %s\n", h->verdict.failure ? h->verdict.failure : "the message could not be scanned");
	else if (o->virus && (!blocked || strcmp(h->verdict.rule, "virus") == 0))
		printf("virus: %s\n", o->virus_name);	/* the verdict's reason first: the exit status says virus */
	else if (blocked)
		printf("blocked: %s\n", blocked);
	else if (strcmp(h->verdict.rule, "uninspectable") == 0 || strcmp(h->verdict.rule, "encrypted") == 0)
		printf("%s: %s\n", h->verdict.rule, h->verdict.unscanned ? h->verdict.unscanned : h->verdict.text);
	else if (strcmp(h->verdict.rule, "spam") == 0)
		printf("spam: score=%.1f required=%.1f tests=%s\n", o->score, o->required, o->rules);
	else if (o->spam_scored)
		printf("clean: score=%.1f required=%.1f\n", o->score, o->required);
	else
		printf("clean\n");
	if (h->verdict.failure && h->verdict.action != VERDICT_TEMPFAIL)
		printf("accepted by OnScannerFailure: %s\n", h->verdict.failure);
	if (o->skipped[0] && h->result.spam_scanning)
		printf("skipped: %s\n", o->skipped);
}

/* ---- --filter: the message back, marked ---- */

struct hostscan_filter {
	uint64_t offset;	/* in the spool */
	bool mid_line;		/* the piece read next continues a line */
	bool dropping;		/* the current header is a sender's copy of a mark */
	bool virus_marks, spam_marks;	/* which marks hostscan writes, so which copies go */
	const char *tag;	/* for the Subject, or NULL */
	const struct marks *marks;	/* still to be written: at the end of the header block */
};

/* hostmilter's marks, where Sendmail puts a filter's added headers: after the sender's. */
static void
hostscan_write_marks(struct hostscan_filter *f)
{
	for (unsigned i = 0; f->marks && i < f->marks->n; i++)
		printf("%s: %s\n", f->marks->mark[i].name, f->marks->mark[i].value);
	f->marks = NULL;
}

/*
 * A header line's start (or a piece of a long one): whether it is one of
 * the marks (dropped), or the Subject to tag.  The tag goes in front of the
 * value, which is written as it came, however long and however folded.
 */
static void
hostscan_header_start(struct hostscan_filter *f, const char *line, size_t len, bool whole)
{
	char name[80];
	size_t n = strcspn(line, ":\r\n"), v, taglen;

	(void)whole;
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : 0), line);
	f->dropping = marks_owned(name, f->virus_marks, f->spam_marks) >= 0;
	if (f->dropping)
		return;
	if (f->tag && strcasecmp(name, "Subject") == 0 && n < len && line[n] == ':') {
		v = n + 1 + strspn(line + n + 1, " \t");
		taglen = strlen(f->tag);
		if (!(len - v >= taglen && strncasecmp(line + v, f->tag, taglen) == 0)) {
			printf("Subject: %s%s", f->tag, v < len && line[v] != '\r' && line[v] != '\n' ? " " : "");
			fwrite(line + v, 1, len - v, stdout);
			return;
		}
	}
	fwrite(line, 1, len, stdout);
}

/* One piece of the header block (a line, or as much of a long one as was read); false after the blank line. */
static bool
hostscan_header_piece(struct hostscan_filter *f, const char *p, size_t len, bool whole)
{
	bool start = !f->mid_line;

	f->mid_line = !whole;
	if (start && (p[0] == '\n' || (p[0] == '\r' && len > 1 && p[1] == '\n'))) {
		hostscan_write_marks(f);
		fwrite(p, 1, len, stdout);	/* the blank line: the body follows */
		return false;
	}
	if (start && p[0] != ' ' && p[0] != '\t')
		hostscan_header_start(f, p, len, whole);
	else if (!f->dropping)
		fwrite(p, 1, len, stdout);	/* a folded line, or the rest of a long one */
	return true;
}

/*
 * The headers: an mbox From_ line first, the sender's headers without its
 * marks, then hostmilter's marks.  Not the marks first: a message whose
 * first header line starts with white space would fold it into the last
 * mark ("X-Virus-Status: Clean From: ...").
 */
static int
hostscan_filter_headers(struct hostscan_filter *f, const struct spool *spool, const struct marks *marks)
{
	char buf[1024];
	ssize_t n;
	bool more = true, first = true;

	f->marks = marks;
	while (more && (n = spool_read(spool, f->offset, buf, sizeof(buf))) > 0) {
		const char *nl = memchr(buf, '\n', (size_t)n);
		size_t len = nl ? (size_t)(nl - buf) + 1 : (size_t)n;

		if (first && len > 5 && strncmp(buf, "From ", 5) == 0) {
			fwrite(buf, 1, len, stdout);
			f->mid_line = nl == NULL;
		} else
			more = hostscan_header_piece(f, buf, len, nl != NULL);
		first = false;
		f->offset += len;
	}
	if (f->marks && f->mid_line)
		printf("\n");	/* a message that ends inside its headers */
	hostscan_write_marks(f);
	return n < 0 ? -1 : 0;
}

/* A filter passes every message on: spam the policy would refuse is still marked as spam. */
static int
hostscan_filter(struct hostscan *h)
{
	struct hostscan_filter f = { 0 };
	struct marks_facts facts = { &h->result.outcome, &h->message, h->result.virus_scanning,
				     h->result.spam_scanning, hostscan_blocked(h) };
	struct marks marks;
	char buf[65536];
	ssize_t n = 0;

	if (strcmp(h->verdict.rule, "spam") == 0) {
		h->message.spam_tag = true;
		h->message.subject_tag = h->rules.spam.subject_tag[0] ? h->rules.spam.subject_tag : NULL;
	}
	marks_build(&facts, &marks);
	f.virus_marks = facts.virus_scanning || h->rules.ntypes > 0;
	f.spam_marks = facts.spam_scanning;
	f.tag = h->message.spam_tag ? h->message.subject_tag : NULL;
	if (hostscan_filter_headers(&f, h->spool, &marks) < 0)
		return -1;
	while ((n = spool_read(h->spool, f.offset, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		f.offset += (uint64_t)n;
	}
	return fflush(stdout) == 0 && !ferror(stdout) && n == 0 ? 0 : -1;
}

/*
 * The scan, with standard output closed to what the libraries print:
 * libytnef reports a damaged winmail.dat with printf, which would land in
 * the middle of the message --filter writes to standard output.
 */
static void
hostscan_scan_quietly(struct hostscan *h)
{
	int out = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	fflush(stdout);
	if (out >= 0 && null >= 0)
		dup2(null, STDOUT_FILENO);
	hostscan_scan(h);
	fflush(stdout);	/* what they printed goes to /dev/null, not into the message */
	if (out >= 0 && null >= 0)
		dup2(out, STDOUT_FILENO);
	if (out >= 0)
		close(out);
	if (null >= 0)
		close(null);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = { { "filter", no_argument, NULL, 'F' },
						 { "recipient", required_argument, NULL, 'r' },
						 { "help", no_argument, NULL, 'h' },
						 { NULL, 0, NULL, 0 } };
	struct hostscan *h = calloc(1, sizeof(*h));
	const char *conf_path = "/etc/mail/hostmilter.conf";	/* where hostmilter reads it */
	const char *recipient = NULL;
	struct addr_envelope parsed;
	bool filter = false;
	int opt, rc;

	msg_init("hostscan");
	while ((opt = getopt_long(argc, argv, "c:r:Vh", options, NULL)) != -1) {
		if (opt == 'c')
			conf_path = optarg;
		else if (opt == 'r') {
			addr_envelope_parse(optarg, &parsed);
			if (parsed.kind != ADDR_ENV_PLAIN) {
				msg_error("-r %s: not a plain mail address", optarg);
				usage();
			}
			recipient = optarg;
		} else if (opt == 'F')
			filter = true;
		else if (opt == 'h') {
			free(h);
			usage_to(stdout, 0);
		}
		else if (opt == 'V') {
			printf("hostscan %s\n", PACKAGE_VERSION);
			free(h);
			return 0;
		} else
			usage();
	}
	if (optind != argc || !h)
		usage();
	if ((rc = hostscan_load(h, conf_path, recipient)) < 0)
		return rc == -2 ? EXIT_TEMPFAIL : EXIT_CONFIG;
	if (hostscan_read(h) < 0)
		return EXIT_TEMPFAIL;
	hostscan_scan_quietly(h);
	rc = hostscan_exit_code(h);
	if (filter && rc == EXIT_TEMPFAIL)	/* procmail's log is where its user looks */
		msg_warn("not filtered: %s", h->verdict.failure ? h->verdict.failure : "the message could not be scanned");
	if (filter)
		rc = rc == EXIT_TEMPFAIL || hostscan_filter(h) < 0 ? EXIT_TEMPFAIL : 0;
	else
		hostscan_print(h);
	spool_free(h->spool);
	scanners_close(h->scanners);
	if (!h->conf.scan_service[0])
		attach_shutdown();
	free(h);
	return rc;
}
