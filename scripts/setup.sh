#!/usr/bin/env bash
# Idempotent environment setup for a fresh Debian/Ubuntu machine with Python 3.11:
#   .venv    : bpy 5.0 module + the core + training/test tools
#   .venv42  : bpy 4.2 LTS module + the runtime (the extension must work on 4.2)
#   .chroot  : Debian trixie with its real Blender 4.3 binary (Python 3.13)   [PARLEY_NO_CHROOT=1 skips]
# Re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ -f .ci/apt-packages.txt ] && [ "$(id -u)" = 0 ]; then
  missing=$( (grep -v '^\s*#' .ci/apt-packages.txt || true) | xargs -r -n1 sh -c 'dpkg -s "$0" >/dev/null 2>&1 || echo "$0"')
  if [ -n "$missing" ]; then
    echo "setup: apt-get install $missing"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
  fi
fi

# (re)install when the venv is missing or requirements-dev.txt changed since the last install
req_sum=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.parley-requirements 2>/dev/null)" != "$req_sum" ]; then
  echo "setup: installing .venv (bpy 5.0, torch CPU, onnxruntime, librosa; a few minutes the first time)"
  [ -x .venv/bin/python ] || $PY -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$req_sum" > .venv/.parley-requirements
fi

if [ "${PARLEY_NO_BPY42:-0}" != 1 ]; then
  if [ ! -x .venv42/bin/python ] || ! .venv42/bin/python -c "import bpy, onnxruntime, pytest" 2>/dev/null; then
    echo "setup: creating .venv42 (bpy 4.2 LTS)"
    $PY -m venv .venv42
    .venv42/bin/pip install -q --upgrade pip
    .venv42/bin/pip install -q "bpy==4.2.*" "numpy<2" onnxruntime soundfile pytest  # Blender 4.2 ships numpy 1.26
  fi
fi

if [ "${PARLEY_NO_CHROOT:-0}" != 1 ] && [ -f scripts/setup_blender_chroot.sh ] && [ "$(id -u)" = 0 ]; then
  bash scripts/setup_blender_chroot.sh
fi
