# lib.sh - shared helpers of the integration tests (sourced, bash).
#
# Each test script prints TAP ("ok N - ...", "not ok N - ...", "1..N") and
# exits non-zero when anything failed.  Tests run against the real thing:
# the hostmapgen built in $HM_BUILD, Debian's sendmail, makemap and
# newaliases.  Run directories live under /var/lib/hostmilter-test, whose
# parents are root-owned and not world-writable, as Sendmail demands.

set -u
HM_SRC=${HM_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HM_BUILD=${HM_BUILD:-$HM_SRC}
HOSTMAPGEN=${HOSTMAPGEN:-$HM_BUILD/mapgen/hostmapgen}
HOSTMILTER=${HOSTMILTER:-$HM_BUILD/milter/hostmilter}
SMTP_PROBE=$HM_SRC/test/integration/smtp-probe.py
SAMPLE_EXPORT=$HM_SRC/sample-etc-mail/panel-export.json
HM_TEST_ROOT=${HM_TEST_ROOT:-/var/lib/hostmilter-test}
HM_TESTS=0
HM_FAILS=0
HM_SCHEMA=$HM_SRC/mapgen/hostmapgen-export.schema.json
# hostmapgen copies each export it accepts here (its test hook); done_testing
# holds them against the JSON Schema, so every export any test has hostmapgen
# accept is one the schema accepts too.
export HOSTMAPGEN_TEST_ACCEPTED=${HOSTMAPGEN_TEST_ACCEPTED:-$HM_TEST_ROOT/accepted.$$}

ok() { HM_TESTS=$((HM_TESTS + 1)); echo "ok $HM_TESTS - $*"; }
not_ok() { HM_TESTS=$((HM_TESTS + 1)); HM_FAILS=$((HM_FAILS + 1)); echo "not ok $HM_TESTS - $*"; }
diag() { echo "# $*"; }

# check DESCRIPTION COMMAND...: one test that passes when COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "got:  $2"; diag "want: $3"; fi
}

# like DESCRIPTION TEXT PATTERN (grep -E)
like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1"; diag "got: $2"; diag "want /$3/"; fi
}

# unlike DESCRIPTION TEXT PATTERN (grep -E): TEXT does not match.
unlike() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then not_ok "$1"; diag "got: $2"; diag "want no /$3/"; else ok "$1"; fi
}

# hm_accepted_valid: every export hostmapgen accepted in this script validates against the schema.
hm_accepted_valid() {
	local dir=$HOSTMAPGEN_TEST_ACCEPTED out
	[ -d "$dir" ] || return 0
	if out=$(python3 "$HM_SRC/test/integration/schema-check.py" validate "$HM_SCHEMA" "$dir"/*.json 2>&1); then
		ok "the $(ls "$dir" | wc -l) exports hostmapgen accepted here validate against its JSON Schema"
	else
		not_ok "the exports hostmapgen accepted here validate against its JSON Schema"
		diag "$out"
	fi
	rm -rf "$dir"
}

done_testing() {
	hm_accepted_valid
	echo "1..$HM_TESTS"
	[ "$HM_FAILS" -eq 0 ]
}

# hm_rundir NAME: a fresh directory Sendmail trusts; removed when the script exits.
hm_rundir() {
	mkdir -p "$HM_TEST_ROOT"
	chmod 755 "$HM_TEST_ROOT"
	RUN=$(mktemp -d "$HM_TEST_ROOT/$1.XXXXXX")
	chmod 755 "$RUN"
	mkdir -p "$RUN/maps" "$RUN/queue" "$RUN/hoststat"
	chmod 755 "$RUN/maps"
	chmod 700 "$RUN/queue"
	trap hm_cleanup EXIT
}

hm_cleanup() {
	hm_sendmail_stop
	hm_milter_stop
	[ -z "${HM_BG_PIDS:-}" ] || kill $HM_BG_PIDS 2>/dev/null
	hm_sasl_cleanup
	rm -rf "$HOSTMAPGEN_TEST_ACCEPTED"
	[ -n "${KEEP_RUN:-}" ] || rm -rf "$RUN"
}

# The sample's mailboxes must be system users for Sendmail to deliver to them.
hm_users() {
	local u
	for u in "$@"; do
		id "$u" >/dev/null 2>&1 || useradd -M -N -s /usr/sbin/nologin "$u"
	done
}

hm_sample_users() {
	hm_users $(jq -r '.mailboxes[].name' "$SAMPLE_EXPORT")
}

# hm_sendmail_config PORT [EXTRA_MC_LINES]: $RUN/test.cf reading the maps in $RUN/maps.
hm_sendmail_config() {
	local port=$1 extra=${2:-}
	printf 'hosts files\naliases files\n' >"$RUN/service.switch"
	local cf=${HM_CF_DIR:-/usr/share/sendmail/cf}
	cat >"$RUN/test.mc" <<MC
divert(-1)
define(\`_CF_DIR_', \`$cf/')
divert(0)dnl
include(\`$cf/m4/cf.m4')dnl
VERSIONID(\`hostmilter integration test')dnl
OSTYPE(\`debian')dnl
define(\`confSERVICE_SWITCH_FILE', \`$RUN/service.switch')dnl
define(\`confCW_FILE', \`$RUN/maps/sendmail.cw')dnl
define(\`ALIAS_FILE', \`$RUN/maps/aliases')dnl
define(\`QUEUE_DIR', \`$RUN/queue')dnl
define(\`confPID_FILE', \`$RUN/sendmail.pid')dnl
define(\`STATUS_FILE', \`$RUN/statistics')dnl
define(\`confHOST_STATUS_DIRECTORY', \`$RUN/hoststat')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`confALIAS_WAIT', \`0')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`use_cw_file')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`virtusertable', \`hash -o $RUN/maps/virtmaps')dnl
FEATURE(\`access_db', \`hash -T<TMPF> -o $RUN/maps/access')dnl
$extra
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$port, Addr=127.0.0.1')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
	m4 "$RUN/test.mc" >"$RUN/test.cf"
	SM_PORT=$port
}

hm_sendmail() { sendmail -C "$RUN/test.cf" "$@"; }

hm_wait_port() {
	local i
	for i in $(seq 1 "${2:-100}"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# hm_until SECONDS COMMAND...: hm_wait (below), by the name the milter tests use.
hm_until() { hm_wait "$@"; }

# hm_log_count PATTERN [FILE]: how many lines of hostmilter's log match (grep -E).
hm_log_count() {
	local n
	n=$(grep -cE -- "$1" "${2:-$RUN/hostmilter.log}" 2>/dev/null)
	echo "${n:-0}"
}

# hm_wait_log PATTERN BEFORE [SECONDS [FILE]]: waits until more than BEFORE lines match.
hm_log_more() { [ "$(hm_log_count "$1" "$3")" -gt "$2" ]; }
hm_wait_log() { hm_until "${3:-30}" hm_log_more "$1" "$2" "${4:-}"; }

hm_sendmail_start() {
	hm_sendmail -bd -q30m
	hm_wait_port "$SM_PORT"
}

hm_sendmail_stop() {
	if [ -n "${RUN:-}" ] && [ -s "$RUN/sendmail.pid" ]; then
		kill "$(head -1 "$RUN/sendmail.pid")" 2>/dev/null
		rm -f "$RUN/sendmail.pid"
	fi
}

# hm_smtp_reply FROM_IP RCPT: the server's reply to RCPT TO (first line).
hm_smtp_reply() {
	swaks --server 127.0.0.1:"$SM_PORT" --local-interface "$1" --from sender@client.example \
		--to "$2" --quit-after RCPT --timeout 20 2>&1 |
		awk '/^ *[-~*]> RCPT TO/ { rcpt = 1; next } rcpt && /^<(-|~|\*\*) +[0-9][0-9][0-9]/ { sub(/^<(-|~|\*\*) +/, ""); print; exit }'
}

# hm_bv ADDRESS: what sendmail -bv says, one line per final recipient.
hm_bv() { hm_sendmail -bv "$1" 2>&1; }

# hm_makemap_dump DB_BASE: the map's records as makemap reads them, sorted.
hm_makemap_dump() { makemap -u hash "$1" | LC_ALL=C sort; }

# hm_wait SECONDS COMMAND...: true as soon as COMMAND succeeds, false when
# SECONDS pass first.  Tests wait for conditions this way, never for a time.
hm_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# hm_tls_ca NAME SUBJECT: a self-signed test CA, $T/NAME.key and $T/NAME.crt.
hm_tls_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "$2" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}

# hm_tls_signed NAME CA SUBJECT: a key and a certificate signed by $T/CA, $T/NAME.key and $T/NAME.crt.
hm_tls_signed() {
	openssl req -newkey rsa:2048 -nodes -subj "$3" -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.crt" -CAkey "$T/$2.key" -CAcreateserial -days 2 \
			-out "$T/$1.crt" 2>/dev/null
}

# hm_spool_dir: $RUN/spool, UserID's alone, as /var/spool/hostmilter is.
hm_spool_dir() {
	mkdir -p "$RUN/spool"
	chown hostmilter "$RUN/spool"
	chmod 700 "$RUN/spool"
}

# hm_state PID: the process's state letter (T stopped, Z zombie), empty when it is gone.
hm_state() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }

# hm_stopped_or_gone PID: the process stopped itself, or ended without.
hm_stopped_or_gone() { case $(hm_state "$1") in T | Z | '') return 0 ;; *) return 1 ;; esac; }

# hm_wait_stopped PID: true when PID stops itself (HOSTMAPGEN_TEST_PAUSE)
# within a minute; false when it ends, or runs on, instead.
hm_wait_stopped() {
	hm_wait 60 hm_stopped_or_gone "$1" && [ "$(hm_state "$1")" = T ]
}

# hm_gone PID: the process no longer runs (ended and reaped, or a zombie).
hm_gone() { case $(hm_state "$1") in Z | '') return 0 ;; *) return 1 ;; esac; }
hm_running() { ! hm_gone "$1"; }

# hm_fingerprint DIR: names, inodes, mtimes and checksums of every map file.
hm_fingerprint() {
	(cd "$1" && for f in $(ls | LC_ALL=C sort); do
		printf '%s %s %s\n' "$f" "$(stat -c '%i %Y.%y' "$f")" "$(sha256sum <"$f" | cut -c1-16)"
	done)
}

hm_checksums() {
	(cd "$1" && for f in $(ls | LC_ALL=C sort); do printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-16)"; done)
}

# hm_cf_dir: Sendmail's cf tree plus hostmilter's FEATURE, where `make install` puts it.
hm_cf_dir() {
	local d
	mkdir -p "$RUN/cf/feature"
	for d in /usr/share/sendmail/cf/*; do
		[ "$(basename "$d")" = feature ] || ln -s "$d" "$RUN/cf/"
	done
	ln -s /usr/share/sendmail/cf/feature/* "$RUN/cf/feature/"
	ln -sf "$HM_SRC/m4/sendmail/hostmilter.m4" "$RUN/cf/feature/hostmilter.m4"
	HM_CF_DIR=$RUN/cf
}

# The .mc lines of a sendmail that relays anything by itself (so that only
# hostmilter stands between it and an open relay), offers AUTH from
# /etc/sasldb2, and has an MSA on $2 that does not demand AUTH by itself.
hm_milter_mc() {
	cat <<MC
FEATURE(\`promiscuous_relay')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
define(\`confAUTH_OPTIONS', \`A')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MSA, Port=$1, Addr=127.0.0.1, M=E')dnl
define(\`confHOSTMILTER_MAILERS', \`$RUN/maps/hostmilter-mailers.m4')dnl
FEATURE(\`hostmilter', \`unix:$RUN/milter/hostmilter.sock')dnl
MC
}

hm_milter_user() {
	id hostmilter >/dev/null 2>&1 || useradd --system -M -N -s /usr/sbin/nologin hostmilter
}

# hm_sasl_user USER PASS: an SMTP AUTH account in /etc/sasldb2.
hm_sasl_user() {
	echo -n "$2" | saslpasswd2 -p -c -u "$(hostname -f)" "$1"
	chown root:smmsp /etc/sasldb2 2>/dev/null
	chmod 640 /etc/sasldb2
	HM_SASL_USERS="${HM_SASL_USERS:-} $1"
}

# hm_milter_conf [EXTRA_LINES]: $RUN/hostmilter.conf for a milter in $RUN/milter;
# "Scanner none" unless the extra lines name a scanner (a file must say which).
hm_milter_conf() {
	local scan="Scanner none"
	hm_milter_user
	mkdir -p "$RUN/milter"
	chown hostmilter "$RUN/milter"
	chmod 755 "$RUN/milter"
	grep -qi '^Scanner ' <<<"${1:-}" && scan=
	cat >"$RUN/hostmilter.conf" <<CONF
Socket unix:$RUN/milter/hostmilter.sock
UserID hostmilter
PidFile $RUN/milter/hostmilter.pid
PolicyDB $RUN/maps/hostmilter.db
ControlSocket unix:$RUN/milter/control.sock
${1:-}
$scan
CONF
}

# hm_milter_started PID BEFORE: 0 once hostmilter logged its start (more than BEFORE
# "started on" lines), 1 as soon as PID is gone or after 120 s (libclamav's database).
hm_milter_up_or_gone() { hm_log_more "started on" "$2" "" || ! kill -0 "$1" 2>/dev/null; }
hm_milter_started() {
	hm_until 120 hm_milter_up_or_gone "$1" "$2"
	hm_log_more "started on" "$2" "" && kill -0 "$1" 2>/dev/null
}

hm_milter_start() {
	local before
	before=$(hm_log_count "started on")
	rm -f "$RUN/milter/hostmilter.sock"
	"$HOSTMILTER" -f -c "${1:-$RUN/hostmilter.conf}" 2>>"$RUN/hostmilter.log" &
	HM_MILTER_PID=$!
	hm_milter_started "$HM_MILTER_PID" "$before"
}

hm_milter_stop() {
	[ -n "${HM_MILTER_PID:-}" ] || return 0
	kill "$HM_MILTER_PID" 2>/dev/null
	wait "$HM_MILTER_PID" 2>/dev/null
	HM_MILTER_PID=
}

hm_sasl_cleanup() {
	local u
	for u in ${HM_SASL_USERS:-}; do
		saslpasswd2 -d -u "$(hostname -f)" "$u" 2>/dev/null
	done
}

# hm_probe ARGS...: smtp-probe.py against the test sendmail's MTA port.
hm_probe() { python3 "$SMTP_PROBE" "$SM_PORT" "$@"; }

# ---- scanners: real clamd and spamd, and the fault-injecting fake ----
FAKE_SCANNER=$HM_SRC/test/integration/fake-scanner.py
MAKE_MESSAGE=$HM_SRC/test/integration/make-message.py
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# hm_clamav_db DIR: a signature database of clamav-testfiles' clam.exe and EICAR (made with sigtool).
hm_clamav_db() {
	mkdir -p "$1"
	printf '%s' "$EICAR" >"$RUN/eicar.com"
	(cd "$RUN" && sigtool --md5 /usr/share/clamav-testfiles/clam.exe && sigtool --md5 eicar.com) >"$1/test.hdb"
	chmod -R a+rX "$1"
}
hm_bg() { "$@" & HM_BG_PIDS="${HM_BG_PIDS:-} $!"; }
# hm_clamd_start PORT [StreamMaxLength [NAME]]: a real clamd on 127.0.0.1:PORT and
# $RUN/NAME/clamd.sock (NAME: clamd unless given, for a second node); more
# clamd.conf lines in $HM_CLAMD_EXTRA.  AlertExceedsMax, as a node for
# hostmilter must have it (hostmilter.conf(5)).
hm_clamd_start() {
	local name=${3:-clamd}
	mkdir -p "$RUN/$name"
	chmod 755 "$RUN/$name"
	cat >"$RUN/$name.conf" <<CONF
DatabaseDirectory $RUN/clamdb
TCPSocket $1
TCPAddr 127.0.0.1
LocalSocket $RUN/$name/clamd.sock
LocalSocketMode 666
Foreground yes
User root
LogFile $RUN/$name.log
StreamMaxLength ${2:-100M}
AlertExceedsMax yes
${HM_CLAMD_EXTRA:-}
CONF
	hm_bg clamd -c "$RUN/$name.conf"
	CLAMD_PID=$!
	hm_wait_port "$1"
}
# hm_spamd_start PORT: a real spamd with Debian's rules plus one local rule of a known score.
hm_spamd_start() {
	mkdir -p "$RUN/sa"
	cp -r /etc/spamassassin/. "$RUN/sa/"
	cat >>"$RUN/sa/local.cf" <<'CF'
# hostmilter tests: a phrase worth 12 points, between the sample's tag (5), example.org's reject (10)
# and the default reject (15) scores.
body HOSTMILTER_TEST_12 /HOSTMILTER-TWELVE-POINTS/
score HOSTMILTER_TEST_12 12.0
# ... and one worth 6, between a tag score of 5 and a reject score of 10.
body HOSTMILTER_TEST_6 /HOSTMILTER-SIX-POINTS/
score HOSTMILTER_TEST_6 6.0
CF
	hm_bg spamd --listen "127.0.0.1:$1" -u nobody -m 2 --syslog stderr --siteconfigpath "$RUN/sa" \
		2>>"$RUN/spamd.log"
	SPAMD_PID=$!
	hm_wait_port "$1" 600	# spamd compiles its rules first: up to a minute on a slow machine
}
hm_fake_scanner() { hm_bg python3 "$FAKE_SCANNER" "$1" "$2"; hm_wait_port "$2"; }
# hm_message KIND ARGS...: a test message file; prints its path.
hm_message() {
	local f
	f=$(mktemp "$RUN/msg.XXXXXX")
	python3 "$MAKE_MESSAGE" "$@" >"$f"
	echo "$f"
}
# hm_qf SUBJECT: the queue file (qf, or hf when quarantined) of the message with this subject.
hm_qf() { grep -l -- "^H??Subject: .*$1\$\|^H??Subject: $1\$" "$RUN"/queue/[qh]f* 2>/dev/null | head -1; }
# hm_rspamd_start PORT: a real rspamd (Debian's configuration) whose normal worker
# listens on 127.0.0.1:PORT, controller and proxy on PORT+1 and PORT+2; DNS
# pointed nowhere (these machines have none), logs in $RUN.
hm_rspamd_start() {
	local conf=$RUN/rspamd
	mkdir -p "$RUN/rspamd-db" "$RUN/rspamd-run"
	chown _rspamd "$RUN/rspamd-db" "$RUN/rspamd-run"
	cp -r /etc/rspamd "$conf"
	printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$1" >"$conf/local.d/worker-normal.inc"
	printf 'bind_socket = "127.0.0.1:%s";\n' "$(($1 + 1))" >"$conf/local.d/worker-controller.inc"
	printf 'bind_socket = "127.0.0.1:%s";\nmilter = false;\n' "$(($1 + 2))" >"$conf/local.d/worker-proxy.inc"
	printf 'type = "file";\nfilename = "%s/rspamd.log";\nlevel = "error";\n' "$RUN" >"$conf/local.d/logging.inc"
	printf 'dns { nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }\n' >"$conf/local.d/options.inc"
	hm_bg rspamd -f -u _rspamd -g _rspamd -c "$conf/rspamd.conf" --var=CONFDIR="$conf" --var=LOCAL_CONFDIR="$conf" \
		--var=DBDIR="$RUN/rspamd-db" --var=RUNDIR="$RUN/rspamd-run" --var=LOGDIR="$RUN" >"$RUN/rspamd.out" 2>&1
	hm_wait_port "$1" 600
}
# hm_send SUBJECT KIND ARGS... -- RCPT...: one test message (make-message.py KIND ARGS) through
# sendmail from 127.0.0.5, from $FROM when set; prints the probe's lines.
hm_send() {
	local subject=$1 kind=$2 args=() to=() msg r
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	for r in "$@"; do to+=(--to "$r"); done
	msg=$(HM_SUBJECT=$subject hm_message "$kind" "${args[@]}")
	hm_probe --source 127.0.0.5 ${FROM:+--from "$FROM"} "${to[@]}" --message "$msg"
}
# hm_testfiles_missed: the clamav-testfiles samples that, attached, were not refused 554 5.7.1.
hm_testfiles_missed() {
	local f n out missed=""
	for f in /usr/share/clamav-testfiles/*; do
		n=$(basename "$f")
		[ "$n" = clam_cache_emax.tgz ] && continue	# exercises libclamav's cache limits, holds no clam.exe to find
		out=$(hm_send "tf-$n" attach "$f" -- info@example.com)
		grep -q '^DATA 554 5\.7\.1' <<<"$out" || missed="$missed $n"
	done
	echo "$missed"
}
