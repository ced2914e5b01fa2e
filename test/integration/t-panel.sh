#!/bin/bash
# t-panel - what a control panel gets: one JSON document per run (--check,
# --dry-run, --diff, install; hostmilter -n), all errors of an export at once
# (invalid UTF-8 at its string's path too), distinct exit statuses with 6 for
# "would change", --diff per object in every file (hostmilter.db included),
# in text and JSON, and a rerun that says plainly that nothing changed.
. "$(dirname "$0")/lib.sh"

hm_rundir panel
M=$RUN/maps
mg() { "$HOSTMAPGEN" -o "$M" "$@"; }

out=$(mg --format json --check "$SAMPLE_EXPORT" 2>"$RUN/err")
is "--check --format json: exit 0" "$?" 0
is "... one document on stdout, nothing on stderr" "$(jq -c '[.ok, .status, .mode, .export.addresses]' <<<"$out") $(wc -c <"$RUN/err")" \
	'[true,0,"check",11] 0'
is "... the sample's one warning, with path and code" "$(jq -c '.warnings[] | [.path, .code]' <<<"$out")" \
	'["/aliases/1/name","alias_shadows_mailbox"]'

# Many errors at once, one of them invalid UTF-8: every one reported, each with its JSON Pointer.
jq '.mailboxes[3].name = "XYZ00-News" | .domains[1].addresses[0].deliver = ["nobody-known"]
	| .server.hostname = "localhost" | .mailboxes[1].spam = {"reject_score": -1000}' "$SAMPLE_EXPORT" |
	sed 's/moved, write/moved,\xff write/' >"$RUN/bad.json"
out=$(mg --format json --check "$RUN/bad.json")
is "an invalid export: exit 1" "$?" 1
is "... every error, in one run, with path and code" "$(jq -r '.errors[] | "\(.path) \(.code)"' <<<"$out" | LC_ALL=C sort | paste -sd,)" \
	"/domains/0/addresses/5/reject invalid_utf8,/domains/1/addresses/0/deliver/0 unknown_target,/mailboxes/1/spam/reject_score score_not_positive,/mailboxes/3/name invalid_mailbox_name,/server/hostname hostname_not_qualified"
is "... ok is false" "$(jq .ok <<<"$out")" false
err=$(mg --check "$RUN/bad.json" 2>&1)
like "the text form names the path and the code" "$err" \
	'error: domains\[0\]\.addresses\[5\]\.reject: this string is not valid UTF-8.*\[invalid_utf8\]'
like "... and counts them" "$err" 'export is invalid \(5 errors\); nothing written'
printf '{"version": 1,\n "server": {"hostname": "a.example"}\n "domains": []}' >"$RUN/syntax.json"
out=$(mg --format json --check "$RUN/syntax.json")
is "not JSON: exit 1, json_syntax with line and column" "$? $(jq -r '.errors[0].code' <<<"$out")" "1 json_syntax"
like "... in the message" "$(jq -r '.errors[0].message' <<<"$out")" 'syntax.json:3:2: not valid JSON'

out=$(mg --format json "$SAMPLE_EXPORT")
is "install: exit 0 (or 5 for the reload)" "$?" 0
is "... the files it changed" "$(jq -c '[.mode, .changed, (.files | length)]' <<<"$out")" '["install",true,12]'
is "... and the reload left to the admin" "$(jq -c '[.reload.outcome, .reload.due]' <<<"$out")" \
	'["left to the admin",["sendmail.cw","hostmilter-mailers.m4"]]'
out=$(mg "$SAMPLE_EXPORT" 2>/dev/null)
like "a rerun with nothing to change says so plainly" "$out" \
	'^hostmapgen: (5 domains, 11 addresses, 5 mailboxes, 3 aliases; )?nothing changed: the installed files already match the export$'
unlike "... not \"0 files changed\"" "$out" '0 files changed|0 domains'
out=$(mg --dry-run "$SAMPLE_EXPORT" 2>/dev/null)
is "--dry-run with nothing to change: exit 0" "$?" 0
like "... and says so" "$out" 'nothing would change: the installed files already match the export$'

# A change only hostmilter.db holds: a mailbox's reject score, another's rate limit.
jq '.mailboxes[0].spam = {"reject_score": 8} | .mailboxes[1].rate_limit.recipients_per_hour = 50' \
	"$SAMPLE_EXPORT" >"$RUN/policy.json"
before=$(hm_fingerprint "$M")
out=$(mg --dry-run "$RUN/policy.json" 2>/dev/null)
is "--dry-run with a change: exit 6" "$?" 6
like "... naming hostmilter.db" "$out" '1 file would change: hostmilter\.db$'
out=$(mg --diff "$RUN/policy.json" 2>/dev/null)
is "--diff with a change: exit 6" "$?" 6
like "--diff shows a hostmilter.db change per object" "$out" '^mailbox xyz00-info: spam\.reject_score \(inherited\) -> 8$'
like "... and the other one" "$out" '^mailbox xyz00-sales: rate_limit\.recipients_per_hour 1000 -> 50$'
out=$(mg --check --diff "$RUN/policy.json" 2>/dev/null)
is "--check --diff is not --check alone: it diffs too (exit 6)" "$?" 6
like "... and shows the change" "$out" 'spam\.reject_score'
out=$(mg --format json --diff "$RUN/policy.json")
is "--diff --format json: the changes as objects" \
	"$(jq -c '.changes[] | [.file, .object, .name, .key, .old, .new]' <<<"$out" | paste -sd' ')" \
	'["hostmilter.db","mailbox","xyz00-info","spam.reject_score",null,8] ["hostmilter.db","mailbox","xyz00-sales","rate_limit.recipients_per_hour",1000,50]'
is "... status 6, ok true, changed true" "$(jq -c '[.status, .ok, .changed]' <<<"$out")" '[6,true,true]'
is "neither --dry-run nor --diff wrote anything" "$(hm_fingerprint "$M")" "$before"

# Every output file: text maps, the mailers file, hostmilter.db.
jq '.domains[1].addresses += [{"local": "new", "deliver": ["xyz00-office", "boss@partner.example"]}]
	| .domains += [{"name": "other.example", "addresses": [{"local": "x"}], "route": {"host": "192.0.2.9", "port": 2700}}]
	| .relay.clients[0].rate_limit = {"recipients_per_hour": 10}
	| .access += [{"key": "Connect:198.51.100.7", "value": "REJECT"}]' "$SAMPLE_EXPORT" >"$RUN/more.json"
out=$(mg --diff "$RUN/more.json" 2>/dev/null)
for want in '^address new@example\.org: virtmaps \(none\) -> new=example\.org$' \
	'^address new@example\.org: aliases \(none\) -> xyz00-office, boss@partner\.example$' \
	'^address new@example\.org: added in hostmilter\.db: mailboxes xyz00-office$' \
	'^access To:other\.example: access \(none\) -> RELAY$' \
	'^access Connect:198\.51\.100\.7: access \(none\) -> REJECT$' \
	'^route other\.example: mailertable \(none\) -> error:4\.3\.5' \
	'^mailer hm2700: hostmilter-mailers\.m4 \(none\) -> Mhm2700' \
	'^domain other\.example: added in hostmilter\.db: kind routed' \
	'^relay-network 192\.0\.2\.10/32: rate_limit\.recipients_per_hour 0 -> 10$'; do
	like "--diff: $want" "$out" "$want"
done

# hostmilter -n --format json: the configuration's problems with code, key and line.
printf 'Socket unix:%s/milter/s.sock\nBogus 1\nMaxRecipients 0\nScanner none\n' "$RUN" >"$RUN/bad.conf"
out=$("$HOSTMILTER" -n --format json -c "$RUN/bad.conf" 2>"$RUN/err")
is "hostmilter -n --format json: exit 78, nothing on stderr" "$? $(wc -c <"$RUN/err")" "78 0"
is "... each problem with path, code and line" "$(jq -c '.errors[] | [.path, .code, .line]' <<<"$out" | paste -sd' ')" \
	'["/Bogus","unknown_key",2] ["/MaxRecipients","invalid_value",3]'
hm_milter_conf
chmod 644 "$M/hostmilter.db"
out=$("$HOSTMILTER" -n --format json -c "$RUN/hostmilter.conf" 2>/dev/null)
is "... a good configuration: ok, exit 0" "$? $(jq -c '[.ok, .errors, .scanners]' <<<"$out")" '0 [true,[],0]'
"$HOSTMILTER" --format json -c "$RUN/hostmilter.conf" >/dev/null 2>&1
is "... --format without -n is a usage error (2)" "$?" 2
done_testing
