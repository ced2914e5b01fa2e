/*
 * msg - diagnostics; see msg.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "msg.h"

static const char *msg_name = "hostmilter";
static int msg_to_syslog;
static unsigned long msg_warnings;
static void (*msg_diverted)(const char *kind, const char *text);

void
msg_divert(void (*fn)(const char *kind, const char *text))
{
	msg_diverted = fn;
}

void
msg_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');

	msg_name = slash ? slash + 1 : progname;
}

void
msg_syslog(int mode)
{
	if (mode && !msg_to_syslog)
		openlog(msg_name, LOG_PID | LOG_NDELAY | (mode == 2 ? LOG_PERROR : 0), LOG_MAIL);
	msg_to_syslog = mode;
}

const char *
msg_progname(void)
{
	return msg_name;
}

unsigned long
msg_warn_count(void)
{
	return msg_warnings;
}

static void
msg_vprint(int priority, const char *label, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (msg_diverted)
		msg_diverted(*label ? priority == LOG_WARNING ? "warning" : priority == LOG_ERR ? "error" : "fatal" : "info",
			     line);
	else if (msg_to_syslog)
		syslog(priority, "%s%s", label, line);
	else
		fprintf(stderr, "%s: %s%s\n", msg_name, label, line);
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	msg_warnings++;
	va_start(ap, fmt);
	msg_vprint(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
msg_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(status);
}
