/*
 * msg - diagnostics for hostmilter's programs.
 *
 * Promise: every message carries the program name; msg_warn never stops the
 * program, msg_fatal always does, with the exit status the caller names.
 * Peer input must never reach msg_fatal: it is for configuration and
 * environment failures only.  msg_syslog(1) sends messages to syslog
 * (facility mail) instead of stderr; msg_syslog(2) to both.  Any thread
 * may log at any time: a line costs one send to the syslog socket and one
 * write to stderr, and no thread waits for another's (see msg.c).
 */
#ifndef HM_MSG_H
#define HM_MSG_H

#include <stdarg.h>

void msg_init(const char *progname);
void msg_syslog(int mode);
const char *msg_progname(void);

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Every message to fn instead of stderr and syslog (NULL: back to them),
 * with its kind: "info", "warning", "error" or "fatal"; for a program that
 * says everything in one document (hostmilter -n --format json).
 */
void msg_divert(void (*fn)(const char *kind, const char *text));

/*
 * In a forked child that closed the descriptors it inherited (a scan
 * worker): the syslog socket is made again for its next line.
 */
void msg_reopen(void);

/* How many msg_warn calls were made, for summaries. */
unsigned long msg_warn_count(void);

#endif
