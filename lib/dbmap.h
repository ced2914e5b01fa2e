/*
 * dbmap - Berkeley DB hash files as Sendmail and hostmilter read them.
 *
 * Promise: a writer creates a new file at a path that must not exist yet
 * (O_EXCL through DB_CREATE|DB_EXCL, so a planted link is refused), stores
 * bytes exactly as given, keeps the first of records with the same key, and
 * on dbmap_finish leaves a complete file flushed to disk with the owner and
 * mode asked for; the caller renames it into place.  Puts are queued (the
 * writer copies them) and stored at dbmap_finish, so a duplicate key shows
 * there: reported to the dbmap_on_duplicate callback, or an error without
 * one.  A writer that is discarded, or whose finish fails, leaves nothing.
 * Readers open read-only and free-threaded, and hand out copies the caller
 * frees.  Key conventions (folding, trailing NULs) are the caller's.
 */
#ifndef HM_DBMAP_H
#define HM_DBMAP_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct dbmap_writer;
struct dbmap_reader;

/* entries and bytes (keys plus values) estimate what will be put. */
struct dbmap_writer *dbmap_create(const char *path, size_t entries, size_t bytes,
				  char *err, size_t errlen);
typedef void (*dbmap_duplicate_fn)(const void *key, size_t keylen, void *context);
void dbmap_on_duplicate(struct dbmap_writer *map, dbmap_duplicate_fn fn, void *context);
/* 0 queued, -1 with errno (ENOMEM, EFBIG). */
int dbmap_put(struct dbmap_writer *map, const void *key, size_t keylen,
	      const void *value, size_t valuelen);
/* The same without a copy: key and value must stay as they are until dbmap_finish or dbmap_discard. */
int dbmap_put_ref(struct dbmap_writer *map, const void *key, size_t keylen,
		  const void *value, size_t valuelen);
/* Store, flush, set mode and owner, fsync, close, free.  0 or -1 with err
 * filled in (the file is then removed and the writer freed). */
int dbmap_finish(struct dbmap_writer *map, mode_t mode, uid_t uid, gid_t gid,
		 char *err, size_t errlen);
void dbmap_discard(struct dbmap_writer *map);

struct dbmap_reader *dbmap_open(const char *path, char *err, size_t errlen);
/* 0 found (*value malloc'ed, caller frees), 1 not found, -1 error. */
int dbmap_get(struct dbmap_reader *map, const void *key, size_t keylen,
	      char **value, size_t *valuelen);
typedef int (*dbmap_each_fn)(const void *key, size_t keylen, const void *value,
			     size_t valuelen, void *context);
/* Calls fn for every record until it returns non-zero; -1 on a read error. */
int dbmap_each(struct dbmap_reader *map, dbmap_each_fn fn, void *context);
void dbmap_close(struct dbmap_reader *map);

#endif
