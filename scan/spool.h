/*
 * spool - one message, collected once, read as often as the scanners need.
 *
 * Promise: a spool holds up to mem_max bytes in memory; the first append
 * past that moves everything into a temporary file in the spool directory
 * that has no name (O_TMPFILE, else unlinked at once), so nothing is left
 * on disk whatever becomes of the process.  Memory stays bounded by
 * mem_max plus one copy buffer, however large the message.  A failed
 * append (disk full) leaves the spool unusable and is reported, never
 * silently truncated: the caller must not scan a partial message.
 */
#ifndef HM_SPOOL_H
#define HM_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spool;

struct spool *spool_new(const char *dir, size_t mem_max);
void spool_free(struct spool *spool);

/* The size the sender declared (ESMTP SIZE=), before the first append: a
 * hint that saves copies.  Memory for it (and what Sendmail adds) is taken
 * at once, or a message declared larger than mem_max starts in its file.
 * A wrong hint costs at most mem_max of memory and never changes what is
 * stored.  0, or -1 with errno as spool_append. */
int spool_expect(struct spool *spool, uint64_t size);
/* 0, or -1 with errno; after a failure every later append fails too. */
int spool_append(struct spool *spool, const void *data, size_t len);
uint64_t spool_size(const struct spool *spool);

/* Up to len bytes at offset: the count read, 0 at the end, -1 on error. */
ssize_t spool_read(const struct spool *spool, uint64_t offset, void *buf, size_t len);
/* The bytes when the message is in memory, else NULL. */
const unsigned char *spool_memory(const struct spool *spool);
/* The file when the message went to disk, else -1; owned by the spool. */
int spool_fd(const struct spool *spool);
/*
 * A spool over size bytes of a file another process wrote (a scan
 * worker's request, workers.h): read-only, it takes fd and closes it when
 * freed; NULL with errno (fd then stays the caller's).
 */
struct spool *spool_adopt(int fd, uint64_t size);

#endif
