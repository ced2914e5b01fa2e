/*
 * odreq - the body of Outlook's POST to autodiscover.xml:
 *
 *   <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
 *     <Request><EMailAddress>user@example.com</EMailAddress>
 *       <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
 *     </Request></Autodiscover>
 *
 * or the same in the mobilesync (Exchange ActiveSync) namespaces.
 *
 * Read with expat, a real XML parser, because the body comes from anyone:
 * a document type declaration is refused before expat reads any of it, so
 * no entity is ever declared or expanded (no "billion laughs", no external
 * entity, no network or file access: expat has none of its own either);
 * the body is bounded by the caller, the depth and the text kept here by
 * ODREQ_DEPTH_MAX and the sizes of the fields.  Text that is not UTF-8 is
 * a parse error (expat checks).
 *
 * Promise: odreq_parse is pure; it fills the two fields it knows (the
 * first of each, in Request directly under Autodiscover, in either
 * namespace family), says which family the request was in, and returns -1
 * with a reason for anything that is not such a document.
 */
#ifndef HM_ODREQ_H
#define HM_ODREQ_H

#include <stddef.h>

#include "acdb.h"

#define ODREQ_DEPTH_MAX 16
#define ODREQ_NS_OUTLOOK_REQUEST "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
#define ODREQ_NS_MOBILESYNC_REQUEST "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
#define ODREQ_SCHEMA_OUTLOOK "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
#define ODREQ_SCHEMA_MOBILESYNC "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"

enum odreq_family { ODREQ_OUTLOOK, ODREQ_MOBILESYNC };

struct odreq {
	enum odreq_family family;
	char address[ACDB_ADDRESS_MAX + 1];	/* "" when the request has none */
	char schema[256];			/* AcceptableResponseSchema, "" when absent */
};

int odreq_parse(const char *body, size_t len, struct odreq *out, const char **why);

#endif
