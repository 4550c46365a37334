#!/bin/sh
# tenant-export run options on a real PostgreSQL: a table subset, a date
# window, global tables, passphrase mode, zstd, split archives, --json.
# Each archive is proven by tenant-verify and its counts checked with SQL.
work=$(mktemp -d /tmp/texp-options.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_options_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"
run() { "$E" run --config "$C" ${RUN_AS:-} "$@"; }
only_archive() { ls "$work"/outbox/*.texp "$work"/outbox/*.texp.index 2>/dev/null | head -n 1; }
records_of() {	# TABLE: records reported by the last verify --json
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(sum(t["records"] for t in r["tables"] if t["name"] == sys.argv[2]))' \
	    "$work/out" "$1"
}
tables_of() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(",".join(t["name"] for t in r["tables"]))' "$work/out"
}

# ---- a subset of tables and a date window ----
since=$(sql "SELECT min(issued_on) + 30 FROM app.invoices WHERE tenant_id = '$CLIENT_B'")
until=$(sql "SELECT min(issued_on) + 200 FROM app.invoices WHERE tenant_id = '$CLIENT_B'")
nwin=$(sql "SELECT count(*) FROM app.invoices WHERE tenant_id = '$CLIENT_B'
    AND issued_on >= '$since' AND issued_on < '$until'")
total=$(sql "SELECT count(*) FROM app.invoices WHERE tenant_id = '$CLIENT_B'")
check "the window holds some but not all invoices" \
	sh -c '[ "$1" -gt 0 ] && [ "$1" -lt "$2" ]' sh "$nwin" "$total"
expect_rc 0 "export invoices of a date window only" run --tenant "$CLIENT_B" \
	--tables app.invoices --since "$since" --until "$until" --json
expect_rc 0 "  ... proven" verify_b --json
check "  ... holds only app.invoices" test "$(tables_of)" = "app.invoices"
check "  ... exactly the $nwin invoices of the window" test "$(records_of app.invoices)" = "$nwin"
rm -f "$work"/outbox/*
expect_rc 2 "an unknown table is a usage error" run --tenant "$CLIENT_B" --tables app.nope
expect_rc 2 "an excluded table cannot be requested" run --tenant "$CLIENT_B" --tables app.api_tokens
expect_rc 2 "a global table needs --include-global" run --tenant "$CLIENT_B" --tables app.currencies

# ---- global reference data ----
expect_rc 0 "export with --include-global" run --tenant "$CLIENT_B" --include-global
expect_rc 0 "  ... proven" verify_b --json
check "  ... includes the currencies" \
	test "$(records_of app.currencies)" = "$(sql "SELECT count(*) FROM app.currencies")"
rm -f "$work"/outbox/*

# ---- passphrase mode, compressed ----
expect_rc 0 "export with a generated passphrase, zstd" run --tenant "$CLIENT_B" \
	--passphrase --passphrase-out "$work/pass" --zstd
check "  ... passphrase file is mode 0600" sh -c '[ "$(stat -c %a "$1")" = 600 ]' sh "$work/pass"
check "  ... the passphrase is not printed" sh -c '! grep -qF "$(cat "$1")" "$2" "$3"' \
	sh "$work/pass" "$work/out" "$work/err"
expect_rc 0 "  ... proven with the passphrase" "$V" verify --passphrase-file "$work/pass" \
	--signer "$work/keys/sign.pub" --tenant "$CLIENT_B" "$(only_archive)"
expect_rc 1 "  ... not with a wrong one" sh -c 'printf "wrong\n" > "$1/wrong"; chmod 600 "$1/wrong";
	"$2" verify --passphrase-file "$1/wrong" --signer "$1/keys/sign.pub" --tenant "$3" "$4"' \
	sh "$work" "$V" "$CLIENT_B" "$(only_archive)"
expect_rc 2 "--passphrase-out refuses to overwrite" run --tenant "$CLIENT_B" \
	--passphrase --passphrase-out "$work/pass"
rm -f "$work"/outbox/* "$work/pass"
expect_rc 2 "--passphrase with --recipient is a usage error" run --tenant "$CLIENT_B" \
	--passphrase --recipient "$(cat "$work/keys/client-b.rcpt")"

# ---- split into parts ----
sed -e 's/^part_size = .*/part_size = 64K/' "$C" >"$work/split.conf"
expect_rc 0 "export split into 64 KiB parts" "$E" run --config "$work/split.conf" \
	${RUN_AS:-} --tenant "$CLIENT_B" --json
check "  ... several parts and a signed index" sh -c '
	[ "$(ls "$1"/outbox/*.texp.[0-9]* | wc -l)" -ge 3 ] &&
	[ -f "$(ls "$1"/outbox/*.texp.index)".minisig ]' sh "$work"
expect_rc 0 "  ... proven through the index" verify_b_index
check "  ... every part is mode 0600" sh -c '! find "$1/outbox" -type f ! -perm 0600 | grep -q .' sh "$work"
rm -f "$work"/outbox/*

# ---- usage errors ----
expect_rc 2 "missing --tenant" "$E" run --config "$C"
expect_rc 2 "unknown option" "$E" run --config "$C" --tenant "$CLIENT_B" --bogus
expect_rc 2 "missing config file" "$E" run --config "$work/nope.conf" ${RUN_AS:-} --tenant "$CLIENT_B"
check "  ... names the file" grep -q "nope.conf" "$work/err"
check "nothing published by refused runs" outbox_empty

finish
