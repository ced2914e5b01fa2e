/*
 * dbmap - Berkeley DB hash files; see dbmap.h.
 */
#include "config.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbmap.h"

struct dbmap_writer {
	DB *db;
	char *path;
	size_t count;
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

/* Cache beyond the data size keeps a bulk build in memory until close;
 * Postfix found hash builds degrade badly with a small pool. */
static u_int32_t
dbmap_cache_bytes(size_t bytes)
{
	size_t cache = bytes * 5 + (32u << 20);

	if (cache > (512u << 20))
		cache = 512u << 20;
	return (u_int32_t)cache;
}

#define DBMAP_PAGESIZE 4096

/* Records per bucket, as Berkeley DB's documentation computes it. */
static u_int32_t
dbmap_fill_factor(size_t entries, size_t bytes)
{
	size_t average = bytes / entries + 8;
	size_t factor = (DBMAP_PAGESIZE - 32) / average;

	return (u_int32_t)(factor < 1 ? 1 : factor);
}

struct dbmap_writer *
dbmap_create(const char *path, size_t entries, size_t bytes, char *err, size_t errlen)
{
	struct dbmap_writer *map = calloc(1, sizeof(*map));
	int rc;

	if (!map || !(map->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(map);
		return NULL;
	}
	if ((rc = db_create(&map->db, NULL, 0)) != 0)
		goto fail;
	map->db->set_errcall(map->db, dbmap_quiet);
	map->db->set_cachesize(map->db, 0, dbmap_cache_bytes(bytes), 1);
	map->db->set_pagesize(map->db, DBMAP_PAGESIZE);
	/* Berkeley DB sizes the table from h_nelem only when the fill factor is
	 * set too; without it a bulk build grows by splitting buckets. */
	if (entries > 0 && entries < UINT32_MAX) {
		map->db->set_h_ffactor(map->db, dbmap_fill_factor(entries, bytes));
		map->db->set_h_nelem(map->db, (u_int32_t)entries);
	}
	rc = map->db->open(map->db, NULL, path, NULL, DB_HASH, DB_CREATE | DB_EXCL, 0600);
	if (rc == 0)
		return map;
	map->db->close(map->db, 0);
	map->db = NULL;
fail:
	snprintf(err, errlen, "%s: %s", path, db_strerror(rc));
	free(map->path);
	free(map);
	return NULL;
}

int
dbmap_put(struct dbmap_writer *map, const void *key, size_t keylen,
	  const void *value, size_t valuelen)
{
	DBT k = { .data = (void *)key, .size = (u_int32_t)keylen };
	DBT v = { .data = (void *)value, .size = (u_int32_t)valuelen };
	int rc = map->db->put(map->db, NULL, &k, &v, DB_NOOVERWRITE);

	if (rc == DB_KEYEXIST)
		return 1;
	if (rc != 0)
		return -1;
	map->count++;
	return 0;
}

size_t
dbmap_count(const struct dbmap_writer *map)
{
	return map->count;
}

static int
dbmap_sync_file(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int saved;

	if (fd < 0)
		return -1;
	if (fchown(fd, uid, gid) < 0 && errno != EPERM)
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
	int rc = map->db->close(map->db, 0);

	map->db = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", map->path, db_strerror(rc));
		dbmap_discard(map);
		return -1;
	}
	if (dbmap_sync_file(map->path, mode, uid, gid) < 0) {
		snprintf(err, errlen, "%s: %s", map->path, strerror(errno));
		dbmap_discard(map);
		return -1;
	}
	free(map->path);
	free(map);
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
	free(map->path);
	free(map);
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
