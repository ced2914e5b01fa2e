/* fuzz_db - a hostmilter.db built from records, for the harnesses that look things up. */
#ifndef HM_FUZZ_DB_H
#define HM_FUZZ_DB_H

#include <stddef.h>

#include "policydb.h"

/* The sample export's database, built once per process (HM_SAMPLE_EXPORT names the export). */
struct policydb *fuzz_sample_db(void);

/*
 * A database of "KEY\tVALUE\n" lines as they come (duplicate keys after
 * the first are dropped; the byte 0x1f in a value stands for a newline,
 * which the @relay-networks and @relay-certificates records hold), opened as hostmilter opens one; NULL when
 * policydb_open refuses it.  Remove it with fuzz_db_drop.
 */
struct policydb *fuzz_db_from_lines(const char *text, size_t len, char *err, size_t errlen);
void fuzz_db_drop(struct policydb *db);

#endif
