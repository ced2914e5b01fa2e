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
	if (conf_parse("fuzz.conf", text, conf, errors) == 0) {
		struct conf_store store;
		const char *path;

		/* What conf accepted, the rate-limit store and the control socket accept too. */
		if (conf_store_parse(conf->rate_limit_store, &store) < 0
		    || conf_control_parse(conf->control_socket, &path) < 0)
			abort();
	} else {
		struct conf_store store;
		const char *path;

		/* The raw text as a value: parsed or refused, never read out of bounds. */
		(void)conf_store_parse(text, &store);
		(void)conf_control_parse(text, &path);
	}
	free(text);
	free(errors);
	free(conf);
	return 0;
}
