#!/bin/bash
# t-milter - hostmilter's rules, judged through a real sendmail over SMTP.
#
# The sendmail is built with FEATURE(`promiscuous_relay'), so every refusal
# seen here comes from hostmilter; its MSA port does not demand AUTH by
# itself, so the 530 comes from hostmilter too.  Clients connect from
# several 127.x addresses; 127.77.0.0/27 is the sample's customer network.
. "$(dirname "$0")/lib.sh"

hm_rundir milter
hm_sample_users
hm_cf_dir
MSA_PORT=2531
# The sample, with a small limit on example.org so that counting the body
# can be shown without sending 64 MB.
jq '(.domains[] | select(.name == "example.org")).max_message_size = "100K"' "$SAMPLE_EXPORT" >"$RUN/export.json"
"$HOSTMAPGEN" -q -o "$RUN/maps" "$RUN/export.json" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_sendmail_config 2530 "$(hm_milter_mc $MSA_PORT)"
hm_milter_conf
hm_sasl_user xyz00-info secret-info
hm_sasl_user xyz00-sales secret-sales
hm_sasl_user stranger secret-stranger
check "hostmilter starts" hm_milter_start
check "sendmail starts with FEATURE(hostmilter)" hm_sendmail_start

# step LINE_PREFIX OUTPUT: the reply of one step, e.g. "RCPT <x@y> 550 5.7.1".
step() { grep -E "^$1" <<<"$2" | head -1; }

out=$(hm_probe --source 127.0.0.5 --to friend@elsewhere.example --quit-after rcpt)
like "relay from outside refused" "$(step RCPT "$out")" '^RCPT <friend@elsewhere.example> 550 5\.7\.1 .*Relaying denied'
out=$(hm_probe --source 127.77.0.5 --to friend@elsewhere.example)
like "relay from the customer /27 accepted" "$(step RCPT "$out")" ' 250 '
like "... and the message taken" "$(step DATA "$out")" '^DATA 250 '
out=$(hm_probe --source 127.77.0.32 --to friend@elsewhere.example --quit-after rcpt)
like "relay from just outside the /27 refused" "$(step RCPT "$out")" ' 550 5\.7\.1 '
out=$(hm_probe --source 127.0.0.5 --auth xyz00-info:secret-info --from info@example.com --to friend@elsewhere.example)
like "relay with AUTH accepted" "$(step DATA "$out")" '^DATA 250 '
out=$(hm_probe --source 127.0.0.5 --to info@example.com)
like "local recipient from outside accepted" "$(step DATA "$out")" '^DATA 250 '
out=$(hm_probe --source 127.0.0.5 --to Info@EXAMPLE.NET --quit-after rcpt)
like "alias domain in odd case is local" "$(step RCPT "$out")" ' 250 '
out=$(hm_probe --source 127.0.0.5 --to someone@backup.example --quit-after rcpt)
like "backup-MX domain relayed for anyone" "$(step RCPT "$out")" ' 250 '

# Recipient tricks aimed at another host: refused whoever parses them.
for trick in 'friend%elsewhere.example@example.com' 'elsewhere.example!friend@example.com' \
	'@example.com:friend@elsewhere.example' '"friend@elsewhere.example"@example.com' \
	'friend@[127.0.0.9]' 'friend@elsewhere.example.' 'elsewhere.example!friend' \
	'FRIEND@ELSEWHERE.EXAMPLE'; do
	out=$(hm_probe --source 127.0.0.5 --to "$trick" --quit-after rcpt)
	like "trick refused: $trick" "$(step RCPT "$out")" ' 5[0-9][0-9] '
done

# Submission: AUTH first, and only as what the user owns.
SM_MTA=$SM_PORT
SM_PORT=$MSA_PORT
out=$(hm_probe --source 127.0.0.5 --from info@example.com --to info@example.com --quit-after mail)
like "submission without AUTH: 530 5.7.0" "$(step MAIL "$out")" '^MAIL 530 5\.7\.0 '
out=$(hm_probe --source 127.0.0.5 --auth stranger:secret-stranger --from stranger@example.com --to info@example.com --quit-after mail)
like "AUTH user who is no mailbox: 550 5.7.1" "$(step MAIL "$out")" '^MAIL 550 5\.7\.1 '
out=$(hm_probe --source 127.0.0.5 --auth xyz00-info:secret-info --from ceo@bank.example --to info@example.com --quit-after mail)
like "spoofed sender: 553 5.7.1" "$(step MAIL "$out")" '^MAIL 553 5\.7\.1 '
out=$(hm_probe --source 127.0.0.5 --auth xyz00-info:secret-info --from orders@shop.example --to info@example.com --quit-after mail)
like "another mailbox's address: 553 5.7.1" "$(step MAIL "$out")" '^MAIL 553 5\.7\.1 '
for sender in info@example.com INFO@example.net sales@example.com office@example.org anything@example.com; do
	out=$(hm_probe --source 127.0.0.5 --auth xyz00-info:secret-info --from "$sender" --to friend@elsewhere.example)
	like "xyz00-info may send as $sender" "$(step DATA "$out")" '^DATA 250 '
done
out=$(hm_probe --source 127.0.0.5 --auth xyz00-sales:secret-sales --from sales@example.com --size $((60 * 1024 * 1024)) --to info@example.com --quit-after mail)
like "SIZE= over the mailbox's 50M: 552 5.3.4 at MAIL" "$(step MAIL "$out")" '^MAIL 552 5\.3\.4 '
SM_PORT=$SM_MTA

out=$(hm_probe --source 127.0.0.5 --size $((70 * 1024 * 1024)) --to info@example.com --to friend@backup.example --quit-after rcpt)
like "SIZE= over example.com's 64M: 552 5.3.4 at RCPT" "$(step 'RCPT <info' "$out")" ' 552 5\.3\.4 '
like "... while the backup-MX recipient is taken" "$(step 'RCPT <friend' "$out")" ' 250 '
out=$(hm_probe --source 127.0.0.5 --to office@example.org --body-bytes 300000)
like "body over example.org's 100K, no SIZE=: 552 5.3.4" "$(step DATA "$out")" '^DATA 552 5\.3\.4 '
out=$(hm_probe --source 127.0.0.5 --to office@example.org --body-bytes 90000)
like "body under the limit accepted" "$(step DATA "$out")" '^DATA 250 '
out=$(hm_probe --source 127.0.0.5 --from bulk@spam.example --to info@example.com --quit-after rcpt)
like "block_senders of the recipient domain: 550 5.7.1" "$(step RCPT "$out")" ' 550 5\.7\.1 '

# One log line per decision, naming queue id, client, user, sender, recipient and rule.
log=$(cat "$RUN/hostmilter.log")
like "log: relay refusal" "$log" '[A-Za-z0-9]+: reject rule=relay client=127\.0\.0\.5 auth=- from=<sender@client\.example> to=<friend@elsewhere\.example> reply="550 5\.7\.1"'
like "log: spoofed sender" "$log" 'reject rule=sender-not-owned client=127\.0\.0\.5 auth=xyz00-info from=<ceo@bank\.example>'
like "log: network relay accepted" "$log" 'accept rule=network client=127\.77\.0\.5 .*to=<friend@elsewhere\.example>'
like "log: size counted" "$log" 'reject rule=size-counted .*reply="552 5\.3\.4"'

done_testing
