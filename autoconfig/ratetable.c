/*
 * ratetable - requests per client; see ratetable.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ratetable.h"

#define FILE_MAGIC 0x68616372u	/* "hacr" */
#define FILE_VERSION 1u

struct slot {
	uint8_t key[8];		/* IPv4 address, or the IPv6 /64 */
	uint8_t family;		/* 0: free */
	uint8_t pad[7];
	int64_t tat;		/* theoretical arrival time, ms */
};

struct header {
	uint32_t magic, version, slots, pad;
	uint64_t seed;
};

struct ratetable {
	struct header *header;
	struct slot *slots;
	int64_t interval;
	unsigned burst;
	int fd;			/* -1 in memory */
	size_t mapped;		/* bytes mapped from fd */
};

int64_t
ratetable_gcra(int64_t *tat, int64_t now, int64_t interval, unsigned burst)
{
	int64_t allowance = interval * (int64_t)(burst ? burst - 1 : 0);

	if (*tat < now)
		*tat = now;
	else if (*tat - now > allowance + interval)
		*tat = now + allowance + interval;	/* the clock went back: one burst's wait at most */
	if (*tat - now > allowance)
		return *tat - now - allowance;
	*tat += interval;
	return 0;
}

int64_t
ratetable_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)ratetable_now_ms() * 6364136223846793005u ^ (uint64_t)getpid();
	return seed;
}

static void
header_init(struct header *header, unsigned slots)
{
	*header = (struct header){ FILE_MAGIC, FILE_VERSION, slots, 0, random_seed() };
}

static struct ratetable *
table_new(unsigned per_minute, unsigned burst)
{
	struct ratetable *table = calloc(1, sizeof(*table));

	if (!table)
		return NULL;
	table->interval = per_minute ? 60000 / per_minute : 60000;
	if (table->interval < 1)
		table->interval = 1;
	table->burst = burst ? burst : 1;
	table->fd = -1;
	return table;
}

struct ratetable *
ratetable_new(unsigned per_minute, unsigned burst, unsigned slots)
{
	struct ratetable *table = table_new(per_minute, burst);

	if (!table)
		return NULL;
	table->header = calloc(1, sizeof(*table->header));
	table->slots = calloc(slots ? slots : 1, sizeof(struct slot));
	if (!table->header || !table->slots) {
		ratetable_free(table);
		return NULL;
	}
	header_init(table->header, slots ? slots : 1);
	return table;
}

/* A file only this user may change: regular, ours, not group- or world-writable. */
static int
check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "%s: not a regular file of this user that only it may write", path);
		return -1;
	}
	return 0;
}

/* Sizes and initialises the file when it is not a table of ours with this many slots (under the lock). */
static int
prepare_file(int fd, size_t bytes)
{
	struct stat st;
	struct header header;

	if (fstat(fd, &st) < 0)
		return -1;
	if ((size_t)st.st_size == bytes && pread(fd, &header, sizeof(header), 0) == (ssize_t)sizeof(header)
	    && header.magic == FILE_MAGIC && header.version == FILE_VERSION && header.slots == RATETABLE_FILE_SLOTS)
		return 0;
	header_init(&header, RATETABLE_FILE_SLOTS);
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)bytes) < 0
	    || pwrite(fd, &header, sizeof(header), 0) != (ssize_t)sizeof(header))
		return -1;
	return 0;
}

struct ratetable *
ratetable_open_file(const char *path, unsigned per_minute, unsigned burst, char *err, size_t errlen)
{
	struct ratetable *table = table_new(per_minute, burst);
	size_t bytes = sizeof(struct header) + RATETABLE_FILE_SLOTS * sizeof(struct slot);
	void *map;

	if (!table) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	table->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (table->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (check_file(table->fd, path, err, errlen) < 0)
		goto fail;
	if (flock(table->fd, LOCK_EX) < 0 || prepare_file(table->fd, bytes) < 0
	    || (map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, table->fd, 0)) == MAP_FAILED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	flock(table->fd, LOCK_UN);
	table->mapped = bytes;
	table->header = map;
	table->slots = (struct slot *)((char *)map + sizeof(struct header));
	return table;
fail:
	ratetable_free(table);
	return NULL;
}

void
ratetable_free(struct ratetable *table)
{
	if (!table)
		return;
	if (table->fd >= 0) {
		if (table->mapped)
			munmap(table->header, table->mapped);
		close(table->fd);
	} else {
		free(table->header);
		free(table->slots);
	}
	free(table);
}

/* The client's key: its IPv4 address, or its IPv6 /64 (an IPv4-mapped one is IPv4). */
static uint8_t
client_key(int family, const uint8_t addr[16], uint8_t key[8])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, 8);
	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memcpy(key, addr + 12, 4);
		return 4;
	}
	if (family == AF_INET) {
		memcpy(key, addr, 4);
		return 4;
	}
	memcpy(key, addr, 8);
	return 6;
}

static uint64_t
slot_hash(uint64_t seed, uint8_t family, const uint8_t key[8])
{
	uint64_t h = seed ^ 14695981039346656037u;

	h = (h ^ family) * 1099511628211u;
	for (int i = 0; i < 8; i++)
		h = (h ^ key[i]) * 1099511628211u;
	return h ^ (h >> 29);
}

/* The client's slot: its own, else a free one, else the one with the most allowance left. */
static struct slot *
find_slot(struct ratetable *table, uint8_t family, const uint8_t key[8])
{
	uint32_t n = table->header->slots;
	uint64_t start = slot_hash(table->header->seed, family, key) % n;
	struct slot *victim = &table->slots[start];	/* n >= 1 */

	for (unsigned i = 0; i < RATETABLE_PROBES && i < n; i++) {
		struct slot *slot = &table->slots[(start + i) % n];

		if (slot->family == family && memcmp(slot->key, key, 8) == 0)
			return slot;
		if (victim->family && (!slot->family || slot->tat < victim->tat))
			victim = slot;
	}
	victim->family = family;
	memcpy(victim->key, key, 8);
	victim->tat = 0;
	return victim;
}

unsigned
ratetable_charge(struct ratetable *table, int family, const uint8_t addr[16], int64_t now_ms)
{
	uint8_t key[8];
	uint8_t kind = client_key(family, addr, key);
	int64_t wait;

	if (table->fd >= 0)
		flock(table->fd, LOCK_EX);
	wait = ratetable_gcra(&find_slot(table, kind, key)->tat, now_ms, table->interval, table->burst);
	if (table->fd >= 0)
		flock(table->fd, LOCK_UN);
	return wait <= 0 ? 0 : (unsigned)((wait + 999) / 1000);
}

static bool
trusted_peer(int family, const uint8_t addr[16], const struct cidr *trusted, unsigned ntrusted)
{
	for (unsigned i = 0; i < ntrusted; i++)
		if (cidr_contains(&trusted[i], family, addr))
			return true;
	return false;
}

bool
ratetable_client(int peer_family, const uint8_t peer[16], const char *forwarded_for,
		 const struct cidr *trusted, unsigned ntrusted, int *family, uint8_t addr[16])
{
	const char *last;
	char text[INET6_ADDRSTRLEN + 1];
	size_t len;

	*family = peer_family;
	memcpy(addr, peer, 16);
	if (!forwarded_for || !*forwarded_for || !trusted_peer(peer_family, peer, trusted, ntrusted))
		return true;
	last = strrchr(forwarded_for, ',');
	last = last ? last + 1 : forwarded_for;
	last += strspn(last, " \t");
	len = strcspn(last, " \t");
	if (len == 0 || len >= sizeof(text) || last[len + strspn(last + len, " \t")] != '\0')
		return false;
	memcpy(text, last, len);
	text[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, text, addr) == 1)
		*family = AF_INET6;
	else
		return false;
	return true;
}
