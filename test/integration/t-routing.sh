#!/bin/bash
# t-routing - a gateway relays by the routes hostmapgen writes, through
# three real sendmails on loopback:
#
#   gateway  127.0.0.1:2591  hostmilter, mailertable, access (TLS_Rcpt,
#                            Srv_Features), hostmilter-mailers.m4; queueonly,
#                            its queue run by the test (-q, -qR, ETRN)
#   hive     127.0.0.2:2592  (and :2594, :2595 for routes on new ports)
#   member   127.0.0.3:2593  STARTTLS with a certificate of the test CA
#                            (and :2592 once a route moves there)
#
# Both receivers are queueonly, so what arrives stays in their queue; the
# daemon name is in their Received: header, so a queue file shows the port
# it came in on.  Routes name IP literals: no DNS, no hosts file.  Every
# sendmail logs into $RUN/maillog through syslog-catcher.py, bound over
# /dev/log in a mount namespace of its own (see t-stats.sh); the log is
# shown only when a test fails.
#
# Ports 2591-2595; addresses 127.0.0.1-3 and 127.0.0.5 (the outside
# client) and 127.0.0.9 (a client not allowed to ETRN).
. "$(dirname "$0")/lib.sh"

EXPORT=$HM_SRC/test/data/routing-export.json
GW_PORT=2591 HIVE_PORT=2592 MEMBER_PORT=2593 NEW_PORT=2594 LATER_PORT=2595
T0=$SECONDS
hm_rundir routing
hm_cf_dir
SM_PORT=$GW_PORT

# ---- the gateway example's sendmail.mc (sample-etc-mail/gateway) builds as its README says ----
if [ -r /etc/mail/tls/starttls.m4 ]; then
	cf=$(m4 -D_CF_DIR_="$HM_CF_DIR/" "$HM_SRC/sample-etc-mail/gateway/sendmail.mc" 2>"$RUN/m4.err")
	is "the gateway example's sendmail.mc builds with m4" "$(grep -c ERROR "$RUN/m4.err")" 0
	like "... trusts the route CAs: its confCACERT comes after Debian's starttls.m4" "$cf" \
		'^O CACertFile=/etc/mail/tls/route-cas\.pem$'
	like "... compares the route's name with subjectAltNames" "$cf" '^O SetCertAltnames=true$'
	like "... reads mailertable" "$cf" '^Kmailertable hash -o /etc/mail/mailertable$'
	like "... and hostmilter, with F=T" "$cf" '^Xhostmilter, S=unix:/run/hostmilter/hostmilter\.sock, F=T,'
else
	ok "the gateway example's sendmail.mc # SKIP no /etc/mail/tls/starttls.m4 (Debian's sendmail TLS setup)"
fi

# ---- logging: a syslog stand-in that every sendmail of this test writes to ----
hm_bg python3 "$HM_SRC/test/integration/syslog-catcher.py" "$RUN/syslog.sock" "$RUN/maillog"
hm_wait 5 test -S "$RUN/syslog.sock" || { not_ok "syslog-catcher starts"; done_testing; exit 1; }
# rt_sm CF ARGS...: sendmail -C CF ARGS, logging into $RUN/maillog: in a mount
# namespace whose /dev is a tmpfs of its own with the few devices Sendmail
# opens and, as /dev/log, the catcher's socket.  The host's /dev is untouched.
cat >"$RUN/sm" <<SH
#!/bin/sh
exec unshare --mount --propagation private sh -c '
	mount -t tmpfs -o mode=755,size=64k hm-routing-dev /dev &&
	mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
	mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 &&
	: >/dev/log && mount --bind "\$0" /dev/log && exec /usr/sbin/sendmail "\$@"' "$RUN/syslog.sock" -C "\$@"
SH
# sm-start CF PIDFILE ADDR PORT: a daemon, up once its pid file names a
# live process and its port answers (the port opens before the pid file is
# written: a stop right after the port answered would find no pid).
# sm-stop PIDFILE...: stop those daemons, all at once (each takes Sendmail's
# two seconds), and wait until they are gone.  Standalone scripts, since the
# gateway's reload command restarts it too.
cat >"$RUN/sm-start" <<SH
#!/bin/bash
"$RUN/sm" "\$1" -bd || exit 1
for i in \$(seq 1 400); do
	pid=\$(head -1 "\$2" 2>/dev/null)
	[ -n "\$pid" ] && [ -d "/proc/\$pid" ] && (exec 3<>"/dev/tcp/\$3/\$4") 2>/dev/null && exit 0
	sleep 0.05
done
exit 1
SH
cat >"$RUN/sm-stop" <<SH
#!/bin/bash
pids=
for f in "\$@"; do
	pid=\$(head -1 "\$f" 2>/dev/null)
	[ -n "\$pid" ] && kill "\$pid" 2>/dev/null && pids="\$pids \$pid"
done
for i in \$(seq 1 400); do
	alive=
	for pid in \$pids; do [ -d "/proc/\$pid" ] && alive=\$pid; done
	[ -n "\$alive" ] || { rm -f "\$@"; exit 0; }
	sleep 0.05
done
exit 1
SH
chmod 755 "$RUN/sm" "$RUN/sm-start" "$RUN/sm-stop"
rt_sm() { "$RUN/sm" "$@"; }

# ---- certificates: the test CA, a second trusted CA, an untrusted one ----
CERTS=$RUN/certs
mkdir -p "$CERTS/hash"
chmod 755 "$CERTS" "$CERTS/hash"
rt_ca() {	# rt_ca NAME SUBJECT
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "$2" \
		-keyout "$CERTS/$1.key" -out "$CERTS/$1.pem" 2>/dev/null
}
rt_cert() {	# rt_cert NAME CA CN [SAN]: a server certificate for the member's one key (SAN "-": none)
	local san=${4:-DNS:$3}
	{ [ "$san" = - ] || echo "subjectAltName=$san"; echo extendedKeyUsage=serverAuth; } >"$CERTS/$1.ext"
	openssl req -new -key "$CERTS/member.key" -subj "/O=Routing Member/CN=$3" -out "$CERTS/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$CERTS/$1.csr" -CA "$CERTS/$2.pem" -CAkey "$CERTS/$2.key" \
			-CAcreateserial -days 2 -extfile "$CERTS/$1.ext" -out "$CERTS/$1.pem" 2>/dev/null
}
rt_ca ca "/O=Routing Test/CN=Routing Test CA" &&
	rt_ca other-ca "/O=Other Test/CN=Other Test CA" &&
	rt_ca rogue-ca "/O=Rogue/CN=Rogue CA" &&
	openssl genrsa -out "$CERTS/member.key" 2048 2>/dev/null &&
	rt_cert good ca mx.member.test &&
	rt_cert other-issuer other-ca mx.member.test &&
	rt_cert wildcard-other-issuer other-ca wildcard DNS:*.member.test &&
	rt_cert wrong-cn ca other.test &&
	rt_cert cn-only ca mx.member.test - &&
	rt_cert untrusted rogue-ca mx.member.test ||
	{ not_ok "test certificates"; done_testing; exit 1; }
chmod 600 "$CERTS"/*.key
# The gateway trusts the test CA and the other one: the issuer in the route,
# not mere trust, must decide.  The rogue CA is trusted by nobody.
cat "$CERTS/ca.pem" "$CERTS/other-ca.pem" >"$CERTS/gw-cas.pem"
cp "$CERTS/ca.pem" "$CERTS/other-ca.pem" "$CERTS/hash/"
openssl rehash "$CERTS/hash" 2>/dev/null || c_rehash "$CERTS/hash" >/dev/null

# ---- the receivers: hive and member ----
printf 'hosts files\naliases files\n' >"$RUN/service.switch"
# rt_receiver NAME ADDR DOMAINS [MC LINES]: $RUN/NAME/NAME.mc; the DOMAINS are
# local there, and their local parts (aliases) all go to root.
rt_receiver() {
	local name=$1 addr=$2 domains=$3 extra=${4:-} dir=$RUN/$1 d
	mkdir -p "$dir/queue" "$dir/hoststat"
	chmod 755 "$dir"
	chmod 700 "$dir/queue"
	for d in $domains; do echo "$d"; done >"$dir/local-host-names"
	printf '%s: root\n' postmaster info sales jo office >"$dir/aliases"
	cat >"$dir/$name.mc" <<MC
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`hostmilter t-routing $name')dnl
OSTYPE(\`debian')dnl
define(\`confDOMAIN_NAME', \`$name.test')dnl
define(\`confSERVICE_SWITCH_FILE', \`$RUN/service.switch')dnl
define(\`confCW_FILE', \`$dir/local-host-names')dnl
define(\`ALIAS_FILE', \`$dir/aliases')dnl
define(\`QUEUE_DIR', \`$dir/queue')dnl
define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
define(\`STATUS_FILE', \`$dir/statistics')dnl
define(\`confHOST_STATUS_DIRECTORY', \`$dir/hoststat')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`confALIAS_WAIT', \`0')dnl
define(\`_REC_BY_', \`\$.by \$j (\$v/\$Z) daemon \${daemon_name}\$?r with \$r\$. id \$i\$?{tls_version}')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`use_cw_file')dnl
FEATURE(\`no_default_msa')dnl
$extra
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
	m4 "$dir/$name.mc" >"$dir/$name.cf" && sendmail -C "$dir/$name.cf" -bi >/dev/null 2>&1
}
rt_daemon() { printf "DAEMON_OPTIONS(\`Family=inet, Name=%s-%s, Addr=%s, Port=%s')dnl\n" "$1" "$3" "$2" "$3"; }

# rt_start NAME ADDR PORT / rt_stop NAME: a receiver's daemon, by its pid file.
rt_start() { "$RUN/sm-start" "$RUN/$1/$1.cf" "$RUN/$1/sendmail.pid" "$2" "$3"; }
rt_stop() { "$RUN/sm-stop" "$RUN/$1/sendmail.pid"; }
rt_cleanup() {
	[ -x "$RUN/sm-stop" ] && "$RUN/sm-stop" "$RUN/hive/sendmail.pid" "$RUN/member/sendmail.pid" "$RUN/sendmail.pid"
	hm_cleanup
}
trap rt_cleanup EXIT

rt_receiver hive 127.0.0.2 "hive.test backup.test moving.test fresh.test newport.test later.test" \
	"$(rt_daemon hive 127.0.0.2 $HIVE_PORT; rt_daemon hive 127.0.0.2 $NEW_PORT; rt_daemon hive 127.0.0.2 $LATER_PORT)"
# The member's certificate is $CERTS/member-cert.pem: the test swaps it and restarts the member.
rt_receiver member 127.0.0.3 "member.test held.test moving.test" \
	"define(\`confSERVER_CERT', \`$CERTS/member-cert.pem')dnl
define(\`confSERVER_KEY', \`$CERTS/member.key')dnl
define(\`confCACERT', \`$CERTS/ca.pem')dnl
define(\`confCACERT_PATH', \`$CERTS/hash')dnl
$(rt_daemon member 127.0.0.3 $MEMBER_PORT; rt_daemon member 127.0.0.3 $HIVE_PORT)"
cp "$CERTS/good.pem" "$CERTS/member-cert.pem"
check "hive starts (127.0.0.2:$HIVE_PORT, :$NEW_PORT, :$LATER_PORT)" rt_start hive 127.0.0.2 $HIVE_PORT
check "member starts (127.0.0.3:$MEMBER_PORT, STARTTLS)" rt_start member 127.0.0.3 $MEMBER_PORT

# ---- the gateway: its .mc, and the reload command that rebuilds and restarts it ----
hm_sendmail_config $GW_PORT "define(\`confDOMAIN_NAME', \`gw.test')dnl
define(\`confCACERT', \`$CERTS/gw-cas.pem')dnl
define(\`confCACERT_PATH', \`$CERTS/hash')dnl
define(\`confTO_CONNECT', \`10s')dnl
FEATURE(\`check_cert_altnames')dnl
FEATURE(\`mailertable', \`hash -o $RUN/maps/mailertable')dnl
define(\`confHOSTMILTER_MAILERS', \`$RUN/maps/hostmilter-mailers.m4')dnl
FEATURE(\`hostmilter', \`unix:$RUN/milter/hostmilter.sock')dnl"
# What an admin's --reload-cmd does when hostmilter-mailers.m4 changed: m4
# sendmail.mc > sendmail.cf, then restart sendmail (when it runs).
cat >"$RUN/gw-reload" <<SH
#!/bin/bash
set -e
m4 "$RUN/test.mc" >"$RUN/test.cf.new"
mv "$RUN/test.cf.new" "$RUN/test.cf"
echo reload >>"$RUN/reloads"
[ -s "$RUN/sendmail.pid" ] || exit 0
"$RUN/sm-stop" "$RUN/sendmail.pid"
exec "$RUN/sm-start" "$RUN/test.cf" "$RUN/sendmail.pid" 127.0.0.1 $GW_PORT
SH
chmod 755 "$RUN/gw-reload"

# rt_mapgen EXPORT [ARGS]: hostmapgen into $RUN/maps; its output in $RUN/mapgen.out.
rt_mapgen() {
	local export=$1
	shift
	"$HOSTMAPGEN" -o "$RUN/maps" "$@" "$export" >"$RUN/mapgen.out" 2>&1
}
check "hostmapgen --reload-cmd: maps written, gateway .cf built" \
	rt_mapgen "$EXPORT" --reload-cmd "$RUN/gw-reload"
like "... mailertable routes hive.test to [127.0.0.2] by hm$HIVE_PORT" \
	"$(grep '^hive\.test' "$RUN/maps/mailertable")" "^hive\.test	hm$HIVE_PORT:\[127\.0\.0\.2\]\$"
hm_milter_conf
check "hostmilter starts" hm_milter_start
gw_start() { "$RUN/sm-start" "$RUN/test.cf" "$RUN/sendmail.pid" 127.0.0.1 $GW_PORT; }
check "gateway starts (127.0.0.1:$GW_PORT)" gw_start
GW_PID=$(head -1 "$RUN/sendmail.pid")

# ---- helpers: send, queue runs, queue contents ----
# rt_send SUBJECT RCPT...: one message from 127.0.0.5; prints the probe's lines.
rt_send() { local s=$1; shift; hm_send "$s" text "routing test" -- "$@"; }
# rt_queued NAME SUBJECT: true when the queue of NAME (gw, hive, member) holds a message with SUBJECT.
rt_qdir() { if [ "$1" = gw ]; then echo "$RUN/queue"; else echo "$RUN/$1/queue"; fi; }
rt_qf() { grep -l -- "^H??Subject: $2\$" "$(rt_qdir "$1")"/qf* 2>/dev/null | head -1; }
rt_queued() { [ -n "$(rt_qf "$1" "$2")" ]; }
rt_not_queued() { ! rt_queued "$1" "$2"; }
# rt_arrived NAME SUBJECT DAEMON: the message sits in NAME's queue, received by DAEMON, from the gateway.
rt_arrived() {
	local qf
	qf=$(rt_qf "$1" "$2")
	[ -n "$qf" ] && grep -q "by gw\.test " "$qf" && grep -Eq "daemon $3 with ESMTPS? " "$qf"
}
# rt_qrun ARGS...: one queue run of the gateway, in the foreground (at most a
# minute); its transcript in $RUN/qrun.log.
rt_qrun() { timeout 60 "$RUN/sm" "$RUN/test.cf" -v "$@" >>"$RUN/qrun.log" 2>&1 </dev/null; }
# rt_delivered NAME SUBJECT DAEMON QUEUE-ARGS...: the message has arrived at
# NAME, else one more queue run and a look again.  For hm_wait: a queue run
# skips a message whose SMTP session still holds its lock.
rt_delivered() {
	rt_arrived "$1" "$2" "$3" || { rt_qrun "${@:4}"; rt_arrived "$1" "$2" "$3"; }
}
# rt_mline SUBJECT: the gateway's status line (qf M) for the message.
rt_mline() { local qf; qf=$(rt_qf gw "$1"); [ -n "$qf" ] && grep '^M' "$qf"; }
# rt_rcpt RCPT: the gateway's reply to RCPT TO from 127.0.0.5.
rt_rcpt() { hm_probe --source 127.0.0.5 --to "$1" --quit-after rcpt | grep '^RCPT' | cut -d' ' -f3-; }
# rt_etrn SOURCE DOMAIN: the gateway's reply to ETRN DOMAIN from SOURCE.
rt_etrn() {
	python3 - "$1" "$GW_PORT" "$2" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[2]), source_address=(sys.argv[1], 0), timeout=20,
                 local_hostname="client.example")
s.ehlo()
code, msg = s.docmd("ETRN", sys.argv[3])
print(code, msg.decode("utf-8", "replace").splitlines()[0])
s.quit()
PY
}

# ---- 1. a hive domain's mail arrives at the hive ----
out=$(rt_send r1-hive info@hive.test)
like "info@hive.test accepted by the gateway" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
check "... and queued there (queueonly)" rt_queued gw r1-hive
check "a queue run delivers it to the hive's queue, received on hive-$HIVE_PORT from gw.test" \
	hm_wait 20 rt_delivered hive r1-hive hive-$HIVE_PORT -qRhive.test
check "... and gone from the gateway's queue" hm_wait 20 rt_not_queued gw r1-hive

# ---- 2. an unknown user of a hive domain: 550 5.1.1 at the gateway, nothing queued ----
out=$(rt_send r2-unknown nobody@hive.test)
like "nobody@hive.test: 550 5.1.1 at RCPT" "$(grep '^RCPT' <<<"$out")" '^RCPT <nobody@hive\.test> 550 5\.1\.1 '
check "... nothing queued at the gateway" rt_not_queued gw r2-unknown
like "postmaster@hive.test is always valid" "$(rt_rcpt postmaster@hive.test)" '^250 '
like "info+news@hive.test (+detail of a listed address) is valid" "$(rt_rcpt info+news@hive.test)" '^250 '
like "a domain that is not routed is not relayed" "$(rt_rcpt info@elsewhere.test)" '^550 5\.7\.1 '

# ---- 5. a backup-MX domain with an explicit route relays there ----
out=$(rt_send r5-backup office@backup.test)
like "office@backup.test (backup MX, routed) accepted" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
like "an unlisted user of the backup-MX domain: 550 5.1.1" "$(rt_rcpt nobody@backup.test)" '^550 5\.1\.1 '
check "... a queue run delivers it to the hive, by the route" \
	hm_wait 20 rt_delivered hive r5-backup hive-$HIVE_PORT -qRbackup.test

# ---- 3. the member's mail: only to the right certificate (issuer and name) ----
# rt_member_cert NAME: restart the member with certificate NAME.
rt_member_cert() {
	rt_stop member && cp "$CERTS/$1.pem" "$CERTS/member-cert.pem" && rt_start member 127.0.0.3 $MEMBER_PORT
}
out=$(rt_send r3-member jo@member.test)
like "jo@member.test accepted by the gateway" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
# rt_held CERT WHAT REASON: with the member on CERT, a queue run leaves the
# message queued: tls_rcpt answered 454 4.7.0 REASON (the log), and REASON
# is the status the qf keeps (M line) for the next run.
rt_tls_rejects() { grep -c "$1: ruleset=tls_rcpt, " "$RUN/maillog"; }
# rt_refused_again ID BEFORE: tls_rcpt refused message ID more than BEFORE
# times, else one more queue run and a look again (for hm_wait; the log
# line comes through the catcher a moment after the run).
rt_refused_again() {
	[ "$(rt_tls_rejects "$1")" -gt "$2" ] || { rt_qrun -qRmember.test; [ "$(rt_tls_rejects "$1")" -gt "$2" ]; }
}
rt_held() {
	local id before
	check "member restarted with $2" rt_member_cert "$1"
	id=$(basename "$(rt_qf gw r3-member)")
	id=${id#qf}
	before=$(rt_tls_rejects "$id")
	check "... a queue run tries it" hm_wait 20 rt_refused_again "$id" "$before"
	check "... the message stays queued at the gateway" rt_queued gw r3-member
	like "... tls_rcpt refused the recipient with 454 4.7.0" \
		"$(grep "$id: ruleset=tls_rcpt, " "$RUN/maillog" | tail -1)" "reject=454 4\\.7\\.0 $3\$"
	like "... the qf keeps the reason (M line)" "$(rt_mline r3-member)" "^M$3\$"
	check "... and nothing arrived at the member" rt_not_queued member r3-member
}
rt_held other-issuer "mx.member.test from another CA the gateway trusts" \
	'Cert Issuer /O=Other\+20Test/CN=Other\+20Test\+20CA does not match /O=Routing\+20Test/CN=Routing\+20Test\+20CA'
# The name matches a wildcard subjectAltName: Sendmail then skips whatever
# follows CN in the TLS_Rcpt requirement, so the issuer must come before it.
rt_held wildcard-other-issuer "*.member.test from another CA the gateway trusts" \
	'Cert Issuer /O=Other\+20Test/CN=Other\+20Test\+20CA does not match /O=Routing\+20Test/CN=Routing\+20Test\+20CA'
rt_held wrong-cn "the right CA, other.test" 'CN other\.test does not match \[127\.0\.0\.3\]'
# check_cert_altnames: the name must be a subjectAltName; a certificate
# with the name only in its CN is compared with the route's host instead.
rt_held cn-only "the right CA, mx.member.test as CN only (no subjectAltName)" \
	'CN mx\.member\.test does not match \[127\.0\.0\.3\]'
rt_held untrusted "mx.member.test from a CA the gateway does not trust" 'authentication failed'
like "sendmail -bp lists it with the last reason" "$(rt_sm "$RUN/test.cf" -bp 2>&1)" '^ +\(authentication failed\)$'
check "member restarted with the right certificate (test CA, mx.member.test)" rt_member_cert good
check "... the next queue run delivers to the member on member-$MEMBER_PORT" \
	hm_wait 20 rt_delivered member r3-member member-$MEMBER_PORT -qRmember.test
check "... and the gateway's queue no longer holds it" hm_wait 20 rt_not_queued gw r3-member

# ---- 4. a held domain waits for an ETRN from an allowed client ----
out=$(rt_send r4-held info@held.test)
like "info@held.test accepted" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
rt_qrun -q
check "a plain queue run leaves it queued (F=%)" rt_queued gw r4-held
check "... nothing arrived at the member" rt_not_queued member r4-held
like "ETRN held.test from 127.0.0.9 (not an etrn_client): refused" "$(rt_etrn 127.0.0.9 held.test)" '^502 5\.7\.0 '
check "... still queued at the gateway" rt_queued gw r4-held
like "ETRN held.test from 127.0.0.3 (etrn_clients): queue run started" "$(rt_etrn 127.0.0.3 held.test)" \
	'^250 2\.0\.0 Queuing for node held\.test started'
check "... the message arrives at the member" hm_wait 20 rt_arrived member r4-held member-$MEMBER_PORT
check "... and leaves the gateway's queue" hm_wait 20 rt_not_queued gw r4-held

# ---- 6. a route changed, or a domain added on a known port, takes effect without restarting Sendmail ----
out=$(rt_send r6-before info@moving.test)
check "moving.test's mail goes to the hive (127.0.0.2:$HIVE_PORT)" \
	hm_wait 20 rt_delivered hive r6-before hive-$HIVE_PORT -qRmoving.test
out=$(rt_send r6-after info@moving.test)
check "a second message waits in the gateway's queue" rt_queued gw r6-after
jq '(.domains[] | select(.name == "moving.test") | .route.host) = "127.0.0.3"
	| .domains += [{ "name": "fresh.test", "addresses": [ { "local": "info" } ],
		"route": { "host": "127.0.0.2", "port": '$HIVE_PORT' } }]' "$EXPORT" >"$RUN/export-6.json"
like "fresh.test, not yet in the export: not relayed" "$(rt_rcpt info@fresh.test)" '^550 5\.7\.1 '
: >"$RUN/reloads"
check "hostmapgen with the route moved to 127.0.0.3 (same port), and fresh.test added" \
	rt_mapgen "$RUN/export-6.json" --reload-cmd "$RUN/gw-reload"
like "... mailertable names the new host" "$(grep '^moving\.test' "$RUN/maps/mailertable")" \
	"hm$HIVE_PORT:\[127\.0\.0\.3\]\$"
is "... no reload was needed" "$(cat "$RUN/reloads")" ""
is "... the gateway was not restarted" "$(head -1 "$RUN/sendmail.pid")" "$GW_PID"
check "the queued message now goes to the member (127.0.0.3:$HIVE_PORT)" \
	hm_wait 20 rt_delivered member r6-after member-$HIVE_PORT -qRmoving.test
check "... not to the hive" rt_not_queued hive r6-after
like "an unlisted user of fresh.test: 550 5.1.1 (hostmilter has the new policy)" "$(rt_rcpt nobody@fresh.test)" \
	'^550 5\.1\.1 '
out=$(rt_send r6-fresh info@fresh.test)
like "info@fresh.test accepted by the same gateway process" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
check "... and delivered to the hive" hm_wait 20 rt_delivered hive r6-fresh hive-$HIVE_PORT -qRfresh.test

# ---- 7. a route on a new port: the reload command rebuilds sendmail.cf first ----
jq '.domains += [{ "name": "newport.test", "addresses": [ { "local": "info" } ],
	"route": { "host": "127.0.0.2", "port": '$NEW_PORT' } }]' "$RUN/export-6.json" >"$RUN/export-7.json"
check "hostmapgen with a route on port $NEW_PORT, --reload-cmd rebuilds and restarts the gateway" \
	rt_mapgen "$RUN/export-7.json" --reload-cmd "$RUN/gw-reload"
is "... the reload command ran once" "$(cat "$RUN/reloads")" "reload"
like "... mailertable ends with the real route" "$(grep '^newport\.test' "$RUN/maps/mailertable")" \
	"^newport\.test	hm$NEW_PORT:\[127\.0\.0\.2\]\$"
like "... the gateway's sendmail.cf has the mailer" "$(grep -A2 "^Mhm$NEW_PORT," "$RUN/test.cf")" "A=TCP \\\$h $NEW_PORT\$"
unlike "... and the gateway runs under a new pid" "$(head -1 "$RUN/sendmail.pid")" "^$GW_PID\$"
out=$(rt_send r7-newport info@newport.test)
like "info@newport.test accepted" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
check "... delivered to the hive on port $NEW_PORT" \
	hm_wait 20 rt_delivered hive r7-newport hive-$NEW_PORT -qRnewport.test
GW_PID=$(head -1 "$RUN/sendmail.pid")
jq '.domains += [{ "name": "later.test", "addresses": [ { "local": "info" } ],
	"route": { "host": "127.0.0.2", "port": '$LATER_PORT' } }]' "$RUN/export-7.json" >"$RUN/export-7b.json"
check "hostmapgen with a route on port $LATER_PORT, without --reload-cmd" rt_mapgen "$RUN/export-7b.json"
like "... says sendmail.cf must be rebuilt" "$(cat "$RUN/mapgen.out")" 'rebuild sendmail\.cf'
like "... mailertable holds the route as a tempfail" "$(grep '^later\.test' "$RUN/maps/mailertable")" \
	'^later\.test	error:4\.3\.5:'
like "RCPT to info@later.test: 451 4.3.5 (never 554)" "$(rt_rcpt info@later.test)" '^451 4\.3\.5 '
is "... the gateway still runs as it was" "$(head -1 "$RUN/sendmail.pid")" "$GW_PID"
# Nobody has rebuilt sendmail.cf: a later run without --reload-cmd (the
# panel's next export) must not take the notice for the rebuild.
check "hostmapgen again, still without --reload-cmd" rt_mapgen "$RUN/export-7b.json"
like "... says again that sendmail.cf must be rebuilt" "$(cat "$RUN/mapgen.out")" 'rebuild sendmail\.cf'
like "... later.test stays a tempfail" "$(grep '^later\.test' "$RUN/maps/mailertable")" '^later\.test	error:4\.3\.5:'
like "... RCPT to info@later.test: still 451 4.3.5, not 554 (unknown mailer)" "$(rt_rcpt info@later.test)" \
	'^451 4\.3\.5 '
like "... the routes on ports Sendmail knows stay active" "$(grep '^newport\.test' "$RUN/maps/mailertable")" \
	"^newport\\.test	hm$NEW_PORT:"
: >"$RUN/reloads"
check "hostmapgen with --reload-cmd: rebuilds and restarts the gateway" \
	rt_mapgen "$RUN/export-7b.json" --reload-cmd "$RUN/gw-reload"
is "... the reload command ran once" "$(cat "$RUN/reloads")" "reload"
like "... later.test has its real route" "$(grep '^later\.test' "$RUN/maps/mailertable")" \
	"^later\\.test	hm$LATER_PORT:\\[127\\.0\\.0\\.2\\]\$"
out=$(rt_send r7-later info@later.test)
like "info@later.test accepted" "$(grep '^DATA' <<<"$out")" '^DATA 250 '
check "... delivered to the hive on port $LATER_PORT" \
	hm_wait 20 rt_delivered hive r7-later hive-$LATER_PORT -qRlater.test

diag "t-routing: $((SECONDS - T0)) s"
if [ "$HM_FAILS" -gt 0 ]; then
	diag "---- gateway queue runs ----"
	sed 's/^/# /' "$RUN/qrun.log" | tail -80
	diag "---- maillog ----"
	sed 's/^/# /' "$RUN/maillog" | tail -120
fi
done_testing
