/*
 * fuzz_autoconfig - hostautoconfig's input: a whole request (method, path,
 * query string, Host, body; NUL-separated after the selector byte 0)
 * answered from the sample export's autoconfig.db, Outlook's request XML
 * alone (1), autoconfig.db's record values (2), and addresses and Host
 * headers (3).  Promises checked: every request gets a status from the
 * documented set and a body; a 200 is the document its path asks for;
 * a record value that parses formats back to what parses the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acdb.h"
#include "dbmap.h"
#include "emit.h"
#include "export.h"
#include "fuzz.h"
#include "model.h"
#include "msg.h"
#include "odreq.h"
#include "request.h"
#include "respond.h"
#include "validate.h"

#ifndef HM_SAMPLE_EXPORT_PATH
#define HM_SAMPLE_EXPORT_PATH "sample-etc-mail/panel-export.json"
#endif

static struct acdb *sample;
static char dir[64], path[128];

static void
cleanup(void)
{
	acdb_close(sample);
	unlink(path);
	rmdir(dir);
}

static int
store(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	return dbmap_put(context, key, keylen, value, valuelen) < 0 ? -1 : 0;
}

/* The sample export's autoconfig.db, as hostmapgen writes it. */
static void
build_sample(void)
{
	const char *file = getenv("HM_SAMPLE_EXPORT") ? getenv("HM_SAMPLE_EXPORT") : HM_SAMPLE_EXPORT_PATH;
	struct mg_export *export = NULL;
	struct mg_report report;
	struct policy_records records = { 0 };
	struct dbmap_writer *writer;
	char *data, err[256];
	size_t len;

	report_init(&report);
	if (export_slurp(file, &data, &len) < 0 || export_read(data, len, file, &export, &report) < 0
	    || validate_export(export, &report) > 0)
		abort();
	emit_autoconfig(export, &records);
	strcpy(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/autoconfig-fuzz.XXXXXX" : "/tmp/autoconfig-fuzz.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/autoconfig.db", dir);
	if (!(writer = dbmap_create(path, records.count + 1, records.data->len, err, sizeof(err)))
	    || emit_policy_records_each(&records, store, writer) != 0
	    || dbmap_put(writer, ACDB_KEY_DIGEST, 7, records.digest, strlen(records.digest)) < 0
	    || dbmap_finish(writer, 0644, (uid_t)-1, (gid_t)-1, err, sizeof(err)) < 0)
		abort();
	if (!(sample = acdb_open(path, err, sizeof(err))))
		abort();
	atexit(cleanup);
	emit_policy_records_free(&records);
	report_free(&report);
	model_free(export);
	free(data);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	msg_init("fuzz_autoconfig");
	build_sample();
	return 0;
}

static void
check_response(const struct request *req, const struct response *r)
{
	static const unsigned statuses[] = { 200, 400, 404, 405, 413, 503 };
	const char *address;
	enum request_kind kind = request_classify(req->path, &address);
	bool known = false;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known |= r->status == statuses[i];
	if (!known || !r->body || r->body->len == 0 || !r->content_type)
		abort();
	if (r->status == 200 && kind == REQUEST_THUNDERBIRD && !strstr(r->body->str, "<clientConfig version=\"1.1\">"))
		abort();
	if (r->status == 200 && kind == REQUEST_APPLE && strstr(r->body->str, "<key>IncomingPassword</key>"))
		abort();
}

static void
fuzz_request(char *text, size_t size)
{
	char *cursor = text, *end = text + size;
	const char *method = fuzz_field(&cursor, end), *target = fuzz_field(&cursor, end);
	const char *query = fuzz_field(&cursor, end), *host = fuzz_field(&cursor, end);
	struct request req = { 0 };
	struct response r;
	char *q;

	if (!method || !target)
		return;
	req.method = method;
	req.path = target;
	req.host = host;
	req.body = cursor <= end ? cursor : "";
	req.bodylen = cursor <= end ? (size_t)(end - cursor) : 0;
	q = strdup(query ? query : "");
	if (!q)
		abort();
	if (request_parse_query(q, &req) == 0) {
		respond(sample, &req, "12:00:00", &r);
		check_response(&req, &r);
		response_free(&r);
	}
	free(q);
}

/* What parses, formats, and parses again to what formats the same. */
static void
fuzz_records(const char *text, size_t size)
{
	struct acdb_settings settings;
	struct acdb_domain domain;
	char once[2048], twice[2048], login[64];
	const char *why;

	if (acdb_settings_parse(text, size, &settings, &why) == 0) {
		if (acdb_settings_format(&settings, once, sizeof(once)) < 0
		    || acdb_settings_parse(once, strlen(once), &settings, &why) < 0
		    || acdb_settings_format(&settings, twice, sizeof(twice)) < 0 || strcmp(once, twice) != 0)
			abort();
	}
	if (acdb_domain_parse(text, size, &domain, &why) == 0) {
		if (acdb_domain_format(&domain, once, sizeof(once)) < 0
		    || acdb_domain_parse(once, strlen(once), &domain, &why) < 0
		    || acdb_domain_format(&domain, twice, sizeof(twice)) < 0 || strcmp(once, twice) != 0)
			abort();
	}
	acdb_bucket_find(text, size, "info", login, sizeof(login));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, local[ADDR_LOCAL_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	struct odreq od;
	struct acdb_answer answer;
	const char *why;

	if (size < 1)
		return 0;
	text = fuzz_string(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		fuzz_request(text, size - 1);
		break;
	case 1:
		if (odreq_parse(text, size - 1, &od, &why) == 0 && strlen(od.address) > ACDB_ADDRESS_MAX)
			abort();
		break;
	case 2:
		fuzz_records(text, size - 1);
		break;
	default:
		if (acdb_address_split(text, local, domain) && (!addr_local_valid(local) || !addr_domain_valid(domain)))
			abort();
		if (request_host_domain(text, domain) && !addr_domain_valid(domain))
			abort();
		acdb_lookup(sample, text, &answer, &why);
		request_decode(text, true);
		break;
	}
	free(text);
	return 0;
}
