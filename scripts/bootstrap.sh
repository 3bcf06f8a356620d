#!/usr/bin/env bash
# Install uv if it is missing, then the whole workspace from the committed lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v uv >/dev/null 2>&1; then
  UV=uv
elif python3 -m uv --version >/dev/null 2>&1; then
  UV="python3 -m uv"
else
  echo "[bootstrap] installing uv"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  UV="python3 -m uv"
fi
$UV sync --all-packages --frozen --quiet
echo "[bootstrap] workspace installed in .venv ($($UV --version))"
