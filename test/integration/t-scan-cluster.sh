#!/bin/bash
# t-scan-cluster - clamd nodes as a cluster through a real sendmail, and
# the faults a cluster must survive.  Real clamd everywhere it can be; the
# FAKE nodes of fake-scanner.py only inject what clamd will not do on
# demand (never answer, close mid-stream, answer garbage).
. "$(dirname "$0")/lib.sh"

hm_rundir scancluster
hm_sample_users
hm_cf_dir
CLAMD_PORT=3311
SILENT=3391 CLOSER=3392 GARBAGE=3393 NOBODY=3394
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
hm_sendmail_config 2546 "$(hm_milter_mc 2547)"
check "clamd starts (StreamMaxLength 4M)" hm_clamd_start $CLAMD_PORT 4M
hm_fake_scanner silent $SILENT
hm_fake_scanner close $CLOSER
hm_fake_scanner garbage $GARBAGE
check "sendmail starts" hm_sendmail_start

step() { grep -E "^$1" <<<"$2" | head -1; }
send() { hm_send "$@"; }
# restart_milter SCANNER_LINES...: hostmilter again with these Scanner lines.
restart_milter() {
	hm_milter_stop
	hm_milter_conf "$(printf '%s\n' "$@")
ScanTimeout 6"
	hm_milter_start
}
printf '%s' "$EICAR" >"$RUN/eicar.txt"

# A cluster of two real nodes: clamd over TCP and over its unix socket.
check "hostmilter starts with a clamd cluster (tcp + unix)" \
	restart_milter "Scanner clamd tcp:127.0.0.1:$CLAMD_PORT" "Scanner clamd unix:$RUN/clamd/clamd.sock"
missed=$(hm_testfiles_missed)
is "every clamav-testfiles sample detected through clamd" "$missed" ""
is "... with no node failure on the way" "$(grep -c 'scanner clamd' "$RUN/hostmilter.log")" "0"
out=$(send big-1 big 5000000 -- info@example.com)
like "a message over clamd's StreamMaxLength was not inspected: 554 5.7.1 (uninspectable: the next try meets the same limit)" \
	"$(step DATA "$out")" '^DATA 554 5\.7\.1 .*StreamMaxLength'
like "... logged as such" "$(cat "$RUN/hostmilter.log")" "reject rule=uninspectable .*why=\"Message could not be inspected: clamd: larger than clamd's StreamMaxLength\""
is "... and the node is not blamed for it" "$(grep -c 'scanner clamd' "$RUN/hostmilter.log")" "0"

# One misbehaving node and one real node: the retry from the spool gives the real verdict.
for mode in silent:$SILENT close:$CLOSER garbage:$GARBAGE nobody:$NOBODY; do
	restart_milter "Scanner clamd tcp:127.0.0.1:${mode#*:}" "Scanner clamd tcp:127.0.0.1:$CLAMD_PORT"
	out=$(send "eicar-${mode%%:*}" attach "$RUN/eicar.txt" -- info@example.com)
	like "node that ${mode%%:*}s + a real node: virus still refused 554" "$(step DATA "$out")" '^DATA 554 5\.7\.1'
	out=$(send "clean-${mode%%:*}" clean -- info@example.com)
	like "... clean mail still delivered" "$(step DATA "$out")" '^DATA 250 '
done
like "a failing node is logged, then taken out of rotation" "$(cat "$RUN/hostmilter.log")" "scanner clamd tcp:127.0.0.1:$NOBODY: .*refused"

# Every node misbehaves: tempfail, nothing queued.
restart_milter "Scanner clamd tcp:127.0.0.1:$SILENT" "Scanner clamd tcp:127.0.0.1:$GARBAGE"
before=$(ls "$RUN/queue" | grep -c '^qf')
start=$(date +%s)
out=$(send all-down clean -- info@example.com)
like "all nodes failing: 451 4.7.1" "$(step DATA "$out")" '^DATA 451 4\.7\.1 '
like "... within ScanTimeout (6 s) and no more" "$(( $(date +%s) - start ))" '^[0-7]$'
is "... and no message queued unscanned" "$(ls "$RUN/queue" | grep -c '^qf')" "$before"
hm_milter_stop
hm_milter_conf "Scanner clamd tcp:127.0.0.1:$NOBODY
OnScannerFailure accept
ScanTimeout 6"
hm_milter_start
out=$(send accept-unscanned clean -- info@example.com)
like "OnScannerFailure accept: 250" "$(step DATA "$out")" '^DATA 250 '
like "... marked as not scanned" "$(grep '^H??X-Virus-Scanned' "$(hm_qf accept-unscanned)")" 'failed \(clamd: connect'

# The only clamd killed during traffic, then restarted: tempfail meanwhile, mail flows again after.
restart_milter "Scanner clamd tcp:127.0.0.1:$CLAMD_PORT"
out=$(send before-kill clean -- info@example.com)
like "single clamd node: clean mail delivered" "$(step DATA "$out")" '^DATA 250 '
kill "$CLAMD_PID"
wait "$CLAMD_PID" 2>/dev/null
for i in 1 2 3; do
	out=$(send "while-dead-$i" attach "$RUN/eicar.txt" -- info@example.com)
	like "clamd killed, message $i: 451 4.7.1, the virus not accepted" "$(step DATA "$out")" '^DATA 451 4\.7\.1 '
done
like "... after three failures in a row the node is marked down" "$(cat "$RUN/hostmilter.log")" \
	"scanner clamd tcp:127.0.0.1:$CLAMD_PORT: down \(failures in a row"
lines=$(wc -l <"$RUN/hostmilter.log")
out=$(send while-down clean -- info@example.com)
like "... the next message tempfails" "$(step DATA "$out")" '^DATA 451 4\.7\.1 '
# Judged by what hostmilter did, not by the clock: a killed node refuses at
# once anyway, and a loaded machine makes any time limit a coin toss.
like "... without trying the dead node: every node is down" \
	"$(tail -n +"$((lines + 1))" "$RUN/hostmilter.log" | grep 'tempfail')" 'failure="clamd: every clamd node is down"'
hm_clamd_start $CLAMD_PORT 4M
# The breaker's revive time is 5 s +-40%, doubling per failed probe: a message
# a second until one is refused, at most 60 s (a condition, not a guess of time).
tries=0
refused_again() {
	tries=$((tries + 1))
	send "after-restart-$tries" attach "$RUN/eicar.txt" -- info@example.com | grep -q '^DATA 554' && return 0
	sleep 1
	return 1
}
check "clamd restarted: the virus is refused again (554)" hm_until 60 refused_again
diag "refused again after $tries messages"
like "... the node's return is logged" "$(cat "$RUN/hostmilter.log")" "scanner clamd tcp:127.0.0.1:$CLAMD_PORT: up \(probe answered\)"

done_testing
