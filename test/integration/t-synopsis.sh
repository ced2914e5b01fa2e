#!/bin/bash
# t-synopsis - every SYNOPSIS (hostmapgen(8), hostmilter(8), hostscan(1), the
# README's) and every program's usage text list exactly the options the
# program's parser takes (synopsis-check.py); the usage texts name what
# matters to a caller: what triggers the reload, and the exit statuses.
. "$(dirname "$0")/lib.sh"

while IFS=$'\t' read -r verdict what; do
	case $verdict in
	ok) ok "$what" ;;
	*) not_ok "$what" ;;
	esac
done < <(python3 "$HM_SRC/test/integration/synopsis-check.py" "$HM_SRC" "$HM_BUILD" 2>&1 ||
	echo "not ok	synopsis-check.py ran to its end")

help=$("$HOSTMAPGEN" --help)
is "hostmapgen --help exits 0" "$?" 0
like "hostmapgen --help: sendmail.cw and hostmilter-mailers.m4 trigger the reload" "$help" \
	'--reload-cmd C +run C .* when sendmail\.cw or hostmilter-mailers\.m4'
like "hostmapgen --help lists its exit statuses, 6 for would change" "$help" '6 files would change'
"$HOSTMAPGEN" --bogus >/dev/null 2>&1
is "hostmapgen: an unknown option exits 2" "$?" 2
"$HOSTMILTER" -h >/dev/null 2>&1
is "hostmilter: an unknown option exits 2" "$?" 2
like "hostmilter's usage lists its exit statuses" "$("$HOSTMILTER" -h 2>&1)" '2 usage, 70 internal error'
HOSTSCAN=$HM_BUILD/scan/hostscan
out=$("$HOSTSCAN" --help)
is "hostscan --help exits 0" "$?" 0
like "... and lists 64 for a usage error" "$out" '64 usage'
"$HOSTSCAN" --bogus </dev/null >/dev/null 2>&1
is "hostscan: an unknown option exits 64" "$?" 64
for page in hostmilter.8 hostscan.1 hostmapgen.8; do
	case $page in
	hostmilter.8) want='2 for a usage error' ;;
	hostscan.1) want='^\.B 64$' ;;
	hostmapgen.8) want='^\.B 6$' ;;
	esac
	like "$page lists the exit status its usage says" "$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$HM_SRC/man/$page")" "$want"
done
done_testing
