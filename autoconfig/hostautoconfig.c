/*
 * hostautoconfig - tells mail clients (Thunderbird, Outlook, Apple
 * devices) their server settings and login for an address, from the
 * autoconfig.db hostmapgen writes.  See hostautoconfig(8).
 *
 * It listens on a loopback port for the provider's web server to proxy
 * to, or, started by a web server as a CGI program, answers the one
 * request in its environment.  Started as root it opens its socket and
 * then runs as the user -u names; it refuses to run as root.  It stays
 * in the foreground; SIGTERM and SIGINT stop it.
 *
 * Exit status: 0 stopped, 2 usage, 70 internal failure (privileges could
 * not be dropped), 78 what it was given cannot be used (socket, user,
 * database).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgi.h"
#include "cidr.h"
#include "httpd.h"
#include "mapwatch.h"
#include "msg.h"
#include "ratetable.h"

#define EXIT_USAGE 2
#define EXIT_SOFTWARE 70
#define EXIT_CONFIG 78

#define LISTEN_DEFAULT "127.0.0.1:8025"
#define MAP_DEFAULT "/etc/mail/autoconfig.db"
#define RATE_DEFAULT 6		/* requests per minute per client */
#define BURST_DEFAULT 30
#define TIMEOUT_DEFAULT 10
#define CONNECTIONS_DEFAULT 256
#define CONNECTIONS_MAX 4096

struct options {
	const char *listen, *map, *user;
	unsigned rate, burst, timeout, connections;
	struct cidr trusted[RATETABLE_TRUSTED_MAX];
	unsigned ntrusted;
	bool check, syslog;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: hostautoconfig [-l HOST:PORT] [-m MAP] [-u USER] [-r PER_MINUTE] [-b BURST]\n"
		"                      [-p PROXY]... [-t SECONDS] [-c CONNECTIONS] [-s] [-n] [-V]\n"
		"  -l HOST:PORT    listen there (default " LISTEN_DEFAULT ")\n"
		"  -m MAP          answer from MAP (default " MAP_DEFAULT ")\n"
		"  -u USER         started as root: run as USER once the socket is open\n"
		"  -r PER_MINUTE   requests a client may make a minute (default %d; 0: no limit)\n"
		"  -b BURST        requests a client may make at once (default %d)\n"
		"  -p NETWORK      a proxy whose X-Forwarded-For names the client (repeatable;\n"
		"                  default 127.0.0.0/8 and ::1)\n"
		"  -t SECONDS      time for a request, and for silence between requests (default %d)\n"
		"  -c CONNECTIONS  connections at once (default %d)\n"
		"  -s              log to syslog (facility mail) too, not only to standard error\n"
		"  -n              check the options and the database, then exit\n"
		"As a CGI program it reads its settings from the environment (hostautoconfig(8)).\n",
		RATE_DEFAULT, BURST_DEFAULT, TIMEOUT_DEFAULT, CONNECTIONS_DEFAULT);
	exit(status);
}

static unsigned
number(const char *option, const char *text, unsigned min, unsigned max)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value < min || value > max) {
		msg_error("%s: \"%s\" is no number from %u to %u", option, text, min, max);
		usage(EXIT_USAGE);
	}
	return (unsigned)value;
}

static void
add_trusted(struct options *opts, const char *text)
{
	const char *why;

	if (opts->ntrusted == RATETABLE_TRUSTED_MAX) {
		msg_error("-p: at most %d proxies", RATETABLE_TRUSTED_MAX);
		usage(EXIT_USAGE);
	}
	if (cidr_parse(text, &opts->trusted[opts->ntrusted], &why) < 0) {
		msg_error("-p %s: %s", text, why);
		usage(EXIT_USAGE);
	}
	opts->ntrusted++;
}

static void
parse_options(int argc, char **argv, struct options *opts)
{
	int c;

	*opts = (struct options){ .listen = LISTEN_DEFAULT, .map = MAP_DEFAULT, .rate = RATE_DEFAULT,
				  .burst = BURST_DEFAULT, .timeout = TIMEOUT_DEFAULT,
				  .connections = CONNECTIONS_DEFAULT };
	while ((c = getopt(argc, argv, "l:m:u:r:b:p:t:c:snhV")) != -1) {
		switch (c) {
		case 'l': opts->listen = optarg; break;
		case 'm': opts->map = optarg; break;
		case 'u': opts->user = optarg; break;
		case 'r': opts->rate = number("-r", optarg, 0, 60000); break;
		case 'b': opts->burst = number("-b", optarg, 1, 100000); break;
		case 'p': add_trusted(opts, optarg); break;
		case 't': opts->timeout = number("-t", optarg, 1, 3600); break;
		case 'c': opts->connections = number("-c", optarg, 1, CONNECTIONS_MAX); break;
		case 's': opts->syslog = true; break;
		case 'n': opts->check = true; break;
		case 'h': usage(0);
		case 'V': printf("hostautoconfig %s\n", PACKAGE_VERSION); exit(0);
		default: usage(EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(EXIT_USAGE);
	if (opts->ntrusted == 0) {
		add_trusted(opts, "127.0.0.0/8");
		add_trusted(opts, "::1");
	}
}

/* "HOST:PORT" or "[V6]:PORT" as a bound, listening socket; exits 78 when it cannot be had. */
static int
open_listener(const char *text)
{
	char host[256];
	const char *colon = strrchr(text, ':'), *start = text;
	size_t len;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai;
	int fd, one = 1, rc;

	if (*start == '[')
		start++;
	len = colon ? (size_t)(colon - start) - (text[0] == '[' && colon[-1] == ']') : 0;
	if (!colon || len == 0 || len >= sizeof(host) || !colon[1])
		msg_fatal(EXIT_USAGE, "-l %s: not HOST:PORT", text);
	memcpy(host, start, len);
	host[len] = '\0';
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0)
		msg_fatal(EXIT_CONFIG, "-l %s: %s", text, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	    || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0)
		msg_fatal(EXIT_CONFIG, "-l %s: %s", text, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/*
 * As hostmilter does: supplementary groups, group, user, no_new_privs,
 * then a check that root cannot be had back.
 */
static void
drop_privileges(const char *name)
{
	struct passwd *pw = getpwnam(name);
	gid_t groups[2];

	if (!pw)
		msg_fatal(EXIT_CONFIG, "-u %s: no such user", name);
	if (pw->pw_uid == 0)
		msg_fatal(EXIT_CONFIG, "-u %s is root; hostautoconfig refuses to run as root", name);
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot drop privileges to %s: %s", name, strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		msg_fatal(EXIT_SOFTWARE, "cannot set no_new_privs: %s", strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0 || getuid() == 0
	    || geteuid() == 0 || getgid() != pw->pw_gid || getegid() != pw->pw_gid
	    || getgroups(2, groups) != 1 || groups[0] != pw->pw_gid)
		msg_fatal(EXIT_SOFTWARE, "privileges not dropped to %s: root could come back", name);
}

/* Blocked before any thread starts, so that every thread inherits the mask and only sigwait sees them. */
static void
block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A setting from the environment (CGI), or fallback when it is absent or no number in range. */
static unsigned
env_number(const char *name, unsigned fallback, unsigned max)
{
	const char *text = getenv(name);
	char *end;
	unsigned long value;

	if (!text || !*text)
		return fallback;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || text[0] == '-' || value > max) {
		msg_warn("%s=%s is no number from 0 to %u; using %u", name, text, max, fallback);
		return fallback;
	}
	return (unsigned)value;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct mapwatch maps;
	struct httpd_options http;
	char err[1024];
	sigset_t stops;
	int fd = -1, sig = 0;

	msg_init("hostautoconfig");
	if (cgi_detect())
		return cgi_main(env_number("HOSTAUTOCONFIG_RATE", RATE_DEFAULT, 60000),
				env_number("HOSTAUTOCONFIG_BURST", BURST_DEFAULT, 100000), TIMEOUT_DEFAULT);
	parse_options(argc, argv, &opts);
	if (!opts.check)
		fd = open_listener(opts.listen);
	if (geteuid() == 0 && opts.user)
		drop_privileges(opts.user);
	if (geteuid() == 0 || getuid() == 0)
		msg_fatal(EXIT_CONFIG, "refusing to run as root: start it as its own user, or as root with -u USER");
	if (mapwatch_open(&maps, opts.map, err, sizeof(err)) < 0)
		msg_fatal(EXIT_CONFIG, "%s", err);
	if (opts.check) {
		printf("hostautoconfig: %s is usable (digest %.12s)\n", opts.map, acdb_digest(maps.db));
		mapwatch_close(&maps);
		return 0;
	}
	if (opts.syslog)
		msg_syslog(2);
	block_stop_signals(&stops);
	http = (struct httpd_options){ .fd = fd, .maps = &maps, .trusted = opts.trusted, .ntrusted = opts.ntrusted,
				       .connections = opts.connections, .timeout = opts.timeout };
	if (opts.rate && !(http.rates = ratetable_new(opts.rate, opts.burst, RATETABLE_SLOTS_DEFAULT)))
		msg_fatal(EXIT_SOFTWARE, "out of memory");
	if (httpd_start(&http, err, sizeof(err)) < 0)
		msg_fatal(EXIT_SOFTWARE, "%s", err);
	msg_info("answering on %s from %s", opts.listen, opts.map);
	sigwait(&stops, &sig);
	msg_info("stopping (signal %d)", sig);
	httpd_stop();
	ratetable_free(http.rates);
	mapwatch_close(&maps);
	return 0;
}
