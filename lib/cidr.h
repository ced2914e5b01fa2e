/*
 * cidr - client networks: parsing, matching, and Sendmail access keys.
 *
 * Promise: cidr_parse accepts "ADDRESS" or "ADDRESS/PREFIX" for IPv4 and
 * IPv6 and refuses host bits set beyond the prefix, a prefix of 0 (an open
 * relay) or anything inet_pton does not take.  cidr_access_keys writes the
 * keys Sendmail's access map matches for exactly that network: Sendmail cuts
 * client addresses only at octet (IPv4) or 16-bit group (IPv6) boundaries,
 * so a prefix in between becomes one key per value of the partial unit
 * (a /27 is 32 keys, a /22 four, a /44 sixteen).  IPv6 keys are in the
 * uncompressed "IPv6:2001:db8:1" form that ${client_addr} has.
 */
#ifndef HM_CIDR_H
#define HM_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* Longest key cidr_access_keys writes, NUL included. */
#define CIDR_KEY_MAX 48

int cidr_parse(const char *text, struct cidr *net, const char **why);
bool cidr_contains(const struct cidr *net, int family, const uint8_t *addr);
/* Parse a client address as libmilter or Sendmail macros give it. */
int cidr_parse_host(const char *text, int *family, uint8_t addr[16]);
void cidr_format(const struct cidr *net, char *buf, size_t buflen);

typedef void (*cidr_key_fn)(const char *key, void *context);
/* Calls emit once per key; returns the number of keys. */
size_t cidr_access_keys(const struct cidr *net, cidr_key_fn emit, void *context);

#endif
