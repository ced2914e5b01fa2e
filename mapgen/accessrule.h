/*
 * accessrule - what an export's own access entry means to Sendmail.
 *
 * Rules, documented in hostmapgen-export(5):
 *  - the key is tagged (Connect:, From:, To:, Spam:, TLS_Srv:, ...) and
 *    has no blanks;
 *  - the value is one Sendmail reads for that tag: OK, RELAY, REJECT,
 *    DISCARD, SKIP, ERROR:..., QUARANTINE:... or an SMTP reply ("550
 *    text") for Connect:, From: and To:; FRIEND or HATER for Spam:; a
 *    number for GreetPause:, ClientRate: and ClientConn:; letters for
 *    Srv_Features: and Clt_Features:; YES or NO for Try_TLS:; a TLS
 *    requirement (VERIFY, ENCR:bits, ...) for TLS_Srv:, TLS_Clt: and
 *    TLS_Rcpt:; RELAY or SUBJECT for CERTISSUER: and CERTSUBJECT:;
 *  - a network in CIDR notation never matches (Sendmail cuts client
 *    addresses at octets): give networks in relay.clients;
 *  - RELAY for every client of a top-level domain (Connect:com) or for
 *    every destination in one (To:com) opens the server as a relay: an
 *    error; RELAY for a sender (From:) lets anyone who writes that sender
 *    relay, where FEATURE(`relay_mail_from') is on: a warning.
 * Pure functions.
 */
#ifndef HM_ACCESSRULE_H
#define HM_ACCESSRULE_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

bool accessrule_key_valid(const char *key);
/* NULL when nothing is to be said; else why (in why) with *code, an error or a warning. */
const char *accessrule_check(const char *key, const char *value, char *why, size_t whylen, enum report_code *code);

#endif
