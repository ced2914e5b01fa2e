#!/bin/bash
# t-sample - sample-etc-mail/ is what it says: generated/ is exactly what
# hostmapgen makes of panel-export.json, and hostmilter.conf, with only its
# paths and its nodes' addresses changed to this machine's, runs a real
# sendmail against two real clamd nodes and a real spamd node.
# (t-feature builds the sample's sendmail.mc with the FEATURE.)
. "$(dirname "$0")/lib.sh"

hm_rundir sample
hm_sample_users
hm_cf_dir
SAMPLE=$HM_SRC/sample-etc-mail
CLAMD1=3313 CLAMD2=3314 SPAMD=7831 STATS=9896

# Sorted, because makemap -u lists a hash database in no fixed order.
"$SAMPLE/regenerate" -o "$RUN/generated" "$HOSTMAPGEN" 2>"$RUN/regenerate.err"
for f in "$SAMPLE"/generated/*; do
	n=$(basename "$f")
	is "generated/$n is what hostmapgen makes of the sample export" \
		"$(LC_ALL=C sort "$RUN/generated/$n" | md5sum)" "$(LC_ALL=C sort "$f" | md5sum)"
done
is "... and nothing is missing from generated/" "$(ls "$RUN/generated")" "$(ls "$SAMPLE/generated")"

# The sample configuration, moved onto this machine.
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE/panel-export.json" 2>/dev/null
hm_milter_user
mkdir -p "$RUN/milter" "$RUN/spool"
chown hostmilter "$RUN/milter" "$RUN/spool"
chmod 700 "$RUN/spool"
sed -e "s|unix:/run/hostmilter/|unix:$RUN/milter/|" -e "s|/run/hostmilter/hostmilter.pid|$RUN/milter/hostmilter.pid|" \
	-e "s|/etc/mail/hostmilter.db|$RUN/maps/hostmilter.db|" -e "s|/var/spool/hostmilter|$RUN/spool|" \
	-e "s|10\.0\.0\.11:3310|127.0.0.1:$CLAMD1|" -e "s|10\.0\.0\.12:3310|127.0.0.1:$CLAMD2|" \
	-e "s|10\.0\.0\.21:783|127.0.0.1:$SPAMD|" -e "s|127\.0\.0\.1:9899|127.0.0.1:$STATS|" \
	"$SAMPLE/hostmilter.conf" >"$RUN/hostmilter.conf"
is "only paths and addresses changed" "$(diff "$SAMPLE/hostmilter.conf" "$RUN/hostmilter.conf" | grep -c '^>')" 10
out=$("$HOSTMILTER" -n -c "$RUN/hostmilter.conf" 2>&1)
like "hostmilter -n accepts the sample configuration" "$out" 'configuration, policy database and 2 scanners OK'

hm_clamav_db "$RUN/clamdb"
check "clamd node 1 starts" hm_clamd_start $CLAMD1 100M clamd1
check "clamd node 2 starts" hm_clamd_start $CLAMD2 100M clamd2
check "spamd node starts" hm_spamd_start $SPAMD
hm_sendmail_config 2552 "$(hm_milter_mc 2553)"
check "hostmilter starts with the sample configuration" hm_milter_start
check "sendmail starts" hm_sendmail_start

step() { grep -E "^$1" <<<"$2" | head -1; }
printf '%s' "$EICAR" >"$RUN/eicar.txt"
for i in 1 2; do
	out=$(hm_send "clean-$i" clean -- info@example.com)
	like "clean message $i delivered" "$(step DATA "$out")" '^DATA 250 '
done
like "... scanned for viruses by clamd" "$(grep '^H??X-Virus-Scanned' "$(hm_qf clean-2)")" 'X-Virus-Scanned: clamd by hostmilter'
like "... and for spam" "$(grep '^H??X-Spam-Status' "$(hm_qf clean-2)")" 'No, score='
out=$(hm_send eicar attach "$RUN/eicar.txt" -- info@example.com)
like "EICAR refused by the clamd cluster" "$(step DATA "$out")" '^DATA 554 5\.7\.1'
out=$(hm_send gtube gtube -- info@example.com)
like "GTUBE refused by the spamd node" "$(step DATA "$out")" '^DATA 550 5\.7\.1'

prom=$(curl -sS --max-time 5 "http://127.0.0.1:$STATS/metrics")
scans() { awk -v k="hostmilter_scanner_node_scans_total{engine=\"$1\",node=\"tcp:127.0.0.1:$2\"}" \
	'$1 == k { print $2 }' <<<"$prom"; }
like "the statistics show clamd node 1 took its share" "$(scans clamd $CLAMD1)" '^[1-9]'
like "... and clamd node 2" "$(scans clamd $CLAMD2)" '^[1-9]'
like "... and the spamd node" "$(scans spamd $SPAMD)" '^[1-9]'
done_testing
