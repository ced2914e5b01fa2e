#!/bin/bash
# t-differential - the attachment walk against a reference reader
# (test/integration/differential.py): messages generated from a grammar of
# transfer encodings (lenient ones included), containers (zip, tar, 7z,
# compressed files, forwarded messages) and encoded blocks (uuencode, yEnc)
# around an executable or, for the legit twin of each, a real PDF; every
# executable inside must be blocked, no document refused.  A fixed number
# of cases and a fixed seed here; longer runs with other seeds are in
# test/fuzz/README.
. "$(dirname "$0")/lib.sh"

hm_rundir differential
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null || { not_ok "hostmapgen"; done_testing; exit 1; }
printf 'Scanner none\nPolicyDB %s\n' "$RUN/maps/hostmilter.db" >"$RUN/scan.conf"
cp /usr/share/clamav-testfiles/clam.exe "$RUN/changed.exe"
printf 'x' >>"$RUN/changed.exe"	# no signature matches: only its structure shows
doc=$(find /usr/share/doc -name '*.pdf' -size +20k 2>/dev/null | sort | head -1)
[ -n "$doc" ] || { not_ok "a PDF from /usr/share/doc for the legit twin"; done_testing; exit 1; }
cd "$RUN" && python3 "$HM_SRC/test/integration/differential.py" "$HM_BUILD/scan/hostscan" "$RUN/scan.conf" \
	"$RUN/changed.exe" "$doc" "${HM_DIFFERENTIAL_CASES:-300}" "${HM_DIFFERENTIAL_SEED:-20261206}"
