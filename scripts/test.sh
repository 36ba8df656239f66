#!/usr/bin/env bash
# README's test command: set everything up, then run the whole test suite on every Blender we have.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
status=0
.venv/bin/python -m pytest -q "$@" || status=$?
if [ -x .venv42/bin/python ] && [ -d tests/blender ]; then
  echo "--- the same Blender tests on bpy 4.2 LTS ---"
  PARLEY_BLENDER_ONLY=1 .venv42/bin/python -m pytest -q tests/blender || status=$?
fi
exit $status
