#!/usr/bin/env bash
# README's demo command: set up (bpy 5.0 module only), then animate the bundled speech clip on the
# shipped MakeHuman character and, when ../shared/flame has it, on the FLAME template, into out/demo/
# (.blend files, the FLAME .pc2, preview .mp4s with sound).
set -euo pipefail
cd "$(dirname "$0")/.."
PARLEY_NO_BPY42=1 PARLEY_NO_CHROOT=1 bash scripts/setup.sh
.venv/bin/python scripts/demo.py --out out/demo "$@"
