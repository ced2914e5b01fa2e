#!/bin/bash
# t-export-mutations - 1000 damaged panel exports (wrong types, odd strings,
# huge values, broken bytes; mutate-export.py) against installed maps: every
# hostmapgen run ends with 0, 1 or 3 -- never a crash or a hang -- and a run
# that failed leaves every installed file byte-identical.  Against the JSON
# Schema too: every damaged export hostmapgen accepts validates, and every
# structural error it reports (--format json) the schema reports as well.
. "$(dirname "$0")/lib.sh"

hm_rundir mutations
# The AddressSanitizer build when there is one: a memory error or a leak
# aborts the run, which counts as a crash.
if [ -x "${HM_ASAN_BUILD:-}/mapgen/hostmapgen" ]; then
	HOSTMAPGEN=$HM_ASAN_BUILD/mapgen/hostmapgen
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1
	diag "hostmapgen built with AddressSanitizer and UndefinedBehaviorSanitizer"
fi
mkdir -p "$RUN/maps"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT"
is "the sample export installs" "$?" 0
out=$(python3 "$HM_SRC/test/integration/mutate-export.py" "$HOSTMAPGEN" "$SAMPLE_EXPORT" "$RUN/maps" 1000 20261122 "$HM_SCHEMA")
status=$?
diag "$out"
summary=$(tail -1 <<<"$out")
like "1000 damaged exports ran" "$summary" '^runs 1000 '
like "no crash" "$summary" ' crashes 0 '
like "no hang (60 s each)" "$summary" ' hangs 0 '
like "no failed run changed an installed file" "$summary" ' changed 0$'
like "the schema accepted every export hostmapgen accepted" "$summary" ' schema_refused 0 '
like "the schema reported every structural error hostmapgen reported" "$summary" ' schema_missed 0 '
count() { sed -E "s/.* $1 ([0-9]+).*/\\1/" <<<"$summary"; }
check "most damage is refused (status 1: $(count status1) of 1000)" test "$(count status1)" -ge 500
is "the driver found nothing wrong" "$status" 0
done_testing
