#!/bin/bash
# t-ratelimit - recipients per hour through a real sendmail, counted in a
# real redis-server that two hostmilters share.
#
# One sendmail (FEATURE(`promiscuous_relay'): every refusal comes from
# hostmilter) with four daemons: MTA (2561), MSA (2562) and the bulk port
# BULK (2563, in BulkDaemons) go through hostmilter A; MTA-B (2564) goes
# through hostmilter B by its own InputMailFilters.  A and B are two
# processes with one configuration apart from their sockets, both counting
# in one Redis (Debian's redis-server on a private unix socket, run as the
# hostmilter user, persistence off, killed and restarted by its PID).
# Sendmail offers STARTTLS with a test CA, so a client certificate can
# relay and be limited.  The test export gives small allowances:
#   xyz00-info      20/h burst 5, bulk 30/h burst 3
#   xyz00-news      20/h burst 2, and the defaults' bulk 60/h burst 4
#   xyz00-office    20/h burst 4 (the sender A and B share)
#   xyz00-sales     1000/h (the sample's): the one who is never limited
#   127.77.0.0/27   12/h burst 3 per client address
#   127.78.0.0/24   100000/h: clients that send until the hostmilters are back in Redis
#   the certificate 6/h burst 2
# The hostmilters are the sanitizer build when there is one (HM_ASAN_BUILD):
# a memory error or a leak in the charges and refunds ends the test.  Every
# wait is for a condition with a deadline.  Ports: 2561-2564.
. "$(dirname "$0")/lib.sh"

MTA=2561 MSA=2562 BULK=2563 MTA_B=2564
hm_rundir ratelimit-smtp
hm_sample_users
hm_cf_dir

jq '(.mailboxes[] | select(.name == "xyz00-info")).rate_limit =
	{ "recipients_per_hour": 20, "burst": 5, "bulk_recipients_per_hour": 30, "bulk_burst": 3 }
  | (.mailboxes[] | select(.name == "xyz00-news")).rate_limit = { "recipients_per_hour": 20, "burst": 2 }
  | (.mailboxes[] | select(.name == "xyz00-office")).rate_limit = { "recipients_per_hour": 20, "burst": 4 }
  | .defaults.rate_limit = { "bulk_recipients_per_hour": 60, "bulk_burst": 4 }
  | (.relay.clients[] | select(.network == "127.77.0.0/27")).rate_limit = { "recipients_per_hour": 12, "burst": 3 }
  | .relay.clients += [ { "network": "127.78.0.0/24", "note": "probes",
			  "rate_limit": { "recipients_per_hour": 100000 } } ]
  | .relay.certificates[0].rate_limit = { "recipients_per_hour": 6, "burst": 2 }' \
	"$SAMPLE_EXPORT" >"$RUN/export.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export.json" 2>"$RUN/hostmapgen.err" ||
	{ not_ok "hostmapgen"; cat "$RUN/hostmapgen.err"; done_testing; exit 1; }

# ---- a test CA, sendmail's certificate and a client's (the sample's relaying certificate) ----
T=$RUN/tls
mkdir -p "$T"
hm_tls_ca ca "/C=DE/O=IN-Berlin e.V./CN=IN-Berlin CA"
hm_tls_signed server ca "/CN=$(hostname -f)"
hm_tls_signed client ca "/CN=site.in-berlin.de"
chmod 600 "$T"/*.key

# ---- Redis ----
hm_milter_user
REDIS_DIR=$RUN/redis
SOCK=$REDIS_DIR/redis.sock
mkdir -p "$REDIS_DIR"
chown hostmilter "$REDIS_DIR"
chmod 700 "$REDIS_DIR"
REDIS_PID=
redis_cli() { redis-cli -s "$SOCK" "$@" 2>/dev/null; }
redis_up() { [ "$(redis_cli ping)" = PONG ]; }
redis_start() {
	rm -f "$SOCK"
	setpriv --reuid=hostmilter --regid="$(id -g hostmilter)" --clear-groups \
		redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' --appendonly no \
		--daemonize no --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" &
	REDIS_PID=$!
	HM_BG_PIDS="${HM_BG_PIDS:-} $REDIS_PID"
	hm_wait 20 redis_up
}
redis_kill() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}
check "redis-server starts on a private socket" redis_start

# ---- hostmilter A and B: one configuration, two sockets ----
hm_milter_conf "RateLimit enforce
RateLimitStore redis unix:$SOCK
OnRateLimitStoreFailure local
RateLimitStoreTimeout 200
BulkDaemons BULK"
CONF_A=$RUN/hostmilter.conf
CONF_B=$RUN/hostmilter-b.conf
LOG_A=$RUN/hostmilter.log
LOG_B=$RUN/hostmilter-b.log
mkdir -p "$RUN/milter-b"
chown hostmilter "$RUN/milter-b"
chmod 755 "$RUN/milter-b"
sed "s|$RUN/milter/|$RUN/milter-b/|" "$CONF_A" >"$CONF_B"
if [ -x "${HM_ASAN_BUILD:-}/milter/hostmilter" ]; then
	HOSTMILTER=$HM_ASAN_BUILD/milter/hostmilter
	mkdir -p "$RUN/sanitizer" && chown hostmilter "$RUN/sanitizer"	# reports are written as hostmilter
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$RUN/sanitizer/asan
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$RUN/sanitizer/ubsan
	diag "hostmilter built with AddressSanitizer and UndefinedBehaviorSanitizer"
fi
milter_b_start() {
	"$HOSTMILTER" -f -c "$CONF_B" 2>>"$LOG_B" &
	MILTER_B_PID=$!
	hm_wait 20 test -S "$RUN/milter-b/hostmilter.sock"
}
milter_b_stop() {
	kill "$MILTER_B_PID" 2>/dev/null
	wait "$MILTER_B_PID" 2>/dev/null
}
check "hostmilter A starts" hm_milter_start
check "hostmilter B starts" milter_b_start
HM_BG_PIDS="${HM_BG_PIDS:-} $MILTER_B_PID"

# ---- sendmail ----
hm_sendmail_config $MTA "define(\`confCACERT_PATH', \`$T')dnl
define(\`confCACERT', \`$T/ca.crt')dnl
define(\`confSERVER_CERT', \`$T/server.crt')dnl
define(\`confSERVER_KEY', \`$T/server.key')dnl
$(hm_milter_mc $MSA)
DAEMON_OPTIONS(\`Family=inet, Name=BULK, Port=$BULK, Addr=127.0.0.1')dnl
MAIL_FILTER(\`hmb', \`S=unix:$RUN/milter-b/hostmilter.sock, F=T, T=C:30s;S:1m;R:2m;E:10m')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-B, Port=$MTA_B, Addr=127.0.0.1, InputMailFilters=hmb')dnl"
hm_sasl_user xyz00-info secret-info
hm_sasl_user xyz00-news secret-news
hm_sasl_user xyz00-office secret-office
hm_sasl_user xyz00-sales secret-sales
check "sendmail starts" hm_sendmail_start
check "... on every port" eval "hm_wait_port $MSA && hm_wait_port $BULK && hm_wait_port $MTA_B"

INFO=(--auth xyz00-info:secret-info --from info@example.com)
NEWS=(--auth xyz00-news:secret-news --from xyz00-news@xyz00.example.net)
OFFICE=(--auth xyz00-office:secret-office --from office@example.org)
SALES=(--auth xyz00-sales:secret-sales --from orders@shop.example)
CERT=(--tls-cert "$T/client.crt" --tls-key "$T/client.key" --from a@site.in-berlin.de)

# probe PORT ARGS...: one SMTP conversation (smtp-probe.py), from 127.0.0.5 unless --source says otherwise.
probe() {
	local port=$1
	shift
	timeout 120 python3 "$SMTP_PROBE" "$port" --source 127.0.0.5 "$@"
}
# to N NAME: --to NAME1@elsewhere.example ... --to NAMEn@elsewhere.example
to() {
	local i
	for i in $(seq 1 "$1"); do printf -- '--to\n%s%s@elsewhere.example\n' "$2" "$i"; done
}
# codes OUTPUT: the replies to RCPT, in order ("250 250 451").
codes() { awk '$1 == "RCPT" { printf "%s%s", sep, $3; sep = " " }' <<<"$1"; }
step() { grep -E "^$1" <<<"$2" | tail -1; }
# queued SUBJECT: the recipients of the queued message with this subject, sorted.
queued() { grep '^R' "$(hm_qf "$1")" | sed 's/.*://' | sort | tr '\n' ' '; }
log_a() { cat "$LOG_A"; }
log_b() { cat "$LOG_B"; }
# waits LINE SECONDS: the reply's "retry in N seconds" is SECONDS (3600 / the rate), less at most
# the 30 s this test may have taken since the sender's first recipient.
waits() {
	local n
	n=$(sed -nE 's/.* retry in ([0-9]+) seconds$/\1/p' <<<"$1")
	[ -n "$n" ] && [ "$n" -le "$2" ] && [ "$n" -gt "$(($2 - 30))" ]
}
# A log line of a refusal: what the reply said, and what the log adds.
refused() { printf 'tempfail rule=rate-limit client=%s auth=%s from=<%s> to=<%s> key=%s limit=%s retry_after=[0-9]+s store=%s reply="451 4\\.7\\.1"' "$@"; }

# ---- 1. an authenticated mailbox over its limit; another one unaffected ----
mapfile -t rcpts < <(to 7 one)
out=$(probe $MTA "${INFO[@]}" "${rcpts[@]}" --subject rl-one)
is "xyz00-info (20/h, burst 5), 7 recipients in one message: 5 taken, then 451" "$(codes "$out")" \
	"250 250 250 250 250 451 451"
line=$(step 'RCPT <one6@' "$out")
like "... 451 4.7.1 naming the limit, the sender and the seconds to wait" "$line" \
	' 451 4\.7\.1 Rate limit of 20 recipients per hour for xyz00-info exceeded, retry in [0-9]+ seconds$'
check "... 3600/20 of them" waits "$line" 180
like "... the message is taken for the others" "$(step DATA "$out")" '^DATA 250 '
is "... and queued for the 5 accepted recipients only" "$(queued rl-one)" \
	"<one1@elsewhere.example> <one2@elsewhere.example> <one3@elsewhere.example> <one4@elsewhere.example> <one5@elsewhere.example> "
out=$(probe $MTA "${INFO[@]}" --to again@elsewhere.example --quit-after rcpt)
like "... its next message too: 451 4.7.1" "$(step RCPT "$out")" ' 451 4\.7\.1 Rate limit of 20 '
mapfile -t rcpts < <(to 7 sales)
out=$(probe $MTA "${SALES[@]}" "${rcpts[@]}" --subject rl-sales)
is "xyz00-sales meanwhile: all 7 taken" "$(codes "$out")" "250 250 250 250 250 250 250"
like "... and the message" "$(step DATA "$out")" '^DATA 250 '
like "log: the refusal, with key, limit, retry_after and store" "$(log_a)" \
	"$(refused '127\.0\.0\.5' xyz00-info 'info@example\.com' 'one6@elsewhere\.example' 'mailbox:xyz00-info' '20/h burst=5' redis)"

# ---- 2. the bulk port: its own allowance, counted apart ----
mapfile -t rcpts < <(to 4 bulk)
out=$(probe $BULK "${INFO[@]}" "${rcpts[@]}")
is "bulk port: xyz00-info, its ordinary allowance spent, has its bulk burst of 3" "$(codes "$out")" "250 250 250 451"
line=$(step 'RCPT <bulk4@' "$out")
like "... then 451 4.7.1 naming the bulk rate" "$line" \
	' 451 4\.7\.1 Rate limit of 30 recipients per hour for xyz00-info exceeded, retry in [0-9]+ seconds$'
check "... and its wait, 3600/30 s" waits "$line" 120
like "log: the bulk key" "$(log_a)" \
	"$(refused '127\.0\.0\.5' xyz00-info 'info@example\.com' 'bulk4@elsewhere\.example' 'bulk:mailbox:xyz00-info' '30/h burst=3' redis)"
mapfile -t rcpts < <(to 5 newsbulk)
out=$(probe $BULK "${NEWS[@]}" "${rcpts[@]}")
is "bulk port: xyz00-news has the defaults' bulk burst of 4" "$(codes "$out")" "250 250 250 250 451"
mapfile -t rcpts < <(to 3 news)
out=$(probe $MTA "${NEWS[@]}" "${rcpts[@]}")
is "... and then on the MTA port its whole ordinary burst of 2, untouched by the bulk mail" "$(codes "$out")" \
	"250 250 451"

# ---- 3. a relay network's client and a relaying certificate ----
mapfile -t rcpts < <(to 4 net)
out=$(probe $MTA --source 127.77.0.5 "${rcpts[@]}")
is "relay client 127.77.0.5 without AUTH (12/h, burst 3): 3 taken, then 451" "$(codes "$out")" "250 250 250 451"
line=$(step 'RCPT <net4@' "$out")
like "... naming the client" "$line" \
	' 451 4\.7\.1 Rate limit of 12 recipients per hour for 127\.77\.0\.5 exceeded, retry in [0-9]+ seconds$'
check "... and its wait, 3600/12 s" waits "$line" 300
like "log: the client's key" "$(log_a)" \
	"$(refused '127\.77\.0\.5' - 'sender@client\.example' 'net4@elsewhere\.example' 'client:127\.77\.0\.5' '12/h burst=3' redis)"
mapfile -t rcpts < <(to 3 neighbour)
out=$(probe $MTA --source 127.77.0.6 "${rcpts[@]}")
is "... 127.77.0.6 in the same network has its own 3" "$(codes "$out")" "250 250 250"
mapfile -t rcpts < <(to 3 cert)
out=$(probe $MTA --source 127.0.0.9 "${CERT[@]}" "${rcpts[@]}")
like "client certificate of the test CA over STARTTLS" "$(step STARTTLS "$out")" '^STARTTLS 220'
is "relaying certificate (6/h, burst 2): 2 taken, then 451" "$(codes "$out")" "250 250 451"
line=$(step 'RCPT <cert3@' "$out")
like "... naming the certificate by its subject" "$line" \
	' 451 4\.7\.1 Rate limit of 6 recipients per hour for /CN=site\.in-berlin\.de exceeded, retry in [0-9]+ seconds$'
check "... and its wait, 3600/6 s" waits "$line" 600
like "log: the certificate's key, issuer and subject (lower-case, as relaying compares them)" "$(log_a)" \
	"$(refused '127\.0\.0\.9' - 'a@site\.in-berlin\.de' 'cert3@elsewhere\.example' 'cert:/c=de/o=in-berlin[^|]*ca\|/cn=site\.in-berlin\.de' '6/h burst=2' redis)"

# ---- 6. RateLimit warn: counted and logged, nothing refused ----
# reload CONF LOG PID: SIGHUP, and wait until the new configuration is in force.
reload() {
	local before
	before=$(grep -c 'policy loaded:' "$2")
	kill -HUP "$3"
	hm_wait 20 eval "[ \$(grep -c 'policy loaded:' '$2') -gt $before ]"
}
sed -i 's/^RateLimit enforce$/RateLimit warn/' "$CONF_A"
check "hostmilter A reloads with RateLimit warn" reload "$CONF_A" "$LOG_A" "$HM_MILTER_PID"
mapfile -t rcpts < <(to 3 warn)
out=$(probe $MTA "${INFO[@]}" "${rcpts[@]}")
is "RateLimit warn: xyz00-info, over its limit, has every recipient taken" "$(codes "$out")" "250 250 250"
like "... and the message" "$(step DATA "$out")" '^DATA 250 '
like "log: rule=rate-limit-warn with the key and what enforce would have said" "$(log_a)" \
	'accept rule=rate-limit-warn client=127\.0\.0\.5 auth=xyz00-info from=<info@example\.com> to=<warn1@elsewhere\.example> key=mailbox:xyz00-info limit=20/h burst=5 retry_after=[0-9]+s store=redis$'
sed -i 's/^RateLimit warn$/RateLimit enforce/' "$CONF_A"
check "hostmilter A reloads with RateLimit enforce" reload "$CONF_A" "$LOG_A" "$HM_MILTER_PID"
out=$(probe $MTA "${INFO[@]}" --to enforced@elsewhere.example --quit-after rcpt)
like "... and refuses xyz00-info again" "$(step RCPT "$out")" ' 451 4\.7\.1 '

# ---- 7. the admin lists and releases a sender, without a restart ----
out=$("$HOSTMILTER" -c "$CONF_A" -L)
like "hostmilter -L lists xyz00-info, its wait and its store" "$out" '^[0-9]+ redis mailbox:xyz00-info$'
like "... the relay client" "$out" '^[0-9]+ redis client:127\.77\.0\.5$'
like "... and the certificate" "$out" '^[0-9]+ redis cert:.*/cn=site\.in-berlin\.de$'
unlike "... not xyz00-sales, within its limit" "$out" 'xyz00-sales'
is "hostmilter -R releases xyz00-info" "$("$HOSTMILTER" -c "$CONF_A" -R mailbox:xyz00-info)" \
	"ok released mailbox:xyz00-info"
mapfile -t rcpts < <(to 6 released)
out=$(probe $MTA "${INFO[@]}" "${rcpts[@]}")
is "... its next recipients pass again, a whole burst of 5" "$(codes "$out")" "250 250 250 250 250 451"
check "... by the same hostmilter process" kill -0 "$HM_MILTER_PID"

# ---- 8. a message abandoned before its end gives its recipients back ----
mapfile -t rcpts < <(to 3 rset)
out=$(probe $MTA --source 127.77.0.12 "${rcpts[@]}" --rset-after-rcpt --subject rl-rset)
is "127.77.0.12 (burst 3): 3 recipients, RSET, the same 3 again in one connection: all taken" \
	"$(codes "$out")" "250 250 250 250 250 250"
is "... RSET accepted" "$(step RSET "$out")" "RSET 250 2.0.0 Reset state"
like "... and the second message taken" "$(step DATA "$out")" '^DATA 250 '
out=$(probe $MTA --source 127.77.0.12 --to after-rset@elsewhere.example --quit-after rcpt)
like "... a message that reached its end stays counted" "$(step RCPT "$out")" ' 451 4\.7\.1 '
mapfile -t rcpts < <(to 3 quit)
out=$(probe $MTA --source 127.77.0.13 "${rcpts[@]}" --quit-after rcpt)
is "127.77.0.13: 3 recipients, then QUIT" "$(codes "$out")" "250 250 250"
mapfile -t rcpts < <(to 4 after-quit)
out=$(probe $MTA --source 127.77.0.13 "${rcpts[@]}")
is "... the next connection has the 3 again, and no more" "$(codes "$out")" "250 250 250 451"

# ---- 4. two hostmilters, one Redis: one combined allowance ----
out=$(probe $MTA "${OFFICE[@]}" --to a1@elsewhere.example --to a2@elsewhere.example)
is "xyz00-office (burst 4) through hostmilter A: 2 taken" "$(codes "$out")" "250 250"
mapfile -t rcpts < <(to 3 b)
out=$(probe $MTA_B "${OFFICE[@]}" "${rcpts[@]}")
is "... then through hostmilter B: 2 more, then 451" "$(codes "$out")" "250 250 451"
like "log of B: refused on the count both made in Redis" "$(log_b)" \
	"$(refused '127\.0\.0\.5' xyz00-office 'office@example\.org' 'b3@elsewhere\.example' 'mailbox:xyz00-office' '20/h burst=4' redis)"
like "hostmilter -L of B lists senders A limited" "$("$HOSTMILTER" -c "$CONF_B" -L)" '^[0-9]+ redis client:127\.77\.0\.5$'

# ---- 5. Redis killed: each hostmilter limits alone; Redis back: shared again ----
redis_kill
check "redis-server killed" test ! -e "/proc/$REDIS_PID/status"
mapfile -t rcpts < <(to 3 down-a)
out=$(probe $MTA "${SALES[@]}" "${rcpts[@]}")
is "Redis gone: mail under the limit flows through A" "$(codes "$out")" "250 250 250"
like "... and is taken" "$(step DATA "$out")" '^DATA 250 '
mapfile -t rcpts < <(to 3 down-b)
out=$(probe $MTA_B "${SALES[@]}" "${rcpts[@]}")
is "... and through B" "$(codes "$out")" "250 250 250"
like "... and is taken" "$(step DATA "$out")" '^DATA 250 '
mapfile -t rcpts < <(to 4 local-a)
out=$(probe $MTA --source 127.77.0.20 "${rcpts[@]}")
is "... the limit holds in A's own table (OnRateLimitStoreFailure local): 3, then 451" "$(codes "$out")" \
	"250 250 250 451"
like "log: A's breaker opened" "$(log_a)" 'rate-limit store redis unix:.*: down \(.*\); next probe in'
like "log: counted locally, as a fallback" "$(log_a)" \
	"$(refused '127\.77\.0\.20' - 'sender@client\.example' 'local-a4@elsewhere\.example' 'client:127\.77\.0\.20' '12/h burst=3' 'local fallback')"
mapfile -t rcpts < <(to 4 local-b)
out=$(probe $MTA_B --source 127.77.0.20 "${rcpts[@]}")
is "... and in B's, each server alone: 3, then 451" "$(codes "$out")" "250 250 250 451"
unlike "no recipient tempfailed for the store in A" "$(log_a)" 'rule=rate-limit-store'
unlike "... nor in B" "$(log_b)" 'rule=rate-limit-store'

check "redis-server restarted" redis_start
# back_in_redis PORT CLIENT LOG: one message from CLIENT through PORT; true once that hostmilter's
# breaker has let a recipient through to Redis and Redis answered it.
back_in_redis() {
	probe "$1" --source "$2" --to "probe@elsewhere.example" >/dev/null
	grep -q 'rate-limit store redis unix:.*: up again$' "$3"
}
back=$EPOCHREALTIME
check "A counts in Redis again after its breaker's revive" hm_wait 40 back_in_redis $MTA 127.78.0.1 "$LOG_A"
check "... and B" hm_wait 40 back_in_redis $MTA_B 127.78.0.2 "$LOG_B"
diag "both back in Redis $(awk -v a="$back" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after its restart"
out=$(probe $MTA --source 127.77.0.21 --to r1@elsewhere.example --to r2@elsewhere.example)
is "shared counting resumes: 127.77.0.21 (burst 3) has 2 through A" "$(codes "$out")" "250 250"
out=$(probe $MTA_B --source 127.77.0.21 --to r3@elsewhere.example --to r4@elsewhere.example)
is "... and 1 through B, then 451" "$(codes "$out")" "250 451"
like "log of B: counted in Redis" "$(log_b)" \
	"$(refused '127\.77\.0\.21' - 'sender@client\.example' 'r4@elsewhere\.example' 'client:127\.77\.0\.21' '12/h burst=3' redis)"

# ---- the hostmilters end cleanly ----
hm_milter_stop
milter_b_stop
redis_kill
is "no sanitizer report from either hostmilter" "$(cat "$RUN"/sanitizer/* 2>/dev/null)" ""
done_testing
