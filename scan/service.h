/*
 * service - the scan service's wire format, and hostscan's end of it.
 *
 * hostmilter can scan messages for hostscan (ScanService in
 * hostmilter.conf, milter/scanserve.c): an ordinary user's LDA then needs
 * neither the ClamAV database in memory nor the milter's spool.  One
 * request per connection, over a unix socket:
 *
 *   HOSTSCAN/1\n  size: BYTES\n  spam: 0|1\n  type: BLOCKED-TYPE\n ...  \n
 *
 * to which the service says "HOSTSCAN/1 go\n" before the BYTES of the
 * message follow -- or answers at once with an error, so that a refused
 * message is not sent at all -- and then one answer, a head only:
 *
 *   HOSTSCAN/1 ok\n  engines: virus spam\n  virus-engines: clamav\n  virus: NAME\n
 *   virus-failed: 1\n  virus-incomplete: WHY\n  encrypted: WHY\n  spam: SCORE REQUIRED RULES\n
 *   spam-failed: 1\n  failure: TEXT\n  skipped: TEXT\n  type: TYPE<TAB>FILENAME\n ...
 *   attachments: complete|incomplete WHY\n  attachments-failed: WHY\n  attachments-encrypted: WHY\n  \n
 *
 * or "HOSTSCAN/1 error TEXT\n\n".  The "type:" lines of a request are the
 * types the caller's rules block (libmagic's rules are chosen from them,
 * and the parts are walked only when there is one); those of an answer
 * are the parts' true types.
 *
 * Promise: heads are bounded (SERVICE_HEAD_MAX, SERVICE_REPLY_MAX) and
 * parsed without trusting the peer: unknown lines are errors, values are
 * printable and bounded, a score is read without the locale.  An answer
 * that does not parse is a failure, never a verdict; so is every failure
 * of the exchange (service_scan), and hostscan's OnScannerFailure decides.
 */
#ifndef HM_SERVICE_H
#define HM_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "scanners.h"
#include "spool.h"

#define SERVICE_HEAD_MAX 4096
#define SERVICE_GO "HOSTSCAN/1 go\n"
#define SERVICE_REPLY_MAX 32768

struct service_request {
	uint64_t size;
	bool want_spam;
	const char *types[POLICY_TYPES_MAX];	/* the caller's, or pointing into a parsed head */
	size_t ntypes;
};

struct service_reply {
	bool ok;
	char error[200];	/* when not ok: what the service or the exchange said */
	bool virus_scanning, spam_scanning;	/* engines of each kind the service has */
	struct scan_outcome outcome;
	bool attachments_read;	/* the request named types: attachments is the walk's report */
	struct attach_report attachments;
};

/* The head of a request; its length, 0 when it does not fit. */
size_t service_request_head(const struct service_request *req, char *buf, size_t size);
/* Parses a head (NUL-terminated, up to its blank line); 0, or -1 with why. */
int service_request_parse(char *head, struct service_request *req, const char **why);

/* An answer; its length (truncated values, never a truncated line). */
size_t service_reply_format(const struct service_reply *reply, char *buf, size_t size);
/* Parses an answer (NUL-terminated); 0 with reply->ok, or -1 with reply->error. */
int service_reply_parse(const char *text, struct service_reply *reply);

/* Sends the message to the service at address ("unix:/PATH") and reads the
 * answer, all before deadline_ms; 0, or -1 with reply->error. */
int service_scan(const char *address, const struct spool *spool, const struct service_request *req,
		 uint64_t deadline_ms, struct service_reply *reply);

#endif
