/*
 * odreq - Outlook's autodiscover request; see odreq.h.
 */
#include "config.h"

#include <expat.h>
#include <string.h>

#include "odreq.h"

/* expat joins a namespace and a local name with this. */
#define NS_SEP '|'

enum field { FIELD_NONE, FIELD_ADDRESS, FIELD_SCHEMA };

struct reader {
	XML_Parser parser;
	struct odreq *out;
	unsigned depth;
	bool family_known;
	bool in_request;		/* depth 2: Autodiscover/Request */
	enum field field;		/* collecting its text */
	char text[sizeof(((struct odreq *)0)->schema)];
	size_t textlen;
	bool overlong;
	bool have_address, have_schema;
	const char *why;
};

static void
stop(struct reader *r, const char *why)
{
	if (!r->why)
		r->why = why;
	XML_StopParser(r->parser, XML_FALSE);
}

/* The local name of "NAMESPACE|Local" when the namespace is one of the request's; NULL otherwise. */
static const char *
request_name(struct reader *r, const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	size_t nslen = sep ? (size_t)(sep - name) : 0;
	enum odreq_family family;

	if (!sep)
		return NULL;
	if (nslen == strlen(ODREQ_NS_OUTLOOK_REQUEST) && strncmp(name, ODREQ_NS_OUTLOOK_REQUEST, nslen) == 0)
		family = ODREQ_OUTLOOK;
	else if (nslen == strlen(ODREQ_NS_MOBILESYNC_REQUEST) && strncmp(name, ODREQ_NS_MOBILESYNC_REQUEST, nslen) == 0)
		family = ODREQ_MOBILESYNC;
	else
		return NULL;
	if (r->family_known && family != r->out->family)
		return NULL;
	r->out->family = family;
	r->family_known = true;
	return sep + 1;
}

static void XMLCALL
on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
	struct reader *r = data;
	const char *local = request_name(r, name);

	(void)attrs;
	if (++r->depth > ODREQ_DEPTH_MAX) {
		stop(r, "nested too deeply");
		return;
	}
	if (r->depth == 1 && (!local || strcmp(local, "Autodiscover") != 0))
		stop(r, "not an Autodiscover request");
	else if (r->depth == 2)
		r->in_request = local && strcmp(local, "Request") == 0;
	else if (r->depth == 3 && r->in_request && local) {
		if (strcmp(local, "EMailAddress") == 0 && !r->have_address)
			r->field = FIELD_ADDRESS;
		else if (strcmp(local, "AcceptableResponseSchema") == 0 && !r->have_schema)
			r->field = FIELD_SCHEMA;
		r->textlen = 0;
		r->overlong = false;
	}
}

/* Text without the blanks around it, as pretty-printed requests have them. */
static void
keep_text(struct reader *r, char *dest, size_t destlen, bool *have)
{
	size_t start = 0, end = r->textlen;

	while (start < end && strchr(" \t\r\n", r->text[start]))
		start++;
	while (end > start && strchr(" \t\r\n", r->text[end - 1]))
		end--;
	if (r->overlong || end - start >= destlen) {
		stop(r, "a field is too long");
		return;
	}
	memcpy(dest, r->text + start, end - start);
	dest[end - start] = '\0';
	*have = true;
}

static void XMLCALL
on_end(void *data, const XML_Char *name)
{
	struct reader *r = data;

	(void)name;
	if (r->depth == 3 && r->field == FIELD_ADDRESS)
		keep_text(r, r->out->address, sizeof(r->out->address), &r->have_address);
	else if (r->depth == 3 && r->field == FIELD_SCHEMA)
		keep_text(r, r->out->schema, sizeof(r->out->schema), &r->have_schema);
	if (r->depth == 3)
		r->field = FIELD_NONE;
	r->depth--;
}

static void XMLCALL
on_text(void *data, const XML_Char *text, int len)
{
	struct reader *r = data;

	if (r->field == FIELD_NONE || r->depth != 3 || len <= 0)
		return;
	if ((size_t)len > sizeof(r->text) - r->textlen) {
		r->overlong = true;
		return;
	}
	memcpy(r->text + r->textlen, text, (size_t)len);
	r->textlen += (size_t)len;
}

/* No request has a DTD; refusing it here means no entity is ever declared. */
static void XMLCALL
on_doctype(void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid, int internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)internal;
	stop(data, "a document type declaration (entities are not accepted)");
}

static void XMLCALL
on_entity(void *data, const XML_Char *name, int parameter, const XML_Char *value, int len, const XML_Char *base,
	  const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)parameter, (void)value, (void)len, (void)base, (void)sysid, (void)pubid, (void)notation;
	stop(data, "an entity declaration");
}

static XML_Parser
new_parser(struct reader *r)
{
	XML_Parser parser = XML_ParserCreateNS("UTF-8", NS_SEP);

	if (!parser)
		return NULL;
	XML_SetUserData(parser, r);
	XML_SetElementHandler(parser, on_start, on_end);
	XML_SetCharacterDataHandler(parser, on_text);
	XML_SetStartDoctypeDeclHandler(parser, on_doctype);
	XML_SetEntityDeclHandler(parser, on_entity);
	/* Never read an external DTD or entity, whatever a document says. */
	XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);
	return parser;
}

int
odreq_parse(const char *body, size_t len, struct odreq *out, const char **why)
{
	struct reader r = { .out = out };
	enum XML_Status status;

	memset(out, 0, sizeof(*out));
	if (len > (size_t)INT32_MAX || !(r.parser = new_parser(&r))) {
		*why = "cannot parse";
		return -1;
	}
	status = XML_Parse(r.parser, body, (int)len, XML_TRUE);
	if (status != XML_STATUS_OK && !r.why)
		r.why = XML_ErrorString(XML_GetErrorCode(r.parser));
	XML_ParserFree(r.parser);
	if (status == XML_STATUS_OK && !r.why && !r.family_known)
		r.why = "not an Autodiscover request";
	if (r.why) {
		*why = r.why;
		return -1;
	}
	return 0;
}
