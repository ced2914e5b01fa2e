/*
 * poison - takedowns by digest; see poison.h.
 *
 * A linear search: the table is looked at only when a worker went down,
 * and 1,024 comparisons of 32 bytes cost less than the fork that follows.
 */
#include "config.h"

#include <string.h>

#include "poison.h"

unsigned
poison_note(struct poison_table *table, const uint8_t digest[POISON_DIGEST_LEN])
{
	struct poison_entry *e;

	for (unsigned i = 0; i < table->n; i++)
		if (memcmp(table->entry[i].digest, digest, POISON_DIGEST_LEN) == 0)
			return ++table->entry[i].hits;
	if (table->n < POISON_MAX)
		e = &table->entry[table->n++];
	else {
		e = &table->entry[table->next];
		table->next = (table->next + 1) % POISON_MAX;
	}
	memcpy(e->digest, digest, POISON_DIGEST_LEN);
	e->hits = 1;
	return 1;
}
