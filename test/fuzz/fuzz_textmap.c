/*
 * fuzz_textmap - the map files an admin edits by hand: the split into the
 * admin's lines and the generated block, and the records makemap and
 * newaliases would read from them.  The admin's bytes come back unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "textmap.h"

static int
count_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	if (keylen == 0)
		abort();	/* an empty key is no record */
	(*(size_t *)context)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum textmap_style styles[] = { TEXTMAP_MAKEMAP, TEXTMAP_ALIASES, TEXTMAP_CLASS };
	enum textmap_style style;
	struct textmap map;
	char err[256];
	size_t n = 0;

	if (size < 1)
		return 0;
	style = styles[data[0] % 3];
	textmap_init(&map, "fuzz", style, true);
	if (textmap_load_text(&map, (const char *)data + 1, size - 1, err, sizeof(err)) == 0) {
		GString *text;

		textmap_add(&map, "generated.example", "OK");
		text = textmap_render(&map);
		if (style != TEXTMAP_CLASS)
			textmap_records(style, text->str, text->len, count_record, &n);
		g_string_free(text, TRUE);
	}
	textmap_free(&map);
	return 0;
}
