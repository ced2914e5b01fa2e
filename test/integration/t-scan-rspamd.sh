#!/bin/bash
# t-scan-rspamd - a real rspamd (Debian's, with its own rules) as hostmilter's
# spam engine, through a real sendmail.
. "$(dirname "$0")/lib.sh"

hm_rundir scanrspamd
hm_sample_users
hm_cf_dir
RSPAMD_PORT=11433
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_sendmail_config 2548 "$(hm_milter_mc 2549)"
check "rspamd starts" hm_rspamd_start $RSPAMD_PORT
hm_milter_conf "Scanner rspamd http://127.0.0.1:$RSPAMD_PORT"
check "hostmilter starts with Scanner rspamd" hm_milter_start
check "sendmail starts" hm_sendmail_start
step() { grep -E "^$1" <<<"$2" | head -1; }

out=$(hm_send rs-gtube gtube -- info@example.com)
like "GTUBE scored by rspamd: 550 5.7.1 for info@ (reject at 15)" "$(step DATA "$out")" '^DATA 550 5\.7\.1 '
like "... logged with rspamd's score" "$(cat "$RUN/hostmilter.log")" 'reject rule=spam .*to=<info@example.com> score=15\.0'
out=$(hm_send rs-gtube-office gtube -- office@example.org)
like "GTUBE to office@ (no reject score): delivered" "$(step DATA "$out")" '^DATA 250 '
qf=$(hm_qf '\[SPAM\] rs-gtube-office')
like "... tagged with rspamd's symbols" "$(grep '^H??X-Spam-Status' "$qf")" 'Yes, score=15\.0 required=15\.0 tests=.*GTUBE'
out=$(hm_send rs-clean clean -- info@example.com)
like "clean message: delivered" "$(step DATA "$out")" '^DATA 250 '
status=$(grep '^H??X-Spam-Status' "$(hm_qf rs-clean)")
like "... with rspamd's score below the tag score" "$status" '^H..X-Spam-Status: No, score=-?[0-4]\.'
like "... rspamd was given the envelope (From, Rcpt headers of /checkv2)" "$status" 'FROM_EQ_ENVFROM.*|TO_MATCH_ENVRCPT'
done_testing
