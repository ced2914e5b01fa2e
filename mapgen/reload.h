/*
 * reload - runs the admin's reload command (--reload-cmd), bounded in time.
 *
 * Promise: the command runs under /bin/sh -c in a process group of its
 * own, with standard input from /dev/null and hostmapgen's standard output
 * and error.  It gets timeout seconds; then its whole group gets SIGTERM
 * and, RELOAD_KILL_GRACE seconds later, SIGKILL.  reload_run returns only
 * once the shell has been reaped, and succeeds only when it exited 0 in
 * time; otherwise why says what happened (exit status, signal, timeout).
 */
#ifndef HM_RELOAD_H
#define HM_RELOAD_H

#include <stddef.h>

#define RELOAD_KILL_GRACE 5

/* 0 when the command exited 0 within timeout seconds; -1 with why. */
int reload_run(const char *command, unsigned timeout, char *why, size_t whylen);

#endif
