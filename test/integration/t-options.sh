#!/bin/bash
# t-options: --check, --diff, --dry-run, --layout debian, -o, stdin,
# --reload-cmd, and what hostmapgen prints on a terminal and off it.
. "$(dirname "$0")/lib.sh"

hm_rundir options
M=$RUN/maps

out=$("$HOSTMAPGEN" --check "$SAMPLE_EXPORT" 2>/dev/null)
is "--check on a valid export exits 0" "$?" 0
like "--check says it is valid, with counts" "$out" '^hostmapgen: export is valid: 5 domains, 11 addresses'
is "--check writes nothing" "$(ls -A "$M")" ""
jq '.domains[0].addresses[0].deliver = ["nobody-known"]' "$SAMPLE_EXPORT" >"$RUN/bad.json"
err=$("$HOSTMAPGEN" --check "$RUN/bad.json" 2>&1)
is "--check on an invalid export exits 1" "$?" 1
like "the error names the JSON path" "$err" 'domains\[0\]\.addresses\[0\]\.deliver\[0\]: deliver target "nobody-known"'

out=$("$HOSTMAPGEN" -o "$M" - <"$SAMPLE_EXPORT" 2>/dev/null)
is "the export can come from stdin" "$?" 0
is "off a terminal a run prints one summary line" "$(printf '%s\n' "$out" | wc -l)" 1
like "the summary counts domains, addresses and changed files" "$out" \
	'^hostmapgen: 5 domains, 11 addresses, 5 mailboxes, 3 aliases; 12 files changed'

jq '.domains[1].addresses += [{"local": "new", "deliver": ["xyz00-office"]}]' "$SAMPLE_EXPORT" >"$RUN/more.json"
before=$(hm_fingerprint "$M")
diff=$("$HOSTMAPGEN" --diff -o "$M" "$RUN/more.json" 2>/dev/null)
is "--diff exits 6: files would change" "$?" 6
like "--diff shows the added address, naming the file" "$diff" '^address new@example\.org: virtmaps \(none\) -> xyz00-office$'
like "--diff shows it in hostmilter.db too" "$diff" '^address new@example\.org: added in hostmilter\.db: mailboxes xyz00-office$'
is "--diff writes nothing" "$(hm_fingerprint "$M")" "$before"
out=$("$HOSTMAPGEN" --dry-run -o "$M" "$RUN/more.json" 2>/dev/null)
is "--dry-run exits 6: files would change" "$?" 6
# (not mailertable: branch.example's route on a new port waits, 451, for a
# run whose reload command rebuilds sendmail.cf; the first run had none)
like "--dry-run says which files would change" "$out" 'files would change: virtmaps virtmaps.db hostmilter.db$'
is "--dry-run writes nothing" "$(hm_fingerprint "$M")" "$before"

mkdir "$RUN/debian"
"$HOSTMAPGEN" -q --layout debian -o "$RUN/debian" "$SAMPLE_EXPORT" 2>/dev/null
is "--layout debian uses Debian's file names" "$(ls "$RUN/debian" | paste -sd' ')" \
	"access access.db aliases aliases.db autoconfig.db hostmilter-mailers.m4 hostmilter.db local-host-names mailertable mailertable.db virtusertable virtusertable.db"
"$HOSTMAPGEN" --layout bsd -o "$RUN/debian" "$SAMPLE_EXPORT" 2>/dev/null
is "an unknown layout exits 2" "$?" 2

# --reload-cmd runs only when sendmail.cw or hostmilter-mailers.m4 changed
# since a reload covered them: the first command covers the mailers file
# that branch.example's route has waited for since the first run.
rm -f "$RUN/reloaded"
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "touch $RUN/reloaded" "$RUN/more.json" 2>/dev/null
check "the first reload command runs for the mailers file a route waits for" test -e "$RUN/reloaded"
like "... and the route is then written for real" "$(grep '^branch' "$M/mailertable")" \
	$'^branch\\.example\thm2603:\\[127\\.0\\.0\\.1\\]$'
rm -f "$RUN/reloaded"
jq '.domains[1].addresses += [{"local": "newer", "deliver": ["xyz00-office"]}]' "$RUN/more.json" >"$RUN/more2.json"
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "touch $RUN/reloaded" "$RUN/more2.json" 2>/dev/null
check "no reload when only virtmaps changed" test ! -e "$RUN/reloaded"
jq '.domains += [{"name": "brand-new.example"}]' "$RUN/more2.json" >"$RUN/domain.json"
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "touch $RUN/reloaded" "$RUN/domain.json" 2>/dev/null
check "reload after a new domain changed sendmail.cw" test -e "$RUN/reloaded"
jq '.domains += [{"name": "another.example"}]' "$RUN/domain.json" >"$RUN/domain2.json"
err=$("$HOSTMAPGEN" -q -o "$M" --reload-cmd "exit 7" "$RUN/domain2.json" 2>&1)
is "a failing reload command exits 5" "$?" 5
like "and says the new file is in place and the command runs again" "$err" \
	'reload command "exit 7" failed \(exit status 7\); the new sendmail.cw is in place, and the next run runs the command again'
like "the new files are indeed in place" "$(cat "$M/sendmail.cw")" '^another\.example$'

# The reload command gets the environment hostmapgen was given: nothing of
# its own, an admin's GLIBC_TUNABLES as it was.  (hostmapgen once ran itself
# again with glibc.malloc.hugetlb=1; on this machine that came to cost more
# CPU time than it saved, see mapgen-bench in the README.)
show_env='tr "\0" "\n" </proc/$PPID/environ >'"$RUN/parent.env; env >$RUN/child.env"
jq '.domains += [{"name": "third.example"}]' "$RUN/domain2.json" >"$RUN/domain3.json"
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "$show_env" "$RUN/domain3.json" 2>/dev/null
is "hostmapgen sets no tunable of its own" "$(grep -c '^GLIBC_TUNABLES=\|^HOSTMAPGEN_HUGE_PAGES=' "$RUN/parent.env")" 0
is "nor does the reload command see one" "$(grep -c '^GLIBC_TUNABLES=\|^HOSTMAPGEN_HUGE_PAGES=' "$RUN/child.env")" 0
jq '.domains += [{"name": "fourth.example"}]' "$RUN/domain3.json" >"$RUN/domain4.json"
GLIBC_TUNABLES=glibc.malloc.check=0 "$HOSTMAPGEN" -q -o "$M" --reload-cmd "$show_env" "$RUN/domain4.json" 2>/dev/null
is "an admin's GLIBC_TUNABLES reaches the reload command as it was" \
	"$(grep '^GLIBC_TUNABLES=' "$RUN/child.env")" "GLIBC_TUNABLES=glibc.malloc.check=0"

tty_out=$(script -qec "$HOSTMAPGEN -o $M $RUN/more.json" /dev/null 2>&1)
like "on a terminal a run shows its stages" "$tty_out" 'reading the export\.\.\.'
done_testing
