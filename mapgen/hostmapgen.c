/*
 * hostmapgen - compiles a control panel's export into Sendmail's virtmaps,
 * aliases, access and sendmail.cw (text and Berkeley DB) and hostmilter's
 * policy database.  See hostmapgen(8) and hostmapgen-export(5).
 *
 * Exit status: 0 done, 1 invalid export (nothing written), 2 usage,
 * 3 I/O or lock failure (nothing changed), or a failed reload command
 * (the new files stay).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emit.h"
#include "export.h"
#include "install.h"
#include "msg.h"
#include "validate.h"

enum {
	EXIT_DONE = 0,
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
	EXIT_IO = 3,
};

/* How many errors are printed before the rest are only counted. */
#define ERRORS_SHOWN 200

struct options {
	const char *dir;
	const char *layout;
	const char *reload_cmd;
	const char *export_path;
	bool check, diff, dry_run, quiet;
};

struct layout_names {
	const char *virtuser, *aliases, *access, *cw;
};

static const struct layout_names layouts[] = {
	{ "virtmaps", "aliases", "access", "sendmail.cw" },			/* hostnet */
	{ "virtusertable", "aliases", "access", "local-host-names" },	/* debian */
};

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
		"                  [--reload-cmd CMD] [-q] EXPORT|-\n"
		"  -o DIR          write the maps into DIR (default /etc/mail)\n"
		"  --layout NAME   file names: hostnet (virtmaps, sendmail.cw) or debian\n"
		"                  (virtusertable, local-host-names)\n"
		"  --check         validate the export only\n"
		"  --diff          show what would change in the text maps; write nothing\n"
		"  --dry-run       say which files would change; write nothing\n"
		"  --reload-cmd C  run C (with /bin/sh) when sendmail.cw changed\n"
		"  -q              no summary line\n");
	exit(status);
}

static void
parse_options(int argc, char **argv, struct options *opts)
{
	static const struct option longopts[] = {
		{ "layout", required_argument, NULL, 'L' }, { "check", no_argument, NULL, 'c' },
		{ "diff", no_argument, NULL, 'd' }, { "dry-run", no_argument, NULL, 'n' },
		{ "reload-cmd", required_argument, NULL, 'r' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opts = (struct options){ .dir = "/etc/mail", .layout = "hostnet" };
	while ((c = getopt_long(argc, argv, "o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': opts->dir = optarg; break;
		case 'L': opts->layout = optarg; break;
		case 'c': opts->check = true; break;
		case 'd': opts->diff = true; break;
		case 'n': opts->dry_run = true; break;
		case 'r': opts->reload_cmd = optarg; break;
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
	struct textmap virtuser, aliases, access, cw;
	struct policy_records records;
};

static int
load_maps(struct generated *gen, struct install_set *set, const struct layout_names *names)
{
	struct textmap *maps[] = { &gen->virtuser, &gen->aliases, &gen->access, &gen->cw };
	char err[512];

	textmap_init(&gen->virtuser, names->virtuser, TEXTMAP_MAKEMAP, false);
	textmap_init(&gen->aliases, names->aliases, TEXTMAP_ALIASES, true);
	textmap_init(&gen->access, names->access, TEXTMAP_MAKEMAP, true);
	textmap_init(&gen->cw, names->cw, TEXTMAP_CLASS, true);
	for (unsigned i = 0; i < 4; i++) {
		if (textmap_load(maps[i], set->files[i].path, err, sizeof(err)) < 0) {
			msg_error("%s", err);
			return -1;
		}
	}
	return 0;
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
	struct textmap *maps[] = { &gen->virtuser, &gen->aliases, &gen->access, &gen->cw };

	report_init(&report);
	progress("generating the policy database");
	if (emit_policy(export, &gen->records, &report)) {
		print_errors(&report);
		exit(EXIT_INVALID);
	}
	set->files[4].records = &gen->records;
	if (writing)
		install_start_policy(set, &gen->records);
	progress("generating virtmaps");
	emit_virtmaps(export, &gen->virtuser);
	progress("generating aliases");
	emit_aliases(export, &gen->aliases);
	progress("generating access");
	emit_access(export, &gen->access, &report);
	emit_cw(export, &gen->cw);
	if (report.errors->len) {
		install_abandon(set);
		print_errors(&report);
		exit(EXIT_INVALID);
	}
	report_free(&report);
	for (unsigned i = 0; i < 4; i++) {
		set->files[i].text = textmap_render(maps[i]);
		textmap_free(maps[i]);
	}
}

static void
register_files(struct install_set *set, const struct layout_names *names)
{
	install_add(set, names->virtuser, TEXTMAP_MAKEMAP, true);
	install_add(set, names->aliases, TEXTMAP_ALIASES, true);
	install_add(set, names->access, TEXTMAP_MAKEMAP, true);
	install_add(set, names->cw, TEXTMAP_CLASS, false);
	install_add(set, "hostmilter.db", TEXTMAP_CLASS, true)->policy = true;
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

static int
run_reload(const struct options *opts, const struct install_set *set)
{
	int status;

	if (!set->files[3].text_changed)
		return EXIT_DONE;
	if (!opts->reload_cmd) {
		msg_info("%s changed: Sendmail reads it only at start; restart sendmail or send it SIGHUP",
			 set->files[3].name);
		return EXIT_DONE;
	}
	status = system(opts->reload_cmd);
	if (status == 0)
		return EXIT_DONE;
	msg_error("reload command \"%s\" failed (%s %d); the new files are in place",
		  opts->reload_cmd, WIFEXITED(status) ? "exit status" : "status",
		  WIFEXITED(status) ? WEXITSTATUS(status) : status);
	return EXIT_IO;
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

/* Takes *data: the raw export is freed as soon as it is parsed. */
static int
apply(const struct options *opts, struct install_set *set, char **data, size_t len)
{
	struct mg_export *export = load_export(opts, *data, len);
	struct generated gen = { 0 };
	char err[1024];
	int status = EXIT_DONE;

	g_free(*data);
	*data = NULL;
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
		if (install_commit(set, err, sizeof(err)) < 0) {
			progress_done();
			msg_error("%s; nothing changed", err);
			status = EXIT_IO;
		} else {
			summary(opts, export, set, "changed");
			status = run_reload(opts, set);
		}
	}
	policy_records_free(&gen.records);
	model_free(export);
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

int
main(int argc, char **argv)
{
	struct options opts;
	struct install_set set;
	char *data, digest[EXPORT_DIGEST_LEN], err[1024];
	size_t len;
	int status;

	exec_with_huge_pages(argv);
	msg_init(argv[0]);
	parse_options(argc, argv, &opts);
	show_progress = isatty(STDERR_FILENO) && !opts.quiet;
	show_timing = getenv("HOSTMAPGEN_TIMING") != NULL;
	progress("start");
	if (export_slurp(opts.export_path, &data, &len) < 0)
		msg_fatal(EXIT_IO, "cannot read %s: %m", opts.export_path);
	if (opts.check) {
		status = check_only(&opts, data, len);
		g_free(data);
		return status;
	}
	export_digest(data, len, digest);
	install_init(&set, opts.dir, opts.layout, digest);
	if (install_lock(&set, err, sizeof(err)) < 0)
		msg_fatal(EXIT_IO, "%s", err);
	install_clean_stale(&set);
	register_files(&set, layout_of(opts.layout));
	if (install_unchanged(&set)) {
		summary(&opts, NULL, &set, "changed (export and files as last written)");
		status = EXIT_DONE;
	} else {
		status = apply(&opts, &set, &data, len);
	}
	g_free(data);
	install_free(&set);
	return status;
}
