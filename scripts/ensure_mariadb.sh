#!/usr/bin/env bash
# Make sure MariaDB (MySQL-compatible) answers on 127.0.0.1:3306 for user root without a password, with a
# utf8mb4 `test` database (the storage tests run against SQLite, PostgreSQL and this server):
# install, start and configure what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
log() { printf '[mariadb] %s\n' "$*"; }
tcp() { mysql --protocol=tcp -h 127.0.0.1 -P 3306 -u root "$@"; }
answers() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 status >/dev/null 2>&1 \
  || mysqladmin --connect-timeout=2 ping 2>&1 | grep -q alive; }

if ! command -v mariadbd >/dev/null 2>&1 && ! [ -x /usr/sbin/mariadbd ]; then
  log "MariaDB is not installed: installing mariadb-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi

if ! answers; then
  log "starting MariaDB"
  $SUDO /etc/init.d/mariadb start >/dev/null 2>&1 || $SUDO service mariadb start >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do answers && break; sleep 1; done
  answers || { log "MariaDB did not start within 60 s (see /var/log/mysql/)"; exit 1; }
fi

if ! tcp -e 'select 1' >/dev/null 2>&1; then
  # A fresh Debian server lets root in only through its socket; this is a test machine: open loopback.
  log "allowing passwordless root logins from 127.0.0.1"
  $SUDO mysql -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
fi
tcp -e 'select 1' >/dev/null 2>&1 || { log "cannot log in as root on 127.0.0.1:3306"; exit 1; }

tcp -e 'CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'
log "MariaDB is up on 127.0.0.1:3306 (database test, utf8mb4)"
