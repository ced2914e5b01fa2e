/* fuzz_db - databases for the lookup harnesses; see fuzz_db.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbmap.h"
#include "emit.h"
#include "export.h"
#include "fuzz_db.h"
#include "model.h"
#include "validate.h"

#ifndef HM_SAMPLE_EXPORT_PATH
#define HM_SAMPLE_EXPORT_PATH "sample-etc-mail/panel-export.json"
#endif

static char fuzz_db_dir[64];

static void
fuzz_db_cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/hostmilter.db", fuzz_db_dir);
	unlink(path);
	strcat(path, ".sample");
	unlink(path);
	rmdir(fuzz_db_dir);
}

/* In /dev/shm when there is one: every database is fsynced, and fuzzing writes thousands. */
static const char *
fuzz_db_path(void)
{
	static char path[128];

	if (!fuzz_db_dir[0]) {
		strcpy(fuzz_db_dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/hostmilter-fuzz.XXXXXX"
			: "/tmp/hostmilter-fuzz.XXXXXX");
		if (!mkdtemp(fuzz_db_dir))
			abort();
		atexit(fuzz_db_cleanup);
	}
	snprintf(path, sizeof(path), "%s/hostmilter.db", fuzz_db_dir);
	return path;
}

static int
put_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	return dbmap_put(context, key, keylen, value, valuelen) < 0 ? -1 : 0;
}

static void
build_sample(const char *path)
{
	const char *sample = getenv("HM_SAMPLE_EXPORT") ? getenv("HM_SAMPLE_EXPORT") : HM_SAMPLE_EXPORT_PATH;
	struct mg_export *export = NULL;
	struct policy_records records = { 0 };
	struct mg_report report;
	struct dbmap_writer *map;
	char *data, err[256];
	size_t len;

	report_init(&report);
	if (export_slurp(sample, &data, &len) < 0 || export_read(data, len, sample, &export, &report) < 0
	    || validate_export(export, &report) != 0) {
		fprintf(stderr, "fuzz_db: cannot read the sample export %s\n", sample);
		abort();
	}
	if (emit_policy(export, &records, &report) != 0)
		abort();
	map = dbmap_create(path, records.count, records.data->len, err, sizeof(err));
	if (!map || emit_policy_records_each(&records, put_record, map) < 0
	    || dbmap_finish(map, 0644, getuid(), getgid(), err, sizeof(err)) < 0)
		abort();
	emit_policy_records_free(&records);
	report_free(&report);
	model_free(export);
	free(data);
}

static struct policydb *fuzz_sample;

static void
fuzz_sample_close(void)
{
	policydb_close(fuzz_sample);
}

struct policydb *
fuzz_sample_db(void)
{
	struct policydb *db = fuzz_sample;
	char err[256];

	if (!db) {
		char path[128];

		snprintf(path, sizeof(path), "%s.sample", fuzz_db_path());
		build_sample(path);
		if (!(db = policydb_open(path, err, sizeof(err)))) {
			fprintf(stderr, "fuzz_db: %s\n", err);
			abort();
		}
		fuzz_sample = db;
		atexit(fuzz_sample_close);
	}
	return db;
}

/* Later records with a key already seen are dropped, as fuzz_db.h says. */
static void
ignore_duplicate(const void *key, size_t keylen, void *context)
{
}

struct policydb *
fuzz_db_from_lines(const char *text, size_t len, char *err, size_t errlen)
{
	const char *path = fuzz_db_path(), *p = text, *limit = text + len;
	struct dbmap_writer *map = dbmap_create(path, 64, len + 64, err, errlen);

	if (!map)
		abort();
	dbmap_on_duplicate(map, ignore_duplicate, NULL);
	while (p < limit) {
		const char *nl = memchr(p, '\n', (size_t)(limit - p)), *end = nl ? nl : limit;
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		if (tab) {
			size_t valuelen = (size_t)(end - tab - 1);
			char *value = malloc(valuelen + 1);

			if (!value)
				abort();
			for (size_t i = 0; i < valuelen; i++)
				value[i] = tab[1 + i] == '\x1f' ? '\n' : tab[1 + i];
			dbmap_put(map, p, (size_t)(tab - p), value, valuelen);
			free(value);
		}
		p = end + 1;
	}
	if (dbmap_finish(map, 0600, getuid(), getgid(), err, errlen) < 0)
		return NULL;
	return policydb_open(path, err, errlen);
}

void
fuzz_db_drop(struct policydb *db)
{
	if (db)
		policydb_close(db);
	unlink(fuzz_db_path());
}
