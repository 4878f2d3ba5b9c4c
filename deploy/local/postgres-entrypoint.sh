#!/bin/sh
# The postgres image's start, as much of it as the compose stack uses: on an empty data folder,
# a cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD, the database POSTGRES_DB
# and the SQL of /docker-entrypoint-initdb.d; then the server on every address.
set -eu
BIN=/usr/lib/postgresql/15/bin
PGDATA=/var/lib/postgresql/data
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres "$BIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 \
        --auth-local=trust --auth-host=scram-sha-256
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    # Initialisation listens on the socket only, as the postgres image's does: the TCP
    # healthcheck stays unhealthy until the databases exist.
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -k /tmp" -w start
    if [ "$POSTGRES_DB" != postgres ]; then
        as_postgres psql -h /tmp -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 \
            -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$script" ] || continue
        as_postgres psql -h /tmp -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 < "$script"
    done
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -k /tmp
