/*
 * monotime - the one monotonic clock of every timeout and interval.
 *
 * Promise: CLOCK_MONOTONIC read in one place, in the unit its caller
 * counts in; it never goes back and ignores changes of the wall clock
 * (NTP steps, an admin's date), so deadlines and rate intervals hold
 * across them.  Its zero is the boot, not the epoch: only differences mean
 * anything (rredis.c's condition variable is set to this clock, so a
 * monotime_ms deadline is its timespec).  monotime_coarse_ms is the cheap
 * read (a few ms coarse) for checks made on every call of a hot path.
 */
#ifndef HM_MONOTIME_H
#define HM_MONOTIME_H

#include <stdint.h>

uint64_t monotime_us(void);
uint64_t monotime_ms(void);
uint64_t monotime_coarse_ms(void);

#endif
