/*
 * explain - what the installed files do (hostmapgen --explain): they, not
 * an export, are what Sendmail and hostmilter use.
 *
 * For an address: the delivery chain as Sendmail resolves it from class w
 * (sendmail.cw, the host's own names, localhost), virtmaps (user+detail,
 * user+*, user, +*, @domain, with %1 %2 %3), aliases (user+detail, user+*,
 * user; a name that aliases to itself is delivered), mailertable (the
 * domain, then each parent ".domain", then ".") and the password database
 * for local users -- not a user's .forward -- ending in local deliveries,
 * programs, files, remote deliveries or refusals, with every map key it
 * used; then, from hostmilter.db, whether hostmilter takes the recipient,
 * each policy key with where it came from (mailbox, domain, defaults or
 * built-in), the rate limit of the mailbox it reaches when that mailbox
 * sends, its route and its mail client login.  For a client -- an IP
 * address, "auth USER" or "cert ISSUER [SUBJECT]" -- whether and why it may
 * relay (hostmilter.db's rights and Sendmail's access map) and its rate
 * limit.
 *
 * Promise: reads only (safefile: no symbolic link, FIFO or device is
 * opened), one lookup per key, so that an answer on a million addresses
 * takes milliseconds; a missing map is an empty one, a missing or
 * unreadable hostmilter.db an error.
 */
#ifndef HM_EXPLAIN_H
#define HM_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>

struct explain_files {
	const char *dir;
	const char *virtuser, *aliases, *access, *cw, *mailertable, *policy;
	const char *autoconfig;	/* autoconfig.db: missing, no domain opted in */
};

/*
 * subject: ADDRESS, IP, "auth" USER or "cert" ISSUER [SUBJECT] (n words).
 * 0 with *answer (JSON) and *text (for people; g_free), or -1 with err.
 */
int explain_subject(const struct explain_files *files, int n, char **subject, json_t **answer, char **text,
		    char *err, size_t errlen);

#endif
