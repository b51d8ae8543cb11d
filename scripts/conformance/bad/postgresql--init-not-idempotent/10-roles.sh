#!/bin/sh
# BROKEN on purpose: not idempotent. The second run (a pod restart on an initialised volume, or
# the documented manual re-run) fails because the role already exists.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -c "CREATE ROLE $HAPL_APP_USER LOGIN PASSWORD '$HAPL_APP_PASSWORD'" \
  -c "CREATE DATABASE $HAPL_APP_DATABASE OWNER $HAPL_APP_USER"
