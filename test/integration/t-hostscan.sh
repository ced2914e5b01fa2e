#!/bin/bash
# t-hostscan - hostscan's verdicts and exit codes with real libclamav and a
# real spamd, its --filter output, and hostmilter -n on broken scanners.
. "$(dirname "$0")/lib.sh"

HOSTSCAN=${HOSTSCAN:-$HM_BUILD/scan/hostscan}
hm_rundir hostscan
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
check "spamd starts" hm_spamd_start 7833
cat >"$RUN/scan.conf" <<CONF
PolicyDB $RUN/maps/hostmilter.db
Scanner clamav
ClamAVDatabase $RUN/clamdb
Scanner spamd tcp:127.0.0.1:7833
SpoolDirectory $RUN
CONF
# one_line COMMAND...: its output and exit status on one line ("... exit=N").
one_line() { local out rc; out=$("$@" 2>&1); rc=$?; printf '%s exit=%d\n' "$(tr '\r\n' '  ' <<<"$out")" "$rc"; }
scan() { local m=$1; shift; one_line "$HOSTSCAN" -c "$RUN/scan.conf" "$@" <"$m"; }
cp /usr/share/clamav-testfiles/clam.exe "$RUN/changed.exe"
printf 'x' >>"$RUN/changed.exe"

like "clean message: exit 0" "$(scan "$(hm_message clean)")" '^clean: score=.*exit=0$'
like "clam.zip attached: exit 2 with the virus name" "$(scan "$(hm_message attach /usr/share/clamav-testfiles/clam.zip)")" \
	'^virus: clam\.exe\.UNOFFICIAL.*exit=2$'
like "executable named invoice.pdf: exit 3" \
	"$(scan "$(hm_message attach "$RUN/changed.exe" invoice.pdf application/pdf)")" '^blocked: application/x-dosexec.*exit=3$'
like "GTUBE: exit 1 with spamd's score and rules" "$(scan "$(hm_message gtube)")" '^spam: score=[0-9.]+ required=5\.0 tests=.*GTUBE.*exit=1$'
out=$("$HOSTSCAN" -c "$RUN/scan.conf" --filter <"$(HM_SUBJECT=hello hm_message gtube)"; echo "exit=$?")
like "--filter: X-Spam-Flag YES" "$out" 'X-Spam-Flag: YES'
like "--filter: subject tagged" "$out" 'Subject: \[SPAM\] hello'
like "--filter: X-Virus-Scanned by clamav" "$out" 'X-Virus-Scanned: clamav by hostmilter'
like "--filter: the body intact, exit 0 (a filter's non-zero status makes procmail deliver the original)" \
	"$(tail -n 2 <<<"$out" | tr '\r\n' '  ')" 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL.*exit=0'
# A Subject line longer than hostscan reads at once: tagged all the same, and whole.
long=$(printf 'y%.0s' $(seq 1 3000))
out=$(printf 'From: a@client.example\r\nSubject: long %s tail\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n' \
	"$long" | "$HOSTSCAN" -c "$RUN/scan.conf" --filter)
like "--filter: a 3 KB Subject line tagged, nothing of it lost" "$(grep '^Subject:' <<<"$out" | tr -d '\r')" \
	"^Subject: \\[SPAM\\] long y{3000} tail\$"
cat >"$RUN/dead.conf" <<CONF
PolicyDB $RUN/maps/hostmilter.db
Scanner clamd tcp:127.0.0.1:3399
ScanTimeout 3
CONF
like "every clamd node down: exit 75" "$(one_line "$HOSTSCAN" -c "$RUN/dead.conf" <"$(hm_message clean)")" \
	'tempfail: clamd: connect .*exit=75$'
printf 'Scanner avast tcp:1:2\n' >"$RUN/bad.conf"
like "a bad Scanner line: exit 78 with file and line" "$(one_line "$HOSTSCAN" -c "$RUN/bad.conf" </dev/null)" \
	'bad\.conf:1: Scanner.*exit=78$'

# -r ADDRESS: that recipient's rules, key by key (test/data/precedence-export.json: set.example blocks
# zip and tags at 3; its mailbox m-types blocks nothing; m-all does not scan for spam).
mkdir "$RUN/prec"
"$HOSTMAPGEN" -q -o "$RUN/prec" "$HM_SRC/test/data/precedence-export.json" 2>/dev/null
sed "s#^PolicyDB .*#PolicyDB $RUN/prec/hostmilter.db#" "$RUN/scan.conf" >"$RUN/prec.conf"
python3 -c 'import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],"w"); z.writestr("a.txt","hello\n"*50); z.close()' \
	"$RUN/clean.zip"
zip_msg=$(hm_message attach "$RUN/clean.zip" files.zip application/zip)
six=$(hm_message text HOSTMILTER-SIX-POINTS)
rscan() { local m=$1; shift; one_line "$HOSTSCAN" -c "$RUN/prec.conf" "$@" <"$m"; }
like "-r a@set.example: its domain blocks zip, exit 3" "$(rscan "$zip_msg" -r a@set.example)" '^blocked: application/zip.*exit=3$'
like "-r e@set.example: its mailbox blocks nothing, exit 0" "$(rscan "$zip_msg" -r e@set.example)" '^clean.*exit=0$'
like "without -r: the defaults (x-dosexec only), exit 0" "$(rscan "$zip_msg")" '^clean.*exit=0$'
like "-r a@set.example: 6 points are spam at its tag score 3, exit 1" "$(rscan "$six" -r a@set.example)" '^spam: .*exit=1$'
like "-r b@set.example: its mailbox scans no spam, exit 0" "$(rscan "$six" -r b@set.example)" '^clean.*exit=0$'
out=$("$HOSTSCAN" -c "$RUN/prec.conf" -r a@set.example --filter <"$(HM_SUBJECT=six hm_message text HOSTMILTER-SIX-POINTS)")
like "-r a@set.example --filter: the domain's subject tag" "$out" 'Subject: \[D\] six'
sed "s#^PolicyDB .*#PolicyDB $RUN/no-such.db#" "$RUN/scan.conf" >"$RUN/nodb.conf"
like "-r with an unreadable PolicyDB: exit 75, not the defaults" \
	"$(one_line "$HOSTSCAN" -c "$RUN/nodb.conf" -r a@set.example <"$zip_msg")" 'policy of a@set\.example is unknown.*exit=75$'
like "-r with no plain address: exit 64" "$(one_line "$HOSTSCAN" -c "$RUN/prec.conf" -r 'a%b@set.example' </dev/null)" \
	'not a plain mail address.*exit=64$'

hm_milter_user
mkdir -p "$RUN/empty"
printf 'PolicyDB %s\nScanner clamav\nClamAVDatabase %s\n' "$RUN/maps/hostmilter.db" "$RUN/empty" >"$RUN/nosigs.conf"
like "hostmilter -n: a ClamAV database without signatures is refused (78)" \
	"$(one_line "$HOSTMILTER" -n -c "$RUN/nosigs.conf")" 'ClamAV database .*empty.*exit=78$'
done_testing
