#!/bin/sh
# make install puts the programs, manual pages, docs, the example
# configuration and the bash completion under DESTDIR; make uninstall
# removes every file it wrote (only empty directories may stay).
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TEXP_BUILD:-$top/build}
d=$(mktemp -d /tmp/texp-install.XXXXXX)
trap 'rm -rf "$d"' EXIT INT TERM
fail=0
m() { make -s -C "$top" BUILD="$(basename "$build")" DESTDIR="$d" PREFIX=/usr "$@"; }
m install >"$d.log" 2>&1 || { cat "$d.log"; rm -f "$d.log"; echo "install: make install failed"; exit 1; }
rm -f "$d.log"
for f in usr/bin/tenant-export usr/bin/tenant-verify \
    usr/share/man/man1/tenant-export.1 usr/share/man/man1/tenant-verify.1 \
    usr/share/doc/tenant-export/LICENSE usr/share/doc/tenant-export/README.md \
    usr/share/doc/tenant-export/RECIPIENT.md usr/share/doc/tenant-export/JSON.md \
    usr/share/doc/tenant-export/examples/agency.conf \
    usr/share/doc/tenant-export/templates/tenant-export@.service \
    usr/share/doc/tenant-export/templates/github-actions.yml \
    usr/share/bash-completion/completions/tenant-export \
    usr/share/bash-completion/completions/tenant-verify; do
	if [ -e "$d/$f" ]; then echo "ok - installs $f"; else echo "not ok - installs $f"; fail=1; fi
done
"$d/usr/bin/tenant-verify" --version >/dev/null ||
    { echo "not ok - the installed tenant-verify runs"; fail=1; }
m uninstall || { echo "install: make uninstall failed"; exit 1; }
left=$(find "$d" -type f -o -type l)
if [ -n "$left" ]; then
	echo "not ok - uninstall leaves:"; echo "$left"; fail=1
else
	echo "ok - uninstall removes every file install wrote"
fi
[ "$fail" -eq 0 ] && echo "install: ok" || { echo "install: failed"; exit 1; }
