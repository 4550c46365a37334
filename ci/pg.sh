#!/bin/sh
# Throwaway PostgreSQL for tests and the demo: a cluster in a temporary
# directory, listening on a unix socket only, never on TCP.
#
#   ci/pg.sh start DIR   create and start a cluster under DIR; prints the
#                        environment to use it (eval "$(ci/pg.sh start DIR)")
#   ci/pg.sh stop DIR    stop it and remove DIR
#
# The superuser "postgres" connects over the socket without a password;
# every other role must authenticate with scram-sha-256.
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: ci/pg.sh start|stop DIR" >&2; exit 2; }

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/pg_ctl" ] || { echo "ci/pg.sh: PostgreSQL server not installed (run ci/install-deps.sh)" >&2; exit 2; }

# The server refuses to run as root; run it as an unprivileged account.
asuser() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
		chown postgres "$dir"
		chmod 0755 "$dir"
	fi
	asuser "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
		--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	cat >"$dir/data/pg_hba.conf" <<HBA
local all postgres trust
local all all scram-sha-256
HBA
	asuser "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c max_connections=100" \
		start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	echo "PGHOST='$dir'; export PGHOST; PGPORT=5432; export PGPORT; PGUSER=postgres; export PGUSER; PGDATABASE=postgres; export PGDATABASE"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		asuser "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: ci/pg.sh start|stop DIR" >&2
	exit 2
	;;
esac
