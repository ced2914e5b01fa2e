/*
 * cgi - hostautoconfig as a CGI program (RFC 3875), for a web server that
 * runs it for each request instead of proxying to the daemon.
 *
 * The request comes from the environment (REQUEST_METHOD, REQUEST_URI or
 * SCRIPT_NAME and PATH_INFO, QUERY_STRING, HTTP_HOST, CONTENT_LENGTH,
 * REMOTE_ADDR) and standard input; the answer goes to standard output
 * with a Status header.  Settings, since a web server passes no options:
 *   HOSTAUTOCONFIG_MAP        the database (default /etc/mail/autoconfig.db)
 *   HOSTAUTOCONFIG_RATE_FILE  the rate table the web server's processes
 *                             share (ratetable), or "none" when the web
 *                             server limits requests itself; required,
 *                             so that no installation is unlimited by
 *                             oversight (503 and a line in the error log)
 *   HOSTAUTOCONFIG_RATE, HOSTAUTOCONFIG_BURST  requests per minute and burst
 * A body longer than CONTENT_LENGTH says, or than REQUEST_BODY_MAX, is not
 * read (413); standard input is read for at most the timeout given.
 * Messages go to standard error, the web server's error log.
 */
#ifndef HM_CGI_H
#define HM_CGI_H

#include <stdbool.h>

/* Whether the environment is a CGI request's. */
bool cgi_detect(void);
/* Answers the one request; the exit status. */
int cgi_main(unsigned per_minute, unsigned burst, unsigned timeout);

#endif
