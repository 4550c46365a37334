#!/bin/sh
# tenant-verify end to end, on archives made by tests/tools/texp-sample:
# exit codes (0 proven, 1 failed, 2 usage/operational), the JSON report,
# extraction in every format with record counts checked against the
# manifest, refusal to overwrite, and foreign-id hits reported without the
# identifier. Needs no database. Run from the repository root (tests/run.sh
# does) or anywhere with TEXP_BUILD pointing at the build directory.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TEXP_BUILD:-$top/build}
V="$build/tenant-verify"
S="$build/tests/tools/texp-sample"
for b in "$V" "$S"; do
	[ -x "$b" ] || { echo "verify_cli: missing $b (run make)"; exit 1; }
done

work=$(mktemp -d /tmp/texp-verify-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 1

failures=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"; }

# expect_rc WANT DESCRIPTION COMMAND...: runs COMMAND, output to out/err.
expect_rc() {
	want=$1
	desc=$2
	shift 2
	"$@" >out 2>err
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc (exit $got)"
	else
		not_ok "$desc: exit $got, wanted $want"
		sed 's/^/#   out: /' out | head -n 20
		sed 's/^/#   err: /' err | head -n 20
	fi
}

check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# py SCRIPT ARGS...: small JSON checks (python3 is on every CI image here).
py() {
	python3 -c "$@"
}

# ---- keys and a sample archive ----
expect_rc 0 "keygen writes an identity" "$V" keygen --out id.key
recipient=$(cat out)
check "keygen prints an age1 recipient" \
	sh -c 'case "$1" in age1*) exit 0;; *) exit 1;; esac' sh "$recipient"
check "identity file is mode 0600" \
	sh -c '[ "$(stat -c %a id.key)" = 600 ]'
check "identity file has the recipient comment" \
	grep -q "^# public key: $recipient\$" id.key
expect_rc 2 "keygen refuses to overwrite" "$V" keygen --out id.key
check "keygen names the file it refused" grep -q 'id.key' err

"$S" --gen-sign-key signer >/dev/null 2>&1 || { echo "texp-sample keygen failed"; exit 1; }
"$S" --gen-sign-key other >/dev/null 2>&1 || exit 1
"$S" --out a.texp --sign-key signer.key --recipient "$recipient" \
    --tenant acme --records 50 >/dev/null 2>&1 ||
	{ echo "texp-sample failed"; exit 1; }

common="--identity id.key --signer signer.pub"

# ---- verify ----
expect_rc 0 "verify proves a good archive" $V verify $common --tenant acme a.texp
check "human summary says PROVEN" grep -q '^PROVEN: ' out
expect_rc 0 "verify --json" $V verify $common --tenant acme --json a.texp
cp out report.json
check "--json output parses" sh -c 'python3 -m json.tool report.json >/dev/null'
check "--json says proven with no failures" py '
import json, sys
r = json.load(open("report.json"))
assert r["proven"] is True and r["failures"] == [], r
assert len(r["export_id"]) == 32 and len(r["tenant_hash"]) == 64
assert r["created"].endswith("Z") and r["expires"].endswith("Z")
assert sum(t["records"] for t in r["tables"]) == r["records"] > 0
assert r["signer_key_id"]
'
pub_b64=$(tail -n 1 signer.pub)
expect_rc 0 "signer given as the bare base64 key" \
	$V verify --identity id.key --signer "$pub_b64" --tenant acme a.texp

# ---- several pinned keys (signing-key rotation) ----
expect_rc 0 "--signer twice: the key the signature names is used" \
	$V verify --identity id.key --signer other.pub --signer signer.pub \
	--tenant acme --json a.texp
cp out two.json
check "  ... the report names the verifying key and both pinned ones" py '
import json
r = json.load(open("two.json"))
assert r["proven"] is True and r["signer_key_id"], r
assert len(r["pinned_key_ids"]) == 2 and r["signer_key_id"] in r["pinned_key_ids"]
'
{ echo "# recipients pin the old and the new key"; cat other.pub; echo; cat signer.pub; } >ring
expect_rc 0 "--signers keyring (.pub files concatenated)" \
	$V verify --identity id.key --signers ring --tenant acme a.texp
check "  ... summary names the key" grep -q '^signature: *good, key ' out
cat other.pub >ring_other
expect_rc 1 "--signers without the signing key fails" \
	$V verify --identity id.key --signers ring_other --tenant acme a.texp
check "  ... naming the key that signed and the pinned ones" \
	grep -q 'NOT verified (signed by key .*; pinned: ' out
expect_rc 2 "the same key pinned twice is a usage error" \
	$V verify --identity id.key --signers ring --signer signer.pub \
	--tenant acme a.texp
check "  ... saying so" grep -q 'pinned twice' err
printf 'not a key\n' >ring_bad
expect_rc 2 "a keyring line that is not a key" \
	$V verify --identity id.key --signers ring_bad --tenant acme a.texp
check "  ... names the line" grep -q 'ring_bad" line 1' err

expect_rc 1 "wrong tenant fails" $V verify $common --tenant globex a.texp
check "wrong tenant reported as FAIL" grep -q 'tenant-verify: FAIL: ' err
check "wrong tenant: NOT PROVEN" grep -q '^NOT PROVEN: ' out
check "  ... said once, not once per record" \
	test "$(grep -c 'FAIL: §5' err)" = 1
check "  ... with what to check" grep -q "check --tenant" err
expect_rc 1 "wrong tenant fails (--json)" \
	$V verify $common --tenant globex --json a.texp
cp out bad.json
check "--json lists the failures with codes" py '
import json
r = json.load(open("bad.json"))
assert r["proven"] is False and r["failures_total"] > 0
assert all("code" in f and "message" in f for f in r["failures"])
import re
# stable snake_case rule codes; the message names the section
assert all(re.fullmatch("[a-z_]+", f["code"]) for f in r["failures"]), r
assert "expected_tenant" in [f["code"] for f in r["failures"]], r
assert all(f["message"].startswith(f["section"] + ": ") for f in r["failures"]), r
'
expect_rc 1 "wrong signer key fails" \
	$V verify --identity id.key --signer other.pub --tenant acme a.texp
expect_rc 2 "missing archive is operational" \
	$V verify $common --tenant acme missing.texp
check "missing archive message" grep -q '^tenant-verify: verify: ' err
"$V" keygen --out stranger.key >/dev/null 2>&1
expect_rc 1 "identity that cannot open the archive fails" \
	$V verify --identity stranger.key --signer signer.pub --tenant acme a.texp

# ---- usage ----
expect_rc 2 "no arguments" $V
expect_rc 2 "unknown command" $V frobnicate
expect_rc 2 "unknown option" $V verify --bogus a.texp
check "usage error format" grep -q "^tenant-verify: verify: unknown option" err
expect_rc 2 "missing --signer" $V verify --identity id.key --tenant acme a.texp
expect_rc 2 "missing --tenant" $V verify $common a.texp
expect_rc 2 "both key options" \
	$V verify $common --passphrase-file id.key --tenant acme a.texp
expect_rc 2 "verify refuses extract's --format" \
	$V verify $common --tenant acme --format csv --out x a.texp
check "  ... saying whose option it is" grep -q -- "--format is extract's option" err
expect_rc 2 "two archives" $V verify $common --tenant acme a.texp a.texp
expect_rc 2 "bad --format" $V extract $common --tenant acme --format xml --out x a.texp
chmod 644 id.key
expect_rc 2 "identity readable by others is refused" \
	$V verify $common --tenant acme a.texp
chmod 600 id.key
expect_rc 0 "--help" $V --help
expect_rc 0 "verify --help" $V verify --help
check "--help documents the exit codes" grep -q 'Exit status' out
expect_rc 0 "--version" $V --version

# ---- expiry ----
# --seed fixes the creation time (2026-01-01, expiry 72 h later), so the
# archive is expired on any clock past that; skipped on an earlier clock.
"$S" --out old.texp --sign-key signer.key --recipient "$recipient" \
    --tenant acme --records 3 --seed old >/dev/null 2>&1 || exit 1
$V verify $common --tenant acme --json old.texp >old.json 2>/dev/null
if py '
import json, time, calendar, sys
r = json.load(open("old.json"))
exp = calendar.timegm(time.strptime(r["expires"], "%Y-%m-%dT%H:%M:%SZ"))
sys.exit(0 if exp < time.time() else 1)'; then
	expect_rc 0 "expired archive: warning by default" \
		$V verify $common --tenant acme old.texp
	check "expiry warning printed" grep -q 'tenant-verify: WARN: .*expired' err
	expect_rc 1 "expired archive fails with --strict-expiry" \
		$V verify $common --tenant acme --strict-expiry old.texp
else
	echo "# skipped: the clock is before the sample's fixed expiry"
fi

# ---- extract ----
records_of() {	# table name -> record count in report.json
	py 'import json,sys
r = json.load(open("report.json"))
print([t["records"] for t in r["tables"] if t["name"] == sys.argv[1]][0])' "$1"
}
contacts=$(records_of app.contacts)
currencies=$(records_of app.currencies)

expect_rc 0 "extract jsonl" $V extract $common --tenant acme --format jsonl --out xj a.texp
check "jsonl: one line per record" \
	sh -c '[ "$(wc -l < xj/app.contacts.jsonl)" -eq "$1" ] &&
	    [ "$(wc -l < xj/app.currencies.jsonl)" -eq "$2" ]' sh "$contacts" "$currencies"
check "jsonl: every line is a JSON object with the columns" py '
import json
for line in open("xj/app.contacts.jsonl", encoding="utf-8"):
    o = json.loads(line)
    assert o["tenant_id"] == "acme", o
    assert isinstance(o["id"], int)
'
check "extract writes the receipt" test -s xj/manifest.cbor
check "extracted files are mode 0600" \
	sh -c '[ "$(stat -c %a xj/app.contacts.jsonl)" = 600 ]'
check "no temporary files left" sh -c '[ -z "$(ls -A xj | grep "^\.")" ]'

expect_rc 0 "extract csv" $V extract $common --tenant acme --format csv --out xc a.texp
check "csv: header plus one row per record" py '
import csv, sys
rows = list(csv.reader(open("xc/app.contacts.csv", newline="", encoding="utf-8")))
assert rows[0][0] == "tenant_id", rows[0]
assert len(rows) - 1 == int(sys.argv[1]), len(rows)
' "$contacts"

expect_rc 0 "extract cbor (--json)" \
	$V extract $common --tenant acme --format cbor --out xb --json a.texp
cp out extract.json
check "cbor: --json reports files and counts" py '
import json, sys
r = json.load(open("extract.json"))
files = {f["name"]: f["records"] for f in r["extracted"]["files"]}
assert files["app.contacts.cbor"] == int(sys.argv[1]), files
assert "manifest.cbor" in files
' "$contacts"
expect_rc 0 "inspect --json for the byte counts" \
	$V inspect --identity id.key --json a.texp
cp out inspect.json
check "cbor: file sizes equal the manifest's record bytes" py '
import json, os
m = json.load(open("inspect.json"))["manifest"]
for t in m["tables"]:
    assert os.path.getsize("xb/%s.cbor" % t["name"]) == t["bytes"], t
'
check "receipt is the same whatever the format" cmp -s xj/manifest.cbor xb/manifest.cbor

mkdir xe
echo mine > xe/app.currencies.jsonl
expect_rc 2 "extract refuses to overwrite" \
	$V extract $common --tenant acme --format jsonl --out xe a.texp
check "refusal names the file" grep -q 'app.currencies.jsonl' err
check "existing file untouched" grep -qx mine xe/app.currencies.jsonl
check "nothing else written" sh -c '[ "$(ls -A xe | wc -l)" -eq 1 ]'
touch notadir
expect_rc 2 "extract into a file" \
	$V extract $common --tenant acme --format jsonl --out notadir a.texp
expect_rc 1 "extract of an unproven archive" \
	$V extract $common --tenant globex --format jsonl --out xw a.texp
check "unproven: no file written" sh -c '[ -z "$(ls -A xw 2>/dev/null)" ]'

# ---- foreign identifiers ----
secret_id=zz-foreign-tenant-7731
"$S" --out f.texp --sign-key signer.key --recipient "$recipient" \
    --tenant acme --records 5 --foreign-record "$secret_id" >/dev/null 2>&1 || exit 1
printf '%s\nnot-present-anywhere\n' "$secret_id" > foreign.txt
expect_rc 1 "foreign record found" \
	$V verify $common --tenant acme --foreign-ids foreign.txt f.texp
check "foreign hit reported" grep -q 'foreign identifier' err
check "foreign hit count in the summary" grep -q '^foreign hits: *[1-9]' out
check "the identifier itself is never printed" \
	sh -c '! grep -q "$1" out err' sh "$secret_id"
expect_rc 1 "foreign record found (--json)" \
	$V verify $common --tenant acme --foreign-ids foreign.txt --json f.texp
cp out foreign.json
check "--json foreign_hits and no identifier" py '
import json, sys
text = open("foreign.json").read()
r = json.loads(text)
assert r["foreign_hits"] >= 1, r
assert sys.argv[1] not in text
' "$secret_id"
expect_rc 0 "clean archive has no foreign hits" \
	$V verify $common --tenant acme --foreign-ids foreign.txt a.texp
# The list is exact bytes: a CRLF file is refused, not trimmed.
printf '%s\r\n' "$secret_id" > foreign-crlf.txt
expect_rc 2 "a CRLF list is refused (identifiers are exact bytes)" \
	$V verify $common --tenant acme --foreign-ids foreign-crlf.txt f.texp
check "  ... saying why" grep -q 'carriage return' err
printf '["%s"]' "$secret_id" > foreign-list.json
expect_rc 1 "the JSON form of the list finds it too" \
	$V verify $common --tenant acme --foreign-ids-json foreign-list.json f.texp
check "  ... and says how it matched" grep -q '(value match)' err
printf '%s\n' "${secret_id%-*}" > foreign-prefix.txt
expect_rc 1 "a prefix of a value (the foreign record still fails)" \
	$V verify $common --tenant acme --foreign-ids foreign-prefix.txt f.texp
check "  ... is not a foreign hit by default" grep -q '^foreign hits: *0$' out
expect_rc 1 "  ... but is with --match substring" \
	$V verify $common --tenant acme --foreign-ids foreign-prefix.txt \
	--match substring f.texp
check "  ... counted" grep -q '^foreign hits: *[1-9]' out
check "  ... as a substring" grep -q '(substring match)' err

# ---- split archive ----
"$S" --out s.texp --sign-key signer.key --recipient "$recipient" \
    --tenant acme --records 300 --row-bytes 200 --part-size 20000 >/dev/null 2>&1 || exit 1
expect_rc 0 "split archive proves" $V verify $common --tenant acme s.texp.index
expect_rc 2 "a part given as the archive is refused" \
	$V verify $common --tenant acme s.texp.002
check "  ... naming the index to give" grep -q 's.texp.002" is one part of a split archive: give "s.texp.index"' err
expect_rc 2 "  ... by inspect too" $V inspect s.texp.001
rm -f s.texp.002
expect_rc 1 "split archive with a part missing fails" \
	$V verify $common --tenant acme s.texp.index
expect_rc 1 "  ... and says so in JSON" \
	$V verify $common --tenant acme --json s.texp.index
check "  ... with stable snake_case codes, not sentences" python3 -c '
import json, re, sys
r = json.load(open("out"))
codes = [f["code"] for f in r["failures"]]
assert codes, r
assert all(re.match(r"^[a-z][a-z0-9_]*$", c) for c in codes), codes
'

# ---- a truncated archive says so ----
head -c 5000 a.texp >cut.texp
cp a.texp.minisig cut.texp.minisig
expect_rc 1 "a truncated archive fails" $V verify $common --tenant acme cut.texp
check "  ... saying it may be truncated" grep -q "truncated" err

# ---- a truncated archive says so ----
head -c 5000 a.texp >cut.texp
cp a.texp.minisig cut.texp.minisig
expect_rc 1 "a truncated archive fails" $V verify $common --tenant acme cut.texp
check "  ... saying it may be truncated" grep -q "truncated" err

# ---- passphrase ----
printf 'correct horse battery\n' > pass.txt
chmod 600 pass.txt
"$S" --out p.texp --sign-key signer.key --passphrase-file pass.txt \
    --tenant acme --records 3 >/dev/null 2>&1 || exit 1
expect_rc 0 "passphrase archive proves" \
	$V verify --passphrase-file pass.txt --signer signer.pub --tenant acme p.texp
chmod 640 pass.txt
expect_rc 2 "a passphrase file its group can read is refused" \
	$V verify --passphrase-file pass.txt --signer signer.pub --tenant acme p.texp
chmod 600 pass.txt
printf 'wrong\n' > wrong.txt
chmod 600 wrong.txt
expect_rc 1 "wrong passphrase fails" \
	$V verify --passphrase-file wrong.txt --signer signer.pub --tenant acme p.texp
check "passphrase never printed" sh -c '! grep -q "horse" out err'
chmod 644 pass.txt
expect_rc 2 "passphrase file readable by others is refused" \
	$V verify --passphrase-file pass.txt --signer signer.pub --tenant acme p.texp
check "  ... saying so" grep -q 'readable by group or others' err
chmod 600 pass.txt

# ---- docs/RECIPIENT.md: the stock-tools path, as written there ----
if command -v age >/dev/null && command -v minisign >/dev/null &&
    /usr/bin/python3 -c 'import cbor2' 2>/dev/null; then
	expect_rc 0 "stock minisign verifies the signature" \
		minisign -V -p signer.pub -m a.texp
	expect_rc 0 "stock age decrypts" sh -c 'age -d -i id.key a.texp >a.tar'
	mkdir -p stock
	expect_rc 0 "tar lists and extracts the entries" \
		sh -c 'tar -tvf a.tar && tar -xf a.tar -C stock'
	expect_rc 0 "python3-cbor2 prints the records as JSON" \
		/usr/bin/python3 -m cbor2.tool -s -p stock/texp/t/0000/records-000001.cbor
	check "  ... the tenant id is in them" grep -q '"acme"' out
	"$S" --out s2.texp --sign-key signer.key --recipient "$recipient" \
	    --tenant acme --records 300 --row-bytes 200 --part-size 20000 \
	    >/dev/null 2>&1 || exit 1
	expect_rc 0 "split: stock minisign verifies the index" \
		minisign -V -p signer.pub -m s2.texp.index
	expect_rc 0 "split: b2sum checks each part against the index" sh -c \
		"awk '\$1 == \"part\" { print \$4 \"  \" \$2 }' s2.texp.index | b2sum -c"
	expect_rc 0 "split: the parts joined in the index's order decrypt" sh -c \
		"awk '\$1 == \"part\" { print \$2 }' s2.texp.index | xargs cat |
		    age -d -i id.key | tar -t"
	check "  ... to the tar entries" grep -q "texp/manifest.cbor" out
	printf 'x' >>s2.texp.002
	expect_rc 1 "split: b2sum notices a changed part" sh -c \
		"awk '\$1 == \"part\" { print \$4 \"  \" \$2 }' s2.texp.index | b2sum -c"
else
	echo "# stock-tools path skipped: age, minisign or python3-cbor2 missing"
fi

# ---- --content-only: the content through the signed comment ----
expect_rc 0 "--content-only proves a good archive" \
	$V verify $common --tenant acme --content-only --json a.texp
cp out co.json
check "  ... and its report says how" py '
import json
r = json.load(open("co.json"))
assert r["proven"] is True and r["signature_ok"] is True, r
assert r["content_only"] is True, r
assert json.load(open("report.json"))["content_only"] is False
'
expect_rc 0 "  ... the summary says what was not hashed" \
	$V verify $common --tenant acme --content-only a.texp
check "  ... (the archive's own bytes)" \
	grep -q "^signature: *good, key .*--content-only.*own bytes not hashed" out
expect_rc 1 "--content-only with the wrong tenant fails" \
	$V verify $common --tenant globex --content-only a.texp
cp a.texp.minisig tc.texp.minisig
cp a.texp tc.texp
sed -i 's/^trusted comment: texp v2 /trusted comment: texp v2  /' tc.texp.minisig
expect_rc 1 "--content-only: an altered trusted comment fails" \
	$V verify $common --tenant acme --content-only tc.texp
check "  ... at the comment's signature" grep -q "trusted comment was altered" err
cp a.texp.minisig fo.texp.minisig
cp a.texp fo.texp
expect_rc 1 "--content-only: a signature by another key fails" \
	$V verify --identity id.key --signer other.pub --tenant acme \
	--content-only fo.texp
if command -v age >/dev/null; then
	"$V" keygen --out id2.key >rcpt2
	# what --content-only does not bind: the same plaintext encrypted
	# again, to another recipient, under the original signature
	age -d -i id.key a.texp >plain.tar
	age -r "$(cat rcpt2)" <plain.tar >re.texp
	cp a.texp.minisig re.texp.minisig
	expect_rc 1 "a re-encrypted copy fails the full check" \
		$V verify --identity id2.key --signer signer.pub --tenant acme re.texp
	check "  ... at the signature over the file" \
		grep -q "signature does not match the archive" err
	expect_rc 0 "  ... and passes --content-only (its content is the signed one)" \
		$V verify --identity id2.key --signer signer.pub --tenant acme \
		--content-only re.texp
	# one byte of the content changed, encrypted again: caught
	size=$(stat -c %s plain.tar)
	py '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0x01
open(p, "wb").write(b)
' plain.tar "$((size / 3))"
	age -r "$(cat rcpt2)" <plain.tar >alt.texp
	cp a.texp.minisig alt.texp.minisig
	expect_rc 1 "--content-only: a changed byte of the content fails" \
		$V verify --identity id2.key --signer signer.pub --tenant acme \
		--content-only alt.texp
else
	echo "# re-encryption checks skipped: age missing"
fi
"$S" --out s3.texp --sign-key signer.key --recipient "$recipient" \
    --tenant acme --records 300 --row-bytes 200 --part-size 20000 \
    >/dev/null 2>&1 || exit 1
expect_rc 0 "--content-only proves a split archive" \
	$V verify $common --tenant acme --content-only s3.texp.index
printf 'x' >bad.idx
cat s3.texp.index >>bad.idx
cp bad.idx s3.texp.index
expect_rc 1 "--content-only: a changed index fails" \
	$V verify $common --tenant acme --content-only s3.texp.index

# ---- inspect ----
expect_rc 0 "inspect without a key" $V inspect a.texp
check "inspect marks claims unverified" grep -q 'UNVERIFIED' out
check "inspect shows the X25519 stanza" grep -q 'X25519' out
expect_rc 0 "inspect with a key shows the manifest" $V inspect --identity id.key a.texp
check "inspect lists columns" grep -q 'tenant_id text (tenant key)' out

echo "1..$n"
[ "$failures" -eq 0 ] || { echo "verify_cli: $failures of $n failed"; exit 1; }
echo "verify_cli: all $n passed"
