#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, lint, type-check, then every test (slow, docker and
# chromium ones included; under CI=true they fail instead of skipping when their engine is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
python3 -m pytest "$@"
