/*
 * hostmapgen - compiles a control panel's export into Sendmail's virtmaps,
 * aliases, access and sendmail.cw (text and Berkeley DB) and hostmilter's
 * policy database.  See hostmapgen(8) and hostmapgen-export(5).
 *
 * Exit status: 0 done (--dry-run, --diff: nothing would change), 1 invalid
 * export (nothing written), 2 usage, 3 I/O or lock failure (nothing
 * changed), 4 partly installed (a rename failed after others succeeded;
 * the message names both sets), 5 installed but the reload command failed
 * or timed out (the next run runs it again), 6 --dry-run or --diff: the
 * export is valid and files would change.
 *
 * Whatever happens is said once, at the end (outcome.h): as text, or with
 * --format json as one document on stdout.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "diff.h"
#include "emit.h"
#include "explain.h"
#include "export.h"
#include "install.h"
#include "msg.h"
#include "outcome.h"
#include "reload.h"
#include "safefile.h"
#include "size.h"
#include "validate.h"

enum {
	EXIT_DONE = 0,
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
	EXIT_IO = 3,
	EXIT_PARTIAL = 4,
	EXIT_RELOAD = 5,
	EXIT_WOULD_CHANGE = 6,
};

/* Defaults of --max-export-size, --lock-timeout and --reload-timeout (hostmapgen(8)). */
#define EXPORT_CAP_DEFAULT ((uint64_t)1 << 30)
#define LOCK_TIMEOUT_DEFAULT 120
#define RELOAD_TIMEOUT_DEFAULT 60
#define TIMEOUT_MAX 86400

struct options {
	const char *dir;
	const char *layout;
	const char *reload_cmd;
	const char *export_path;
	const char *mta_user;		/* NULL: MTA_USER when that user exists */
	uint64_t export_cap;
	unsigned lock_timeout, reload_timeout;
	bool check, diff, dry_run, quiet, json, explain;
	char **subject;		/* --explain's operands */
	int nsubject;
};

/* What this run found and did, said once at its end. */
static struct outcome out;

struct layout_names {
	const char *virtuser, *aliases, *access, *cw;
};

static const struct layout_names layouts[] = {
	{ "virtmaps", "aliases", "access", "sendmail.cw" },			/* hostnet */
	{ "virtusertable", "aliases", "access", "local-host-names" },	/* debian */
};

#define MAILERTABLE "mailertable"
#define MAILERS_FILE "hostmilter-mailers.m4"

#define AUTOCONFIG_FILE "autoconfig.db"

/* The files, in install_add order: texts before hostmilter.db, the mailers and autoconfig.db. */
enum { FILE_VIRTUSER, FILE_ALIASES, FILE_ACCESS, FILE_CW, FILE_MAILERTABLE, FILE_POLICY, FILE_MAILERS,
       FILE_AUTOCONFIG };

static bool show_progress;
static bool show_timing;	/* HOSTMAPGEN_TIMING set: one line per stage, for benchmarks */

static void
timing(const char *stage)
{
	static gint64 start;
	struct rusage usage;
	gint64 now = g_get_monotonic_time();

	if (!start)
		start = now;
	getrusage(RUSAGE_SELF, &usage);
	fprintf(stderr, "%s: timing: %8.3f s  cpu %7.3f s  maxrss %6ld MB  %s\n", msg_progname(),
		(double)(now - start) / 1e6, (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
		+ (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6, usage.ru_maxrss / 1024, stage);
}

static void
progress(const char *stage)
{
	if (show_timing)
		timing(stage);
	else if (show_progress)
		fprintf(stderr, "\r\033[K%s: %s...", msg_progname(), stage);
}

static void
progress_done(void)
{
	if (show_timing)
		timing("done");
	else if (show_progress)
		fprintf(stderr, "\r\033[K");
}

/* Says what the run found and did, and exits with status. */
static void __attribute__((noreturn))
finish(int status)
{
	progress_done();
	exit(outcome_finish(&out, status));
}

/* A failure of the run itself (no place in the export): said, and the run ends with status. */
static void __attribute__((noreturn, format(printf, 3, 4)))
stop(int status, enum report_code code, const char *fmt, ...)
{
	char text[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	report_add(&out.report, code, "", "%s", text);
	finish(status);
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: hostmapgen [-o DIR] [--layout hostnet|debian] [--check] [--diff] [--dry-run]\n"
		"                  [--format text|json] [--reload-cmd CMD] [--reload-timeout SECONDS]\n"
		"                  [--lock-timeout SECONDS] [--max-export-size SIZE] [--mta-user USER] [-q] EXPORT|-\n"
		"       hostmapgen [-o DIR] [--layout hostnet|debian] [--format text|json]\n"
		"                  --explain ADDRESS|IP|auth USER|cert ISSUER [SUBJECT]\n"
		"       hostmapgen -h|--help | -V|--version\n"
		"  -o DIR          write the maps into DIR (default /etc/mail)\n"
		"  --layout NAME   file names: hostnet (virtmaps, sendmail.cw) or debian\n"
		"                  (virtusertable, local-host-names)\n"
		"  --check         validate the export only\n"
		"  --dry-run       say which files would change; write nothing (exit 6 when some would)\n"
		"  --diff          say what would change in every file, object by object; write nothing\n"
		"  --format F      text (default) or json: one JSON document on stdout\n"
		"  --explain ...   what the installed files do with an address, a client's IP address,\n"
		"                  an AUTH user or a client certificate; reads the files, not an export\n"
		"  --reload-cmd C  run C (with /bin/sh) when sendmail.cw or hostmilter-mailers.m4\n"
		"                  changed, until it succeeds\n"
		"  --reload-timeout SECONDS\n"
		"                  kill the reload command after SECONDS (default 60)\n"
		"  --lock-timeout SECONDS\n"
		"                  give up after waiting SECONDS for another run's lock (default 120)\n"
		"  --max-export-size SIZE\n"
		"                  refuse a larger export (default 1G)\n"
		"  --mta-user USER trust USER's files and directories as root's (default\n"
		"                  " MTA_USER " when that user exists; \"\" for none)\n"
		"  -q, --quiet     no summary line\n"
		"  -h, --help      this text\n"
		"  -V, --version   the version\n"
		"Exit status: 0 done, 1 invalid export, 2 usage, 3 I/O or lock failure, 4 partly\n"
		"installed, 5 reload failed, 6 files would change (--dry-run, --diff).\n");
	if (status && out.json) {
		report_add(&out.report, RC_USAGE, "", "usage error; see hostmapgen --help");
		exit(outcome_finish(&out, status));
	}
	exit(status);
}

/* A usage error: said, then the usage. */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (out.json)
		report_add(&out.report, RC_USAGE, "", "%s", text);
	msg_error("%s", text);
	usage(EXIT_USAGE);
}

static unsigned
parse_seconds(const char *option, const char *text)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value > TIMEOUT_MAX)
		bad_usage("%s: \"%s\" is no number of seconds from 0 to %d", option, text, TIMEOUT_MAX);
	return (unsigned)value;
}

static uint64_t
parse_size(const char *option, const char *text)
{
	uint64_t bytes;
	const char *why;

	if (size_parse(text, &bytes, &why) < 0)
		bad_usage("%s: %s", option, why);
	return bytes;
}

/* --format json anywhere on the line: even a usage error is then said as JSON. */
static bool
wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--format=json") == 0 || (strcmp(argv[i], "--format") == 0 && i + 1 < argc
							     && strcmp(argv[i + 1], "json") == 0))
			return true;
	return false;
}

static const char *
mode_of(const struct options *opts)
{
	if (opts->explain)
		return "explain";
	if (opts->diff)
		return "diff";
	if (opts->dry_run)
		return "dry-run";
	return opts->check ? "check" : "install";
}

/* The operands: the export, or what --explain explains. */
static void
parse_operands(int argc, char **argv, struct options *opts)
{
	if (opts->explain) {
		if (opts->check || opts->diff || opts->dry_run || opts->reload_cmd)
			bad_usage("--explain reads the installed files; it takes no --check, --diff, --dry-run or --reload-cmd");
		opts->subject = argv + optind;
		opts->nsubject = argc - optind;
		if (opts->nsubject < 1 || opts->nsubject > 3)
			bad_usage("--explain needs an address, an IP address, \"auth USER\" or \"cert ISSUER [SUBJECT]\"");
		return;
	}
	if (optind != argc - 1)
		bad_usage(optind == argc ? "no export given (a file, or - for standard input)" : "more than one export given");
	opts->export_path = argv[optind];
}

static void
parse_options(int argc, char **argv, struct options *opts)
{
	static const struct option longopts[] = {
		{ "layout", required_argument, NULL, 'L' }, { "check", no_argument, NULL, 'c' },
		{ "diff", no_argument, NULL, 'd' }, { "dry-run", no_argument, NULL, 'n' },
		{ "reload-cmd", required_argument, NULL, 'r' }, { "quiet", no_argument, NULL, 'q' },
		{ "reload-timeout", required_argument, NULL, 'R' }, { "lock-timeout", required_argument, NULL, 'l' },
		{ "max-export-size", required_argument, NULL, 'm' }, { "format", required_argument, NULL, 'F' },
		{ "explain", no_argument, NULL, 'E' }, { "mta-user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opts = (struct options){ .dir = "/etc/mail", .layout = "hostnet", .export_cap = EXPORT_CAP_DEFAULT,
				  .lock_timeout = LOCK_TIMEOUT_DEFAULT, .reload_timeout = RELOAD_TIMEOUT_DEFAULT,
				  .json = wants_json(argc, argv) };
	outcome_init(&out, "install", opts->json, false);
	while ((c = getopt_long(argc, argv, "o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': opts->dir = optarg; break;
		case 'L': opts->layout = optarg; break;
		case 'c': opts->check = true; break;
		case 'd': opts->diff = true; break;
		case 'n': opts->dry_run = true; break;
		case 'r': opts->reload_cmd = optarg; break;
		case 'R': opts->reload_timeout = parse_seconds("--reload-timeout", optarg); break;
		case 'l': opts->lock_timeout = parse_seconds("--lock-timeout", optarg); break;
		case 'm': opts->export_cap = parse_size("--max-export-size", optarg); break;
		case 'U': opts->mta_user = optarg; break;
		case 'q': opts->quiet = true; break;
		case 'E': opts->explain = true; break;
		case 'F':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				bad_usage("unknown format \"%s\" (text or json)", optarg);
			break;
		case 'h': out.json = false; usage(EXIT_DONE);
		case 'V': printf("hostmapgen %s\n", PACKAGE_VERSION); exit(EXIT_DONE);
		default: usage(EXIT_USAGE);
		}
	}
	parse_operands(argc, argv, opts);
	if (strcmp(opts->layout, "hostnet") != 0 && strcmp(opts->layout, "debian") != 0)
		bad_usage("unknown layout \"%s\" (hostnet or debian)", opts->layout);
	/* --check with --diff or --dry-run: those check the export too, and say more. */
	out.mode = mode_of(opts);
	out.quiet = opts->quiet;
}

/*
 * Whom the checks trust besides root and this user: the MTA's own user,
 * which owns /etc/mail on Debian (smmta) and can rewrite Sendmail's
 * configuration anyway.  Named with --mta-user, it must exist; the
 * built-in default counts only where it exists.
 */
static void
set_trust(const struct options *opts)
{
	const char *name = opts->mta_user ? opts->mta_user : MTA_USER;
	const struct passwd *pw = name[0] ? getpwnam(name) : NULL;
	struct safefile_trust trust;

	safefile_trust_init(&trust, geteuid(), getegid());
	if (pw)
		safefile_trust_mta(&trust, pw->pw_uid, name);
	else if (opts->mta_user && name[0])
		msg_fatal(EXIT_USAGE, "--mta-user %s: no such user", name);
	safefile_set_trust(&trust);
}

static const struct layout_names *
layout_of(const char *name)
{
	return strcmp(name, "debian") == 0 ? &layouts[1] : &layouts[0];
}

/*
 * HOSTMAPGEN_TEST_ACCEPTED=DIR (the test suite's hook): each export that
 * passes the checks of reading and validation is copied into DIR, named by
 * its digest, so that the tests can hold it against the JSON Schema
 * (lib.sh, done_testing).  Written in place, without the rename of
 * g_file_set_contents: tests count this program's renames (strace).
 */
static void
keep_accepted(const char *data, size_t len)
{
	const char *dir = getenv("HOSTMAPGEN_TEST_ACCEPTED");
	char digest[EXPORT_DIGEST_LEN], *path;
	int fd;

	if (!dir || !*dir)
		return;
	export_digest(data, len, digest);
	path = g_strdup_printf("%s/%s.json", dir, digest);
	if (g_mkdir_with_parents(dir, 0700) == 0
	    && (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		if (write(fd, data, len) != (ssize_t)len)
			msg_warn("HOSTMAPGEN_TEST_ACCEPTED: cannot write %s", path);
		close(fd);
	}
	g_free(path);
}

/* Reads and checks the export; ends the run (1) when it is invalid. */
static struct mg_export *
load_export(const struct options *opts, const char *data, size_t len)
{
	struct mg_export *export = NULL;
	const char *name = strcmp(opts->export_path, "-") == 0 ? "(stdin)" : opts->export_path;

	progress("reading the export");
	if (export_read(data, len, name, &export, &out.report) == 0) {
		progress("checking the export");
		validate_export(export, &out.report);
		outcome_count(&out, export);
	}
	if (out.report.errors->len) {
		model_free(export);
		finish(EXIT_INVALID);
	}
	keep_accepted(data, len);
	return export;
}

struct generated {
	struct textmap virtuser, aliases, access, cw, mailertable;
	struct policy_records records;
	struct policy_records autoconfig;
	unsigned deferred_routes;	/* written as tempfail: their mailer waits for sendmail.cf */
};

/* The installed text maps, read for their admin lines; ends the run (3) when one cannot be. */
static void
load_maps(struct generated *gen, struct install_set *set, const struct layout_names *names)
{
	struct textmap *maps[] = { &gen->virtuser, &gen->aliases, &gen->access, &gen->cw, &gen->mailertable };
	char err[512];

	textmap_init(&gen->virtuser, names->virtuser, TEXTMAP_MAKEMAP, false);
	textmap_init(&gen->aliases, names->aliases, TEXTMAP_ALIASES, true);
	textmap_init(&gen->access, names->access, TEXTMAP_MAKEMAP, true);
	textmap_init(&gen->cw, names->cw, TEXTMAP_CLASS, true);
	textmap_init(&gen->mailertable, MAILERTABLE, TEXTMAP_MAKEMAP, true);
	for (unsigned i = 0; i < 5; i++) {
		maps[i]->report = &out.report;
		if (textmap_load(maps[i], set->files[i].path, err, sizeof(err)) < 0)
			stop(EXIT_IO, RC_BROKEN_MAP, "%s; nothing changed", err);
	}
}

/* The mailer names an installed file names (parse: emit_mailers_named, emit_mailers_routed); none when unreadable. */
static GHashTable *
mailers_in(const struct install_file *file, size_t cap, GHashTable *(*parse)(const char *text))
{
	char *text = NULL;
	size_t len;
	GHashTable *names;

	if (safefile_read(file->path, cap, &text, &len, NULL, 0) != SAFEFILE_OK)
		return g_hash_table_new(g_str_hash, g_str_equal);
	names = parse(text);
	g_free(text);
	return names;
}

/* The mailer names the installed hostmilter-mailers.m4 defines. */
static GHashTable *
installed_mailers(const struct install_set *set)
{
	return mailers_in(&set->files[FILE_MAILERS], 1 << 20, emit_mailers_named);
}

/* The mailer names the installed mailertable's generated block routes by. */
static GHashTable *
routed_mailers(const struct install_set *set)
{
	return mailers_in(&set->files[FILE_MAILERTABLE], 1 << 30, emit_mailers_routed);
}

/*
 * The mailers the running Sendmail has: those of the installed
 * hostmilter-mailers.m4 once a reload has covered it.  While it is due (it
 * just changed, its reload command failed, or routes wait for it without
 * --reload-cmd: see run_reload), only the mailers the installed
 * mailertable already routes by, so that a mailer this run or an earlier
 * one added stays out until the reload command has rebuilt sendmail.cf,
 * and the routes Sendmail could take all along stay as they were.
 */
static GHashTable *
active_mailers(const struct install_set *set)
{
	const struct install_file *file = &set->files[FILE_MAILERS];
	char *now = state_identity(file->path);
	bool installed = now != NULL, reloaded = now && !state_reload_due(&set->old, file->name, now);

	g_free(now);
	if (!installed)
		return g_hash_table_new(g_str_hash, g_str_equal);	/* no mailer of ours is known */
	return reloaded ? installed_mailers(set) : routed_mailers(set);
}

/* A mailers file that defines none, replacing one that defined none, changes nothing in sendmail.cf. */
static bool
mailers_need_reload(const struct install_set *set, const GString *text)
{
	GHashTable *before = installed_mailers(set), *after = emit_mailers_named(text->str);
	bool need = g_hash_table_size(before) || g_hash_table_size(after);

	g_hash_table_destroy(before);
	g_hash_table_destroy(after);
	return need;
}

/* emit_policy and, when writing, the start of hostmilter.db's build, on a thread of their own. */
struct policy_job {
	const struct mg_export *export;
	struct generated *gen;
	struct install_set *set;
	bool writing;
	struct mg_report report;	/* its own: reports are made on one thread at a time */
};

static gpointer
run_policy_job(gpointer data)
{
	struct policy_job *job = data;

	if (emit_policy(job->export, &job->gen->records, &job->report) == 0 && job->writing)
		install_start_policy(job->set, &job->gen->records);
	return NULL;
}

/* autoconfig.db's records, on a thread of their own: like every emitter they only read the model. */
struct autoconfig_job {
	const struct mg_export *export;
	struct policy_records *records;
};

static gpointer
autoconfig_job_run(gpointer data)
{
	struct autoconfig_job *job = data;

	emit_autoconfig(job->export, job->records);
	return NULL;
}

/*
 * hostmilter.db first: its records and its build are the longest part, so
 * they run on a thread of their own (and the build on another, from
 * install_start_policy) while the text maps are generated on this one:
 * on two cores, 1,000,000 addresses make 1,310,000 records, over a third
 * of a full run's CPU time.  Every emitter only reads the model.
 */
static void
generate(const struct mg_export *export, struct generated *gen, struct install_set *set, bool writing)
{
	struct textmap *maps[] = { &gen->virtuser, &gen->aliases, &gen->access, &gen->cw, &gen->mailertable };
	struct policy_job job = { export, gen, set, writing, { 0 } };
	struct autoconfig_job autoconfig = { export, &gen->autoconfig };
	GHashTable *active;
	GThread *policy, *autoconfig_thread;

	report_init(&job.report);
	set->files[FILE_POLICY].records = &gen->records;
	set->files[FILE_AUTOCONFIG].records = &gen->autoconfig;
	policy = g_thread_new("policy", run_policy_job, &job);
	/* Where the text maps finish before hostmilter.db's records, its core was idle: autoconfig.db fills it. */
	autoconfig_thread = g_thread_new("autoconfig", autoconfig_job_run, &autoconfig);
	progress("generating virtmaps");
	emit_virtmaps(export, &gen->virtuser);
	progress("generating aliases");
	emit_aliases(export, &gen->aliases);
	progress("generating access");
	emit_access(export, &gen->access, &out.report);
	emit_cw(export, &gen->cw);
	progress("generating mailertable");
	active = active_mailers(set);
	gen->deferred_routes = emit_mailertable(export, active, &gen->mailertable);
	g_hash_table_destroy(active);
	set->files[FILE_MAILERS].text = emit_mailers(export);
	set->files[FILE_MAILERS].reload = mailers_need_reload(set, set->files[FILE_MAILERS].text);
	for (unsigned i = 0; i < 5; i++) {
		set->files[i].text = textmap_render(maps[i]);
		textmap_free(maps[i]);
	}
	/* This core would wait for hostmilter.db's records: it builds virtmaps.db and the rest meanwhile. */
	if (writing)
		install_start_texts(set);
	progress("generating autoconfig.db");
	g_thread_join(autoconfig_thread);
	progress("generating the policy database");
	g_thread_join(policy);
	report_merge(&out.report, &job.report);
	report_free(&job.report);
	if (out.report.errors->len) {
		install_abandon(set);
		finish(EXIT_INVALID);
	}
}

static void
register_files(struct install_set *set, const struct layout_names *names)
{
	install_add(set, names->virtuser, TEXTMAP_MAKEMAP, true);
	/* Debian's /etc/mail/aliases is a link to ../aliases: the text goes where it points. */
	install_add(set, names->aliases, TEXTMAP_ALIASES, true)->follow_link = names == &layouts[1];
	install_add(set, names->access, TEXTMAP_MAKEMAP, true);
	install_add(set, names->cw, TEXTMAP_CLASS, false)->reload = true;	/* Sendmail rereads it only when reloaded */
	install_add(set, MAILERTABLE, TEXTMAP_MAKEMAP, true);
	install_add(set, "hostmilter.db", TEXTMAP_CLASS, true)->policy = true;
	/* Whole, no admin lines; a change needs sendmail.cf rebuilt, which the reload command does. */
	install_add(set, MAILERS_FILE, TEXTMAP_CLASS, false)->reload = true;
	/* What mail clients are told (hostautoconfig); records like hostmilter.db's. */
	install_add(set, AUTOCONFIG_FILE, TEXTMAP_CLASS, true)->policy = true;
}

/* The files this run changed (or would change), into the outcome. */
static void
list_changes(const struct install_set *set)
{
	out.compared = true;
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];
		char *db = file->policy ? g_strdup(file->name) : g_strconcat(file->name, ".db", NULL);

		if (file->text_changed && !file->policy)
			outcome_file(&out, file->name);
		if (file->db_changed)
			outcome_file(&out, db);
		g_free(db);
	}
}

/*
 * Sendmail rereads some files (sendmail.cw) only when reloaded.  Whatever
 * run installed them, the reload is due until one covers them: a reload
 * command that exits 0 in time, or, without --reload-cmd, the notice that
 * hands it to the admin.  Runs after a failed one keep trying.  While
 * routes wait for new mailers (deferred), the notice does not cover
 * hostmilter-mailers.m4: only a reload command vouches that sendmail.cf
 * has them, and a later run taking the notice for the rebuild would turn
 * the routes' 451 into 554 (unknown mailer).
 */
static int
run_reload(const struct options *opts, struct install_set *set, unsigned deferred)
{
	GString *due = g_string_new(NULL);
	char why[256], *notice;
	int status = EXIT_DONE;

	if (install_reload_due(set, due) == 0) {
		g_string_free(due, TRUE);
		return EXIT_DONE;
	}
	if (!opts->reload_cmd) {
		if (strstr(due->str, MAILERS_FILE))
			notice = g_strdup_printf("%s changed: rebuild sendmail.cf (m4 sendmail.mc) and restart sendmail%s",
						 due->str, deferred ? "; routes that need its new mailers tempfail until "
						 "hostmapgen runs with a --reload-cmd that does so" : "");
		else
			notice = g_strdup_printf("%s changed: Sendmail reads it only at start; restart sendmail or send it "
						 "SIGHUP", due->str);
		outcome_reload(&out, due->str, NULL, "left to the admin", notice);
		g_free(notice);
		if (deferred)
			install_reload_keep_due(set, MAILERS_FILE);
		install_reload_covered(set);
	} else {
		install_pause("reloading", NULL);
		if (reload_run(opts->reload_cmd, opts->reload_timeout, why, sizeof(why)) == 0) {
			install_reload_covered(set);
			outcome_reload(&out, due->str, opts->reload_cmd, "done", "");
		} else {
			outcome_reload(&out, due->str, opts->reload_cmd, "failed", why);
			report_add(&out.report, RC_RELOAD_FAILED, "", "reload command \"%s\" failed (%s); the new %s %s in "
				   "place, and the next run runs the command again", opts->reload_cmd, why, due->str,
				   strchr(due->str, ' ') ? "are" : "is");
			status = EXIT_RELOAD;
		}
	}
	g_string_free(due, TRUE);
	return status;
}

/* A rename failed after others succeeded: say exactly what is where. */
static void
tell_partly_installed(const struct install_set *set, const char *err)
{
	GString *installed = g_string_new(NULL), *missing = g_string_new(NULL);

	install_list(set, true, installed);
	install_list(set, false, missing);
	report_add(&out.report, RC_PARTLY_INSTALLED, "", "%s; partly installed: new:%s; still old:%s; run hostmapgen "
		   "again once the cause is mended", err, installed->str, missing->str);
	g_string_free(installed, TRUE);
	g_string_free(missing, TRUE);
}

/* Installs, reloads what needs it, records the state; the exit status.  deferred: see run_reload. */
static int
install_and_reload(const struct options *opts, struct install_set *set, unsigned deferred)
{
	char err[1024];
	enum install_result result = install_commit(set, err, sizeof(err));
	int status;

	progress_done();
	if (result == INSTALL_NOTHING)
		stop(EXIT_IO, RC_INSTALL_FAILED, "%s; nothing changed", err);
	list_changes(set);
	if (result == INSTALL_PARTIAL)
		tell_partly_installed(set, err);
	status = run_reload(opts, set, deferred);
	install_record(set);
	return result == INSTALL_PARTIAL ? EXIT_PARTIAL : status;
}

/* --check: what only generating finds too (an address reaching too many mailboxes, an access key clash). */
static int
check_only(const struct options *opts, const char *data, size_t len)
{
	struct mg_export *export = load_export(opts, data, len);
	struct policy_records records = { 0 };
	struct textmap access;

	progress("generating, to check");
	emit_policy(export, &records, &out.report);
	emit_policy_records_free(&records);
	textmap_init(&access, "access", TEXTMAP_MAKEMAP, true);
	emit_access(export, &access, &out.report);
	textmap_free(&access);
	model_free(export);
	return out.report.errors->len ? EXIT_INVALID : EXIT_DONE;
}

/* Generates, compares and installs; *deferred gets the routes written as tempfail. */
static int
apply(const struct options *opts, struct install_set *set, const struct mg_export *export, unsigned *deferred)
{
	struct generated gen = { 0 };
	bool writing = !opts->diff && !opts->dry_run;
	int status = EXIT_DONE;

	load_maps(&gen, set, layout_of(opts->layout));
	generate(export, &gen, set, writing);
	progress("comparing with the installed files");
	install_compare(set);
	if (!writing) {
		list_changes(set);
		if (opts->diff) {
			progress("listing the changes");
			out.changes = diff_changes(set);
		}
		status = out.files->len ? EXIT_WOULD_CHANGE : EXIT_DONE;
	} else {
		progress("writing");
		/* Deferred routes are not final: the next run, whatever its export, writes them again. */
		set->partial = gen.deferred_routes > 0;
		status = install_and_reload(opts, set, gen.deferred_routes);
	}
	*deferred = gen.deferred_routes;
	emit_policy_records_free(&gen.records);
	emit_policy_records_free(&gen.autoconfig);
	return status;
}

/* The export, at most --max-export-size of it; ends the run (3) when unreadable, (1) when too large. */
static char *
read_export(const struct options *opts, size_t *len)
{
	char *data = NULL, err[1024];

	switch (safefile_read_export(opts->export_path, opts->export_cap > SIZE_MAX ? SIZE_MAX : opts->export_cap,
				     &data, len, err, sizeof(err))) {
	case SAFEFILE_OK:
		return data;
	case SAFEFILE_TOO_LARGE:
		stop(EXIT_INVALID, RC_EXPORT_TOO_LARGE, "%s (--max-export-size); nothing written", err);
	default:
		stop(EXIT_IO, RC_EXPORT_UNREADABLE, "%s", err);
	}
}

/* Nothing to install; a reload may still be due from an earlier run. */
static int
unchanged(const struct options *opts, struct install_set *set, bool writing)
{
	int status = EXIT_DONE;

	out.compared = true;
	if (opts->diff)
		out.changes = json_array();
	if (writing) {
		status = run_reload(opts, set, 0);	/* unchanged: the last run deferred no route */
		if (g_hash_table_size(set->reload_covered))
			install_record(set);
	}
	return status;
}

/*
 * One run under the lock.  A route on a new port names a mailer the
 * running Sendmail lacks until the reload command rebuilds sendmail.cf, so
 * the first pass writes such routes as tempfail (emit_mailertable); when
 * its reload covered hostmilter-mailers.m4, a second pass writes them for
 * real.  *data (the raw export) is freed once it is parsed.
 */
static int
run(const struct options *opts, const char *digest, char **data, size_t len, struct mg_export **export, bool second)
{
	struct install_set set;
	bool writing = !opts->diff && !opts->dry_run, again;
	unsigned deferred = 0;
	char err[1024];
	int status;

	install_init(&set, opts->dir, opts->layout, digest);
	set.report = &out.report;
	if (safefile_check_dir(opts->dir, err, sizeof(err)) < 0)
		stop(EXIT_IO, RC_UNSAFE_FILE, "%s; nothing changed", err);
	if (install_lock(&set, opts->lock_timeout, err, sizeof(err)) < 0)
		stop(EXIT_IO, RC_LOCK_FAILED, "%s; nothing changed", err);
	install_pause(second ? "relocked" : "locked", NULL);
	install_clean_stale(&set);
	register_files(&set, layout_of(opts->layout));
	if (install_survey(&set, writing, err, sizeof(err)) < 0)
		stop(EXIT_IO, RC_UNSAFE_FILE, "%s; nothing changed", err);
	if (!second && install_unchanged(&set)) {
		status = unchanged(opts, &set, writing);
		deferred = 1;	/* not known without generating: a second pass finds out */
	} else {
		if (!*export) {
			*export = load_export(opts, *data, len);
			g_free(*data);
			*data = NULL;
		}
		/* A second pass adds what it writes again to what the first changed: a run that changed
		 * twelve files says twelve, not only the routes it wrote last. */
		status = apply(opts, &set, *export, &deferred);
	}
	/* Without --reload-cmd nobody vouches for sendmail.cf: its routes wait for a run with one. */
	again = !second && status == EXIT_DONE && writing && deferred && opts->reload_cmd
		&& g_hash_table_contains(set.reload_covered, MAILERS_FILE);
	install_free(&set);
	if (again) {
		progress("the reload covered " MAILERS_FILE ": writing the routes it activates");
		status = run(opts, digest, data, len, export, true);
	} else if (deferred && writing && status != EXIT_IO && status != EXIT_PARTIAL && *export)
		report_add(&out.report, RC_ROUTES_DEFERRED, "", "%u route%s wait%s for sendmail.cf to be rebuilt (their "
			   "mailers are new in %s): Sendmail tempfails their mail until %s", deferred, deferred == 1 ? "" : "s",
			   deferred == 1 ? "s" : "", MAILERS_FILE, opts->reload_cmd ? "the reload command succeeds"
			   : "hostmapgen runs with a --reload-cmd that rebuilds it");
	return status;
}

/* --explain: from the installed files of the layout, under no lock (each is replaced whole, by rename). */
static int
explain(const struct options *opts)
{
	const struct layout_names *names = layout_of(opts->layout);
	struct explain_files files = { opts->dir, names->virtuser, names->aliases, names->access, names->cw,
				       MAILERTABLE, "hostmilter.db", AUTOCONFIG_FILE };
	char err[1024];

	if (explain_subject(&files, opts->nsubject, opts->subject, &out.explain, &out.explain_text, err,
			    sizeof(err)) < 0)
		stop(EXIT_IO, RC_POLICY_UNREADABLE, "%s", err);
	return EXIT_DONE;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct mg_export *export = NULL;
	char *data, digest[EXPORT_DIGEST_LEN];
	size_t len;
	int status;

	export_use_arenas();	/* before anything made of jansson */
	msg_init(argv[0]);
	parse_options(argc, argv, &opts);
	set_trust(&opts);
	if (opts.explain)
		finish(explain(&opts));
	show_progress = isatty(STDERR_FILENO) && !opts.quiet && !opts.json;
	show_timing = getenv("HOSTMAPGEN_TIMING") != NULL;
	progress("start");
	data = read_export(&opts, &len);
	if (opts.check && !opts.diff && !opts.dry_run) {
		status = check_only(&opts, data, len);
		g_free(data);
		finish(status);
	}
	export_digest(data, len, digest);
	status = run(&opts, digest, &data, len, &export, false);
	model_free(export);
	g_free(data);
	finish(status);
}
