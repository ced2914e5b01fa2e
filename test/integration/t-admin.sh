#!/bin/bash
# t-admin: lines an admin writes outside the generated block survive every
# run, reach the .db, and win over a generated line with the same key, with
# a warning naming the key.
. "$(dirname "$0")/lib.sh"

hm_rundir admin
hm_sample_users
M=$RUN/maps
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null
hm_sendmail_config 2529

{ printf '# the admin was here\nvip@example.com\txyz00-office\nBOSS@example.com\txyz00-info\n'; cat "$M/virtmaps"; printf 'late@example.org\txyz00-sales\n'; } >"$M/virtmaps.new"
mv "$M/virtmaps.new" "$M/virtmaps"
printf 'extra: xyz00-office\n' >>"$M/aliases"
printf 'Connect:127.88.0.1\tRELAY\n' >>"$M/access"
printf 'admin-added.example\n' >>"$M/sendmail.cw"

err=$("$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>&1 >/dev/null)
is "hostmapgen succeeds with admin lines around the block" "$?" 0
like "the warning names the key the admin's line overrides" "$err" \
	'virtmaps: the admin.s line for "boss@example.com" overrides the generated entry'
text=$(cat "$M/virtmaps")
like "admin lines before the block survive" "$text" '^vip@example\.com	xyz00-office$'
like "admin lines after the block survive" "$text" '^late@example\.org	xyz00-sales$'
like "the shadowed generated line is kept as a comment" "$text" "^# overridden by the admin's line: boss@example.com	boss@partner.example$"
dump=$(hm_makemap_dump "$M/virtmaps")
like "admin lines reach virtmaps.db" "$dump" '^vip@example\.com	xyz00-office$'
like "the admin's value wins in virtmaps.db" "$dump" '^boss@example\.com	xyz00-info$'
like "sendmail resolves the admin's address" "$(hm_bv vip@example.com)" 'user xyz00-office'
like "sendmail follows the admin's line over the generated one" "$(hm_bv boss@example.com)" 'user xyz00-info'
like "an admin alias reaches aliases.db" "$(hm_bv extra)" 'user xyz00-office'
is "an admin access line reaches access.db" \
	"$(printf '/map access Connect:127.88.0.1\n' | hm_sendmail -bt | grep -o 'returns [A-Z]*')" "returns RELAY"
like "an admin line in sendmail.cw survives" "$(cat "$M/sendmail.cw")" '^admin-added\.example$'

before=$(hm_fingerprint "$M")
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null
is "a rerun keeps everything, admin lines included, untouched" "$(hm_fingerprint "$M")" "$before"

printf 'rerun@example.com\txyz00-sales\n' >>"$M/virtmaps"
"$HOSTMAPGEN" -q -o "$M" "$SAMPLE_EXPORT" 2>/dev/null
like "an admin edit made between runs reaches the .db on the next run" "$(hm_makemap_dump "$M/virtmaps")" \
	'^rerun@example\.com	xyz00-sales$'
done_testing
