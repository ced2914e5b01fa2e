/*
 * scanserve - hostmilter scans messages for hostscan (ScanService).
 *
 * Promise: with "ScanService unix:/PATH" in hostmilter.conf, hostmilter
 * listens there (the socket made by root before privileges drop, mode
 * 0666, in a directory only root or UserID can change) and answers
 * scan/service.h's requests with its own scanners and attachment walk, so
 * that hostscan run by a user's procmail needs neither the ClamAV
 * database nor the milter's spool.  Bounded: ScanServiceClients requests
 * at a time (workers started once; further connections wait in the
 * listen queue, then are refused), a message no larger than the largest
 * the engines inspect whole, the request read within ScanTimeout, the
 * answer written within 10 s.  spamd's User is the requesting user, from
 * the socket's credentials, so per-user settings apply and cannot be
 * claimed by another user.
 */
#ifndef HM_SCANSERVE_H
#define HM_SCANSERVE_H

#include <stddef.h>

struct hm_conf;
struct scanners;
struct workers;

/* What scanserve_open checks before it binds (the address, its directory), for hostmilter -n. */
int scanserve_check(const struct hm_conf *conf, char *err, size_t errlen);
/* As root, before privileges drop: binds the socket if ScanService is set; 0, or -1 with err. */
int scanserve_open(const struct hm_conf *conf, char *err, size_t errlen);
/* After they dropped: starts the threads that serve, which scan through the scan workers
 * (workers.h; NULL: in those threads); 0, or -1 with err. */
int scanserve_start(struct scanners *scanners, struct workers *workers, const struct hm_conf *conf, char *err,
		    size_t errlen);
/* Stops taking requests and waits for the workers (each bounded by its deadlines). */
void scanserve_stop(void);

#endif
