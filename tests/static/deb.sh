#!/bin/sh
# ci/deb.sh (make deb) builds two packages: tenant-verify alone, with
# only the libraries the verifier links (no PostgreSQL client, no
# seccomp), its manual page and the recipient guide; and tenant-export,
# which depends on it. The extracted verifier runs.
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TEXP_BUILD:-$top/build}
command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb missing, skipped"; exit 0; }
# Packages are made from the release build; a sanitizer build's link
# keeps every library it is given (libpq in tenant-verify too), which says
# nothing of what the packages need.
case "$build" in
*asan*) echo "deb: sanitizer build, skipped (make deb packs the release build)"; exit 0 ;;
esac
d=$(mktemp -d /tmp/texp-debtest.XXXXXX)
trap 'rm -rf "$d"' EXIT INT TERM
fail=0
t() { if "$@"; then echo "ok - $desc"; else echo "not ok - $desc"; fail=1; fi; }
sh "$top/ci/deb.sh" "$build" 0.0.0-test "$d" >/dev/null || { echo "deb: ci/deb.sh failed"; exit 1; }
v=$(ls "$d"/tenant-verify_*.deb) e=$(ls "$d"/tenant-export_*.deb)
desc="tenant-verify does not pull in PostgreSQL or seccomp"
t sh -c '! dpkg-deb -f "$1" Depends | grep -Eq "libpq|libseccomp|libinih"' sh "$v"
desc="tenant-export depends on the same tenant-verify"
t sh -c 'dpkg-deb -f "$1" Depends | grep -q "tenant-verify (= 0.0.0-test)"' sh "$e"
desc="tenant-verify ships the program, its manual page, the recipient guide, the license"
t sh -c 'c=$(dpkg-deb -c "$1"); for f in usr/bin/tenant-verify \
    man1/tenant-verify.1.gz doc/tenant-verify/RECIPIENT.md \
    doc/tenant-verify/copyright completions/tenant-verify; do
	echo "$c" | grep -q "$f" || exit 1; done' sh "$v"
desc="tenant-verify ships nothing of the exporter"
t sh -c '! dpkg-deb -c "$1" | grep -q "tenant-export"' sh "$v"
dpkg-deb -x "$v" "$d/root"
desc="the packaged tenant-verify runs"
t "$d/root/usr/bin/tenant-verify" --version
[ "$fail" -eq 0 ] && echo "deb: ok" || { echo "deb: failed"; exit 1; }
