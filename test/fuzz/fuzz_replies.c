/*
 * fuzz_replies - what scanner nodes answer: clamd's reply line, spamd's
 * SPAMC/1.5 headers and SYMBOLS body, rspamd's /checkv2 JSON; and both
 * ends of the scan service: hostmilter's answer as hostscan reads it, a
 * request as hostmilter reads it.  The first byte picks the parser.  A
 * reply never yields DONE with a virus name missing, counts stay within
 * their arrays, and strings stay terminated within their buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"
#include "service.h"

static void
check_result(const struct scan_result *r)
{
	if (memchr(r->virus_name, '\0', sizeof(r->virus_name)) == NULL
	    || memchr(r->rules, '\0', sizeof(r->rules)) == NULL || memchr(r->note, '\0', sizeof(r->note)) == NULL)
		abort();
	if (r->status == SCAN_DONE && r->virus && r->virus_name[0] == '\0')
		abort();
}

static void
check_service_reply(const char *text)
{
	static struct service_reply reply;

	if (service_reply_parse(text, &reply) == 0
	    && (!reply.ok || reply.attachments.ntypes > ATTACH_TYPES_MAX
		|| memchr(reply.outcome.failure, '\0', sizeof(reply.outcome.failure)) == NULL))
		abort();
	if (memchr(reply.error, '\0', sizeof(reply.error)) == NULL)
		abort();
}

static void
check_service_request(char *text)
{
	struct service_request req;
	const char *why;

	if (service_request_parse(text, &req, &why) == 0 && req.ntypes > POLICY_TYPES_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_result result;
	const char *end;
	double number;
	char *text;

	if (size < 1)
		return 0;
	text = fuzz_string(data + 1, size - 1);
	memset(&result, 0, sizeof(result));
	switch (data[0] % 6) {
	case 0: clamd_parse_reply(text, &result); break;
	case 1: spamd_parse_reply(text, &result); break;
	case 2: rspamd_parse_reply(text, size - 1, &result); break;
	case 3: spamd_parse_number(text, &end, &number); break;
	case 4: check_service_reply(text); break;
	default: check_service_request(text); break;
	}
	check_result(&result);
	free(text);
	return 0;
}
