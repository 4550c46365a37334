#!/bin/sh
# bench/verify: tenant-verify verify against what a recipient would run
# with the stock tools, in one run, on the same archives, alternating,
# BENCH_RUNS times each (default 3):
#   stock   minisign -Vm ARCHIVE && age -d ARCHIVE >/dev/null
#   age     age -d ARCHIVE >/dev/null (decryption alone)
# and tenant-verify verify --content-only (the content proven through the
# signed comment, the file's own bytes not hashed: docs/FORMAT.md §7)
# on two archives of texp-sample rows: large records (1000-byte rows,
# BENCH_MB megabytes, default 1024) and small ones (30-byte rows, BENCH_SMALL_MB,
# default 2/3 of BENCH_MB). Reports wall time, throughput, CPU time (user +
# system: steadier than wall time on a shared machine) and peak RSS, and
# the ratios the targets name: tenant-verify's throughput over the stock
# pair's (target >= 1.25x on both archives) and over age -d alone (target
# >= 0.75x on large records).
#
# BENCH_BASE=DIR also measures another build (a directory holding
# tenant-verify and tests/tools/texp-sample, e.g. a build of the previous
# commit), in the same run and alternating with the others, on archives of
# the same records written by that build's own texp-sample (its format may
# differ): before and after figures from one run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
MB=${BENCH_MB:-1024}
SMALL_MB=${BENCH_SMALL_MB:-$((MB * 2 / 3))}
RUNS=${BENCH_RUNS:-3}
BASE=${BENCH_BASE:-}
dir=${BENCH_DIR:-$top/bench/data}
mkdir -p "$dir"
work=$(mktemp -d "$dir/verify.XXXXXX")
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT INT TERM

"$B/tenant-verify" keygen --out "$work/id" >"$work/rcpt"
"$B/tenant-export" keygen --out "$work/sign" --unencrypted >/dev/null

# make NAME MB ROW_BYTES: NAME.texp of about MB megabytes (and base-NAME.texp
# with BENCH_BASE's texp-sample)
make_archive() {
	records=$(($2 * 1024 * 1024 / ($3 + 100)))
	echo "$records" >"$work/$1.records"
	echo "bench/verify: building $1 ($2 MB, $records records of ~$3 bytes)..."
	"$B/tests/tools/texp-sample" --out "$work/$1.texp" \
	    --sign-key "$work/sign.key" --recipient "$(cat "$work/rcpt")" \
	    --records "$records" --row-bytes "$3"
	if [ -n "$BASE" ]; then
		"$BASE/tests/tools/texp-sample" --out "$work/base-$1.texp" \
		    --sign-key "$work/sign.key" --recipient "$(cat "$work/rcpt")" \
		    --records "$records" --row-bytes "$3"
	fi
}
make_archive large "$MB" 1000
make_archive small "$SMALL_MB" 30

measure() {
	out=$1
	shift
	/usr/bin/time -f "%e %M %U %S" -o "$work/t" "$@" >/dev/null 2>"$work/err" ||
	    { cat "$work/err" >&2; exit 1; }
	cat "$work/t" >>"$out"
}

. "$top/bench/steal.sh"
steal_mark "$work/stat0"
for a in large small; do
	for k in ours co base stock age; do : >"$work/$a.$k"; done
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		measure "$work/$a.ours" "$B/tenant-verify" verify \
		    --identity "$work/id" --signer "$work/sign.pub" \
		    --tenant client-b "$work/$a.texp"
		measure "$work/$a.co" "$B/tenant-verify" verify \
		    --identity "$work/id" --signer "$work/sign.pub" \
		    --tenant client-b --content-only "$work/$a.texp"
		[ -z "$BASE" ] || measure "$work/$a.base" "$BASE/tenant-verify" \
		    verify --identity "$work/id" --signer "$work/sign.pub" \
		    --tenant client-b "$work/base-$a.texp"
		measure "$work/$a.stock" sh -c \
		    'minisign -Vqm "$1" -p "$2" && age -d -i "$3" "$1"' \
		    sh "$work/$a.texp" "$work/sign.pub" "$work/id"
		measure "$work/$a.age" age -d -i "$work/id" "$work/$a.texp"
		i=$((i + 1))
	done
done

steal=$(steal_share "$work/stat0")
python3 - "$work" "${BASE:-}" "$steal" <<'PY'
import os, statistics, sys
work, base, steal = sys.argv[1], sys.argv[2], sys.argv[3]
def load(p):
    rows = [tuple(map(float, l.split())) for l in open(p) if l.strip()]
    if not rows:
        return None
    return (statistics.median(r[0] for r in rows), min(r[0] for r in rows),
            max(r[1] for r in rows), statistics.median(r[2] + r[3] for r in rows))
for a in ("large", "small"):
    size = os.path.getsize(f"{work}/{a}.texp") / 1e6
    n = int(open(f"{work}/{a}.records").read())
    print(f"\n{a} records: archive {size:.0f} MB, {n} records, "
          f"{size * 1e6 / n:.0f} archive bytes per record")
    print(f"{'':36} {'median s':>9} {'best s':>7} {'MB/s':>7} {'CPU s':>7} {'peak RSS':>10}")
    res = {}
    for k, name in (("ours", "tenant-verify verify"),
                    ("co", "tenant-verify verify --content-only"),
                    ("base", "  base build (BENCH_BASE)"),
                    ("stock", "minisign -V && age -d"),
                    ("age", "age -d >/dev/null")):
        m = load(f"{work}/{a}.{k}")
        if m is None:
            continue
        sz = size
        if k == "base":
            sz = os.path.getsize(f"{work}/base-{a}.texp") / 1e6
        res[k] = (m, sz)
        print(f"{name:36} {m[0]:9.2f} {m[1]:7.2f} {sz / m[0]:7.0f} {m[3]:7.2f} {m[2] / 1024:7.1f} MiB")
    t = lambda k: res[k][1] / res[k][0][0]
    print(f"throughput, tenant-verify / (minisign -V && age -d): {t('ours') / t('stock'):.2f}x (target >= 1.25x)")
    print(f"throughput, tenant-verify / age -d: {t('ours') / t('age'):.2f}x" +
          (" (target >= 0.75x)" if a == "large" else ""))
    print(f"throughput, tenant-verify --content-only / age -d: "
          f"{t('co') / t('age'):.2f}x; / (minisign -V && age -d): "
          f"{t('co') / t('stock'):.2f}x")
    if "base" in res:
        print(f"throughput, tenant-verify / base build: {t('ours') / t('base'):.2f}x; "
              f"CPU base / ours: {res['base'][0][3] / res['ours'][0][3]:.2f}x ({base})")
print(f"\nhypervisor steal during the runs: {steal}% of the machine's CPU "
      "time (the ratios are as steady as this is low)")
print("\ntenant-verify also checks every record's hashes, the counts and "
      "the Merkle roots, the tenant of every record and the column types")
PY
