#!/bin/sh
# bench/verify: tenant-verify verify against `age -d ARCHIVE >/dev/null` on
# the same archive of about BENCH_MB megabytes (default 1024), in one run,
# alternating them, BENCH_RUNS times each (default 3). Reports wall time,
# throughput, CPU time (user + system: steadier than wall time on a shared
# machine) and peak RSS; the ratio is ours over age's throughput.
#
# BENCH_BASE=DIR also measures another build (a directory holding
# tenant-verify and tests/tools/texp-sample, e.g. a build of the previous
# commit), in the same run and alternating with the others, on an archive
# of the same records written by that build's own texp-sample (its format
# may differ): before and after figures from one run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
MB=${BENCH_MB:-1024}
RUNS=${BENCH_RUNS:-3}
BASE=${BENCH_BASE:-}
dir=${BENCH_DIR:-$top/bench/data}
mkdir -p "$dir"
work=$(mktemp -d "$dir/verify.XXXXXX")
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT INT TERM

# about 1100 bytes of record per row with --row-bytes 1000
records=$((MB * 1024 * 1024 / 1100))
"$B/tenant-verify" keygen --out "$work/id" >"$work/rcpt"
"$B/tenant-export" keygen --out "$work/sign" --unencrypted >/dev/null
echo "bench/verify: building a ${MB} MB archive ($records records)..."
"$B/tests/tools/texp-sample" --out "$work/big.texp" --sign-key "$work/sign.key" \
    --recipient "$(cat "$work/rcpt")" --records "$records" --row-bytes 1000
size=$(stat -c %s "$work/big.texp")
echo "bench/verify: archive is $size bytes"
if [ -n "$BASE" ]; then
	echo "bench/verify: the same records with $BASE ..."
	"$BASE/tests/tools/texp-sample" --out "$work/base.texp" \
	    --sign-key "$work/sign.key" --recipient "$(cat "$work/rcpt")" \
	    --records "$records" --row-bytes 1000
	base_size=$(stat -c %s "$work/base.texp")
	echo "bench/verify: its archive is $base_size bytes"
fi

measure() {
	/usr/bin/time -f "%e %M %U %S" -o "$work/t" "$@" >/dev/null 2>"$work/err" ||
	    { cat "$work/err" >&2; exit 1; }
	cat "$work/t"
}

: >"$work/ours"
: >"$work/base"
: >"$work/age"
i=0
while [ "$i" -lt "$RUNS" ]; do
	measure "$B/tenant-verify" verify --identity "$work/id" \
	    --signer "$work/sign.pub" --tenant client-b "$work/big.texp" \
	    >>"$work/ours"
	if [ -n "$BASE" ]; then
		measure "$BASE/tenant-verify" verify --identity "$work/id" \
		    --signer "$work/sign.pub" --tenant client-b \
		    "$work/base.texp" >>"$work/base"
	fi
	measure age -d -i "$work/id" "$work/big.texp" >>"$work/age"
	i=$((i + 1))
done

python3 - "$size" "$work/ours" "$work/age" "$work/base" "${BASE:-}" \
    "${base_size:-0}" <<'PY'
import statistics, sys
size = int(sys.argv[1])
base_size = int(sys.argv[6])
def load(p):
    rows = [tuple(map(float, l.split())) for l in open(p) if l.strip()]
    if not rows:
        return None, None, None
    return ([r[0] for r in rows], max(r[1] for r in rows),
            [r[2] + r[3] for r in rows])
ours, ours_rss, ours_cpu = load(sys.argv[2])
age, age_rss, age_cpu = load(sys.argv[3])
base, base_rss, base_cpu = load(sys.argv[4])
mb = size / 1e6
print(f"{'':26} {'median s':>9} {'best s':>7} {'MB/s':>8} {'CPU s':>7} {'peak RSS':>10}")
rows = [("tenant-verify verify", ours, ours_rss, mb, ours_cpu)]
if base is not None:
    rows.append(("  base build (BENCH_BASE)", base, base_rss, base_size / 1e6,
                 base_cpu))
rows.append(("age -d >/dev/null", age, age_rss, mb, age_cpu))
for name, t, rss, m_b, cpu in rows:
    m = statistics.median(t)
    print(f"{name:26} {m:9.2f} {min(t):7.2f} {m_b / m:8.0f} "
          f"{statistics.median(cpu):7.2f} {rss / 1024:8.1f} MiB")
r = statistics.median(age) / statistics.median(ours)
print(f"throughput ratio (tenant-verify / age, medians): {r:.2f}x")
if base is not None:
    b = (mb / statistics.median(ours)) / (base_size / 1e6 / statistics.median(base))
    print(f"throughput ratio (tenant-verify / base build, MB/s medians): {b:.2f}x")
    c = statistics.median(base_cpu) / statistics.median(ours_cpu)
    print(f"CPU ratio (base build / tenant-verify, medians): {c:.2f}x")
    print(f"base build: {sys.argv[5]}")
print(f"tenant-verify also checks the signature, every record's hashes, "
      f"counts and Merkle roots")
PY
