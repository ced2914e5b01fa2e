/*
 * fuzz_mime - the attachment path: a message as the milter spools it
 * (headers and body), walked by GMime, every part decoded and typed by
 * libmagic (its whole database, and the rules chosen for a blocked type,
 * taking turns), embedded messages and uuencoded blocks opened.  Whatever
 * the message, the report stays within its bounds and an incomplete one
 * says why.
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
	static const char *const types[] = { "application/x-dosexec" };
	struct attach_want want = { types, 1, 0 };
	struct spool *spool = spool_new("/tmp", size + 1);
	struct attach_report report;
	char err[256];

	if (!spool || spool_append(spool, data, size) < 0)
		abort();
	attach_scan(spool, size % 2 ? &want : NULL, &report, err, sizeof(err));
	if (report.ntypes > ATTACH_TYPES_MAX || report.nparts > ATTACH_PARTS_MAX + 1
	    || (report.incomplete && !report.why[0]))
		abort();
	spool_free(spool);
	return 0;
}
