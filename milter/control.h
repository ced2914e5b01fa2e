/*
 * control - the admin's socket: which senders are over their rate limit,
 * and releasing one, without a restart.
 *
 * Promise:
 * - control_open, as root before the privilege drop, opens the rate-limit
 *   engine (ratelimit.h) and binds ControlSocket: the socket is made with
 *   mode 0600 and owned by root, in a directory that must be owned by root
 *   or UserID and writable by nobody else (checked through a descriptor
 *   opened without following a symbolic link); a socket left by an
 *   earlier run is replaced, anything else at that name is refused.
 *   ControlSocket none binds nothing.
 * - control_start serves it from one thread: one client at a time, only
 *   root or the daemon's own user (SO_PEERCRED), one request line of at
 *   most CONTROL_LINE_MAX bytes, the whole exchange within
 *   CONTROL_TIMEOUT_MS; a client that stalls is dropped.
 * - The protocol: the client sends one line, the daemon answers lines and
 *   closes; the last line is "ok ..." or "error ...".
 *     ratelimit list          "RETRY_S STORE KEY" per limited sender (at
 *                             most RATELIMIT_LIST_MAX), then "ok N limited"
 *     ratelimit release KEY   "ok released KEY" or "ok KEY was not limited
 *                             or tracked"; the sender starts a full burst
 * - control_client is `hostmilter -L` and `-R KEY`: it sends one request
 *   to ControlSocket, prints the answer and returns the exit status: 0 ok,
 *   1 error, 69 (EX_UNAVAILABLE) when no daemon answered.
 */
#ifndef HM_CONTROL_H
#define HM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "conf.h"
#include "ratelimit.h"

#define CONTROL_LINE_MAX 1024
#define CONTROL_TIMEOUT_MS 5000
#define CONTROL_CLIENT_TIMEOUT_S 30	/* a Redis listing may take a while */
#define CONTROL_REPLY_MAX (1 << 20)

/* The daemon's three calls.  user: UserID's uid, which may own the socket's directory. */
struct ratelimit *control_open(const struct hm_conf *conf, uid_t user, char *err, size_t errlen);
int control_start(char *err, size_t errlen);
/* Stops serving; drained: no charge can be under way, so the engine is closed too. */
void control_stop(bool drained);

/* The parts, for the tests' driver: a bound socket (-1 with err; -2 for "none")... */
int control_bind(const char *value, uid_t user, char *err, size_t errlen);
/* -n: what control_bind would refuse, without binding (0 for none or fine, -1 with err). */
int control_check(const char *value, uid_t user, char *err, size_t errlen);
/* ... served for rl from a thread until control_stop (which then closes neither rl nor anything else of it). */
int control_serve(int fd, struct ratelimit *rl, char *err, size_t errlen);

/* The answer to one request line. */
void control_answer(struct ratelimit *rl, const char *line, FILE *out);

/* -L and -R: request is "ratelimit list" or "ratelimit release KEY". */
int control_client(const struct hm_conf *conf, const char *request);

#endif
