#!/bin/bash
# t-scan - scanning through a real sendmail: in-process libclamav, a real
# spamd with one local rule of known score, libmagic on decoded parts, and
# per-recipient verdicts read back from sendmail's queue files.
#
# Recipients of the sample and their policies:
#   info@example.com   xyz00-info: virus reject, spam tag 5 / reject 15
#   office@example.org xyz00-office's own rules: virus tag, spam tag 4, no reject score
#   team@example.org   two mailboxes, so example.org's rules: virus quarantine, spam reject 10
. "$(dirname "$0")/lib.sh"

hm_rundir scan
hm_sample_users
hm_cf_dir
MSA_PORT=2545
SPAMD_PORT=7831
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
hm_sendmail_config 2544 "$(hm_milter_mc $MSA_PORT)"
check "spamd starts" hm_spamd_start $SPAMD_PORT
hm_milter_conf "Scanner clamav
ClamAVDatabase $RUN/clamdb
Scanner spamd tcp:127.0.0.1:$SPAMD_PORT
ScanTimeout 60
SpoolDirectory $RUN/spool"
hm_spool_dir
out=$("$HOSTMILTER" -V -c "$RUN/hostmilter.conf" 2>&1)
like "-V names libmilter, libclamav, libmagic, OpenSSL, GMime and Berkeley DB" \
	"$(grep -oE '^(libmilter|libclamav|libmagic|OpenSSL|GMime|Berkeley DB): [0-9A-Za-z]' <<<"$out" | cut -d: -f1 | tr '\n' ,)" \
	'^libmilter,libclamav,libmagic,OpenSSL,GMime,Berkeley DB,$'
like "... and the signatures of the configured ClamAV database" "$out" "ClamAV database: $RUN/clamdb, 2 signatures"
check "hostmilter starts with Scanner clamav and spamd" hm_milter_start
check "sendmail starts" hm_sendmail_start

step() { grep -E "^$1" <<<"$2" | head -1; }
send() { hm_send "$@"; }
queued_rcpts() { grep -E '^R' "$1" | sed 's/.*://' | sort | tr '\n' ' '; }

out=$(send clean-1 clean -- info@example.com)
like "clean message accepted" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf clean-1)
like "... marked X-Virus-Scanned by clamav" "$(grep '^H??X-Virus-Scanned' "$qf")" 'clamav by hostmilter'
like "... and X-Spam-Status No with spamd's score" "$(grep '^H??X-Spam-Status' "$qf")" 'No, score=-?[0-9.]+ required=5\.0'

printf '%s' "$EICAR" >"$RUN/eicar.txt"
out=$(send eicar-b64 attach "$RUN/eicar.txt" "notes.txt" "text/plain" -- info@example.com)
like "EICAR in a base64 part: 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 .*Virus'
out=$(send eicar-nested nested "$RUN/eicar.txt" -- info@example.com)
like "EICAR in a nested forwarded message: 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 '
out=$(send gtube-1 gtube -- info@example.com)
like "GTUBE: 550 5.7.1" "$(step DATA "$out")" '^DATA 550 5\.7\.1 '
is "... and nothing queued" "$(hm_qf gtube-1)" ""

# A disguised executable: clam.exe changed by one byte (no signature matches), named invoice.pdf.
cp /usr/share/clamav-testfiles/clam.exe "$RUN/changed.exe"
printf 'x' >>"$RUN/changed.exe"
out=$(send disguised attach "$RUN/changed.exe" invoice.pdf application/pdf -- info@example.com)
like "executable named invoice.pdf: 550 5.7.1 by its true type" "$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'

# Per recipient: a 12-point message is tagged for info (tag 5, reject 15), refused for team (reject 10).
out=$(send twelve text "HOSTMILTER-TWELVE-POINTS" -- info@example.com team@example.org)
like "12 points to info and team: accepted" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf '\[SPAM\] twelve')
is "... team@example.org removed, info@example.com kept" "$(queued_rcpts "$qf")" "<info@example.com> "
like "... subject tagged [SPAM]" "$(grep '^H??Subject' "$qf")" 'Subject: \[SPAM\] twelve$'
like "... X-Spam-Flag YES" "$(grep '^H??X-Spam-Flag' "$qf")" 'YES'
like "... X-Spam-Status names the local rule" "$(grep '^H??X-Spam-Status' "$qf")" 'Yes, score=1[0-9]\.[0-9] .*HOSTMILTER_TEST_12'
# A Subject longer than a line, folded, with RFC 2047 words: tagged whole, nothing of it lost.
python3 - "$RUN/long-subject.eml" <<'PY'
import sys
words = " ".join("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_{:03d}?=".format(i) for i in range(40))
folded = "\r\n ".join("long-subject part {} ".format(i) + "x" * 600 for i in range(5)) + "\r\n " + words
msg = ("From: a@client.example\r\nTo: info@example.com\r\nSubject: " + folded + "\r\nMessage-ID: <long@client.example>\r\n"
       "\r\nHOSTMILTER-TWELVE-POINTS\r\n")
open(sys.argv[1], "w").write(msg)
PY
out=$(hm_probe --source 127.0.0.5 --to info@example.com --message "$RUN/long-subject.eml")
like "a 12-point message with a folded 3 KB Subject: accepted" "$(step DATA "$out")" '^DATA 250 '
qf=$(grep -l 'long-subject part 0' "$RUN"/queue/qf* 2>/dev/null | head -1)
subject=$(awk '/^H\?\?Subject:/ { on = 1; print; next } on && /^[ \t]/ { print; next } { on = 0 }' "$qf" 2>/dev/null)
like "... tagged [SPAM] in front" "$subject" 'Subject: \[SPAM\] long-subject part 0 '
like "... its last folded line and RFC 2047 words kept whole" "$subject" 'long-subject part 4 x{600}'
like "... the last encoded word too" "$subject" 'Gr=C3=BC=C3=9Fe_039\?='

out=$(send twelve-team text "HOSTMILTER-TWELVE-POINTS" -- team@example.org)
like "12 points to team alone: 550 5.7.1" "$(step DATA "$out")" '^DATA 550 5\.7\.1 '

# Virus per recipient: info rejects, office tags.  EICAR zipped: its member is text, no blocked
# type (clam.zip holds an executable, which the walk sees inside the archive and office blocks).
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.write(sys.argv[2], "eicar.com"); z.close()' \
	"$RUN/eicar.zip" "$RUN/eicar.com"
out=$(send virus-mixed attach "$RUN/eicar.zip" -- info@example.com office@example.org)
like "virus to info and office: accepted for office" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf virus-mixed)
is "... only office@example.org left" "$(queued_rcpts "$qf")" "<office@example.org> "
like "... marked X-Virus-Status Infected" "$(grep '^H??X-Virus-Status' "$qf")" 'Infected \(eicar\.com'
out=$(send virus-team attach /usr/share/clamav-testfiles/clam.zip -- team@example.org)
like "virus to team (quarantine policy): accepted" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf virus-team)
like "... held in sendmail's quarantine" "$(grep '^q' "$qf")" '^qclam\.exe'
like "... which mailq -qQ lists" "$(hm_sendmail -bp -qQ 2>&1)" 'clam\.exe'

# allow_senders of example.com: no spam scoring for @partner.example.
out=$(FROM=boss@partner.example send gtube-allowed gtube -- info@example.com)
like "GTUBE from an allowed sender: accepted" "$(step DATA "$out")" '^DATA 250 '
like "... marked skipped, without a spam score" "$(grep '^H??X-Spam' "$(hm_qf gtube-allowed)")" \
	'^H..X-Spam-Status: skipped \(no recipient.s policy asks for it\)$'

# Every test file of clamav-testfiles, attached, detected in-process.
missed=$(hm_testfiles_missed)
is "every clamav-testfiles sample detected by libclamav in-process" "$missed" ""
is "... and no spool file left behind" "$(ls -A "$RUN/spool")" ""
like "... one log line per verdict" "$(grep -c 'reject rule=virus' "$RUN/hostmilter.log")" '^[4-9][0-9]$'

done_testing
