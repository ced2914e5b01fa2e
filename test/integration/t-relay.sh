#!/bin/bash
# t-relay: relay networks of any prefix become access keys that the real
# sendmail matches: from inside a /27 a client relays, from just outside it
# is refused; IPv6 and certificate keys are in the form Sendmail looks up.
. "$(dirname "$0")/lib.sh"

hm_rundir relay
hm_sample_users
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_sendmail_config 2528

lookup() { printf '/map access %s\n' "$1" | hm_sendmail -bt 2>&1 | grep -o 'returns [^ ]*' | head -1; }

is "sendmail -bt: first address of the /27 relays" "$(lookup Connect:127.77.0.0)" "returns RELAY"
is "sendmail -bt: last address of the /27 relays" "$(lookup Connect:127.77.0.31)" "returns RELAY"
is "sendmail -bt: the address after the /27 is not listed" "$(lookup Connect:127.77.0.32)" ""
is "sendmail -bt: a single host relays" "$(lookup Connect:192.0.2.10)" "returns RELAY"
is "sendmail -bt: its neighbour does not" "$(lookup Connect:192.0.2.11)" ""
is "sendmail -bt: an IPv6 /48 is one group-cut key" "$(lookup Connect:IPv6:2001:db8:1)" "returns RELAY"
is "sendmail -bt: certificate issuer key, xtext-encoded" \
	"$(lookup 'CERTISSUER:/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA')" "returns SUBJECT"
is "sendmail -bt: certificate subject key" "$(lookup CERTSUBJECT:/CN=site.in-berlin.de)" "returns RELAY"
is "sendmail -bt: backup-MX domain" "$(lookup To:backup.example)" "returns RELAY"
is "sendmail -bt: the export's own access entry" "$(lookup From:spammer@bad.example)" "returns REJECT"

# Sendmail cuts an IPv6 client address at group boundaries; check the rule set does so on our key.
out=$(printf 'A <IPv6:2001:db8:1:0:0:0:0:5> <?> <! Connect> <>\n' | hm_sendmail -bt 2>&1)
like "sendmail's LookUpAddress finds an IPv6 client inside the /48" "$out" 'returns: < RELAY > < > *$'
out=$(printf 'A <IPv6:2001:db8:2:0:0:0:0:5> <?> <! Connect> <>\n' | hm_sendmail -bt 2>&1)
like "sendmail's LookUpAddress does not find one outside it" "$out" 'returns: < \? > < > *$'

hm_sendmail_start
like "SMTP from 127.77.0.5 (inside the /27) relays" "$(hm_smtp_reply 127.77.0.5 user@elsewhere.example)" '^250 '
like "SMTP from 127.77.0.31 (last of the /27) relays" "$(hm_smtp_reply 127.77.0.31 user@elsewhere.example)" '^250 '
like "SMTP from 127.77.0.32 (just outside) is refused" "$(hm_smtp_reply 127.77.0.32 user@elsewhere.example)" \
	'^550 5\.7\.1 .*Relaying denied'
like "SMTP from 127.77.1.5 is refused" "$(hm_smtp_reply 127.77.1.5 user@elsewhere.example)" '^550 5\.7\.1'

# A relay network removed from the export stops relaying on the next connection.
jq '.relay.clients |= map(select(.network != "127.77.0.0/27"))' "$SAMPLE_EXPORT" >"$RUN/export.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export.json" 2>/dev/null
like "after the network is removed, the running sendmail refuses it on the next connection" \
	"$(hm_smtp_reply 127.77.0.5 user@elsewhere.example)" '^550 5\.7\.1'
done_testing
