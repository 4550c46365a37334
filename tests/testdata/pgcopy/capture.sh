#!/bin/sh
# Regenerates the samples listed in queries.txt from a PostgreSQL 15 server:
#   d=$(mktemp -d); eval "$(sh ci/pg.sh start $d)"
#   sh tests/testdata/pgcopy/capture.sh; sh ci/pg.sh stop $d
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PGOPTIONS="-c TimeZone=UTC -c DateStyle=ISO,MDY -c extra_float_digits=1 -c client_encoding=UTF8"
export PGOPTIONS
grep -v '^#' "$here/queries.txt" | while IFS= read -r line; do
	[ -n "$line" ] || continue
	name=${line%%|*}
	sql=${line#*|}
	sql=${sql#*|}
	psql -X -q -v ON_ERROR_STOP=1 -c "COPY ($sql) TO STDOUT (FORMAT binary)" >"$here/$name.bin"
	psql -X -q -v ON_ERROR_STOP=1 -c "COPY ($sql) TO STDOUT" >"$here/$name.txt"
done
