#!/bin/bash
# t-resolve: a real sendmail, configured on hostmapgen's maps of the sample
# export, resolves every address to exactly its targets (sendmail -bv) and
# answers refused ones with 550 5.1.1 over SMTP.
. "$(dirname "$0")/lib.sh"
EXPECT=$HM_SRC/test/data/sample-resolution.txt

hm_rundir resolve
hm_sample_users
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
check "hostmapgen writes the sample maps" test -s "$RUN/maps/virtmaps.db"
hm_sendmail_config 2526

# Normalises sendmail -bv output to the table's notation, sorted.
resolve() {
	hm_bv "$1" | sed -E \
		-e 's/^.*deliverable: mailer local, user (.*)$/local:\1/' \
		-e 's/^.*deliverable: mailer esmtp, host [^,]*, user (.*)$/esmtp:\1/' \
		-e 's/^.*deliverable: mailer prog, .*$/prog/' \
		-e 's/^.*\.\.\. User unknown$/unknown/' \
		-e '/^(local|esmtp|prog|unknown)/!s/^[^ ]*\.\.\. (.*)$/reject:\1/' | LC_ALL=C sort | paste -sd';'
}

# Every address the export defines must have an expectation.
enumerated=$(jq -r '.domains[] | select(.backup_mx != true) | .name as $d | ([$d] + (.aliases // [])) as $names
	| $names[] as $n | (((.addresses // [])[] | "\(.local)@\($n)"), "postmaster@\($n)", "nosuchuser@\($n)")' "$SAMPLE_EXPORT";
	jq -r '.domains[] | select(.backup_mx == true) | "someone@\(.name)"' "$SAMPLE_EXPORT")
missing=$(comm -23 <(printf '%s\n' "$enumerated" | LC_ALL=C sort -u) <(grep -v '^#' "$EXPECT" | cut -f1 | LC_ALL=C sort -u))
is "every address of the sample export has an expected resolution" "$missing" ""

while IFS=$'\t' read -r address want; do
	case $address in '#'* | '') continue ;; esac
	want=$(printf '%s\n' "$want" | tr ';' '\n' | LC_ALL=C sort | paste -sd';')
	is "sendmail -bv $address -> $want" "$(resolve "$address")" "$want"
done <"$EXPECT"

hm_sendmail_start
like "SMTP: a rejected address gets 550 5.1.1 with its text" "$(hm_smtp_reply 127.0.0.1 old@example.com)" \
	'^550 5\.1\.1 .*moved, write to info@example\.com$'
like "SMTP: an unknown user of a domain without catch-all gets 550 5.1.1" \
	"$(hm_smtp_reply 127.0.0.1 nosuchuser@example.org)" '^550 5\.1\.1 .*User unknown'
like "SMTP: a system account is not reachable under a hosted domain" "$(hm_smtp_reply 127.0.0.1 root@example.org)" \
	'^550 5\.1\.1'
like "SMTP: postmaster of every hosted domain is accepted" "$(hm_smtp_reply 127.0.0.9 postmaster@shop.example.net)" '^250 '
like "SMTP: a known address is accepted from outside" "$(hm_smtp_reply 127.0.0.9 staff@example.net)" '^250 '
like "SMTP: the backup-MX domain is relayed for an outside client" "$(hm_smtp_reply 127.0.0.9 someone@backup.example)" '^250 '
like "SMTP: other outside destinations are not relayed" "$(hm_smtp_reply 127.0.0.9 someone@elsewhere.example)" \
	'^550 5\.7\.1 .*Relaying denied'
done_testing
