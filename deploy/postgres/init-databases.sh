#!/usr/bin/env bash
# Runs once, on the first start of the postgres:18 container (docker-entrypoint-initdb.d):
# the application role `rcm` and one database per service, owned by it. Safe to re-run.
set -euo pipefail
: "${RCM_PG_PASSWORD:?RCM_PG_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$RCM_PG_PASSWORD" <<'EOSQL'
SELECT format('CREATE ROLE rcm LOGIN PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rcm')\gexec
SELECT format('CREATE DATABASE %I OWNER rcm', db)
  FROM unnest(ARRAY['registration', 'coding', 'claims', 'payments', 'ar_followup']) AS db
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = db)\gexec
EOSQL
