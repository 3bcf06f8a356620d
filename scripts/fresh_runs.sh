#!/usr/bin/env bash
# `make test` in N fresh clones in a row (default 3), with one core kept busy by a shell busy loop
# for the whole series, as issue #13 asks. Each run's log and a summary go to OUT (default /tmp).
# usage: scripts/fresh_runs.sh [BRANCH] [N]     (BRANCH default: main; cloned from this repository)
set -u
cd "$(dirname "$0")/.."
BRANCH="${1:-main}"; RUNS="${2:-3}"; OUT="${OUT:-/tmp}"
REPO="$PWD"; SUMMARY="$OUT/fresh-runs.summary"
( while :; do :; done ) &
BUSY=$!
RUN=""
# Stopping the series stops the busy loop and the whole process group of the run in progress
# (make, run_tests.sh, pytest and every service it started), not just this script.
trap 'kill "$BUSY" 2>/dev/null; [ -n "$RUN" ] && kill -- "-$RUN" 2>/dev/null; exit 130' INT TERM
trap 'kill "$BUSY" 2>/dev/null' EXIT
for i in $(seq 1 "$RUNS"); do
  dir="$OUT/fresh-run-$i"
  rm -rf "$dir"
  git clone -q --branch "$BRANCH" "$REPO" "$dir"
  start=$(date +%s)
  echo "run $i start $(date +%T) commit $(git -C "$dir" rev-parse --short HEAD)" >>"$SUMMARY"
  setsid bash -c 'cd "$1" && exec make test' _ "$dir" >"$OUT/fresh-run-$i.log" 2>&1 &
  RUN=$!
  wait "$RUN"
  code=$?
  RUN=""
  echo "run $i exit $code wall $(( $(date +%s) - start )) s end $(date +%T)" >>"$SUMMARY"
  grep -A30 '^=== summary' "$OUT/fresh-run-$i.log" >>"$SUMMARY"
done
