/*
 * fdlimit - a connection cap below the descriptor limit; see fdlimit.h.
 */
#include "config.h"

#include <pthread.h>

#include "fdlimit.h"

static pthread_mutex_t fdlimit_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long fdlimit_cap = 1;
static unsigned long fdlimit_count;

unsigned long
fdlimit_connections(unsigned long nofile)
{
	if (nofile <= FDLIMIT_RESERVE + FDLIMIT_PER_CONNECTION)
		return 1;	/* a limit this low fails elsewhere first; one connection still gets its reply */
	return (nofile - FDLIMIT_RESERVE) / FDLIMIT_PER_CONNECTION;
}

unsigned long
fdlimit_init(unsigned long nofile)
{
	pthread_mutex_lock(&fdlimit_lock);
	fdlimit_cap = fdlimit_connections(nofile);
	pthread_mutex_unlock(&fdlimit_lock);
	return fdlimit_cap;
}

bool
fdlimit_enter(void)
{
	bool ok;

	pthread_mutex_lock(&fdlimit_lock);
	ok = fdlimit_count < fdlimit_cap;
	if (ok)
		fdlimit_count++;
	pthread_mutex_unlock(&fdlimit_lock);
	return ok;
}

void
fdlimit_leave(void)
{
	pthread_mutex_lock(&fdlimit_lock);
	if (fdlimit_count > 0)
		fdlimit_count--;
	pthread_mutex_unlock(&fdlimit_lock);
}

unsigned long
fdlimit_open(void)
{
	unsigned long n;

	pthread_mutex_lock(&fdlimit_lock);
	n = fdlimit_count;
	pthread_mutex_unlock(&fdlimit_lock);
	return n;
}
