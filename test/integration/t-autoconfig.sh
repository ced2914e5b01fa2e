#!/bin/bash
# t-autoconfig: mail clients configure themselves.  hostmapgen writes
# autoconfig.db from the sample export (a real Berkeley DB file that
# makemap reads back); hostautoconfig, started as root and running as
# nobody, answers the requests Thunderbird, Outlook and Apple devices send
# (curl with their headers and bodies), each answer parsed and checked
# against the published formats (test/data/*.rng with xmllint, the profile
# with python3's plistlib, the JSON with jq); a new autoconfig.db is picked
# up without a restart and a broken one never replaces a good one; the
# rate limit, per client behind a trusted proxy; privileges; the CGI
# program; the systemd unit.
# Ports: 2670 (the responder), 2671 (rate limits).
. "$(dirname "$0")/lib.sh"

AC=${HOSTAUTOCONFIG:-$HM_BUILD/autoconfig/hostautoconfig}
DATA=$HM_SRC/test/data
PORT=2670
RPORT=2671
hm_rundir autoconfig
M=$RUN/maps

# ac_start PORT ARGS...: hostautoconfig as root dropping to nobody, log in $RUN/ac-PORT.log.
ac_start() {
	local port=$1
	shift
	"$AC" -l "127.0.0.1:$port" -m "$M/autoconfig.db" -u nobody "$@" >"$RUN/ac-$port.log" 2>&1 &
	AC_PID=$!
	HM_BG_PIDS="${HM_BG_PIDS:-} $AC_PID"
	# (the port listens before the privileges are dropped: wait for the line said once all is ready)
	hm_wait 10 grep -q "answering on 127.0.0.1:$port" "$RUN/ac-$port.log"
}
ac_stop() { kill "$1" 2>/dev/null; hm_wait 10 test ! -d "/proc/$1"; }

# get URL [CURL ARGS...]: the body into $RUN/body, the status on stdout.
get() {
	local url=$1
	shift
	curl -s -o "$RUN/body" -D "$RUN/headers" -w '%{http_code}' --max-time 10 "$@" "$url"
}
header() { tr -d '\r' <"$RUN/headers" | sed -n "s/^$1: //Ip" | head -1; }
valid_tb() { xmllint --noout --relaxng "$DATA/clientconfig-1.1.rng" "$RUN/body" 2>"$RUN/xmllint.err"; }
valid_ad() { xmllint --noout --relaxng "$DATA/autodiscover-response.rng" "$RUN/body" 2>"$RUN/xmllint.err"; }
xpath() { xmllint --xpath "$1" "$RUN/body" 2>/dev/null; }
# ns(): XPath over Autodiscover's namespaces by local name.
adpath() { xpath "string(//*[local-name()='$1'])"; }

TB_AGENT='Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0'
OUTLOOK_AGENT='Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)'
B=http://127.0.0.1:$PORT

# ---- 1. hostmapgen writes autoconfig.db ----
out=$("$HOSTMAPGEN" -o "$M" "$SAMPLE_EXPORT" 2>&1)
like "hostmapgen installs autoconfig.db with the other files" "$out" 'files changed: .*autoconfig\.db'
"$HOSTMAPGEN" -q -o "$M" --reload-cmd true "$SAMPLE_EXPORT" 2>/dev/null	# (the route the sample has waited for)
dump=$(makemap -u hash "$M/autoconfig.db" 2>/dev/null)
like "makemap reads it: the format record" "$dump" '^@format	hostmilter-autoconfig 2$'
like "... example.com and its alias domain" "$dump" '^D:example\.net	example\.com	0	0	xyz00-info$'
like "... info@example.com's login, in the domain's record" "$dump" '^info	xyz00-info$'
unlike "... no domain that did not opt in" "$dump" '^D:example\.org'
inode=$(stat -c %i "$M/autoconfig.db")
"$HOSTMAPGEN" -q -o "$M" --reload-cmd true "$SAMPLE_EXPORT" 2>/dev/null
is "an unchanged autoconfig.db is not rewritten" "$(stat -c %i "$M/autoconfig.db")" "$inode"
jq '.domains[0].autoconfig = true | .defaults.client_settings.smtp = null' "$SAMPLE_EXPORT" >"$RUN/nosmtp.json"
err=$("$HOSTMAPGEN" -o "$M" "$RUN/nosmtp.json" 2>&1)
is "autoconfig without an SMTP server: exit 1" "$?" 1
like "... the error names the domain's JSON path" "$err" 'domains\[0\]\.autoconfig: needs client_settings'
is "... and nothing was written" "$(stat -c %i "$M/autoconfig.db")" "$inode"

# ---- --explain shows it, from the installed file ----
out=$("$HOSTMAPGEN" -o "$M" --explain Staff@example.net 2>&1)
like "--explain: the login a mail client is told, and how it was found" "$out" \
	'^autoconfig: login xyz00-office \(address\), imap mail\.example\.net:993 SSL, pop3 mail\.example\.net:995 SSL, smtp mail\.example\.net:587 STARTTLS$'
like "--explain: through the catch-all" "$("$HOSTMAPGEN" -o "$M" --explain nobody+x@example.com 2>&1)" \
	'^autoconfig: login xyz00-info \(catch-all\)'
like "--explain: an address that is not eligible" "$("$HOSTMAPGEN" -o "$M" --explain boss@example.com 2>&1)" '^autoconfig: none$'
is "--explain --format json: login, via, domain, servers" \
	"$("$HOSTMAPGEN" -o "$M" --format json --explain sales@example.net | jq -c '.explain.autoconfig | [.login, .via, .domain, (.servers | map(.protocol + ":" + (.port | tostring)))]')" \
	'["xyz00-sales","address","example.com",["imap:993","pop3:995","smtp:587"]]'

# ---- 2. privileges ----
out=$("$AC" -l 127.0.0.1:$PORT -m "$M/autoconfig.db" 2>&1)
is "started as root without -u: exit 78" "$?" 78
like "... saying why" "$out" 'refusing to run as root'
"$AC" -l 127.0.0.1:$PORT -m "$M/autoconfig.db" -u root >/dev/null 2>&1
is "-u root: exit 78" "$?" 78
out=$(runuser -u nobody -- "$AC" -n -m "$M/autoconfig.db" 2>&1)
is "-n as nobody checks the database: exit 0" "$?" 0
cp "$M/autoconfig.db" "$RUN/own.db" && chown nobody "$RUN/own.db"
out=$(runuser -u nobody -- "$AC" -n -m "$RUN/own.db" 2>&1)
is "a database its own user could rewrite: exit 78" "$?" 78
like "... saying why" "$out" 'belongs to the user hostautoconfig runs as'
ln -s "$M/autoconfig.db" "$RUN/link.db"
out=$(runuser -u nobody -- "$AC" -n -m "$RUN/link.db" 2>&1)
like "a symbolic link is refused" "$out" 'is a symbolic link'

ac_start $PORT -r 0 || { not_ok "hostautoconfig did not start"; cat "$RUN/ac-$PORT.log"; done_testing; exit; }
MAIN=$AC_PID
is "it runs as nobody" "$(awk '/^Uid:/ { print $2 }' /proc/$MAIN/status)" "$(id -u nobody)"
is "... with no_new_privs" "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$MAIN/status)" 1

# ---- 3. Thunderbird ----
status=$(get "$B/mail/config-v1.1.xml?emailaddress=info%40example.com" -A "$TB_AGENT")
is "Thunderbird, emailaddress: 200" "$status" 200
check "... valid clientConfig 1.1 (RELAX NG)" valid_tb
is "... the login, not the address" "$(xpath 'string(//incomingServer[@type="imap"]/username)')" xyz00-info
is "... IMAP host and port" "$(xpath 'concat(//incomingServer[@type="imap"]/hostname, ":", //incomingServer[@type="imap"]/port)')" \
	"mail.example.net:993"
is "... SMTP with STARTTLS" "$(xpath 'string(//outgoingServer/socketType)')" STARTTLS
like "... served as XML" "$(header Content-Type)" '^application/xml'
is "... not to be stored by caches" "$(header Cache-Control)" no-store
status=$(get "$B/mail/config-v1.1.xml?emailaddress=Staff%40EXAMPLE.NET" -A "$TB_AGENT")
is "an alias domain, any letter case, through an alias to one mailbox: 200" "$status" 200
is "... the one mailbox's login" "$(xpath 'string(//outgoingServer/username)')" xyz00-office
status=$(get "$B/mail/config-v1.1.xml?emailaddress=hugo%40example.com")
is "an unlisted address the catch-all takes: 200" "$status" 200
is "... the catch-all's login" "$(xpath 'string(//incomingServer/username)')" xyz00-info
status=$(get "$B/.well-known/autoconfig/mail/config-v1.1.xml" -H 'Host: example.com' -A "$TB_AGENT")
is "Thunderbird for Android: .well-known without an address: 200" "$status" 200
check "... valid" valid_tb
is "... the username left to the client" "$(xpath 'string(//incomingServer/username)')" '%EMAILADDRESS%'
status=$(get "$B/mail/config-v1.1.xml" -H 'Host: autoconfig.example.net')
is "autoconfig.DOMAIN without an address: 200" "$status" 200
is "... for that domain" "$(xpath 'string(//domain)')" example.net
is "an address that reaches no mailbox (an outside forward): 404" \
	"$(get "$B/mail/config-v1.1.xml?emailaddress=boss%40example.com")" 404
is "an address reaching a pipe only: 404" "$(get "$B/mail/config-v1.1.xml?emailaddress=lists%40example.com")" 404
is "a rejected address: 404" "$(get "$B/mail/config-v1.1.xml?emailaddress=old%40example.com")" 404
is "a domain that did not opt in: 404" "$(get "$B/mail/config-v1.1.xml?emailaddress=office%40example.org")" 404
is "... nor without an address" "$(get "$B/mail/config-v1.1.xml" -H 'Host: autoconfig.example.org')" 404
is "no address at all: 400" "$(get "$B/mail/config-v1.1.xml?emailaddress=nobody")" 400

# ---- 4. Outlook ----
sed 's/ADDRESS/info@example.com/' "$DATA/outlook-request.xml" >"$RUN/outlook.xml"
for path in /autodiscover/autodiscover.xml /Autodiscover/Autodiscover.xml /AutoDiscover/AutoDiscover.xml \
	/AUTODISCOVER/AUTODISCOVER.XML; do
	status=$(get "$B$path" -A "$OUTLOOK_AGENT" -H 'Content-Type: text/xml' --data-binary @"$RUN/outlook.xml")
	is "Outlook POST $path: 200" "$status" 200
done
check "... a valid outlook response (RELAX NG)" valid_ad
is "... LoginName" "$(adpath LoginName)" xyz00-info
is "... the response schema Outlook asked for" \
	"$(xpath 'namespace-uri(/*/*)')" http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a
is "... three servers" "$(xpath 'count(//*[local-name()="Protocol"])')" 3
sed 's/ADDRESS/boss@example.com/' "$DATA/outlook-request.xml" >"$RUN/outlook-404.xml"
status=$(get "$B/autodiscover/autodiscover.xml" -H 'Content-Type: text/xml' --data-binary @"$RUN/outlook-404.xml")
is "Outlook, an address that is not eligible: 404" "$status" 404
check "... with Autodiscover's error document" valid_ad
is "... error 500" "$(adpath ErrorCode)" 500
sed 's/ADDRESS/info@example.com/' "$DATA/mobilesync-request.xml" >"$RUN/mobilesync.xml"
status=$(get "$B/autodiscover/autodiscover.xml" -A 'Apple-iPhone/2001.123' -H 'Content-Type: text/xml' \
	--data-binary @"$RUN/mobilesync.xml")
is "ActiveSync (mobilesync) request: answered, 200" "$status" 200
check "... with an error document" valid_ad
is "... error 601, no provider for that schema" "$(adpath ErrorCode)" 601
like "... saying there is no ActiveSync here" "$(adpath Message)" 'not Exchange ActiveSync'
status=$(get "$B/autodiscover/autodiscover.xml")
is "GET autodiscover.xml: 405" "$status" 405
is "... Allow: POST" "$(header Allow)" POST
status=$(get "$B/autodiscover/autodiscover.json?Email=info%40example.com&Protocol=Autodiscoverv1&RedirectCount=1" \
	-A "$OUTLOOK_AGENT" -H 'Host: autodiscover.example.com')
is "Outlook's autodiscover.json probe: 200" "$status" 200
is "... pointing to the POX URL on that host" "$(jq -r '.Protocol + " " + .Url' "$RUN/body")" \
	"AutodiscoverV1 https://autodiscover.example.com/autodiscover/autodiscover.xml"
status=$(get "$B/autodiscover/autodiscover.json/v1.0/info%40example.com?Protocol=AutodiscoverV1" \
	-H 'Host: autodiscover.example.com')
is "... the form with the address in the path: 200" "$status" 200
status=$(get "$B/autodiscover/autodiscover.json/v1.0/info%40example.com?Protocol=Ews" -H 'Host: autodiscover.example.com')
is "... another protocol: 400" "$status" 400
is "... InvalidProtocol" "$(jq -r .ErrorCode "$RUN/body")" InvalidProtocol
is "... an address that is not eligible: 404" "$(get "$B/autodiscover/autodiscover.json?Email=boss%40example.com&Protocol=AutodiscoverV1" \
	-H 'Host: autodiscover.example.com')" 404

# ---- 5. Apple ----
status=$(get "$B/mobileconfig?emailaddress=sales%40example.com" -A 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X)')
is "Apple profile: 200" "$status" 200
is "... as a configuration profile" "$(header Content-Type)" application/x-apple-aspen-config
like "... to be saved" "$(header Content-Disposition)" 'attachment; filename="sales@example.com.mobileconfig"'
plist=$(python3 - "$RUN/body" <<'PY'
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
mail = p["PayloadContent"][0]
keys = set(mail) | set(p)
print(p["PayloadType"], mail["PayloadType"], mail["EmailAccountType"], mail["IncomingMailServerUsername"],
      mail["IncomingMailServerPortNumber"], mail["OutgoingMailServerUseSSL"], mail["EmailAddress"],
      "password" if any("Password" in k and k != "OutgoingPasswordSameAsIncomingPassword" for k in keys) else "no-password")
PY
)
is "... a plist: profile, mail payload, IMAP, login, port, TLS, address, no password" "$plist" \
	"Configuration com.apple.mail.managed EmailTypeIMAP xyz00-sales 993 True sales@example.com no-password"
is "... an address that is not eligible: 404" "$(get "$B/mobileconfig?emailaddress=boss%40example.com")" 404
is "... no address: 400" "$(get "$B/mobileconfig")" 400

# ---- 6. a new autoconfig.db, without a restart ----
jq '.domains[0].addresses += [{"local": "new", "deliver": ["xyz00-shop"]}]' "$SAMPLE_EXPORT" >"$RUN/more.json"
is "before: new@example.com goes to the catch-all" \
	"$(get "$B/mail/config-v1.1.xml?emailaddress=new%40example.com"; xpath 'string(//incomingServer/username)')" 200xyz00-info
"$HOSTMAPGEN" -q -o "$M" --reload-cmd true "$RUN/more.json" 2>/dev/null
new_login() { get "$B/mail/config-v1.1.xml?emailaddress=new%40example.com" >/dev/null; [ "$(xpath 'string(//incomingServer/username)')" = xyz00-shop ]; }
check "after hostmapgen: its own login, within 5 s" hm_wait 5 new_login
check "... from the same process" test -d "/proc/$MAIN"
like "... which says it reopened the file" "$(cat "$RUN/ac-$PORT.log")" 'autoconfig\.db reopened'
head -c 4096 /dev/urandom >"$M/.junk" && mv "$M/.junk" "$M/autoconfig.db"
# (the name is looked at when a request comes, at most once a second)
junk_said() { get "$B/mail/config-v1.1.xml?emailaddress=new%40example.com" >/dev/null;
	grep -q 'still answering from the database opened before' "$RUN/ac-$PORT.log"; }
check "a file that is no autoconfig.db replaces it: said in the log" hm_wait 5 junk_said
is "... and the database opened before still answers" "$(get "$B/mail/config-v1.1.xml?emailaddress=new%40example.com")" 200
"$HOSTMAPGEN" -q -o "$M" --reload-cmd true "$SAMPLE_EXPORT" 2>/dev/null
gone_again() { new_login && return 1; [ "$(xpath 'string(//incomingServer/username)')" = xyz00-info ]; }
check "hostmapgen puts a good one back, picked up again" hm_wait 5 gone_again

# ---- 7. the rate limit ----
ac_start $RPORT -r 1 -b 3
RB=http://127.0.0.1:$RPORT
codes=""
for i in 1 2 3 4; do codes="$codes $(get "$RB/mail/config-v1.1.xml?emailaddress=info%40example.com" -H 'X-Forwarded-For: 198.51.100.1')"; done
is "a client gets its burst, then 429" "$codes" " 200 200 200 429"
like "... with Retry-After" "$(header Retry-After)" '^[0-9]+$'
is "another client behind the same proxy is not held" \
	"$(get "$RB/mail/config-v1.1.xml?emailaddress=info%40example.com" -H 'X-Forwarded-For: 203.0.113.9, 198.51.100.2')" 200
is "a 404 counts too (no free guessing)" "$(for i in 1 2 3 4; do get "$RB/mail/config-v1.1.xml?emailaddress=x$i%40nowhere.example" -H 'X-Forwarded-For: 198.51.100.3'; echo; done | paste -sd' ')" \
	"404 404 404 429"
is "a proxy header that is no address: 400" "$(get "$RB/mail/config-v1.1.xml" -H 'X-Forwarded-For: unknown')" 400
like "the refusal is logged" "$(cat "$RUN/ac-$RPORT.log")" 'client 198\.51\.100\.1 over its request rate'
ac_stop $AC_PID
ac_start $RPORT -r 1 -b 2 -p 192.0.2.0/24
codes=""
for i in 1 2 3; do codes="$codes $(get "$RB/mail/config-v1.1.xml?emailaddress=info%40example.com" -H "X-Forwarded-For: 198.51.100.$i")"; done
is "from a peer that is no trusted proxy, X-Forwarded-For is ignored" "$codes" " 200 200 429"
ac_stop $AC_PID

# ---- 8. as a CGI program ----
mkdir -p "$RUN/cgi" && chown nobody "$RUN/cgi" && chmod 700 "$RUN/cgi"
# cgi METHOD URI QUERY [BODY]: runs it as the web server would, as nobody.
cgi() {
	local body=${4:-}
	printf '%s' "$body" | runuser -u nobody -- env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="$1" REQUEST_URI="$2${3:+?$3}" \
		QUERY_STRING="$3" HTTP_HOST=autoconfig.example.com REMOTE_ADDR=192.0.2.77 CONTENT_LENGTH="${#body}" \
		HOSTAUTOCONFIG_MAP="$M/autoconfig.db" HOSTAUTOCONFIG_RATE_FILE="$RUN/cgi/rate" HOSTAUTOCONFIG_BURST=3 \
		${CGI_ENV:-} "$AC" 2>"$RUN/cgi.err"
}
# body_of: the CGI answer without its headers into $RUN/body.
cgi_body() { sed '1,/^\r$/d' >"$RUN/body"; }
out=$(cgi GET /mail/config-v1.1.xml emailaddress=info%40example.com)
like "CGI: Status 200 first" "$out" $'^Status: 200 OK\r'
printf '%s\n' "$out" | cgi_body
check "... a valid clientConfig" valid_tb
out=$(cgi POST /AutoDiscover/AutoDiscover.xml "" "$(cat "$RUN/outlook.xml")")
like "CGI: Outlook's POST: 200" "$out" $'^Status: 200 OK\r'
printf '%s\n' "$out" | cgi_body
check "... a valid outlook response" valid_ad
out=$(cgi GET /mail/config-v1.1.xml emailaddress=boss%40example.com)
like "CGI: not eligible: 404" "$out" '^Status: 404'
out=$(cgi GET /mail/config-v1.1.xml emailaddress=info%40example.com)
like "CGI: the processes share a rate table (burst 3): 429" "$out" '^Status: 429'
out=$(CGI_ENV=HOSTAUTOCONFIG_RATE_FILE= cgi GET /mail/config-v1.1.xml emailaddress=info%40example.com)
like "CGI without a rate file: 503, never unlimited by oversight" "$out" '^Status: 503'
like "... the web server's error log says what to set" "$(cat "$RUN/cgi.err")" 'HOSTAUTOCONFIG_RATE_FILE is not set'
out=$(CGI_ENV=HOSTAUTOCONFIG_RATE_FILE=none cgi GET /mail/config-v1.1.xml emailaddress=info%40example.com)
like "... \"none\" when the web server limits itself: 200" "$out" '^Status: 200'
out=$(printf '%s' x | runuser -u nobody -- env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
	REQUEST_URI=/autodiscover/autodiscover.xml CONTENT_LENGTH=99999999 HOSTAUTOCONFIG_RATE_FILE=none \
	HOSTAUTOCONFIG_MAP="$M/autoconfig.db" REMOTE_ADDR=192.0.2.77 "$AC" 2>/dev/null)
like "CGI: a body longer than allowed is not read: 413" "$out" '^Status: 413'
out=$(env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI=/mail/config-v1.1.xml HOSTAUTOCONFIG_RATE_FILE=none \
	"$AC" 2>&1)
like "CGI as root: refused" "$out" 'refusing to run as root'

# ---- 9. the systemd unit ----
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/sbin/hostautoconfig|$AC|g" "$HM_SRC/sample-etc-mail/hostautoconfig.service" >"$RUN/hostautoconfig.service"
	out=$(systemd-analyze verify --man=no "$RUN/hostautoconfig.service" 2>&1)
	is "systemd-analyze verify: sample-etc-mail/hostautoconfig.service" "$out" ""
fi

ac_stop $MAIN
check "SIGTERM stops it" test ! -d "/proc/$MAIN"
like "... saying so" "$(cat "$RUN/ac-$PORT.log")" 'stopping \(signal 15\)'
done_testing
