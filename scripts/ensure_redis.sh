#!/usr/bin/env bash
# Make sure Redis answers on 127.0.0.1:6379 (the shared result store of the tests): install and start what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
log() { printf '[redis] %s\n' "$*"; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! command -v redis-server >/dev/null 2>&1; then
  log "Redis is not installed: installing redis-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

if ! redis_up; then
  log "starting redis-server on 127.0.0.1:6379"
  $SUDO redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  redis_up || { log "Redis did not answer on 127.0.0.1:6379 within 30 s"; exit 1; }
fi
log "Redis $(redis-cli -h 127.0.0.1 -p 6379 info server | sed -n 's/^redis_version://p' | tr -d '\r') is up on 127.0.0.1:6379"
