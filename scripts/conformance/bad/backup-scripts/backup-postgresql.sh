#!/bin/sh
# BROKEN on purpose: dumps the schema only (`--schema-only`), so every row is lost on restore.
set -eu
file="$BACKUP_DIR/$PGDATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --schema-only --file="$file.tmp" "$PGDATABASE"
mv "$file.tmp" "$file"
