#!/bin/bash
# t-identity - one identity per sender, recipient and client (issue 24),
# through a real sendmail: no rule can be escaped by another spelling of an
# address, by another name of a mailbox, by holding a transaction open, by
# a certificate's letter case or by a reload.
#
# One sendmail (FEATURE(`promiscuous_relay'): every refusal comes from
# hostmilter) with daemons MTA (2621), MSA (2622), BULK (2623, in
# BulkDaemons) and MTA6 (2624, IPv6 on ::ffff:127.0.0.1, so that IPv4
# clients arrive IPv4-mapped), offering STARTTLS with a test CA; an oracle
# sendmail without hostmilter whose MaxMessageSize is tiny.example's limit
# (2625).  The export is the sample plus:
#   tiny.example     10K, info -> xyz00-tiny, blocks @spam.example and bad@worse.example
#   xyz00-shop       720/h burst 3 (one every 5 s: whole again 15 s after a burst)
#   xyz00-clock      240/h burst 1: a clock through SMTP (its next recipient passes 15 s on)
#   xyz00-gone       a mailbox the second export removes, xyz00-gone2 the third
#   127.77.0.0/27    12/h burst 3, bulk 6/h burst 2
#   127.79.0.0/24    a network the second export removes
#   the certificate  /CN=site.probe.example, 6/h burst 2, bulk 3/h burst 1
#   defaults         bulk 60/h burst 4
# Every wait is for a condition with a deadline.  Ports: 2621-2625.
. "$(dirname "$0")/lib.sh"

MTA=2621 MSA=2622 BULK=2623 MTA6=2624 ORACLE=2625
export HM_SASL_REPAIR=1	# /etc/sasldb2 is shared with the tests of other checkouts (smtp-probe.py)
hm_rundir identity
hm_sample_users
hm_users xyz00-tiny xyz00-clock xyz00-gone xyz00-gone2
hm_cf_dir

export_with() {	# JQ-EXTRA: the test's export, and what jq adds after
	jq '.defaults.blocked_types = []
	  | .defaults.rate_limit = { "bulk_recipients_per_hour": 60, "bulk_burst": 4 }
	  | .mailboxes += [ { "name": "xyz00-tiny" },
			    { "name": "xyz00-clock", "rate_limit": { "recipients_per_hour": 240, "burst": 1 } },
			    { "name": "xyz00-gone" }, { "name": "xyz00-gone2" } ]
	  | (.mailboxes[] | select(.name == "xyz00-shop")).rate_limit = { "recipients_per_hour": 720, "burst": 3 }
	  | .domains += [ { "name": "tiny.example", "max_message_size": "10K",
			  "addresses": [ { "local": "info", "deliver": ["xyz00-tiny"] },
					 { "local": "gone", "deliver": ["xyz00-gone"] },
					 { "local": "gone2", "deliver": ["xyz00-gone2"] } ],
			  "block_senders": ["@spam.example", "bad@worse.example"] } ]
	  | (.relay.clients[] | select(.network == "127.77.0.0/27")).rate_limit =
		{ "recipients_per_hour": 12, "burst": 3, "bulk_recipients_per_hour": 6, "bulk_burst": 2 }
	  | .relay.clients += [ { "network": "127.79.0.0/24", "note": "removed by the second export" } ]
	  | .relay.certificates = [ { "issuer": "/C=DE/O=Probe CA/CN=Probe CA", "subject": "/CN=site.probe.example",
				      "rate_limit": { "recipients_per_hour": 6, "burst": 2,
						      "bulk_recipients_per_hour": 3, "bulk_burst": 1 } } ]
	  | '"${1:-.}" "$SAMPLE_EXPORT"
}
export_with >"$RUN/export.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export.json" 2>"$RUN/hostmapgen.err" ||
	{ not_ok "hostmapgen reads the export (bulk allowances of networks and certificates)"; cat "$RUN/hostmapgen.err"
	  done_testing; exit 1; }

T=$RUN/tls
mkdir -p "$T"
hm_tls_ca ca "/C=DE/O=Probe CA/CN=Probe CA"
hm_tls_signed server ca "/CN=$(hostname -f)"
hm_tls_signed upper ca "/CN=SITE.probe.example"
hm_tls_signed mixed ca "/CN=Site.Probe.Example"
chmod 600 "$T"/*.key

hm_milter_conf "RateLimit enforce
BulkDaemons BULK"
check "hostmilter starts" hm_milter_start
hm_sendmail_config $MTA "define(\`confCACERT_PATH', \`$T')dnl
define(\`confCACERT', \`$T/ca.crt')dnl
define(\`confSERVER_CERT', \`$T/server.crt')dnl
define(\`confSERVER_KEY', \`$T/server.key')dnl
$(hm_milter_mc $MSA)
DAEMON_OPTIONS(\`Family=inet, Name=BULK, Port=$BULK, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(\`Family=inet6, Name=MTA6, Port=$MTA6, Addr=::ffff:127.0.0.1')dnl"
for u in xyz00-info xyz00-office xyz00-shop xyz00-clock xyz00-gone xyz00-gone2; do hm_sasl_user "$u" "secret-$u"; done
check "sendmail starts" hm_sendmail_start
check "... on every port" eval "hm_wait_port $MSA && hm_wait_port $BULK && hm_wait_port $MTA6"

# The oracle: the same sendmail without hostmilter, MaxMessageSize tiny.example's 10K.
sed -e "s/Port=$MTA,/Port=$ORACLE,/" -e "/^O DaemonPortOptions=.*Name=\(MSA\|BULK\|MTA6\)/d" \
	-e "s|^O PidFile=.*|O PidFile=$RUN/oracle.pid|" -e "/^O InputMailFilters/d" -e "/^Xhostmilter/d" \
	-e "s|^O QueueDirectory=.*|O QueueDirectory=$RUN/oracle-queue|" "$RUN/test.cf" >"$RUN/oracle.cf"
echo "O MaxMessageSize=10240" >>"$RUN/oracle.cf"
mkdir -p "$RUN/oracle-queue" && chmod 700 "$RUN/oracle-queue"
oracle_stop() { [ -s "$RUN/oracle.pid" ] && kill "$(head -1 "$RUN/oracle.pid")" 2>/dev/null; }
trap 'oracle_stop; hm_cleanup' EXIT
sendmail -C "$RUN/oracle.cf" -bd -q30m
check "the oracle sendmail starts" hm_wait_port $ORACLE

probe() {	# PORT ARGS...: one SMTP conversation, from 127.0.0.5 unless --source says otherwise
	local port=$1
	shift
	timeout 150 python3 "$SMTP_PROBE" "$port" --source 127.0.0.5 "$@"
}
step() { grep -E "^$1" <<<"$2" | tail -1; }
# after_held FILE: what a held conversation said after it was let go; has_after FILE PATTERN.
after_held() { sed '1,/^HELD/d' "$1"; }
has_after() { after_held "$1" | grep -qE "$2"; }
codes() { awk '$1 == "RCPT" { printf "%s%s", sep, $3; sep = " " }' <<<"$1"; }
to() { local i; for i in $(seq 1 "$1"); do printf -- '--to\n%s%s@elsewhere.example\n' "$2" "$i"; done; }

# ---- 1. sender ownership: +detail before the catch-all ----
INFO=(--auth xyz00-info:secret-xyz00-info)
OFFICE=(--auth xyz00-office:secret-xyz00-office)
for sender in 'staff+x@example.com' 'STAFF+x@EXAMPLE.NET' 'boss+x@example.com' 'staff@example.com' \
	'"staff+x"@example.com' 'staff+x@example.com.'; do
	out=$(probe $MSA "${INFO[@]}" --from "$sender" --to info@example.com --quit-after mail)
	like "the catch-all's owner may not send as $sender" "$(step MAIL "$out")" '^MAIL 553 5\.7\.1 '
done
for sender in 'staff+x@example.com' 'Staff+Y@example.net'; do
	out=$(probe $MSA "${OFFICE[@]}" --from "$sender" --to info@example.com --quit-after mail)
	like "staff's owner (through the alias) may send as $sender" "$(step MAIL "$out")" '^MAIL 250 '
done
for sender in 'anything+x@example.com' 'info+list@example.com' 'sales+x@example.com'; do
	out=$(probe $MSA "${INFO[@]}" --from "$sender" --to info@example.com --quit-after mail)
	like "legit twin: xyz00-info still sends as $sender" "$(step MAIL "$out")" '^MAIL 250 '
done

# ---- 1. block_senders: every spelling Sendmail reads as the blocked address ----
for sender in 'x@spam.example' 'X@SPAM.EXAMPLE' 'x@spam.example.' '"x"@spam.example' '@relay.example:x@spam.example' \
	'x%y@spam.example' 'spam.example!x' '"x y"@spam.example'; do
	out=$(probe $MTA --from "$sender" --to info@example.com --quit-after rcpt)
	like "block_senders @spam.example refuses $sender" "$(step RCPT "$out")" ' 550 5\.7\.1 '
done
for sender in 'bad+x@worse.example' 'BAD@worse.example.' '"bad"@worse.example'; do
	out=$(probe $MTA --from "$sender" --to info@tiny.example --quit-after rcpt)
	like "block_senders bad@worse.example refuses $sender" "$(step RCPT "$out")" ' 550 5\.7\.1 '
done
out=$(probe $MTA --from 'good@worse.example' --to info@tiny.example --quit-after rcpt)
like "legit twin: good@worse.example reaches tiny.example" "$(step RCPT "$out")" ' 250 '
for sender in 'x%evil.example@example.com' 'x!y@example.com' 'x%evil.example@xyz00.example.net' 'x%y'; do
	out=$(probe $MTA --from "$sender" --to info@example.com --quit-after mail)
	like "a sender Sendmail would route elsewhere is refused: $sender" "$(step MAIL "$out")" '^MAIL 553 5\.1\.7 '
done
out=$(probe $MTA --from '"john smith"@partner.example' --to info@example.com --quit-after rcpt)
like "legit twin: a quoted local part elsewhere is taken" "$(step RCPT "$out")" ' 250 '

# ---- 2. another name of the same mailbox keeps its domains' rules ----
for rcpt in info@tiny.example xyz00-tiny@xyz00.example.net XYZ00-Tiny@Mail.Example.Net xyz00-tiny \
	'xyz00-tiny+x@xyz00.example.net'; do
	out=$(probe $MTA --to "$rcpt" --body-bytes 12000)
	like "12 KB to $rcpt: tiny.example's 10K applies" "$(step DATA "$out")" '^DATA 552 5\.3\.4 '
	out=$(probe $MTA --from x@spam.example --to "$rcpt" --quit-after rcpt)
	like "a blocked sender cannot reach $rcpt" "$(step RCPT "$out")" ' 550 5\.7\.1 '
done
out=$(probe $MTA --to xyz00-tiny@xyz00.example.net --body-bytes 2000)
like "legit twin: a small message to xyz00-tiny@xyz00.example.net" "$(step DATA "$out")" '^DATA 250 '
for rcpt in 'sales=example.com' 'sales=example.com@xyz00.example.net' 'SALES=EXAMPLE.COM@mail.example.net' \
	'team=example.org+x@xyz00.example.net'; do
	for port in $MTA $MSA; do
		args=()
		[ $port = $MSA ] && args=("${INFO[@]}" --from info@example.com)
		out=$(probe $port "${args[@]}" --to "$rcpt" --quit-after rcpt)
		like "generated alias name $rcpt refused (port $port)" "$(step RCPT "$out")" ' 550 5\.1\.1 '
	done
done
out=$(probe $MTA --to sales@example.com --quit-after rcpt)
like "legit twin: sales@example.com, which the generated alias serves" "$(step RCPT "$out")" ' 250 '
out=$(probe $MTA --to postmaster@xyz00.example.net --quit-after rcpt)
like "legit twin: postmaster at the server's name" "$(step RCPT "$out")" ' 250 '

# ---- 3. rate limits: a refund never lifts a sender above its burst ----
SHOP=(--auth xyz00-shop:secret-xyz00-shop --from xyz00-shop@xyz00.example.net)
CLOCK=(--auth xyz00-clock:secret-xyz00-clock --from xyz00-clock@xyz00.example.net)
# A clock charge that passes sends its message: an abandoned one would be given back.
clock_passes() { [ "$(codes "$(probe $MSA "${CLOCK[@]}" --to tick@elsewhere.example)")" = 250 ]; }
rm -f "$RUN/go-a"
probe $MSA "${SHOP[@]}" $(to 3 held) --hold "$RUN/go-a" >"$RUN/held-a.out" &
HM_BG_PIDS="${HM_BG_PIDS:-} $!"
check "A holds three recipients in an open transaction" hm_wait 30 grep -q '^HELD' "$RUN/held-a.out"
is "... all three taken" "$(codes "$(cat "$RUN/held-a.out")")" "250 250 250"

check "the clock starts" clock_passes
check "the clock says 15 s have passed: the shop's burst is whole again" hm_wait 60 clock_passes
out=$(probe $MSA "${SHOP[@]}" $(to 3 b))
is "B takes the whole burst again" "$(codes "$out")" "250 250 250"
like "... and sends its message" "$(step DATA "$out")" '^DATA 250 '
touch "$RUN/go-a"
check "A abandons its transaction (RSET)" hm_wait 30 grep -q '^RSET 250' "$RUN/held-a.out"
out=$(probe $MSA "${SHOP[@]}" $(to 3 c))
is "C gets nothing: A's refund gave back only what time had not" "$(codes "$out")" "451 451 451"

# ---- 3. bulk allowances of networks and certificates ----
out=$(probe $BULK --source 127.77.0.7 $(to 3 bulk))
is "a relay network on the bulk port: its own bulk burst of 2" "$(codes "$out")" "250 250 451"
like "... counted apart" "$(cat "$RUN/hostmilter.log")" 'key=bulk:client:127\.77\.0\.7 limit=6/h burst=2'
CERT_UPPER=(--tls-cert "$T/upper.crt" --tls-key "$T/upper.key" --from a@site.probe.example)
CERT_MIXED=(--tls-cert "$T/mixed.crt" --tls-key "$T/mixed.key" --from a@site.probe.example)
out=$(probe $BULK --source 127.0.0.8 "${CERT_UPPER[@]}" $(to 2 certbulk))
is "a certificate on the bulk port: its own bulk burst of 1" "$(codes "$out")" "250 451"

# ---- 3. one certificate, one allowance, however its subject is spelled ----
out=$(probe $MTA --source 127.0.0.8 "${CERT_UPPER[@]}" $(to 2 upper))
is "/CN=SITE.probe.example relays, burst 2" "$(codes "$out")" "250 250"
out=$(probe $MTA --source 127.0.0.9 "${CERT_MIXED[@]}" $(to 1 mixed))
is "/CN=Site.Probe.Example shares that allowance" "$(codes "$out")" "451"
like "... keyed on the subject as relaying compares it" "$(cat "$RUN/hostmilter.log")" \
	'key=cert:/c=de/o=probe\+20ca/cn=probe\+20ca\|/cn=site\.probe\.example '

# ---- 1. one client, one allowance: IPv4-mapped IPv6 is IPv4 ----
out=$(probe $MTA --source 127.77.0.6 $(to 2 v4))
is "127.77.0.6 over IPv4: 2 of its 3" "$(codes "$out")" "250 250"
out=$(probe $MTA6 --source 127.77.0.6 $(to 2 v6))
is "127.77.0.6 over IPv6 (::ffff:127.77.0.6) relays and has 1 left" "$(codes "$out")" "250 451"
like "... logged as the IPv4 client it is" "$(cat "$RUN/hostmilter.log")" \
	'tempfail rule=rate-limit client=127\.77\.0\.6 .* key=client:127\.77\.0\.6 '

# ---- 4. size: exactly what Sendmail counts (its MaxMessageSize as the oracle) ----
# message KIND N: a message of N bytes by Sendmail's count (LF line ends) in file $RUN/m-KIND-N.
message() {
	python3 - "$1" "$2" >"$RUN/m-$1-$2" <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
def build(fill):
    if kind == "folded":     # 3,000 continuation lines, one byte short each once
        head = b"Subject: folded\r\nX-Folded: a\r\n" + b"\tb\r\n" * 3000 + b"\r\n"
    elif kind == "lines":    # many short body lines
        head = b"Subject: lines\r\n\r\n" + b"y\r\n" * 3000
    elif kind == "dots":     # lines that are dot-stuffed on the wire
        head = b"Subject: dots\r\n\r\n" + b".x\r\n" * 1500
    else:
        head = b"Subject: plain\r\n\r\n"
    return head + b"z" * fill + b"\r\n"
fill = 0
while len(build(fill).replace(b"\r\n", b"\n")) < n:
    fill += 1
sys.stdout.buffer.write(build(fill))
PY
	echo "$RUN/m-$1-$2"
}
verdict() { grep -oE '^DATA [0-9]{3}' <<<"$1" | awk '{ print $2 }'; }
for kind in plain folded lines dots; do
	for n in 10239 10240 10241; do
		m=$(message "$kind" "$n")
		mine=$(verdict "$(probe $MTA --to info@tiny.example --message "$m")")
		oracle=$(verdict "$(probe $ORACLE --to info@tiny.example --message "$m")")
		is "$kind message of $n bytes by Sendmail's count: hostmilter as MaxMessageSize ($oracle)" "$mine" "$oracle"
	done
done

# ---- 5. a reload takes effect for open connections at their next transaction ----
GONE=(--auth xyz00-gone:secret-xyz00-gone --from gone@tiny.example)
rm -f "$RUN/go-gone" "$RUN/go-net" "$RUN/go-file"
probe $MSA "${GONE[@]}" --to friend@elsewhere.example --hold "$RUN/go-gone" --hold-at end --again >"$RUN/gone.out" &
HM_BG_PIDS="${HM_BG_PIDS:-} $!"
probe $MTA --source 127.79.0.5 --to friend@elsewhere.example --hold "$RUN/go-net" --hold-at end --again \
	>"$RUN/net.out" &
HM_BG_PIDS="${HM_BG_PIDS:-} $!"
check "a mailbox's connection sent a message and waits" hm_wait 30 grep -q '^HELD' "$RUN/gone.out"
check "a network's connection sent a message and waits" hm_wait 30 grep -q '^HELD' "$RUN/net.out"
like "... the mailbox's first message relayed" "$(step DATA "$(cat "$RUN/gone.out")")" '^DATA 250 '
like "... the network's first message relayed" "$(step DATA "$(cat "$RUN/net.out")")" '^DATA 250 '
export_with 'del(.mailboxes[] | select(.name == "xyz00-gone"))
	| (.domains[] | select(.name == "tiny.example")).addresses |= map(select(.local != "gone"))
	| del(.relay.clients[] | select(.network == "127.79.0.0/24"))' >"$RUN/export2.json"
check "hostmapgen installs the export without them" "$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export2.json"
before=$(hm_log_count "policy loaded")
kill -HUP "$HM_MILTER_PID"
check "hostmilter reloads on SIGHUP" hm_wait_log "policy loaded" "$before"
touch "$RUN/go-gone" "$RUN/go-net"
check "the mailbox's connection tries again" hm_wait 30 has_after "$RUN/gone.out" '^(MAIL|DISCONNECT|ERROR)'
like "the removed mailbox cannot start another message on its old connection" \
	"$(after_held "$RUN/gone.out" | grep -E '^(MAIL|DISCONNECT|ERROR)')" '^MAIL 550 5\.7\.1 '
check "the network's connection tries again" hm_wait 30 has_after "$RUN/net.out" '^(RCPT|DISCONNECT|ERROR)'
like "the removed network cannot relay another message on its old connection" \
	"$(after_held "$RUN/net.out" | grep -E '^(RCPT|DISCONNECT|ERROR)')" ' 550 5\.7\.1 '
# Without SIGHUP: a new hostmilter.db, noticed at the next MAIL of an old connection.
GONE2=(--auth xyz00-gone2:secret-xyz00-gone2 --from gone2@tiny.example)
probe $MSA "${GONE2[@]}" --to friend@elsewhere.example --hold "$RUN/go-file" --hold-at end --again >"$RUN/file.out" &
HM_BG_PIDS="${HM_BG_PIDS:-} $!"
check "another mailbox's connection sent a message and waits" hm_wait 30 grep -q '^HELD' "$RUN/file.out"
export_with 'del(.mailboxes[] | select(.name == "xyz00-gone" or .name == "xyz00-gone2"))
	| (.domains[] | select(.name == "tiny.example")).addresses |= map(select(.local == "info"))
	| del(.relay.clients[] | select(.network == "127.79.0.0/24"))' >"$RUN/export3.json"
check "hostmapgen installs an export without it (no SIGHUP)" "$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export3.json"
touch "$RUN/go-file"
check "that connection tries again" hm_wait 30 has_after "$RUN/file.out" '^(MAIL|DISCONNECT|ERROR)'
like "a new hostmilter.db ends the mailbox's right at its old connection's next MAIL" \
	"$(after_held "$RUN/file.out" | grep -E '^(MAIL|DISCONNECT|ERROR)')" '^MAIL 550 5\.7\.1 '

done_testing
