/*
 * attach - the true type of every part of a message.
 *
 * Promise: GMime walks every leaf part, nested messages included, and
 * decodes its content transfer encoding; libmagic names the type from the
 * first ATTACH_MAGIC_BYTES of the decoded bytes, whatever the part's name
 * or declared type says.  The message is read from the spool as a stream,
 * so memory stays bounded by ATTACH_MAGIC_BYTES and GMime's headers, not
 * by the message.  Each thread gets its own libmagic cookie (a cookie's
 * result buffer is not thread-safe), made on first use and closed when
 * the thread ends.
 */
#ifndef HM_ATTACH_H
#define HM_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "spool.h"

#define ATTACH_MAGIC_BYTES (256 * 1024)
#define ATTACH_PARTS_MAX 1000	/* parts looked at per message; more marks the report truncated */
#define ATTACH_TYPES_MAX 32	/* distinct types remembered */

struct attach_type {
	char type[POLICY_TYPE_LEN];	/* "application/x-dosexec" */
	char filename[128];	/* of the first part of that type, "" when it has none */
};

struct attach_report {
	unsigned nparts;
	unsigned ntypes;
	struct attach_type types[ATTACH_TYPES_MAX];
	bool truncated;
};

/* Once per process, before threads: GMime's global state. */
void attach_init(void);
void attach_shutdown(void);
/* 0, or -1 with err when the spool cannot be read or libmagic not loaded. */
int attach_scan(const struct spool *spool, struct attach_report *report, char *err, size_t errlen);

#endif
