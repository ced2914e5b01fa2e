#!/bin/bash
# t-faults - faults that must not lose mail, through a real sendmail:
#  - the policy database corrupt or cut short at start: hostmilter refuses to
#    start and says why; missing or corrupt at reload (SIGHUP, or a file
#    swapped under a running daemon): the previous policy goes on, logged;
#  - hostmilter killed in the middle of a message: sendmail tempfails it,
#    and the sender's retry goes through once hostmilter is back;
#  - the spool's disk full (a 1 MB tmpfs): 451 4.3.0, nothing queued, and
#    the next message that fits is accepted;
#  - the ClamAV database replaced during traffic: no message fails, and the
#    new signature holds once it is loaded.
. "$(dirname "$0")/lib.sh"

hm_rundir faults
hm_sample_users
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_clamav_db "$RUN/clamdb"
hm_sendmail_config 2550 "$(hm_milter_mc 2551)"
mkdir -p "$RUN/spool"
hm_milter_conf "Scanner clamav
ClamAVDatabase $RUN/clamdb
ClamAVCheckInterval 1
SpoolDirectory $RUN/spool
SpoolMemory 64K"
chown hostmilter "$RUN/spool"
chmod 700 "$RUN/spool"
cp "$RUN/maps/hostmilter.db" "$RUN/good.db"
queued() { ls "$RUN/queue" | grep -c '^qf'; }

# ---- the policy database at start ----
start_with_db() {
	sed "s|^PolicyDB .*|PolicyDB $1|" "$RUN/hostmilter.conf" >"$RUN/db.conf"
	timeout 30 "$HOSTMILTER" -f -c "$RUN/db.conf" 2>&1
}
head -c 20000 /dev/urandom >"$RUN/random.db"
out=$(start_with_db "$RUN/random.db")
is "random bytes as policy database: not started (78)" "$?" 78
like "... the message names the file" "$out" 'random\.db'
head -c 8192 "$RUN/good.db" >"$RUN/short.db"
out=$(start_with_db "$RUN/short.db")
is "policy database cut short: not started (78)" "$?" 78
like "... and says why" "$out" 'short\.db.*(cannot|not|invalid|corrupt|unread)'
makemap hash "$RUN/sendmail-map.db" </dev/null 2>/dev/null
out=$(start_with_db "$RUN/sendmail-map.db")
is "a Berkeley DB that is no policy database: not started (78)" "$?" 78
like "... it says what is wrong" "$out" 'format|hostmilter-policy'

check "hostmilter starts" hm_milter_start
check "sendmail starts" hm_sendmail_start
hm_probe --source 127.0.0.5 --to info@example.com >/dev/null	# the first scan loads nothing new

# ---- the policy database at reload ----
relay_answer() { hm_probe --source 127.0.0.5 --to friend@elsewhere.example --quit-after rcpt | grep '^RCPT'; }
local_answer() { hm_probe --source 127.0.0.5 --to info@example.com | grep '^DATA'; }
rm "$RUN/maps/hostmilter.db"
before=$(hm_log_count 'reload refused')
kill -HUP "$HM_MILTER_PID"
check "database removed, SIGHUP: the reload is refused" hm_wait_log 'reload refused' "$before"
like "database removed, SIGHUP: local mail still accepted" "$(local_answer)" '^DATA 250 '
like "... relaying still refused" "$(relay_answer)" '550 5\.7\.1'
like "... the log says the reload was refused" "$(cat "$RUN/hostmilter.log")" 'reload refused, keeping the running policy'
like "... and that the database is missing" "$(cat "$RUN/hostmilter.log")" 'hostmilter\.db: No such file or directory; keeping the one loaded'
head -c 20000 /dev/urandom >"$RUN/maps/hostmilter.db"
before=$(hm_log_count 'reload refused')
kill -HUP "$HM_MILTER_PID"
check "database corrupt, SIGHUP: the reload is refused" hm_wait_log 'reload refused' "$before"
like "database corrupt, SIGHUP: local mail still accepted" "$(local_answer)" '^DATA 250 '
check "... the same process" kill -0 "$HM_MILTER_PID"
cp "$RUN/good.db" "$RUN/maps/hostmilter.db.new" && mv "$RUN/maps/hostmilter.db.new" "$RUN/maps/hostmilter.db"
before=$(hm_log_count 'policy loaded')
kill -HUP "$HM_MILTER_PID"
check "good database back: loaded again" hm_wait_log 'policy loaded' "$before"

# ---- hostmilter killed in the middle of a message ----
before=$(queued)
out=$(python3 "$HM_SRC/test/integration/session.py" 2550 127.0.0.5 SIGKILL "$HM_MILTER_PID" mid-body)
# session.py kills it; should it fail (no sendmail to talk to), the test fails rather than waits forever.
hm_wait 60 hm_gone "$HM_MILTER_PID" || kill -9 "$HM_MILTER_PID" 2>/dev/null
wait "$HM_MILTER_PID" 2>/dev/null
like "hostmilter killed mid-message: gone before the message ends" "$out" '^WAITED'
like "hostmilter killed mid-message: sendmail answers 4xx" "$out" '^DATA 4[0-9][0-9] '
is "... and queues nothing" "$(queued)" "$before"
check "hostmilter restarts" hm_milter_start
out=$(python3 "$HM_SRC/test/integration/session.py" 2550 127.0.0.5 SIGCONT "$HM_MILTER_PID" mid-body)
like "the sender's retry is accepted" "$out" '^DATA 250 '
is "... queued once" "$(queued)" "$((before + 1))"

# ---- the spool's disk full ----
if mount -t tmpfs -o size=1m,mode=0700 tmpfs "$RUN/spool" 2>/dev/null; then
	chown hostmilter "$RUN/spool"
	before=$(queued)
	out=$(hm_send full-disk big 3000000 -- info@example.com)
	like "spool disk full: 451 4.3.0" "$(grep '^DATA' <<<"$out")" '^DATA 451 4\.3\.0'
	is "... nothing queued" "$(queued)" "$before"
	like "... the log says where" "$(cat "$RUN/hostmilter.log")" "cannot spool the message in $RUN/spool"
	out=$(hm_send after-full clean -- info@example.com)
	like "the next message that fits is accepted" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
	is "the spool holds no leftovers" "$(ls -A "$RUN/spool" | wc -l)" 0
	umount "$RUN/spool"
else
	not_ok "cannot mount a tmpfs for the disk-full test (needs root and CAP_SYS_ADMIN)"
fi

# ---- libclamav cannot unpack (its temporary directory unwritable) ----
chown root "$RUN/spool"
# EICAR zipped: only libclamav can tell it from a clean file (clam.zip's executable would be
# refused by its type, which the attachment walk sees inside the archive, scanner or not).
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr("eicar.com", sys.argv[2]); z.close()' \
	"$RUN/eicar.zip" "$EICAR"
out=$(hm_send no-tmpdir attach "$RUN/eicar.zip" -- info@example.com)
like "libclamav cannot make its temporary directory: 451, not accepted unscanned" "$(grep '^DATA' <<<"$out")" '^DATA 451 4\.7\.1'
like "... the log has libclamav's reason" "$(cat "$RUN/hostmilter.log")" "libclamav: .*(temporary|tmp)"
chown hostmilter "$RUN/spool"
out=$(hm_send tmpdir-back attach /usr/share/clamav-testfiles/clam.zip -- info@example.com)
like "... writable again: the virus inside the zip is found" "$(grep '^DATA' <<<"$out")" '^DATA 554 5\.7\.1'

# ---- the ClamAV database replaced during traffic ----
printf 'hostmilter test signature %s\n' "$RUN" >"$RUN/newvirus.txt"
reloads=$(hm_log_count 'ClamAV database .* reloaded')
(for i in $(seq 1 30); do hm_send "during-$i" clean -- info@example.com | grep '^DATA'; done) >"$RUN/during.out" &
traffic=$!
during() { [ "$(wc -l <"$RUN/during.out")" -ge "$1" ]; }
for i in 1 2 3; do
	hm_until 300 during $((i * 7))	# each replacement while messages are under way
	mkdir -p "$RUN/clamdb.new"
	cp "$RUN/clamdb/test.hdb" "$RUN/clamdb.new/test.hdb"
	(cd "$RUN" && sigtool --md5 newvirus.txt) >>"$RUN/clamdb.new/test.hdb"
	# Replaced as freshclam does: new files renamed over the old ones.
	mv "$RUN/clamdb.new/test.hdb" "$RUN/clamdb/test.hdb.tmp" && mv "$RUN/clamdb/test.hdb.tmp" "$RUN/clamdb/test.hdb"
	: >"$RUN/clamdb/partial.hdb.tmp"; rm -f "$RUN/clamdb/partial.hdb.tmp"
done
wait "$traffic"
is "30 messages during the replacements: all accepted" "$(grep -c '^DATA 250 ' "$RUN/during.out")" 30
check "... the database was reloaded" hm_wait_log 'ClamAV database .* reloaded' "$reloads" 60
out=$(hm_send new-sig attach "$RUN/newvirus.txt" -- info@example.com)
like "the new signature holds" "$(grep '^DATA' <<<"$out")" '^DATA 554 5\.7\.1'

done_testing
