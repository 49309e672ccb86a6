#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks.
#   scripts/pg.sh start DIR   -> prints the admin URL (postgresql://postgres@127.0.0.1:PORT/postgres)
#   scripts/pg.sh stop DIR
#   scripts/pg.sh standby DIR PRIMARY_PORT    -> a streaming replica (pg_basebackup -R) of the
#                                                cluster on PRIMARY_PORT; prints its admin URL
#   scripts/pg.sh pgbouncer DIR PRIMARY_PORT  -> pgbouncer in transaction mode in front of it;
#                                                prints its URL (databases by the same names)
# `stop DIR` stops whichever of them DIR holds and removes DIR.
# initdb refuses to run as root, so as root the cluster belongs to the postgres user.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
  echo "PostgreSQL server not found; installing it" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
own_dir() {
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
}
case "$cmd" in
  standby)
    primary=${3:?primary port}
    own_dir
    port=$(free_port)
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL the backup needs.
    as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/data" -R \
      -X stream -c fast >"$dir/basebackup.log" 2>&1
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c hot_standby=on -c max_connections=200" \
      start >/dev/null
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  pgbouncer)
    primary=${3:?primary port}
    own_dir
    port=$(free_port)
    pgbouncer=$(PATH="$PATH:/usr/sbin" command -v pgbouncer || true)
    if [ -z "$pgbouncer" ]; then
      echo "pgbouncer not found; installing it" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
      pgbouncer=/usr/sbin/pgbouncer
    fi
    echo '"postgres" ""' >"$dir/users.txt"
    # Transaction pooling, rotating server connections (server_round_robin) so a statement
    # prepared on one connection is missed on the next: what production's pooling does under load.
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$primary
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
server_round_robin = 1
default_pool_size = 4
max_client_conn = 400
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"/*; fi
    as_owner "$pgbouncer" -d "$dir/pgbouncer.ini"  # refuses to run as root
    for _ in $(seq 50); do [ -s "$dir/pgbouncer.pid" ] && break; sleep 0.1; done
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -s "$dir/pgbouncer.pid" ]; then kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; fi
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop|standby|pgbouncer DIR [PRIMARY_PORT]" >&2; exit 2 ;;
esac
