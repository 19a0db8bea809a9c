#!/bin/sh
# Why: PgBouncer's auth_file must hold the password it checks the workers with and logs in to
# PostgreSQL with; compose has it only as POSTGRES_PASSWORD, so it is written to /tmp (the root
# file system is read-only), owner-only, with SQL-style doubled quotes, then PgBouncer runs in the
# foreground as PID 1 so it gets compose's stop signal.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
umask 077
printf '"singularity" "%s"\n' "$(printf '%s' "$POSTGRES_PASSWORD" | sed 's/"/""/g')" >/tmp/pgbouncer-userlist.txt
exec pgbouncer /etc/pgbouncer/singularity/pgbouncer.ini
