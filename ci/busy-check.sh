#!/bin/sh
# make check, N times in a row (default 3), on a machine kept busy: a
# parallel build of a copy of the tree, over and over, and two busy loops.
# The tests wait for states, never for guessed times, so they must pass
# however slow the machine is. Exit 0 only if every run passed.
#
#   sh ci/busy-check.sh [N] [make arguments...]     e.g. sh ci/busy-check.sh 3
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
n=${1:-3}
[ $# -gt 0 ] && shift
copy=$(mktemp -d /tmp/texp-busy.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$copy"
}
trap cleanup EXIT INT TERM

# The load: a parallel build of a copy (its own build directory), and two
# loops that only burn CPU.
tar -c --exclude='./build*' --exclude='./bench/data' . | tar -x -C "$copy"
( while :; do make -s -C "$copy" BUILD=build-busy -j4 all >/dev/null 2>&1
	rm -rf "$copy/build-busy"; done ) &
pids="$pids $!"
for i in 1 2; do
	( while :; do :; done ) &
	pids="$pids $!"
done

i=1
while [ "$i" -le "$n" ]; do
	echo "busy-check: make check, run $i of $n (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	if ! make check "$@" >"$copy/check-$i.log" 2>&1; then
		tail -n 40 "$copy/check-$i.log"
		echo "busy-check: run $i of $n FAILED"
		exit 1
	fi
	tail -n 1 "$copy/check-$i.log"
	i=$((i + 1))
done
echo "busy-check: $n of $n runs passed"
