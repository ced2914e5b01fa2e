/* fuzz_conf - hostmilter.conf as an admin may write it, broken or not. */
#include <stdlib.h>

#include "conf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_conf *conf = malloc(sizeof(*conf));
	struct conf_errors *errors = malloc(sizeof(*errors));
	char *text = fuzz_string(data, size);

	if (!conf || !errors)
		abort();
	conf_defaults(conf);
	if (conf_parse("fuzz.conf", text, conf, errors) < 0 && errors->count == 0)
		abort();	/* a refusal always says why */
	free(text);
	free(errors);
	free(conf);
	return 0;
}
