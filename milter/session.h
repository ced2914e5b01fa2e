/*
 * session - the libmilter callbacks: gather facts, apply decisions, log.
 *
 * Promise: every callback copes with a NULL private context (libmilter
 * may call xxfi_close alone, and xxfi_abort between any two callbacks);
 * peer input is bounded before it is stored or logged; a failure to get
 * what a decision needs tempfails.  One log line per decision: queue id,
 * action, rule, client, authenticated user, sender, recipient, reply.
 * The message's scanning and its verdict at the end are eom.h's.
 */
#ifndef HM_SESSION_H
#define HM_SESSION_H

#include <libmilter/mfapi.h>

extern struct smfiDesc session_filter;

struct scanners;
/* The scanners every message is scanned with (NULL: policy only); set before smfi_main. */
void session_set_scanners(struct scanners *scanners);

struct ratelimit;
/* The rate-limit engine each accepted recipient is charged to (NULL: none); set before smfi_main. */
void session_set_ratelimit(struct ratelimit *ratelimit);

/* Stop starting new messages; messages under way may finish. */
void session_begin_shutdown(void);
/* Waits until no message is under way, at most timeout seconds; 0 when none is left. */
int session_drain(long timeout);

#endif
