#!/bin/bash
# t-probe - the probe list of issue 24 (about 150 sender and recipient forms),
# each sent through a real sendmail whose only guard is hostmilter, and each
# decision compared with Sendmail's own reading of the form: sendmail -bv,
# -bt rulesets 3 and 3,0, and an oracle sendmail with the same maps but
# without hostmilter and without promiscuous_relay, whose own relay check is
# the reference (probe-table.py says which rule compares what).
# Ports: 2631 (MTA), 2632 (MSA), 2633 (the oracle).
. "$(dirname "$0")/lib.sh"

MTA=2631 MSA=2632 ORACLE=2633
hm_rundir probe
hm_sample_users
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>"$RUN/hostmapgen.err" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_sendmail_config $MTA "$(hm_milter_mc $MSA)"
hm_milter_conf
for u in xyz00-info xyz00-office; do hm_sasl_user "$u" "secret-$u"; done
check "hostmilter starts" hm_milter_start
check "sendmail starts" hm_sendmail_start
check "... with its MSA" hm_wait_port $MSA

# The oracle: the same maps and daemon, no hostmilter, Sendmail's own relay check.
sed -e '/promiscuous_relay/d' -e '/FEATURE(`hostmilter'"'"'/d' -e "s/Port=$MTA,/Port=$ORACLE,/" \
	-e '/Name=MSA/d' -e "s|$RUN/sendmail.pid|$RUN/oracle.pid|" -e "s|$RUN/queue|$RUN/oracle-queue|" \
	"$RUN/test.mc" >"$RUN/oracle.mc"
m4 "$RUN/oracle.mc" >"$RUN/oracle.cf" 2>/dev/null
mkdir -p "$RUN/oracle-queue" && chmod 700 "$RUN/oracle-queue"
oracle_stop() { [ -s "$RUN/oracle.pid" ] && kill "$(head -1 "$RUN/oracle.pid")" 2>/dev/null; }
trap 'oracle_stop; hm_cleanup' EXIT
sendmail -C "$RUN/oracle.cf" -bd -q30m
check "the oracle sendmail starts" hm_wait_port $ORACLE
out=$(python3 "$SMTP_PROBE" $ORACLE --source 127.0.0.5 --to friend@elsewhere.example --quit-after rcpt)
like "the oracle refuses to relay by itself" "$(grep '^RCPT' <<<"$out")" ' 550 5\.7\.1 '

# The export's mailboxes, and root, which hostmapgen counts as one (the system's).
mailboxes=$(jq -r '[.mailboxes[].name, "root"] | join(",")' "$SAMPLE_EXPORT")
export HM_SASL_REPAIR=1	# /etc/sasldb2 is shared with the tests of other checkouts
forms=0
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }"; forms=$((forms + 1)) ;;
	"FAIL "*) not_ok "${line#FAIL }"; forms=$((forms + 1)) ;;
	"# "*) echo "$line" ;;
	*) diag "probe-table: $line" ;;
	esac
done < <(python3 "$HM_SRC/test/integration/probe-table.py" "$RUN/test.cf" $MTA $MSA $ORACLE "$RUN/hostmilter.log" \
	"$mailboxes" 2>&1)
check "the probe list was compared in full ($forms comparisons)" test "$forms" -ge 150

done_testing
