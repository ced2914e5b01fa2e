#!/bin/bash
# t-spool - a 128 MB message through hostmilter with scanning on: memory
# stays bounded (the spool goes to a nameless file), nothing is left on
# disk after delivery or an aborted transfer.  Driven by the project's
# milter-protocol load driver, which plays Sendmail (no sendmail needed
# to push 128 MB through the filter) and pauses mid-body when asked, so
# that the transfer is looked at while it is surely under way.  The
# message is scanned whole by a clamd node (port 3321): libclamav holds
# about three times a message while it scans one that large, in whichever
# process it runs, which is not hostmilter's spool at work.
. "$(dirname "$0")/lib.sh"

MILTER_LOAD=${MILTER_LOAD:-$HM_BUILD/test/bench/milter-load}
hm_rundir spool
hm_sample_users
jq '.defaults.max_message_size = "256M" | (.domains[] | select(.name == "example.com")).max_message_size = "256M"' \
	"$SAMPLE_EXPORT" >"$RUN/export.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export.json" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
HM_CLAMD_EXTRA="MaxFileSize 260M
MaxScanSize 1040M" check "clamd starts, its limits above the policy's 256M" hm_clamd_start 3321 260M
mkdir -p "$RUN/spool"
hm_milter_conf "Scanner clamd tcp:127.0.0.1:3321
SpoolDirectory $RUN/spool"
chown hostmilter "$RUN/spool"
check "hostmilter starts with a clamd node" hm_milter_start
SOCK=unix:$RUN/milter/hostmilter.sock
# spool_files: the distinct files in the spool directory hostmilter holds open,
# counted by inode (libclamav may hold a second descriptor of the same file).
spool_files() {
	local fd
	for fd in "/proc/$HM_MILTER_PID/fd/"*; do
		case $(readlink "$fd" 2>/dev/null) in
		"$RUN/spool/"*) stat -L -c '%d:%i' "$fd" 2>/dev/null ;;
		esac
	done | sort -u | wc -l
}

out=$("$MILTER_LOAD" -s "$SOCK" -c 4 -n 40 -m 10)
like "warm-up: 40 ordinary messages accepted" "$out" 'messages=40 ok=40 refused=0 errors=0'
# Sendmail waits only for the replies that decide (MAIL, each RCPT, end of
# message), not for each header and body chunk: SMFIP_NR_* negotiated.
like "... each waiting for 4 replies: MAIL, two RCPT, end of message" "$out" ' replies_per_msg=4\.0'
# The memory hostmilter allocates: anonymous pages, sampled while the message goes through.  The
# spool file is mapped read-only for the attachment walk (scan/attach.c); those pages are the page
# cache's, shared and dropped at will, and VmHWM would count them.
anon() { awk '/^RssAnon/ { print $2 }' "/proc/$HM_MILTER_PID/status"; }
before=$(anon)
: >"$RUN/anon.samples"
( while kill -0 "$HM_MILTER_PID" 2>/dev/null && [ ! -e "$RUN/anon.stop" ]; do anon >>"$RUN/anon.samples"; sleep 0.02; done ) &
sampler=$!
out=$("$MILTER_LOAD" -s "$SOCK" -c 1 -n 1 --body-bytes 134217728)
touch "$RUN/anon.stop"
wait "$sampler"
after=$(sort -n "$RUN/anon.samples" | tail -1)
like "a 128 MB message passes, scanned and accepted" "$out" 'messages=1 ok=1 refused=0 errors=0'
diag "anonymous memory before ${before} kB, at most ${after} kB while the message went through"
if [ $(( ${after:-0} - before )) -le 16384 ]; then ok "... anonymous memory grew $(( ${after:-0} - before )) kB, at most 16 MB"
else not_ok "... anonymous memory grew $(( ${after:-0} - before )) kB, more than 16 MB"; fi
is "... nothing left in the spool directory" "$(ls -A "$RUN/spool")" ""
is "... no spool file held open" "$(spool_files)" "0"

"$MILTER_LOAD" -s "$SOCK" -c 1 -n 1 --body-bytes 134217728 --pause-at 33554432 >"$RUN/load.out" &
load=$!
check "the load driver pauses 32 MB into a 128 MB body" hm_until 120 grep -q '^paused' "$RUN/load.out"
is "a transfer under way holds one nameless spool file" "$(spool_files)" "1"
is "... which has no name in the spool directory" "$(ls -A "$RUN/spool")" ""
kill -9 $load
wait $load 2>/dev/null
check "the client killed mid-message: the spool file is gone" hm_until 60 eval '[ "$(spool_files)" -eq 0 ]'
out=$("$MILTER_LOAD" -s "$SOCK" -c 1 -n 5)
like "... and hostmilter serves the next messages" "$out" 'messages=5 ok=5 refused=0 errors=0'
check "hostmilter is still running" kill -0 "$HM_MILTER_PID"
done_testing
