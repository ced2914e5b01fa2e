/*
 * hostmilter - the daemon: configuration, privileges, signals, libmilter.
 *
 * Start-up order, each step checked: read the configuration; make the
 * runtime directories that are missing under /run (pathsafe.h: root's,
 * 0755, as the unit's RuntimeDirectory= would; -n only names them); check what
 * root is about to touch (UserID, the socket's directory, the PidFile's
 * directory); as root open the policy database (after pathsafe has found
 * it safe from UserID), the scanners (libclamav's database, TLS keys), the
 * statistics port, the rate-limit engine with its control socket, and the
 * milter socket (mode 0600 from its creation: no operation on its name
 * afterwards); write the pid file; drop to UserID (supplementary groups,
 * group, user, then prove root cannot come back); check the spool and the
 * policy database as that user; fork the scan workers (workers.h: they
 * share libclamav's loaded engine and inherit no privilege), and only then
 * start the statistics endpoint, the control socket's thread and
 * libmilter's threads.  Without -f the
 * process forks first, and the parent exits only when the child says it
 * is serving, or with the child's own exit status (78, 70) when a step
 * failed, so that what the documentation promises is what the caller sees.
 * -n runs the same checks without serving and without loading libclamav's
 * database (it counts its signatures instead); with --format json it says
 * what it found as one JSON document on stdout (hostmilter(8), JSON
 * OUTPUT), each problem with a code and the key it is about.  -L and -R
 * only talk to a running daemon's control socket (control.h).
 *
 * Signals: libmilter's own signal thread treats SIGHUP like SIGTERM (it
 * stops the filter).  hostmilter therefore runs smfi_main in a thread of
 * its own and keeps the main thread in sigwait() for HUP, TERM, INT and USR1:
 * Linux hands a process-directed signal to the thread-group leader
 * first when that thread accepts it, so the main thread sees every signal
 * and libmilter's thread none.  HUP reloads; USR1 writes the statistics
 * to syslog (stats.h; metrics.h serves them over HTTP); TERM and INT refuse new
 * connections and messages (4xx), let messages under way finish (at most
 * DrainTimeout seconds; a message is under way until its connection's next
 * command, so that its reply has been written), then exit.  smfi_stop() is not used: Debian's
 * libmilter is built with its worker pool, whose controller stops serving
 * the connections already open as soon as the filter is told to stop,
 * which would strand exactly the messages we mean to finish.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <clamav.h>
#include <jansson.h>
#include <libmilter/mfapi.h>

#include "attach.h"
#include "conf.h"
#include "control.h"
#include "eom.h"
#include "fdlimit.h"
#include "metrics.h"
#include "msg.h"
#include "pathsafe.h"
#include "scanners.h"
#include "scanserve.h"
#include "session.h"
#include "snapshot.h"
#include "stats.h"
#include "versions.h"
#include "workers.h"

#define DEFAULT_CONF "/etc/mail/hostmilter.conf"
#define EXIT_CONFIG 78		/* EX_CONFIG */
#define EXIT_SOFTWARE 70	/* EX_SOFTWARE */
#define READY_TIMEOUT 600	/* seconds the parent waits for the daemon (libclamav's database loads first) */

struct options {
	const char *conf_path;
	bool check_only;
	bool json;		/* --format json: -n's findings as one document */
	bool foreground;
	bool versions;
	char *request;	/* -L, -R: a request for the running daemon's control socket */
};

static void
usage(void)
{
	fprintf(stderr, "usage: hostmilter [-c FILE] [-f] [-n [--format text|json]] [-V] [-L] [-R KEY]\n"
			"  -c FILE  configuration (default " DEFAULT_CONF ")\n"
			"  -n       check the configuration and the policy database, then exit\n"
			"  --format json\n"
			"           with -n: say what it found as one JSON document on stdout\n"
			"  -f       stay in the foreground, log to stderr as well\n"
			"  -V       print the versions of hostmilter and its libraries, and the\n"
			"           ClamAV database's signature count and date, then exit\n"
			"  -L       list the senders the running daemon holds over their rate limit\n"
			"  -R KEY   release one of them (KEY as -L shows it)\n"
			"Exit status: 0 done, 1 libmilter failed, 2 usage, 70 internal error,\n"
			"78 configuration problem; -L and -R: 0 done, 1 the daemon refused,\n"
			"69 no daemon to ask.\n");
	exit(2);
}

static void
parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = { { "format", required_argument, NULL, 'F' }, { NULL, 0, NULL, 0 } };
	int c;

	opt->conf_path = DEFAULT_CONF;
	while ((c = getopt_long(argc, argv, "c:nfVLR:", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				usage();
			opt->json = strcmp(optarg, "json") == 0;
			break;
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
	if (optind != argc || (opt->json && !opt->check_only))
		usage();
}

/* ---- -n --format json: every finding into one document ---- */

static json_t *check_errors, *check_warnings;	/* NULL unless -n --format json */

/* A finding: the hostmilter.conf key it is about is its JSON Pointer ("/PolicyDB"), "" when none. */
static void
check_found(json_t *list, const char *code, const char *key, const char *file, unsigned line, const char *text)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "path", "", "code", code, "message", text);

	if (!e)	/* text not UTF-8: a path or a value of the file */
		e = json_pack("{s:s, s:s, s:s}", "path", "", "code", code, "message", "(a message that is not UTF-8)");
	if (key && *key)
		json_object_set_new(e, "path", json_sprintf("/%s", key));
	if (file)
		json_object_set_new(e, "file", json_string(file));
	if (line)
		json_object_set_new(e, "line", json_integer(line));
	json_array_append_new(list, e);
}

/* Whatever else is said while checking (a warning, an internal failure) goes into the document too. */
static void
check_message(const char *kind, const char *text)
{
	if (strcmp(kind, "warning") == 0)
		check_found(check_warnings, "notice", NULL, NULL, 0, text);
	else if (strcmp(kind, "info") != 0)
		check_found(check_errors, "internal", NULL, NULL, 0, text);
}

static void
check_document(int status, unsigned scanners)
{
	json_t *doc = json_pack("{s:b, s:i, s:s, s:O, s:O}", "ok", status == 0, "status", status, "mode", "check",
				"errors", check_errors, "warnings", check_warnings);

	if (status == 0)
		json_object_set_new(doc, "scanners", json_integer(scanners));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(doc);
}

static int check_status = -1;	/* -n's exit status once known; else an exit through msg_fatal */

static void
check_at_exit(void)
{
	if (check_errors && check_status < 0)
		check_document(EXIT_SOFTWARE, 0);
}

static void
check_begin_json(void)
{
	check_errors = json_array();
	check_warnings = json_array();
	msg_divert(check_message);
	atexit(check_at_exit);
}

static void
load_config(const char *path, struct hm_conf *conf)
{
	struct conf_errors *errors = calloc(1, sizeof(*errors));

	if (!errors)
		msg_fatal(EXIT_SOFTWARE, "out of memory");
	if (conf_load(path, conf, errors) < 0 && check_errors) {
		for (unsigned i = 0; i < errors->count; i++)
			check_found(check_errors, errors->code[i], errors->key[i], path, errors->line[i], errors->text[i]);
		check_status = EXIT_CONFIG;
		check_document(EXIT_CONFIG, 0);
		exit(EXIT_CONFIG);
	}
	if (errors->count) {
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

/* -n collects every problem before it exits; a start stops at the first. */
static bool check_mode;
static unsigned check_failures;

/* code and key: what -n --format json says of it (hostmilter(8), JSON OUTPUT). */
static void __attribute__((format(printf, 4, 5)))
refuse(int status, const char *code, const char *key, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!check_mode)
		msg_fatal(status, "%s", text);
	if (check_errors)
		check_found(check_errors, code, key, NULL, 0, text);
	else
		msg_error("%s", text);
	check_failures++;
}

static const struct passwd *
lookup_user(const char *name)
{
	const struct passwd *pw = getpwnam(name);

	if (!pw)
		refuse(EXIT_CONFIG, "user_unknown", "UserID", "UserID %s: no such user", name);
	else if (pw->pw_uid == 0)
		refuse(EXIT_CONFIG, "user_is_root", "UserID", "UserID %s is root; hostmilter refuses to run as root", name);
	else
		return pw;
	return NULL;
}

/*
 * Whom the daemon will run as: UserID when started as root, else itself.
 * A copy, not getpwnam's static record, which any later lookup overwrites.
 */
static const struct passwd *
daemon_user(const struct hm_conf *conf, struct pathsafe_user *user)
{
	static struct passwd copy;
	static char name[CONF_NAME_MAX];
	const struct passwd *pw;
	char err[512];

	pathsafe_user_self(user);
	if ((getuid() != 0 && geteuid() != 0) || !(pw = lookup_user(conf->user)))
		return NULL;
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	copy = (struct passwd){ .pw_name = name, .pw_uid = pw->pw_uid, .pw_gid = pw->pw_gid };
	if (pathsafe_user_named(conf->user, user, err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "user_unusable", "UserID", "%s", err);
	return &copy;
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
 * cannot write to would fail every message that needs scanning.  At start
 * and when SIGHUP names another one.
 */
static int
spool_directory_problem(const char *key, const char *dir, char *err, size_t errlen)
{
	const struct passwd *me;
	const char *why;
	struct stat st;
	int fd;

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", key, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a directory", key, dir);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s %s is writable by others without the sticky bit", key, dir);
		return -1;
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	/* A file system without O_TMPFILE: spool.c falls back to mkostemp there. */
	if ((errno == EOPNOTSUPP || errno == EISDIR) && access(dir, W_OK | X_OK) == 0)
		return 0;
	why = strerror(errno);
	me = getpwuid(geteuid());
	snprintf(err, errlen, "%s %s: cannot write there as %s: %s", key, dir, me ? me->pw_name : "this user", why);
	return -1;
}

/* As UserID, after the drop: what the daemon will need to reach by itself. */
static void
check_as_user(const struct hm_conf *conf)
{
	char err[512];

	if (spool_directory_problem("SpoolDirectory", conf->spool_directory, err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "spool_unusable", "SpoolDirectory", "%s", err);
	if (conf->scan_temporary_directory[0]
	    && spool_directory_problem("ScanTemporaryDirectory", conf->scan_temporary_directory, err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "spool_unusable", "ScanTemporaryDirectory", "%s", err);
	/* hostmapgen's next database is opened by this user. */
	if (access(conf->policy_db, R_OK) < 0)
		refuse(EXIT_CONFIG, "policy_unreadable", "PolicyDB", "PolicyDB %s: UserID cannot read it: %s", conf->policy_db,
		       strerror(errno));
}

/* SIGHUP: a new SpoolDirectory is checked as at start (we run as UserID by now). */
static int
reload_check(const struct hm_conf *conf, const struct hm_conf *running, char *err, size_t errlen)
{
	if (strcmp(conf->spool_directory, running->spool_directory) == 0)
		return 0;
	return spool_directory_problem("SpoolDirectory", conf->spool_directory, err, errlen);
}

/* ---- runtime directories: made under /run when missing, as systemd's RuntimeDirectory= ---- */

#define RUNTIME_PATHS 4
static char runtime_pending[RUNTIME_PATHS][CONF_PATH_MAX];	/* -n: missing, a start would make them */

static bool
runtime_is_pending(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;

	for (unsigned i = 0; i < RUNTIME_PATHS; i++)
		if (runtime_pending[i][0] && strlen(runtime_pending[i]) == len && strncmp(runtime_pending[i], path, len) == 0)
			return true;
	return false;
}

/* The paths whose directories hostmilter makes: Socket, ControlSocket, ScanService, PidFile. */
static unsigned
runtime_paths(const struct hm_conf *conf, const char **paths)
{
	static struct conf_socket sock;
	const char *why, *control = NULL;
	unsigned n = 0;

	if (conf_socket_parse(conf->socket, &sock, &why) == 0 && sock.family == AF_UNIX)
		paths[n++] = sock.path;
	if (conf_control_parse(conf->control_socket, &control) == 0 && control)
		paths[n++] = control;
	if (strncmp(conf->scan_service, "unix:/", 6) == 0)
		paths[n++] = conf->scan_service + strlen("unix:");
	paths[n++] = conf->pid_file;
	return n;
}

/*
 * A directory made here is root's, mode 0755, as the unit's
 * RuntimeDirectory= makes /run/hostmilter: Sendmail (root) reaches the
 * socket in it, hostscan's users the scan socket, and UserID, which parses
 * hostile mail, can rename nothing there (the pid file is emptied at exit
 * instead, see remove_pid_file).  -n makes nothing: it says what a start
 * would make, and the checks of what goes in there are left to the start.
 */
static void
runtime_directories(const struct hm_conf *conf, const struct pathsafe_user *user, bool create)
{
	const char *paths[RUNTIME_PATHS];
	unsigned n = runtime_paths(conf, paths);
	char err[512];

	for (unsigned i = 0; i < n; i++) {
		const char *slash = strrchr(paths[i], '/');
		int rc;

		if (paths[i][0] != '/' || !slash)
			continue;	/* not absolute: refused by the checks that follow */
		rc = pathsafe_runtime_dir(paths[i], user, create, err, sizeof(err));
		if (rc < 0) {
			refuse(EXIT_CONFIG, "runtime_directory", "Socket", "%s", err);
		} else if (rc == 1 && create) {
			msg_info("made the runtime directory %.*s (root's, mode 0755)", (int)(slash - paths[i]), paths[i]);
		} else if (rc == 1 && !runtime_is_pending(paths[i])) {
			snprintf(runtime_pending[i], sizeof(runtime_pending[i]), "%.*s", (int)(slash - paths[i]), paths[i]);
			msg_info("%s is missing; a start makes it (root's, mode 0755)", runtime_pending[i]);
		}
	}
}

/*
 * Before root binds anything: a unix socket's directory must be one nobody
 * but root and UserID can write to (pathsafe.h), so that the name cannot be
 * swapped between bind and Sendmail's connect; an inet socket must be on
 * loopback unless the configuration allows more (conf.h), and is warned of.
 */
static void
check_socket(const struct hm_conf *conf, const struct pathsafe_user *user)
{
	struct conf_socket sock;
	const char *why;
	char err[512];

	if (conf_socket_parse(conf->socket, &sock, &why) < 0) {
		refuse(EXIT_CONFIG, "socket_invalid", "Socket", "Socket %s %s", conf->socket, why);
		return;
	}
	if (sock.family == AF_UNIX && !runtime_is_pending(sock.path)
	    && pathsafe_socket_dir(sock.path, user, err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "socket_unsafe", "Socket", "Socket %s: %s", conf->socket, err);
	if (!sock.loopback)
		msg_warn("Socket %s listens beyond loopback (AllowRemoteSocket yes): the milter protocol has no "
			 "authentication, so let nothing but the MTA's hosts reach that port", conf->socket);
}

static void
check_pid_directory(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[CONF_PATH_MAX];
	struct stat st;

	if (path[0] != '/' || !slash) {
		refuse(EXIT_CONFIG, "pid_file_invalid", "PidFile", "PidFile %s is not an absolute path", path);
		return;
	}
	if (runtime_is_pending(path))
		return;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) < 0)
		refuse(EXIT_CONFIG, "pid_file_invalid", "PidFile", "PidFile %s: its directory %s: %s", path, dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		refuse(EXIT_CONFIG, "pid_file_invalid", "PidFile", "PidFile %s: %s is not a directory", path, dir);
}

/* Socket mode 0600 from its creation (umask), never a chmod or chown by name afterwards. */
static void
open_socket(const struct hm_conf *conf)
{
	mode_t old = umask(0177);

	if (smfi_setconn((char *)conf->socket) == MI_FAILURE || smfi_opensocket(1) == MI_FAILURE)
		msg_fatal(EXIT_CONFIG, "cannot open milter socket %s", conf->socket);
	umask(old);
}

static int pid_fd = -1;	/* kept: see remove_pid_file */
static const char *pid_path;	/* written and not yet removed */

static void
write_pid_file(const char *path)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	/*
	 * Written as root, maybe in a directory the daemon's user may write:
	 * an old file is removed and a new one made with O_EXCL, so neither a
	 * symbolic nor a hard link planted there makes root write elsewhere.
	 */
	if (unlink(path) < 0 && errno != ENOENT)
		msg_fatal(EXIT_CONFIG, "cannot replace pid file %s: %s", path, strerror(errno));
	pid_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (pid_fd >= 0)
		pid_path = path;	/* a start that fails from here on leaves no stale pid behind */
	if (pid_fd < 0 || fchmod(pid_fd, 0644) < 0 || write(pid_fd, text, (size_t)len) != len)
		msg_fatal(EXIT_CONFIG, "cannot write pid file %s: %s", path, strerror(errno));
}

/*
 * At exit we run as UserID: in a directory only root may write (a root
 * runtime directory) the name cannot be removed, so the file is emptied
 * through the descriptor root opened, and no stale pid is left to kill.
 */
static void
remove_pid_file(void)
{
	const char *path = pid_path;

	pid_path = NULL;
	if (!path || unlink(path) == 0 || errno == ENOENT)
		return;
	if ((errno == EACCES || errno == EPERM) && pid_fd >= 0 && ftruncate(pid_fd, 0) == 0) {
		msg_info("pid file %s emptied: its directory is not UserID's, so only root can remove it", path);
		return;
	}
	msg_warn("cannot remove %s: %s", path, strerror(errno));
}

/* ---- detaching: the parent waits for the daemon's word ---- */

static int ready_fd = -1;	/* the child's end of the pipe, until it serves */

/* In the parent: 0 once the child serves, else its exit status (70 if it died otherwise). */
static int
wait_for_daemon(pid_t pid, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	int status, rc;

	while ((rc = poll(&p, 1, READY_TIMEOUT * 1000)) < 0 && errno == EINTR)
		;
	if (rc == 0) {
		fprintf(stderr, "hostmilter: not serving after %d s; stopped\n", READY_TIMEOUT);
		kill(pid, SIGKILL);
	} else if (read(fd, &c, 1) == 1)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_SOFTWARE;
	return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : EXIT_SOFTWARE;
}

static void
detach(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot detach: %s", strerror(errno));
	if (pid > 0) {
		close(fds[1]);
		_exit(wait_for_daemon(pid, fds[0]));
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() < 0 || chdir("/") < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot detach: %s", strerror(errno));
}

/* Serving: the parent may exit 0; standard error was the caller's until now. */
static void
tell_ready(void)
{
	int fd;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, "", 1) != 1)
		msg_warn("cannot tell the parent process: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* systemd connects standard error to the journal and says so in JOURNAL_STREAM ("DEV:INODE"). */
static bool
stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return stream && sscanf(stream, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0
	       && (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* One descriptor per connection and more per message: as many as the hard limit allows, up to 65536. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	unsigned long cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		msg_fatal(EXIT_SOFTWARE, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	cap = fdlimit_init((unsigned long)rl.rlim_cur);
	if (cap < FDLIMIT_LOW)
		msg_warn("descriptor limit %lu leaves room for %lu connections at once (more are tempfailed); "
			 "raise it (LimitNOFILE=65536)", (unsigned long)rl.rlim_cur, cap);
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

/* -n: libclamav's database is counted, not loaded, so that a check costs no second load. */
static void
check_clamav_database(const char *dir)
{
	unsigned sigs = 0;
	cl_error_t rc;

	if ((rc = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS)
		refuse(EXIT_CONFIG, "clamav_database", "ClamAVDatabase", "libclamav: %s", cl_strerror(rc));
	else if ((rc = cl_countsigs(dir, CL_COUNTSIGS_ALL, &sigs)) != CL_SUCCESS)
		refuse(EXIT_CONFIG, "clamav_database", "ClamAVDatabase", "ClamAV database %s: %s", dir, cl_strerror(rc));
	else if (sigs == 0)
		refuse(EXIT_CONFIG, "clamav_database", "ClamAVDatabase", "ClamAV database %s is empty: no signatures", dir);
}

/* The scanners as a start opens them, but libclamav's database only counted; the number of engines. */
static unsigned
check_scanners(const struct hm_conf *conf)
{
	struct hm_conf *others = malloc(sizeof(*others));
	struct scanners *scanners;
	bool clamav = false;
	unsigned n = 0;
	char err[512];

	if (!others)
		msg_fatal(EXIT_SOFTWARE, "out of memory");
	*others = *conf;
	others->nscanners = 0;
	for (unsigned i = 0; i < conf->nscanners; i++) {
		if (strcmp(conf->scanners[i].engine, "clamav") == 0)
			clamav = true;
		else
			others->scanners[others->nscanners++] = conf->scanners[i];
	}
	if (clamav)
		check_clamav_database(conf->clamav_database);
	if (!(scanners = scanners_open(others, err, sizeof(err))))
		refuse(EXIT_CONFIG, "scanner_unavailable", "Scanner", "%s", err);
	n = scanners_count(scanners) + clamav;
	scanners_close(scanners);
	free(others);
	return n;
}

/* -n: the ControlSocket's directory is one a start would make. */
static bool
control_pending(const struct hm_conf *conf)
{
	const char *path = NULL;

	return conf_control_parse(conf->control_socket, &path) == 0 && path && runtime_is_pending(path);
}

/* -n: everything a start checks, as root and then as UserID, without serving. */
static void
check_only(const struct options *opt, const struct hm_conf *conf)
{
	struct pathsafe_user user;
	const struct passwd *pw;
	char err[512];
	unsigned n;

	check_mode = true;
	pw = daemon_user(conf, &user);
	runtime_directories(conf, &user, false);
	check_socket(conf, &user);
	check_pid_directory(conf->pid_file);
	snapshot_set_guard(&user, NULL);
	if (snapshot_init(conf, err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "policy_unreadable", "PolicyDB", "%s", err);
	attach_init();
	n = check_scanners(conf);
	if (scanserve_check(conf, err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "scan_service", "ScanService", "%s", err);
	if (!control_pending(conf) && control_check(conf->control_socket, pw ? pw->pw_uid : geteuid(), err, sizeof(err)) < 0)
		refuse(EXIT_CONFIG, "control_socket", "ControlSocket", "%s", err);
	attach_shutdown();
	snapshot_shutdown();
	if (pw)
		drop_privileges(pw);
	check_as_user(conf);
	check_status = check_failures ? EXIT_CONFIG : 0;
	if (check_errors) {
		check_document(check_status, n);
		exit(check_status);
	}
	if (check_failures)
		msg_fatal(EXIT_CONFIG, "%s: %u problem%s, would not start", opt->conf_path, check_failures,
			  check_failures == 1 ? "" : "s");
	printf("%s: configuration, policy database and %u scanner%s OK\n", opt->conf_path, n, n == 1 ? "" : "s");
	exit(0);
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

/* What start_as_root opened, for the rest of the start and for the stop. */
struct started {
	struct scanners *scanners;
	struct workers *workers;	/* NULL: ScanWorkers 0 */
	struct ratelimit *ratelimit;
	int metrics_fd;
};

/* As root: everything that needs root, in the order of the header comment. */
static void
start_as_root(const struct hm_conf *conf, const struct passwd *pw, struct started *up)
{
	char err[512];

	if (snapshot_init(conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	attach_init();
	if (!(up->scanners = scanners_open(conf, err, sizeof(err))) || scanserve_open(conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	session_set_scanners(up->scanners);
	stats_init(up->scanners);
	if (conf->stats_listen[0] && (up->metrics_fd = metrics_open(conf->stats_listen, err, sizeof(err))) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	if (!(up->ratelimit = control_open(conf, pw ? pw->pw_uid : geteuid(), err, sizeof(err))))
		msg_fatal(EXIT_CONFIG, "%s", err);
	session_set_ratelimit(up->ratelimit);
	if (smfi_register(session_filter) == MI_FAILURE)
		msg_fatal(EXIT_SOFTWARE, "smfi_register failed");
	open_socket(conf);
	atexit(remove_pid_file);
	write_pid_file(conf->pid_file);
}

/*
 * As UserID, before any thread at all: the scan workers' fork server,
 * forked from a process that has libclamav's engine loaded (it and the
 * workers it forks share it copy-on-write), no privileges left to
 * inherit, and no thread that could hold a lock across the fork.  Without
 * workers, the ClamAV reload thread here instead (the fork server
 * reloads the engine itself).
 */
static void
start_workers(const struct hm_conf *conf, struct started *up)
{
	/* Detached (ready_fd): the caller's standard error is given back at tell_ready, never kept by a worker. */
	struct workers_settings settings = { (unsigned)conf->scan_workers, (uint64_t)conf->scan_worker_memory,
					     conf->scan_timeout, conf->scan_worker_faults, ready_fd >= 0 };
	char err[512];

	if (conf->scan_workers == 0) {
		if (scanners_watch(up->scanners) < 0)
			msg_fatal(EXIT_SOFTWARE, "cannot start the ClamAV reload thread");
		return;
	}
	if (conf->scan_worker_faults)
		msg_warn("ScanWorkerFaults yes: the tests' fault injector is on; never in production");
	if (!(up->workers = workers_start(up->scanners, &settings, err, sizeof(err))))
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	eom_set_workers(up->workers);
	stats_set_workers(up->workers);
}

/* As UserID: the threads that serve. */
static void
start_serving(const struct hm_conf *conf, const struct passwd *pw, struct started *up)
{
	pthread_t milter;
	char err[512];

	start_workers(conf, up);
	if (scanserve_start(up->scanners, up->workers, conf, err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	if (up->metrics_fd >= 0 && metrics_start(up->metrics_fd, err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	if (control_start(err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	if (pthread_create(&milter, NULL, milter_thread, NULL) != 0)
		msg_fatal(EXIT_SOFTWARE, "cannot start the milter thread");
	msg_info("started on %s as %s, policy %s, %u scanner%s, %ld scan worker%s, rate limits in %s", conf->socket,
		 pw ? pw->pw_name : "(unchanged user)", conf->policy_db, scanners_count(up->scanners),
		 scanners_count(up->scanners) == 1 ? "" : "s", conf->scan_workers, conf->scan_workers == 1 ? "" : "s",
		 ratelimit_describe(up->ratelimit));
}

/* Serves until SIGTERM or SIGINT, then stops; the exit status. */
static int
serve_then_stop(const struct options *opt, const struct hm_conf *conf, const struct started *up)
{
	bool drained = serve_signals(opt, conf) == 0;

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
		stats_set_workers(NULL);
		eom_set_workers(NULL);
		workers_stop(up->workers);
		scanners_close(up->scanners);
	}
	remove_pid_file();
	msg_info("stopped");
	return milter_status == MI_SUCCESS ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct hm_conf conf;
	struct pathsafe_user user;
	struct started up = { .metrics_fd = -1 };
	const struct passwd *pw;

	msg_init(argv[0]);
	umask(077);
	parse_options(argc, argv, &opt);
	if (opt.json)
		check_begin_json();
	if (opt.versions)
		print_versions(opt.conf_path);
	load_config(opt.conf_path, &conf);
	if (opt.request)
		exit(control_client(&conf, opt.request));
	if (opt.check_only)
		check_only(&opt, &conf);
	pw = daemon_user(&conf, &user);
	if (getuid() == 0 || geteuid() == 0)
		runtime_directories(&conf, &user, true);
	check_socket(&conf, &user);
	check_pid_directory(conf.pid_file);
	if (!opt.foreground)
		detach();
	/* Until it serves, a daemon's errors reach the caller's terminal and syslog; under systemd, syslog alone. */
	msg_syslog(stderr_is_journal() ? 1 : 2);
	block_signals();
	raise_fd_limit();
	snapshot_set_guard(&user, reload_check);
	start_as_root(&conf, pw, &up);
	if (pw)
		drop_privileges(pw);
	else if (getuid() == 0 || geteuid() == 0)
		msg_fatal(EXIT_CONFIG, "refusing to run as root");
	check_as_user(&conf);
	start_serving(&conf, pw, &up);
	tell_ready();
	/* libmilter's threads still run: leave without tearing down what they may touch. */
	exit(serve_then_stop(&opt, &conf, &up));
}
