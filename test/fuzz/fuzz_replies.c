/*
 * fuzz_replies - what scanner nodes answer: clamd's reply line, spamd's
 * SPAMC/1.5 headers and SYMBOLS body, rspamd's /checkv2 JSON.  The first
 * byte picks the parser.  A reply never yields DONE with a virus name
 * missing, and strings stay terminated within their buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"

static void
check_result(const struct scan_result *r)
{
	if (memchr(r->virus_name, '\0', sizeof(r->virus_name)) == NULL
	    || memchr(r->rules, '\0', sizeof(r->rules)) == NULL || memchr(r->note, '\0', sizeof(r->note)) == NULL)
		abort();
	if (r->status == SCAN_DONE && r->virus && r->virus_name[0] == '\0')
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
	switch (data[0] % 4) {
	case 0: clamd_parse_reply(text, &result); break;
	case 1: spamd_parse_reply(text, &result); break;
	case 2: rspamd_parse_reply(text, size - 1, &result); break;
	default: spamd_parse_number(text, &end, &number); break;
	}
	check_result(&result);
	free(text);
	return 0;
}
