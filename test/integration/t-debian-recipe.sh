#!/bin/bash
# t-debian-recipe - README.Debian, word for word, on this machine's own
# Debian sendmail (issue 25).  The package is built (as t-deb builds it) and
# README.Debian is read from it; every block of its recipe is applied as it
# stands (readme-recipe.py says which blocks there are: shell commands,
# lines for sendmail.mc, a replacement in it) to the stock /etc/mail.
# systemd is not PID 1 here: "systemctl" is systemctl-shim, which runs the
# installed units' own commands as systemd would; "apt" is apt-get without
# questions (apt-shim).  Sendmail is (re)started by Debian's init script.
#
# Then real SMTP to the system's sendmail on 127.0.0.1:25 and :587: relaying
# refused to an outside client (127.0.0.5), relaying with AUTH, a virus
# refused, a clean message delivered to a mailbox, an unknown user refused,
# the sample's route relayed to the customer's server (a private sendmail on
# 127.0.0.1:2603).  A second export (a domain added, a route on a new
# port, a mailbox removed), written as the panel writes it, takes effect
# through hostmapgen.path alone: its reload command rebuilds sendmail.cf
# with the new route's mailer and reloads Sendmail.  Debian's files keep their owners, modes and links throughout;
# Debian's /etc/mail/Makefile (the init script's "make") and newaliases
# redo nothing hostmapgen wrote; installing and purging the package change
# none of Debian's files.  /etc/mail and /etc/aliases are saved with tar
# first and restored at the end, whatever happens.
#
# Stand-ins for what this machine lacks, named as such: the ClamAV
# signatures freshclam would fetch (a sigtool database of clamav-testfiles
# in /var/lib/clamav, removed after), the mailboxes' system users the panel
# would make, a syslog daemon (syslog-catcher.py as /dev/log in a mount
# namespace of the test's own).
#
# Ports 25 and 587 (the system's sendmail), 2603 and 2604 (the routes' servers).
# Holds t-deb's lock as well: both install the package system-wide.
. "$(dirname "$0")/lib.sh"

if [ -z "${HM_RECIPE_INNER:-}" ]; then
	mkdir -p "$HM_TEST_ROOT"
	ns=(env)
	unshare --mount --propagation private true 2>/dev/null && ns=(unshare --mount --propagation private env HM_RECIPE_NS=1)
	HM_RECIPE_INNER=1 exec flock "$HM_TEST_ROOT/.lock.t-deb" "${ns[@]}" bash "$0" "$@"
fi

hm_rundir debian-recipe
SAVED=$HM_TEST_ROOT/debian-recipe.etc.tar	# outside $RUN: it must outlive a failed run
UNITS=$RUN/units
SHIMS=$RUN/shims
DEB_DIR=$RUN/build
CUSTOMER=$RUN/customer
CUSTOMER2=$RUN/customer2
CLAMDB=/var/lib/clamav/hostmilter-test.hdb
mkdir -p "$SHIMS" "$UNITS"
ln -s "$HM_SRC/test/integration/systemctl-shim" "$SHIMS/systemctl"
ln -s "$HM_SRC/test/integration/apt-shim" "$SHIMS/apt"

# ---- a syslog of our own: /dev/log in this mount namespace only (the host's /dev untouched) ----
HM_SYSLOG=
if [ -n "${HM_RECIPE_NS:-}" ] && [ ! -e /dev/log ]; then
	hm_bg python3 "$HM_SRC/test/integration/syslog-catcher.py" "$RUN/syslog.sock" "$RUN/syslog.txt"
	if hm_wait 5 test -S "$RUN/syslog.sock" && mkdir -p "$RUN/dev" &&
		mount -t tmpfs -o mode=755 hm-recipe-dev "$RUN/dev" && cp -a /dev/. "$RUN/dev/" && : >"$RUN/dev/log" &&
		mount --bind "$RUN/dev" /dev && mount --bind "$RUN/syslog.sock" /dev/log; then
		HM_SYSLOG=1
	fi
fi
syslog_tail() { [ -s "$RUN/syslog.txt" ] && tail -n "${1:-40}" "$RUN/syslog.txt" | sed 's/^/#   /'; }

# ---- what Debian installed: saved first, restored last ----
# In place, name by name (other tests read /etc/mail/tls meanwhile): what was
# made since is removed, the saved files are put back over the others.
restore_etc() {
	[ -f "$SAVED" ] || return 0
	LC_ALL=C comm -23 <(find /etc/mail /etc/aliases | LC_ALL=C sort) \
		<(tar -tf "$SAVED" | sed 's|/$||; s|^|/|' | LC_ALL=C sort) | LC_ALL=C sort -r | xargs -r -d '\n' rm -rf &&
		tar -C / -xpf "$SAVED" && rm -f "$SAVED"
}
if [ -f "$SAVED" ]; then
	diag "a saved /etc/mail from an interrupted run: restoring it first"
	restore_etc
fi
# debian_files: each name under /etc/mail and /etc/aliases with its type, owner, mode, link and checksum.
debian_files() {
	find /etc/mail /etc/aliases \( -name hostmilter.conf -o -name '.hostmapgen.*' \) -prune -o \
		-printf '%p %y %u:%g %m %l\n' | LC_ALL=C sort | while read -r p rest; do
		printf '%s %s %s\n' "$p" "$rest" "$( [ -f "$p" ] && ! [ -L "$p" ] && sha256sum <"$p" | cut -c1-16)"
	done
}
tar -C / -cpf "$SAVED" etc/mail etc/aliases
BEFORE_ALL=$(debian_files)
mta_pid() { local p; p=$(head -1 /run/sendmail/mta/sendmail.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"; }
mta_running() { [ -n "$(mta_pid)" ]; }
WAS_RUNNING=$(mta_pid)
sasl_had_shop=$(sasldblistusers2 2>/dev/null | grep -c '^xyz00-shop@')
made_clamdb=

customer_stop() {
	local c
	for c in "$CUSTOMER" "$CUSTOMER2"; do
		[ -s "$c/sendmail.pid" ] && kill "$(head -1 "$c/sendmail.pid")" 2>/dev/null
	done
}
cleanup() {
	PATH=$SHIMS:$PATH SHIM_STATE=$UNITS systemctl stop hostmapgen.path >/dev/null 2>&1
	PATH=$SHIMS:$PATH SHIM_STATE=$UNITS systemctl stop hostmilter >/dev/null 2>&1
	/etc/init.d/sendmail stop >/dev/null 2>&1
	customer_stop
	dpkg -s hostmilter >/dev/null 2>&1 && dpkg --purge hostmilter >/dev/null 2>&1
	restore_etc
	[ -n "$made_clamdb" ] && rm -f "$CLAMDB"
	[ "$sasl_had_shop" -gt 0 ] || saslpasswd2 -d -u "$(hostname -f)" xyz00-shop 2>/dev/null
	[ -n "$WAS_RUNNING" ] && /etc/init.d/sendmail start >/dev/null 2>&1
	if [ -n "$HM_SYSLOG" ]; then
		umount /dev/log /dev "$RUN/dev" 2>/dev/null
	fi
	hm_cleanup
}
trap cleanup EXIT

# ---- the package, built as t-deb builds it, and the README it carries ----
command -v dpkg-buildpackage >/dev/null && dpkg-query -W debhelper >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q dpkg-dev debhelper fakeroot >"$RUN/apt.log" 2>&1
mkdir -p "$DEB_DIR/hostmilter"
tar -C "$HM_SRC" --exclude=./_build --exclude=./.git --exclude=./autom4te.cache --exclude=./fuzz-build -cf - . |
	tar -C "$DEB_DIR/hostmilter" -xf -
(cd "$DEB_DIR/hostmilter" && { [ ! -f Makefile ] || make distclean; } >/dev/null 2>&1 &&
	DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$RUN/build.log" 2>&1
deb=$(ls "$DEB_DIR"/hostmilter_*_*.deb 2>/dev/null | head -1)
check "the package builds" test -n "$deb"
[ -n "$deb" ] || { tail -30 "$RUN/build.log" | sed 's/^/# /'; done_testing; exit 1; }
rm -rf "$DEB_DIR/hostmilter"	# "apt install ./hostmilter_*.deb" finds the package alone there
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/doc/hostmilter/README.Debian.gz | zcat >"$RUN/README.Debian"
python3 "$HM_SRC/test/integration/readme-recipe.py" steps "$RUN/README.Debian" >"$RUN/steps.json"
is "README.Debian's recipe: every block is one the test runs" "$?" 0
nsteps=$(jq length "$RUN/steps.json" 2>/dev/null || echo 0)
check "... $nsteps blocks (commands, lines for sendmail.mc, replacements)" test "$nsteps" -ge 8

# ---- the machine as apt would leave it, with the stand-ins for what it lacks ----
dpkg --purge hostmilter >/dev/null 2>&1
hm_sample_users
hm_clamav_db "$RUN/clamdb"
if [ ! -e "$CLAMDB" ]; then
	install -m 644 "$RUN/clamdb/test.hdb" "$CLAMDB"
	made_clamdb=1
fi
[ -n "$(mta_pid)" ] || /etc/init.d/sendmail start >"$RUN/sendmail-start.log" 2>&1
check "Debian's sendmail runs, as apt leaves it" hm_wait 30 mta_running
DEBIAN_AT_START=$(debian_files)
DB_MODES=$(stat -c '%U:%G %a' /etc/mail/access.db /etc/mail/aliases.db | paste -sd' ')
EDITED_MODES=$(stat -c '%U:%G %a' /etc/mail/sendmail.mc /etc/mail/sasl/Sendmail.conf.2 | paste -sd' ')

# hostmapgen's files in Debian's places: what the Makefile or newaliases must leave alone.
ours() {
	local f
	for f in /etc/mail/virtusertable /etc/mail/virtusertable.db /etc/mail/access /etc/mail/access.db \
		/etc/mail/local-host-names /etc/mail/mailertable /etc/mail/mailertable.db /etc/aliases \
		/etc/mail/aliases.db /etc/mail/hostmilter.db /etc/mail/hostmilter-mailers.m4; do
		printf '%s %s\n' "$f" "$(stat -c '%i %y %U:%G %a' "$f" 2>&1)"
	done
}

# ---- the recipe ----
run_shell() {	# run_shell N TEXT: one block of commands, as root in the .deb's directory
	(cd "$DEB_DIR" && PATH=$SHIMS:$PATH SHIM_STATE=$UNITS bash -e -c "$2") >"$RUN/step$1.log" 2>&1
}
for i in $(seq 0 $((nsteps - 1))); do
	kind=$(jq -r ".[$i].kind" "$RUN/steps.json")
	line=$(jq -r ".[$i].line" "$RUN/steps.json")
	case $kind in
	shell)
		text=$(jq -r ".[$i].text" "$RUN/steps.json")
		mine_before=$(ours)
		cf_before=$(stat -c %i /etc/mail/sendmail.cf)
		run_shell "$i" "$text"
		status=$?
		is "README.Debian line $line: $(head -1 <<<"$text")$([ "$(wc -l <<<"$text")" -gt 1 ] && echo ' ...'): exit 0" \
			"$status" 0
		[ "$status" -eq 0 ] || { sed 's/^/#   /' "$RUN/step$i.log" | tail -20; syslog_tail 20; }
		case $text in
		*"apt install ./hostmilter"*)
			is "... installing the package changed none of Debian's files" "$(debian_files)" "$DEBIAN_AT_START" ;;
		*"hostmapgen.service"*)
			is "... /etc/mail still smmta:smmsp 2755, /etc/mail/aliases still the link to ../aliases" \
				"$(stat -c '%U:%G %a' /etc/mail) $(stat -c %F /etc/mail/aliases) $(readlink /etc/mail/aliases)" \
				"smmta:smmsp 2755 symbolic link ../aliases"
			check "... the aliases text in /etc/aliases, where the link points" grep -q '^# BEGIN hostmapgen' /etc/aliases
			check "... aliases.db in /etc/mail, where Sendmail reads it" \
				bash -c "makemap -u hash /etc/mail/aliases | grep -q '^sales=example.com'"
			check "... Debian's own lines of access kept" grep -q '^Connect:127[[:space:]]*RELAY' /etc/mail/access
			is "... access.db and aliases.db with the owners and modes Debian gave them" \
				"$(stat -c '%U:%G %a' /etc/mail/access.db /etc/mail/aliases.db | paste -sd' ')" "$DB_MODES"
			check "... and the reload command put a new sendmail.cf in place" \
				test "$(stat -c %i /etc/mail/sendmail.cf)" != "$cf_before"
			is "... leaving no file of its own behind" "$(ls -A /etc/mail | grep -c 'hostmilter-new\|hostmilter-errors')" 0
			like "... made as Debian's Makefile makes it (sendmail.mc appended), root:smmsp 0644" \
				"$(grep -c '^### /etc/mail/sendmail.mc ###$' /etc/mail/sendmail.cf) $(stat -c '%U:%G %a' /etc/mail/sendmail.cf)" \
				'^1 root:smmsp 644$'
			;;
		*/etc/init.d/sendmail*)
			is "... the init script's make redid nothing hostmapgen wrote" "$(ours)" "$mine_before" ;;
		esac
		;;
	insert)
		file=$(jq -r ".[$i].file" "$RUN/steps.json")
		anchor=$(jq -r ".[$i].anchor" "$RUN/steps.json")
		jq -r ".[$i].lines[]" "$RUN/steps.json" >"$RUN/lines"
		python3 "$HM_SRC/test/integration/readme-recipe.py" insert "$file" "$anchor" "$RUN/lines"
		is "README.Debian line $line: $(wc -l <"$RUN/lines") lines into $file above $anchor" "$?" 0
		;;
	replace)
		file=$(jq -r ".[$i].file" "$RUN/steps.json")
		jq -r ".[$i].old[]" "$RUN/steps.json" >"$RUN/old"
		jq -r ".[$i].new[]" "$RUN/steps.json" >"$RUN/new"
		python3 "$HM_SRC/test/integration/readme-recipe.py" replace "$file" "$RUN/old" "$RUN/new"
		is "README.Debian line $line: $(wc -l <"$RUN/old") lines of $file replaced (Debian's stock lines found)" "$?" 0
		;;
	esac
done
is "the files edited keep their owners and modes" \
	"$(stat -c '%U:%G %a' /etc/mail/sendmail.mc /etc/mail/sasl/Sendmail.conf.2 | paste -sd' ')" "$EDITED_MODES"
like "hostmilter runs, started by its unit's commands" "$(PATH=$SHIMS:$PATH SHIM_STATE=$UNITS systemctl is-active hostmilter)" \
	'^active$'
is "... in the runtime directory the unit names, root's" "$(stat -c '%U %a' /run/hostmilter 2>&1)" "root 755"
check "Debian's sendmail runs again, with the new sendmail.cf" hm_wait 30 mta_running
like "... FEATURE(\`hostmilter') in it, F=T" "$(grep '^Xhostmilter' /etc/mail/sendmail.cf)" \
	'S=unix:/run/hostmilter/hostmilter\.sock, F=T'
like "... and the route's mailer" "$(grep '^Mhm2603' /etc/mail/sendmail.cf)" '^Mhm2603'

# ---- the routes' servers: private sendmails, queueing what they receive ----
# customer_start DIR PORT DOMAIN: one on 127.0.0.1:PORT taking DOMAIN's mail, with a name of its
# own (the system's would look like a mail loop).
customer_start() {
	local c=$1 port=$2 domain=$3
	mkdir -p "$c/queue" && chmod 700 "$c/queue"
	echo "$domain" >"$c/cw"
	printf 'info: root\norders: root\n' >"$c/aliases"
	printf 'hosts files\naliases files\n' >"$c/service.switch"
	cat >"$c/customer.mc" <<MC
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`debian')dnl
define(\`confDOMAIN_NAME', \`server.$domain')dnl
define(\`confSERVICE_SWITCH_FILE', \`$c/service.switch')dnl
define(\`confCW_FILE', \`$c/cw')dnl
define(\`ALIAS_FILE', \`$c/aliases')dnl
define(\`QUEUE_DIR', \`$c/queue')dnl
define(\`confPID_FILE', \`$c/sendmail.pid')dnl
define(\`STATUS_FILE', \`$c/statistics')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`use_cw_file')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$port, Addr=127.0.0.1')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
	m4 "$c/customer.mc" >"$c/customer.cf" && sendmail -C "$c/customer.cf" -bi >/dev/null 2>&1 &&
		sendmail -C "$c/customer.cf" -bd -O HostStatusDirectory= && hm_wait_port "$port"
}
check "the route's server (a private sendmail) listens on 127.0.0.1:2603" customer_start "$CUSTOMER" 2603 branch.example
check "... and a second one, for a route the second export adds, on 127.0.0.1:2604" \
	customer_start "$CUSTOMER2" 2604 branch2.example

# ---- real SMTP through the system's sendmail ----
FROM=sender@$(hostname -f)	# a sender domain that resolves here (/etc/hosts; there is no DNS)
rcpt() {	# rcpt PORT SOURCE RCPT [SWAKS ARGS]: the reply to RCPT TO, first line ($SENDER or $FROM sends)
	local port=$1 source=$2 to=$3
	shift 3
	swaks --server "127.0.0.1:$port" --local-interface "$source" --from "${SENDER:-$FROM}" --to "$to" --quit-after RCPT \
		--timeout 30 "$@" 2>&1 |
		awk '/^ *[-~*]> RCPT TO/ { r = 1; next } r && /^<(-|~|\*\*) +[0-9][0-9][0-9]/ { sub(/^<(-|~|\*\*) +/, ""); print; exit }'
}
send() {	# send SUBJECT RCPT [SWAKS ARGS]: a whole message from 127.0.0.5; swaks' transcript
	local subject=$1 to=$2
	shift 2
	swaks --server 127.0.0.1:25 --local-interface 127.0.0.5 --from "$FROM" --to "$to" \
		--header "Subject: $subject" --timeout 60 "$@" 2>&1
}
delivered() { grep -qs "^Subject: $2\$" "/var/mail/$1"; }
like "relaying refused to an outside client (127.0.0.5), though Debian's access trusts 127.*" \
	"$(rcpt 25 127.0.0.5 friend@elsewhere.example)" '^550 5\.7\.1'
if [ -n "$HM_SYSLOG" ]; then
	check "... by hostmilter (its log names the rule)" hm_wait 10 grep -q 'reject rule=relay client=127\.0\.0\.5' "$RUN/syslog.txt"
else
	ok "... by hostmilter # SKIP no syslog stand-in here (no mount namespace)"
fi
refusal() {	# refusal PORT RCPT: the first reply refusing anything, without AUTH, from 127.0.0.5
	swaks --server "127.0.0.1:$1" --local-interface 127.0.0.5 --from "$FROM" --to "$2" --quit-after RCPT \
		--timeout 30 2>&1 | sed -n 's/^<\*\* *\([45][0-9][0-9] .*\)/\1/p' | head -1
}
like "the submission port without AUTH: refused" "$(refusal 587 friend@elsewhere.example)" '^530 5\.7\.0 Authentication required'
like "relaying with AUTH on the submission port (under STARTTLS, as \"A p\" asks)" \
	"$(SENDER=xyz00-shop@xyz00.example.net rcpt 587 127.0.0.5 friend@elsewhere.example --tls --auth PLAIN \
		--auth-user xyz00-shop --auth-password shop-secret)" '^250 '
out=$(send "recipe-virus-$$" info@example.com --attach /usr/share/clamav-testfiles/clam.exe)
like "a virus refused" "$out" '<\*\* +554 5\.7\.1'
out=$(send "recipe-clean-$$" info@example.com --body "a clean message")
like "a clean message accepted" "$out" '<- +250 2\.0\.0'
check "... and delivered to the mailbox xyz00-info" hm_wait 60 delivered xyz00-info "recipe-clean-$$"
like "an unknown user refused" "$(rcpt 25 127.0.0.5 nobody@example.org)" '^550 5\.1\.1'
out=$(send "recipe-route-$$" info@branch.example --body "for the branch")
like "mail for the sample's routed domain accepted" "$out" '<- +250 '
routed() { grep -qs "^H??Subject: $2\$" "$1"/queue/qf*; }
check "... and relayed to its server on 127.0.0.1:2603" hm_wait 90 routed "$CUSTOMER" "recipe-route-$$"
like "an unlisted address of the routed domain refused at the edge" "$(rcpt 25 127.0.0.5 nobody@branch.example)" \
	'^550 5\.1\.1'
[ "$HM_FAILS" -eq 0 ] || syslog_tail 40

# ---- Debian's own tools redo nothing of hostmapgen's ----
mine_before=$(ours)
make -s -C /etc/mail >"$RUN/make.log" 2>&1
is "make -C /etc/mail (sendmailconfig, the init script) rebuilds none of hostmapgen's files" "$(ours)" "$mine_before"
dump_before=$(hm_makemap_dump /etc/mail/aliases)
newaliases >"$RUN/newaliases.log" 2>&1
is "newaliases, as any other package runs it, makes the same aliases.db" "$(hm_makemap_dump /etc/mail/aliases)" \
	"$dump_before"
out=$(/usr/sbin/hostmapgen --layout debian --dry-run /var/lib/hostmilter/export.json 2>/dev/null)
like "... and hostmapgen would only write that aliases.db again" "$out" 'files? would change: aliases\.db$'

# ---- the panel's second export, through hostmapgen.path alone ----
jq '.mailboxes |= map(select(.name != "xyz00-office"))
	| .aliases |= map(if .name == "xyz00-news" then .deliver = ["archive@partner.example"] else . end)
	| .domains |= map(if .name == "example.org"
		then .addresses |= (map(select(.local != "office"))
			| map(if .local == "team" then .deliver = ["info@example.com"] else . end))
		else . end)
	| .domains += [{"name": "added.example", "addresses": [{"local": "info", "deliver": ["xyz00-info"]}]},
		{"name": "branch2.example", "addresses": [{"local": "info"}], "route": {"host": "127.0.0.1", "port": 2604}}]' \
	/var/lib/hostmilter/export.json >"$RUN/export2.json"
/usr/sbin/hostmapgen -q --check "$RUN/export2.json" 2>"$RUN/check2.err"
is "the second export is valid (a domain added, a route on a new port, the mailbox xyz00-office removed)" "$?" 0
like "before it: office@example.org is a mailbox" "$(rcpt 25 127.0.0.5 office@example.org)" '^250 '
like "... and added.example is not ours" "$(rcpt 25 127.0.0.5 info@added.example)" '^550 5\.7\.1'
reloads_before=$(grep -c 'Reloading Mail Transport Agent.*\.$' "$UNITS/hostmapgen.service.journal")
cp "$RUN/export2.json" /var/lib/hostmilter/.export.json.new	# as the panel writes it: a new file, renamed
mv /var/lib/hostmilter/.export.json.new /var/lib/hostmilter/export.json
reloaded() { [ "$(grep -c 'Reloading Mail Transport Agent.*\.$' "$UNITS/hostmapgen.service.journal")" -gt "$reloads_before" ]; }
check "hostmapgen.path ran hostmapgen.service, whose reload command reloaded Sendmail (init script)" hm_wait 120 reloaded
answers() { [ "$(rcpt 25 127.0.0.5 "$1" | cut -c1-3)" = "$2" ]; }
check "... the new domain takes mail, with no step by hand" hm_wait 30 answers info@added.example 250
check "... the mailbox removed: office@example.org refused (550)" hm_wait 30 answers office@example.org 550
out=$(send "recipe-added-$$" info@added.example --body "for the new domain")
check "... and a message to it is delivered to xyz00-info (Sendmail reloaded class w: it is local now)" \
	hm_wait 60 delivered xyz00-info "recipe-added-$$"
like "... the route on a new port has its mailer: hm2604 in the rebuilt sendmail.cf" \
	"$(grep '^Mhm2604' /etc/mail/sendmail.cf)" '^Mhm2604'
route2() { [ "$(rcpt 25 127.0.0.5 info@branch2.example | cut -c1-3)" = 250 ]; }
check "... and takes mail (no longer held at 451 once the reload succeeded)" hm_wait 30 route2
out=$(send "recipe-route2-$$" info@branch2.example --body "for the new route")
check "... which the reloaded Sendmail relays to 127.0.0.1:2604" hm_wait 90 routed "$CUSTOMER2" "recipe-route2-$$"
is "Debian's /etc/mail and aliases link, after all this" "$(stat -c '%U:%G %a' /etc/mail) $(readlink /etc/mail/aliases)" \
	"smmta:smmsp 2755 ../aliases"
[ "$HM_FAILS" -eq 0 ] || { syslog_tail 40; sed 's/^/#   /' "$UNITS/hostmapgen.service.journal" | tail -20; }

# ---- purge: Debian's files as they were ----
PATH=$SHIMS:$PATH SHIM_STATE=$UNITS systemctl stop hostmapgen.path
PATH=$SHIMS:$PATH SHIM_STATE=$UNITS systemctl stop hostmilter
/etc/init.d/sendmail stop >/dev/null 2>&1
before_purge=$(debian_files)
dpkg --purge hostmilter >"$RUN/purge.log" 2>&1
is "dpkg --purge: exit 0" "$?" 0
is "... Debian's files (and what the admin made of them) as they were" "$(debian_files)" "$before_purge"
check "... the package's configuration gone" test ! -e /etc/mail/hostmilter.conf
check "... its export directory gone" test ! -e /var/lib/hostmilter
check "... no link to its units left" bash -c '! ls /etc/systemd/system/*/hostm* 2>/dev/null | grep -q .'
restore_etc
is "/etc/mail and /etc/aliases restored from the saved tar" "$(debian_files)" "$BEFORE_ALL"
done_testing
