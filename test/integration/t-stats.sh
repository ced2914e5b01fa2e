#!/bin/bash
# t-stats - hostmilter's statistics, read both ways after real mail: from
# syslog on SIGUSR1 and from the Prometheus endpoint (StatsListen).
#
# A real sendmail and a real clamd; the second clamd node is a port where
# nothing listens (a dead node, as in production).  syslog: hostmilter runs
# in a mount namespace of its own whose /dev/log is syslog-catcher.py's
# socket, so the test reads exactly what syslog(3) sent without touching
# the host's log.
. "$(dirname "$0")/lib.sh"

hm_rundir stats
hm_sample_users
hm_cf_dir
CLAMD_PORT=3312 DEAD=3395 STATS=9899
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
hm_sendmail_config 2548 "$(hm_milter_mc 2549)"
check "clamd starts" hm_clamd_start $CLAMD_PORT
check "sendmail starts" hm_sendmail_start

# The statistics port must be loopback; -n says so before anything starts.
hm_milter_conf "StatsListen 0.0.0.0:$STATS"
out=$("$HOSTMILTER" -n -c "$RUN/hostmilter.conf" 2>&1)
like "StatsListen on 0.0.0.0 is refused" "$out" 'StatsListen: "0\.0\.0\.0:9899" is not a loopback ADDRESS:PORT'

# /dev/log, as hostmilter will see it: our catcher, bound over the host's.
SYSLOG=$RUN/syslog.txt
PLACEHOLDER=
if [ ! -e /dev/log ]; then
	: >/dev/log	# a mount point for the bind; removed on exit
	PLACEHOLDER=/dev/log
fi
stats_cleanup() {
	hm_cleanup
	[ -z "$PLACEHOLDER" ] || rm -f "$PLACEHOLDER"
}
trap stats_cleanup EXIT
hm_bg python3 "$HM_SRC/test/integration/syslog-catcher.py" "$RUN/syslog.sock" "$SYSLOG"
hm_until 30 test -S "$RUN/syslog.sock"

hm_milter_conf "Scanner clamd tcp:127.0.0.1:$CLAMD_PORT
Scanner clamd tcp:127.0.0.1:$DEAD
ScanTimeout 6
StatsListen 127.0.0.1:$STATS"
rm -f "$RUN/milter/hostmilter.sock"
before=$(hm_log_count 'started on')
unshare --mount sh -c 'mount --bind "$1" /dev/log && shift && exec "$@"' sh "$RUN/syslog.sock" \
	"$HOSTMILTER" -f -c "$RUN/hostmilter.conf" 2>>"$RUN/hostmilter.log" &
HM_MILTER_PID=$!
check "hostmilter starts with StatsListen" hm_milter_started "$HM_MILTER_PID" "$before"
hm_wait_port $STATS
like "the endpoint listens on loopback only" "$(ss -Hltn "sport = :$STATS" | awk '{print $4}')" "^127\.0\.0\.1:$STATS\$"
is "... served by the daemon's user, not root" "$(awk '/^Uid:/ {print $2}' "/proc/$HM_MILTER_PID/status")" \
	"$(id -u hostmilter)"

step() { grep -E "^$1" <<<"$2" | head -1; }
printf '%s' "$EICAR" >"$RUN/eicar.txt"
for i in 1 2 3 4; do
	out=$(hm_send "clean-$i" clean -- info@example.com)
	like "clean message $i accepted" "$(step DATA "$out")" '^DATA 250 '
done
out=$(hm_send eicar attach "$RUN/eicar.txt" -- info@example.com)
like "EICAR refused" "$(step DATA "$out")" '^DATA 554 5\.7\.1'
out=$(hm_probe --source 127.0.0.5 --to friend@elsewhere.example)
like "relay attempt refused" "$(step RCPT "$out")" ' 550 5\.7\.1 '

metrics() { curl -sS --max-time 5 "$@" "http://127.0.0.1:$STATS/metrics"; }
# metric NAME{LABELS}: its value in $PROM, or "absent".
metric() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "absent" }' <<<"$PROM"; }
PROM=$(metrics)
is "endpoint: accepted messages" "$(metric 'hostmilter_messages_total{outcome="accepted"}')" 4
is "endpoint: rejected messages" "$(metric 'hostmilter_messages_total{outcome="rejected"}')" 1
is "endpoint: the relay attempt ended without recipients" \
	"$(metric 'hostmilter_messages_total{outcome="no-recipients"}')" 1
is "endpoint: by rule, relay refused at RCPT" \
	"$(metric 'hostmilter_decisions_total{stage="rcpt",rule="relay",action="reject"}')" 1
is "endpoint: by rule, virus refused after the scan" \
	"$(metric 'hostmilter_decisions_total{stage="scan",rule="virus",action="reject"}')" 1
is "endpoint: by rule, clean verdicts" "$(metric 'hostmilter_decisions_total{stage="scan",rule="clean",action="accept"}')" 4
node="engine=\"clamd\",node=\"tcp:127.0.0.1:$CLAMD_PORT\""
dead="engine=\"clamd\",node=\"tcp:127.0.0.1:$DEAD\""
is "endpoint: the clamd node is up" "$(metric "hostmilter_scanner_node_state{$node,state=\"up\"}")" 1
is "endpoint: the dead node is down" "$(metric "hostmilter_scanner_node_state{$dead,state=\"down\"}")" 1
is "endpoint: ... after three failures, then no traffic" "$(metric "hostmilter_scanner_node_failures_total{$dead}")" 3
is "endpoint: the clamd node scanned every message" "$(metric "hostmilter_scanner_node_scans_total{$node}")" 5
like "endpoint: the clamd node's latency is measured" "$(metric "hostmilter_scanner_node_latency_seconds{$node}")" \
	'^0\.[0-9]*[1-9][0-9]*$'
like "endpoint: Content-Type is Prometheus text 0.0.4" "$(metrics -o /dev/null -D -)" \
	'Content-Type: text/plain; version=0\.0\.4'

# Prometheus's own parser, where it is installed (promtool, from the prometheus package).
if command -v promtool >/dev/null; then
	check "promtool check metrics accepts the output" sh -c "printf '%s\n' \"\$1\" | promtool check metrics" sh "$PROM"
fi

is "GET / is 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$STATS/")" 404
is "POST /metrics is 405" "$(curl -s -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$STATS/metrics")" 405
is "HEAD /metrics is 200" "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$STATS/metrics")" 200
# Clients that connect and say nothing hold neither the endpoint nor the mail.
exec 7<>"/dev/tcp/127.0.0.1/$STATS" 8<>"/dev/tcp/127.0.0.1/$STATS"
like "a scrape is served while two clients stall" "$(metrics)" 'hostmilter_messages_total\{outcome="accepted"\} 4'
out=$(hm_send while-stalled clean -- info@example.com)
like "... and mail flows" "$(step DATA "$out")" '^DATA 250 '
exec 7>&- 8>&-

# SIGUSR1: the same figures in syslog.
kill -USR1 "$HM_MILTER_PID"
hm_until 30 grep -q 'stats: scanner' "$SYSLOG"
log=$(grep "hostmilter\[$HM_MILTER_PID\]: stats:" "$SYSLOG")
like "syslog: the lines come from hostmilter, facility mail (priority <22>)" "$log" '^<22>'
like "syslog: messages by outcome" "$log" \
	'stats: uptime [0-9]+s, messages accepted=5 quarantined=0 discarded=0 rejected=1 tempfailed=0 aborted=0 no-recipients=1$'
like "syslog: by rule" "$log" 'stats: decisions .*rcpt/relay/reject=1'
like "syslog: by rule, after the scan" "$log" 'scan/virus/reject=1'
like "syslog: the clamd node" "$log" \
	"stats: scanner clamd tcp:127\.0\.0\.1:$CLAMD_PORT state=up scans=6 failures=0 latency=[0-9]+\.[0-9]ms"
# By now its revive time (3 to 7 s) may have passed and one probe failed too.
like "syslog: the dead node" "$log" "stats: scanner clamd tcp:127\.0\.0\.1:$DEAD state=(down|probing) scans=([34]) failures=\\2 "
is "SIGUSR1 leaves hostmilter running" "$(kill -0 "$HM_MILTER_PID" 2>&1 && echo running)" running

# The counters outlive a reload.
before=$(hm_log_count 'policy loaded')
kill -HUP "$HM_MILTER_PID"
hm_wait_log 'policy loaded' "$before"
PROM=$(metrics)
is "after SIGHUP the counters are kept" "$(metric 'hostmilter_messages_total{outcome="accepted"}')" 5

# A stop writes the last figures.
hm_milter_stop
like "on SIGTERM the final figures reach syslog" "$(grep 'stats: uptime' "$SYSLOG" | tail -1)" 'accepted=5 '
is "... and the endpoint is gone" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$STATS/metrics")" 000
done_testing
