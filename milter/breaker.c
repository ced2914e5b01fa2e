/*
 * breaker - circuit breaker; see breaker.h.
 *
 * Modelled on the scanner clusters' breaker (cluster.c) without its
 * failure-rate window: a rate-limit store answers in microseconds, so
 * three failures in a row already say it is gone, and every further
 * attempt would cost an RCPT its whole timeout.
 */
#include "config.h"

#include "breaker.h"

void
breaker_init(struct breaker *b)
{
	b->state = BREAKER_CLOSED;
	b->fails = 0;
	b->revive_ms = BREAKER_REVIVE_MS;
	b->open_until_ms = 0;
}

bool
breaker_admit(struct breaker *b, uint64_t now_ms)
{
	if (b->state == BREAKER_CLOSED)
		return true;
	if (b->state == BREAKER_OPEN && now_ms >= b->open_until_ms) {
		b->state = BREAKER_PROBING;
		return true;
	}
	return false;
}

static void
breaker_open(struct breaker *b, uint64_t now_ms, double jitter)
{
	if (jitter < 0)
		jitter = 0;
	if (jitter > 1)
		jitter = 1;
	b->state = BREAKER_OPEN;
	b->open_until_ms = now_ms + (uint64_t)(b->revive_ms * (0.6 + 0.8 * jitter));
}

bool
breaker_record(struct breaker *b, bool ok, uint64_t now_ms, double jitter)
{
	enum breaker_state was = b->state;

	if (ok) {
		b->state = BREAKER_CLOSED;
		b->fails = 0;
		b->revive_ms = BREAKER_REVIVE_MS;
		return was != BREAKER_CLOSED;
	}
	b->fails++;
	if (was == BREAKER_PROBING) {
		b->revive_ms = b->revive_ms * 2 > BREAKER_REVIVE_MAX_MS ? BREAKER_REVIVE_MAX_MS : b->revive_ms * 2;
		breaker_open(b, now_ms, jitter);
		return true;
	}
	if (was == BREAKER_CLOSED && b->fails >= BREAKER_FAILS) {
		breaker_open(b, now_ms, jitter);
		return true;
	}
	return false;	/* a call admitted before the breaker opened, failing late: already open */
}

const char *
breaker_state_name(enum breaker_state state)
{
	switch (state) {
	case BREAKER_CLOSED:
		return "up";
	case BREAKER_OPEN:
		return "down";
	case BREAKER_PROBING:
		return "probing";
	}
	return "unknown";
}
