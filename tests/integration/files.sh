#!/bin/sh
# Files included or not, on a real PostgreSQL: Client A's and Client B's
# uploads on a files volume (root/<tenant id>/...), app.files rows naming
# them. An export of B with --files holds exactly B's files, byte for byte,
# and tenant-verify proves them; without --files it holds none. A file row
# of B that points out of B's directory (a "..", an absolute path, a
# symlink into A's directory, a FIFO, a device, a missing file, B's
# directory itself a symlink) is refused with a message naming the row and
# the reason, nothing is published, and nothing of A's is read; a
# compromised builder (test build) that opens around the descriptor is
# killed, and one that opens through it without the resolve flags is
# refused by Landlock.
work=$(mktemp -d /tmp/texp-files.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_files_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"
run() { "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" "$@"; }
hrun() { "$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" "$@"; }

# ---- the files volume ----
# The sandboxed builder reads as no account of its own: the tree must be
# readable by others (lint notes directories that are not).
root="$work/files"
mkdir -p "$root"
chmod 755 "$work" "$root"
sql "COPY (SELECT tenant_id, storage_path, encode(content, 'hex')
    FROM app.files WHERE storage_path IS NOT NULL) TO STDOUT" >"$work/rows"
python3 - "$root" "$work/rows" <<'PY'
import os, sys
root, rows = sys.argv[1], sys.argv[2]
for line in open(rows):
    tenant, path, hexdata = line.rstrip("\n").split("\t")
    p = os.path.join(root, tenant, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(bytes.fromhex(hexdata))
PY
printf 'A-SECRET-CONTRACT\n' >"$root/$CLIENT_A/secret.pdf"
chmod -R a+rX "$root"
cp -a "$root/$CLIENT_B" "$work/b-expected"
printf '\n[files]\nroot = %s\ntable = app.files\npath_column = storage_path\n' \
	"$root" >>"$C"
nb=$(sql "SELECT count(*) FROM app.files WHERE tenant_id = '$CLIENT_B'
    AND storage_path IS NOT NULL")
check "B has files ($nb), and so has A" sh -c '[ "$1" -gt 5 ] &&
	[ -n "$(ls -A "$2")" ]' sh "$nb" "$root/$CLIENT_A"

expect_rc 0 "lint accepts the layout" "$E" lint --config "$C"
check "  ... noting that root can write it" grep -q files_writable "$work/out"

files_of() {	# the "files" of the last verify --json
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' \
	    "$work/out"
}

# ---- with --files: exactly B's files ----
expect_rc 0 "export B with --files" run --files
expect_rc 0 "  ... proven" verify_b --json
check "  ... with $nb files, each bound to its row" test "$(files_of)" = "$nb"
expect_rc 0 "  ... extracted" "$V" extract --identity "$work/keys/client-b.age" \
	--signer "$work/keys/sign.pub" --tenant "$CLIENT_B" --format jsonl --out "$work/x" \
	"$(ls "$work"/outbox/*.texp)"
check "  ... DIR/files is exactly B's directory, byte for byte" \
	diff -r "$work/b-expected" "$work/x/files"
check "  ... nothing of A's" sh -c '! grep -rq "A-content\|A-SECRET" "$1"' sh "$work/x"
check "  ... files are mode 0600" sh -c '! find "$1/files" -type f ! -perm 0600 | grep -q .' \
	sh "$work/x"
check "  ... the job's signed scope says files" test \
	"$(sql "SELECT count(*) FROM texp_control.jobs WHERE scope->>'files' = 'true'")" = 1
check "  ... and so does the audit log" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log
	    WHERE event = 'export.requested' AND scope LIKE '%\"files\":true%'")" = 1
rm -rf "$work"/outbox/* "$work/x"
# The files table last of the tables asked for: its files are read as it
# ends, and the archive ends after it.
expect_rc 0 "export B's invoices and files with --files (the files table last)" \
	run --tables app.invoices,app.files --files
expect_rc 0 "  ... proven" verify_b --json
check "  ... with its $nb files" test "$(files_of)" = "$nb"
rm -rf "$work"/outbox/*

# ---- without --files: none ----
expect_rc 0 "export B without --files" run
expect_rc 0 "  ... proven" verify_b --json
check "  ... with no file" test "$(files_of)" = 0
expect_rc 0 "  ... extracted" "$V" extract --identity "$work/keys/client-b.age" \
	--signer "$work/keys/sign.pub" --tenant "$CLIENT_B" --format jsonl --out "$work/x" \
	"$(ls "$work"/outbox/*.texp)"
check "  ... and no files directory" test ! -e "$work/x/files"
rm -rf "$work"/outbox/* "$work/x"

# ---- hostile rows of B ----
victim=$(sql "SELECT min(id) FROM app.files WHERE tenant_id = '$CLIENT_B'
    AND storage_path IS NOT NULL")
vpath=$(sql "SELECT storage_path FROM app.files WHERE id = $victim")
point() { sql "UPDATE app.files SET storage_path = '$1' WHERE id = $victim"; }
ln -s "../$CLIENT_A/secret.pdf" "$root/$CLIENT_B/to-a"
ln -s "$root/$CLIENT_A/secret.pdf" "$root/$CLIENT_B/to-a-abs"
ln -s "../$CLIENT_A" "$root/$CLIENT_B/a-dir"
mkfifo "$root/$CLIENT_B/pipe"
have_dev=0
mknod "$root/$CLIENT_B/null" c 1 3 2>/dev/null && have_dev=1

refused() {	# PATH REASON: the row pointing at PATH is refused
	point "$1"
	expect_rc 1 "a row of B pointing at $3 is refused" run --files
	# the row is named by its place in the archive's app.files records
	if grep -qF "the file was refused: $2" "$work/err" &&
	    grep -q 'table "app.files" row [0-9][0-9]*: ' "$work/err"; then
		ok "  ... naming the row and the reason"
	else
		not_ok "  ... naming the row and the reason"
		sed 's/^/#   err: /' "$work/err"
	fi
	check "  ... not the path, nothing of A's" sh -c '! grep -q "secret\|A-SECRET" "$1" "$2"' \
		sh "$work/err" "$work/out"
	left_nothing
	check "  ... nothing published" outbox_empty
}
refused "../$CLIENT_A/secret.pdf" 'a "." or ".." component' "../A/secret.pdf"
refused "uploads/../../$CLIENT_A/secret.pdf" 'a "." or ".." component' "uploads/../../A/secret.pdf"
refused "$root/$CLIENT_A/secret.pdf" "an absolute path" "A's file by its absolute path"
refused "to-a" "a symbolic link on the way" "a symlink into A's directory"
refused "to-a-abs" "a symbolic link on the way" "an absolute symlink to A's file"
refused "a-dir/secret.pdf" "a symbolic link on the way" "a file through a symlinked directory"
refused "pipe" "not a regular file (a FIFO)" "a FIFO"
if [ "$have_dev" = 1 ]; then
	refused "null" "not a regular file (a device)" "a device"
else
	echo "# skipped the device case: mknod needs root"
fi
refused "nope.bin" "no such file" "a missing file"
point "$vpath"

# B's directory itself replaced by a symlink to A's
mv "$root/$CLIENT_B" "$work/b-real"
ln -s "../b-real" "$root/$CLIENT_B"
expect_rc 1 "B's directory as a symlink is refused" run --files
# (lint refuses it first: files_symlink; the monitor's open would too)
if grep -q "symbolic link" "$work/err"; then
	ok "  ... saying why"
else
	not_ok "  ... saying why"
	sed 's/^/#   err: /' "$work/err"
fi
left_nothing
check "  ... nothing published" outbox_empty
rm "$root/$CLIENT_B"
mv "$work/b-real" "$root/$CLIENT_B"

# ---- a compromised builder ----
TEXP_TEST_ATTACK=files-openat expect_rc 1 "a builder calling openat() around the descriptor is killed" \
	hrun --files
case "$build" in
*asan*)	check "  ... the error names the sandbox" grep -q "sandbox\|SIGSYS" "$work/err" ;;
*)	check "  ... the error names the sandbox (SIGSYS)" grep -q SIGSYS "$work/err" ;;
esac
check "  ... nothing published" outbox_empty
TEXP_TEST_ATTACK=files-escape TEXP_TEST_ATTACK_ARG="../$CLIENT_A/secret.pdf" \
	expect_rc 1 "a builder's openat2 without resolve flags out of B's directory is refused" \
	hrun --files
check "  ... by Landlock (permission denied)" grep -q "files-escape refused (Permission denied)" "$work/err"
check "  ... nothing published" outbox_empty
TEXP_TEST_ATTACK=files-escape TEXP_TEST_ATTACK_ARG="$root/$CLIENT_A/secret.pdf" \
	expect_rc 1 "  ... and by A's absolute path too" hrun --files
check "  ... by Landlock (permission denied)" grep -q "files-escape refused (Permission denied)" "$work/err"
left_nothing

# ---- a clean export still works after all that ----
expect_rc 0 "export B with --files again" run --files
expect_rc 0 "  ... proven" verify_b
rm -rf "$work"/outbox/*

# ---- usage ----
grep -v '^\[files\]\|^root = \|^table = app.files\|^path_column' "$C" >"$work/nofiles.conf"
expect_rc 2 "--files without a [files] section is refused" \
	"$E" run --config "$work/nofiles.conf" $RUN_AS --tenant "$CLIENT_B" --files
check "  ... saying why" grep -q "no \[files\] section" "$work/err"
expect_rc 2 "--files with tables that leave out the files table" \
	run --files --tables app.invoices
check "  ... saying why" grep -q "files table is not among the tables" "$work/err"
finish
