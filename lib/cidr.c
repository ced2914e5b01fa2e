/*
 * cidr - client networks; see cidr.h.
 */
#include "config.h"

#include <stdbool.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static unsigned
cidr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

int
cidr_parse_host(const char *text, int *family, uint8_t addr[16])
{
	const char *p = text;
	char buf[64];
	size_t len;

	/* Sendmail writes IPv6 client addresses as "IPv6:..." in some macros. */
	if (strncasecmp(p, "IPv6:", 5) == 0)
		p += 5;
	len = strlen(p);
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len + 1);
	if (len > 2 && buf[0] == '[' && buf[len - 1] == ']') {
		memmove(buf, buf + 1, len - 2);
		buf[len - 2] = '\0';
	}
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool
cidr_host_bits_clear(const struct cidr *net)
{
	for (unsigned bit = net->prefix; bit < cidr_bits(net->family); bit++)
		if (net->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static int
cidr_parse_prefix(const char *text, unsigned max, unsigned *prefix)
{
	char *end;
	unsigned long value;

	if (*text < '0' || *text > '9')
		return -1;
	value = strtoul(text, &end, 10);
	if (*end != '\0' || value > max || end - text > 3)
		return -1;
	*prefix = (unsigned)value;
	return 0;
}

int
cidr_parse(const char *text, struct cidr *net, const char **why)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);

	if (len == 0 || len >= sizeof(host) || text[0] == '[' || strncasecmp(text, "IPv6:", 5) == 0) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	memcpy(host, text, len);
	host[len] = '\0';
	if (cidr_parse_host(host, &net->family, net->addr) < 0) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	net->prefix = cidr_bits(net->family);
	if (slash && cidr_parse_prefix(slash + 1, cidr_bits(net->family), &net->prefix) < 0) {
		*why = "bad prefix length";
		return -1;
	}
	if (net->prefix == 0) {
		*why = "a /0 network would make an open relay";
		return -1;
	}
	if (!cidr_host_bits_clear(net)) {
		*why = "address has bits set beyond the prefix length";
		return -1;
	}
	return 0;
}

bool
cidr_contains(const struct cidr *net, int family, const uint8_t *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (family != net->family)
		return false;
	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

void
cidr_format(const struct cidr *net, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];

	inet_ntop(net->family, net->addr, host, sizeof(host));
	snprintf(buf, buflen, "%s/%u", host, net->prefix);
}

/* Appends one number to key; false when it does not fit: a cut key would name another network. */
static bool
cidr_append(char *key, size_t size, size_t *len, const char *sep, unsigned value, bool hex)
{
	int n = snprintf(key + *len, size - *len, hex ? "%s%x" : "%s%u", sep, value);

	if (n < 0 || (size_t)n >= size - *len)
		return false;
	*len += (size_t)n;
	return true;
}

static size_t
cidr_keys_v4(const struct cidr *net, cidr_key_fn emit, void *context)
{
	unsigned octets = (net->prefix + 7) / 8;
	unsigned count = 1u << (octets * 8 - net->prefix);
	char key[CIDR_KEY_MAX];

	for (unsigned i = 0; i < count; i++) {
		size_t len = 0;
		bool fits = true;

		for (unsigned o = 0; o < octets && fits; o++)
			fits = cidr_append(key, sizeof(key), &len, o ? "." : "", net->addr[o] + (o == octets - 1 ? i : 0),
					   false);
		if (!fits)
			return i;	/* cannot happen within CIDR_KEY_MAX; the caller sees fewer keys than asked */
		emit(key, context);
	}
	return count;
}

static size_t
cidr_keys_v6(const struct cidr *net, cidr_key_fn emit, void *context)
{
	unsigned groups = (net->prefix + 15) / 16;
	unsigned count = 1u << (groups * 16 - net->prefix);
	char key[CIDR_KEY_MAX];

	for (unsigned i = 0; i < count; i++) {
		size_t len = sizeof("IPv6:") - 1;
		bool fits = true;

		memcpy(key, "IPv6:", len + 1);
		for (unsigned g = 0; g < groups && fits; g++) {
			unsigned value = (unsigned)net->addr[2 * g] << 8 | net->addr[2 * g + 1];

			fits = cidr_append(key, sizeof(key), &len, g ? ":" : "", value + (g == groups - 1 ? i : 0), true);
		}
		if (!fits)
			return i;	/* cannot happen within CIDR_KEY_MAX; the caller sees fewer keys than asked */
		emit(key, context);
	}
	return count;
}

size_t
cidr_access_keys(const struct cidr *net, cidr_key_fn emit, void *context)
{
	if (net->family == AF_INET)
		return cidr_keys_v4(net, emit, context);
	return cidr_keys_v6(net, emit, context);
}
