/*
 * fuzz_mime - the attachment path: a message as the milter spools it
 * (headers and body), walked by GMime, every part decoded and typed by
 * libmagic.  Whatever the message, the report stays within its bounds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "attach.h"
#include "fuzz.h"
#include "spool.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	attach_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool *spool = spool_new("/tmp", size + 1);
	struct attach_report report;
	char err[256];

	if (!spool || spool_append(spool, data, size) < 0)
		abort();
	if (attach_scan(spool, &report, err, sizeof(err)) == 0
	    && (report.ntypes > ATTACH_TYPES_MAX || report.nparts > ATTACH_PARTS_MAX + 1))
		abort();
	spool_free(spool);
	return 0;
}
