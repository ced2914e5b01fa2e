/*
 * gcra - the rate decision; see gcra.h.
 *
 * GCRA keeps one number per sender (the theoretical arrival time) and
 * makes its decision in a few comparisons, so the same step runs in this
 * process and inside Redis and gives the same answers.
 */
#include "config.h"

#include "gcra.h"

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

bool
gcra_tau(uint64_t now_us, uint64_t tat_us, uint64_t interval_us, uint64_t tau_us, uint64_t *new_tat_us,
	 uint64_t *retry_after_us)
{
	uint64_t base = tat_us > now_us ? tat_us : now_us, tol, next;

	*new_tat_us = tat_us;
	*retry_after_us = 0;
	if (interval_us == 0)
		return true;
	if (tau_us < interval_us)
		tau_us = interval_us;
	tol = tau_us - interval_us;
	if (base - now_us > tau_us) {
		/* The clock went back: pulled to a full burst ahead, and that is written even by a refusal. */
		base = sat_add(now_us, tau_us);
		*new_tat_us = base;
	}
	if (base - now_us > tol) {
		*retry_after_us = base - now_us - tol;
		return false;
	}
	if (base > UINT64_MAX - interval_us) {
		*retry_after_us = UINT64_MAX - now_us;	/* past the end of the clock: refused, never wrapped */
		return false;
	}
	*new_tat_us = base + interval_us;
	next = *new_tat_us - now_us;
	*retry_after_us = next > tol ? next - tol : 0;
	return true;
}

bool
gcra_step(uint64_t now_us, uint64_t tat_us, uint64_t interval_us, uint32_t burst, uint64_t *new_tat_us,
	  uint64_t *retry_after_us)
{
	uint64_t b = burst ? burst : 1, tau = interval_us > UINT64_MAX / b ? UINT64_MAX : b * interval_us;

	return gcra_tau(now_us, tat_us, interval_us, tau, new_tat_us, retry_after_us);
}

uint64_t
gcra_refund(uint64_t now_us, uint64_t tat_us, uint64_t interval_us, uint64_t charged_tat_us)
{
	uint64_t held;

	if (tat_us <= now_us || charged_tat_us <= now_us)
		return tat_us;	/* time has given back all that charge took */
	held = charged_tat_us - now_us < interval_us ? charged_tat_us - now_us : interval_us;
	return tat_us - now_us > held ? tat_us - held : now_us;
}

bool
gcra_params(uint32_t per_hour, uint32_t burst_in, uint64_t *interval_us, uint64_t *tau_us)
{
	uint64_t burst;

	if (per_hour == 0)
		return false;
	*interval_us = GCRA_HOUR_US / per_hour;
	if (*interval_us == 0)
		*interval_us = 1;
	burst = burst_in ? burst_in : per_hour;
	if (burst > GCRA_BURST_MAX)
		burst = GCRA_BURST_MAX;
	*tau_us = burst * *interval_us;	/* at most 10^6 * 3.6 * 10^9: exact in the script's doubles too */
	return true;
}
