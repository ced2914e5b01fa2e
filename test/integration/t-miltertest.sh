#!/bin/bash
# t-miltertest - what a real sendmail here cannot easily show, at the milter
# protocol level with miltertest: relaying by TLS client certificate.
. "$(dirname "$0")/lib.sh"

hm_rundir miltertest
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_milter_conf
check "hostmilter starts" hm_milter_start
out=$(HM_SOCKET="$RUN/milter/hostmilter.sock" miltertest -s "$HM_SRC/test/integration/cert-relay.lua" 2>&1)
while read -r verdict name; do
	case $verdict in
	PASS) ok "$name" ;;
	FAIL) not_ok "$name" ;;
	esac
done <<<"$out"
like "miltertest ran every case" "$(grep -c '^PASS\|^FAIL' <<<"$out")" '^7$'
like "log names the certificate rule" "$(cat "$RUN/hostmilter.log")" 'CERTTEST: accept rule=certificate client=192\.0\.2\.200'
done_testing
