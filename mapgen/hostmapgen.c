/*
 * hostmapgen - compiles a control panel's export into Sendmail's virtmaps,
 * aliases, access and sendmail.cw (text and Berkeley DB) and hostmilter's
 * policy database.  See hostmapgen(8) and hostmapgen-export(5).
 *
 * Exit status: 0 done, 1 invalid export (nothing written), 2 usage,
 * 3 I/O or lock failure (nothing changed), 4 partly installed (a rename
 * failed after others succeeded; the message names both sets), 5 installed
 * but the reload command failed or timed out (the next run runs it again).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "emit.h"
#include "export.h"
#include "install.h"
#include "msg.h"
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
};

/* Defaults of --max-export-size, --lock-timeout and --reload-timeout (hostmapgen(8)). */
#define EXPORT_CAP_DEFAULT ((uint64_t)1 << 30)
#define LOCK_TIMEOUT_DEFAULT 120
#define RELOAD_TIMEOUT_DEFAULT 60
#define TIMEOUT_MAX 86400

/* How many errors are printed before the rest are only counted. */
#define ERRORS_SHOWN 200

struct options {
	const char *dir;
	const char *layout;
	const char *reload_cmd;
	const char *export_path;
	const char *mta_user;		/* NULL: MTA_USER when that user exists */
	uint64_t export_cap;
	unsigned lock_timeout, reload_timeout;
	bool check, diff, dry_run, quiet;
};

struct layout_names {
	const char *virtuser, *aliases, *access, *cw;
};

static const struct layout_names layouts[] = {
	{ "virtmaps", "aliases", "access", "sendmail.cw" },			/* hostnet */
	{ "virtusertable", "aliases", "access", "local-host-names" },	/* debian */
};

#define MAILERTABLE "mailertable"
#define MAILERS_FILE "hostmilter-mailers.m4"

/* The files, in install_add order: texts before hostmilter.db and the mailers. */
enum { FILE_VIRTUSER, FILE_ALIASES, FILE_ACCESS, FILE_CW, FILE_MAILERTABLE, FILE_POLICY, FILE_MAILERS };

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
	fprintf(stderr, "%s: timing: %8.3f s  maxrss %6ld MB  %s\n", msg_progname(),
		(double)(now - start) / 1e6, usage.ru_maxrss / 1024, stage);
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

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: hostmapgen [-o DIR] [--layout hostnet|debian] [--check] [--diff] [--dry-run]\n"
		"                  [--reload-cmd CMD] [--reload-timeout SECONDS] [--lock-timeout SECONDS]\n"
		"                  [--max-export-size SIZE] [--mta-user USER] [-q] EXPORT|-\n"
		"  -o DIR          write the maps into DIR (default /etc/mail)\n"
		"  --layout NAME   file names: hostnet (virtmaps, sendmail.cw) or debian\n"
		"                  (virtusertable, local-host-names)\n"
		"  --check         validate the export only\n"
		"  --diff          show what would change in the text maps; write nothing\n"
		"  --dry-run       say which files would change; write nothing\n"
		"  --reload-cmd C  run C (with /bin/sh) when sendmail.cw changed, until it succeeds\n"
		"  --reload-timeout SECONDS\n"
		"                  kill the reload command after SECONDS (default 60)\n"
		"  --lock-timeout SECONDS\n"
		"                  give up after waiting SECONDS for another run's lock (default 120)\n"
		"  --max-export-size SIZE\n"
		"                  refuse a larger export (default 1G)\n"
		"  --mta-user USER trust USER's files and directories as root's (default\n"
		"                  " MTA_USER " when that user exists; \"\" for none)\n"
		"  -q              no summary line\n");
	exit(status);
}

static unsigned
parse_seconds(const char *option, const char *text)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value > TIMEOUT_MAX) {
		msg_error("%s: \"%s\" is no number of seconds from 0 to %d", option, text, TIMEOUT_MAX);
		usage(EXIT_USAGE);
	}
	return (unsigned)value;
}

static uint64_t
parse_size(const char *option, const char *text)
{
	uint64_t bytes;
	const char *why;

	if (size_parse(text, &bytes, &why) < 0) {
		msg_error("%s: %s", option, why);
		usage(EXIT_USAGE);
	}
	return bytes;
}

static void
parse_options(int argc, char **argv, struct options *opts)
{
	static const struct option longopts[] = {
		{ "layout", required_argument, NULL, 'L' }, { "check", no_argument, NULL, 'c' },
		{ "diff", no_argument, NULL, 'd' }, { "dry-run", no_argument, NULL, 'n' },
		{ "reload-cmd", required_argument, NULL, 'r' }, { "quiet", no_argument, NULL, 'q' },
		{ "reload-timeout", required_argument, NULL, 'R' }, { "lock-timeout", required_argument, NULL, 'l' },
		{ "max-export-size", required_argument, NULL, 'm' }, { "mta-user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opts = (struct options){ .dir = "/etc/mail", .layout = "hostnet", .export_cap = EXPORT_CAP_DEFAULT,
				  .lock_timeout = LOCK_TIMEOUT_DEFAULT, .reload_timeout = RELOAD_TIMEOUT_DEFAULT };
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
		case 'h': usage(EXIT_DONE);
		case 'V': printf("hostmapgen %s\n", PACKAGE_VERSION); exit(EXIT_DONE);
		default: usage(EXIT_USAGE);
		}
	}
	if (optind != argc - 1)
		usage(EXIT_USAGE);
	opts->export_path = argv[optind];
	if (strcmp(opts->layout, "hostnet") != 0 && strcmp(opts->layout, "debian") != 0) {
		msg_error("unknown layout \"%s\" (hostnet or debian)", opts->layout);
		usage(EXIT_USAGE);
	}
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

static void
print_errors(const struct mg_report *report)
{
	guint shown = report->errors->len < ERRORS_SHOWN ? report->errors->len : ERRORS_SHOWN;

	progress_done();
	for (guint i = 0; i < shown; i++)
		msg_error("%s", (const char *)report->errors->pdata[i]);
	if (report->errors->len > shown)
		msg_error("... and %u more errors", report->errors->len - shown);
	msg_error("export is invalid (%u errors); nothing written", report->errors->len);
}

/* Reads and checks the export; exits 1 when it is invalid. */
static struct mg_export *
load_export(const struct options *opts, const char *data, size_t len)
{
	struct mg_export *export = model_new();
	struct mg_report report;
	const char *name = strcmp(opts->export_path, "-") == 0 ? "(stdin)" : opts->export_path;

	report_init(&report);
	progress("reading the export");
	if (export_parse(data, len, name, export, &report) == 0) {
		progress("checking the export");
		validate_export(export, &report);
	}
	if (report.errors->len) {
		print_errors(&report);
		exit(EXIT_INVALID);
	}
	report_free(&report);
	return export;
}

struct generated {
	struct textmap virtuser, aliases, access, cw, mailertable;
	struct policy_records records;
	unsigned deferred_routes;	/* written as tempfail: their mailer waits for sendmail.cf */
};

static int
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
		if (textmap_load(maps[i], set->files[i].path, err, sizeof(err)) < 0) {
			msg_error("%s; nothing changed", err);
			return -1;
		}
	}
	return 0;
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

/*
 * hostmilter.db first: its build is the longest, so when the files are to
 * be written it starts in a thread of its own while the text maps are
 * generated on this one (on two cores, 1,000,000 addresses make 1,310,000
 * records, over a third of a full run's CPU time).
 */
static void
generate(const struct mg_export *export, struct generated *gen, struct install_set *set, bool writing)
{
	struct mg_report report;
	struct textmap *maps[] = { &gen->virtuser, &gen->aliases, &gen->access, &gen->cw, &gen->mailertable };
	GHashTable *active;

	report_init(&report);
	progress("generating the policy database");
	if (emit_policy(export, &gen->records, &report)) {
		print_errors(&report);
		exit(EXIT_INVALID);
	}
	set->files[FILE_POLICY].records = &gen->records;
	if (writing)
		install_start_policy(set, &gen->records);
	progress("generating virtmaps");
	emit_virtmaps(export, &gen->virtuser);
	progress("generating aliases");
	emit_aliases(export, &gen->aliases);
	progress("generating access");
	emit_access(export, &gen->access, &report);
	emit_cw(export, &gen->cw);
	progress("generating mailertable");
	active = active_mailers(set);
	gen->deferred_routes = emit_mailertable(export, active, &gen->mailertable);
	g_hash_table_destroy(active);
	set->files[FILE_MAILERS].text = emit_mailers(export);
	set->files[FILE_MAILERS].reload = mailers_need_reload(set, set->files[FILE_MAILERS].text);
	if (report.errors->len) {
		install_abandon(set);
		print_errors(&report);
		exit(EXIT_INVALID);
	}
	report_free(&report);
	for (unsigned i = 0; i < 5; i++) {
		set->files[i].text = textmap_render(maps[i]);
		textmap_free(maps[i]);
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
}

static void
list_changes(const struct install_set *set, GString *out)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];

		if (file->text_changed)
			g_string_append_printf(out, " %s", file->name);
		if (file->db_changed && !file->policy)
			g_string_append_printf(out, " %s.db", file->name);
		if (file->db_changed && file->policy)
			g_string_append_printf(out, " %s", file->name);
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
	char why[256];
	int status = EXIT_DONE;

	if (install_reload_due(set, due) == 0) {
		g_string_free(due, TRUE);
		return EXIT_DONE;
	}
	if (!opts->reload_cmd) {
		if (strstr(due->str, MAILERS_FILE))
			msg_info("%s changed: rebuild sendmail.cf (m4 sendmail.mc) and restart sendmail%s", due->str,
				 deferred ? "; routes that need its new mailers tempfail until hostmapgen runs with a "
				 "--reload-cmd that does so" : "");
		else
			msg_info("%s changed: Sendmail reads it only at start; restart sendmail or send it SIGHUP", due->str);
		if (deferred)
			install_reload_keep_due(set, MAILERS_FILE);
		install_reload_covered(set);
	} else {
		install_pause("reloading", NULL);
		if (reload_run(opts->reload_cmd, opts->reload_timeout, why, sizeof(why)) == 0) {
			install_reload_covered(set);
		} else {
			msg_error("reload command \"%s\" failed (%s); the new %s %s in place, and the next run "
				  "runs the command again", opts->reload_cmd, why, due->str,
				  strchr(due->str, ' ') ? "are" : "is");
			status = EXIT_RELOAD;
		}
	}
	g_string_free(due, TRUE);
	return status;
}

static void
summary(const struct options *opts, const struct mg_export *export, const struct install_set *set,
	const char *verb)
{
	GString *changed = g_string_new(NULL);

	progress_done();
	if (opts->quiet)
		return;
	list_changes(set, changed);
	printf("hostmapgen: %u domains, %zu addresses, %u mailboxes, %u aliases; %u files %s%s%s\n",
	       export ? export->domains->len : 0, export ? export->naddresses : 0,
	       export ? export->mailboxes->len : 0, export ? export->aliases->len : 0,
	       install_changed_count(set), verb, changed->len ? ":" : "", changed->str);
	g_string_free(changed, TRUE);
}

/* A rename failed after others succeeded: say exactly what is where. */
static void
report_partial(const struct install_set *set, const char *err)
{
	GString *installed = g_string_new(NULL), *missing = g_string_new(NULL);

	install_list(set, true, installed);
	install_list(set, false, missing);
	msg_error("%s; partly installed: new:%s; still old:%s; run hostmapgen again once the cause is mended",
		  err, installed->str, missing->str);
	g_string_free(installed, TRUE);
	g_string_free(missing, TRUE);
}

/* Installs, reloads what needs it, records the state; the exit status.  deferred: see run_reload. */
static int
install_and_reload(const struct options *opts, const struct mg_export *export, struct install_set *set,
		   unsigned deferred)
{
	char err[1024];
	enum install_result result = install_commit(set, err, sizeof(err));
	int status;

	progress_done();
	if (result == INSTALL_NOTHING) {
		msg_error("%s; nothing changed", err);
		return EXIT_IO;
	}
	if (result == INSTALL_PARTIAL)
		report_partial(set, err);
	else
		summary(opts, export, set, "changed");
	status = run_reload(opts, set, deferred);
	install_record(set);
	return result == INSTALL_PARTIAL ? EXIT_PARTIAL : status;
}

static int
check_only(const struct options *opts, const char *data, size_t len)
{
	struct mg_export *export = load_export(opts, data, len);

	progress_done();
	if (!opts->quiet)
		printf("hostmapgen: export is valid: %u domains, %zu addresses, %u mailboxes, %u aliases\n",
		       export->domains->len, export->naddresses, export->mailboxes->len, export->aliases->len);
	model_free(export);
	return EXIT_DONE;
}

/* Generates, compares and installs; *deferred gets the routes written as tempfail. */
static int
apply(const struct options *opts, struct install_set *set, const struct mg_export *export, unsigned *deferred)
{
	struct generated gen = { 0 };
	int status = EXIT_DONE;

	if (load_maps(&gen, set, layout_of(opts->layout)) < 0)
		return EXIT_IO;
	generate(export, &gen, set, !opts->diff && !opts->dry_run);
	progress("comparing with the installed files");
	install_compare(set);
	if (opts->diff) {
		progress_done();
		install_diff(set);
	} else if (opts->dry_run) {
		summary(opts, export, set, "would change");
	} else {
		progress("writing");
		/* Deferred routes are not final: the next run, whatever its export, writes them again. */
		set->partial = gen.deferred_routes > 0;
		status = install_and_reload(opts, export, set, gen.deferred_routes);
	}
	*deferred = gen.deferred_routes;
	policy_records_free(&gen.records);
	return status;
}

/*
 * glibc backs malloc with transparent huge pages only when the tunable
 * glibc.malloc.hugetlb is set at startup, so hostmapgen sets it and runs
 * itself again, once, before it reads anything.  On the 1,000,000-address
 * bench that saves 72% of the page faults and about a tenth of the time
 * (mapgen-bench).  An admin's own GLIBC_TUNABLES is left alone, children
 * (--reload-cmd) get the environment as it was, and where the exec fails
 * the run goes on with ordinary pages.  AddressSanitizer has its own
 * allocator, which the tunable does not reach.
 */
#define HUGE_PAGES_TUNABLE "glibc.malloc.hugetlb=1"
#define HUGE_PAGES_MARK "HOSTMAPGEN_HUGE_PAGES"

static void
exec_with_huge_pages(char **argv)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	const char *tunables = getenv("GLIBC_TUNABLES");

	if (getenv(HUGE_PAGES_MARK)) {
		unsetenv(HUGE_PAGES_MARK);
		if (tunables && strcmp(tunables, HUGE_PAGES_TUNABLE) == 0)
			unsetenv("GLIBC_TUNABLES");
		return;
	}
	if (tunables)
		return;
	if (setenv("GLIBC_TUNABLES", HUGE_PAGES_TUNABLE, 1) == 0 && setenv(HUGE_PAGES_MARK, "1", 1) == 0)
		execv("/proc/self/exe", argv);
	unsetenv(HUGE_PAGES_MARK);
	unsetenv("GLIBC_TUNABLES");
#endif
}

/* The export, at most --max-export-size of it; exits 3 when unreadable, 1 when too large. */
static char *
read_export(const struct options *opts, size_t *len)
{
	char *data = NULL, err[1024];

	switch (safefile_read_export(opts->export_path, opts->export_cap > SIZE_MAX ? SIZE_MAX : opts->export_cap,
				     &data, len, err, sizeof(err))) {
	case SAFEFILE_OK:
		return data;
	case SAFEFILE_TOO_LARGE:
		msg_fatal(EXIT_INVALID, "%s (--max-export-size); nothing written", err);
	default:
		msg_fatal(EXIT_IO, "%s", err);
	}
}

/* Nothing to install; a reload may still be due from an earlier run. */
static int
unchanged(const struct options *opts, struct install_set *set, bool writing)
{
	int status = EXIT_DONE;

	summary(opts, NULL, set, "changed (export and files as last written)");
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
	if (install_lock(&set, opts->lock_timeout, err, sizeof(err)) < 0)
		msg_fatal(EXIT_IO, "%s; nothing changed", err);
	install_pause(second ? "relocked" : "locked", NULL);
	install_clean_stale(&set);
	register_files(&set, layout_of(opts->layout));
	if (install_survey(&set, writing, err, sizeof(err)) < 0)
		msg_fatal(EXIT_IO, "%s; nothing changed", err);
	if (!second && install_unchanged(&set)) {
		status = unchanged(opts, &set, writing);
		deferred = 1;	/* not known without generating: a second pass finds out */
	} else {
		if (!*export) {
			*export = load_export(opts, *data, len);
			g_free(*data);
			*data = NULL;
		}
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
		msg_warn("%u route%s wait%s for sendmail.cf to be rebuilt (their mailers are new in %s): Sendmail "
			 "tempfails their mail until %s", deferred, deferred == 1 ? "" : "s", deferred == 1 ? "s" : "",
			 MAILERS_FILE, opts->reload_cmd ? "the reload command succeeds"
			 : "hostmapgen runs with a --reload-cmd that rebuilds it");
	return status;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct mg_export *export = NULL;
	char *data, digest[EXPORT_DIGEST_LEN];
	size_t len;
	int status;

	exec_with_huge_pages(argv);
	msg_init(argv[0]);
	parse_options(argc, argv, &opts);
	set_trust(&opts);
	show_progress = isatty(STDERR_FILENO) && !opts.quiet;
	show_timing = getenv("HOSTMAPGEN_TIMING") != NULL;
	progress("start");
	data = read_export(&opts, &len);
	if (opts.check) {
		status = check_only(&opts, data, len);
		g_free(data);
		return status;
	}
	export_digest(data, len, digest);
	status = run(&opts, digest, &data, len, &export, false);
	model_free(export);
	g_free(data);
	return status;
}
