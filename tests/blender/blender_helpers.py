"""Helpers for the Blender tests: FLAME heads imported like an artist would, test audio, evaluation."""
import os
import shutil
import struct
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

import bpy

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from demo_scene import action_fcurves, uninstall  # noqa: E402,F401  (one copy for the demo, benchmarks and tests)
FLAME = Path(os.environ.get("PARLEY_FLAME_DIR") or REPO / ".." / "shared" / "flame").resolve()


def flame_path(name):
    path = FLAME / name
    if not path.is_file():
        pytest.skip(f"FLAME test head {path} is absent (put the shared FLAME heads in ../shared/flame)")
    return path


def import_head(name="flame_template.ply", scale=1.0, location=(0.0, 0.0, 0.0), rotation_z=0.0):
    """Import a FLAME head as Blender's PLY importer would with Y-up -> Z-up, then scale and move it."""
    path = flame_path(name)
    bpy.ops.wm.ply_import(filepath=str(path), forward_axis="NEGATIVE_Z", up_axis="Y")
    obj = bpy.context.active_object
    obj.scale = (scale, scale, scale)
    obj.location = location
    obj.rotation_euler[2] = rotation_z
    return obj


def write_wav(path, seconds=3.0, rate=22050, channels=1, amplitude=0.3, seed=0, noise=0.002):
    """Speech-like test audio (voiced syllables with pauses) as 16-bit PCM, standard library only."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.5
    signal = amplitude * voiced * envelope / 2 + noise * rng.standard_normal(t.size)
    data = np.repeat(signal[:, None], channels, axis=1)
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def clear_take(obj):
    """Unassign the last take: the shape keys' Action and the Action of the head bone Parley added."""
    if obj.data.shape_keys is not None:
        obj.data.shape_keys.animation_data_clear()
    for mod in obj.modifiers:
        if mod.type == "ARMATURE" and mod.object is not None and "parley_head_of" in mod.object.keys():
            mod.object.animation_data_clear()


def scene_fps():
    scene = bpy.context.scene
    return scene.render.fps / scene.render.fps_base


def evaluated_positions(obj):
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    co = np.empty(len(ev.data.vertices) * 3, np.float32)
    ev.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def read_pc2(path):
    with open(path, "rb") as f:
        sig, version, nv, start, rate, n = struct.unpack("<12siiffi", f.read(32))
        data = np.fromfile(f, "<f4").reshape(n, nv, 3)
    assert sig == b"POINTCACHE2\0" and version == 1
    return data, start, rate


def installed_extension(zip_path):
    """Context manager: the zip installed with Blender's installer into a temporary repository, enabled.

    A repository of its own (custom directory) keeps the user's extensions untouched; removing it
    afterwards unregisters the extension, so each test module starts from a clean Blender.
    """
    import contextlib

    @contextlib.contextmanager
    def manager():
        folder = tempfile.mkdtemp(prefix="parley-repo-")
        repos = bpy.context.preferences.extensions.repos
        repo = repos.new(name="parley_test", module="parley_test", custom_directory=folder, source="USER")
        try:
            result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=repo.module,
                                                              enable_on_install=True)
            assert result == {"FINISHED"}, result
            name = f"bl_ext.{repo.module}.parley"
            assert name in bpy.context.preferences.addons.keys(), "the extension did not enable"
            yield name
        finally:
            uninstall(repos, repo)
            bpy.ops.wm.read_homefile(use_empty=True)
            shutil.rmtree(folder, ignore_errors=True)

    return manager()


def model_dir():
    """None when models/parley.onnx ships; else a small random model built with torch (cached in build/)."""
    if (REPO / "models" / "parley.onnx").is_file() and (REPO / "models" / "parley_style.onnx").is_file():
        return None
    folder = REPO / "build" / "test-model"
    if not (folder / "parley.onnx").is_file():
        try:
            import torch  # noqa: F401
        except ImportError:
            pytest.skip("models/parley.onnx is not exported yet and torch is missing to build a test model")
        import subprocess
        code = "import sys; from models.training.export import build_test_model; build_test_model(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(folder)], cwd=REPO, check=True, capture_output=True)
    return folder


