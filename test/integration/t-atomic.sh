#!/bin/bash
# t-atomic: installs are atomic and idempotent.  A run killed with SIGKILL
# at each of its stages (stopped there by HOSTMAPGEN_TEST_PAUSE, so the
# kill lands exactly there) leaves every file complete, and exactly the
# files renamed before the kill new; a rerun completes the job and leaves
# no temporary file; a rerun with the same export touches nothing; runs
# serialize on the lock; exit statuses are as documented and a failed run
# changes nothing.
. "$(dirname "$0")/lib.sh"

hm_rundir atomic
M=$RUN/maps
python3 "$HM_SRC/test/bench/gen-export.py" --domains 2000 --addresses 20000 --seed 1 >"$RUN/old.json"
# Another seed changes virtmaps, aliases, sendmail.cw and hostmilter.db; the relay client access.
python3 "$HM_SRC/test/bench/gen-export.py" --domains 2000 --addresses 20000 --seed 2 |
	sed 's/"d1\.example"/"d1-renamed.example"/' |
	jq '.relay = (.relay // {}) | .relay.clients = ((.relay.clients // []) + [{"network": "198.51.100.7"}])' \
		>"$RUN/new.json"
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>/dev/null
mkdir -p "$RUN/newref" && "$HOSTMAPGEN" -q -o "$RUN/newref" "$RUN/new.json" 2>/dev/null

# Each map as its records: a file is intact when it is wholly the old or the new one.
records() { [ -f "$1.db" ] && makemap -u hash "$1" 2>/dev/null | LC_ALL=C sort | sha256sum | cut -c1-16; }
alias_records() { db_dump -p "$1" 2>/dev/null | sed -n '/HEADER=END/,$p' | paste - - | LC_ALL=C sort | sha256sum; }
digest() {
	case $1 in
	aliases.db) alias_records "$2/aliases.db" ;;
	*.db) records "$2/${1%.db}" ;;
	*) sha256sum <"$2/$1" ;;
	esac
}
FILES="virtmaps virtmaps.db aliases aliases.db access access.db sendmail.cw hostmilter.db"
declare -A OLD NEW
for f in $FILES; do
	OLD[$f]=$(digest "$f" "$M")
	NEW[$f]=$(digest "$f" "$RUN/newref")
done

# "virtmaps=new aliases=old ...": what each file is now; "torn" when neither.
observed() {
	local f now out=
	for f in $FILES; do
		now=$(digest "$f" "$M")
		if [ "$now" = "${NEW[$f]}" ]; then out+="$f=new "
		elif [ "$now" = "${OLD[$f]}" ]; then out+="$f=old "
		else out+="$f=torn "
		fi
	done
	echo "$out"
}

# expected N: the first N files of the rename order new, the others old.
expected() {
	local i=0 f out=
	for f in $ORDER; do
		if [ "$i" -lt "$1" ]; then out+="$f=new "; else out+="$f=old "; fi
		i=$((i + 1))
	done
	# Files this export does not change are old and new alike.
	for f in $FILES; do case " $ORDER " in *" $f "*) ;; *) out+="$f=new " ;; esac; done
	printf '%s\n' $out | sort -k1,1 -t= | paste -sd' '
}
sorted() { printf '%s\n' $1 | sort -k1,1 -t= | paste -sd' '; }

# The renames in the order the run makes them, as --dry-run lists the files.
ORDER=$("$HOSTMAPGEN" --dry-run -o "$M" "$RUN/new.json" 2>/dev/null | sed 's/.*would change: //')
is "the new export changes every file, so each has a rename to stop after" "$ORDER" "$FILES"

# kill_at STAGE: runs hostmapgen until it stops at STAGE, kills it there (SIGKILL).
kill_at() {
	HOSTMAPGEN_TEST_PAUSE=$1 "$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null &
	local pid=$!
	hm_wait_stopped "$pid"
	local stopped=$?
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $stopped
}

# Every stage: before the first rename all files are old; after the n-th rename, exactly n are new.
stage_list="locked:0 written:0"
n=0
for f in $ORDER; do n=$((n + 1)); stage_list+=" renamed:$f:$n"; done
stage_list+=" installed:$n"
for entry in $stage_list; do
	stage=${entry%:*} renamed=${entry##*:}
	cp -a "$M" "$RUN/before"
	check "killed when stopped at $stage" kill_at "$stage"
	if [ "$stage" = written ]; then
		check "... where every temporary file was complete on disk" \
			test "$(ls -A "$M" | grep -c hostmapgen-tmp)" -ge 8
	fi
	is "... $renamed of the renames done, every file complete: old or new" \
		"$(sorted "$(observed)")" "$(expected "$renamed")"
	rm -rf "$M" && mv "$RUN/before" "$M"
done

# A run killed half-way, then one to finish the job.
check "a run killed right after renaming aliases.db" kill_at renamed:aliases.db
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null
is "the run after it exits 0" "$?" 0
is "and completes the new maps" "$(sorted "$(observed)")" "$(expected 8)"
is "it leaves no temporary files behind" "$(ls -A "$M" | grep -c 'hostmapgen-tmp\|^__db\.')" 0
# Debian's /etc/mail/Makefile rebuilds a database older than its text (aliases.db then with mode 0644).
# A small export builds its databases (in threads) before its texts are written: five fresh runs of it.
newer_texts() {
	local d=$RUN/small i t
	for i in 1 2 3 4 5; do
		rm -rf "$d" && mkdir "$d" && "$HOSTMAPGEN" -q -o "$d" "$SAMPLE_EXPORT" 2>/dev/null
		for t in virtmaps aliases access; do [ "$d/$t" -nt "$d/$t.db" ] && echo "run $i: $t"; done
	done
}
is "no text is newer than its database, so make finds nothing to redo" "$(newer_texts)" ""
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>/dev/null
check "a run killed when its temporary files were written" kill_at written
check "... left them behind" test "$(ls -A "$M" | grep -c hostmapgen-tmp)" -ge 8
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null
is "the next run removes them" "$(ls -A "$M" | grep -c 'hostmapgen-tmp\|^__db\.')" 0

before=$(hm_fingerprint "$M")
out=$("$HOSTMAPGEN" -o "$M" "$RUN/new.json" 2>/dev/null)
is "a second run with the same export rewrites nothing (inodes, mtimes, bytes)" "$(hm_fingerprint "$M")" "$before"
like "and says so" "$out" 'nothing changed: the installed files already match the export$'
rm -f "$M/.hostmapgen.state"
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null
is "without its state file, a rerun still leaves the text maps untouched" \
	"$(hm_fingerprint "$M" | grep -v '\.db \|state' )" "$(printf '%s\n' "$before" | grep -v '\.db \|state')"

# Concurrent runs wait for each other on the lock: one held by a process of
# the test makes a run wait, name the holder, and go on once it is released.
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(600)' \
	"$M/.hostmapgen.lock" >"$RUN/holder.out" &
holder=$!
check "a process of the test holds the lock" hm_wait 30 grep -q locked "$RUN/holder.out"
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>"$RUN/waiting.err" &
run=$!
check "a run says who holds the lock" hm_wait 30 grep -q "is held by pid $holder " "$RUN/waiting.err"
check "and waits for it" hm_running "$run"
kill "$holder"
wait "$holder" 2>/dev/null
wait "$run"
is "once the lock is released the run goes on and succeeds" "$?" 0
"$HOSTMAPGEN" -q -o "$M" "$RUN/new.json" 2>/dev/null & p1=$!
"$HOSTMAPGEN" -q -o "$M" "$RUN/old.json" 2>/dev/null & p2=$!
wait $p1; s1=$?; wait $p2; s2=$?
is "two concurrent runs both succeed" "$s1 $s2" "0 0"
is "after concurrent runs every file is complete" "$(observed | grep -c torn)" 0

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
if mkdir -p "$RUN/small" && mount -t tmpfs -o size=2m,mode=755 tmpfs "$RUN/small" 2>/dev/null; then
	cp "$M/sendmail.cw" "$RUN/small/"
	"$HOSTMAPGEN" -q -o "$RUN/small" "$RUN/new.json" 2>"$RUN/full.err"
	is "a full disk exits 3" "$?" 3
	like "because the disk is full" "$(cat "$RUN/full.err")" 'No space left on device; nothing changed'
	is "and leaves the old file as it was, with no temporary files" \
		"$(sha256sum <"$RUN/small/sendmail.cw") $(ls -A "$RUN/small" | grep -c 'tmp\|^__db\.')" \
		"$(sha256sum <"$M/sendmail.cw") 0"
	diag "left in the full directory: $(ls -A "$RUN/small" | tr '\n' ' ')"
	umount "$RUN/small"
else
	diag "tmpfs cannot be mounted here; the full-disk case is not tested"
fi
done_testing
