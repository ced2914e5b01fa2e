/*
 * rlocal - the rate-limit table in this process: one TAT per sender.
 *
 * Promise: rlocal_step runs the GCRA step (gcra.h) for a key under
 * the lock of one of RLOCAL_SHARDS shards, so charges from libmilter's
 * threads for different senders rarely wait for each other, and
 * allocates only for a sender it does not track yet.  The table holds at
 * most `max` senders (RateLimitLocalSize).  A sender whose TAT has passed
 * is the same as one never seen and may be dropped at any time.  When a
 * new sender finds the table full, a reclaim drops every such sender and,
 * if that frees too little, the senders closest to having a whole burst
 * again, by increasing "limited until" (TAT - (burst - 1) * interval):
 * so no sender that is over its limit is dropped while one that is not
 * remains, and among limited senders the one released soonest goes
 * first.  A dropped sender that had used part of its burst gets it back
 * whole; that is the price of the bound.  Each reclaim frees at least
 * 1/RLOCAL_RECLAIM_DIVISOR of the table, so its cost (two passes over
 * the table) is shared by that many new senders.
 *
 * Times are the caller's microseconds (the engine uses CLOCK_MONOTONIC).
 */
#ifndef HM_RLOCAL_H
#define HM_RLOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gcra.h"

#define RLOCAL_SHARDS 64
#define RLOCAL_RECLAIM_DIVISOR 64

struct rlocal;

struct rlocal *rlocal_new(unsigned long max);
void rlocal_free(struct rlocal *table);

/* 1 allowed (*tat_us: the TAT it left), 0 limited (with *retry_after_us), -1 no room for a new
 * sender (out of memory).  tau_us = burst * interval_us. */
int rlocal_step(struct rlocal *table, const char *key, uint64_t now_us, uint64_t interval_us, uint64_t tau_us,
		uint64_t *retry_after_us, uint64_t *tat_us);
/* Gives back what an allowed step that left charged_tat_us still holds (gcra_refund). */
void rlocal_refund(struct rlocal *table, const char *key, uint64_t now_us, uint64_t interval_us,
		   uint64_t charged_tat_us);
/* true when key was tracked (and is not any more). */
bool rlocal_forget(struct rlocal *table, const char *key);
/* Calls visit for each limited sender, shard by shard (each under its lock: visit must not call back). */
void rlocal_each_limited(struct rlocal *table, uint64_t now_us, gcra_visit *visit, void *arg);

unsigned long rlocal_count(struct rlocal *table);
/* Reclaims so far, for the tests and the benchmark. */
unsigned long rlocal_reclaims(struct rlocal *table);

#endif
