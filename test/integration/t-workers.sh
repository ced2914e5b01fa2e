#!/bin/bash
# t-workers - scan workers through a real sendmail:
#  - ScanWorkers processes, as UserID, with their limits (no core, 64
#    descriptors, an address-space cap) and no descriptor of the daemon's
#    but their channel; children of the fork server, hostmilter's one
#    child, which forks them all (replacements too) and is itself limited;
#  - a worker killed with SIGKILL while it holds a message: that message
#    gets OnScannerFailure (451), 100 concurrent sessions keep flowing, and
#    the worker is replaced; the same message killing a worker again
#    (SIGSEGV) gets the uninspectable action (554 5.7.1);
#  - a worker past its CPU limit (SIGXCPU) or its address-space limit
#    (the fault injector, ScanWorkerFaults): 451 for that message only;
#  - the seccomp filter: a worker cannot exec, open an inet socket or
#    signal its parent (the fork server) or anyone else;
#  - the restarts and poison messages in /metrics and the SIGUSR1 report;
#  - a ClamAV database reload: fresh workers that know the new signature;
#  - the fork server killed: hostmilter logs it and exits, no worker left;
#  - ScanTemporaryDirectory checked as SpoolDirectory is, and used;
#  - ScanWorkers 0: no worker, scanning in the milter's threads as before.
# Real signals go to the real workers' pids; to catch one holding a message,
# the workers are stopped (SIGSTOP) before it is sent, and the one whose
# channel has the request queued is the one that holds it.
. "$(dirname "$0")/lib.sh"

hm_rundir workers
hm_sample_users
hm_cf_dir
STATS=9864
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
# 100 sessions at once on a shared machine: sendmail must not refuse them for the load average, and
# they connect to a port of their own whose listen queue holds them all (the default, 10, drops the rest).
hm_sendmail_config 2664 "$(hm_milter_mc 2665)
DAEMON_OPTIONS(\`Family=inet, Name=FLOW, Port=2666, Addr=127.0.0.1, Listen=256')dnl
define(\`confREFUSE_LA', \`500')dnl
define(\`confDELAY_LA', \`500')dnl
define(\`confQUEUE_LA', \`500')dnl"
hm_spool_dir
CONF_LINES="Scanner clamav
ClamAVDatabase $RUN/clamdb
ClamAVCheckInterval 1
ScanTimeout 120
ScanWorkerMemory 128M
ScanWorkerFaults yes
StatsListen 127.0.0.1:$STATS
SpoolDirectory $RUN/spool"
hm_milter_conf "$CONF_LINES
ScanWorkers 2"
check "hostmilter starts with ScanWorkers 2" hm_milter_start
check "sendmail starts" hm_sendmail_start

# The fork server: hostmilter's child; the workers: its children.
children() { ps --ppid "$1" -o pid=,comm= 2>/dev/null | awk -v c="$2" '$2 == c { print $1 }' | sort -n | tr '\n' ' '; }
server() { children "$HM_MILTER_PID" hostmilter-fork | awk '{ print $1 }'; }
workers() { local s; s=$(server); [ -z "$s" ] || children "$s" hostmilter-scan; }
nworkers() { workers | wc -w; }
two_workers() { [ "$(nworkers)" -eq 2 ]; }
step() { grep -E "^$1" <<<"$2" | head -1; }
metric() { curl -sS --max-time 5 "http://127.0.0.1:$STATS/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

check "two workers, named hostmilter-scan, children of the fork server" hm_until 30 two_workers
fs=$(server)
is "hostmilter's one child: the fork server, hostmilter-fork" \
	"$(ps --ppid "$HM_MILTER_PID" -o comm= | tr '\n' ' ')" "hostmilter-fork "
is "... as UserID" "$(ps -o user= -p "$fs")" hostmilter
like "... no core files, 64 descriptors" "$(grep -E '^Max (core file size|open files)' "/proc/$fs/limits" | tr -s ' ' | tr '\n' ' ')" \
	'^Max core file size 0 0 bytes +Max open files 64 64 files'
like "... only the standard descriptors and its channel" "$(ls "/proc/$fs/fd" | sort -n | tr '\n' ' ')" '^0 1 2 3 (4 )?$'
like "... under a seccomp filter" "$(grep '^Seccomp:' "/proc/$fs/status")" 'Seccomp:[[:space:]]+2'
w=$(workers | awk '{ print $1 }')
is "... a worker's parent (ps -o ppid) is the fork server" "$(ps -o ppid= -p "$w" | tr -d ' ')" "$fs"
is "... running as UserID" "$(ps -o user= -p "$w")" hostmilter
limits=$(cat "/proc/$w/limits")
like "... no core files" "$(grep '^Max core file size' <<<"$limits")" 'size +0 +0 '
like "... 64 descriptors" "$(grep '^Max open files' <<<"$limits")" 'files +64 +64 '
unlike "... an address-space limit" "$(grep '^Max address space' <<<"$limits")" 'unlimited'
fds=$(ls "/proc/$w/fd" | sort -n | tr '\n' ' ')
like "... only the standard descriptors and its channel" "$fds" '^0 1 2 3 (4 )?$'
unlike "... none of the milter's sockets" "$(ls -l "/proc/$w/fd")" 'hostmilter\.sock|control\.sock'
is "... the metrics say 2 workers" "$(metric hostmilter_scan_workers)" 2
like "... under a seccomp filter" "$(grep '^Seccomp:' "/proc/$w/status")" 'Seccomp:[[:space:]]+2'

out=$(hm_send clean-1 clean -- info@example.com)
like "a clean message through a worker: 250" "$(step DATA "$out")" '^DATA 250 '
printf '%s' "$EICAR" >"$RUN/eicar.txt"
out=$(hm_send eicar-1 attach "$RUN/eicar.txt" notes.txt text/plain -- info@example.com)
like "EICAR found by libclamav in a worker: 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 .*Virus'
out=$(hm_send disguised attach /usr/share/clamav-testfiles/clam.exe invoice.pdf application/pdf -- info@example.com)
like "the attachment walk in a worker: clam.exe refused" "$(step DATA "$out")" '^DATA 55[04] 5\.7\.1 '

# ---- a worker killed while it holds a message ----
# held PIDS: the pid among PIDS whose channel (fd 3, a unix socket) has a request queued, if any.
held() {
	local p ino
	for p in $1; do
		ino=$(readlink "/proc/$p/fd/3" 2>/dev/null | tr -dc 0-9)
		[ -n "$ino" ] && ss -x -H 2>/dev/null | awk -v i="$ino" '$6 == i && $3 > 0 { found = 1 } END { exit !found }' &&
			{ echo "$p"; return 0; }
	done
	return 1
}
has_holder() { held "$1" >/dev/null; }
# catch FILE OUT: stops every worker, sends FILE in the background (its probe's lines to OUT), and
# sets HOLDER to the worker that holds it; the others go on.  Not in a $(...): the probe would hold
# its pipe open until it ends.
catch() {
	local all p
	HOLDER=
	all=$(workers)
	kill -STOP $all
	hm_bg hm_probe --source 127.0.0.5 --to info@example.com --message "$1" >"$2"
	hm_until 60 has_holder "$all" && HOLDER=$(held "$all")
	for p in $all; do [ "$p" = "$HOLDER" ] || kill -CONT "$p"; done
	diag "worker ${HOLDER:-(none)} holds it"
}
wait_file() { [ -s "$1" ] && grep -q '^DATA\|^QUIT\|rror' "$1"; }

poison=$(HM_SUBJECT=poison hm_message text "a message that takes scan workers down")
before=$(hm_log_count 'killed by signal 9')
catch "$poison" "$RUN/poison-1.out"
holder=$HOLDER
check "a worker holds the message" test -n "$holder"
cat >"$RUN/flow.py" <<'PY'
import smtplib, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
codes, lock = [], threading.Lock()
def one(i):
    try:
        s = smtplib.SMTP("127.0.0.1", port, source_address=("127.0.0.5", 0), timeout=180)
        s.ehlo("client.example")
        s.mail("sender@client.example")
        s.rcpt("info@example.com")
        code, _ = s.data("Subject: flow-%d\r\nFrom: sender@client.example\r\nTo: info@example.com\r\n\r\n"
                         "clean message %d\r\n" % (i, i))
        s.quit()
    except Exception as e:
        code = type(e).__name__
    with lock:
        codes.append(str(code))
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(" ".join("%s=%d" % (c, codes.count(c)) for c in sorted(set(codes))))
PY
python3 "$RUN/flow.py" 2666 100 >"$RUN/flow.out" 2>&1 &
FLOW=$!
kill -KILL "$holder" 2>/dev/null
check "... its probe ends" hm_until 60 wait_file "$RUN/poison-1.out"
like "SIGKILL to the worker holding it: that message 451 (OnScannerFailure tempfail)" \
	"$(step DATA "$(cat "$RUN/poison-1.out")")" '^DATA 451 4\.7\.1 '
wait "$FLOW"
is "... 100 concurrent sessions meanwhile: all 250" "$(cat "$RUN/flow.out")" "250=100"
check "... the log says which worker and how" hm_wait_log 'killed by signal 9' "$before"
check "... and it is replaced: two workers again" hm_until 30 two_workers
is "... the replacement forked by the same fork server" \
	"$(for p in $(workers); do ps -o ppid= -p "$p"; done | tr -d ' ' | sort -u)" "$fs"
unlike "... not the killed one" " $(workers)" " $holder "
check "... hostmilter itself still runs" kill -0 "$HM_MILTER_PID"

before=$(hm_log_count 'killed by signal 11')
catch "$poison" "$RUN/poison-2.out"
holder=$HOLDER
check "the same message again: a worker holds it" test -n "$holder"
kill -SEGV "$holder" && kill -CONT "$holder"
check "... its probe ends" hm_until 60 wait_file "$RUN/poison-2.out"
like "SIGSEGV, the second time for this content: 554 5.7.1 (uninspectable), no retry" \
	"$(step DATA "$(cat "$RUN/poison-2.out")")" '^DATA 554 5\.7\.1 .*could not be inspected'
check "... the log says signal 11" hm_wait_log 'killed by signal 11' "$before"
check "... replaced" hm_until 30 two_workers

# ---- limits: CPU time and address space (the fault injector) ----
fault() {
	local f
	f=$(mktemp "$RUN/fault.XXXXXX")
	printf 'From: a@client.example\r\nTo: info@example.com\r\nSubject: fault %s\r\nX-Hostmilter-Test-Fault: %s\r\n\r\n%s\r\n' \
		"$1" "$1" "$1" >"$f"
	hm_probe --source 127.0.0.5 --to info@example.com --message "$f"
}
before=$(hm_log_count 'killed by signal 24')
out=$(fault cpu)
like "a worker past its CPU limit: that message 451" "$(step DATA "$out")" '^DATA 451 4\.7\.1 '
check "... SIGXCPU, logged" hm_wait_log 'killed by signal 24' "$before"
before=$(hm_log_count 'killed by signal 6')
out=$(fault memory)
like "a worker past its address-space limit: that message 451" "$(step DATA "$out")" '^DATA 451 4\.7\.1 '
check "... it aborted (as g_malloc does), logged" hm_wait_log 'killed by signal 6' "$before"
check "... replaced" hm_until 30 two_workers
out=$(hm_send clean-2 clean -- info@example.com)
like "and the next message is scanned: 250" "$(step DATA "$out")" '^DATA 250 '

before=$(hm_log_count 'fault injector: exec')
out=$(fault escape)
like "a worker that tries to escape still answers: 250" "$(step DATA "$out")" '^DATA 250 '
check "... it logged what it got" hm_wait_log 'fault injector: exec' "$before"
like "... no exec, no inet socket, no signal to its parent: EPERM each" \
	"$(grep 'fault injector: exec' "$RUN/hostmilter.log" | tail -1)" \
	'exec: Operation not permitted; inet socket: Operation not permitted; kill its parent: Operation not permitted'

# ---- counters ----
is "/metrics: 4 worker restarts" "$(metric hostmilter_scan_worker_restarts_total)" 4
is "/metrics: 4 messages lost with a worker" "$(metric hostmilter_scan_worker_lost_messages_total)" 4
is "/metrics: 1 poison message" "$(metric hostmilter_scan_poison_messages_total)" 1
before=$(hm_log_count 'stats: scan workers')
kill -USR1 "$HM_MILTER_PID"
check "SIGUSR1: the report has a scan workers line" hm_wait_log 'stats: scan workers' "$before"
like "... with the restarts and the poison messages" "$(grep 'stats: scan workers' "$RUN/hostmilter.log" | tail -1)" \
	'alive=2 restarts=4 lost-messages=4 poison-messages=1'

# ---- a ClamAV database reload: fresh workers ----
old=$(workers)
printf 'another signature for the reload test\n' >"$RUN/reload.txt"
(cd "$RUN" && sigtool --md5 reload.txt) >>"$RUN/clamdb/test.hdb"
before=$(hm_log_count 'fresh scan workers')
fresh() { local p; for p in $old; do kill -0 "$p" 2>/dev/null && return 1; done; two_workers; }
check "database changed: the workers are replaced" hm_wait_log 'fresh scan workers' "$before" 60
check "... the old ones gone, two new ones" hm_until 30 fresh
out=$(hm_send reload-1 attach "$RUN/reload.txt" reload.txt text/plain -- info@example.com)
like "... which find the new signature: 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 .*Virus'
is "... and a reload is no restart" "$(metric hostmilter_scan_worker_restarts_total)" 4

# ---- the fork server gone: hostmilter exits, for the service manager to start it again ----
old=$(workers)
before=$(hm_log_count 'fork server ended')
kill -KILL "$(server)"
check "the fork server killed: hostmilter says so" hm_wait_log 'fork server ended' "$before" 30
gone() { ! kill -0 "$HM_MILTER_PID" 2>/dev/null; }
check "... and exits" hm_until 30 gone
wait "$HM_MILTER_PID"
is "... with status 1" "$?" 1
none_left() { local p; for p in $old; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
check "... and no worker outlives it" hm_until 10 none_left
HM_MILTER_PID=

# ---- ScanTemporaryDirectory: checked as SpoolDirectory is ----
hm_milter_stop
mkdir -p "$RUN/scratch-open" "$RUN/scratch"
chmod 777 "$RUN/scratch-open"
chown hostmilter "$RUN/scratch"
chmod 700 "$RUN/scratch"
hm_milter_conf "$CONF_LINES
ScanTemporaryDirectory $RUN/scratch-open"
out=$("$HOSTMILTER" -n -c "$RUN/hostmilter.conf" 2>&1)
is "ScanTemporaryDirectory writable by all without the sticky bit: -n refuses (78)" "$?" 78
like "... and says why" "$out" "ScanTemporaryDirectory $RUN/scratch-open is writable by others without the sticky bit"
hm_milter_conf "$CONF_LINES
ScanTemporaryDirectory $RUN/scratch"
check "hostmilter starts with a ScanTemporaryDirectory of UserID's" hm_milter_start
out=$(hm_send nested-scratch nested "$RUN/eicar.txt" -- info@example.com)
like "... EICAR in a nested message, unpacked there: 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 '
is "... and nothing left in it" "$(ls -A "$RUN/scratch")" ""
chmod 500 "$RUN/scratch"
out=$(hm_send nested-scratch-2 nested "$RUN/eicar.txt" -- info@example.com)
like "... it is where libclamav unpacks: taken away, the next scan fails (451)" "$(step DATA "$out")" '^DATA 451 4\.7\.1 '

# ---- ScanWorkers 0: in the milter's threads ----
hm_milter_stop
hm_milter_conf "$CONF_LINES
ScanWorkers 0"
check "hostmilter starts with ScanWorkers 0" hm_milter_start
is "... and forks no worker" "$(nworkers)" 0
out=$(hm_send eicar-2 attach "$RUN/eicar.txt" notes.txt text/plain -- info@example.com)
like "... EICAR still found: 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 .*Virus'
is "... /metrics: no workers" "$(metric hostmilter_scan_workers)" 0

done_testing
