/*
 * breaker - a circuit breaker for one remote store, as pure functions.
 *
 * Promise: closed, every call is let through; after BREAKER_FAILS failures
 * in a row it opens, and nothing is let through until a revive time has
 * passed (BREAKER_REVIVE_MS, doubled after each failed probe up to
 * BREAKER_REVIVE_MAX_MS, each time between 60% and 140% of that so a
 * fleet does not come back at one instant); then exactly one call is let
 * through as the probe while the others are still refused.  The probe's
 * success closes the breaker and resets the revive time; its failure opens
 * it again.  The struct is plain data: the caller locks it.  Each
 * function returns whether the state changed, for the caller's log line.
 */
#ifndef HM_BREAKER_H
#define HM_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_FAILS 3
#define BREAKER_REVIVE_MS 1000
#define BREAKER_REVIVE_MAX_MS 30000

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_PROBING };

struct breaker {
	enum breaker_state state;
	unsigned fails;		/* in a row */
	unsigned revive_ms;	/* the next revive time, before jitter */
	uint64_t open_until_ms;
};

void breaker_init(struct breaker *b);
/* May this call go to the store?  An open breaker past its time lets this one through as the probe. */
bool breaker_admit(struct breaker *b, uint64_t now_ms);
/* The outcome of an admitted call; jitter in [0, 1] picks the revive time within +-40%.
 * true when the state changed (closed -> open, probing -> open or closed). */
bool breaker_record(struct breaker *b, bool ok, uint64_t now_ms, double jitter);
const char *breaker_state_name(enum breaker_state state);

#endif
