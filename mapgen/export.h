/*
 * export - reads a panel export (version 1, see hostmapgen-export(5)) into
 * the model.
 *
 * Promise: every structural problem (bad JSON, unknown key, wrong type, bad
 * syntax of a name, size, network or text, invalid UTF-8) is reported with
 * its code, the JSON Pointer of the value and the problem, and reading goes
 * on so that one run reports them all -- but for JSON that cannot be read
 * past its first syntax error.  Cross-references are checked later by
 * validate.  The export's bytes are kept only long enough to digest them
 * (SHA-256, hex).
 */
#ifndef HM_EXPORT_H
#define HM_EXPORT_H

#include "model.h"

#define EXPORT_VERSION 1
#define EXPORT_DIGEST_LEN 65

/*
 * Before any other use of jansson in the process: jansson's allocations
 * while a big array's elements are parsed come from arenas dropped whole
 * (export.c).  Optional: without it every object is malloc's.
 */
void export_use_arenas(void);
/* Reads all of path ("-": stdin) into *data; 0, or -1 with errno set. */
int export_slurp(const char *path, char **data, size_t *len);
void export_digest(const char *data, size_t len, char digest[EXPORT_DIGEST_LEN]);
/*
 * Reads data into *export (a new model, the caller frees it): 0 when the
 * export parsed (errors may still be in the report), -1 when it is not JSON.
 */
int export_read(const char *data, size_t len, const char *name, struct mg_export **export, struct mg_report *report);
/* One reading as export_read's first: 1 when it must be read carefully (invalid UTF-8 or a NUL). */
int export_parse(const char *data, size_t len, const char *name, struct mg_export *export,
		 struct mg_report *report);
/* data with each invalid UTF-8 byte replaced by U+FFFF, for the careful reading; free it. */
char *export_careful(const char *data, size_t len, size_t *newlen);

#endif
