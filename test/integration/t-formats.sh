#!/bin/bash
# t-formats: the .db files are what Sendmail's own tools write.  makemap -u
# of virtmaps.db, access.db and mailertable.db equals makemap's own build of
# the same text (byte for byte, as db_dump shows the records);
# aliases.db holds what newaliases stores (NUL-terminated, "@" sentinel) and
# sendmail reads it without asking for a rebuild; hostmilter.db holds the
# documented records.
. "$(dirname "$0")/lib.sh"

hm_rundir formats
hm_sample_users
# --reload-cmd true: the route of branch.example written for real (hostmapgen(8), Routes).
"$HOSTMAPGEN" -q --reload-cmd true -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
mkdir -p "$RUN/ref"
chmod 755 "$RUN/ref"

# An admin's own route survives every run, goes into the .db, and wins over a generated one.
{ printf 'admin-route.example\tesmtp:[192.0.2.99]\nbranch.example\tesmtp:[192.0.2.98]\n'; cat "$RUN/maps/mailertable"; } \
	>"$RUN/mailertable.new" && mv "$RUN/mailertable.new" "$RUN/maps/mailertable"
"$HOSTMAPGEN" -q --reload-cmd true -o "$RUN/maps" "$SAMPLE_EXPORT" 2>"$RUN/admin.err"
like "mailertable: the admin's line survives a run" "$(cat "$RUN/maps/mailertable")" $'^admin-route\.example\tesmtp:\[192\.0\.2\.99\]$'
like "mailertable.db: the admin's route, over the generated one for the same domain" \
	"$(hm_makemap_dump "$RUN/maps/mailertable")" $'^branch\.example\tesmtp:\[192\.0\.2\.98\]$'
like "... and hostmapgen says so" "$(cat "$RUN/admin.err")" 'branch\.example'

pairs() { db_dump -p "$1" | sed -n '/^HEADER=END/,/^DATA=END/p' | sed '1d;$d' | paste - - | LC_ALL=C sort; }
for map in virtmaps access mailertable; do
	cp "$RUN/maps/$map" "$RUN/ref/$map"
	check "makemap accepts hostmapgen's $map text without complaint" \
		bash -c "makemap hash '$RUN/ref/$map' < '$RUN/ref/$map' 2>&1 | grep -q . && exit 1 || exit 0"
	is "makemap -u of hostmapgen's $map.db equals makemap's build of the same text" \
		"$(hm_makemap_dump "$RUN/maps/$map")" "$(hm_makemap_dump "$RUN/ref/$map")"
	is "$map.db holds the very records makemap writes (db_dump)" "$(pairs "$RUN/maps/$map.db")" \
		"$(pairs "$RUN/ref/$map.db")"
	like "$map.db keys are folded and carry no NUL" "$(db_dump -p "$RUN/maps/$map.db")" \
		'^ (from:spammer@bad\.example|info@example\.com|branch\.example)$'
done

# pairs (above): the record pairs of a hash .db as db_dump prints them, one "key value" line each, sorted.

cp "$RUN/maps/aliases" "$RUN/ref/aliases"
sendmail -bi -OAliasFile="$RUN/ref/aliases" >/dev/null 2>&1
is "aliases.db holds exactly what newaliases stores for the same text" "$(pairs "$RUN/maps/aliases.db")" \
	"$(pairs "$RUN/ref/aliases.db")"
like "aliases.db has the @ sentinel" "$(pairs "$RUN/maps/aliases.db")" '^ @\\00	 @\\00$'
like "aliases.db keys and values end in NUL" "$(pairs "$RUN/maps/aliases.db")" '^ postmaster\\00	 root\\00$'

hm_sendmail_config 2527
before=$(stat -c %Y.%i "$RUN/maps/aliases.db")
out=$(hm_bv staff@example.com)
like "sendmail expands an alias from hostmapgen's aliases.db" "$out" 'user xyz00-office'
check "sendmail does not call the aliases.db out of date" bash -c "! grep -qi 'out of date\|rebuild' <<<'$out'"
is "sendmail did not rebuild aliases.db" "$(stat -c %Y.%i "$RUN/maps/aliases.db")" "$before"

policy=$(makemap -u hash "$RUN/maps/hostmilter")
like "hostmilter.db: format record" "$policy" $'^@format\thostmilter-policy 3$'
like "hostmilter.db: digest record" "$policy" $'^@digest\t[0-9a-f]{64}$'
like "hostmilter.db: address owner through an alias that shadows a mailbox" "$policy" $'^A:staff@example.com\txyz00-office$'
like "hostmilter.db: mailboxes of a multi-target address" "$policy" $'^A:team@example.org\txyz00-info,xyz00-office$'
like "hostmilter.db: alias domain names its real domain" "$policy" $'^D:example.net\t.*"kind":"alias".*"canonical":"example.com"'
rules=$(sed -nE 's/^D:example.com\t.*"rules":([0-9]+).*/\1/p' <<<"$policy")
like "hostmilter.db: the domain's rule set holds its limit, and only what it sets" "$policy" \
	"^R:$rules"$'\t\\{"max_size":67108864\\}$'
like "hostmilter.db: backup-MX domain" "$policy" $'^D:backup.example\t.*"kind":"backup"'
like "hostmilter.db: mailbox send_as" "$policy" $'^M:xyz00-info\t.*"send_as":\\["sales@example.com","@example.org"\\]'
like "hostmilter.db: relay networks, with their rate limits" "$policy" $'^@relay-networks\t192.0.2.10/32\t0\t0'
done_testing
