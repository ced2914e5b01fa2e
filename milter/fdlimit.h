/*
 * fdlimit - hostmilter's descriptors: a cap on connections below RLIMIT_NOFILE.
 *
 * Promise: fdlimit_connections is a pure function of the descriptor limit:
 * how many milter connections may be open at once so that each keeps room
 * for what a message needs (its spool file, a socket per scanner engine,
 * libclamav's temporary files while it unpacks), with a reserve for the
 * listener, the logs, the databases and the statistics endpoint.
 * fdlimit_enter counts a connection in, or refuses it above the cap, so
 * that libmilter's accept never meets EMFILE, on which it spins while the
 * waiting connections hang; fdlimit_leave counts one out.
 */
#ifndef HM_FDLIMIT_H
#define HM_FDLIMIT_H

#include <stdbool.h>

#define FDLIMIT_RESERVE 64	/* listener, logs, databases, libclamav's engine, /metrics */
#define FDLIMIT_PER_CONNECTION 8	/* socket, spool, scanner sockets, libclamav's temporary files */
#define FDLIMIT_LOW 256	/* fewer connections than this: warned at start */

unsigned long fdlimit_connections(unsigned long nofile);
/* Sets the cap from the descriptor limit in force; returns the cap. */
unsigned long fdlimit_init(unsigned long nofile);
/* true: counted in; false: over the cap, refuse the connection. */
bool fdlimit_enter(void);
void fdlimit_leave(void);
unsigned long fdlimit_open(void);

#endif
