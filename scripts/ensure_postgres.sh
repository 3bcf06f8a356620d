#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 for user postgres with a `test` database
# (the storage tests run against SQLite and this server): install, start and configure what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
log() { printf '[postgres] %s\n' "$*"; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sudo -u postgres sh -c "$*"; fi; }
can_login() { psql "postgresql://postgres@127.0.0.1:5432/postgres" -tAc 'select 1' >/dev/null 2>&1; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "PostgreSQL is not installed: installing postgresql"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  log "starting cluster $version/main"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL did not start"; exit 1; }
fi

if ! can_login; then
  # A fresh Debian cluster asks loopback clients for a password; this is a test machine: trust loopback.
  hba=$(as_postgres "psql -tAc 'show hba_file'")
  log "allowing passwordless loopback logins in $hba"
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  as_postgres "psql -qc 'select pg_reload_conf()'" >/dev/null
  sleep 1
fi
can_login || { log "cannot log in as postgres on 127.0.0.1"; exit 1; }

if [ "$(psql "postgresql://postgres@127.0.0.1:5432/postgres" -tAc "select 1 from pg_database where datname='test'")" != "1" ]; then
  psql "postgresql://postgres@127.0.0.1:5432/postgres" -qc 'create database test'
fi
log "PostgreSQL is up on 127.0.0.1:5432 (database test)"
