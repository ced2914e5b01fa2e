/*
 * hostmilter - the daemon: configuration, privileges, signals, libmilter.
 *
 * Start-up order, each step checked: read the configuration; as root open
 * the policy database, the scanners (libclamav's database, TLS keys), the
 * statistics port, the rate-limit engine with its control socket, and the
 * milter socket; write the pid file; drop to UserID (supplementary groups,
 * group, user, then prove root cannot come back); only then start the
 * statistics endpoint, the control socket's thread and libmilter's threads.
 * -L and -R only talk to a running daemon's control socket (control.h).
 *
 * Signals: libmilter's own signal thread treats SIGHUP like SIGTERM (it
 * stops the filter).  hostmilter therefore runs smfi_main in a thread of
 * its own and keeps the main thread in sigwait() for HUP, TERM, INT and USR1:
 * Linux hands a process-directed signal to the thread-group leader
 * first when that thread accepts it, so the main thread sees every signal
 * and libmilter's thread none.  HUP reloads; USR1 writes the statistics
 * to syslog (stats.h; metrics.h serves them over HTTP); TERM and INT refuse new
 * connections and messages (4xx), let messages under way finish (at most
 * DrainTimeout seconds), then exit.  smfi_stop() is not used: Debian's
 * libmilter is built with its worker pool, whose controller stops serving
 * the connections already open as soon as the filter is told to stop,
 * which would strand exactly the messages we mean to finish.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "attach.h"
#include "conf.h"
#include "control.h"
#include "metrics.h"
#include "msg.h"
#include "scanners.h"
#include "scanserve.h"
#include "session.h"
#include "snapshot.h"
#include "stats.h"
#include "versions.h"

#define DEFAULT_CONF "/etc/mail/hostmilter.conf"
#define EXIT_CONFIG 78		/* EX_CONFIG */
#define EXIT_SOFTWARE 70	/* EX_SOFTWARE */

struct options {
	const char *conf_path;
	bool check_only;
	bool foreground;
	bool versions;
	char *request;	/* -L, -R: a request for the running daemon's control socket */
};

static void
usage(void)
{
	fprintf(stderr, "usage: hostmilter [-c FILE] [-n] [-f] [-V] [-L] [-R KEY]\n"
			"  -c FILE  configuration (default " DEFAULT_CONF ")\n"
			"  -n       check the configuration and the policy database, then exit\n"
			"  -f       stay in the foreground, log to stderr as well\n"
			"  -V       print the versions of hostmilter and its libraries, and the\n"
			"           ClamAV database's signature count and date, then exit\n"
			"  -L       list the senders the running daemon holds over their rate limit\n"
			"  -R KEY   release one of them (KEY as -L shows it)\n");
	exit(2);
}

static void
parse_options(int argc, char **argv, struct options *opt)
{
	int c;

	opt->conf_path = DEFAULT_CONF;
	while ((c = getopt(argc, argv, "c:nfVLR:")) != -1) {
		switch (c) {
		case 'c':
			opt->conf_path = optarg;
			break;
		case 'n':
			opt->check_only = true;
			break;
		case 'f':
			opt->foreground = true;
			break;
		case 'V':
			opt->versions = true;
			break;
		case 'L':
		case 'R':
			free(opt->request);
			opt->request = NULL;
			if (c == 'L' ? !(opt->request = strdup("ratelimit list"))
				     : asprintf(&opt->request, "ratelimit release %s", optarg) < 0)
				msg_fatal(EXIT_SOFTWARE, "out of memory");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

static void
load_config(const char *path, struct hm_conf *conf)
{
	struct conf_errors *errors = calloc(1, sizeof(*errors));

	if (!errors)
		msg_fatal(EXIT_SOFTWARE, "out of memory");
	if (conf_load(path, conf, errors) < 0) {
		for (unsigned i = 0; i < errors->count; i++)
			msg_error("%s", errors->text[i]);
		msg_fatal(EXIT_CONFIG, "%s: %u error%s, not started", path, errors->count,
			  errors->count == 1 ? "" : "s");
	}
	free(errors);
}

/* -V: the ClamAV database of the configuration when it can be read, else the default one. */
static void
print_versions(const char *conf_path)
{
	struct conf_errors *errors = calloc(1, sizeof(*errors));
	struct hm_conf conf;

	if (!errors || conf_load(conf_path, &conf, errors) < 0)
		conf_defaults(&conf);
	free(errors);
	versions_print(stdout, conf.clamav_database);
	exit(0);
}

static const struct passwd *
lookup_user(const char *name)
{
	const struct passwd *pw = getpwnam(name);

	if (!pw)
		msg_fatal(EXIT_CONFIG, "UserID %s: no such user", name);
	if (pw->pw_uid == 0)
		msg_fatal(EXIT_CONFIG, "UserID %s is root; hostmilter refuses to run as root", name);
	return pw;
}

/*
 * The order is fixed: supplementary groups, then the group, then the user
 * (after setuid nothing else could be changed), then no_new_privs so that
 * nothing this process runs could gain privileges.  Then it checks that
 * neither root's user nor its group can be had back.
 */
static void
drop_privileges(const struct passwd *pw)
{
	gid_t groups[2];

	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot drop privileges to %s: %s", pw->pw_name, strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot set no_new_privs: %s", strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0 || getuid() == 0
	    || geteuid() == 0 || getgid() != pw->pw_gid || getegid() != pw->pw_gid
	    || getgroups(2, groups) != 1 || groups[0] != pw->pw_gid)
		msg_fatal(EXIT_SOFTWARE, "privileges not dropped to %s: root could come back", pw->pw_name);
}

/*
 * The spool directory, checked as the user that will write it: a spool
 * that others may write to without the sticky bit could have libclamav's
 * temporary directories planted or removed under it; one the daemon
 * cannot write to would fail every message that needs scanning.
 */
static void
check_spool_directory(const char *dir, const char *user)
{
	struct stat st;
	int fd;

	if (stat(dir, &st) < 0)
		msg_fatal(EXIT_CONFIG, "SpoolDirectory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		msg_fatal(EXIT_CONFIG, "SpoolDirectory %s: not a directory", dir);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		msg_fatal(EXIT_CONFIG, "SpoolDirectory %s is writable by others without the sticky bit", dir);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return;
	}
	/* A file system without O_TMPFILE: spool.c falls back to mkostemp there. */
	if ((errno == EOPNOTSUPP || errno == EISDIR) && access(dir, W_OK | X_OK) == 0)
		return;
	msg_fatal(EXIT_CONFIG, "SpoolDirectory %s: cannot write there as %s: %s", dir, user, strerror(errno));
}

/* The socket is bound by root; its owner becomes UserID so a restart as that user may replace it. */
static void
open_socket(const struct hm_conf *conf, const struct passwd *pw)
{
	const char *path = NULL;

	if (strncmp(conf->socket, "unix:", 5) == 0)
		path = conf->socket + 5;
	else if (strncmp(conf->socket, "local:", 6) == 0)
		path = conf->socket + 6;
	umask(077);	/* 0600: Sendmail connects as root, and nobody else has business there */
	if (smfi_setconn((char *)conf->socket) == MI_FAILURE || smfi_opensocket(1) == MI_FAILURE)
		msg_fatal(EXIT_CONFIG, "cannot open milter socket %s", conf->socket);
	if (path && chmod(path, 0600) < 0)
		msg_fatal(EXIT_CONFIG, "cannot set the mode of %s: %s", path, strerror(errno));
	if (path && pw && chown(path, pw->pw_uid, pw->pw_gid) < 0)
		msg_warn("cannot hand %s to %s: %s", path, pw->pw_name, strerror(errno));
}

static void
write_pid_file(const char *path)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid()), fd;

	/*
	 * Written as root, maybe in a directory the daemon's user may write:
	 * an old file is removed and a new one made with O_EXCL, so neither a
	 * symbolic nor a hard link planted there makes root write elsewhere.
	 */
	if (unlink(path) < 0 && errno != ENOENT)
		msg_fatal(EXIT_CONFIG, "cannot replace pid file %s: %s", path, strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, (size_t)len) != len || close(fd) < 0)
		msg_fatal(EXIT_CONFIG, "cannot write pid file %s: %s", path, strerror(errno));
}

static void
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		msg_fatal(EXIT_SOFTWARE, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0 || chdir("/") < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot detach: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* One descriptor per connection: allow as many as the hard limit, up to 65536. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static volatile int milter_status = MI_SUCCESS;

/* smfi_main returns only when libmilter gives up; the main thread then exits. */
static void *
milter_thread(void *arg)
{
	milter_status = smfi_main();
	msg_error("libmilter stopped serving (%s)", milter_status == MI_SUCCESS ? "stopped" : "failed");
	kill(getpid(), SIGTERM);
	return NULL;
}

static void
check_only(const struct options *opt, const struct hm_conf *conf)
{
	char err[512];

	struct scanners *scanners;

	if (snapshot_init(conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	lookup_user(conf->user);
	attach_init();
	if (!(scanners = scanners_open(conf, err, sizeof(err))) || scanserve_check(conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	printf("%s: configuration, policy database and %u scanner%s OK\n", opt->conf_path,
	       scanners_count(scanners), scanners_count(scanners) == 1 ? "" : "s");
	scanners_close(scanners);
	attach_shutdown();
	snapshot_shutdown();
	exit(milter_status == MI_SUCCESS ? 0 : 1);
}

static void
handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

/*
 * Blocked in every thread before any is started (libclamav's, libmilter's,
 * libmicrohttpd's inherit the mask), so that only serve_signals sees them:
 * a SIGHUP delivered to another thread would kill the process.
 */
static void
block_signals(void)
{
	sigset_t set;

	handled_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Waits for signals until told to stop; returns after the drain. */
/* Returns once no message is under way any more (0), or the drain timed out (-1). */
static int
serve_signals(const struct options *opt, const struct hm_conf *conf)
{
	sigset_t set;
	int sig = 0;

	handled_signals(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			msg_info("SIGHUP: reloading %s", opt->conf_path);
			snapshot_reload(opt->conf_path);
			continue;
		}
		if (sig == SIGUSR1) {
			stats_log();
			continue;
		}
		break;
	}
	msg_info("signal %d: no new connections or messages; waiting for messages under way", sig);
	session_begin_shutdown();
	if (session_drain(conf->drain_timeout) == 0)
		return 0;
	msg_warn("messages still under way after %lds; exiting anyway (Sendmail tempfails them)", conf->drain_timeout);
	return -1;
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct hm_conf conf;
	const struct passwd *pw = NULL;
	char err[512];
	pthread_t milter;
	struct scanners *scanners;
	struct ratelimit *ratelimit;
	int metrics_fd = -1;
	bool drained;

	msg_init(argv[0]);
	parse_options(argc, argv, &opt);
	if (opt.versions)
		print_versions(opt.conf_path);
	load_config(opt.conf_path, &conf);
	if (opt.request)
		exit(control_client(&conf, opt.request));
	if (opt.check_only)
		check_only(&opt, &conf);
	if (getuid() == 0 || geteuid() == 0)
		pw = lookup_user(conf.user);
	if (!opt.foreground)
		daemonize();
	msg_syslog(opt.foreground ? 2 : 1);
	block_signals();
	raise_fd_limit();
	if (snapshot_init(&conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	attach_init();
	if (!(scanners = scanners_open(&conf, err, sizeof(err))) || scanserve_open(&conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	session_set_scanners(scanners);
	stats_init(scanners);
	if (conf.stats_listen[0] && (metrics_fd = metrics_open(conf.stats_listen, err, sizeof(err))) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	if (!(ratelimit = control_open(&conf, pw ? pw->pw_uid : geteuid(), err, sizeof(err))))
		msg_fatal(EXIT_CONFIG, "%s", err);
	session_set_ratelimit(ratelimit);
	if (smfi_register(session_filter) == MI_FAILURE)
		msg_fatal(EXIT_SOFTWARE, "smfi_register failed");
	open_socket(&conf, pw);
	write_pid_file(conf.pid_file);
	if (pw)
		drop_privileges(pw);
	else if (getuid() == 0 || geteuid() == 0)
		msg_fatal(EXIT_CONFIG, "refusing to run as root");
	check_spool_directory(conf.spool_directory, pw ? pw->pw_name : "this user");
	if (scanserve_start(scanners, &conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	if (metrics_fd >= 0 && metrics_start(metrics_fd, err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	if (control_start(err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	if (pthread_create(&milter, NULL, milter_thread, NULL) != 0)
		msg_fatal(EXIT_SOFTWARE, "cannot start the milter thread");
	msg_info("started on %s as %s, policy %s, %u scanner%s, rate limits in %s", conf.socket,
		 pw ? pw->pw_name : "(unchanged user)", conf.policy_db, scanners_count(scanners),
		 scanners_count(scanners) == 1 ? "" : "s", ratelimit_describe(ratelimit));
	drained = serve_signals(&opt, &conf) == 0;
	scanserve_stop();	/* it reads the scanners too */
	metrics_stop();	/* it reads the scanners' clusters */
	control_stop(drained);	/* the engine too, when no charge can be under way */
	stats_log();
	if (drained) {
		/*
		 * No message is under way and none can start, so nothing reads the
		 * scanners or the current snapshot any more; an idle connection
		 * keeps its own reference to the snapshot it holds.  Closing them
		 * shows a leak checker that nothing else is left behind.
		 */
		snapshot_shutdown();
		scanners_close(scanners);
	}
	if (unlink(conf.pid_file) < 0 && errno != ENOENT)
		msg_warn("cannot remove %s: %s", conf.pid_file, strerror(errno));
	msg_info("stopped");
	/* libmilter's threads still run: leave without tearing down what they may touch. */
	exit(milter_status == MI_SUCCESS ? 0 : 1);
}
