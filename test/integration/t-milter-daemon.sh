#!/bin/bash
# t-milter-daemon - hostmilter as a daemon: configuration checks, privileges,
# reloads, shutdown, and what sendmail does while hostmilter is down.
. "$(dirname "$0")/lib.sh"

hm_rundir milterd
hm_sample_users
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_sendmail_config 2532 "$(hm_milter_mc 2533)"
hm_milter_conf

# -n checks configuration and policy database without starting.
out=$("$HOSTMILTER" -n -c "$RUN/hostmilter.conf" 2>&1)
is "-n on a good configuration: exit 0" "$?" 0
like "-n says so" "$out" 'configuration, policy database and 0 scanners OK'
printf 'Socket unix:/x\nPolicyFile /x\nMaxRecipients lots\n' >"$RUN/bad.conf"
out=$("$HOSTMILTER" -n -c "$RUN/bad.conf" 2>&1)
is "-n on a bad configuration: exit 78" "$?" 78
like "errors name file and line" "$out" "bad.conf:2: unknown key \"PolicyFile\""
like "... every error" "$out" "bad.conf:3: MaxRecipients: \"lots\" is not a whole number"
sed 's/^UserID .*/UserID root/' "$RUN/hostmilter.conf" >"$RUN/root.conf"
out=$("$HOSTMILTER" -f -c "$RUN/root.conf" 2>&1)
is "UserID root: not started" "$?" 78
like "... and says it refuses to run as root" "$out" 'refuses to run as root'
sed "s|^PolicyDB .*|PolicyDB $RUN/maps/missing.db|" "$RUN/hostmilter.conf" >"$RUN/nodb.conf"
out=$("$HOSTMILTER" -f -c "$RUN/nodb.conf" 2>&1)
is "missing policy database: not started" "$?" 78
like "... with the path in the message" "$out" "missing\.db"

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
out=$(python3 "$HM_SRC/test/integration/session.py" 2532 127.0.0.5 SIGHUP "$HM_MILTER_PID" after-mail)
like "SIGHUP in the middle of a session: the message still goes through" "$out" '^DATA 250 '
like "... the daemon lives on" "$out" '^ALIVE'
like "... and reloaded" "$(cat "$RUN/hostmilter.log")" 'SIGHUP: reloading'

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

# SIGTERM: a message under way finishes, then the daemon exits.
pid=$HM_MILTER_PID
out=$(python3 "$HM_SRC/test/integration/session.py" 2532 127.0.0.5 SIGTERM "$pid" mid-body)
like "SIGTERM in the middle of a body: still alive until the message ends" "$out" '^ALIVE'
like "... and the message is accepted" "$out" '^DATA 250 '
for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "... then it exits" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null
HM_MILTER_PID=
check "... removing its pid file" test ! -e "$RUN/milter/hostmilter.pid"

done_testing
