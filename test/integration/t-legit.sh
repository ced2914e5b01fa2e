#!/bin/bash
# t-legit - the legit twin of every hostile test: ordinary business mail and
# real mail from real mailers always passes, unchanged (DESIGN: "Fail closed,
# and pass the legit").  The corpus is built at test time (make-legit.py: real
# files of the machine, real openssl and gpg; public corpora of real mail that
# Debian packages install) and every message goes through a real sendmail and
# hostmilter, and through hostscan, in each configuration:
#   clamav-1M    in-process libclamav, SpoolMemory at its default (1M)
#   clamav-64K   in-process libclamav, SpoolMemory 64K (most messages spooled to a file)
#   clamd-64K    a cluster of two real clamd nodes, SpoolMemory 64K
#   service      hostscan --filter through hostmilter's ScanService (the clamav-1M milter)
#   hostscan     hostscan --filter with its own libclamav, SpoolMemory 64K
# Each message must be delivered (250; hostscan exit 0), not quarantined (qf,
# not hf), not marked (no X-Spam-Flag: YES; X-Virus-Status Clean, or "Unscanned
# (encrypted)" for what is encrypted, as the default policy "encrypted: accept"
# delivers it), and its body must arrive byte for byte as sent.  One TAP line
# per message per configuration: every "not ok" is a false positive.  Then
# each configuration must agree with clamav-1M on every message's outcome
# (where the spool is, which engine, hostscan or the milter: one answer).
#
# The recipient is info@example.com of the sample export, its blocked types on
# (application/x-dosexec): its limit is example.com's 64M, and the largest
# message (a 40 MB export, 56 MB encoded) stays under it.  The message that
# declares SIZE=60000000 is short.
# Ports: sendmail 2640 (MTA) and 2641 (MSA), clamd 3340 and 3341.
. "$(dirname "$0")/lib.sh"

HOSTSCAN=${HOSTSCAN:-$HM_BUILD/scan/hostscan}
LEGIT_CHECK=$HM_SRC/test/integration/legit-check.py
hm_rundir legit
hm_sample_users
hm_cf_dir
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" || { not_ok "hostmapgen"; done_testing; exit 1; }
hm_clamav_db "$RUN/clamdb"
check "the legit corpus is built from the machine's files, openssl and gpg" \
	python3 "$HM_SRC/test/integration/make-legit.py" "$RUN/corpus"
diag "corpus: $(wc -l <"$RUN/corpus/manifest.tsv") messages ($(cut -f5 "$RUN/corpus/manifest.tsv" | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }'))"
[ -s "$RUN/corpus/skipped.txt" ] && [ "$(cat "$RUN/corpus/skipped.txt")" ] &&
	diag "attachment types no installed package has a file of: $(cat "$RUN/corpus/skipped.txt")"
mkdir -p "$RUN/tmp" "$RUN/run"
chmod 755 "$RUN/run"	# root's, as /run/hostmilter
hm_sendmail_config 2640 "$(hm_milter_mc 2641)"
# A node configured as hostmilter.conf(5) asks, for a policy whose largest message is 128M (the sample's
# default): AlertExceedsMax (hm_clamd_start), StreamMaxLength, MaxFileSize, MaxScanSize.
HM_CLAMD_EXTRA="MaxFileSize 130M
MaxScanSize 520M"
export HM_CLAMD_EXTRA
# clamd_node PORT NAME: a node, its banner on stdout kept out of the TAP stream.
clamd_node() { hm_clamd_start "$1" 130M "$2" >>"$RUN/$2.out"; }
check "clamd node 1 starts" clamd_node 3340 clamd
check "clamd node 2 starts" clamd_node 3341 clamd2
hm_spool_dir
check "sendmail starts" hm_sendmail_start

# restart_milter LINES...: hostmilter again with these configuration lines.
restart_milter() {
	hm_milter_stop
	hm_milter_conf "$(printf '%s\n' "$@")
ScanTimeout 120
SpoolDirectory $RUN/spool"
	chmod 644 "$RUN/hostmilter.conf"
	hm_milter_start
}
# corpus MODE CONFIG ARGS...: every message of the corpus, one TAP line each.
FALSE_POSITIVES=0
corpus() {
	local status desc detail start=$SECONDS
	while IFS=$'\t' read -r status desc detail; do
		if [ "$status" = ok ]; then ok "$desc"; else not_ok "$desc"; diag "$detail"; FALSE_POSITIVES=$((FALSE_POSITIVES + 1)); fi
	done < <(python3 "$LEGIT_CHECK" "$@")
	diag "$2: $((SECONDS - start)) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
}
service_up() { test -S "$RUN/run/scan.sock"; }

check "hostmilter starts: libclamav, SpoolMemory 1M (default), ScanService" restart_milter "Scanner clamav" \
	"ClamAVDatabase $RUN/clamdb" "ScanService unix:$RUN/run/scan.sock"
check "... its scan service listens" hm_wait 30 service_up
corpus smtp clamav-1M 2640 "$RUN"
corpus hostscan service "$HOSTSCAN" "$RUN/hostmilter.conf" "$RUN"

check "hostmilter starts: libclamav, SpoolMemory 64K" restart_milter "Scanner clamav" \
	"ClamAVDatabase $RUN/clamdb" "SpoolMemory 64K"
corpus smtp clamav-64K 2640 "$RUN"

check "hostmilter starts: two clamd nodes, SpoolMemory 64K" restart_milter "Scanner clamd tcp:127.0.0.1:3340" \
	"Scanner clamd tcp:127.0.0.1:3341" "SpoolMemory 64K"
corpus smtp clamd-64K 2640 "$RUN"
hm_milter_stop

cat >"$RUN/hostscan.conf" <<CONF
PolicyDB $RUN/maps/hostmilter.db
Scanner clamav
ClamAVDatabase $RUN/clamdb
SpoolMemory 64K
ScanTimeout 120
CONF
corpus hostscan hostscan "$HOSTSCAN" "$RUN/hostscan.conf" "$RUN"

python3 "$LEGIT_CHECK" table "$RUN" clamav-1M clamav-64K clamd-64K service hostscan
# Whatever holds the spool, whichever engine scans, whether hostscan asks the milter or scans itself:
# one message, one outcome.  hostscan calling Clean what hostmilter refuses is no pass.
for config in clamav-64K clamd-64K service hostscan; do
	is "$config and clamav-1M agree on every message" "$(python3 "$LEGIT_CHECK" agree "$RUN" clamav-1M "$config" | paste -sd";")" ""
done
diag "false positives: $FALSE_POSITIVES of $(($(wc -l <"$RUN/corpus/manifest.tsv") * 5)) (messages x configurations)"
is "no spool file left behind" "$(ls -A "$RUN/spool")" ""
is "nothing left in hostscan's TMPDIR" "$(ls -A "$RUN/tmp")" ""
done_testing
