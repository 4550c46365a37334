#!/bin/sh
# bench/verify: tenant-verify verify against `age -d ARCHIVE >/dev/null` on
# the same archive of about BENCH_MB megabytes (default 1024), in one run,
# alternating the two, BENCH_RUNS times each (default 3). Reports wall
# time, throughput and peak RSS; the ratio is ours over age's throughput.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
MB=${BENCH_MB:-1024}
RUNS=${BENCH_RUNS:-3}
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

measure() {
	/usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" ||
	    { cat "$work/err" >&2; exit 1; }
	cat "$work/t"
}

: >"$work/ours"
: >"$work/age"
i=0
while [ "$i" -lt "$RUNS" ]; do
	measure "$B/tenant-verify" verify --identity "$work/id" \
	    --signer "$work/sign.pub" --tenant client-b "$work/big.texp" \
	    >>"$work/ours"
	measure age -d -i "$work/id" "$work/big.texp" >>"$work/age"
	i=$((i + 1))
done

python3 - "$size" "$work/ours" "$work/age" <<'PY'
import statistics, sys
size = int(sys.argv[1])
def load(p):
    rows = [tuple(map(float, l.split())) for l in open(p) if l.strip()]
    return [r[0] for r in rows], max(r[1] for r in rows)
ours, ours_rss = load(sys.argv[2])
age, age_rss = load(sys.argv[3])
mb = size / 1e6
print(f"{'':22} {'median s':>9} {'best s':>7} {'MB/s':>8} {'peak RSS':>10}")
for name, t, rss in (("tenant-verify verify", ours, ours_rss),
                     ("age -d >/dev/null", age, age_rss)):
    m = statistics.median(t)
    print(f"{name:22} {m:9.2f} {min(t):7.2f} {mb / m:8.0f} {rss / 1024:8.1f} MiB")
r = statistics.median(age) / statistics.median(ours)
print(f"throughput ratio (tenant-verify / age, medians): {r:.2f}x")
print(f"tenant-verify also checks the signature, every record's hashes, "
      f"counts and Merkle roots")
PY
