/* versions - hostmilter -V; see versions.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <clamav.h>
#include <db.h>
#include <gmime/gmime.h>
#include <jansson.h>
#include <libmilter/mfapi.h>
#include <magic.h>
#include <openssl/crypto.h>

#include "versions.h"

/* The newest header among daily and main, .cld (updated) before .cvd. */
static void
versions_clamav_database(FILE *out, const char *dir)
{
	static const char *const files[] = { "daily.cld", "daily.cvd", "main.cld", "main.cvd" };
	unsigned sigs = 0;
	cl_error_t rc = cl_countsigs(dir, CL_COUNTSIGS_ALL, &sigs);

	if (rc != CL_SUCCESS) {
		fprintf(out, "ClamAV database: %s: %s\n", dir, cl_strerror(rc));
		return;
	}
	fprintf(out, "ClamAV database: %s, %u signatures", dir, sigs);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096];
		struct cl_cvd *cvd;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (access(path, R_OK) == 0 && (cvd = cl_cvdhead(path))) {
			fprintf(out, ", %.*s version %u of %s", (int)strcspn(files[i], "."), files[i], cvd->version,
				cvd->time);
			cl_cvdfree(cvd);
			break;
		}
	}
	fputc('\n', out);
}

void
versions_print(FILE *out, const char *clamav_database)
{
	unsigned major, minor, patch;
	int dbmajor, dbminor, dbpatch, magic = magic_version();

	smfi_version(&major, &minor, &patch);
	fprintf(out, "hostmilter %s\n", PACKAGE_VERSION);
	fprintf(out, "libmilter: %u.%u.%u\n", major, minor, patch);
	if (cl_init(CL_INIT_DEFAULT) == CL_SUCCESS) {
		fprintf(out, "libclamav: %s (functionality level %u)\n", cl_retver(), cl_retflevel());
		versions_clamav_database(out, clamav_database);
	} else
		fprintf(out, "libclamav: cannot be initialised\n");
	fprintf(out, "libmagic: %d.%02d\n", magic / 100, magic % 100);
	fprintf(out, "OpenSSL: %s\n", OpenSSL_version(OPENSSL_VERSION));
	fprintf(out, "GMime: %u.%u.%u\n", gmime_major_version, gmime_minor_version, gmime_micro_version);
	db_version(&dbmajor, &dbminor, &dbpatch);
	fprintf(out, "Berkeley DB: %d.%d.%d\n", dbmajor, dbminor, dbpatch);
	fprintf(out, "jansson: %s\n", jansson_version_str());
}
