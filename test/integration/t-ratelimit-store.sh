#!/bin/bash
# t-ratelimit-store - the rate-limit stores against a real redis-server
# (Debian's), and the admin's list and release through the daemon's
# control socket.
#
# ratelimit-driver charges keys through the real engine (milter/ratelimit.h)
# and answers one line per command; several drivers sharing one Redis play
# the hostmilters of a fleet.  Redis runs on a private unix socket (and, for
# one check, on 127.0.0.1:6390) as the hostmilter user, persistence off;
# the test kills, freezes (SIGSTOP) and restarts it by its PID.  Every wait
# is for a condition with a deadline.  The driver is the sanitizer build's
# when there is one (HM_ASAN_BUILD): a memory error or leak in the stores
# under a real Redis ends the test.  Ports: 6390.
. "$(dirname "$0")/lib.sh"

DRIVER=$HM_BUILD/test/integration/ratelimit-driver
if [ -x "${HM_ASAN_BUILD:-}/test/integration/ratelimit-driver" ]; then
	DRIVER=$HM_ASAN_BUILD/test/integration/ratelimit-driver
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
REDIS_TCP_PORT=6390
hm_rundir ratelimit
hm_milter_user
REDIS_DIR=$RUN/redis
SOCK=$REDIS_DIR/redis.sock
mkdir -p "$REDIS_DIR" "$RUN/ctl"
chown hostmilter "$REDIS_DIR"
chmod 700 "$REDIS_DIR" "$RUN/ctl"
REDIS_PID=

redis_cli() { redis-cli -s "$SOCK" "$@" 2>/dev/null; }
redis_up() { [ "$(redis_cli ping)" = PONG ]; }
# redis_start [ARGS...]: a private redis-server on $SOCK, as hostmilter; waits until it answers.
redis_start() {
	rm -f "$SOCK"
	setpriv --reuid=hostmilter --regid="$(id -g hostmilter)" --clear-groups \
		redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' --appendonly no \
		--daemonize no --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" "$@" &
	REDIS_PID=$!
	HM_BG_PIDS="${HM_BG_PIDS:-} $REDIS_PID"
	hm_wait 20 redis_up
}
redis_kill() {
	kill -CONT "$REDIS_PID" 2>/dev/null
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}
proc_state() { awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
stopped() { [ "$(proc_state "$REDIS_PID")" = T ]; }

# conf NAME LINES: a configuration the driver (and hostmilter -L) read.
# (every configuration names its scanners: these drive the rate limits only)
conf() { printf '%s\nScanner none\n' "$2" >"$RUN/$1.conf"; echo "$RUN/$1.conf"; }
REDIS_LOCAL=$(conf redis-local "RateLimitStore redis unix:$SOCK
OnRateLimitStoreFailure local
RateLimitStoreTimeout 200")
REDIS_ACCEPT=$(conf redis-accept "RateLimitStore redis unix:$SOCK
OnRateLimitStoreFailure accept")
REDIS_TEMPFAIL=$(conf redis-tempfail "RateLimitStore redis unix:$SOCK
OnRateLimitStoreFailure tempfail")
LOCAL=$(conf local "RateLimitStore local")

# drive CONF COMMAND...: a driver that runs the commands and quits; prints its answers.
drive() {
	local conf=$1
	shift
	printf '%s\n' "$@" quit | timeout 60 "$DRIVER" "$conf" 2>>"$RUN/driver.log"
}
# field NAME LINE: the value of NAME= in a driver's answer.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
# A driver that lives across steps (its local table and breaker with it).
coproc_start() {
	coproc DRV { exec "$DRIVER" "$1" 2>>"$RUN/driver.log"; }
}
ask() {
	local line
	echo "$1" >&"${DRV[1]}"
	read -t 60 -r line <&"${DRV[0]}" && echo "$line"
}
coproc_stop() {
	echo quit >&"${DRV[1]}"
	timeout 10 tail --pid="$DRV_PID" -f /dev/null
}

check "redis-server starts on a private socket" redis_start

# ---- two hostmilters, one Redis: one combined allowance ----
# 1 recipient an hour, burst 50: 400 charges from 8 threads in each of two
# processes at once; with one shared count exactly 50 pass.
drive "$REDIS_LOCAL" "charge shared 1 50 400 8" >"$RUN/a.out" &
pa=$!
drive "$REDIS_LOCAL" "charge shared 1 50 400 8" >"$RUN/b.out" &
pb=$!
wait $pa $pb
a=$(cat "$RUN/a.out")
b=$(cat "$RUN/b.out")
is "two drivers on one Redis: 50 of 800 pass in all" "$(($(field allowed "$a") + $(field allowed "$b")))" 50
is "... every charge answered by Redis" "$(($(field redis "$a") + $(field redis "$b")))" 800
is "... no store error" "$(($(field errors "$a") + $(field errors "$b")))" 0
# The same with each its own local table: each lets a whole burst through.
a=$(drive "$LOCAL" "charge shared 1 50 400 8")
b=$(drive "$LOCAL" "charge shared 1 50 400 8")
is "the same with RateLimitStore local: 50 each, 100 in all" "$(($(field allowed "$a") + $(field allowed "$b")))" 100

# The script and gcra_step agree: 60 an hour, burst 10, 25 at once.
out=$(drive "$REDIS_LOCAL" "charge same 60 10 25")
is "Redis: 10 of 25 pass" "$(field allowed "$out")/$(field limited "$out")/$(field redis "$out")" 10/15/25
out=$(drive "$LOCAL" "charge same 60 10 25")
is "local: the same 10 of 25" "$(field allowed "$out")/$(field limited "$out")/$(field local "$out")" 10/15/25
like "a limited sender is listed with the seconds until its next recipient" "$(drive "$REDIS_LOCAL" list)" \
	'^(59|60) redis same$'

# ---- NOSCRIPT: the server lost the script; EVAL reloads it, counting goes on ----
SHA=$(drive "$REDIS_LOCAL" script-sha)
out=$(drive "$REDIS_LOCAL" "charge flush 60 10 5")
is "5 charged before SCRIPT FLUSH" "$(field allowed "$out")" 5
is "the script is in Redis's cache" "$(redis_cli script exists "$SHA")" 1
is "SCRIPT FLUSH" "$(redis_cli script flush)" OK
is "... and it is gone" "$(redis_cli script exists "$SHA")" 0
out=$(drive "$REDIS_LOCAL" "charge flush 60 10 10")
is "after SCRIPT FLUSH: answered by Redis, no error" "$(field redis "$out")/$(field errors "$out")" 10/0
is "... and the count went on: 5 more pass" "$(field allowed "$out")/$(field limited "$out")" 5/5
is "... EVAL put the script back" "$(redis_cli script exists "$SHA")" 1

# ---- a record that is not ours: that charge fails (closed), others go on ----
redis_cli set "hostmilter:rl:mailbox:bad" "garbage" >/dev/null
out=$(drive "$REDIS_TEMPFAIL" "charge mailbox:bad 60 5 3" "charge mailbox:good 60 5 1")
first=$(head -1 <<<"$out")
second=$(sed -n 2p <<<"$out")
is "unreadable record, OnRateLimitStoreFailure tempfail: store failed" \
	"$(field failed "$first")/$(field errors "$first")" 3/3
is "... and the breaker stays closed for the others" "$(field redis "$second")/$(field allowed "$second")" 1/1

# ---- Redis killed mid-run ----
coproc_start "$REDIS_LOCAL"
out=$(ask "charge mid 60 5 3")
is "a long-lived driver charges in Redis" "$(field redis "$out")/$(field allowed "$out")" 3/3
redis_kill
check "redis-server killed" test ! -e "/proc/$REDIS_PID/status"
out=$(ask "charge mid 60 5 10")
is "Redis gone, OnRateLimitStoreFailure local: the local table limits (5 of 10)" \
	"$(field allowed "$out")/$(field limited "$out")/$(field local "$out")/$(field fallback "$out")" 5/5/10/10
is "... Redis asked only until the breaker opened" "$(field errors "$out")" 3
check "... each charge within the deadline ($(field maxms "$out") ms)" test "$(field maxms "$out")" -lt 450
out=$(drive "$REDIS_ACCEPT" "charge mid 60 5 10")
is "OnRateLimitStoreFailure accept: all pass, as fallbacks" \
	"$(field allowed "$out")/$(field fallback "$out")/$(field none "$out")/$(field errors "$out")" 10/10/10/3
out=$(drive "$REDIS_TEMPFAIL" "charge mid 60 5 10")
is "OnRateLimitStoreFailure tempfail: every charge fails" \
	"$(field failed "$out")/$(field allowed "$out")/$(field fallback "$out")/$(field errors "$out")" 10/0/0/3
check "... within the deadline ($(field maxms "$out") ms)" test "$(field maxms "$out")" -lt 450

# ---- Redis back: the long-lived driver returns to it after the breaker's revive ----
check "redis-server restarted" redis_start
out=$(ask "until-store redis revive 30")
like "after the revive time the breaker lets a probe through and Redis answers again" "$out" '^ok [0-9]+$'
out=$(ask "charge back 60 5 3")
is "shared counting resumes" "$(field redis "$out")/$(field allowed "$out")" 3/3
out=$(drive "$REDIS_LOCAL" "charge back 60 5 5")
is "... another driver sees the same count: 2 of 5 left" "$(field allowed "$out")/$(field limited "$out")" 2/3

# ---- Redis frozen: a charge waits at most the deadline, then the breaker spares the rest ----
kill -STOP "$REDIS_PID"
check "redis-server frozen (SIGSTOP)" hm_wait 10 stopped
start=$(date +%s%N)
out=$(ask "charge frozen 60 5 20")
took=$((($(date +%s%N) - start) / 1000000))
is "frozen Redis: 3 charges wait for it, 17 do not ask" "$(field errors "$out")/$(field local "$out")" 3/20
check "... none waits longer than the deadline ($(field maxms "$out") ms)" test "$(field maxms "$out")" -lt 450
check "... 20 charges in ${took} ms, not 20 timeouts" test "$took" -lt 2000
kill -CONT "$REDIS_PID"
coproc_stop

# ---- TCP ----
setpriv --reuid=hostmilter --regid="$(id -g hostmilter)" --clear-groups \
	redis-server --port "$REDIS_TCP_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
	--dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis-tcp.log" &
TCP_PID=$!
HM_BG_PIDS="${HM_BG_PIDS:-} $TCP_PID"
hm_wait_port "$REDIS_TCP_PORT"
TCP=$(conf tcp "RateLimitStore redis tcp:127.0.0.1:$REDIS_TCP_PORT
OnRateLimitStoreFailure tempfail")
out=$(drive "$TCP" "charge tcp 60 3 5")
is "redis tcp:127.0.0.1:$REDIS_TCP_PORT: 3 of 5, answered by Redis" \
	"$(field allowed "$out")/$(field redis "$out")/$(field errors "$out")" 3/5/0
kill "$TCP_PID"

# ---- the admin's commands against the daemon ----
redis_cli flushall >/dev/null
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_milter_conf "RateLimitStore redis unix:$SOCK"
CONF=$RUN/hostmilter.conf
CTL=$RUN/milter/control.sock
out=$("$HOSTMILTER" -c "$CONF" -L 2>&1)
is "-L without a running daemon: exit 69" "$?" 69
like "... saying why" "$out" 'control\.sock'
check "hostmilter starts with a control socket" hm_milter_start
check "... the control socket is there" hm_wait 10 test -S "$CTL"
is "... mode 0600, owned by root" "$(stat -c '%a %U' "$CTL")" "600 root"
drive "$REDIS_LOCAL" "charge mailbox:xyz00-info 60 2 3" "charge client:192.0.2.10 60 2 1" >/dev/null
out=$("$HOSTMILTER" -c "$CONF" -L)
is "-L: exit 0" "$?" 0
like "-L lists the limited sender, its wait and its store" "$out" '^(59|60) redis mailbox:xyz00-info$'
like "... and counts them" "$out" '^ok 1 limited$'
check "... not the sender still within its limit" test -z "$(grep client: <<<"$out")"
out=$("$HOSTMILTER" -c "$CONF" -R mailbox:xyz00-info)
is "-R releases it" "$out" "ok released mailbox:xyz00-info"
out=$(drive "$REDIS_LOCAL" "charge mailbox:xyz00-info 60 2 3")
is "... its next recipients pass again: a full burst" "$(field allowed "$out")/$(field limited "$out")" 2/1
out=$("$HOSTMILTER" -c "$CONF" -R nobody@nowhere)
is "-R of an unknown key: said so, exit 0" "$?/$out" "0/ok nobody@nowhere was not limited or tracked"
# A client that connects and says nothing holds the socket for at most its timeout.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); open(sys.argv[2], "w").write("connected")
time.sleep(30)' "$CTL" "$RUN/stalled" &
stall=$!
HM_BG_PIDS="${HM_BG_PIDS:-} $stall"
check "a client connects to the control socket and stalls" hm_wait 10 test -s "$RUN/stalled"
out=$(timeout 20 "$HOSTMILTER" -c "$CONF" -L)
like "a stalled client does not keep the admin out" "$out" '^ok [0-9]+ limited$'
kill "$stall" 2>/dev/null
# A request line past 1024 bytes is refused, not read on and on.
out=$(timeout 20 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"ratelimit release " + b"x" * 5000)
s.shutdown(socket.SHUT_WR); print(s.makefile().read(), end="")' "$CTL")
like "a request line too long is refused" "$out" '^error .*too long'
hm_milter_stop

# The socket's directory and name are checked before root binds there.
mkdir -p "$RUN/open"
chmod 777 "$RUN/open"
sed "s|^ControlSocket .*|ControlSocket unix:$RUN/open/control.sock|" "$CONF" >"$RUN/open.conf"
out=$(timeout 30 "$HOSTMILTER" -f -c "$RUN/open.conf" 2>&1)
is "ControlSocket in a directory others may write: not started" "$?" 78
like "... saying why" "$out" 'writable by no one else'
ln -sf /etc/passwd "$RUN/milter/control.sock"
out=$(timeout 30 "$HOSTMILTER" -f -c "$CONF" 2>&1)
is "a symbolic link planted at the socket's name: not started" "$?" 78
like "... and the link is left alone" "$out" 'exists and is not a socket'
check "... /etc/passwd untouched" test "$(stat -c %U /etc/passwd)" = root -a -L "$RUN/milter/control.sock"
rm -f "$RUN/milter/control.sock"

# ---- the local store's list and release, through the same protocol ----
coproc_start "$LOCAL"
ask "charge mailbox:local 60 2 3" >/dev/null
out=$(ask "serve $RUN/ctl/local.sock")
is "a driver serves the control protocol for its local table" "$out" "ok serving $RUN/ctl/local.sock"
LCONF=$(conf local-ctl "ControlSocket unix:$RUN/ctl/local.sock")
out=$("$HOSTMILTER" -c "$LCONF" -L)
like "-L lists a sender of the local table" "$out" '^(59|60) local mailbox:local$'
out=$("$HOSTMILTER" -c "$LCONF" -R mailbox:local)
is "-R releases it" "$out" "ok released mailbox:local"
out=$(ask "charge mailbox:local 60 2 1")
is "... and it may send again" "$(field allowed "$out")" 1
coproc_stop

redis_kill
sanitizer=$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$RUN/driver.log")
is "no sanitizer report from any driver${HM_ASAN_BUILD:+ (sanitizer build)}" "$sanitizer" ""
done_testing
