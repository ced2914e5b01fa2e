/*
 * versions - what hostmilter -V reports: its own version and those of the
 * libraries it runs with (as loaded, not as compiled, where the library
 * can say), and the ClamAV database it would scan with.
 *
 * Promise: one "name: version" line each, in a fixed order, for admins and
 * bug reports; a database that cannot be read is said so, never guessed.
 */
#ifndef HM_VERSIONS_H
#define HM_VERSIONS_H

#include <stdio.h>

void versions_print(FILE *out, const char *clamav_database);

#endif
