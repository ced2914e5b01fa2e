/*
 * export - reads a panel export (version 1, see hostmapgen-export(5)) into
 * the model.
 *
 * Promise: every structural problem (bad JSON, unknown key, wrong type, bad
 * syntax of a name, size, network or text) is reported with the JSON path
 * of the value and the problem, and reading goes on so that one run reports
 * them all.  Cross-references are checked later by validate.  The export's
 * bytes are kept only long enough to digest them (SHA-256, hex).
 */
#ifndef HM_EXPORT_H
#define HM_EXPORT_H

#include "model.h"

#define EXPORT_VERSION 1
#define EXPORT_DIGEST_LEN 65

/* Reads all of path ("-": stdin) into *data; 0, or -1 with errno set. */
int export_slurp(const char *path, char **data, size_t *len);
void export_digest(const char *data, size_t len, char digest[EXPORT_DIGEST_LEN]);
/* 0 when the export parsed (errors may still be in the report), -1 when it is not JSON. */
int export_parse(const char *data, size_t len, const char *name, struct mg_export *export,
		 struct mg_report *report);

#endif
