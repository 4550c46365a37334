#!/bin/sh
# The throwaway PostgreSQL of the tests and the demo (ci/pg.sh) is not open
# to every local user: its socket directory is its owner's alone, its
# superuser logs in by peer authentication for the invoking account only,
# and every other role needs its password.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

if [ -n "${PG_SOCKET_GROUP:-}" ]; then
	# the service's accounts reach it through this group, nobody else
	check "the socket directory is mode 0750, group $PG_SOCKET_GROUP" \
		test "$(stat -c %a:%G "$PGHOST")" = "750:$PG_SOCKET_GROUP"
	check "  ... the socket 0770, group $PG_SOCKET_GROUP" \
		test "$(stat -c %a:%G "$PGHOST/.s.PGSQL.5432")" = "770:$PG_SOCKET_GROUP"
else
	check "the socket directory is mode 0700" test "$(stat -c %a "$PGHOST")" = 700
fi
check "  ... owned by the server's account, not by everyone" \
	test "$(stat -c %U "$PGHOST")" = "$(stat -c %U "$PGHOST/data")"
check "the superuser logs in (peer, for this account)" \
	sh -c 'psql -X -q -At -d postgres -c "SELECT 1" >/dev/null'
role=texp_pgtest_$$
psql -X -q -d postgres <<SQL
CREATE ROLE $role LOGIN PASSWORD 'pgtest-$$';
SQL
check "another role needs its password" sh -c \
	'! PGPASSFILE=/nonexistent psql -X -q -w -U "$1" -d postgres -c "SELECT 1" 2>/dev/null' sh "$role"
psql -X -q -d postgres -c "DROP ROLE $role"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	check "another local user (nobody) cannot reach the socket" sh -c \
		'! runuser -u nobody -- psql -X -q -w -h "$1" -U postgres -d postgres -c "SELECT 1" 2>/dev/null' \
		sh "$PGHOST"
	check "  ... (the socket directory refuses it: permission denied)" sh -c \
		'runuser -u nobody -- psql -X -q -w -h "$1" -U postgres -d postgres -c "SELECT 1" 2>&1 |
		grep -q "Permission denied"' sh "$PGHOST"
fi
# Passwords reach psql on stdin in the demo, the benchmark and the tests,
# never on its command line (readable by every local user in /proc).
check "no script passes a password on psql's command line" sh -c '
	! grep -rnE -- "-c \"[^\"]*PASSWORD '"'"'" "$1/examples" "$1/bench" "$1/tests/integration" "$1/ci"' \
	sh "$top"
echo "1..$n"
[ "$failures" -eq 0 ]
