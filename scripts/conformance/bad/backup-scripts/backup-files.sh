#!/bin/sh
# BROKEN on purpose: `*` skips dot files, so Home Assistant's .storage (UI-made config,
# integrations, users) never reaches the archive; and old archives are never pruned.
set -eu
dir="$BACKUP_DIR/$NAME"
mkdir -p "$dir"
cd "$SOURCE_DIR"
tar -czf "$dir/$NAME-$(date -u +%Y%m%dT%H%M%SZ).tar.gz" *
