#!/bin/bash
# t-feature - FEATURE(`hostmilter'): the sample sendmail.mc builds with m4,
# declares the filter with F=T, and appends hostmilter's macros to the
# lists an admin already set instead of replacing them.
. "$(dirname "$0")/lib.sh"

hm_rundir feature
hm_cf_dir
cf=$(m4 -D_CF_DIR_="$HM_CF_DIR/" "$HM_SRC/sample-etc-mail/sendmail.mc" 2>"$RUN/m4.err")
is "sample sendmail.mc builds with m4" "$(grep -c 'ERROR' "$RUN/m4.err")" 0
like "filter declared with F=T and timeouts" "$cf" '^Xhostmilter, S=unix:/run/hostmilter/hostmilter\.sock, F=T, T=C:30s;S:1m;R:2m;E:10m$'
like "it is an input filter" "$cf" '^O InputMailFilters=hostmilter$'
like "connect macros: defaults kept, client_addr added" "$cf" '^O Milter\.macros\.connect=j, _, \{daemon_name\}, \{if_name\}, \{if_addr\}, \{client_addr\}$'
like "helo macros: {verify} added once" "$cf" '^O Milter\.macros\.helo=.*\{cert_issuer\}, \{verify\}$'
like "envfrom macros: nothing doubled" "$cf" '^O Milter\.macros\.envfrom=i, \{auth_type\}, \{auth_authen\}, \{auth_ssf\}, \{auth_author\}, \{mail_mailer\}, \{mail_host\}, \{mail_addr\}$'

# An admin's own lists, and another filter's FEATURE before ours.
cat >"$RUN/admin.mc" <<'MC'
divert(0)dnl
include(`cf/m4/cf.m4')dnl
OSTYPE(`debian')dnl
define(`confMILTER_MACROS_ENVRCPT', ``{rcpt_host}, {greylist}'')dnl
define(`confMILTER_MACROS_CONNECT', `')dnl
INPUT_MAIL_FILTER(`greylist', `S=local:/run/milter-greylist/sock')dnl
define(`confHOSTMILTER_TIMEOUTS', `S:30s;R:30s;E:5m')dnl
FEATURE(`hostmilter')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
MC
cf=$(cd "$RUN" && m4 -D_CF_DIR_="$HM_CF_DIR/" admin.mc 2>/dev/null)
like "admin's envrcpt list kept, ours appended" "$cf" '^O Milter\.macros\.envrcpt=\{rcpt_host\}, \{greylist\}, \{rcpt_addr\}, \{rcpt_mailer\}$'
like "an emptied list gets just ours" "$cf" '^O Milter\.macros\.connect=\{daemon_name\}, \{if_addr\}, \{client_addr\}$'
like "both filters run, the other one first" "$cf" '^O InputMailFilters=greylist, hostmilter$'
like "default socket and the admin's timeouts" "$cf" '^Xhostmilter, S=unix:/run/hostmilter/hostmilter\.sock, F=T, T=S:30s;R:30s;E:5m$'
done_testing
