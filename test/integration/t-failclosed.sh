#!/bin/bash
# t-failclosed - nothing slips through the scanners: what an engine or the
# attachment walk did not inspect is never "clean".  A limit of an engine or
# of the walk, or a container nothing here opens, will be met again by the
# next try: the recipient's "uninspectable" action answers (554 5.7.1 naming
# why, by default), never a 4xx retried for days.  A sender's copies of
# hostmilter's headers never reach the recipient.  Real sendmail, in-process libclamav, real clamd and spamd.
#
# Recipients (a copy of the sample export where only example.com blocks types):
#   info@example.com     blocks application/x-dosexec, virus reject
#   orders@shop.example  blocks no type, virus reject
# Ports: sendmail 2570 (MTA) and 2571 (MSA), clamd 3320, spamd 7840.
. "$(dirname "$0")/lib.sh"

hm_rundir failclosed
hm_sample_users
hm_cf_dir
jq '.defaults.blocked_types = [] | (.domains[] | select(.name == "example.com")).blocked_types = ["application/x-dosexec"]' \
	"$SAMPLE_EXPORT" >"$RUN/export.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export.json" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
hm_sendmail_config 2570 "$(hm_milter_mc 2571)"
check "spamd starts" hm_spamd_start 7840
# A clamd that follows mail nested deeper than the attachment walk does: the walk's own limits show.
HM_CLAMD_EXTRA="MaxRecursion 64" check "clamd starts (AlertExceedsMax yes, MaxRecursion 64)" hm_clamd_start 3320
hm_spool_dir
check "sendmail starts" hm_sendmail_start

step() { grep -E "^$1" <<<"$2" | head -1; }
send() { hm_send "$@"; }
# restart_milter SCANNER_LINES...: hostmilter again with these lines.
restart_milter() {
	hm_milter_stop
	hm_milter_conf "$(printf '%s\n' "$@")
ScanTimeout 60
SpoolDirectory $RUN/spool"
	hm_milter_start
}
cp /usr/share/clamav-testfiles/clam.exe "$RUN/changed.exe"
printf 'x' >>"$RUN/changed.exe"	# an executable no signature matches: only its true type shows

# ---- libclamav in process: its limits are the policy's, and what passes them is no "clean" ----
check "hostmilter starts with libclamav and spamd" restart_milter "Scanner clamav" "ClamAVDatabase $RUN/clamdb" \
	"Scanner spamd tcp:127.0.0.1:7840" "SpamMaxSize 8K"
# zip_behind N SIZE_MB NAME [FILE]: FILE (clam.exe) as the last entry of an archive, behind N entries of
# SIZE_MB megabytes of zeros.
zip_behind() {
	python3 - "$1" "$2" "$RUN/$3" "${4:-/usr/share/clamav-testfiles/clam.exe}" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[3], "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(int(sys.argv[1])):
        with z.open("zeros%d.bin" % i, "w") as f:
            for _ in range(int(sys.argv[2])):
                f.write(bytes(1 << 20))
    z.write(sys.argv[4], "clam.exe")
PY
}
zip_behind 5 90 behind450.zip
out=$(send zip-450 attach "$RUN/behind450.zip" -- orders@shop.example)
like "clam.exe behind 450 MB of zeros (past libclamav's default MaxScanSize, within the policy's 4 x 128M): 554" \
	"$(step DATA "$out")" '^DATA 554 5\.7\.1 '
zip_behind 6 100 behind600.zip
out=$(send zip-600 attach "$RUN/behind600.zip" -- orders@shop.example)
like "clam.exe behind 600 MB of zeros (past libclamav's MaxScanSize): found all the same, libarchive takes it out" \
	"$(step DATA "$out")" '^DATA 554 5\.7\.1 Virus found: clam\.exe'
zip_behind 6 100 changed600.zip "$RUN/changed.exe"
out=$(send zip-600-changed attach "$RUN/changed600.zip" -- orders@shop.example)
like "an unknown executable behind 600 MB of zeros (past MaxScanSize): 554 5.7.1 naming why, not clean" \
	"$(step DATA "$out")" '^DATA 554 5\.7\.1 .*inspected.*Heuristics\.Limits\.Exceeded\.MaxScanSize'
like "... libclamav's alert is the logged reason" "$(cat "$RUN/hostmilter.log")" \
	'reject rule=uninspectable .*Heuristics\.Limits\.Exceeded\.MaxScanSize'
out=$(send deep-20 deep 20 /usr/share/clamav-testfiles/clam.exe -- orders@shop.example)
like "clam.exe inside 20 nested multiparts (past libclamav's MaxRecursion): 554 5.7.1" \
	"$(step DATA "$out")" '^DATA 554 5\.7\.1 '
is "... and libclamav's node is not blamed for any of it" "$(grep -c 'scanner clamav' "$RUN/hostmilter.log")" "0"

out=$(send spam-skip big 20000 -- orders@shop.example)
like "a message over SpamMaxSize: delivered" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf spam-skip)
like "... X-Spam-Status says skipped, not No" "$(grep '^H??X-Spam-Status' "$qf")" \
	'X-Spam-Status: skipped \(spamd: larger than SpamMaxSize\)$'
is "... and carries no score" "$(grep -c '^H??X-Spam-Score' "$qf")" "0"

out=$(send forged forged-marks -- orders@shop.example)
like "a message with forged X-Spam-*/X-Virus-* headers: delivered" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf forged)
is "... one X-Spam-Status, hostmilter's" "$(grep -ci '^H??X-Spam-Status' "$qf") $(grep -i '^H??X-Spam-Status' "$qf" | grep -c 'No, score=-\?[0-9.]* required=5\.0')" "1 1"
is "... one X-Spam-Score, not the sender's -100.0" "$(grep -ci '^H??X-Spam-Score' "$qf") $(grep -c -- '-100\.0' "$qf")" "1 0"
is "... no X-Spam-Flag (not spam; the sender's NO removed)" "$(grep -ci '^H??X-Spam-Flag' "$qf")" "0"
is "... one X-Virus-Scanned, by clamav" "$(grep -ci '^H??X-Virus-Scanned' "$qf") $(grep -c 'forged by the sender' "$qf")" "1 0"
is "... one X-Virus-Status" "$(grep -ci '^H??X-Virus-Status' "$qf")" "1"
is "... headers hostmilter does not write are the sender's business (X-Spam-Level kept)" \
	"$(grep -c '^H??X-Spam-Level' "$qf")" "1"

# ---- the attachment walk (clamd scans; info@example.com blocks executables) ----
check "hostmilter starts with clamd" restart_milter "Scanner clamd tcp:127.0.0.1:3320"
out=$(send parts-under many 990 "$RUN/changed.exe" -- info@example.com)
like "an executable after 990 text parts: 550 5.7.1 by its true type" "$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
out=$(send parts-over many 1000 "$RUN/changed.exe" -- info@example.com)
like "an executable after 1000 text parts (past the walk's 1000): 554 5.7.1, not clean" \
	"$(step DATA "$out")" '^DATA 554 5\.7\.1 .*more than 1000 parts'
like "... logged with the reason" "$(cat "$RUN/hostmilter.log")" 'why="Message could not be inspected: more than 1000 parts"'
out=$(send parts-over-open many 1000 "$RUN/changed.exe" -- orders@shop.example)
like "... the same message to a recipient that blocks no type: delivered" "$(step DATA "$out")" '^DATA 250 '
out=$(send deep-40 deep 40 "$RUN/changed.exe" -- info@example.com)
like "an executable 40 multiparts deep (past the walk's 32): 554 5.7.1" "$(step DATA "$out")" '^DATA 554 5\.7\.1 '
like "... logged with the reason" "$(cat "$RUN/hostmilter.log")" 'why="Message could not be inspected: parts nested more than 32 deep"'
out=$(send fwd-b64 fwd-base64 "$RUN/changed.exe" -- info@example.com)
like "an executable in a forwarded message sent base64-encoded: 550 5.7.1" "$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
out=$(send uu uuencoded "$RUN/changed.exe" -- info@example.com)
like "an executable uuencoded in a text body: 550 5.7.1" "$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
out=$(send no-boundary no-boundary "$RUN/changed.exe" -- info@example.com)
like "an executable in a multipart without a boundary: found by the guessed reading, 550 5.7.1" \
	"$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
# winmail.dat holding an executable no signature matches.  No winmail.dat made by Outlook
# ships in a package here; ClamAV's clam.tnef is hand-made with attribute checksums
# libytnef rejects, so a copy with them recomputed stands for a good one.
tnef_file() {	# tnef_file OUT FIX_CHECKSUMS
	python3 - "$RUN/$1" "$2" <<'PY'
import struct, sys
d = bytearray(open("/usr/share/clamav-testfiles/clam.tnef", "rb").read())
d[d.index(b"MZ") + 0x1f0] ^= 0xff
i = 6   # signature and key; then level, id, length, data, checksum
while sys.argv[2] == "1" and i + 9 <= len(d):
    n = struct.unpack_from("<I", d, i + 5)[0]
    if i + 9 + n + 2 > len(d):
        break
    struct.pack_into("<H", d, i + 9 + n, sum(d[i + 9:i + 9 + n]) & 0xffff)
    i += 9 + n + 2
open(sys.argv[1], "wb").write(d)
PY
}
tnef_file changed.tnef 1
tnef_file broken.tnef 0
out=$(send tnef attach "$RUN/changed.tnef" winmail.dat application/ms-tnef -- info@example.com)
like "TNEF (winmail.dat) opened with libytnef: its executable refused by type, 550 5.7.1" \
	"$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
out=$(send tnef-broken attach "$RUN/broken.tnef" winmail.dat application/ms-tnef -- info@example.com)
like "TNEF that libytnef cannot read: 554 5.7.1, not clean" "$(step DATA "$out")" '^DATA 554 5\.7\.1 '
like "... logged with the reason" "$(cat "$RUN/hostmilter.log")" \
	'why="Message could not be inspected: TNEF \(winmail\.dat\) that libytnef cannot read"'
# clam.exe in BinHex, one character changed: no signature matches; the walk decodes BinHex (its data fork).
python3 - "$RUN/changed.hqx" <<'PY'
import sys
d = bytearray(open("/usr/share/clamav-testfiles/clam.exe.binhex", "rb").read())
i = d.index(b":") + 300
d[i] = ord("A") if d[i] != ord("A") else ord("B")
open(sys.argv[1], "wb").write(d)
PY
out=$(send binhex attach "$RUN/changed.hqx" setup.hqx application/mac-binhex40 -- info@example.com)
like "BinHex decoded by the walk: its executable refused by type, 550 5.7.1" "$(step DATA "$out")" \
	'^DATA 550 5\.7\.1 .*x-dosexec'
out=$(send tnef-open attach "$RUN/broken.tnef" winmail.dat application/ms-tnef -- orders@shop.example)
like "... to a recipient that blocks no type: delivered" "$(step DATA "$out")" '^DATA 250 '

# What only a lenient reader decodes is what Thunderbird shows: each is read as it does (issue 23).
mkdir -p "$RUN/lenient"
python3 "$HM_SRC/test/integration/make-lenient.py" "$RUN/changed.exe" "$RUN/lenient"
# ctype1-3: conflicting Content-Type headers (issue 22): each reading is walked.
for kind in pad uu xuu yenc cte cte2 ctype1 ctype2 ctype3; do
	out=$(hm_probe --source 127.0.0.5 --to info@example.com --message "$RUN/lenient/$kind.eml")
	like "an executable only a lenient reader decodes ($kind): 550 5.7.1 by its true type" \
		"$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
done

# Containers libclamav does not open, opened with libarchive and poppler (issue 23).
mkdir -p "$RUN/containers"
python3 "$HM_SRC/test/integration/make-containers.py" "$RUN/changed.exe" "$RUN/containers"
for kind in zip-lzma zip-ppmd zip-xz 7z-bzip2 7z-deflate zstd lzma pdf-predictor pdf-attach; do
	out=$(hm_probe --source 127.0.0.5 --to info@example.com --message "$RUN/containers/$kind.eml")
	like "an executable in $kind: 550 5.7.1 by its true type" "$(step DATA "$out")" '^DATA 550 5\.7\.1 .*x-dosexec'
done
out=$(hm_probe --source 127.0.0.5 --to info@example.com --message "$RUN/containers/zip-encrypted.eml")
like "a password-protected zip: delivered under the default encrypted: accept" "$(step DATA "$out")" '^DATA 250 '
qf=$(grep -l 'container-zip-encrypted' "$RUN"/queue/qf* 2>/dev/null | head -1)
like "... marked X-Virus-Status: Unscanned (encrypted)" "$(grep '^H??X-Virus-Status' "$qf" 2>/dev/null)" \
	'X-Virus-Status: Unscanned \(encrypted\)$'

# ---- libclamav is given what the walk decodes (issue 23) ----
# EICAR where only a lenient reader or libarchive takes it out: libclamav's own decoders
# miss each of these, so before the walk fed libclamav they reached a recipient who blocks
# no type as clean.  Each has its legit twin, the same shape around a harmless document,
# delivered unchanged.
check "hostmilter starts with libclamav alone" restart_milter "Scanner clamav" "ClamAVDatabase $RUN/clamdb"
doc=$(ls /usr/share/doc/*/*.pdf 2>/dev/null | head -1)
doc=${doc:-/usr/share/common-licenses/GPL-3}
mkdir -p "$RUN/eicar" "$RUN/twin"
python3 "$HM_SRC/test/integration/make-lenient.py" "$RUN/eicar.com" "$RUN/eicar"
python3 "$HM_SRC/test/integration/make-containers.py" "$RUN/eicar.com" "$RUN/eicar"
python3 "$HM_SRC/test/integration/make-lenient.py" "$doc" "$RUN/twin"
python3 "$HM_SRC/test/integration/make-containers.py" "$doc" "$RUN/twin"
LC_ALL=C sed -i 's/^Subject: /Subject: twin-/' "$RUN"/twin/*.eml	# found by its own subject in the queue
# body_sent MESSAGE SUBJECT: whether the queued df of SUBJECT holds MESSAGE's body byte for byte.
body_sent() {
	local qf
	qf=$(hm_qf "$2")
	[ -n "$qf" ] && python3 - "$1" "${qf%/*}/d${qf##*/?}" <<'PY'
import sys
sent = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")
sys.exit(0 if open(sys.argv[2], "rb").read() == sent else 1)
PY
}
# pad: base64 padded after its first byte; uu, xuu: uuencoded with a lone backtick line; yenc;
# zip-ppmd, 7z-bzip2, 7z-deflate: archive members libclamav cannot unpack; zstd, lzma: a file
# compressed alone; pdf-predictor, pdf-attach: a PDF's embedded file, taken out by poppler.
for kind in pad uu xuu yenc zip-ppmd 7z-bzip2 7z-deflate zstd lzma pdf-predictor pdf-attach; do
	subject=$(sed -n 's/^Subject: //p' "$RUN/twin/$kind.eml" | tr -d '\r')
	out=$(hm_probe --source 127.0.0.5 --to orders@shop.example --message "$RUN/eicar/$kind.eml")
	like "EICAR only the walk decodes ($kind), to a recipient who blocks no type: 554 5.7.1 virus" \
		"$(step DATA "$out")" '^DATA 554 5\.7\.1 Virus found: eicar\.com'
	out=$(hm_probe --source 127.0.0.5 --to orders@shop.example --message "$RUN/twin/$kind.eml")
	like "... its twin, a harmless document the same way: delivered" "$(step DATA "$out")" '^DATA 250 '
	like "... clean" "$(grep '^H??X-Virus-Status' "$(hm_qf "$subject")")" 'X-Virus-Status: Clean$'
	check "... its body byte for byte as sent" body_sent "$RUN/twin/$kind.eml" "$subject"
done
# Conflicting Content-Type headers around a harmless document, to the recipient who blocks executables.
for kind in ctype1 ctype2 ctype3; do
	subject=$(sed -n 's/^Subject: //p' "$RUN/twin/$kind.eml" | tr -d '\r')
	out=$(hm_probe --source 127.0.0.5 --to info@example.com --message "$RUN/twin/$kind.eml")
	like "a PDF under conflicting Content-Type headers ($kind), to a recipient who blocks executables: delivered" \
		"$(step DATA "$out")" '^DATA 250 '
	check "... its body byte for byte as sent" body_sent "$RUN/twin/$kind.eml" "$subject"
done
like "the virus is logged by name" "$(cat "$RUN/hostmilter.log")" 'reject rule=virus .*to=<orders@shop\.example> virus="eicar\.com'

is "no spool file left behind" "$(ls -A "$RUN/spool")" ""
done_testing
