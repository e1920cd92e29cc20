#!/usr/bin/env bash
# A local Citus cluster for measurements: one coordinator and two workers, each its own
# PostgreSQL 15 instance (trust auth on 127.0.0.1, for a lab machine only).
#
#   infra/deploy/citus/cluster.sh start|stop|status|destroy
#
# Data directories live under $CITUS_DATA (default /work/wt/citus-data, never inside the
# repository); ports $CITUS_PORT (coordinator, default 5440), +1, +2 (workers).
# `start` initialises missing instances, starts them, creates the citus extension in
# $CITUS_DB (default danvan_citus) on all three and registers the workers with the
# coordinator (idempotent). Needs Citus built into PostgreSQL 15 (build.sh).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DATA=${CITUS_DATA:-/work/wt/citus-data}
PORT=${CITUS_PORT:-5440}
DB=${CITUS_DB:-danvan_citus}
NODES=(coordinator worker1 worker2)
RUN_AS=${RUN_AS:-postgres}

as_pg() {
    if [[ $(id -un) == "$RUN_AS" ]]; then "$@"; else runuser -u "$RUN_AS" -- "$@"; fi
}

port_of() { echo $((PORT + $1)); }

psql_at() {
    local port=$1; shift
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

init_node() {
    local dir=$DATA/$1 port=$2
    [[ -f $dir/PG_VERSION ]] && return
    mkdir -p "$dir" && chown "$RUN_AS" "$DATA" "$dir" && chmod 700 "$dir"
    as_pg "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$dir/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DATA'
max_connections = 200
shared_buffers = 256MB
max_prepared_transactions = 100
wal_level = logical
citus.shard_count = 32
CONF
}

start() {
    mkdir -p "$DATA"
    chown "$RUN_AS" "$DATA"
    local i
    for i in 0 1 2; do
        init_node "${NODES[$i]}" "$(port_of $i)"
        if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA/${NODES[$i]}" status >/dev/null 2>&1; then
            as_pg "$PG_BIN/pg_ctl" -D "$DATA/${NODES[$i]}" -l "$DATA/${NODES[$i]}.log" -w start >/dev/null
        fi
    done
    for i in 0 1 2; do
        local port; port=$(port_of $i)
        if ! psql_at "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
            psql_at "$port" -d postgres -c "CREATE DATABASE $DB"
        fi
        psql_at "$port" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS citus"
    done
    psql_at "$PORT" -d "$DB" -c "SELECT citus_set_coordinator_host('127.0.0.1', $PORT)"
    for i in 1 2; do
        psql_at "$PORT" -d "$DB" -tAc "SELECT 1 FROM pg_dist_node WHERE nodeport = $(port_of $i)" | grep -q 1 \
            || psql_at "$PORT" -d "$DB" -c "SELECT citus_add_node('127.0.0.1', $(port_of $i))"
    done
    psql_at "$PORT" -d "$DB" -c "SELECT nodename, nodeport, groupid, isactive FROM pg_dist_node ORDER BY nodeport"
}

stop() {
    local node
    for node in "${NODES[@]}"; do
        [[ -f $DATA/$node/PG_VERSION ]] || continue
        as_pg "$PG_BIN/pg_ctl" -D "$DATA/$node" -m fast stop >/dev/null 2>&1 || true
    done
}

status() {
    local node
    for node in "${NODES[@]}"; do
        as_pg "$PG_BIN/pg_ctl" -D "$DATA/$node" status || true
    done
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    destroy) stop; rm -rf "${DATA:?}"/coordinator "${DATA:?}"/worker1 "${DATA:?}"/worker2 ;;
    *) echo "usage: $0 start|stop|status|destroy" >&2; exit 2 ;;
esac
