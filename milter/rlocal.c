/*
 * rlocal - the in-process rate-limit table; see rlocal.h.
 *
 * Each shard is a GHashTable from the sender's key to its entry, which
 * holds the key itself, so a charge for a known sender is a lookup and
 * two stores under one shard lock.  The count of senders is one atomic
 * counter that a new sender reserves a place in before it allocates, so
 * the bound holds exactly however many threads insert at once.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "gcra.h"
#include "rlocal.h"

struct rlocal_entry {
	uint64_t tat;	/* 0: new, as if never seen */
	uint64_t tol;	/* tau - interval: limited while tat - now > tol */
	char key[];
};

struct rlocal_shard {
	pthread_mutex_t lock;
	GHashTable *map;	/* entry->key -> entry */
} __attribute__((aligned(64)));	/* one cache line each: no false sharing between shard locks */

struct rlocal {
	unsigned long max;
	unsigned long count;	/* atomic: senders held or reserved */
	unsigned long reclaims;	/* under reclaim_lock */
	pthread_mutex_t reclaim_lock;
	struct rlocal_shard shards[RLOCAL_SHARDS];
};

struct rlocal *
rlocal_new(unsigned long max)
{
	struct rlocal *table = aligned_alloc(64, sizeof(struct rlocal));

	if (!table)
		return NULL;
	memset(table, 0, sizeof(*table));
	table->max = max ? max : 1;
	pthread_mutex_init(&table->reclaim_lock, NULL);
	for (unsigned i = 0; i < RLOCAL_SHARDS; i++) {
		pthread_mutex_init(&table->shards[i].lock, NULL);
		table->shards[i].map = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
	}
	return table;
}

void
rlocal_free(struct rlocal *table)
{
	if (!table)
		return;
	for (unsigned i = 0; i < RLOCAL_SHARDS; i++) {
		g_hash_table_destroy(table->shards[i].map);
		pthread_mutex_destroy(&table->shards[i].lock);
	}
	pthread_mutex_destroy(&table->reclaim_lock);
	free(table);
}

/* The top bits of a multiplicative hash: the shard does not follow the bits GHashTable indexes by. */
static struct rlocal_shard *
rlocal_shard(struct rlocal *table, const char *key)
{
	uint32_t h = g_str_hash(key) * 2654435761u;

	return &table->shards[h >> (32 - 6)];
}

static int
rlocal_apply(struct rlocal_entry *e, uint64_t now, uint64_t interval, uint64_t tau, uint64_t *retry_after,
	     uint64_t *tat)
{
	uint64_t new_tat;
	bool ok = gcra_tau(now, e->tat, interval, tau, &new_tat, retry_after);

	e->tat = new_tat;
	e->tol = tau - interval;
	*tat = new_tat;
	return ok;
}

/* Eviction order: senders whose TAT has passed first, then by increasing "limited until". */
static int64_t
rlocal_rank(const struct rlocal_entry *e, uint64_t now)
{
	if (e->tat <= now)
		return INT64_MIN;
	return (int64_t)e->tat - (int64_t)e->tol;
}

static void
rlocal_swap(int64_t *a, int64_t *b)
{
	int64_t t = *a;

	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (k < n), by quickselect; v is reordered. */
static int64_t
rlocal_select(int64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		int64_t pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				rlocal_swap(&v[i], &v[j]);
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Pass 1: every sender's rank; returns how many were read (at most cap). */
static size_t
rlocal_ranks(struct rlocal *table, uint64_t now, int64_t *ranks, size_t cap)
{
	size_t n = 0;

	for (unsigned s = 0; s < RLOCAL_SHARDS; s++) {
		GHashTableIter it;
		gpointer key, value;

		pthread_mutex_lock(&table->shards[s].lock);
		g_hash_table_iter_init(&it, table->shards[s].map);
		while (n < cap && g_hash_table_iter_next(&it, &key, &value))
			ranks[n++] = rlocal_rank(value, now);
		pthread_mutex_unlock(&table->shards[s].lock);
	}
	return n;
}

/*
 * Pass 2: drops senders ranked below threshold, and at it while ties lasts
 * (always at INT64_MIN).  One of the places freed stays reserved for the
 * caller, so a thread that reclaims cannot lose every place to others.
 */
static unsigned long
rlocal_drop(struct rlocal *table, uint64_t now, int64_t threshold, size_t ties)
{
	unsigned long dropped = 0;

	for (unsigned s = 0; s < RLOCAL_SHARDS; s++) {
		GHashTableIter it;
		gpointer key, value;

		pthread_mutex_lock(&table->shards[s].lock);
		g_hash_table_iter_init(&it, table->shards[s].map);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			int64_t rank = rlocal_rank(value, now);

			if (rank < threshold || rank == INT64_MIN || (rank == threshold && ties > 0)) {
				if (rank == threshold && rank != INT64_MIN)
					ties--;
				g_hash_table_iter_remove(&it);
				dropped++;
			}
		}
		pthread_mutex_unlock(&table->shards[s].lock);
	}
	if (dropped > 1)
		__atomic_fetch_sub(&table->count, dropped - 1, __ATOMIC_RELAXED);
	return dropped;
}

/* One place for the caller if the table has one free; false when it is full. */
static bool
rlocal_take_place(struct rlocal *table)
{
	unsigned long count = __atomic_load_n(&table->count, __ATOMIC_RELAXED);

	while (count < table->max)
		if (__atomic_compare_exchange_n(&table->count, &count, count + 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

/*
 * Frees at least max / RLOCAL_RECLAIM_DIVISOR places (all, if the table
 * holds fewer); true when one of them is reserved for the caller.  A
 * caller that waited for the lock while another reclaimed takes one of the
 * places freed there first: without that, threads queued behind a reclaim
 * found the table no longer full, freed nothing, and after a few rounds of
 * others taking the places gave up (a spurious 451 under contention).
 */
static bool
rlocal_reclaim(struct rlocal *table, uint64_t now)
{
	size_t want = table->max / RLOCAL_RECLAIM_DIVISOR ? table->max / RLOCAL_RECLAIM_DIVISOR : 1, n, below = 0;
	unsigned long dropped = 0;
	int64_t *ranks, threshold;

	pthread_mutex_lock(&table->reclaim_lock);
	if (rlocal_take_place(table)) {
		pthread_mutex_unlock(&table->reclaim_lock);
		return true;
	}
	table->reclaims++;
	ranks = malloc(table->max * sizeof(*ranks));
	if (!ranks) {
		dropped = rlocal_drop(table, now, INT64_MIN, 0);	/* out of memory: those that cost nothing */
	} else {
		n = rlocal_ranks(table, now, ranks, table->max);
		threshold = n > want ? rlocal_select(ranks, n, want - 1) : INT64_MAX;
		for (size_t i = 0; i < n; i++)
			below += ranks[i] < threshold;
		free(ranks);
		dropped = rlocal_drop(table, now, threshold, want > below ? want - below : 0);
	}
	pthread_mutex_unlock(&table->reclaim_lock);
	return dropped > 0;
}

/* A place for one more sender, reclaiming when the table is full; false when none can be had. */
static bool
rlocal_reserve(struct rlocal *table, uint64_t now)
{
	for (unsigned tries = 0; tries < 8; tries++)
		if (rlocal_take_place(table) || rlocal_reclaim(table, now))
			return true;
	return false;
}

/* A sender not seen yet: reserve, allocate outside the lock, then insert unless another thread did. */
static int
rlocal_insert(struct rlocal *table, struct rlocal_shard *shard, const char *key, uint64_t now, uint64_t interval,
	      uint64_t tau, uint64_t *retry_after, uint64_t *tat)
{
	size_t len = strlen(key);
	struct rlocal_entry *e, *found;
	int rc;

	if (!rlocal_reserve(table, now))
		return -1;
	if (!(e = malloc(sizeof(*e) + len + 1))) {
		__atomic_fetch_sub(&table->count, 1, __ATOMIC_RELAXED);
		return -1;
	}
	e->tat = 0;
	memcpy(e->key, key, len + 1);
	pthread_mutex_lock(&shard->lock);
	found = g_hash_table_lookup(shard->map, key);
	if (found) {
		free(e);
		__atomic_fetch_sub(&table->count, 1, __ATOMIC_RELAXED);
		e = found;
	} else
		g_hash_table_insert(shard->map, e->key, e);
	rc = rlocal_apply(e, now, interval, tau, retry_after, tat);
	pthread_mutex_unlock(&shard->lock);
	return rc;
}

int
rlocal_step(struct rlocal *table, const char *key, uint64_t now_us, uint64_t interval_us, uint64_t tau_us,
	    uint64_t *retry_after_us, uint64_t *tat_us)
{
	struct rlocal_shard *shard = rlocal_shard(table, key);
	struct rlocal_entry *e;
	int rc;

	pthread_mutex_lock(&shard->lock);
	e = g_hash_table_lookup(shard->map, key);
	if (e) {
		rc = rlocal_apply(e, now_us, interval_us, tau_us, retry_after_us, tat_us);
		pthread_mutex_unlock(&shard->lock);
		return rc;
	}
	pthread_mutex_unlock(&shard->lock);
	return rlocal_insert(table, shard, key, now_us, interval_us, tau_us, retry_after_us, tat_us);
}

void
rlocal_refund(struct rlocal *table, const char *key, uint64_t now_us, uint64_t interval_us, uint64_t charged_tat_us)
{
	struct rlocal_shard *shard = rlocal_shard(table, key);
	struct rlocal_entry *e;

	pthread_mutex_lock(&shard->lock);
	e = g_hash_table_lookup(shard->map, key);
	if (e)
		e->tat = gcra_refund(now_us, e->tat, interval_us, charged_tat_us);
	pthread_mutex_unlock(&shard->lock);
}

bool
rlocal_forget(struct rlocal *table, const char *key)
{
	struct rlocal_shard *shard = rlocal_shard(table, key);
	bool had;

	pthread_mutex_lock(&shard->lock);
	had = g_hash_table_remove(shard->map, key);
	pthread_mutex_unlock(&shard->lock);
	if (had)
		__atomic_fetch_sub(&table->count, 1, __ATOMIC_RELAXED);
	return had;
}

void
rlocal_each_limited(struct rlocal *table, uint64_t now_us, gcra_visit *visit, void *arg)
{
	for (unsigned s = 0; s < RLOCAL_SHARDS; s++) {
		GHashTableIter it;
		gpointer key, value;

		pthread_mutex_lock(&table->shards[s].lock);
		g_hash_table_iter_init(&it, table->shards[s].map);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			const struct rlocal_entry *e = value;

			if (e->tat > now_us && e->tat - now_us > e->tol)
				visit(arg, e->key, e->tat - e->tol - now_us);
		}
		pthread_mutex_unlock(&table->shards[s].lock);
	}
}

unsigned long
rlocal_count(struct rlocal *table)
{
	return __atomic_load_n(&table->count, __ATOMIC_RELAXED);
}

unsigned long
rlocal_reclaims(struct rlocal *table)
{
	unsigned long n;

	pthread_mutex_lock(&table->reclaim_lock);
	n = table->reclaims;
	pthread_mutex_unlock(&table->reclaim_lock);
	return n;
}
