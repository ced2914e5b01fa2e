/*
 * poison - the contents that took a scan worker down, by digest.
 *
 * Promise: a bounded table (POISON_MAX digests, the oldest forgotten
 * first) that says how many times a content has taken a worker down:
 * poison_note counts one more and returns the count, so the caller can
 * give the first takedown OnScannerFailure and a second one the
 * uninspectable action.  Pure: no clock, no I/O, no lock (the caller
 * holds its own).
 */
#ifndef HM_POISON_H
#define HM_POISON_H

#include <stdint.h>

#define POISON_DIGEST_LEN 32	/* SHA-256 */
#define POISON_MAX 1024

struct poison_entry {
	uint8_t digest[POISON_DIGEST_LEN];
	unsigned hits;
};

struct poison_table {
	struct poison_entry entry[POISON_MAX];
	unsigned n;		/* entries in use */
	unsigned next;		/* the slot the next new digest takes once the table is full */
};

/* One more takedown by digest; how many there have been, this one included. */
unsigned poison_note(struct poison_table *table, const uint8_t digest[POISON_DIGEST_LEN]);

#endif
