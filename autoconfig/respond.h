/*
 * respond - what hostautoconfig answers to a request, whichever way it
 * came (libmicrohttpd or CGI), decided over plain structs.
 *
 * Decisions, as users of such servers expect them:
 *  - An address that is not eligible (not in an opted-in domain, or not
 *    reaching exactly one mailbox) gets 404, as Hostsharing's own
 *    responder does; a text that is no address gets 400; a database that
 *    cannot be read gets 503, never a 404 that a client would believe.
 *  - Thunderbird without emailaddress (Thunderbird for Android asks so):
 *    the domain of the Host header, and of its parent when the host is
 *    autoconfig.DOMAIN, with %EMAILADDRESS% as the username.
 *  - Outlook: POST only (GET gets 405 with Autodiscover's error 600); a
 *    mobilesync (ActiveSync) request, or one accepting no schema we
 *    offer, gets error 601 with HTTP 200, as Exchange answers, so the
 *    device says so instead of trying further; every other refusal
 *    carries the error document too.  The JSON probe answers only
 *    Protocol=AutodiscoverV1, for an eligible address, pointing to the
 *    POX URL on the host it asked.
 *  - Apple: the address is required (a profile names the account).
 *  - Anything else is 404; methods other than GET, HEAD (and POST for
 *    Outlook) 405; an ambiguous or oversized request 400 or 413.
 * Answers are marked "Cache-Control: no-store": they are per address.
 */
#ifndef HM_RESPOND_H
#define HM_RESPOND_H

#include <glib.h>

#include "acdb.h"
#include "request.h"

struct response {
	unsigned status;
	const char *content_type;
	GString *body;
	const char *allow;		/* the Allow header of a 405, else NULL */
	char disposition[ACDB_ADDRESS_MAX + 64];	/* Content-Disposition, "" for none */
	const char *why;		/* for the log, when the database failed (503) */
};

/* Fills response (its body is new; response_free frees it); time "HH:MM:SS" for Outlook's errors. */
void respond(struct acdb *db, const struct request *req, const char *time, struct response *response);
void response_free(struct response *response);
/* "HH:MM:SS" (UTC) of now, for Outlook's error documents. */
void respond_clock(char out[16]);
/* The reason phrase of the statuses respond and its callers send. */
const char *respond_reason(unsigned status);

#endif
