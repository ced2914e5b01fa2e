/* fuzz - helpers every harness shares; see fuzz.h. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

char *
fuzz_string(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

const char *
fuzz_field(char **cursor, const char *end)
{
	char *field = *cursor;

	if (field > end)
		return NULL;
	*cursor = field + strlen(field) + 1;
	return field;
}
