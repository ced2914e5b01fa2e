#!/bin/bash
# t-procmail - hostscan as a user's filter in the real procmail, the way
# hostscan(1) documents it: hostmilter's scan service on a unix socket, the
# milter's spool 0700 as in the Debian package, procmail run by an
# ordinary user with `procmail -m RCFILE < message`.  A message is
# delivered marked, or not at all (75): never the unfiltered original.
# No port: unix sockets only.
. "$(dirname "$0")/lib.sh"

HOSTSCAN=${HOSTSCAN:-$HM_BUILD/scan/hostscan}
LDA_USER=hmlda
hm_rundir procmail
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
HOME_DIR=$RUN/home
id "$LDA_USER" >/dev/null 2>&1 || useradd -M -N -s /bin/sh "$LDA_USER"
usermod -d "$HOME_DIR" "$LDA_USER"	# procmail goes to the home of the password file
mkdir -p "$HOME_DIR/tmp" "$RUN/run" "$RUN/spool"
chown -R "$LDA_USER" "$HOME_DIR"
chmod 700 "$HOME_DIR"
chmod 755 "$RUN/run"	# root's, as /run/hostmilter
chown hostmilter "$RUN/spool" 2>/dev/null || { hm_milter_user; chown hostmilter "$RUN/spool"; }
chmod 700 "$RUN/spool"	# as /var/spool/hostmilter: nobody else may read it
SERVICE_LINES="Scanner clamav
ClamAVDatabase $RUN/clamdb
SpoolDirectory $RUN/spool
ScanService unix:$RUN/run/scan.sock
ScanServiceClients 1
ScanTimeout 5
ScanMaxSize 1M"
hm_milter_conf "$SERVICE_LINES"
chmod 644 "$RUN/hostmilter.conf"
# wait_for TEST...: until the test holds, 10 s at most.
wait_for() {
	local i
	for i in $(seq 1 200); do "$@" && return 0; sleep 0.05; done
	return 1
}
start() { hm_milter_start && wait_for test -S "$RUN/run/scan.sock"; }
check "hostmilter starts with its scan service" start
like "... the service's socket is open to every local user" "$(stat -c %a "$RUN/run/scan.sock")" '^666$'

# The recipe of hostscan(1): a failure tempfails the delivery instead of delivering the original,
# and hostmilter's marks file viruses and spam.
cat >"$HOME_DIR/procmailrc" <<RC
SHELL=/bin/sh
MAILDIR=$HOME_DIR
LOGFILE=$HOME_DIR/procmail.log
:0 fw
| $HOSTSCAN -c $RUN/hostmilter.conf --filter

:0 e
{
	EXITCODE=75
	HOST
}

:0:
* ^X-Virus-Status: (Infected|Blocked)
virus

:0:
* ^X-Spam-Flag: YES
spam

:0:
$HOME_DIR/mbox
RC
# procmail's old-fashioned recipe, for comparison: the filter alone.
sed '/^:0 e$/,/^}$/d' "$HOME_DIR/procmailrc" >"$HOME_DIR/procmailrc.plain"
chown "$LDA_USER" "$HOME_DIR"/procmailrc*
chmod 600 "$HOME_DIR"/procmailrc*
# deliver RCFILE MESSAGE: procmail as the user, into empty folders; prints its exit status.
deliver() {
	rm -f "$HOME_DIR/mbox" "$HOME_DIR/virus" "$HOME_DIR/spam"
	setpriv --reuid="$LDA_USER" --regid="$(id -g "$LDA_USER")" --init-groups \
		env -i HOME="$HOME_DIR" TMPDIR="$HOME_DIR/tmp" PATH=/usr/bin:/bin procmail -m "$1" <"$2"
	echo $?
}
# What the last delivery put in the mbox (procmail -m writes no From_ line: one message at most).
mails() { cat "$HOME_DIR/mbox" "$HOME_DIR/virus" "$HOME_DIR/spam" 2>/dev/null | grep -c '^Message-ID: '; }
last_mail() { cat "$HOME_DIR/mbox" "$HOME_DIR/virus" "$HOME_DIR/spam" 2>/dev/null; }
folder() { local f; for f in mbox virus spam; do [ -s "$HOME_DIR/$f" ] && echo "$f"; done; }
rescues() { if [ -f "$HOME_DIR/procmail.log" ]; then grep -c 'Rescue of unfiltered data' "$HOME_DIR/procmail.log"; else echo 0; fi; }

msg=$(HM_SUBJECT=clean-50k hm_message big 51200)
is "a clean 50 KB message: procmail exits 0" "$(deliver "$HOME_DIR/procmailrc" "$msg")" "0"
is "... delivered once, to the inbox" "$(mails) $(folder)" "1 mbox"
like "... marked by hostmilter's libclamav" "$(last_mail)" 'X-Virus-Scanned: clamav by hostmilter'
like "... clean" "$(last_mail)" 'X-Virus-Status: Clean'
is "... no rescue of unfiltered data" "$(rescues)" "0"
is "... nothing left in the user's TMPDIR" "$(ls -A "$HOME_DIR/tmp")" ""

msg=$(HM_SUBJECT=forged hm_message forged-marks)
is "forged X-Virus-* headers: delivered" "$(deliver "$HOME_DIR/procmailrc" "$msg")" "0"
is "... with one X-Virus-Scanned and one X-Virus-Status, hostmilter's" \
	"$(last_mail | grep -ci '^X-Virus-') $(last_mail | grep -c 'forged by the sender')" "2 0"

printf '%s' "$EICAR" >"$RUN/eicar.txt"
msg=$(HM_SUBJECT=eicar hm_message attach "$RUN/eicar.txt")
is "EICAR: still delivered (exit 0), for the user's recipes to file" "$(deliver "$HOME_DIR/procmailrc" "$msg")" "0"
like "... marked Infected" "$(last_mail)" 'X-Virus-Status: Infected \(eicar\.com'
is "... and filed by the recipe" "$(folder)" "virus"
cp /usr/share/clamav-testfiles/clam.exe "$RUN/changed.exe"
printf 'x' >>"$RUN/changed.exe"
msg=$(HM_SUBJECT=exe hm_message attach "$RUN/changed.exe" invoice.pdf application/pdf)
is "an executable the default policy blocks: delivered (exit 0)" "$(deliver "$HOME_DIR/procmailrc" "$msg")" "0"
like "... marked Blocked with its true type" "$(last_mail)" 'X-Virus-Status: Blocked \(application/x-dosexec\)'
is "... and filed by the recipe" "$(folder)" "virus"

# Without the service, hostscan runs libclamav itself: as the user, in the user's TMPDIR, not the 0700 spool.
grep -v '^ScanService' "$RUN/hostmilter.conf" >"$RUN/inprocess.conf"
chmod 644 "$RUN/inprocess.conf"
out=$(setpriv --reuid="$LDA_USER" --regid="$(id -g "$LDA_USER")" --init-groups env -i TMPDIR="$HOME_DIR/tmp" \
	"$HOSTSCAN" -c "$RUN/inprocess.conf" --filter <"$(HM_SUBJECT=inprocess hm_message clean)" 2>&1; echo "exit=$?")
like "hostscan with its own engines, as the user, the milter's spool 0700: marked, exit 0" "$(tr '\r\n' '  ' <<<"$out")" \
	'X-Virus-Status: Clean.*exit=0 ?$'
is "... nothing left in the user's TMPDIR" "$(ls -A "$HOME_DIR/tmp")" ""

# Past the service's limits: not delivered, not unfiltered either.
msg=$(HM_SUBJECT=too-big hm_message big 1500000)
is "a message larger than ScanMaxSize (1M): procmail exits 75" "$(deliver "$HOME_DIR/procmailrc" "$msg")" "75"
is "... nothing delivered" "$(mails)" "0"
like "... the reason in procmail's log" "$(cat "$HOME_DIR/procmail.log")" 'larger than the largest this service scans'
# One worker, held by a client that never sends: the next request waits its turn, then is served.
python3 - "$RUN/run/scan.sock" "$RUN/hog.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
open(sys.argv[2] + ".connected", "w").close()
s.settimeout(30)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
open(sys.argv[2], "wb").write(data)
PY
hog=$!
wait_for test -e "$RUN/hog.out.connected"
msg=$(HM_SUBJECT=after-hog hm_message clean)
is "a request behind a client that holds the only worker: served once that one times out (exit 0)" \
	"$(deliver "$HOME_DIR/procmailrc" "$msg")" "0"
wait "$hog"
like "... and the silent client got an error, not a verdict" "$(cat "$RUN/hog.out")" '^HOSTSCAN/1 error '

hm_milter_stop
rescued=$(rescues)
msg=$(HM_SUBJECT=down hm_message clean)
is "the scan service down: procmail exits 75 (Sendmail keeps the message queued)" \
	"$(deliver "$HOME_DIR/procmailrc" "$msg")" "75"
is "... nothing delivered" "$(mails)" "0"
is "... procmail's log shows the failed filter" "$(rescues)" "$((rescued + 1))"
like "... and hostscan's reason" "$(tail -n 5 "$HOME_DIR/procmail.log")" 'hostscan: (warning: )?not filtered: .*connect unix:.*scan\.sock'

is "without the recipe's 'e' rule, procmail would deliver the unfiltered original" \
	"$(deliver "$HOME_DIR/procmailrc.plain" "$msg") $(mails)" "0 1"
unlike() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then not_ok "$1"; else ok "$1"; fi; }
unlike "... unmarked" "$(last_mail)" 'X-Virus-'

# A socket directory others may change: hostmilter refuses to start (a name there could be replaced).
mkdir -p "$RUN/open"
chmod 777 "$RUN/open"
hm_milter_conf "${SERVICE_LINES/$RUN\/run\/scan.sock/$RUN/open/scan.sock}"
out=$("$HOSTMILTER" -f -c "$RUN/hostmilter.conf" 2>&1)
is "ScanService in a world-writable directory: refused (78)" "$?" "78"
like "... saying why" "$out" 'ScanService: directory .*/open may be changed by others than root and hostmilter'
out=$("$HOSTMILTER" -n -c "$RUN/hostmilter.conf" 2>&1)
is "... and hostmilter -n says so too (78)" "$?" "78"
done_testing
