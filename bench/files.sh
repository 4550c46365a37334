#!/bin/sh
# bench/files: the memory of the files path, whatever the file sizes: one
# file of BENCH_FILE_MB megabytes (default 2048), then BENCH_FILES small
# files of 100 bytes (default 100000), each written by the format writer
# and read back through the reader's proof (tests/tools/texp-filebench: no
# database, encryption or sandbox). Prints wall time and peak RSS of each.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
MB=${BENCH_FILE_MB:-2048}
N=${BENCH_FILES:-100000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/texp-filebench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
T="$B/tests/tools/texp-filebench"
run() { /usr/bin/time -f "  %e s wall" "$@"; }
echo "one file of $MB MiB:"
run "$T" write 1 $((MB * 1024 * 1024)) "$dir/big"
run "$T" read "$dir/big"
rm -f "$dir/big"
echo "$N files of 100 bytes:"
run "$T" write "$N" 100 "$dir/many"
run "$T" read "$dir/many"
