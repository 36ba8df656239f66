"""Shared by the batch tests: make scenes and audio, run scripts/batch.py, read its results back."""
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCH = REPO / "scripts" / "batch.py"
STUB = REPO / "tests" / "batch_stub_extension"
CHROOT = Path(os.environ.get("PARLEY_CHROOT", REPO / ".chroot"))
CHROOT_BLENDER = REPO / "scripts" / "chroot_blender.sh"


def chroot_skip_reason():
    if not (CHROOT / "usr" / "bin" / "blender").exists():
        return f"no Blender chroot at {CHROOT}: build it with `sudo bash scripts/setup_blender_chroot.sh`"
    if os.geteuid() != 0:
        return "the Blender chroot needs root (mount namespace + chroot)"
    return None


def require_bpy(what):
    """Skip the calling test where this Python has no bpy module (what: the step that needs it)."""
    import importlib.util

    import pytest
    if importlib.util.find_spec("bpy") is None:
        pytest.skip(f"{what} needs the bpy module (pip install bpy)")


def write_wav(path, samples, rate=16000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def speechlike(seconds, seed, rate=16000):
    """Amplitude-modulated harmonics with pauses: loudness that moves like syllables."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 + 40 * rng.random()
    voice = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
    syllables = np.clip(np.sin(2 * np.pi * (3 + 2 * rng.random()) * t), 0, None) ** 2
    return 0.3 * voice * syllables + 0.01 * rng.standard_normal(t.size)


def make_scene(path, blender="bpy", extra=""):
    """A saved .blend with a mesh object named 'head' (a sphere: the stand-in extension rigs anything);
    extra: Python statements run before saving (``head`` is the sphere).

    blender="chroot" saves it with Debian's Blender 4.3: files saved by bpy 5.0 do not open in 4.3.
    """
    code = ("import bpy; bpy.ops.wm.read_factory_settings(use_empty=True);"
            "bpy.ops.mesh.primitive_uv_sphere_add(segments=24, ring_count=12);"
            "head = bpy.context.active_object; head.name = 'head';"
            + (f"{extra};" if extra else "") + f"bpy.ops.wm.save_as_mainfile(filepath={str(path)!r})")
    if blender == "chroot":
        cmd = ["bash", str(CHROOT_BLENDER), "--background", "--factory-startup", "--python-expr", code]
    else:
        require_bpy("making a test scene")
        cmd = [sys.executable, "-c", code]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


# what `blender --python FILE -- ARGS` does with FILE: exec its text as __main__ with __file__ set, and
# (unlike `python FILE`) without putting FILE's folder on sys.path
LIKE_BLENDER_PYTHON = ("import sys; path = sys.argv[1]; sys.argv = ['blender', '--python', path, '--', *sys.argv[2:]];"
                       "assert not any(p.rstrip('/').endswith('scripts') for p in sys.path);"
                       "exec(compile(open(path).read(), path, 'exec'), {'__name__': '__main__', '__file__': path})")


def run_batch(args, blender_binary=False, timeout=600, like_blender_python=False, cwd=REPO):
    """-> CompletedProcess; with blender_binary the chroot's Blender runs the scene given by --scene;
    like_blender_python runs the script the way Blender's --python does (see LIKE_BLENDER_PYTHON)."""
    if like_blender_python:
        cmd = [sys.executable, "-c", LIKE_BLENDER_PYTHON, str(BATCH), *args]
    elif blender_binary:
        args = list(args)
        scene = args.pop(args.index("--scene") + 1)
        args.remove("--scene")
        cmd = ["bash", str(CHROOT_BLENDER), "--background", scene, "--python-exit-code", "1",
               "--python", str(BATCH), "--", *args]
    else:
        cmd = [sys.executable, str(BATCH), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)


DUMP = r"""
import bpy, json, sys
def fcurves(action):
    if getattr(action, "layers", None) and len(action.layers):
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    yield from bag.fcurves
    else:
        yield from action.fcurves
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
out = {"actions": {}, "modifiers": {}}
for a in bpy.data.actions:
    curves = {}
    for fc in fcurves(a):
        pts = [[*k.co, *k.handle_left, *k.handle_right, k.interpolation] for k in fc.keyframe_points]
        curves[f"{fc.data_path}[{fc.array_index}]"] = pts
    out["actions"][a.name] = {"curves": curves, "fake_user": a.use_fake_user,
                              "props": {k: a[k] for k in a.keys() if isinstance(a[k], (str, int, float))}}
head = bpy.data.objects["head"]
key = head.data.shape_keys
ad = key.animation_data if key else None
out["assigned"] = ad.action.name if ad and ad.action else None
out["modifiers"] = {m.name: [m.type, getattr(m, "filepath", None)] for m in head.modifiers}
out["shape_keys"] = [kb.name for kb in key.key_blocks] if key else []
out["drivers"] = sorted(f"{d.data_path}={d.driver.expression}" for d in ad.drivers) if ad else []
print("DUMP" + json.dumps(out))
"""


def dump_blend(path, python=sys.executable):
    """Actions (every keyframe), modifiers and shape keys of an output .blend, read back with bpy."""
    if python == sys.executable:
        require_bpy("reading an output .blend back")
    res = subprocess.run([python, "-c", DUMP, str(path)], capture_output=True, text=True, check=True)
    line = next(l for l in res.stdout.splitlines() if l.startswith("DUMP"))
    return json.loads(line[4:])


def manifest(out):
    return json.loads((Path(out) / "parley_batch.json").read_text())


def statuses(out):
    return {f["file"]: f["status"] for f in manifest(out)["files"]}
