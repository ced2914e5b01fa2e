#!/bin/bash
# t-mapgen-safety: hostmapgen is safe to run as root in a directory others
# may have prepared (issue 16).  A symbolic link, FIFO or directory where it
# reads or writes a map is refused (exit 3, nothing changed, nothing read
# through it, no hang); the export must be a regular file or "-" and within
# --max-export-size; a lock file of another user, or one held by another
# user's process, ends the run after --lock-timeout, naming the holder;
# Berkeley DB's own temporary file of a killed run is cleaned even when the
# next run has the same pid; a target that rename cannot replace (a bind
# mount, an immutable file) is found before the first rename, and a rename
# that fails after others succeeded is reported as a partial install
# (exit 4); a failed or killed reload is retried until it succeeds, and a
# hanging reload command is killed after --reload-timeout, against a real
# sendmail whose class w shows whether it was reloaded.  Debian's /etc/mail
# as Debian ships it (issue 25): a directory and files of the MTA's user
# smmta are trusted like root's, the aliases link to ../aliases is followed
# (the text where it points, the .db beside the link, as newaliases has
# it), and a link, target, file or directory of any other user is not.
# Faults no real component produces on demand (a rename failing with EIO,
# a kill while Berkeley DB's temporary file exists) are injected with
# strace, and named so below.
# Port: 2586 (sendmail).
. "$(dirname "$0")/lib.sh"

hm_rundir mapgen-safety
M=$RUN/maps
hm_sample_users
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null
jq '.domains += [{"name": "added.example", "addresses": [{"local": "info", "deliver": ["xyz00-info"]}]}]' \
	"$SAMPLE_EXPORT" >"$RUN/added.json"
printf 'SECRET-LINE\tnot for the maps\n' >"$RUN/secret"
chmod 600 "$RUN/secret"

# ---- 1. no symbolic link, FIFO or directory where a map is read or written ----
for name in virtmaps aliases access sendmail.cw virtmaps.db hostmilter.db .hostmapgen.state; do
	for kind in link fifo dir; do
		mv "$M/$name" "$RUN/saved"
		case $kind in
		link) ln -s "$RUN/secret" "$M/$name" ;;
		fifo) mkfifo "$M/$name" ;;
		dir) mkdir "$M/$name" ;;
		esac
		before=$(ls -l --time-style=full-iso "$M" | sort)
		err=$(timeout 20 "$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>&1)
		status=$?
		is "a $kind at $name: exit 3" "$status" 3
		like "... naming it, with nothing changed" "$err" "$name is a .*, not a regular file; hostmapgen neither follows nor replaces one; nothing changed"
		is "... every name in the directory as it was" "$(ls -l --time-style=full-iso "$M" | sort)" "$before"
		rm -rf "${M:?}/$name"
		mv "$RUN/saved" "$M/$name"
	done
done
is "no map took a line from the link's target" "$(grep -rl SECRET-LINE "$M" | wc -l)" 0
mv "$M/access" "$RUN/saved" && ln -s "$RUN/secret" "$M/access"
timeout 20 "$HOSTMAPGEN" --dry-run -o "$M" "$RUN/added.json" >/dev/null 2>&1
is "--dry-run refuses a link too" "$?" 3
timeout 20 "$HOSTMAPGEN" --diff -o "$M" "$RUN/added.json" >"$RUN/diff.out" 2>/dev/null
is "and so does --diff, without showing the target" "$? $(grep -c SECRET-LINE "$RUN/diff.out")" "3 0"
rm "$M/access" && mv "$RUN/saved" "$M/access"
chmod 777 "$RUN/maps"
err=$("$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>&1)
is "a directory every user can write to is refused (exit 3)" "$?" 3
like "... saying why" "$err" 'is writable by every user \(mode 0777\)'
chmod 755 "$RUN/maps"

# ---- 2. the export: a regular file or "-", within --max-export-size ----
before=$(hm_fingerprint "$M")
mkfifo "$RUN/export.fifo"
err=$(timeout 20 "$HOSTMAPGEN" -q -o "$M" "$RUN/export.fifo" 2>&1)
is "an export that is a FIFO without a writer: exit 3 at once" "$?" 3
like "... saying to give - for a pipe" "$err" 'is a FIFO, not a regular file; give "-" to read a pipe'
err=$( (ulimit -v 2000000; timeout 20 "$HOSTMAPGEN" -q -o "$M" /dev/zero) 2>&1)
is "/dev/zero as the export: exit 3 at once" "$?" 3
like "... a character device" "$err" 'is a character device, not a regular file'
err=$(head -c 3000000 /dev/zero | "$HOSTMAPGEN" -q --max-export-size 2M -o "$M" - 2>&1)
is "a pipe longer than --max-export-size: exit 1" "$?" 1
like "... saying so" "$err" 'standard input is larger than 2097152 bytes \(--max-export-size\); nothing written'
err=$("$HOSTMAPGEN" -q --max-export-size 1K -o "$M" "$RUN/added.json" 2>&1)
is "a file larger than --max-export-size: exit 1" "$?" 1
like "... naming it" "$err" 'added\.json is larger than 1024 bytes'
is "none of these changed a file" "$(hm_fingerprint "$M")" "$before"
"$HOSTMAPGEN" -q --max-export-size 64K -o "$M" - <"$RUN/added.json" 2>/dev/null
is "an export within the cap, through a pipe, is installed" "$? $(grep -c '^added\.example$' "$M/sendmail.cw")" "0 1"
like "the default cap is documented in --help" "$("$HOSTMAPGEN" --help)" 'refuse a larger export \(default 1G\)'
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null

# ---- 3. the lock: owner, type, holder, timeout ----
lock=$M/.hostmapgen.lock
chown nobody "$lock"
err=$(timeout 20 "$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>&1)
is "a lock file owned by another user: exit 3 at once" "$?" 3
like "... naming the owner" "$err" "the lock $lock belongs to uid $(id -u nobody), who could hold it forever; remove it; nothing changed"
chown root "$lock"
# An earlier version or an admin left it readable: another user can hold it.
chmod 644 "$lock"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	/usr/bin/python3 -c 'import fcntl, sys, time
f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(600)' \
	"$lock" >"$RUN/holder.out" &
holder=$!
HM_BG_PIDS="${HM_BG_PIDS:-} $holder"
check "a process of user nobody holds the lock" hm_wait 30 grep -q locked "$RUN/holder.out"
before=$(hm_fingerprint "$M" | grep -v hostmapgen.lock)
start=$SECONDS
err=$(timeout 20 "$HOSTMAPGEN" -q --lock-timeout 2 -o "$M" "$RUN/added.json" 2>&1)
is "a run gives up after --lock-timeout: exit 3" "$?" 3
check "... within its timeout ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 30
like "... naming the holder as it starts to wait" "$err" "is held by pid $holder \\(python3, user nobody\\); waiting up to 2 s"
like "... and when it gives up" "$err" "gave up after 2 s waiting for $lock, held by pid $holder .*; nothing changed"
is "... with nothing changed" "$(hm_fingerprint "$M" | grep -v hostmapgen.lock)" "$before"
is "the lock file is private again" "$(stat -c %a "$lock")" 600
kill "$holder"
wait "$holder" 2>/dev/null
"$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>/dev/null
is "once the holder is gone the run succeeds" "$?" 0
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null

# ---- 4. temporary files: unpredictable names, Berkeley DB's cleaned ----
HOSTMAPGEN_TEST_PAUSE=written "$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>/dev/null &
pid=$!
check "a run stopped with its temporary files written" hm_wait_stopped "$pid"
tmps=$(ls -A "$M" | grep hostmapgen-tmp)
is "their names end in 16 random hex digits, not in the pid" \
	"$(printf '%s\n' "$tmps" | grep -cvE '^\.[a-z.]+\.hostmapgen-tmp\.[0-9a-f]{16}$')" 0
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null
if unshare --pid --fork --mount-proc true 2>/dev/null; then
	# Fault injection (strace): SIGKILL at the first rename, which is Berkeley DB's
	# own, of its __db. file; in a pid namespace each run has the same pid.
	unshare --pid --fork --mount-proc strace -f -o /dev/null -e trace=rename \
		-e inject=rename:signal=KILL:when=1 "$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>/dev/null
	leftover=$(ls -A "$M" | grep '^__db\.')
	check "a run killed inside Berkeley DB left its __db. file ($leftover)" test -n "$leftover"
	err=$(unshare --pid --fork --mount-proc strace -f -o /dev/null "$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>&1)
	is "the next run, with the same pid, succeeds" "$?" 0
	like "... saying what it removed" "$err" "removing $M/__db\\..*, left behind by an interrupted run"
	is "... and leaves no temporary file" "$(ls -A "$M" | grep -c 'hostmapgen-tmp\|^__db\.')" 0
	"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null
else
	diag "no pid namespaces here; Berkeley DB's temporary file is not tested"
fi

# ---- 5. targets rename cannot replace; a rename failing half-way ----
cp "$M/hostmilter.db" "$RUN/bound.db"
if mount --bind "$RUN/bound.db" "$M/hostmilter.db" 2>/dev/null; then
	before=$(hm_fingerprint "$M")
	err=$("$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>&1)
	is "a bind-mounted hostmilter.db: exit 3" "$?" 3
	like "... found before the first rename" "$err" 'hostmilter\.db is a mount point \(bind-mounted\?\); rename cannot replace it; nothing changed'
	is "... and indeed nothing changed" "$(hm_fingerprint "$M")" "$before"
	is "... no temporary file left" "$(ls -A "$M" | grep -c 'hostmapgen-tmp\|^__db\.')" 0
	umount "$M/hostmilter.db"
else
	diag "bind mounts are not possible here; that case is not tested"
fi
if chattr +i "$M/virtmaps.db" 2>/dev/null; then
	before=$(hm_fingerprint "$M")
	err=$("$HOSTMAPGEN" -q -o "$M" "$RUN/added.json" 2>&1)
	is "an immutable virtmaps.db: exit 3" "$?" 3
	like "... found before the first rename" "$err" 'virtmaps\.db is immutable \(chattr\); rename cannot replace it; nothing changed'
	is "... and indeed nothing changed" "$(hm_fingerprint "$M")" "$before"
	chattr -i "$M/virtmaps.db"
else
	diag "chattr +i is not possible here; that case is not tested"
fi
# Fault injection (strace): the rename of hostmilter.db, the last one, fails with EIO.
# Only the main thread renames into place, in the order --dry-run lists the files.
changes=$("$HOSTMAPGEN" --dry-run -o "$M" "$RUN/added.json" 2>/dev/null | sed 's/.*would change: //')
n=$(printf '%s\n' $changes | grep -n '^hostmilter\.db$' | cut -d: -f1)
rm -f "$RUN/reloaded"
err=$(strace -f -o /dev/null -e trace=rename -e inject=rename:error=EIO:when="$n" \
	"$HOSTMAPGEN" -q -o "$M" --reload-cmd "touch $RUN/reloaded" "$RUN/added.json" 2>&1)
is "a rename failing after others succeeded: exit 4" "$?" 4
new=$(printf '%s\n' $changes | grep -v '^hostmilter\.db$' | paste -sd' ')
like "... saying exactly what is new and what is old" "$err" \
	"rename to $M/hostmilter\\.db: Input/output error; partly installed: new: $new; still old: hostmilter\\.db"
unlike "... never \"nothing changed\"" "$err" 'nothing changed'
is "... the new sendmail.cw is in place" "$(grep -c '^added\.example$' "$M/sendmail.cw")" 1
check "... and the reload command ran for it" test -e "$RUN/reloaded"
rm -f "$RUN/reloaded"
out=$("$HOSTMAPGEN" -o "$M" --reload-cmd "touch $RUN/reloaded" "$RUN/added.json" 2>/dev/null)
is "the next run exits 0" "$?" 0
# (and branch.example's route on port 2603, for real: the runs before had no
# --reload-cmd, and the partial one, whose command covered the mailers file,
# stopped before writing it)
like "... installing what was left" "$out" '3 files changed: mailertable mailertable\.db hostmilter\.db$'
check "... without another reload, sendmail.cw being unchanged since" test ! -e "$RUN/reloaded"
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null

# ---- 6. the reload: retried until it succeeds, bounded in time ----
# A real sendmail: a domain is local (class w, from sendmail.cw) only once it reloaded.
hm_sendmail_config 2586
/usr/sbin/sendmail -C "$RUN/test.cf" -bd -q30m
check "sendmail runs" hm_wait_port 2586
HUP="kill -HUP \$(head -1 $RUN/sendmail.pid) && echo >>$RUN/reloads"
# knows DOMAIN: sendmail takes mail for postmaster@DOMAIN, as it does for every domain of class w.
knows() { hm_smtp_reply 127.0.0.9 "postmaster@$1" | grep -q '^250 '; }
like "before: sendmail relays nothing to added.example" "$(hm_smtp_reply 127.0.0.9 info@added.example)" '^550 5\.7\.1'
err=$("$HOSTMAPGEN" -q -o "$M" --reload-cmd "exit 1" "$RUN/added.json" 2>&1)
is "a failing reload command: exit 5" "$?" 5
like "... saying the next run runs it again" "$err" \
	'reload command "exit 1" failed \(exit status 1\); the new sendmail.cw is in place, and the next run runs the command again'
like "... so sendmail still relays nothing to added.example" "$(hm_smtp_reply 127.0.0.9 info@added.example)" '^550 5\.7\.1'
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "$HUP" "$RUN/added.json" 2>/dev/null
is "the next run, with the same export, exits 0" "$?" 0
is "... having run the reload command" "$(wc -l <"$RUN/reloads" 2>/dev/null)" 1
check "... so sendmail now accepts mail for added.example" hm_wait 60 knows added.example
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "$HUP" "$RUN/added.json" 2>/dev/null
is "a third run reloads no more" "$? $(wc -l <"$RUN/reloads")" "0 1"

jq '.domains += [{"name": "later.example", "addresses": [{"local": "info", "deliver": ["xyz00-info"]}]}]' \
	"$RUN/added.json" >"$RUN/later.json"
HOSTMAPGEN_TEST_PAUSE=renamed:sendmail.cw "$HOSTMAPGEN" -q -o "$M" --reload-cmd "$HUP" "$RUN/later.json" 2>/dev/null &
pid=$!
check "a run stopped right after renaming sendmail.cw" hm_wait_stopped "$pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null
is "... killed there, it did not reload" "$(wc -l <"$RUN/reloads")" 1
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "$HUP" "$RUN/later.json" 2>/dev/null
is "the next run exits 0" "$?" 0
is "... and reloads for the sendmail.cw the killed run installed" "$(wc -l <"$RUN/reloads")" 2
check "... so sendmail accepts mail for later.example" hm_wait 60 knows later.example

jq '.domains += [{"name": "hang.example"}]' "$RUN/later.json" >"$RUN/hang.json"
start=$SECONDS
err=$(timeout 120 "$HOSTMAPGEN" -q -o "$M" --reload-timeout 1 \
	--reload-cmd "sleep 600 & echo \$! >$RUN/sleeper; trap '' TERM; wait" "$RUN/hang.json" 2>&1)
is "a reload command that hangs: exit 5" "$?" 5
check "... after --reload-timeout and the kill grace ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 30
like "... saying it was killed" "$err" 'failed \(still running after 1 s; killed\)'
check "... and what it started is gone too" hm_wait 30 hm_gone "$(cat "$RUN/sleeper")"
"$HOSTMAPGEN" -q -o "$M" --reload-cmd "$HUP" "$RUN/hang.json" 2>/dev/null
is "the next run reloads" "$? $(wc -l <"$RUN/reloads")" "0 3"
check "... so sendmail accepts mail for hang.example" hm_wait 60 knows hang.example
hm_sendmail_stop

# ---- 7. Debian's /etc/mail: smmta's, with /etc/mail/aliases -> ../aliases ----
E=$RUN/etc
D=$E/mail
mkdir -p "$D"
chown smmta:smmsp "$D"
chmod 2755 "$D"
printf '# the system'"'"'s aliases\nmailer-daemon: postmaster\n' >"$E/aliases"
ln -s ../aliases "$D/aliases"
chown -h root:smmsp "$D/aliases"
printf 'Connect:127\tRELAY\n' >"$D/access"
makemap hash "$D/access" <"$D/access"
chown smmta:smmsp "$D/access.db"
chmod 0640 "$D/access.db"
debian() { "$HOSTMAPGEN" -q --layout debian -o "$D" "$@" 2>&1; }
err=$(debian "$SAMPLE_EXPORT")
is "Debian's /etc/mail (smmta:smmsp 2755): installed, exit 0" "$?" 0
is "... no owner, mode or link changed" "$(stat -c '%U:%G %a' "$D") $(readlink "$D/aliases") $(stat -c '%U:%G %a' "$D/access.db")" \
	"smmta:smmsp 2755 ../aliases smmta:smmsp 640"
check "... the aliases text went where the link points, the admin's line kept" \
	grep -q '^mailer-daemon: postmaster$' "$E/aliases"
check "... with the generated block" grep -q '^# BEGIN hostmapgen' "$E/aliases"
check "... and aliases.db beside the link, where Sendmail reads ALIAS_FILE.db" test -f "$D/aliases.db"
check "... holding the system's alias and the generated ones" \
	bash -c "makemap -u hash '$D/aliases' | grep -q '^mailer-daemon' && makemap -u hash '$D/aliases' | grep -q '^sales=example.com'"
hm_makemap_dump "$D/aliases" >"$RUN/ours.txt"
cp "$D/aliases.db" "$RUN/ours.db"
sendmail -bi -oA"$D/aliases" >/dev/null 2>&1
is "newaliases from the same text (as any other package runs it) gives the same aliases" \
	"$(hm_makemap_dump "$D/aliases")" "$(cat "$RUN/ours.txt")"
records() { db_dump -p "$1" | sed -n '/^HEADER=END/,/^DATA=END/p' | paste - - | LC_ALL=C sort; }
is "... record for record" "$(records "$D/aliases.db")" "$(records "$RUN/ours.db")"
out=$("$HOSTMAPGEN" --layout debian -o "$D" "$SAMPLE_EXPORT" 2>/dev/null)
like "the next run rewrites only aliases.db, which newaliases replaced" "$out" '1 files changed: aliases\.db$'
err=$(debian --mta-user '' "$SAMPLE_EXPORT")
is "--mta-user '': smmta is not trusted, exit 3" "$?" 3
like "... saying whom the directory belongs to" "$err" \
	"$D belongs to uid $(id -u smmta) \\(smmta\\); only root may own the maps' directory"
err=$(debian --mta-user no-such-user-here "$SAMPLE_EXPORT")
is "--mta-user naming no user: exit 2" "$?" 2

# Every name under $RUN/etc: inode, size, mtime, owner, mode.
both() { find "$E" -exec stat -c '%n %i %s %y %U %a' {} + | LC_ALL=C sort; }
refused() {	# refused DESCRIPTION PATTERN: the run exits 3 with PATTERN, nothing changed
	local err status before
	before=$(both)
	err=$(debian "$RUN/added.json")
	status=$?
	is "$1: exit 3" "$status" 3
	like "... saying why" "$err" "$2"
	is "... nothing changed" "$(both)" "$before"
}
chown -h nobody "$D/aliases"
refused "the aliases link planted by a third user" \
	"$D/aliases is a symbolic link of uid $(id -u nobody) \\(nobody\\); hostmapgen follows one only when it belongs to root or the MTA's user smmta"
chown -h root:smmsp "$D/aliases"
chown nobody "$E/aliases"
refused "the link's target owned by a third user" "$E/aliases belongs to uid $(id -u nobody) \\(nobody\\), who could rewrite it"
chown root "$E/aliases"
mkdir -m 777 "$RUN/open"
cp "$E/aliases" "$RUN/open/aliases"
ln -sfn ../../open/aliases "$D/aliases"
refused "a link into a directory every user can write" "the way there is not safe: $RUN/open is writable by every user"
mkdir -m 755 "$RUN/real" && cp "$E/aliases" "$RUN/real/aliases"
ln -s real "$RUN/linked"
ln -sfn ../../linked/aliases "$D/aliases"
refused "a link through a further link (a linked directory)" "the way there is not safe: $RUN/linked: not a directory"
ln -sfn ../aliases "$D/aliases"
mv "$E/aliases" "$E/aliases.real" && ln -s aliases.real "$E/aliases"
refused "a link to a link" "$E/aliases is a symbolic link, not a regular file; hostmapgen follows no further link"
rm "$E/aliases" && mv "$E/aliases.real" "$E/aliases"
chown -h root:smmsp "$D/aliases"
chown nobody "$D/virtusertable"
refused "a map owned by a third user" "$D/virtusertable belongs to uid $(id -u nobody) \\(nobody\\), who could rewrite it"
chown smmta "$D/virtusertable"
err=$(debian "$RUN/added.json")
is "a map of smmta's is trusted: exit 0" "$?" 0
is "... and keeps its owner" "$(stat -c %U "$D/virtusertable")" smmta
err=$("$HOSTMAPGEN" -q -o "$D" "$SAMPLE_EXPORT" 2>&1)
like "the hostnet layout follows no link, not even Debian's" "$err" 'aliases is a symbolic link, not a regular file'
jq '.aliases += [{"name": "webmaster", "deliver": ["xyz00-info"]}]' "$SAMPLE_EXPORT" >"$RUN/alias-added.json"
HOSTMAPGEN_TEST_PAUSE=written "$HOSTMAPGEN" -q --layout debian -o "$D" "$RUN/alias-added.json" 2>/dev/null &
pid=$!
check "a run stopped with its temporary files written" hm_wait_stopped "$pid"
like "... the aliases text's beside its target" "$(ls -A "$E")" '^\.aliases\.hostmapgen-tmp\.'
kill -9 "$pid"
wait "$pid" 2>/dev/null
err=$(debian "$SAMPLE_EXPORT")
is "the next run succeeds" "$?" 0
is "... and removes it" "$(ls -A "$E" | grep -c hostmapgen-tmp)" 0
is "... naming it" "$(grep -c "removing $E/\.aliases\.hostmapgen-tmp\." <<<"$err")" 1
done_testing
