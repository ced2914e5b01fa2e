#!/bin/bash
# t-precedence - each recipient gets its own policy, key by key: its
# mailbox's setting, else its domain's, else the defaults (test/data/
# precedence-export.json), through a real sendmail with libclamav, spamd
# and libmagic; and a refused recipient is removed from the message by the
# exact address Sendmail gave, however long or 8-bit.
#
#   plain.example sets nothing; set.example sets 64M, virus quarantine,
#   spam tag 3 / reject 10 / subject "[D]", blocked application/zip.
#   m-plain sets nothing, m-all everything (20M, tag, no spam scan, pdf),
#   m-spam only spam.tag_score 2, m-size 10M, m-types [], m-virus discard.
. "$(dirname "$0")/lib.sh"

EXPORT=$HM_SRC/test/data/precedence-export.json
hm_rundir precedence
hm_users m-plain m-all m-spam m-size m-types m-virus
hm_cf_dir
SPAMD_PORT=7841
"$HOSTMAPGEN" -q -o "$RUN/maps" "$EXPORT" 2>/dev/null || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
hm_sendmail_config 2581 "$(hm_milter_mc 2582)"
check "spamd starts" hm_spamd_start $SPAMD_PORT
hm_milter_conf "Scanner clamav
ClamAVDatabase $RUN/clamdb
Scanner spamd tcp:127.0.0.1:$SPAMD_PORT
ScanTimeout 60
SpoolDirectory $RUN/spool"
hm_spool_dir
check "hostmilter starts" hm_milter_start
check "sendmail starts" hm_sendmail_start

step() { grep -E "^$1" <<<"$2" | head -1; }
queued_rcpts() { grep -E '^R' "$1" | sed 's/.*://' | sort | tr '\n' ' '; }
# rcpt_reply SIZE ADDRESS: the reply to RCPT after MAIL ... SIZE=SIZE.
rcpt_reply() { hm_probe --source 127.0.0.5 --size "$1" --to "$2" --quit-after rcpt | grep '^RCPT' | cut -d' ' -f3,4; }

# ---- max_message_size: SIZE= against each recipient's own limit ----
M=1048576
is "30M to a@plain (defaults 100M): accepted" "$(rcpt_reply $((30 * M)) a@plain.example)" "250 2.1.5"
is "30M to b@plain (mailbox 20M): 552 5.3.4" "$(rcpt_reply $((30 * M)) b@plain.example)" "552 5.3.4"
is "30M to a@set (domain 64M): accepted" "$(rcpt_reply $((30 * M)) a@set.example)" "250 2.1.5"
is "30M to d@set (mailbox 10M over the domain's 64M): 552" "$(rcpt_reply $((30 * M)) d@set.example)" "552 5.3.4"
is "70M to c@set (mailbox sets only spam; domain 64M): 552" "$(rcpt_reply $((70 * M)) c@set.example)" "552 5.3.4"
is "70M to c@plain (mailbox sets only spam; defaults 100M): accepted" \
	"$(rcpt_reply $((70 * M)) c@plain.example)" "250 2.1.5"
is "70M to the alias domain set.example.net: 552" "$(rcpt_reply $((70 * M)) a@set.example.net)" "552 5.3.4"

# ---- virus: defaults reject, domain quarantine, mailbox tag or discard ----
printf '%s' "$EICAR" >"$RUN/eicar.txt"
out=$(hm_send virus-levels attach "$RUN/eicar.txt" notes.txt text/plain -- \
	a@plain.example b@plain.example c@set.example f@set.example)
like "EICAR to four recipients of four virus policies: accepted" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf virus-levels)
is "... a@plain (reject) and f@set (discard) removed; b@plain (tag) and c@set kept" \
	"$(queued_rcpts "$qf")" "<b@plain.example> <c@set.example> "
like "... held in quarantine: c@set's mailbox sets only spam, its domain's quarantine applies" \
	"$(grep '^q' "$qf")" '^q'
like "... marked infected" "$(grep '^H??X-Virus-Status' "$qf")" 'Infected'
out=$(hm_send virus-plain attach "$RUN/eicar.txt" notes.txt text/plain -- a@plain.example c@plain.example)
like "EICAR to plain.example's a and c (defaults: reject): 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 '

# ---- blocked_types: defaults x-dosexec, domain zip, m-all pdf, m-types none ----
# (Recipients of one message reach different mailboxes: Sendmail delivers a
# message once per mailbox, so removing one address removes that delivery.)
python3 -c 'import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],"w"); z.writestr("a.txt","hello\n"*50); z.close()' \
	"$RUN/clean.zip"
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' >"$RUN/doc.pdf"
cp /usr/share/clamav-testfiles/clam.exe "$RUN/changed.exe"
printf 'x' >>"$RUN/changed.exe"	# no signature matches; libmagic still sees a PE file
out=$(hm_send zip-levels attach "$RUN/clean.zip" files.zip application/zip -- \
	a@plain.example d@set.example e@set.example b@set.example)
like "a zip to four recipients: accepted" "$(step DATA "$out")" '^DATA 250 '
is "... d@set (the domain blocks zip) removed; a@plain (defaults), e@set (mailbox: none), b@set (pdf) kept" \
	"$(queued_rcpts "$(hm_qf zip-levels)")" "<a@plain.example> <b@set.example> <e@set.example> "
out=$(hm_send exe-levels attach "$RUN/changed.exe" setup.txt text/plain -- a@plain.example e@set.example b@plain.example)
like "an executable to three recipients: accepted" "$(step DATA "$out")" '^DATA 250 '
is "... a@plain (defaults block x-dosexec) removed; e@set and b@plain kept" \
	"$(queued_rcpts "$(hm_qf exe-levels)")" "<b@plain.example> <e@set.example> "
out=$(hm_send pdf-mall attach "$RUN/doc.pdf" doc.pdf application/pdf -- b@plain.example)
like "a PDF to b@plain (the mailbox blocks pdf): 550 5.7.1" "$(step DATA "$out")" '^DATA 550 5\.7\.1 .*pdf'

# ---- spam: defaults tag 5 / reject 15; domain tag 3 / reject 10 / [D]; m-spam tag 2; m-all no scan ----
out=$(hm_send twelve-levels text "HOSTMILTER-TWELVE-POINTS" -- \
	a@plain.example d@set.example c@set.example b@plain.example)
like "12 points to four recipients: accepted" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf '\[SPAM\] twelve-levels')
is "... d@set (domain reject 10) and c@set (its tag, the domain's reject) removed" \
	"$(queued_rcpts "$qf")" "<a@plain.example> <b@plain.example> "
out=$(hm_send six-set text "HOSTMILTER-SIX-POINTS" -- a@set.example)
like "6 points to a@set (domain tag 3): accepted" "$(step DATA "$out")" '^DATA 250 '
like "... with the domain's subject tag" "$(grep '^H??Subject' "$(hm_qf '\[D\] six-set')")" 'Subject: \[D\] six-set$'
out=$(hm_send six-all text "HOSTMILTER-SIX-POINTS" -- b@set.example)
like "6 points to b@set (m-all: no spam scan): accepted" "$(step DATA "$out")" '^DATA 250 '
is "... not tagged" "$(grep -c '^H??X-Spam-Flag' "$(hm_qf six-all)")" "0"

# ---- removal by the exact address: long and 8-bit local parts (plain.example's catch-all: reject) ----
long=$(printf 'l%.0s' $(seq 1 250))
out=$(hm_send long-rcpt attach "$RUN/eicar.txt" notes.txt text/plain -- "$long@plain.example" b@plain.example)
like "EICAR to a 250-character address (reject) and b@plain (tag): accepted" "$(step DATA "$out")" '^DATA 250 '
is "... the long address removed" "$(queued_rcpts "$(hm_qf long-rcpt)")" "<b@plain.example> "
out=$(hm_send eight-bit attach "$RUN/eicar.txt" notes.txt text/plain -- "hex:$(printf 'm\xfcller@plain.example' | xxd -p)" \
	b@plain.example)
like "EICAR to an 8-bit address (reject) and b@plain (tag): accepted" "$(step DATA "$out")" '^DATA 250 '
is "... the 8-bit address removed" "$(queued_rcpts "$(hm_qf eight-bit)")" "<b@plain.example> "

done_testing
