/*
 * answer - the documents hostautoconfig sends, built from an autoconfig.db
 * answer (lib/acdb.h):
 *
 *  - Thunderbird's clientConfig version 1.1 (the ISPDB format), with an
 *    incomingServer per IMAP and POP3 server (IMAP first, the one clients
 *    prefer) and the SMTP server as outgoingServer; username is the login,
 *    or %EMAILADDRESS% when no address was asked for;
 *  - Outlook's Autodiscover response in the "outlook" schema 2006a: an
 *    email Account with one Protocol per server; and the Autodiscover
 *    error form (ErrorCode 600 invalid request, 500 unknown address, 601
 *    no provider for the schema asked, which is what a mobilesync
 *    (Exchange ActiveSync) request gets from a server without one);
 *  - the JSON answer to Outlook's autodiscover.json probe, pointing to the
 *    POX URL on the host the client asked;
 *  - an Apple configuration profile (.mobileconfig) with one mail payload,
 *    the preferred incoming server (IMAP over POP3) and the SMTP server,
 *    and never a password: the device asks for it.
 *
 * Promise: pure; every text from outside (address, host) is escaped for
 * where it goes, although autoconfig.db holds only names that hostmapgen
 * checked.  No answer names the mailbox's owner (Outlook's DisplayName was
 * a personal-data leak elsewhere).  The profile's identifiers and UUIDs
 * are derived from the address and the settings, so that fetching the
 * profile again replaces an installed one instead of adding a second.
 */
#ifndef HM_ANSWER_H
#define HM_ANSWER_H

#include <glib.h>

#include "acdb.h"

#define ANSWER_TYPE_XML "application/xml; charset=utf-8"
#define ANSWER_TYPE_AUTODISCOVER "text/xml; charset=utf-8"
#define ANSWER_TYPE_JSON "application/json; charset=utf-8"
#define ANSWER_TYPE_MOBILECONFIG "application/x-apple-aspen-config"

/* Autodiscover error codes. */
#define ANSWER_AD_UNKNOWN_ADDRESS 500
#define ANSWER_AD_INVALID_REQUEST 600
#define ANSWER_AD_NO_PROVIDER 601

void answer_thunderbird(const struct acdb_answer *answer, GString *out);
void answer_outlook(const struct acdb_answer *answer, GString *out);
/* time: "HH:MM:SS" of the response, for the Error element's Time attribute. */
void answer_outlook_error(unsigned code, const char *message, const char *time, GString *out);
/* host: a validated host name the client asked; the POX URL is https on it. */
void answer_outlook_json(const char *host, GString *out);
void answer_json_error(const char *code, const char *message, GString *out);
void answer_mobileconfig(const struct acdb_answer *answer, GString *out);

/* text escaped for XML content or attribute values. */
void answer_xml_escape(GString *out, const char *text);

#endif
