#!/bin/sh
# Installs the Debian 12 packages that building, testing and the demo need,
# only those missing. As root it runs apt-get; otherwise it prints the
# command to run and fails.
set -eu

PKGS="gcc make pkg-config libc6-dev
libsodium-dev libseccomp-dev libpq-dev libssl-dev libzstd-dev libcbor-dev
libinih-dev libjansson-dev libbsd-dev check
age minisign postgresql postgresql-client
clang libclang-rt-14-dev python3 python3-cbor2 python3-yaml time
libb2-dev
chromium chromium-driver"

# promtool (tests of `tenant-export metrics`) comes from Debian's prometheus
# package, but that package also installs and starts a Prometheus server:
# only its promtool binary is unpacked, here.
PROMTOOL=/usr/local/lib/tenant-export/promtool

install_promtool() {
	command -v promtool >/dev/null 2>&1 && return 0
	[ -x "$PROMTOOL" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "tenant-export: promtool missing; as root: sh ci/install-deps.sh" >&2
		return 2
	fi
	pt=$(mktemp -d /tmp/texp-promtool.XXXXXX)
	chmod 755 "$pt"
	(cd "$pt" && { apt-get download -q prometheus >/dev/null 2>&1 ||
	    { apt-get update -q >/dev/null && apt-get download -q prometheus; }; } &&
	    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool) &&
	    install -D -m 0755 "$pt/usr/bin/promtool" "$PROMTOOL"
	rc=$?
	rm -rf "$pt"
	return $rc
}

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	install_promtool
	exit
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "tenant-export: missing packages:$missing" >&2
	echo "tenant-export: run as root: apt-get install -y$missing" >&2
	exit 2
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet.
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing
fi
# Debian's postgresql package creates and starts a system cluster; the
# tests and the demo use throwaway clusters of their own instead.
install_promtool
