#!/bin/sh
# Runs the test suites and prints one closing line "N passed, N failed".
#   tests/run.sh unit|integration|all
# Static checks are tests/static/*.sh (the layering rule); unit suites
# are build/tests/check_*; integration tests are
# tests/integration/*.sh, run against a throwaway PostgreSQL that this
# script starts and stops. "all" also runs a fuzz smoke pass when clang's
# libFuzzer is available.
set -u
BUILD=${BUILD:-build}
what=${1:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
failed=""

run_one() {
	name=$1
	shift
	log="$BUILD/logs/$name.log"
	mkdir -p "$BUILD/logs"
	t0=$(date +%s)
	# A hang is a failure, not a stuck run (TEXP_TEST_TIMEOUT seconds).
	if timeout -k 30 "${TEXP_TEST_TIMEOUT:-3600}" "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf 'PASS %s (%ss)\n' "$name" $(($(date +%s) - t0))
	else
		fail=$((fail + 1))
		failed="$failed $name"
		printf 'FAIL %s (%ss, log: %s)\n' "$name" $(($(date +%s) - t0)) \
		    "$log"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}

# One throwaway PostgreSQL for the whole run: unit suites with a live part
# (the sandbox holding a libpq session, binary COPY against the server's
# own text output) use it too.
pg_started=0
if [ "$what" != unit ] || [ -n "${TEXP_UNIT_PG:-}" ]; then
	pgdir=$(mktemp -d /tmp/texp-pg.XXXXXX)
	trap 'sh ci/pg.sh stop "$pgdir"' EXIT INT TERM
	# As root, the tests run the service under accounts of its own
	# (boundary.sh): members of texp-pg reach the socket, nobody else.
	if [ "$(id -u)" -eq 0 ]; then
		getent group texp-pg >/dev/null || groupadd --system texp-pg
		PG_SOCKET_GROUP=texp-pg
		export PG_SOCKET_GROUP
	fi
	if env_lines=$(sh ci/pg.sh start "$pgdir"); then
		eval "$env_lines"
		pg_started=1
	else
		fail=$((fail + 1))
		failed="$failed postgresql-start"
	fi
fi
export TEXP_BUILD="$top/$BUILD"
# Check's per-test timeouts (4 s unless a suite sets its own) are guesses
# of how fast this machine is; on a busy one a test that spins a second of
# CPU takes many seconds of wall time. Stretched here; a hang still fails
# (run_one's timeout).
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
export CK_TIMEOUT_MULTIPLIER

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in tests/static/*.sh; do
		[ -e "$t" ] || continue
		run_one "$(basename "$t" .sh)" sh "$t"
	done
	for t in "$BUILD"/tests/check_*; do
		[ -x "$t" ] || continue
		run_one "$(basename "$t")" "$t"
	done
fi

if [ "$what" = integration ] || [ "$what" = all ]; then
	if [ "$pg_started" -eq 1 ]; then
		for t in tests/integration/*.sh; do
			[ -e "$t" ] || continue
			run_one "$(basename "$t" .sh)" sh "$t"
		done
	fi
fi

if [ "$what" = all ] && command -v clang >/dev/null 2>&1 && [ -z "${TEXP_NO_FUZZ:-}" ]; then
	# the harnesses are built once (build-fuzz/) and rebuilt only when
	# a source changes
	[ -e build-fuzz/libtexp-fuzz.a ] ||
	    echo "fuzz-smoke: building the libFuzzer harnesses (first run only)"
	run_one fuzz-smoke make -s fuzz-smoke
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
exit 0
