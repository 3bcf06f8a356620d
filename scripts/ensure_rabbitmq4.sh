#!/usr/bin/env bash
# Make sure a RabbitMQ 4 node (Debian 13's rabbitmq-server, Erlang 27) runs beside the system broker.
#
# The node runs inside a Debian 13 root made once with debootstrap and cached outside the repository
# (RABBITMQ4_ROOT). It has its own node name, AMQP, management and distribution ports and data
# directory, and RabbitMQ 4.3's defaults for deprecated features (transient non-exclusive queues and
# global QoS refused). The system broker is left alone. Idempotent: a running node is reused.
#
#   scripts/ensure_rabbitmq4.sh            install (when missing) and start the node
#   scripts/ensure_rabbitmq4.sh --root     only make sure the cached root exists (used by the cluster tests)
#   scripts/ensure_rabbitmq4.sh --stop     stop the node
set -euo pipefail

ROOT="${RABBITMQ4_ROOT:-/var/cache/celery-tasks/rabbitmq4-trixie}"
NAME="${RABBITMQ4_NAME:-rabbit4}"
AMQP_PORT="${RABBITMQ4_PORT:-5673}"
MGMT_PORT="${RABBITMQ4_MANAGEMENT_PORT:-15673}"
DIST_PORT="${RABBITMQ4_DIST_PORT:-25673}"
MIRROR="${RABBITMQ4_MIRROR:-http://deb.debian.org/debian}"
NODE="$NAME@localhost"
STATE="/srv/celery-tasks/$NAME"          # inside the root
MGMT_URL="http://127.0.0.1:$MGMT_PORT"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '[broker4] %s\n' "$*"; }
fail() { printf '[broker4] FAILED: %s\n' "$*" >&2; exit 1; }

ensure_root() {
  if [ -x "$ROOT/usr/lib/rabbitmq/bin/rabbitmq-server" ]; then return; fi
  command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || {
    log "installing debootstrap"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap >/dev/null \
      || fail "could not install debootstrap with apt-get"
  }
  log "building a Debian 13 root with rabbitmq-server in $ROOT (once; about a minute)"
  $SUDO mkdir -p "$(dirname "$ROOT")"
  $SUDO rm -rf "$ROOT.tmp"
  if ! $SUDO /usr/sbin/debootstrap --variant=minbase --include=rabbitmq-server trixie "$ROOT.tmp" "$MIRROR" \
      >"/tmp/celery-tasks-debootstrap.log" 2>&1; then
    tail -20 /tmp/celery-tasks-debootstrap.log >&2
    fail "debootstrap of Debian 13 with rabbitmq-server failed (full log: /tmp/celery-tasks-debootstrap.log)"
  fi
  $SUDO mv "$ROOT.tmp" "$ROOT"
}

ensure_mounts() {
  for fs in proc dev sys; do
    mountpoint -q "$ROOT/$fs" || $SUDO mount --bind "/$fs" "$ROOT/$fs" || fail "cannot bind-mount /$fs into $ROOT"
  done
}

in_root() { $SUDO chroot "$ROOT" /usr/bin/env -i HOME=/var/lib/rabbitmq PATH=/usr/lib/rabbitmq/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
ctl() { in_root rabbitmqctl -n "$NODE" "$@"; }
management_up() { curl -fsS -m 3 -u guest:guest "$MGMT_URL/api/overview" >/dev/null 2>&1; }
node_up() { in_root rabbitmq-diagnostics -q -n "$NODE" ping >/dev/null 2>&1; }

write_config() {
  $SUDO mkdir -p "$ROOT$STATE/mnesia" "$ROOT$STATE/log"
  $SUDO tee "$ROOT$STATE/rabbitmq.conf" >/dev/null <<EOF
listeners.tcp.default = $AMQP_PORT
management.tcp.port = $MGMT_PORT
management.tcp.ip = 127.0.0.1
# RabbitMQ 4.3's defaults: these deprecated features are refused.
deprecated_features.permit.transient_nonexcl_queues = false
deprecated_features.permit.global_qos = false
EOF
  echo '[rabbitmq_management].' | $SUDO tee "$ROOT$STATE/enabled_plugins" >/dev/null
  $SUDO chroot "$ROOT" chown -R rabbitmq:rabbitmq "$STATE" /var/lib/rabbitmq
}

start_node() {
  log "starting $NODE (AMQP $AMQP_PORT, management $MGMT_PORT, distribution $DIST_PORT)"
  $SUDO setsid chroot --userspec=rabbitmq:rabbitmq "$ROOT" /usr/bin/env -i HOME=/var/lib/rabbitmq \
    PATH=/usr/lib/rabbitmq/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    RABBITMQ_NODENAME="$NODE" RABBITMQ_DIST_PORT="$DIST_PORT" \
    RABBITMQ_CONFIG_FILE="$STATE/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$STATE/mnesia" RABBITMQ_LOG_BASE="$STATE/log" \
    /usr/lib/rabbitmq/bin/rabbitmq-server >"$ROOT$STATE/log/console.log" 2>&1 </dev/null &
  for _ in $(seq 1 90); do management_up && return; sleep 1; done
  tail -20 "$ROOT$STATE/log/console.log" >&2 || true
  fail "$NODE did not answer on $MGMT_URL within 90 s (logs in $ROOT$STATE/log)"
}

case "${1:-}" in
  --root) ensure_root; ensure_mounts; log "root ready: $ROOT"; exit 0 ;;
  --stop)
    if [ -d "$ROOT/usr" ] && node_up; then ctl stop >/dev/null 2>&1 || true; log "stopped $NODE"; fi
    exit 0 ;;
  "") ;;
  *) fail "unknown option $1 (use --root or --stop)" ;;
esac

command -v curl >/dev/null 2>&1 || { $SUDO apt-get update -qq; $SUDO apt-get install -y -qq curl >/dev/null; }
ensure_root
ensure_mounts
if ! management_up; then
  if node_up; then
    log "$NODE runs but its management API is not answering yet"
  else
    write_config
    start_node
  fi
  for _ in $(seq 1 60); do management_up && break; sleep 1; done
  management_up || fail "management API at $MGMT_URL is not answering"
fi
ctl enable_feature_flag all >/dev/null 2>&1 || true
log "RabbitMQ $(ctl version 2>/dev/null || echo '?') is up as $NODE: amqp://guest:guest@127.0.0.1:$AMQP_PORT//, management UI at $MGMT_URL"
