#!/usr/bin/env bash
# A private PostgreSQL server for the portal's tests and benchmarks, on 127.0.0.1 only.
#
# Usage: tests/db/postgres.sh start|stop|env
#   start  initialises target/db/postgres (once) and starts the server on
#          $MAKONIS_POSTGRES_PORT (default 55432); waits until it accepts connections.
#   stop   stops it (fast shutdown).
#   env    prints `export MAKONIS_TEST_POSTGRES_URL=…` for the tests.
# Needs the Debian package postgresql (15); initdb refuses root, so as root the server
# runs as the postgres user.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

port="${MAKONIS_POSTGRES_PORT:-55432}"
dir="$PWD/target/db/postgres"
bin="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)"
[[ -x "$bin/initdb" ]] || { echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
    start)
        if [[ ! -f "$dir/data/PG_VERSION" ]]; then
            rm -rf "$dir"
            mkdir -p "$dir"
            [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
            as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 > "$dir/initdb.log"
        fi
        if as_owner "$bin/pg_ctl" -D "$dir/data" status > /dev/null 2>&1; then
            echo "postgres.sh: already running on port $port"
            exit 0
        fi
        as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start > /dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
        echo "postgres.sh: PostgreSQL on 127.0.0.1:$port"
        ;;
    stop)
        if [[ -f "$dir/data/postmaster.pid" ]]; then
            as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
        fi
        ;;
    env)
        echo "export MAKONIS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
        ;;
    *)
        echo "usage: $0 start|stop|env" >&2
        exit 2
        ;;
esac
