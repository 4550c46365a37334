#!/bin/sh
# Builds the Debian packages from a build tree: tenant-verify (the
# verifier alone, for recipients: its manual page, the recipient guide,
# bash completion) and tenant-export (the exporter and service, which
# depends on tenant-verify). Depends: are the packages of the shared
# libraries each program links directly (objdump NEEDED), at least the
# versions built against.
#   sh ci/deb.sh BUILD VERSION OUTDIR
set -eu
build=$1 version=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
tmp=$(mktemp -d /tmp/texp-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

depends() {	# depends BINARY: "pkg (>= v), ..." of its direct libraries
	for so in $(objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldd "$1" | awk -v s="$so" '$1 == s { print $3 }')
		[ -n "$path" ] || { echo "deb: $1 needs $so, not found" >&2; exit 1; }
		pkg=$(dpkg -S "*/$(basename "$path")" 2>/dev/null | head -n 1 |
		    cut -d: -f1)
		[ -n "$pkg" ] || { echo "deb: no package has $path" >&2; exit 1; }
		echo "$pkg ($(dpkg-query -W -f='${Version}' "$pkg"))" |
		    sed 's/(\(.*\))/(>= \1)/'
	done | sort -u | paste -s -d, - | sed 's/,/, /g'
}

control() {	# control PKG DEPENDS DESCRIPTION...
	pkg=$1 dep=$2
	shift 2
	mkdir -p "$tmp/$pkg/DEBIAN"
	cat >"$tmp/$pkg/DEBIAN/control" <<CTL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: tenant-export maintainers <maintainers@localhost>
Section: admin
Priority: optional
Depends: $dep
Description: $1
$(shift; for l in "$@"; do echo " $l"; done)
CTL
}

doc=usr/share/doc
# tenant-verify: what a recipient needs, nothing more
v="$tmp/tenant-verify"
install -D -m 0755 "$build/tenant-verify" "$v/usr/bin/tenant-verify"
install -D -m 0644 "$top/docs/tenant-verify.1" "$v/usr/share/man/man1/tenant-verify.1"
gzip -9n "$v/usr/share/man/man1/tenant-verify.1"
install -D -m 0644 "$top/LICENSE" "$v/$doc/tenant-verify/copyright"
install -m 0644 "$top/docs/RECIPIENT.md" "$top/docs/FORMAT.md" "$top/docs/JSON.md" \
    "$v/$doc/tenant-verify/"
install -D -m 0644 "$top/completion/tenant-export.bash" \
    "$v/usr/share/bash-completion/completions/tenant-verify"
control tenant-verify "$(depends "$build/tenant-verify")" \
    "prove and extract tenant-export archives" \
    "Verifies a tenant-export archive (age-encrypted, minisign-signed):" \
    "that it comes from the signer, holds only the expected tenant's" \
    "records and all of them; then extracts them as JSON Lines, CSV or CBOR."

# tenant-export: the exporter and its service
e="$tmp/tenant-export"
install -D -m 0755 "$build/tenant-export" "$e/usr/bin/tenant-export"
install -D -m 0644 "$top/docs/tenant-export.1" "$e/usr/share/man/man1/tenant-export.1"
gzip -9n "$e/usr/share/man/man1/tenant-export.1"
install -D -m 0644 "$top/LICENSE" "$e/$doc/tenant-export/copyright"
install -m 0644 "$top/README.md" "$top"/docs/*.md "$e/$doc/tenant-export/"
install -D -m 0644 "$top/examples/agency.conf" "$e/$doc/tenant-export/examples/agency.conf"
mkdir -p "$e/$doc/tenant-export/templates"
install -m 0644 "$top"/ci/templates/* "$e/$doc/tenant-export/templates/"
install -D -m 0644 "$top/completion/tenant-export.bash" \
    "$e/usr/share/bash-completion/completions/tenant-export"
control tenant-export "$(depends "$build/tenant-export"), tenant-verify (= $version)" \
    "export one tenant from a multi-tenant PostgreSQL database" \
    "Exports exactly one tenant's rows into an encrypted, signed archive" \
    "from a confined builder, on signed and audited requests."

mkdir -p "$out"
for p in tenant-verify tenant-export; do
	dpkg-deb --root-owner-group -Zxz --build "$tmp/$p" \
	    "$out/${p}_${version}_$arch.deb" >/dev/null
	echo "$out/${p}_${version}_$arch.deb"
done
