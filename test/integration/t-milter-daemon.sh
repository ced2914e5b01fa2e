#!/bin/bash
# t-milter-daemon - hostmilter as a daemon: configuration checks (-n checks
# what a start checks), start-up with and without -f (the exit status a
# failed start promises), logging under systemd, privileges, reloads,
# shutdown (a message under way keeps its reply), the pid file, and what
# sendmail does while hostmilter is down.
. "$(dirname "$0")/lib.sh"

hm_rundir milterd
hm_sample_users
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_sendmail_config 2532 "$(hm_milter_mc 2533)"
hm_milter_conf
# conf_with SED_SCRIPT: $RUN/variant.conf, hostmilter.conf changed by SED_SCRIPT.
conf_with() { sed "$1" "$RUN/hostmilter.conf" >"$RUN/variant.conf"; }
check_conf() { "$HOSTMILTER" -n -c "$1" 2>&1; }

# ---- -n: the configuration, and everything a start would check ----
out=$(check_conf "$RUN/hostmilter.conf")
is "-n on a good configuration: exit 0" "$?" 0
like "-n says so" "$out" 'configuration, policy database and 0 scanners OK'
printf 'Socket unix:/x\nPolicyFile /x\nMaxRecipients lots\n' >"$RUN/bad.conf"
out=$(check_conf "$RUN/bad.conf")
is "-n on a bad configuration: exit 78" "$?" 78
like "errors name file and line" "$out" "bad.conf:2: unknown key \"PolicyFile\""
like "... every error" "$out" "bad.conf:3: MaxRecipients: \"lots\" is not a whole number"
: >"$RUN/empty.conf"
out=$(check_conf "$RUN/empty.conf")
is "an empty configuration file: exit 78" "$?" 78
like "... it is no configuration" "$out" 'empty\.conf: no settings at all'
conf_with '/^Scanner none$/d'
out=$(check_conf "$RUN/variant.conf")
is "no Scanner line (a file cut short): exit 78" "$?" 78
like "... it asks for \"Scanner none\"" "$out" 'no Scanner line: .*"Scanner none"'
conf_with '$a Scanner clamav'
out=$(check_conf "$RUN/variant.conf")
is "\"Scanner none\" beside another Scanner line: exit 78" "$?" 78
long=$RUN/milter/$(printf 'x%.0s' $(seq 1 80)).sock
conf_with "s|^Socket .*|Socket unix:$long|"
out=$(check_conf "$RUN/variant.conf")
is "a Socket path longer than sun_path: exit 78" "$?" 78
like "... and says so" "$out" 'sun_path'
conf_with 's|^PidFile .*|PidFile /nonexistent/hostmilter.pid|'
out=$(check_conf "$RUN/variant.conf")
is "a PidFile in a directory that does not exist: exit 78" "$?" 78
like "... and says so" "$out" 'PidFile /nonexistent/hostmilter\.pid: its directory /nonexistent'
mkdir -m 700 "$RUN/rootspool"
conf_with "\$a SpoolDirectory $RUN/rootspool"
out=$(check_conf "$RUN/variant.conf")
is "a SpoolDirectory UserID cannot write: -n exits 78" "$?" 78
like "... checked as UserID" "$out" "SpoolDirectory $RUN/rootspool: cannot write there as hostmilter"
mkdir -m 1777 "$RUN/opendir"
conf_with "s|^ControlSocket .*|ControlSocket unix:$RUN/opendir/control.sock|"
out=$(check_conf "$RUN/variant.conf")
is "a ControlSocket in a directory anyone may write: -n exits 78" "$?" 78
like "... and says so" "$out" "ControlSocket directory $RUN/opendir must be owned by root or UserID"
: >"$RUN/milter/control-file"
conf_with "s|^ControlSocket .*|ControlSocket unix:$RUN/milter/control-file|"
out=$(check_conf "$RUN/variant.conf")
is "a regular file at ControlSocket's name: -n exits 78" "$?" 78
like "... and says so" "$out" 'control-file exists and is not a socket; refusing to replace it'
check "... and leaves the file alone" test -f "$RUN/milter/control-file"
conf_with 's|^UserID .*|UserID no-such-user-here|'
out=$(check_conf "$RUN/variant.conf")
is "an unknown UserID: -n exits 78" "$?" 78
like "... every problem at once" "$out" 'UserID no-such-user-here: no such user'
# libclamav's database is counted, not loaded: a signature only a load
# would refuse passes -n, and the start (which loads it) refuses it.
hm_clamav_db "$RUN/clamdb"
printf 'not:a:valid:signature:line\n' >"$RUN/clamdb/broken.ndb"
conf_with "s|^Scanner none|Scanner clamav\nClamAVDatabase $RUN/clamdb|"
out=$(check_conf "$RUN/variant.conf")
is "-n does not load libclamav's database, it counts the signatures (exit 0)" "$?" 0
like "... and reports the engine" "$out" '1 scanner OK'
out=$(timeout 120 "$HOSTMILTER" -f -c "$RUN/variant.conf" 2>&1)
is "... the start loads it and refuses the broken signature (78)" "$?" 78
rm -f "$RUN/clamdb/broken.ndb"
mkdir -p "$RUN/noclamdb"
conf_with "s|^Scanner none|Scanner clamav\nClamAVDatabase $RUN/noclamdb|"
out=$(check_conf "$RUN/variant.conf")
is "-n: a ClamAV database directory without signatures: exit 78" "$?" 78

# ---- starting: -f, and without it the caller sees how the start went ----
sed 's/^UserID .*/UserID root/' "$RUN/hostmilter.conf" >"$RUN/root.conf"
out=$("$HOSTMILTER" -f -c "$RUN/root.conf" 2>&1)
is "UserID root: not started" "$?" 78
like "... and says it refuses to run as root" "$out" 'refuses to run as root'
sed "s|^PolicyDB .*|PolicyDB $RUN/maps/missing.db|" "$RUN/hostmilter.conf" >"$RUN/nodb.conf"
out=$("$HOSTMILTER" -f -c "$RUN/nodb.conf" 2>&1)
is "missing policy database: not started" "$?" 78
like "... with the path in the message" "$out" "missing\.db"
out=$(timeout 60 "$HOSTMILTER" -c "$RUN/nodb.conf" 2>&1)
is "without -f, a start that fails exits with the failure's status (78), not 0" "$?" 78
like "... its reason on standard error" "$out" "missing\.db"
conf_with "\$a SpoolDirectory $RUN/rootspool"
out=$(timeout 60 "$HOSTMILTER" -c "$RUN/variant.conf" 2>&1)
is "without -f, a step after the privilege drop that fails: exit 78" "$?" 78
check "... and it leaves no pid file behind" test ! -e "$RUN/milter/hostmilter.pid"
out=$(timeout 60 "$HOSTMILTER" -c "$RUN/hostmilter.conf" 2>&1)
is "without -f: exit 0 once it serves" "$?" 0
pid=$(cat "$RUN/milter/hostmilter.pid" 2>/dev/null)
check "... its socket is there when the command returns" test -S "$RUN/milter/hostmilter.sock"
check "... the daemon in the pid file runs" kill -0 "${pid:-0}"
is "... detached: a session of its own" "$(awk '{ print $6 }' "/proc/${pid:-0}/stat" 2>/dev/null)" "$pid"
kill "${pid:-0}" 2>/dev/null
check "... it stops on SIGTERM" hm_until 30 eval "! kill -0 ${pid:-0} 2>/dev/null"

# Under systemd standard error is the journal (JOURNAL_STREAM names it):
# each line goes to syslog only, not to both.  /dev/log is a catcher here.
hm_bg python3 "$HM_SRC/test/integration/syslog-catcher.py" "$RUN/syslog.sock" "$RUN/syslog.txt"
hm_until 30 test -S "$RUN/syslog.sock"
[ -e /dev/log ] || { : >/dev/log; PLACEHOLDER=/dev/log; }
trap 'hm_cleanup; [ -z "${PLACEHOLDER:-}" ] || rm -f "$PLACEHOLDER"' EXIT
: >"$RUN/journal.err"
rm -f "$RUN/milter/hostmilter.sock"
JOURNAL_STREAM=$(stat -c '%d:%i' "$RUN/journal.err") unshare --mount sh -c \
	'mount --bind "$1" /dev/log && shift && exec "$@"' sh "$RUN/syslog.sock" \
	"$HOSTMILTER" -f -c "$RUN/hostmilter.conf" 2>>"$RUN/journal.err" &
pid=$!
check "-f under systemd: started, as syslog says" hm_until 60 grep -q 'started on' "$RUN/syslog.txt"
kill "$pid"
wait "$pid"
is "... and no line is written to the journal twice (standard error stays empty)" "$(cat "$RUN/journal.err")" ""
like "... syslog has them all" "$(cat "$RUN/syslog.txt")" 'stopped'

check "hostmilter starts" hm_milter_start
check "sendmail starts" hm_sendmail_start
uid=$(id -u hostmilter)
is "runs as UserID (real, effective, saved, fs uid)" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$HM_MILTER_PID/status")" "$uid $uid $uid $uid"
is "no supplementary groups beyond its own" "$(awk '/^Groups:/ { print $2 }' "/proc/$HM_MILTER_PID/status")" "$(id -g hostmilter)"
is "pid file written" "$(cat "$RUN/milter/hostmilter.pid")" "$HM_MILTER_PID"

# A policy change through hostmapgen holds on the next connection.
out=$(hm_probe --source 127.88.0.5 --to friend@elsewhere.example --quit-after rcpt)
like "127.88.0.5 may not relay yet" "$out" 'RCPT <friend@elsewhere.example> 550 5\.7\.1'
jq '.relay.clients += [{"network": "127.88.0.0/24"}]' "$SAMPLE_EXPORT" >"$RUN/export2.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export2.json" 2>/dev/null
out=$(hm_probe --source 127.88.0.5 --to friend@elsewhere.example --quit-after rcpt)
like "after hostmapgen added 127.88.0.0/24 it may, without a restart" "$out" 'RCPT <friend@elsewhere.example> 250'
is "same hostmilter process" "$(cat "$RUN/milter/hostmilter.pid")" "$HM_MILTER_PID"

# A damaged database is refused and the previous policy kept.
cp "$RUN/maps/hostmilter.db" "$RUN/good.db"
head -c 5000 /dev/urandom >"$RUN/maps/broken.db"
mv "$RUN/maps/broken.db" "$RUN/maps/hostmilter.db"
out=$(hm_probe --source 127.88.0.5 --to friend@elsewhere.example --quit-after rcpt)
like "damaged database: previous policy still applies" "$out" 'RCPT <friend@elsewhere.example> 250'
like "... and the log says why" "$(cat "$RUN/hostmilter.log")" 'cannot be read, keeping the previous one'
cp "$RUN/good.db" "$RUN/maps/hostmilter.db.new" && mv "$RUN/maps/hostmilter.db.new" "$RUN/maps/hostmilter.db"

# SIGHUP reloads without dropping a connection that is under way.
out=$(python3 "$HM_SRC/test/integration/session.py" 2532 127.0.0.5 SIGHUP "$HM_MILTER_PID" after-mail \
	"$RUN/hostmilter.log" 'policy loaded')
like "SIGHUP in the middle of a session: reloaded while the session waits" "$out" '^WAITED'
like "... the message still goes through" "$out" '^DATA 250 '
like "... the daemon lives on" "$out" '^ALIVE'
like "... and says it reloaded" "$(cat "$RUN/hostmilter.log")" 'SIGHUP: reloading'

# SIGHUP naming a SpoolDirectory the start would refuse: the reload is refused.
before=$(hm_log_count 'reload refused')
echo "SpoolDirectory $RUN/rootspool" >>"$RUN/hostmilter.conf"
kill -HUP "$HM_MILTER_PID"
check "SIGHUP with a SpoolDirectory UserID cannot write: the reload is refused" hm_wait_log 'reload refused' "$before"
like "... and the log says why" "$(cat "$RUN/hostmilter.log")" \
	"reload refused, keeping the running configuration: SpoolDirectory $RUN/rootspool: cannot write there"
sed -i '$d' "$RUN/hostmilter.conf"
out=$(hm_probe --source 127.0.0.5 --to info@example.com)
like "... mail still flows" "$out" '^DATA 250 '

# hostmilter down: sendmail tempfails and accepts nothing unfiltered.
kill -KILL "$HM_MILTER_PID"
wait "$HM_MILTER_PID" 2>/dev/null
HM_MILTER_PID=
before=$(ls "$RUN/queue" | wc -l)
out=$(hm_probe --source 127.0.0.5 --to info@example.com)
like "hostmilter killed: sendmail answers 4xx" "$out" ' 4[0-9][0-9] '
unlike_ok() { if grep -q "$2" <<<"$3"; then not_ok "$1"; diag "$3"; else ok "$1"; fi; }
unlike_ok "... and takes no message" '^DATA 250' "$out"
is "... its queue unchanged" "$(ls "$RUN/queue" | wc -l)" "$before"
out=$(hm_probe --source 127.0.0.5 --to friend@elsewhere.example)
unlike_ok "... not even a relay attempt" '^DATA 250' "$out"
check "hostmilter restarts" hm_milter_start
out=$(hm_probe --source 127.0.0.5 --to info@example.com)
like "restarted: mail flows again" "$out" '^DATA 250 '
hm_milter_stop

# SIGTERM: a message under way finishes and keeps its reply, then the daemon
# exits.  Every reply leaves 1.5 s late here (slow-reply.c): a daemon that
# exits when the end-of-message callback returns, before libmilter has
# written the reply, makes Sendmail answer 451 for an accepted message.
cc -shared -fPIC -o "$RUN/slow-reply.so" "$HM_SRC/test/integration/slow-reply.c" -ldl
before=$(hm_log_count 'started on')
HM_SLOW_REPLY_MS=1500 LD_PRELOAD=$RUN/slow-reply.so "$HOSTMILTER" -f -c "$RUN/hostmilter.conf" 2>>"$RUN/hostmilter.log" &
pid=$!
HM_MILTER_PID=$pid
check "hostmilter restarts with its replies delayed" hm_milter_started "$pid" "$before"
out=$(python3 "$HM_SRC/test/integration/session.py" 2532 127.0.0.5 SIGTERM "$pid" mid-body \
	"$RUN/hostmilter.log" 'no new connections or messages')
like "SIGTERM in the middle of a body: taken in while the body waits" "$out" '^WAITED'
like "... still alive until the message ends" "$out" '^ALIVE'
like "... and the message is accepted" "$out" '^DATA 250 '
check "... then it exits" hm_until 60 eval "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null
HM_MILTER_PID=
check "... removing its pid file" test ! -e "$RUN/milter/hostmilter.pid"

# The pid file in a directory only root may write (a root runtime directory):
# hostmilter, running as UserID by then, leaves no stale pid in it.
mkdir -m 755 "$RUN/run"
conf_with "s|^PidFile .*|PidFile $RUN/run/hostmilter.pid|"
check "hostmilter starts with its pid file in root's directory" hm_milter_start "$RUN/variant.conf"
is "... the pid file names it" "$(cat "$RUN/run/hostmilter.pid")" "$HM_MILTER_PID"
hm_milter_stop
is "... after SIGTERM no pid is left in it" "$(cat "$RUN/run/hostmilter.pid" 2>/dev/null)" ""
done_testing
