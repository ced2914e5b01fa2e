/*
 * ratetable - how many requests each client may make (GCRA: a burst from
 * idle, then a steady rate), so that nobody walks autoconfig.db address
 * by address.
 *
 * A client is its IPv4 address, or the /64 of its IPv6 address (one host
 * usually has a whole /64).  Behind the provider's web server every
 * request comes from the proxy: when the peer is a trusted proxy, the
 * client is the last address of its X-Forwarded-For header, the one the
 * proxy itself appended (earlier ones are whatever the client wrote).
 *
 * The table has a fixed number of slots, so no client can grow it: a new
 * client takes, among a few slots its address hashes to (with a seed
 * chosen at random, so nobody can aim at one slot), a free one or else
 * the one with the most allowance left, which an idle client loses
 * nothing by giving up.  In memory for the daemon, which uses it from one
 * thread; in a file (mmap, flock) for the CGI program, whose processes
 * share it: created 0600, never through a link, and only a file of the
 * calling user that no one else may write is used.  Times are wall-clock
 * milliseconds (a file outlives boots); a clock that jumps back costs a
 * client at most one burst's wait.
 *
 * Promise: ratetable_gcra and ratetable_client are pure.
 */
#ifndef HM_RATETABLE_H
#define HM_RATETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define RATETABLE_SLOTS_DEFAULT 65536
#define RATETABLE_FILE_SLOTS 16384
#define RATETABLE_PROBES 8
#define RATETABLE_TRUSTED_MAX 16

struct ratetable;

struct ratetable *ratetable_new(unsigned per_minute, unsigned burst, unsigned slots);
/* The table shared through path; NULL with err when path is not a file this user alone may write. */
struct ratetable *ratetable_open_file(const char *path, unsigned per_minute, unsigned burst, char *err,
				      size_t errlen);
void ratetable_free(struct ratetable *table);

/* Charges one request of the client: 0 when allowed, else the seconds until it would be (at least 1). */
unsigned ratetable_charge(struct ratetable *table, int family, const uint8_t addr[16], int64_t now_ms);
int64_t ratetable_now_ms(void);

/*
 * GCRA on one client's theoretical arrival time *tat (0: never seen):
 * allowed (returns 0, *tat advanced by interval) while *tat - now stays
 * within (burst - 1) intervals; else the milliseconds to wait.
 */
int64_t ratetable_gcra(int64_t *tat, int64_t now, int64_t interval, unsigned burst);

/*
 * The client a request counts against: the peer, or, when the peer is in
 * trusted, the last address of forwarded_for (NULL or "" when there is
 * none: the peer).  false when forwarded_for's last element is no address.
 */
bool ratetable_client(int peer_family, const uint8_t peer[16], const char *forwarded_for,
		      const struct cidr *trusted, unsigned ntrusted, int *family, uint8_t addr[16]);

#endif
