#!/bin/sh
# Restores the newest dump in $BACKUP_DIR (or the file given) into $PGDATABASE.
set -eu
file=${1:-$(ls -1 "$BACKUP_DIR"/*.dump | sort | tail -n 1)}
pg_restore --clean --if-exists --no-owner --exit-on-error --dbname="$PGDATABASE" "$file"
