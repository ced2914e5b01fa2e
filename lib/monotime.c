/*
 * monotime - the monotonic clock; see monotime.h.
 */
#include "config.h"

#include <time.h>

#include "monotime.h"

static uint64_t
monotime_read_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);	/* cannot fail for these clocks on Linux */
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
monotime_us(void)
{
	return monotime_read_us(CLOCK_MONOTONIC);
}

uint64_t
monotime_ms(void)
{
	return monotime_read_us(CLOCK_MONOTONIC) / 1000;
}

uint64_t
monotime_coarse_ms(void)
{
	return monotime_read_us(CLOCK_MONOTONIC_COARSE) / 1000;
}
