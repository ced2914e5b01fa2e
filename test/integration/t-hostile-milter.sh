#!/bin/bash
# t-hostile-milter - garbage on hostmilter's socket: random bytes, lying
# length fields, truncated packets, commands out of order, macros without
# terminators, a 64 KB HELO name, 5000 recipients.  hostmilter must answer
# every well-behaved conversation in between, keep one that stays open
# across all of it, and neither crash nor leak.  Garbage at the statistics
# endpoint too, while the milter socket is under attack (http-hostile.py:
# clients that stall or trickle past the endpoint's limit, and a flood of
# aborted ones that must not flood the log).  Runs the AddressSanitizer
# build of hostmilter when there is one (HM_ASAN_BUILD), so that a memory
# error is a crash, and its leak report is read at exit.
. "$(dirname "$0")/lib.sh"

hm_rundir hostile
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
STATS=9898
hm_milter_conf "MaxRecipients 100
StatsListen 127.0.0.1:$STATS"
if [ -x "${HM_ASAN_BUILD:-}/milter/hostmilter" ]; then
	HOSTMILTER=$HM_ASAN_BUILD/milter/hostmilter
	mkdir -p "$RUN/sanitizer" && chown hostmilter "$RUN/sanitizer"	# reports are written as hostmilter
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$RUN/sanitizer/asan
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$RUN/sanitizer/ubsan
	diag "hostmilter built with AddressSanitizer and UndefinedBehaviorSanitizer"
fi
check "hostmilter starts" hm_milter_start
pid=$HM_MILTER_PID
fds_before=$(ls "/proc/$pid/fd" | wc -l)

started=$SECONDS
timeout 600 python3 "$HM_SRC/test/integration/http-hostile.py" $STATS >"$RUN/http-hostile.out" 2>&1 &
http_pid=$!
out=$(timeout 600 python3 "$HM_SRC/test/integration/milter-hostile.py" "$RUN/milter/hostmilter.sock" 2>&1)
status=$?
wait $http_pid
http_status=$?
while read -r line; do
	case $line in
	ok\ *) ok "statistics endpoint: ${line#ok }" ;;
	FAIL\ *) not_ok "statistics endpoint: ${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <"$RUN/http-hostile.out"
is "the HTTP driver finished" "$http_status" 0
# Every broken client used to cost a log line a local user could flood with.
lines=$(hm_log_count 'stats endpoint:')
minutes=$(( (SECONDS - started) / 60 + 1 ))
diag "the statistics endpoint's reports: $lines log lines in $minutes minute(s)"
check "statistics endpoint: at most one log line a minute, however many broken clients" test "$lines" -le "$minutes"
while read -r line; do
	case $line in
	ok\ *) ok "${line#ok }: hostmilter still answers as its policy says" ;;
	FAIL\ *) not_ok "${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <<<"$out"
is "the driver finished" "$status" 0
check "hostmilter is the same process, still running" kill -0 "$pid"
fds_back() { [ "$(ls "/proc/$pid/fd" | wc -l)" -le "$((fds_before + 2))" ]; }
hm_until 30 fds_back
fds_after=$(ls "/proc/$pid/fd" | wc -l)
check "descriptors back to where they were ($fds_before -> $fds_after)" test "$fds_after" -le "$((fds_before + 2))"
like "the log names the refused relay attempts" "$(cat "$RUN/hostmilter.log")" 'rule=relay'
like "... and the statistics count them" "$(curl -sS --max-time 5 "http://127.0.0.1:$STATS/metrics")" \
	'hostmilter_decisions_total\{stage="rcpt",rule="relay",action="reject"\} [1-9]'

hm_milter_stop
reports=$(cat "$RUN"/sanitizer/* 2>/dev/null)
is "no sanitizer report (memory error, undefined behaviour or leak)" "$reports" ""
done_testing
