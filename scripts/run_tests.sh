#!/usr/bin/env bash
# Run every test step even when one fails: each package's tests, the system tests on the system
# RabbitMQ, then the broker compatibility suite on the RabbitMQ 4 node. Print every failure at the
# end with the wall time, and exit non-zero when any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTEST="$PWD/.venv/bin/pytest"
PACKAGES=(broker_admin task_storage celery_tasks producer consumer_crawler consumer_etl consumer_alert consumer_diagnostics)
RABBITMQ4_URL="amqp://guest:guest@127.0.0.1:${RABBITMQ4_PORT:-5673}//"
RABBITMQ4_MANAGEMENT="http://127.0.0.1:${RABBITMQ4_MANAGEMENT_PORT:-15673}"
LOGS="$(mktemp -d /tmp/celery-tasks-tests.XXXXXX)"
START=$(date +%s)
declare -a STEPS=() CODES=()

step() {  # step NAME DIR [env ...] -- pytest args...
  local name="$1" dir="$2"; shift 2
  local -a env=()
  while [ "$1" != "--" ]; do env+=("$1"); shift; done
  shift
  local log="$LOGS/${name//[^A-Za-z0-9_.-]/_}.log"
  echo "=== $name"
  (cd "$dir" && env "${env[@]}" "$PYTEST" -q "$@") 2>&1 | tee "$log"
  local code=${PIPESTATUS[0]}
  STEPS+=("$name"); CODES+=("$code")
}

for package in "${PACKAGES[@]}"; do
  step "$package" "$package" -- 
done
step "system tests (RabbitMQ $(rabbitmqctl version 2>/dev/null || echo 'system'))" . -- tests
for dir in celery_tasks .; do
  target=tests
  step "broker compatibility on RabbitMQ 4 ($dir)" "$dir" \
    "CELERY_TASKS_BROKER_URL=$RABBITMQ4_URL" "CELERY_TASKS_MANAGEMENT_URL=$RABBITMQ4_MANAGEMENT" \
    -- -m broker_compat "$target"
done

ELAPSED=$(( $(date +%s) - START ))
echo
echo "=== summary ($(( ELAPSED / 60 )) min $(( ELAPSED % 60 )) s wall; logs in $LOGS)"
failed=0
for i in "${!STEPS[@]}"; do
  code=${CODES[$i]}
  if [ "$code" -eq 0 ]; then
    echo "ok      ${STEPS[$i]}"
  else
    failed=1
    echo "FAILED  ${STEPS[$i]} (pytest exit $code)"
    log="$LOGS/$(echo "${STEPS[$i]}" | sed 's/[^A-Za-z0-9_.-]/_/g').log"
    grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/        /' || true
  fi
done
[ "$failed" -eq 0 ] && echo "all test steps passed" || echo "some test steps failed"
exit "$failed"
