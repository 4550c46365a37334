#!/bin/sh
# The monitor signs only the archive it planned. A test-only builder
# (tenant-export-hooked, TEXP_TEST_ATTACK=relabel) writes its first tenant
# table as global and slips one of Client A's rows into it: every record of
# the remaining tenant tables is Client B's and the relabelled table has no
# tenant column to check, so the checker proves the archive. The monitor
# compares the proven preamble with its own plan (tables, columns, types,
# tenant column of each table per the configuration, scope, compression,
# part size, times) and must refuse: nothing signed, nothing published.
work=$(mktemp -d /tmp/texp-plan.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_plan_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"

# The same hooked build exports normally without an attack.
expect_rc 0 "the hooked build exports Client B (no attack)" \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --include-global
expect_rc 0 "  ... and tenant-verify proves it" verify_b
rm -f "$work"/outbox/*

for scope in --include-global ""; do
	TEXP_TEST_ATTACK=relabel TEXP_TEST_ATTACK_ARG=$CLIENT_A TEXP_DEBUG_LOG=1 \
	    expect_rc 1 "builder relabelling a tenant table as global (${scope:-no global tables requested})" \
	    "$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" $scope
	check "  ... the builder did relabel it" \
		grep -q 'relabelled "app.clients" as global' "$work/err"
	check "  ... and slipped Client A's row in" \
		grep -q 'slipped in a record of another tenant' "$work/err"
	check "  ... the checker proved it, the plan check refused it" \
		grep -q 'the checker proved an archive other than the one planned' "$work/err"
	check "  ... naming the relabelled table" \
		grep -q 'table "app.clients" is global in the archive but a tenant table in the plan' "$work/err"
	check "  ... nothing is signed or published" outbox_empty
done
check "no job reached ready with a relabelled archive" \
	test "$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'ready'")" = 1

finish
