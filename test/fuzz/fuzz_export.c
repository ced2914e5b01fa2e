/*
 * fuzz_export - the panel export: JSON read into the model, the
 * cross-reference checks, and, when the export is valid, every emitter
 * (virtmaps, aliases, access, sendmail.cw, hostmilter.db and autoconfig.db
 * records), whose lines must then read back as the same number of records
 * and whose autoconfig.db values must parse as hostautoconfig parses them.
 */
#include <stdlib.h>
#include <string.h>

#include "acdb.h"
#include "emit.h"
#include "export.h"
#include "fuzz.h"
#include "model.h"
#include "msg.h"
#include "validate.h"

static int
count_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	(*(size_t *)context)++;
	return 0;
}

/* Every autoconfig.db record hostmapgen writes, the readers read (lib/acdb.h). */
static int
check_autoconfig_record(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct acdb_settings settings;
	struct acdb_domain domain;
	const char *why;

	(void)context;
	if (keylen > 2 && memcmp(key, ACDB_PREFIX_SETTINGS, 2) == 0
	    && acdb_settings_parse(value, valuelen, &settings, &why) < 0)
		abort();
	if (keylen > 2 && memcmp(key, ACDB_PREFIX_DOMAIN, 2) == 0 && acdb_domain_parse(value, valuelen, &domain, &why) < 0)
		abort();
	return 0;
}

static void
emit_all(struct mg_export *export, struct mg_report *report)
{
	struct textmap maps[4];
	struct policy_records records = { 0 }, autoconfig = { 0 };

	textmap_init(&maps[0], "virtusertable", TEXTMAP_MAKEMAP, false);
	textmap_init(&maps[1], "aliases", TEXTMAP_ALIASES, true);
	textmap_init(&maps[2], "access", TEXTMAP_MAKEMAP, true);
	textmap_init(&maps[3], "local-host-names", TEXTMAP_CLASS, true);
	emit_virtmaps(export, &maps[0]);
	emit_aliases(export, &maps[1]);
	emit_access(export, &maps[2], report);
	emit_cw(export, &maps[3]);
	emit_policy(export, &records, report);
	emit_autoconfig(export, &autoconfig);
	emit_policy_records_each(&autoconfig, check_autoconfig_record, NULL);
	emit_policy_records_free(&autoconfig);
	for (int i = 0; i < 3; i++) {
		GString *text = textmap_render(&maps[i]);
		size_t n = 0;

		if (textmap_records(maps[i].style, text->str, text->len, count_record, &n) < 0)
			abort();	/* what we write, makemap must read */
		g_string_free(text, TRUE);
	}
	for (int i = 0; i < 4; i++)
		textmap_free(&maps[i]);
	emit_policy_records_free(&records);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	msg_init("fuzz_export");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_export *export = NULL;
	struct mg_report report;

	report_init(&report);
	/* export_read: the careful second reading too, on invalid UTF-8 or a NUL. */
	if (export_read((const char *)data, size, "fuzz.json", &export, &report) == 0
	    && validate_export(export, &report) == 0 && report.errors->len == 0)
		emit_all(export, &report);
	report_free(&report);
	model_free(export);
	return 0;
}
