/*
 * dbmap - Berkeley DB hash files; see dbmap.h.
 *
 * A writer queues its records and stores them at dbmap_finish in the order
 * of the hash buckets they land in.  Stored in arrival order, a million
 * records touch the pages of a 100 MB file at random, so every put pays for
 * a cache miss in the buffer pool, and the pool must hold the whole file.
 * In bucket order each page is filled once and then left alone: the pool
 * can be small, and its evictions write the file front to back.  Measured
 * on hostmapgen's 1,000,000-address bench: hostmilter.db's build takes
 * about half the CPU time it took in arrival order (mapgen-bench).
 *
 * The writer knows the table's size (dbmap_open_new), so it knows each
 * record's bucket: a counting sort on the bucket then orders
 * the queue in one pass, over 4-byte indexes, where a radix sort of whole
 * records took four passes and a second copy of the queue.  Fresh memory
 * is dear here (the kernel zeroes every page first touched), and the
 * queue is the largest part of a build's.
 */
#include "config.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbmap.h"

/* A queued record, in arrival order: its key and value, the caller's
 * (dbmap_put_ref) or, with DBMAP_COPIED in keylen, offsets into bytes. */
struct dbmap_pending {
	uintptr_t key, value;
	uint32_t keylen, valuelen;
};

#define DBMAP_COPIED 0x80000000u
#define DBMAP_LEN_MAX 0x7fffffffu	/* the bit above is DBMAP_COPIED; Sendmail reads far less */

struct dbmap_writer {
	DB *db;
	char *path;
	uint32_t buckets;	/* the table's size, a power of two (dbmap_open_new) */
	size_t ffactor;		/* its fill factor, 0 when Berkeley DB's own */
	off_t size;		/* the file's as created, 0 when unknown (dbmap_unextend) */
	char *bytes;
	size_t bytes_len, bytes_cap;
	struct dbmap_pending *pending;
	size_t npending, pending_cap;
	dbmap_duplicate_fn on_duplicate;
	void *context;
};

struct dbmap_reader {
	DB *db;
};

/* Callers report failures from return codes; Berkeley DB's own chatter on
 * stderr would only duplicate them (or reach a milter's closed stderr). */
static void
dbmap_quiet(const DB_ENV *env, const char *prefix, const char *message)
{
}

/* Records arrive in bucket order (dbmap_finish), so the pool only needs
 * the pages being filled; a larger one spends its time faulting in memory
 * that each page visits once.  Of 1 to 512 MB, 4 to 16 MB were fastest
 * on mapgen-bench; 512 MB took half as long again in hostmilter.db. */
#define DBMAP_CACHE_BYTES (8u << 20)
#define DBMAP_PAGESIZE 4096
/* What a hash page holds of its records: less its header, with room to spare. */
#define DBMAP_PAGE_ROOM (DBMAP_PAGESIZE - 128)
/* What a writer reserves up front from its caller's estimate, at most. */
#define DBMAP_RESERVE_MAX ((size_t)1 << 30)

/* Records per bucket, as Berkeley DB's documentation computes it. */
static size_t
dbmap_fill_factor(size_t entries, size_t bytes)
{
	size_t average = bytes / entries + 8;
	size_t factor = (DBMAP_PAGESIZE - 32) / average;

	return factor < 1 ? 1 : factor;
}

/* The buckets Berkeley DB would make for entries at that fill factor
 * (__ham_init_meta: a power of two, at least 2); 2 without an estimate. */
static uint32_t
dbmap_table_size(size_t entries, size_t bytes)
{
	size_t want, buckets = 2;

	if (entries == 0 || entries >= UINT32_MAX)
		return 2;
	want = (entries - 1) / dbmap_fill_factor(entries, bytes) + 1;
	while (buckets < want && buckets < ((size_t)1 << 31))
		buckets <<= 1;
	return (uint32_t)buckets;
}

/* Room for `need` more items of `size` bytes; false when memory runs out. */
static bool
dbmap_reserve(void **array, size_t *cap, size_t used, size_t need, size_t size)
{
	size_t want = *cap ? *cap : 1024;
	void *grown;

	if (used + need <= *cap && *array)	/* never memcpy to NULL, even 0 bytes */
		return true;
	while (want < used + need) {
		if (want > SIZE_MAX / 2 / size)
			return false;
		want *= 2;
	}
	if (!(grown = realloc(*array, want * size)))
		return false;
	*array = grown;
	*cap = want;
	return true;
}

static size_t
dbmap_estimate(size_t estimate, size_t size)
{
	return estimate > DBMAP_RESERVE_MAX / size ? DBMAP_RESERVE_MAX / size : estimate;
}

/*
 * Berkeley DB sizes the table from h_nelem only when the fill factor is
 * set too (without it a bulk build grows by splitting buckets): it makes
 * (h_nelem - 1) / h_ffactor + 1 buckets, rounded up to a power of two, as
 * dbmap_table_size computes.  h_nelem also starts the count of items that
 * db_dump prints, so it stays the estimate as given.
 */
static DB *
dbmap_open_new(const char *path, size_t entries, size_t bytes, int *rc)
{
	DB *db;

	if ((*rc = db_create(&db, NULL, 0)) != 0)
		return NULL;
	db->set_errcall(db, dbmap_quiet);
	db->set_cachesize(db, 0, DBMAP_CACHE_BYTES, 1);
	db->set_pagesize(db, DBMAP_PAGESIZE);
	if (entries > 0 && entries < UINT32_MAX) {
		db->set_h_ffactor(db, (u_int32_t)dbmap_fill_factor(entries, bytes));
		db->set_h_nelem(db, (u_int32_t)entries);
	}
	if ((*rc = db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE | DB_EXCL, 0600)) == 0)
		return db;
	db->close(db, 0);
	return NULL;
}

/*
 * Berkeley DB writes the table's last page when it creates the file, so
 * each bucket page the build fetches lies inside the file, in a hole: the
 * kernel zeroes a page cache page for it (and reads ahead, zeroing more)
 * and copies it out, about a sixth of hostmilter.db's build on the bench.
 * Cut back to its first page, the file ends before the pages being
 * filled, a read there comes back empty, and Berkeley DB clears the page
 * itself, as it does for a hole (its hash pages are fetched with
 * DB_MPOOL_CREATE).  dbmap_sync_file gives the file its size back, so
 * that readers find every bucket page of the table even when the last
 * ones stayed empty.  Where this fails the build only keeps its reads.
 */
static void
dbmap_unextend(struct dbmap_writer *map)
{
	struct stat st;
	int fd;

	if (map->db->fd(map->db, &fd) == 0 && fstat(fd, &st) == 0 && st.st_size > DBMAP_PAGESIZE
	    && ftruncate(fd, DBMAP_PAGESIZE) == 0)
		map->size = st.st_size;
}

struct dbmap_writer *
dbmap_create(const char *path, size_t entries, size_t bytes, char *err, size_t errlen)
{
	struct dbmap_writer *map = calloc(1, sizeof(*map));
	int rc = ENOMEM;

	if (!map || !(map->path = strdup(path))
	    || !dbmap_reserve((void **)&map->pending, &map->pending_cap, 0,
			      dbmap_estimate(entries, sizeof(*map->pending)), sizeof(*map->pending))
	    || !dbmap_reserve((void **)&map->bytes, &map->bytes_cap, 0, dbmap_estimate(bytes, 1), 1)) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	map->buckets = dbmap_table_size(entries, bytes);
	map->ffactor = entries > 0 && entries < UINT32_MAX ? dbmap_fill_factor(entries, bytes) : 0;
	if ((map->db = dbmap_open_new(path, entries, bytes, &rc)) != NULL) {
		dbmap_unextend(map);
		return map;
	}
	snprintf(err, errlen, "%s: %s", path, db_strerror(rc));
fail:
	if (map) {
		free(map->pending);
		free(map->bytes);
		free(map->path);
	}
	free(map);
	return NULL;
}

void
dbmap_on_duplicate(struct dbmap_writer *map, dbmap_duplicate_fn fn, void *context)
{
	map->on_duplicate = fn;
	map->context = context;
}

/*
 * Berkeley DB 5.3's default hash (__ham_func5 in hash_func.c: FNV-1 from
 * zero).  A record's bucket is its low bits (__ham_call_hash), as many as
 * the table has buckets (dbmap_table_size).  Should a Berkeley DB hash
 * differently, the order only loses its speed, never a record.
 */
static uint32_t
dbmap_hash(const unsigned char *key, size_t len)
{
	uint32_t h = 0;

	for (size_t i = 0; i < len; i++) {
		h *= 16777619;
		h ^= key[i];
	}
	return h;
}

static uint32_t
dbmap_reverse_bits(uint32_t h)
{
	h = ((h >> 1) & 0x55555555u) | ((h & 0x55555555u) << 1);
	h = ((h >> 2) & 0x33333333u) | ((h & 0x33333333u) << 2);
	h = ((h >> 4) & 0x0F0F0F0Fu) | ((h & 0x0F0F0F0Fu) << 4);
	h = ((h >> 8) & 0x00FF00FFu) | ((h & 0x00FF00FFu) << 8);
	return (h >> 16) | (h << 16);
}

/* A record's next place in the queue; false when it cannot have one. */
static struct dbmap_pending *
dbmap_queue(struct dbmap_writer *map, size_t keylen, size_t valuelen)
{
	if (keylen > DBMAP_LEN_MAX || valuelen > DBMAP_LEN_MAX || map->npending >= UINT32_MAX) {
		errno = EFBIG;
		return NULL;
	}
	if (!dbmap_reserve((void **)&map->pending, &map->pending_cap, map->npending, 1, sizeof(*map->pending))) {
		errno = ENOMEM;
		return NULL;
	}
	return &map->pending[map->npending++];
}

int
dbmap_put(struct dbmap_writer *map, const void *key, size_t keylen,
	  const void *value, size_t valuelen)
{
	struct dbmap_pending *record;

	if (keylen <= DBMAP_LEN_MAX && valuelen <= DBMAP_LEN_MAX
	    && !dbmap_reserve((void **)&map->bytes, &map->bytes_cap, map->bytes_len, keylen + valuelen, 1)) {
		errno = ENOMEM;
		return -1;
	}
	if (!(record = dbmap_queue(map, keylen, valuelen)))
		return -1;
	*record = (struct dbmap_pending){ .key = map->bytes_len, .value = map->bytes_len + keylen,
		.keylen = (uint32_t)keylen | DBMAP_COPIED, .valuelen = (uint32_t)valuelen };
	memcpy(map->bytes + map->bytes_len, key, keylen);
	memcpy(map->bytes + map->bytes_len + keylen, value, valuelen);
	map->bytes_len += keylen + valuelen;
	return 0;
}

int
dbmap_put_ref(struct dbmap_writer *map, const void *key, size_t keylen, const void *value, size_t valuelen)
{
	struct dbmap_pending *record = dbmap_queue(map, keylen, valuelen);

	if (!record)
		return -1;
	*record = (struct dbmap_pending){ .key = (uintptr_t)key, .value = (uintptr_t)value,
		.keylen = (uint32_t)keylen, .valuelen = (uint32_t)valuelen };
	return 0;
}

/* A record's key or value: copied bytes move while the queue grows, so they are found by offset. */
static const char *
dbmap_at(const struct dbmap_writer *map, const struct dbmap_pending *record, uintptr_t where)
{
	return record->keylen & DBMAP_COPIED ? map->bytes + where : (const char *)where;
}

/*
 * Within a bucket, records go in by their hash with its bits reversed (a
 * bucket that outgrows its page spills those put last to an overflow
 * page, so this order decides which), then in arrival order: the order
 * of the sort over the whole hash this replaces, so the files come out
 * the same as before, page for page.  Of two records with one key the
 * first queued is stored first and wins, as when put directly.
 */
static void
dbmap_sort_bucket(uint64_t *from, const uint64_t *to)
{
	for (uint64_t *p = from + 1; p < to; p++) {
		uint64_t item = *p, *q = p;

		for (; q > from && q[-1] > item; q--)
			*q = q[-1];
		*q = item;
	}
}

/*
 * Where each bucket's records go in the order: ascending, but crowded
 * buckets last.  A put on a page with more records than the fill factor
 * splits a bucket, and the first split of a doubling writes that
 * doubling's last page, far beyond the pages being filled; a bucket that
 * outgrows its page, or a record too big for one, takes a page from the
 * end of the file.  Either puts the pages still to fill in a hole again
 * (dbmap_unextend); last, they only read back the few buckets split.  The
 * buckets split are the lowest ones whatever the order, and Berkeley DB
 * keeps a page's records sorted, so the file holds the same pages.
 * bytes: each bucket's records' sizes, plus Berkeley DB's 6 bytes a pair.
 */
static void
dbmap_place_buckets(const struct dbmap_writer *map, const size_t *count, const size_t *bytes, size_t *first)
{
	size_t at = 0;

	for (int crowded = 0; crowded < 2; crowded++)
		for (size_t b = 0; b < map->buckets; b++)
			if (((map->ffactor && count[b] > map->ffactor) || bytes[b] > DBMAP_PAGE_ROOM) == crowded) {
				first[b] = at;
				at += count[b];
			}
}

/* The queue in bucket order, as (reversed hash << 32 | index) (caller
 * frees); NULL when memory runs out.  A counting sort on the bucket, in
 * one pass, then each bucket's few records sorted in place. */
static uint64_t *
dbmap_order_pending(const struct dbmap_writer *map)
{
	size_t n = map->npending;
	uint32_t *hash = malloc(n * sizeof(*hash) + 1), mask = map->buckets - 1;
	uint64_t *order = calloc(n + 1, sizeof(*order));	/* calloc: clang-analyzer cannot tell the scatter fills it */
	size_t *count = calloc(map->buckets, sizeof(*count)), *first = malloc(map->buckets * sizeof(*first));
	size_t *next = malloc(map->buckets * sizeof(*next)), *bytes = calloc(map->buckets, sizeof(*bytes));

	if (!hash || !order || !count || !first || !next || !bytes) {
		free(hash), free(order), free(count), free(first), free(next), free(bytes);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dbmap_pending *record = &map->pending[i];
		size_t keylen = record->keylen & ~DBMAP_COPIED;

		hash[i] = dbmap_hash((const unsigned char *)dbmap_at(map, record, record->key), keylen);
		count[hash[i] & mask]++;
		/* A big record goes to a page of its own: its bucket counts as full. */
		bytes[hash[i] & mask] += keylen + record->valuelen > DBMAP_PAGESIZE / 8 ? DBMAP_PAGESIZE
			: keylen + record->valuelen + 6;
	}
	dbmap_place_buckets(map, count, bytes, first);
	memcpy(next, first, map->buckets * sizeof(*next));
	for (size_t i = 0; i < n; i++)
		order[next[hash[i] & mask]++] = (uint64_t)dbmap_reverse_bits(hash[i]) << 32 | i;
	for (size_t b = 0; b < map->buckets; b++)
		dbmap_sort_bucket(order + first[b], order + next[b]);
	free(hash), free(count), free(first), free(next), free(bytes);
	return order;
}

/* How far ahead the queue's records, then their keys, are fetched: both
 * are read at random, and fetching ahead lets those cache misses overlap. */
#define DBMAP_PREFETCH_AHEAD 16

/*
 * The queue rearranged in bucket order, its keys and values as addresses.
 * Gathered in a loop of its own, the records' cache misses overlap each
 * other; read through the order while storing, each stalled a put (a
 * quarter of hostmilter.db's build on the bench).  False when memory runs
 * out.
 */
static bool
dbmap_sort_pending(struct dbmap_writer *map)
{
	uint64_t *order = dbmap_order_pending(map);
	struct dbmap_pending *sorted = order ? malloc(map->npending * sizeof(*sorted) + 1) : NULL;

	if (!sorted) {
		free(order);
		return false;
	}
	for (size_t i = 0; i < map->npending; i++) {
		const struct dbmap_pending *record = &map->pending[(uint32_t)order[i]];

#if defined(__GNUC__)
		if (i + DBMAP_PREFETCH_AHEAD < map->npending)
			__builtin_prefetch(&map->pending[(uint32_t)order[i + DBMAP_PREFETCH_AHEAD]]);
#endif
		sorted[i] = (struct dbmap_pending){ .key = (uintptr_t)dbmap_at(map, record, record->key),
			.value = (uintptr_t)dbmap_at(map, record, record->value),
			.keylen = record->keylen & ~DBMAP_COPIED, .valuelen = record->valuelen };
	}
	free(order);
	free(map->pending);
	map->pending = sorted;
	map->pending_cap = map->npending;
	return true;
}

static int
dbmap_store_pending(struct dbmap_writer *map, char *err, size_t errlen)
{
	for (size_t i = 0; i < map->npending; i++) {
		const struct dbmap_pending *record = &map->pending[i];	/* sorted: every address its own */
		DBT k = { .data = (char *)record->key, .size = record->keylen };
		DBT v = { .data = (char *)record->value, .size = record->valuelen };
		int rc;

#if defined(__GNUC__)
		if (i + DBMAP_PREFETCH_AHEAD < map->npending)
			__builtin_prefetch((const char *)map->pending[i + DBMAP_PREFETCH_AHEAD].key);
#endif
		rc = map->db->put(map->db, NULL, &k, &v, DB_NOOVERWRITE);
		if (rc == DB_KEYEXIST && map->on_duplicate) {
			map->on_duplicate(k.data, k.size, map->context);
			continue;
		}
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", map->path,
				 rc == DB_KEYEXIST ? "duplicate key" : db_strerror(rc));
			return -1;
		}
	}
	return 0;
}

static void
dbmap_free(struct dbmap_writer *map)
{
	free(map->pending);
	free(map->bytes);
	free(map->path);
	free(map);
}

/* size: at least this long (dbmap_unextend), or 0. */
static int
dbmap_sync_file(const char *path, off_t size, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int saved;

	if (fd < 0)
		return -1;
	if (fchown(fd, uid, gid) < 0 && errno != EPERM)
		goto fail;
	if (fstat(fd, &st) < 0 || (st.st_size < size && ftruncate(fd, size) < 0))
		goto fail;
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto fail;
	return close(fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
dbmap_finish(struct dbmap_writer *map, mode_t mode, uid_t uid, gid_t gid,
	     char *err, size_t errlen)
{
	int rc;

	if (!dbmap_sort_pending(map)) {
		snprintf(err, errlen, "%s: out of memory", map->path);
		dbmap_discard(map);
		return -1;
	}
	if (dbmap_store_pending(map, err, errlen) < 0) {
		dbmap_discard(map);
		return -1;
	}
	rc = map->db->close(map->db, 0);
	map->db = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", map->path, db_strerror(rc));
		dbmap_discard(map);
		return -1;
	}
	if (dbmap_sync_file(map->path, map->size, mode, uid, gid) < 0) {
		snprintf(err, errlen, "%s: %s", map->path, strerror(errno));
		dbmap_discard(map);
		return -1;
	}
	dbmap_free(map);
	return 0;
}

void
dbmap_discard(struct dbmap_writer *map)
{
	if (!map)
		return;
	if (map->db)
		map->db->close(map->db, DB_NOSYNC);
	unlink(map->path);
	dbmap_free(map);
}

struct dbmap_reader *
dbmap_open(const char *path, char *err, size_t errlen)
{
	struct dbmap_reader *map = calloc(1, sizeof(*map));
	int rc;

	if (!map) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rc = db_create(&map->db, NULL, 0)) == 0) {
		map->db->set_errcall(map->db, dbmap_quiet);
		rc = map->db->open(map->db, NULL, path, NULL, DB_HASH, DB_RDONLY | DB_THREAD, 0);
		if (rc == 0)
			return map;
		map->db->close(map->db, 0);
	}
	snprintf(err, errlen, "%s: %s", path, rc == ENOENT ? strerror(rc) : db_strerror(rc));
	free(map);
	return NULL;
}

int
dbmap_get(struct dbmap_reader *map, const void *key, size_t keylen,
	  char **value, size_t *valuelen)
{
	DBT k = { .data = (void *)key, .size = (u_int32_t)keylen };
	DBT v = { .flags = DB_DBT_MALLOC };
	int rc = map->db->get(map->db, NULL, &k, &v, 0);

	if (rc == DB_NOTFOUND)
		return 1;
	if (rc != 0)
		return -1;
	*value = v.data;
	*valuelen = v.size;
	return 0;
}

int
dbmap_each(struct dbmap_reader *map, dbmap_each_fn fn, void *context)
{
	DBC *cursor;
	DBT k = { .flags = DB_DBT_REALLOC }, v = { .flags = DB_DBT_REALLOC };
	int rc, stop = 0;

	if (map->db->cursor(map->db, NULL, &cursor, 0) != 0)
		return -1;
	while (!stop && (rc = cursor->get(cursor, &k, &v, DB_NEXT)) == 0)
		stop = fn(k.data, k.size, v.data, v.size, context);
	cursor->close(cursor);
	free(k.data);
	free(v.data);
	return stop || rc == DB_NOTFOUND ? 0 : -1;
}

void
dbmap_close(struct dbmap_reader *map)
{
	if (!map)
		return;
	map->db->close(map->db, 0);
	free(map);
}
