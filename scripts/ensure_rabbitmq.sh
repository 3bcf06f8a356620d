#!/usr/bin/env bash
# Make sure RabbitMQ runs on this machine with its management plugin: install, enable and start what is missing.
set -euo pipefail

MGMT_URL="${RABBITMQ_MANAGEMENT_URL:-http://127.0.0.1:15672}"
MGMT_AUTH="${RABBITMQ_MANAGEMENT_AUTH:-guest:guest}"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

log() { printf '[broker] %s\n' "$*"; }

management_up() { curl -fsS -m 3 -u "$MGMT_AUTH" "$MGMT_URL/api/overview" >/dev/null 2>&1; }
node_up() { $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
  log "RabbitMQ is not installed: installing rabbitmq-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rabbitmq-server curl >/dev/null
fi
command -v curl >/dev/null 2>&1 || { $SUDO apt-get update -qq; $SUDO apt-get install -y -qq curl >/dev/null; }
export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"

if ! node_up; then
  log "starting rabbitmq-server"
  $SUDO rabbitmq-server -detached || true
  for _ in $(seq 1 60); do node_up && break; sleep 1; done
  node_up || { log "RabbitMQ did not start within 60 s"; exit 1; }
fi

if ! $SUDO rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
  log "enabling rabbitmq_management"
  $SUDO rabbitmq-plugins enable rabbitmq_management >/dev/null
fi
# Quorum queues with at-least-once dead-lettering need every feature flag of this version.
$SUDO rabbitmqctl enable_feature_flag all >/dev/null 2>&1 || true

for _ in $(seq 1 60); do management_up && break; sleep 1; done
management_up || { log "management API at $MGMT_URL is not answering"; exit 1; }
log "RabbitMQ $($SUDO rabbitmqctl version 2>/dev/null || echo '?') is up; management UI at $MGMT_URL"
