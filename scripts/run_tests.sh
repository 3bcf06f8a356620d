#!/usr/bin/env bash
# Run every test step even when one fails: each package's tests, the system tests on the system
# RabbitMQ, then the broker compatibility suite on the RabbitMQ 4 node. Print every failure at the
# end with the wall time, and exit non-zero when any step failed.
#
# Two lanes run side by side, because the steps share nothing but the brokers (each test has its
# own vhost, database or Redis db): lane 1 runs the system tests on TEST_SYSTEM_WORKERS pytest-xdist
# processes (default 3; 0 runs them in this process), the longest files first (tests/conftest.py);
# lane 2 runs the package tests, then the compatibility suite on RabbitMQ 4. TEST_LANES=1 runs every
# step one after the other instead.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTEST="$PWD/.venv/bin/pytest"
PACKAGES=(broker_admin task_storage celery_tasks producer consumer_crawler consumer_etl consumer_alert consumer_diagnostics devtools)
RABBITMQ4_URL="amqp://guest:guest@127.0.0.1:${RABBITMQ4_PORT:-5673}//"
RABBITMQ4_MANAGEMENT="http://127.0.0.1:${RABBITMQ4_MANAGEMENT_PORT:-15673}"
SYSTEM_WORKERS="${TEST_SYSTEM_WORKERS:-3}"  # the tests mostly wait on brokers and processes: 3 beat 2 on 2 cores
LANES="${TEST_LANES:-2}"
LOGS="$(mktemp -d /tmp/celery-tasks-tests.XXXXXX)"
START=$(date +%s)

log_of() { echo "$LOGS/$(echo "$1" | sed 's/[^A-Za-z0-9_.-]/_/g').log"; }

step() {  # step NAME DIR [env ...] -- pytest args...   (records "code<TAB>seconds<TAB>name" in $LOGS/steps)
  local name="$1" dir="$2"; shift 2
  local -a env=()
  while [ "$1" != "--" ]; do env+=("$1"); shift; done
  shift
  local log started code
  log="$(log_of "$name")"
  set -- "$@" --junitxml="${log%.log}.xml"  # per-test durations for scripts/test_times.py
  started=$(date +%s)
  if [ "${QUIET_LANE:-0}" = 1 ]; then  # beside the system tests: a line of its own, then output to the log only
    printf '\n=== %s (started %s, beside the system tests)\n' "$name" "$(date +%H:%M:%S)"
    (cd "$dir" && env "${env[@]}" "$PYTEST" -q "$@") >"$log" 2>&1
    code=$?
    printf '\n=== %s: exit %s after %s s (log: %s)\n' "$name" "$code" "$(( $(date +%s) - started ))" "$log"
  else
    echo "=== $name (started $(date +%H:%M:%S))"
    (cd "$dir" && env "${env[@]}" "$PYTEST" -q "$@") 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
  fi
  printf '%s\t%s\t%s\n' "$code" "$(( $(date +%s) - started ))" "$name" >>"$LOGS/steps"
}

system_tests() {
  local -a parallel=()
  [ "$SYSTEM_WORKERS" -gt 0 ] && parallel=(-n "$SYSTEM_WORKERS" --dist loadfile --no-loadscope-reorder)  # longest files first: tests/conftest.py
  step "system tests (RabbitMQ $(rabbitmqctl version 2>/dev/null || echo 'system'))" . -- "${parallel[@]}" --durations=30 tests
}

package_and_compat_tests() {
  for package in "${PACKAGES[@]}"; do
    step "$package" "$package" --
  done
  for dir in celery_tasks .; do
    step "broker compatibility on RabbitMQ 4 ($dir)" "$dir" \
      "CELERY_TASKS_BROKER_URL=$RABBITMQ4_URL" "CELERY_TASKS_MANAGEMENT_URL=$RABBITMQ4_MANAGEMENT" \
      -- -m broker_compat tests
  done
}

if [ "$LANES" -ge 2 ]; then
  QUIET_LANE=1 package_and_compat_tests &
  lane2=$!
  system_tests
  wait "$lane2"
else
  package_and_compat_tests
  system_tests
fi

ELAPSED=$(( $(date +%s) - START ))
echo
echo "=== summary ($(( ELAPSED / 60 )) min $(( ELAPSED % 60 )) s wall; logs in $LOGS)"
failed=0
while IFS=$'\t' read -r code seconds name; do
  if [ "$code" -eq 0 ]; then
    printf 'ok      %-60s %5s s\n' "$name" "$seconds"
  else
    failed=1
    printf 'FAILED  %-60s %5s s (pytest exit %s)\n' "$name" "$seconds" "$code"
    grep -E '^(FAILED|ERROR) ' "$(log_of "$name")" | sed 's/^/        /' || true
  fi
done <"$LOGS/steps"
[ "$failed" -eq 0 ] && echo "all test steps passed" || echo "some test steps failed"
exit "$failed"
