#!/bin/bash
# t-autoconfig-hostile: hostile clients at hostautoconfig (autoconfig-hostile.py):
# bodies of a gigabyte announced or chunked, billion laughs and external
# entities, XML nested 2,000 deep or not UTF-8, request smuggling, query
# strings, paths and Host headers that are not UTF-8 or no host name,
# oversized headers, random bytes, slowloris clients, a connection flood.
# Each is answered or refused without harm, a good request is answered
# after it, and the process is the same one at the end, with its
# descriptors back.  Runs the AddressSanitizer build when there is one
# (HM_ASAN_BUILD), so that a memory error is a crash, and reads its
# report, leaks included, at exit.
# Port: 2672.
. "$(dirname "$0")/lib.sh"

AC=$HM_BUILD/autoconfig/hostautoconfig
PORT=2672
TIMEOUT=3
CONNECTIONS=32
hm_rundir autoconfig-hostile
"$HOSTMAPGEN" -q -o "$RUN/maps" --reload-cmd true "$SAMPLE_EXPORT" 2>/dev/null
if [ -x "${HM_ASAN_BUILD:-}/autoconfig/hostautoconfig" ]; then
	AC=$HM_ASAN_BUILD/autoconfig/hostautoconfig
	mkdir -p "$RUN/sanitizer" && chown nobody "$RUN/sanitizer"	# reports are written as nobody
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$RUN/sanitizer/asan
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$RUN/sanitizer/ubsan
	diag "hostautoconfig built with AddressSanitizer and UndefinedBehaviorSanitizer"
fi
"$AC" -l 127.0.0.1:$PORT -m "$RUN/maps/autoconfig.db" -u nobody -r 0 -t $TIMEOUT -c $CONNECTIONS \
	>"$RUN/ac.log" 2>&1 &
pid=$!
HM_BG_PIDS=$pid
check "hostautoconfig starts" hm_wait 20 grep -q "answering on" "$RUN/ac.log"
fds_before=$(ls "/proc/$pid/fd" | wc -l)
started=$SECONDS

out=$(timeout 900 python3 "$HM_SRC/test/integration/autoconfig-hostile.py" $PORT $TIMEOUT $CONNECTIONS 2>&1)
status=$?
while read -r line; do
	case $line in
	ok\ *) ok "${line#ok }" ;;
	FAIL\ *) not_ok "${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <<<"$out"
is "the driver finished" "$status" 0
check "hostautoconfig is the same process, still running" kill -0 "$pid"
fds_back() { [ "$(ls "/proc/$pid/fd" | wc -l)" -le "$((fds_before + 2))" ]; }
hm_wait $((TIMEOUT + 10)) fds_back
fds_after=$(ls "/proc/$pid/fd" | wc -l)
check "descriptors back to where they were ($fds_before -> $fds_after)" test "$fds_after" -le "$((fds_before + 2))"
# What a client can make it log is logged once a minute (per kind of report).
lines=$(grep -c 'warning' "$RUN/ac.log")
minutes=$(( (SECONDS - started) / 60 + 1 ))
diag "hostautoconfig's warnings: $lines lines in $minutes minute(s)"
check "at most a few lines a minute, however many hostile clients" test "$lines" -le "$((4 * minutes))"

kill "$pid"
hm_wait 20 test ! -d "/proc/$pid"
check "SIGTERM stops it" test ! -d "/proc/$pid"
reports=$(cat "$RUN"/sanitizer/* 2>/dev/null)
is "no sanitizer report (memory error, undefined behaviour or leak)" "$reports" ""
done_testing
