/*
 * fuzz_address - the parsers of what an SMTP client and the panel write
 * about addresses and networks: envelope addresses (MAIL FROM, RCPT TO),
 * ESMTP SIZE=, names and patterns, CIDR networks and the client address
 * macros, size limits, certificate DNs.  The first byte picks the parser.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "decide.h"
#include "fuzz.h"
#include "size.h"
#include "xtext.h"

static void
count_key(const char *key, void *context)
{
	if (strlen(key) >= CIDR_KEY_MAX)
		abort();
	(*(size_t *)context)++;
}

static void
fuzz_envelope(const char *text)
{
	struct addr_envelope env;

	addr_envelope_parse(text, &env);
	if (env.kind != ADDR_ENV_PLAIN)
		return;
	/* What addr.h promises of PLAIN: nothing Sendmail could route by. */
	if (!env.local[0] || strpbrk(env.local, "%!\"\\:,[]<>();@ ") || (env.domain[0] && !addr_domain_valid(env.domain)))
		abort();
	for (const char *c = env.local; *c; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c >= 0x7f || (*c >= 'A' && *c <= 'Z'))
			abort();
}

static void
fuzz_cidr(const char *text)
{
	struct cidr net;
	const char *why;
	char buf[INET6_ADDRSTRLEN + 8];
	size_t keys = 0;

	if (cidr_parse(text, &net, &why) < 0)
		return;
	cidr_format(&net, buf, sizeof(buf));
	if (net.prefix >= (net.family == AF_INET ? 8u : 16u))
		cidr_access_keys(&net, count_key, &keys);
	if (!cidr_contains(&net, net.family, net.addr))
		abort();	/* a network contains its own address */
}

static void
fuzz_names(const char *text)
{
	char lower[512];

	addr_domain_valid(text);
	addr_local_valid(text);
	addr_mailbox_name_valid(text);
	addr_alias_name_valid(text);
	addr_address_valid(text);
	addr_pattern_valid(text);
	addr_at(text);
	snprintf(lower, sizeof(lower), "%s", text);
	addr_lower(lower);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, xtext[256];
	uint64_t bytes;
	uint8_t host[16];
	int family;
	const char *why;

	if (size < 1)
		return 0;
	text = fuzz_string(data + 1, size - 1);
	switch (data[0] % 7) {
	case 0: fuzz_envelope(text); break;
	case 1: decide_parse_size_param(text, &bytes); break;
	case 2: fuzz_cidr(text); break;
	case 3: cidr_parse_host(text, &family, host); break;
	case 4: if (size_parse(text, &bytes, &why) == 0 && (bytes < 1 || bytes > SIZE_MAX_LIMIT)) abort(); break;
	case 5: xtext_encode(text, xtext, sizeof(xtext)); break;
	default: fuzz_names(text); break;
	}
	free(text);
	return 0;
}
