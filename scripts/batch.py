"""Parley batch: animate a folder of speech with ``bpy.ops.parley.generate``, from a real Blender or bpy.

    blender --background SCENE.blend --python scripts/batch.py -- --object HEAD --audio PATH_OR_DIR [...] \
        --out DIR [--mode shapekeys|cache|both] [--style NAME=VALUE ...] [--seed N] [--fps F] [--jobs J] \
        [--dialogue OTHER:AUDIO_DIR]
    python scripts/batch.py --scene SCENE.blend --object HEAD --audio PATH_OR_DIR [...] --out DIR [...]

Output in DIR, all named after the audio files:
    <scene>.blend         the scene with one Action per audio file (fake user; the first one assigned)
    parley/<name>.pc2     mesh caches (modes cache/both), where a .blend in DIR looks for ``//parley/``
    .parley_parts/        per file: <name>.blend (its Action) and <name>.json (sidecar, written last)
    parley_batch.json     the summary of the last run, written last
    .parley_work/         worker jobs and logs, kept only when a file failed
Exit code: 0 when every file succeeded or was up to date, 1 when any failed, 2 for bad arguments.

The operator is the API: each file is one ``bpy.ops.parley.generate(audio_path=..., mode=..., seed=...,
start_frame=..., <style axes>=..., <--option NAME=VALUE>...)`` on HEAD in a scene prepared once (rig
built, saved as DIR/.parley_work-<host>-<pid>.blend so ``//`` is DIR). Its Action is written to its own part file
and removed again, so every file starts from the same state: results do not depend on the order or on
how files are spread over workers. ``--jobs J`` splits the files into J slices: this process animates one,
J-1 worker processes (each its own Blender, or Python with bpy) the others; the parent then
appends the parts in sorted name order.

Resuming: a file is skipped when its sidecar holds the same key (SHA-256 of the audio bytes and every
setting, the head's geometry and the extension's version and model) and its outputs are all there.
A failed file leaves no outputs (stale ones from earlier runs are removed too) and never stops others.

The extension: an installed one (``bl_ext.<repo>.parley``, enabled if it is not), else ``--extension
DIR``, else this repository. A folder is loaded as the package ``parley`` straight from its
``__init__.py`` (no copy, no symlink) and enabled with ``addon_utils`` so its preferences exist.

The code lives beside this file in ``parley_batch/``, in the order a batch runs: ``plan`` (arguments,
files, keys, sidecars, slices; no bpy), ``extension`` (loading it, the operator's arguments), ``scene``
(scene state, one file's animation), ``workers``, ``merge`` (``run_and_merge``) and ``cli`` (``main``).
"""
import sys
import time
from pathlib import Path

SCRIPT_START = time.time()
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # Blender's --python runs this file without putting its folder on sys.path
    sys.path.insert(0, HERE)

from parley_batch.cli import entry_point  # noqa: E402

if __name__ == "__main__":
    entry_point(started=SCRIPT_START)
