#!/bin/bash
# t-explain - hostmapgen --explain against the real thing: for every address
# of the sample export (test/data/sample-resolution.txt, under every domain
# and alias domain, with +detail, unknown users, aliases and routes), the
# final recipients it names are those a real sendmail -bv names on the same
# installed maps (a sendmail.cf with virtusertable, aliases, mailertable and
# hostmilter's route mailers); and its policy, rate limit, route and relay
# answers hold what the sample export says.
. "$(dirname "$0")/lib.sh"
EXPECT=$HM_SRC/test/data/sample-resolution.txt

hm_rundir explain
hm_sample_users
hm_cf_dir
hm_sendmail_config 2613 "FEATURE(\`mailertable', \`hash -o $RUN/maps/mailertable')dnl
define(\`confHOSTMILTER_MAILERS', \`$RUN/maps/hostmilter-mailers.m4')dnl
FEATURE(\`hostmilter', \`unix:$RUN/milter.sock')dnl"
# The reload command rebuilds sendmail.cf, so the route on port 2603 gets its mailer (no daemon: -bv reads the .cf).
"$HOSTMAPGEN" -q -o "$RUN/maps" --reload-cmd "m4 $RUN/test.mc >$RUN/test.cf" "$SAMPLE_EXPORT" 2>/dev/null
is "hostmapgen installs the sample with its route active" "$(grep '^branch' "$RUN/maps/mailertable")" \
	$'branch.example\thm2603:[127.0.0.1]'

# Final recipients as "mailer:host:user" or "error:text", sorted, from sendmail -bv or --explain.
finals() {
	grep -F '... ' | sed -E -e 's/^.*\.\.\. deliverable: mailer ([^,]*), host ([^,]*), user (.*)$/\1:\2:\3/' \
		-e 's/^.*\.\.\. deliverable: mailer ([^,]*), user (.*)$/\1::\2/' \
		-e '/^[a-z0-9]+:/!s/^.*\.\.\. (.*)$/error:\1/' -e 's/:"(.*)"$/:\1/' -e 's/\.:/:/' | LC_ALL=C sort | paste -sd';'
}
explain() { "$HOSTMAPGEN" -o "$RUN/maps" --explain "$@"; }

addresses=$(grep -v '^#' "$EXPECT" | cut -f1; printf '%s\n' news postmaster xyz00-info xyz00-news lists+x@example.com \
	team+x@example.org orders@SHOP.example.net)
n=0
while read -r address; do
	[ -n "$address" ] || continue
	n=$((n + 1))
	bv=$(hm_bv "$address" | finals)
	got=$(explain "$address" | finals)
	is "--explain $address names what sendmail -bv names ($bv)" "$got" "$bv"
done <<<"$addresses"
check "compared $n addresses" test "$n" -ge 40

json=$("$HOSTMAPGEN" -o "$RUN/maps" --format json --explain sales@example.com)
is "JSON: ok, mode explain, exit 0" "$(jq -c '[.ok, .mode, .status]' <<<"$json")" '[true,"explain",0]'
is "JSON: the chain's steps, map by map" "$(jq -r '.explain.steps[] | "\(.map) \(.key)"' <<<"$json" | paste -sd,)" \
	"virtmaps sales@example.com,aliases sales=example.com"
is "JSON: the one mailbox it reaches decides (the outside copy does not count)" \
	"$(jq -r '.explain.recipient.mailbox' <<<"$json")" xyz00-sales
is "JSON: max_message_size from the mailbox" \
	"$(jq -c '.explain.recipient.policy[] | select(.key == "max_message_size") | [.value, .from.kind, .from.name]' <<<"$json")" \
	'["50M","mailbox","xyz00-sales"]'
is "JSON: virus from the export's defaults" \
	"$(jq -c '.explain.recipient.policy[] | select(.key == "virus") | [.value, .from.kind]' <<<"$json")" '["reject","defaults"]'
is "JSON: the mailbox's own rate limit" "$(jq -c '.explain.recipient.rate_limit.normal' <<<"$json")" \
	'{"unlimited":false,"recipients_per_hour":1000,"burst":1000,"from":"own"}'
out=$(explain nosuchuser@example.org)
like "text: example.org's reject score, from the domain" "$out" 'spam\.reject_score +10 +\(domain example\.org\)'
like "text: the discard score the defaults set (to null)" "$out" 'spam\.discard_score +none +\(defaults\)'
mkdir "$RUN/nospam"
jq 'del(.defaults.spam)' "$SAMPLE_EXPORT" >"$RUN/nospam.json"
"$HOSTMAPGEN" -q -o "$RUN/nospam" "$RUN/nospam.json" 2>/dev/null
like "text: a score nobody set is built in" "$("$HOSTMAPGEN" -o "$RUN/nospam" --explain nosuchuser@example.org)" \
	'spam\.tag_score +5 +\(built-in\)'
out=$(explain staff@example.com)
like "text: a mailbox's own setting wins (xyz00-office's virus)" "$out" 'virus +tag +\(mailbox xyz00-office\)'
out=$(explain nosuchuser@branch.example)
like "a routed domain's unlisted address: hostmilter refuses it" "$out" '550 5\.1\.1 User unknown'
like "... and the route says where its mail goes" "$out" 'route: routed, mailertable hm2603:\[127\.0\.0\.1\]'

out=$(explain 192.0.2.10)
like "a client in a relay network may relay, and says which" "$out" 'may relay \(network 192\.0\.2\.10/32\)'
like "... with Sendmail's access entry" "$out" 'sendmail access: Connect:192\.0\.2\.10 RELAY'
out=$(explain 127.77.0.9)
like "the most specific network of an address" "$out" 'network 127\.77\.0\.0/27'
like "an outside client may not relay" "$(explain 198.51.100.7)" 'may not relay'
like "an IPv6 client of 2001:db8:1::/48" "$(explain 2001:db8:1::25)" 'sendmail access: Connect:IPv6:2001:db8:1 RELAY'
like "auth xyz00-shop: may relay, with its own rate limit" "$(explain auth xyz00-shop)" \
	'60 recipients an hour, burst 5 \(own\)'
like "auth nobody: not a mailbox" "$(explain auth nobody)" 'may not relay: 550 5\.7\.1'
like "a certificate with its subject may relay" \
	"$(explain cert "/C=DE/O=IN-Berlin e.V./CN=IN-Berlin CA" /CN=site.in-berlin.de)" 'may relay \(certificate\)'
like "... another subject of that issuer may not" \
	"$(explain cert "/C=DE/O=IN-Berlin e.V./CN=IN-Berlin CA" /CN=other.example)" 'may not relay'
"$HOSTMAPGEN" -o "$RUN/nothing-here" --explain info@example.com >/dev/null 2>&1
is "without installed files: exit 3" "$?" 3
done_testing
