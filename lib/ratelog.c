/*
 * ratelog - rate-limited log lines; see ratelog.h.
 */
#include "config.h"

#include "monotime.h"
#include "ratelog.h"

bool
ratelog_allow(struct ratelog *r, time_t now, unsigned long *held)
{
	bool allow;

	pthread_mutex_lock(&r->lock);
	allow = r->next == 0 || now >= r->next;
	*held = allow ? r->held : 0;
	if (allow) {
		r->held = 0;
		r->next = now + r->interval;
	} else
		r->held++;
	pthread_mutex_unlock(&r->lock);
	return allow;
}

time_t
ratelog_now(void)
{
	return (time_t)(monotime_ms() / 1000) + 1;	/* never 0, which means "no line yet" */
}
