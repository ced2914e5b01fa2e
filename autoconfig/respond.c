/*
 * respond - the decisions; see respond.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "answer.h"
#include "odreq.h"
#include "respond.h"

#define TYPE_TEXT "text/plain; charset=utf-8"
#define ALLOW_GET "GET, HEAD"
#define ALLOW_POST "POST"

static void
plain(struct response *r, unsigned status, const char *text)
{
	r->status = status;
	r->content_type = TYPE_TEXT;
	g_string_assign(r->body, text);
	g_string_append_c(r->body, '\n');
}

static bool
method_is(const struct request *req, const char *a, const char *b)
{
	return strcmp(req->method, a) == 0 || (b && strcmp(req->method, b) == 0);
}

/* A lookup that did not find an eligible address, as a plain answer. */
static void
plain_failure(struct response *r, enum acdb_result rc, const char *why)
{
	if (rc == ACDB_NOT_ADDRESS)
		plain(r, 400, "not a mail address");
	else if (rc == ACDB_ERROR) {
		plain(r, 503, "the autoconfig database cannot be read; try again later");
		r->why = why;
	} else
		plain(r, 404, "no automatic configuration for this address");
}

/* The lookup an address or, without one, the request's Host asks for. */
static enum acdb_result
lookup_host(struct acdb *db, const struct request *req, struct acdb_answer *answer, const char **why)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	const char *parent;
	enum acdb_result rc;

	if (!req->host || !request_host_domain(req->host, domain))
		return ACDB_NOT_ADDRESS;
	rc = acdb_lookup_domain(db, domain, answer, why);
	if (rc == ACDB_NOT_ELIGIBLE && (parent = request_service_parent(domain)))
		rc = acdb_lookup_domain(db, parent, answer, why);
	return rc;
}

static void
respond_thunderbird(struct acdb *db, const struct request *req, struct response *r)
{
	struct acdb_answer answer;
	bool ambiguous = false;
	const char *address = request_arg(req, "emailaddress", &ambiguous), *why = "";
	enum acdb_result rc;

	if (!method_is(req, "GET", "HEAD")) {
		plain(r, 405, "only GET and HEAD");
		r->allow = ALLOW_GET;
		return;
	}
	if (ambiguous) {
		plain(r, 400, "emailaddress given twice");
		return;
	}
	rc = address ? acdb_lookup(db, address, &answer, &why) : lookup_host(db, req, &answer, &why);
	if (rc != ACDB_FOUND) {
		plain_failure(r, rc, why);
		return;
	}
	r->status = 200;
	r->content_type = ANSWER_TYPE_XML;
	answer_thunderbird(&answer, r->body);
}

static void
outlook_error(struct response *r, unsigned status, unsigned code, const char *message, const char *time)
{
	r->status = status;
	r->content_type = ANSWER_TYPE_AUTODISCOVER;
	answer_outlook_error(code, message, time, r->body);
}

/* What the request asks for, when it is no outlook-schema request for an address; false when it is one. */
static bool
outlook_refused(const struct request *req, struct odreq *od, const char *time, struct response *r)
{
	const char *why;

	if (!method_is(req, "POST", NULL)) {
		outlook_error(r, 405, ANSWER_AD_INVALID_REQUEST, "Invalid Request: Autodiscover requests are POSTed", time);
		r->allow = ALLOW_POST;
	} else if (odreq_parse(req->body ? req->body : "", req->bodylen, od, &why) < 0) {
		outlook_error(r, 400, ANSWER_AD_INVALID_REQUEST, "Invalid Request", time);
	} else if (od->family == ODREQ_MOBILESYNC || (od->schema[0] && strcmp(od->schema, ODREQ_SCHEMA_OUTLOOK) != 0)) {
		outlook_error(r, 200, ANSWER_AD_NO_PROVIDER, "Provider is not available: this server offers IMAP, "
			      "POP3 and SMTP settings (the outlook schema), not Exchange ActiveSync", time);
	} else if (!od->address[0]) {
		outlook_error(r, 400, ANSWER_AD_INVALID_REQUEST, "Invalid Request: no EMailAddress", time);
	} else {
		return false;
	}
	return true;
}

static void
respond_outlook(struct acdb *db, const struct request *req, const char *time, struct response *r)
{
	struct odreq od;
	struct acdb_answer answer;
	const char *why = "";
	enum acdb_result rc;

	if (outlook_refused(req, &od, time, r))
		return;
	rc = acdb_lookup(db, od.address, &answer, &why);
	if (rc == ACDB_FOUND) {
		r->status = 200;
		r->content_type = ANSWER_TYPE_AUTODISCOVER;
		answer_outlook(&answer, r->body);
	} else if (rc == ACDB_NOT_ELIGIBLE) {
		outlook_error(r, 404, ANSWER_AD_UNKNOWN_ADDRESS, "The e-mail address cannot be found.", time);
	} else if (rc == ACDB_NOT_ADDRESS) {
		outlook_error(r, 400, ANSWER_AD_INVALID_REQUEST, "Invalid Request: not a mail address", time);
	} else {
		plain_failure(r, rc, why);
	}
}

static void
json_error(struct response *r, unsigned status, const char *code, const char *message)
{
	r->status = status;
	r->content_type = ANSWER_TYPE_JSON;
	answer_json_error(code, message, r->body);
}

static void
respond_json(struct acdb *db, const struct request *req, const char *path_address, struct response *r)
{
	struct acdb_answer answer;
	char host[ADDR_DOMAIN_MAX + 1];
	bool ambiguous = false;
	const char *protocol = request_arg(req, "Protocol", &ambiguous), *why = "";
	const char *address = path_address ? path_address : request_arg(req, "Email", &ambiguous);
	enum acdb_result rc;

	if (!method_is(req, "GET", "HEAD")) {
		json_error(r, 405, "MethodNotAllowed", "only GET and HEAD");
		r->allow = ALLOW_GET;
	} else if (ambiguous || !protocol || strcasecmp(protocol, "AutodiscoverV1") != 0) {
		json_error(r, 400, "InvalidProtocol", "The given protocol value is invalid. Supported values are "
			   "'AutodiscoverV1'.");
	} else if (!address || !req->host || !request_host_domain(req->host, host)) {
		json_error(r, 400, "InvalidRequest", "an Email and a Host naming this server are required");
	} else if ((rc = acdb_lookup(db, address, &answer, &why)) == ACDB_FOUND) {
		r->status = 200;
		r->content_type = ANSWER_TYPE_JSON;
		answer_outlook_json(host, r->body);
	} else if (rc == ACDB_NOT_ELIGIBLE) {
		json_error(r, 404, "UserNotFound", "no automatic configuration for this address");
	} else if (rc == ACDB_NOT_ADDRESS) {
		json_error(r, 400, "InvalidUser", "not a mail address");
	} else {
		plain_failure(r, rc, why);
	}
}

static void
respond_apple(struct acdb *db, const struct request *req, struct response *r)
{
	struct acdb_answer answer;
	bool ambiguous = false;
	const char *address = request_arg(req, "emailaddress", &ambiguous), *why = "";
	enum acdb_result rc;

	if (!method_is(req, "GET", "HEAD")) {
		plain(r, 405, "only GET and HEAD");
		r->allow = ALLOW_GET;
		return;
	}
	if (ambiguous || !address) {
		plain(r, 400, ambiguous ? "emailaddress given twice" : "a profile needs ?emailaddress=");
		return;
	}
	if ((rc = acdb_lookup(db, address, &answer, &why)) != ACDB_FOUND) {
		plain_failure(r, rc, why);
		return;
	}
	r->status = 200;
	r->content_type = ANSWER_TYPE_MOBILECONFIG;
	/* The address has only letters, digits and "._+-@": safe inside the quotes. */
	snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"%s.mobileconfig\"", answer.address);
	answer_mobileconfig(&answer, r->body);
}

void
respond(struct acdb *db, const struct request *req, const char *time, struct response *response)
{
	const char *path_address;
	enum request_kind kind = request_classify(req->path, &path_address);

	*response = (struct response){ .status = 500, .content_type = TYPE_TEXT, .body = g_string_sized_new(2048) };
	if (kind == REQUEST_UNKNOWN)
		plain(response, 404, "not found");
	else if (req->body_too_large)
		plain(response, 413, "request body too large");
	else if (req->dropped_args)
		plain(response, 400, "too many query arguments");
	else if (kind == REQUEST_THUNDERBIRD)
		respond_thunderbird(db, req, response);
	else if (kind == REQUEST_OUTLOOK)
		respond_outlook(db, req, time, response);
	else if (kind == REQUEST_OUTLOOK_JSON)
		respond_json(db, req, path_address, response);
	else
		respond_apple(db, req, response);
}

void
response_free(struct response *response)
{
	if (response->body)
		g_string_free(response->body, TRUE);
	response->body = NULL;
}

void
respond_clock(char out[16])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 16, "%H:%M:%S", &tm);
}

const char *
respond_reason(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}
