/*
 * spool - one message in memory or in a nameless file; see spool.h.
 */
#define _GNU_SOURCE	/* O_TMPFILE */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

struct spool {
	char dir[PATH_MAX];
	size_t mem_max;
	unsigned char *mem;
	size_t mem_cap;
	uint64_t size;
	int fd;
	bool failed;
};

struct spool *
spool_new(const char *dir, size_t mem_max)
{
	struct spool *spool = calloc(1, sizeof(*spool));

	if (!spool)
		return NULL;
	if (strlen(dir) >= sizeof(spool->dir)) {
		free(spool);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(spool->dir, dir);
	spool->mem_max = mem_max;
	spool->fd = -1;
	return spool;
}

void
spool_free(struct spool *spool)
{
	if (!spool)
		return;
	if (spool->fd >= 0)
		close(spool->fd);
	free(spool->mem);
	free(spool);
}

/* A file no other process can open by name: O_TMPFILE where the file
 * system has it, else mkstemp and unlink before the first byte. */
static int
spool_open_file(const char *dir)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (snprintf(path, sizeof(path), "%s/hostmilter.XXXXXX", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int
spool_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
spool_to_file(struct spool *spool)
{
	spool->fd = spool_open_file(spool->dir);
	if (spool->fd < 0 || spool_write_all(spool->fd, spool->mem, (size_t)spool->size) < 0)
		return -1;
	free(spool->mem);
	spool->mem = NULL;
	spool->mem_cap = 0;
	return 0;
}

static int
spool_grow(struct spool *spool, size_t need)
{
	size_t cap = spool->mem_cap ? spool->mem_cap : 8192;
	unsigned char *mem;

	while (cap < need)
		cap *= 2;
	if (cap > spool->mem_max)
		cap = spool->mem_max;
	mem = realloc(spool->mem, cap);
	if (!mem)
		return -1;
	spool->mem = mem;
	spool->mem_cap = cap;
	return 0;
}

#define SPOOL_HEADROOM 4096	/* for the Received: and other headers Sendmail adds to the declared size */

int
spool_expect(struct spool *spool, uint64_t size)
{
	int rc = 0;

	if (spool->failed || spool->size > 0 || spool->fd >= 0 || size == 0)
		return spool->failed ? -1 : 0;
	if (size >= spool->mem_max || spool->mem_max - size < SPOOL_HEADROOM)
		rc = spool_to_file(spool);
	else if (size + SPOOL_HEADROOM > spool->mem_cap) {
		unsigned char *mem = realloc(spool->mem, (size_t)size + SPOOL_HEADROOM);

		rc = mem ? 0 : -1;
		if (mem) {
			spool->mem = mem;
			spool->mem_cap = (size_t)size + SPOOL_HEADROOM;
		}
	}
	if (rc < 0)
		spool->failed = true;
	return rc;
}

int
spool_append(struct spool *spool, const void *data, size_t len)
{
	int rc = 0;

	if (spool->failed) {
		errno = EIO;
		return -1;
	}
	if (spool->fd < 0 && spool->size + len > spool->mem_max)
		rc = spool_to_file(spool);
	if (rc == 0 && spool->fd >= 0)
		rc = spool_write_all(spool->fd, data, len);
	else if (rc == 0 && len > 0) {
		rc = spool->size + len > spool->mem_cap ? spool_grow(spool, (size_t)spool->size + len) : 0;
		if (rc == 0)
			memcpy(spool->mem + spool->size, data, len);
	}
	if (rc < 0) {
		int saved = errno;

		spool->failed = true;
		errno = saved ? saved : EIO;
		return -1;
	}
	spool->size += len;
	return 0;
}

uint64_t
spool_size(const struct spool *spool)
{
	return spool->size;
}

ssize_t
spool_read(const struct spool *spool, uint64_t offset, void *buf, size_t len)
{
	if (spool->failed) {
		errno = EIO;
		return -1;
	}
	if (offset >= spool->size)
		return 0;
	if (len > spool->size - offset)
		len = (size_t)(spool->size - offset);
	if (spool->fd < 0) {
		memcpy(buf, spool->mem + offset, len);
		return (ssize_t)len;
	}
	for (;;) {
		ssize_t n = pread(spool->fd, buf, len, (off_t)offset);

		if (n >= 0 || errno != EINTR)
			return n;
	}
}

const unsigned char *
spool_memory(const struct spool *spool)
{
	static const unsigned char empty[1];

	if (spool->fd >= 0 || spool->failed)
		return NULL;
	return spool->mem ? spool->mem : empty;
}

struct spool *
spool_adopt(int fd, uint64_t size)
{
	struct spool *spool = calloc(1, sizeof(*spool));

	if (!spool)
		return NULL;
	spool->fd = fd;
	spool->size = size;
	spool->mem_max = 0;	/* an append would go to this file: nobody appends to an adopted spool */
	return spool;
}

int
spool_fd(const struct spool *spool)
{
	return spool->failed ? -1 : spool->fd;
}
