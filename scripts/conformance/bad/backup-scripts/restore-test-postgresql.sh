#!/bin/sh
# Restores the newest dump into a scratch database and fails when it holds no tables.
set -eu
file=$(ls -1 "$BACKUP_DIR"/*.dump | sort | tail -n 1)
dropdb --if-exists restore_test
createdb restore_test
pg_restore --no-owner --exit-on-error --dbname=restore_test "$file"
tables=$(psql -X -At -d restore_test -c "select count(*) from pg_tables where schemaname = 'public'")
dropdb restore_test
[ "$tables" -gt 0 ]
