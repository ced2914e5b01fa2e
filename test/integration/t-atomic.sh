#!/bin/bash
# t-atomic: installs are atomic and idempotent.  A run killed with SIGKILL at
# any moment leaves every file complete (old or new) and readable; a rerun
# with the same export touches nothing; runs serialize on the lock; exit
# statuses are as documented and a failed run changes nothing.
. "$(dirname "$0")/lib.sh"

hm_rundir atomic
M=$RUN/maps
python3 "$HM_SRC/test/bench/gen-export.py" --domains 20000 --addresses 200000 --seed 1 >"$RUN/old.json"
python3 "$HM_SRC/test/bench/gen-export.py" --domains 20000 --addresses 200000 --seed 2 |
	sed 's/"d1\.example"/"d1-renamed.example"/' >"$RUN/new.json"
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>/dev/null
mkdir -p "$RUN/newref" && "$HOSTMAPGEN" -q -o "$RUN/newref" "$RUN/new.json" 2>/dev/null

# Each map as its records: a file is intact when it is wholly the old or the new one.
records() { [ -f "$1.db" ] && makemap -u hash "$1" 2>/dev/null | LC_ALL=C sort | sha256sum | cut -c1-16; }
declare -A OLD NEW
for f in virtmaps aliases access sendmail.cw; do
	OLD[$f]=$(sha256sum <"$M/$f"); NEW[$f]=$(sha256sum <"$RUN/newref/$f")
done
for f in virtmaps access hostmilter; do
	OLD[$f.db]=$(records "$M/$f"); NEW[$f.db]=$(records "$RUN/newref/$f")
done
OLD[aliases.db]=$(db_dump -p "$M/aliases.db" | sed -n '/HEADER=END/,$p' | paste - - | LC_ALL=C sort | sha256sum)
NEW[aliases.db]=$(db_dump -p "$RUN/newref/aliases.db" | sed -n '/HEADER=END/,$p' | paste - - | LC_ALL=C sort | sha256sum)

intact() {
	local f now
	for f in "${!OLD[@]}"; do
		case $f in
		aliases.db) now=$(db_dump -p "$M/aliases.db" 2>/dev/null | sed -n '/HEADER=END/,$p' | paste - - | LC_ALL=C sort | sha256sum) ;;
		*.db) now=$(records "$M/${f%.db}") ;;
		*) now=$(sha256sum <"$M/$f") ;;
		esac
		if [ "$now" != "${OLD[$f]}" ] && [ "$now" != "${NEW[$f]}" ]; then
			diag "$f is neither the old nor the new file"
			return 1
		fi
	done
}

killed=0
for delay in 0.05 0.2 0.4 0.7 1.0 1.3; do
	cp -a "$M" "$RUN/before"
	"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	check "SIGKILL after ${delay}s: every file is complete, old or new" intact
	rm -rf "$M" && mv "$RUN/before" "$M"
done
check "at least four runs were killed in the middle" test "$killed" -ge 4

"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null &
pid=$!; sleep 0.5; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null
is "the run after a killed one completes the new maps" "$(records "$M/virtmaps")" "${NEW[virtmaps.db]}"
is "it leaves no temporary files behind" "$(ls -A "$M" | grep -c hostmapgen-tmp)" 0

before=$(hm_fingerprint "$M")
out=$("$HOSTMAPGEN" -o "$M" "$RUN/new.json" 2>/dev/null)
is "a second run with the same export rewrites nothing (inodes, mtimes, bytes)" "$(hm_fingerprint "$M")" "$before"
like "and says so" "$out" '0 files changed'
rm -f "$M/.hostmapgen.state"
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null
is "without its state file, a rerun still leaves the text maps untouched" \
	"$(hm_fingerprint "$M" | grep -v '\.db \|state' )" "$(printf '%s\n' "$before" | grep -v '\.db \|state')"

# Concurrent runs wait for each other on the lock.
exec 9>"$M/.hostmapgen.lock"
flock 9
start=$(date +%s%N)
(sleep 2; flock -u 9) &
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>/dev/null 9>&-
waited=$((($(date +%s%N) - start) / 1000000))
exec 9>&-
check "a run waits while another holds the lock (${waited} ms)" test "$waited" -ge 1800
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null & p1=$!
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>/dev/null & p2=$!
wait $p1; s1=$?; wait $p2; s2=$?
is "two concurrent runs both succeed" "$s1 $s2" "0 0"
check "after concurrent runs every file is complete" intact

# Exit statuses.
before=$(hm_checksums "$M")
printf '{"version": 1, "server": {"hostname": "x.example"}, "domains": [{"name": "bad..example"}]}' >"$RUN/bad.json"
"$HOSTMAPGEN" -q -o "$M" "$RUN/bad.json" 2>/dev/null
is "an invalid export exits 1" "$?" 1
is "and leaves every file byte-identical" "$(hm_checksums "$M")" "$before"
"$HOSTMAPGEN" 2>/dev/null
is "no export argument exits 2" "$?" 2
"$HOSTMAPGEN" --bogus x 2>/dev/null
is "an unknown option exits 2" "$?" 2
"$HOSTMAPGEN" -o "$RUN/does-not-exist" "$RUN/new.json" 2>/dev/null
is "a missing output directory exits 3" "$?" 3
"$HOSTMAPGEN" -o "$M" "$RUN/no-such-export.json" 2>/dev/null
is "an unreadable export exits 3" "$?" 3
if mkdir -p "$RUN/small" && mount -t tmpfs -o size=2m tmpfs "$RUN/small" 2>/dev/null; then
	cp "$M/sendmail.cw" "$RUN/small/"
	"$HOSTMAPGEN" -q -o "$RUN/small" "$RUN/new.json" 2>"$RUN/full.err"
	is "a full disk exits 3" "$?" 3
	is "and leaves the old file as it was, with no temporary files" \
		"$(sha256sum <"$RUN/small/sendmail.cw") $(ls -A "$RUN/small" | grep -c tmp)" "$(sha256sum <"$M/sendmail.cw") 0"
	umount "$RUN/small"
else
	diag "tmpfs cannot be mounted here; the full-disk case is not tested"
fi
done_testing
