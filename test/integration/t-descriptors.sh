#!/bin/bash
# t-descriptors - hostmilter at its descriptor limit.  Started with
# RLIMIT_NOFILE 128 (room for 8 connections, fdlimit.h), it warns at start;
# 200 connections at once all get an answer, 8 go on and the rest a
# tempfail, without the listener spinning on EMFILE (libmilter's accept
# loop burns a core while connections hang); mail flows once they close.
. "$(dirname "$0")/lib.sh"

MILTER_LOAD=${MILTER_LOAD:-$HM_BUILD/test/bench/milter-load}
hm_rundir descriptors
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_milter_conf
SOCK=$RUN/milter/hostmilter.sock
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$HM_MILTER_PID/stat"; }

before=$(hm_log_count 'started on')
rm -f "$SOCK"
prlimit --nofile=128:128 -- "$HOSTMILTER" -f -c "$RUN/hostmilter.conf" 2>>"$RUN/hostmilter.log" &
HM_MILTER_PID=$!
check "hostmilter starts with 128 descriptors" hm_milter_started "$HM_MILTER_PID" "$before"
like "... and warns that they are few" "$(cat "$RUN/hostmilter.log")" \
	'warning: descriptor limit 128 leaves room for 8 connections at once'
fds() { ls "/proc/$HM_MILTER_PID/fd" | wc -l; }
idle_fds=$(fds)
out=$("$MILTER_LOAD" -s "unix:$SOCK" -c 4 -n 20 -m 5)
like "4 connections at once: every message accepted" "$out" 'messages=20 ok=20 refused=0 errors=0'
fds_back() { [ "$(fds)" -le "$idle_fds" ]; }
check "... and their connections closed" hm_until 30 fds_back

ticks=$(cpu_ticks)
out=$(python3 "$HM_SRC/test/integration/milter-flood.py" "$SOCK" 200)
ticks=$(( $(cpu_ticks) - ticks ))
diag "200 connections at once: $out; hostmilter used $ticks ticks of CPU"
like "200 connections at once: every one is answered" "$out" '^answered=200 .*unanswered=0$'
like "... 8 go on, as many as there is room for" "$out" 'continued=8 '
like "... the others are tempfailed" "$out" 'tempfailed=192 '
# A listener spinning on EMFILE burns a core for as long as connections wait.
check "... and the listener did not spin (under 3 s of CPU)" test "$ticks" -lt $((3 * $(getconf CLK_TCK)))
# One line a minute: the flood takes seconds, so one line, two if it straddled a minute.
like "the refusals are logged once a minute, not once each" "$(hm_log_count 'connection refused \(4xx\)')" '^[12]$'
out=$("$MILTER_LOAD" -s "unix:$SOCK" -c 4 -n 20 -m 5)
like "they closed: mail flows again" "$out" 'messages=20 ok=20 refused=0 errors=0'
check "hostmilter is still running" kill -0 "$HM_MILTER_PID"
done_testing
