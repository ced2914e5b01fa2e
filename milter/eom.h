/*
 * eom - a message's scanning at its end, and its verdict applied.
 *
 * Promise: eom_scan has the message scanned (through the scan workers,
 * workers.h, or in this thread with ScanWorkers 0), decides each
 * recipient's verdict (verdict.h), logs one line per recipient, and
 * applies the verdict through libmilter: the reply, the recipients
 * removed, hostmilter's marks (every copy the sender wrote of them
 * removed first), quarantine.  It tells Sendmail it is still there while
 * the scan runs.  Anything it cannot do tempfails the message.
 */
#ifndef HM_EOM_H
#define HM_EOM_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

#include "addr.h"
#include "marks.h"
#include "policy.h"
#include "spool.h"

struct hm_conf;
struct scanners;
struct workers;

/*
 * An accepted recipient, with what its verdict needs.  arg is kept byte for
 * byte as Sendmail gave it, whatever its length or bytes: smfi_delrcpt must
 * name the recipient exactly, and Sendmail ignores a delete that matches
 * nothing, which would deliver to a recipient whose policy refused.
 */
struct eom_rcpt {
	char *arg;
	char text[256];		/* printable, for the log and rspamd */
	struct policy_rules rules;	/* resolved: mailbox, else domain, else defaults */
	bool sender_allowed;
	char mailbox[ADDR_NAME_MAX + 1];
};

/* What the session gathered of the message; strings printable and never NULL. */
struct eom_message {
	const struct hm_conf *conf;
	const char *qid;	/* "" when unknown */
	const char *client, *helo, *sender, *auth_user;
	const struct eom_rcpt *rcpts;
	unsigned nrcpts;
	const struct spool *spool;
	bool has_subject;
	const char *subject;	/* the first Subject, whole; NULL when its copy failed */
	const unsigned *marks_seen;	/* MARKS_MAX counts of the sender's copies of hostmilter's headers */
};

/* Set before smfi_main: the scanners, and the workers (NULL: scanning in the milter's threads). */
void eom_set_scanners(struct scanners *scanners);
void eom_set_workers(struct workers *workers);

/* The libmilter reply for the message; *quarantined when it was held. */
sfsistat eom_scan(SMFICTX *ctx, const struct eom_message *m, bool *quarantined);

#endif
