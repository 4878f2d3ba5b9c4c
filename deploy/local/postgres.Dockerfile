# Local stand-in for the postgres image where it cannot be pulled: Debian's PostgreSQL 15, with
# the same variables, data folder and /docker-entrypoint-initdb.d scripts (postgres-entrypoint.sh).
ARG BASE_IMAGE=localhost/procure-debian:bookworm
FROM ${BASE_IMAGE}

RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /var/lib/postgresql/15 /etc/postgresql/15/main \
 && mkdir -p /docker-entrypoint-initdb.d /var/lib/postgresql/data \
 && chown postgres:postgres /var/lib/postgresql/data
COPY deploy/local/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh

EXPOSE 5432
CMD ["sh", "/usr/local/bin/postgres-entrypoint.sh"]
