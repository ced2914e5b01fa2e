#!/bin/bash
# t-man - every man page renders without a groff warning.
. "$(dirname "$0")/lib.sh"
for page in "$HM_SRC"/man/*.[0-9]; do
	warnings=$(LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null)
	is "$(basename "$page") renders without warnings" "$warnings" ""
done
done_testing
