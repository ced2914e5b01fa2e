/*
 * ratelog - one log line per interval for an event a peer can repeat at will.
 *
 * Promise: ratelog_allow is safe from any thread; it answers true for the
 * first event of an interval and then says how many events were held back
 * since the previous line, so that a flood costs one line per interval and
 * loses no count.  The clock is the caller's (monotonic seconds), which
 * keeps the decision a pure function of the calls made, for tests.
 */
#ifndef HM_RATELOG_H
#define HM_RATELOG_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

struct ratelog {
	pthread_mutex_t lock;
	time_t interval;	/* seconds between lines */
	time_t next;		/* no line before this time */
	unsigned long held;	/* events since the last line */
};

#define RATELOG_INIT(seconds) { PTHREAD_MUTEX_INITIALIZER, (seconds), 0, 0 }

/* true: log now, mentioning *held earlier events that were not logged. */
bool ratelog_allow(struct ratelog *r, time_t now, unsigned long *held);
/* Monotonic seconds, for now. */
time_t ratelog_now(void);

#endif
