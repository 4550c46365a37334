#!/bin/sh
# Throwaway PostgreSQL for tests and the demo: a cluster in a temporary
# directory, listening on a unix socket only, never on TCP.
#
#   ci/pg.sh start DIR         create and start a cluster under DIR; prints
#                              the environment to use it
#                              (eval "$(ci/pg.sh start DIR)")
#   ci/pg.sh stop DIR          stop it and remove DIR
#   ci/pg.sh stop-server DIR   stop the server, keep the cluster (a test of
#   ci/pg.sh start-server DIR  a database that goes away), and start it again
#   ci/pg.sh standby PRIMARY DIR
#                              a hot standby of the cluster under PRIMARY
#                              (streaming replication, its own socket
#                              directory DIR, same port), for exports that
#                              read from a standby; prints its PGHOST
#
# Only its owner can reach it: DIR (which holds the socket, the data and
# the log) is mode 0700, owned by the account the server runs as. The
# superuser "postgres" logs in over the socket by peer authentication, for
# the invoking account only (root and postgres when run as root); every
# other role must authenticate with scram-sha-256. No password is ever
# given on a command line. With PG_SOCKET_GROUP=GROUP in the environment,
# members of GROUP may reach the socket too (DIR mode 0750, socket 0770):
# for a service that runs under an account of its own.
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: ci/pg.sh start|stop|stop-server|start-server DIR | standby PRIMARY DIR" >&2; exit 2; }

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

server_start() {
	sockopts="-c unix_socket_permissions=0700"
	group=$(cat "$dir/socket_group" 2>/dev/null || true)
	if [ -n "$group" ]; then
		sockopts="-c unix_socket_group=$group -c unix_socket_permissions=0770"
	fi
	asuser "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' $sockopts -c fsync=off -c max_connections=100" \
		start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
}

case "$cmd" in
start)
	mkdir -p "$dir"
	chmod 0700 "$dir"
	if [ -n "${PG_SOCKET_GROUP:-}" ]; then
		chgrp "$PG_SOCKET_GROUP" "$dir"
		chmod 0750 "$dir"
		echo "$PG_SOCKET_GROUP" >"$dir/socket_group"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
		chown postgres "$dir"
		# the server sets the socket's group: it must be a member
		if [ -n "${PG_SOCKET_GROUP:-}" ]; then
			usermod -a -G "$PG_SOCKET_GROUP" postgres
		fi
		owners="root postgres"
	else
		owners=$(id -un)
	fi
	asuser "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=peer \
		--auth-host=reject -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	cat >"$dir/data/pg_hba.conf" <<HBA
local all postgres peer map=owner
local replication postgres peer map=owner
local all all scram-sha-256
HBA
	: >"$dir/data/pg_ident.conf"
	for u in $owners; do
		echo "owner $u postgres" >>"$dir/data/pg_ident.conf"
	done
	server_start
	echo "PGHOST='$dir'; export PGHOST; PGPORT=5432; export PGPORT; PGUSER=postgres; export PGUSER; PGDATABASE=postgres; export PGDATABASE"
	;;
standby)
	# DIR is the standby's; the primary is $2
	primary=$dir
	dir=${3:-}
	[ -n "$dir" ] && [ -f "$primary/data/postmaster.pid" ] || { echo "usage: ci/pg.sh standby PRIMARY DIR (PRIMARY running)" >&2; exit 2; }
	mkdir -p "$dir"
	chmod 0700 "$dir"
	if [ -f "$primary/socket_group" ]; then
		cp "$primary/socket_group" "$dir/"
		chgrp "$(cat "$dir/socket_group")" "$dir"
		chmod 0750 "$dir"
	fi
	[ "$(id -u)" -ne 0 ] || chown postgres "$dir"
	# -R writes primary_conninfo: the standby follows PRIMARY's socket
	asuser "$bindir/pg_basebackup" -h "$primary" -p 5432 -U postgres \
		-D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
		{ cat "$dir/basebackup.log" >&2; exit 1; }
	server_start
	echo "$dir"
	;;
stop-server)
	asuser "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
start-server)
	server_start
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		asuser "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: ci/pg.sh start|stop|stop-server|start-server DIR | standby PRIMARY DIR" >&2
	exit 2
	;;
esac
