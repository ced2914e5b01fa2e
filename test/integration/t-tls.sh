#!/bin/bash
# t-tls - relaying by a real STARTTLS client certificate through sendmail.
#
# A private CA with the sample's issuer DN signs sendmail's server
# certificate and a client certificate with the sample's subject; a second
# CA signs a "rogue" certificate with the same subject.  Sendmail verifies
# the client and hands {verify}, {cert_issuer} and {cert_subject} to
# hostmilter, which alone decides (sendmail relays anything by itself).
. "$(dirname "$0")/lib.sh"

hm_rundir tls
hm_sample_users
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
T=$RUN/tls
mkdir -p "$T"
hm_tls_ca ca "/C=DE/O=IN-Berlin e.V./CN=IN-Berlin CA"
hm_tls_ca other-ca "/CN=Other CA"
hm_tls_signed server ca "/CN=$(hostname -f)"
hm_tls_signed client ca "/CN=site.in-berlin.de"
hm_tls_signed rogue other-ca "/CN=site.in-berlin.de"
chmod 600 "$T"/*.key
check "test certificates made" test -s "$T/client.crt" -a -s "$T/rogue.crt"
hm_sendmail_config 2542 "define(\`confCACERT_PATH', \`$T')dnl
define(\`confCACERT', \`$T/ca.crt')dnl
define(\`confSERVER_CERT', \`$T/server.crt')dnl
define(\`confSERVER_KEY', \`$T/server.key')dnl
$(hm_milter_mc 2543)"
hm_milter_conf
check "hostmilter starts" hm_milter_start
check "sendmail starts with STARTTLS" hm_sendmail_start

# tls_rcpt [CERT]: the reply to RCPT after STARTTLS, with CERT if given.
tls_rcpt() {
	local cert=()
	[ -n "${1:-}" ] && cert=(--tls-cert "$T/$1.crt" --tls-key "$T/$1.key")
	swaks --server 127.0.0.1:2542 --local-interface 127.0.0.9 --tls "${cert[@]}" --from a@site.in-berlin.de \
		--to friend@elsewhere.example --quit-after RCPT --timeout 20 2>&1 |
		awk '/^ *[-~*]> RCPT TO/ { rcpt = 1; next } rcpt && /^<(-|~|\*\*|~\*) +[0-9][0-9][0-9]/ { sub(/^<(-|~|\*\*|~\*) +/, ""); print; exit }'
}
like "client certificate from the configured CA and subject: relays" "$(tls_rcpt client)" '^250 '
like "same subject from another CA: 550 5.7.1" "$(tls_rcpt rogue)" '^550 5\.7\.1 '
like "STARTTLS without a client certificate: 550 5.7.1" "$(tls_rcpt)" '^550 5\.7\.1 '
like "log: the certificate rule decided" "$(cat "$RUN/hostmilter.log")" 'accept rule=certificate client=127\.0\.0\.9 '
done_testing
