/*
 * gcra - the rate decision of the rate limits (the generic cell rate
 * algorithm), as pure arithmetic; a leaf: it uses nothing of ours.
 *
 * Promise:
 * - gcra_step is the whole rate decision: a sender with theoretical
 *   arrival time TAT may have one more recipient at NOW iff
 *   max(TAT, NOW) + interval - NOW <= burst * interval; an allowed step
 *   moves TAT to max(TAT, NOW) + interval, a refused one changes nothing.
 *   interval is one hour over the limit's recipients per hour; burst is
 *   the number a sender idle for long may have at once.  A TAT more than
 *   burst * interval ahead (the clock went back) is pulled back to exactly
 *   that far ahead, and that is written even when the step is refused, so
 *   a step of the clock back costs a sender one interval's wait, not the
 *   size of the step.
 * - gcra_refund gives back one allowed step that had moved TAT to T, but
 *   only what time has not given back already: at NOW it still holds
 *   min(interval, T - NOW), none once T has passed, and TAT moves back by
 *   that much, never before NOW.  So a refund never lifts a sender above
 *   what it would have had without that step.
 * - All arithmetic saturates: a huge TAT or clock cannot wrap into an
 *   allowance.  The same step runs in this process (rlocal.c) and inside
 *   Redis (rredis.c's script) and gives the same answers.
 */
#ifndef HM_GCRA_H
#define HM_GCRA_H

#include <stdbool.h>
#include <stdint.h>

#define GCRA_HOUR_US 3600000000ULL
#define GCRA_BURST_MAX 1000000

/* A limited sender, as the stores' listings report it: the next recipient would be refused, i.e.
 * TAT - now > (burst - 1) * interval; retry_after_us is the time until one would pass. */
typedef void gcra_visit(void *arg, const char *key, uint64_t retry_after_us);

/* The GCRA step; times in microseconds.  burst 0 is taken as 1; interval 0 lets everything pass
 * and counts nothing.  true: allowed; false: refused.  Either way the caller stores *new_tat_us,
 * which a refusal leaves at tat_us unless the clock went back (see above).
 * *retry_after_us: how long until the next recipient would pass (0: it would now). */
bool gcra_step(uint64_t now_us, uint64_t tat_us, uint64_t interval_us, uint32_t burst, uint64_t *new_tat_us,
	       uint64_t *retry_after_us);
/* The same with tau = burst * interval given (at least interval), as the stores call it. */
bool gcra_tau(uint64_t now_us, uint64_t tat_us, uint64_t interval_us, uint64_t tau_us, uint64_t *new_tat_us,
	      uint64_t *retry_after_us);
/* The TAT after a refund of a step that had moved it to charged_tat_us (see above). */
uint64_t gcra_refund(uint64_t now_us, uint64_t tat_us, uint64_t interval_us, uint64_t charged_tat_us);
/* interval and burst * interval (tau) of per_hour recipients with burst (0: per_hour, at most
 * GCRA_BURST_MAX), both at least 1 us; false for per_hour 0 (unlimited). */
bool gcra_params(uint32_t per_hour, uint32_t burst, uint64_t *interval_us, uint64_t *tau_us);

#endif
