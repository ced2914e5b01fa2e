#!/bin/bash
# t-schema - the export's JSON Schema (draft 2020-12): a valid schema, installed
# by make install, named in hostmapgen-export(5), accepting the sample exports,
# and reporting each error of shape hostmapgen reports (schema-cases.py, one
# damaged export per code of hostmapgen's table, checked with python3-jsonschema).
# t-export-mutations holds 1000 random damages against it the same way, and
# every test's accepted exports are validated by lib.sh's done_testing.
. "$(dirname "$0")/lib.sh"

hm_rundir schema
out=$(python3 "$HM_SRC/test/integration/schema-check.py" check "$HM_SCHEMA" 2>&1)
is "the schema is a valid JSON Schema, draft 2020-12" "$?" 0
like "... and says which draft" "$(jq -r '."$schema"' "$HM_SCHEMA")" '^https://json-schema\.org/draft/2020-12/schema$'

make -s -C "$HM_BUILD" install DESTDIR="$RUN/inst" >"$RUN/install.log" 2>&1
installed=$(find "$RUN/inst" -name hostmapgen-export.schema.json)
like "make install puts it under DATADIR/hostmilter" "$installed" '/share/hostmilter/hostmapgen-export\.schema\.json$'
check "... unchanged" cmp -s "$installed" "$HM_SCHEMA"
like "hostmapgen-export(5) names the installed schema" "$(grep -c 'hostmapgen\\-export\.schema\.json\|hostmapgen-export.schema.json' "$HM_SRC/man/hostmapgen-export.5")" '^[1-9]'

for export in "$SAMPLE_EXPORT" "$HM_SRC/sample-etc-mail/gateway/panel-export.json" "$HM_SRC/test/data/precedence-export.json"; do
	out=$(python3 "$HM_SRC/test/integration/schema-check.py" validate "$HM_SCHEMA" "$export" 2>&1)
	is "$(basename "$(dirname "$export")")/$(basename "$export") validates against the schema" "$?" 0
	[ -z "$out" ] || diag "$out"
done

# A document the schema refuses shows where: not only a yes or no.
jq '.domains[0].addresses[0].deliver = []' "$SAMPLE_EXPORT" >"$RUN/empty.json"
like "the schema's errors carry the JSON path" \
	"$(python3 "$HM_SRC/test/integration/schema-check.py" validate "$HM_SCHEMA" "$RUN/empty.json")" '/domains/0/addresses/0/deliver'

while IFS=$'\t' read -r verdict what; do
	case $verdict in
	ok) ok "$what" ;;
	*) not_ok "$what" ;;
	esac
done < <(TMPDIR=$RUN python3 "$HM_SRC/test/integration/schema-cases.py" "$HOSTMAPGEN" "$SAMPLE_EXPORT" "$HM_SCHEMA" \
	"$HM_SRC/mapgen/report.c" 2>"$RUN/cases.err" || echo "not ok	schema-cases.py ran to its end")
[ ! -s "$RUN/cases.err" ] && ok "schema-cases.py said nothing on stderr" || { not_ok "schema-cases.py said nothing on stderr"; diag "$(tail -5 "$RUN/cases.err")"; }
done_testing
