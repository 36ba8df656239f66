"""scripts/batch.py with the real Parley extension and model on the FLAME heads from ../shared/flame.

bpy module: the extension is loaded from this repository (batch.py's fallback when none is installed).
Blender 4.3 binary (chroot): the extension zip is built, installed with Blender's own
`blender --command extension install-file` into a throw-away user folder, and found by batch.py as
bl_ext.user_default.parley, so the Python 3.13 wheels are exercised.
"""
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from batch_helpers import (CHROOT_BLENDER, REPO, chroot_skip_reason, dump_blend, manifest, require_bpy, run_batch,
                           speechlike, statuses, write_wav)

FLAME = Path(os.environ.get("PARLEY_FLAME_DIR", REPO / ".." / "shared" / "flame"))


def extension_skip_reason():
    init = REPO / "__init__.py"
    if not init.is_file() or "register" not in init.read_text():
        return "the Parley extension is not in this checkout yet (no __init__.py with register())"
    if not any((REPO / "operators").glob("*.py")):
        return "no operators/ in this checkout yet"
    if not (FLAME / "flame_template.ply").is_file():
        return f"no FLAME heads in {FLAME} (see README: Getting a FLAME head)"
    return None


pytestmark = pytest.mark.skipif(extension_skip_reason() is not None, reason=str(extension_skip_reason()))


@pytest.fixture(scope="module")
def model_dir():
    """None when models/parley.onnx ships; else the small random model the extension's tests use."""
    if (REPO / "models" / "parley.onnx").is_file() and (REPO / "models" / "parley_style.onnx").is_file():
        return None
    folder = REPO / "build" / "test-model"
    if not (folder / "parley.onnx").is_file():
        pytest.importorskip("torch", reason="no exported model and no torch to build a test model")
        code = "import sys; from models.training.export import build_test_model; build_test_model(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(folder)], cwd=REPO, check=True, capture_output=True)
    return folder

# FLAME's PLY is Y-up in metres; Blender users import it Z-up and often scale and move it.
SCENE = """
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.ply_import(filepath={ply!r}, forward_axis='NEGATIVE_Z', up_axis='Y')
head = bpy.context.selected_objects[0]
head.name = "head"
head.scale = (10.0, 10.0, 10.0)
head.location = (0.3, -0.2, 1.5)
bpy.context.scene.render.fps = 30
bpy.ops.wm.save_as_mainfile(filepath={blend!r})
"""


def make_flame_scene(blend, blender, env=None):
    code = SCENE.format(ply=str((FLAME / "flame_template.ply").resolve()), blend=str(blend))
    if blender == "chroot":
        cmd = ["bash", str(CHROOT_BLENDER), "--background", "--factory-startup", "--python-expr", code]
    else:
        cmd = [sys.executable, "-c", code]
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return blend


def pc2_header(path):
    with open(path, "rb") as f:
        return struct.unpack("<12siiffi", f.read(32))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech")
    for i, seconds in enumerate((1.2, 2.0)):
        write_wav(folder / f"line_{i}.wav", speechlike(seconds, seed=40 + i))
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt nonsense")
    return folder


def check_outputs(out, clips):
    st = statuses(out)
    assert st == {"corrupt.wav": "FAILED", "line_0.wav": "ok", "line_1.wav": "ok"}
    rows = {r["file"]: r for r in manifest(out)["files"]}
    scene = dump_blend(out / "scene.blend")
    assert sorted(scene["actions"]) == ["line_0", "line_1"]
    for name in ("line_0", "line_1"):
        curves = scene["actions"][name]["curves"]
        assert 'key_blocks["jawOpen"].value[0]' in curves
        jaw = [k[1] for k in curves['key_blocks["jawOpen"].value[0]']]
        assert max(jaw) > min(jaw)  # the speech moves the jaw
        magic, version, verts, start, rate, samples = pc2_header(out / "parley" / f"{name}.pc2")
        assert magic == b"POINTCACHE2\0" and verts == 5023
        assert abs(samples - rows[f"{name}.wav"]["duration"] * 30) <= 2
    assert "jawOpen" in scene["shape_keys"]


@pytest.mark.slow
def test_real_extension_with_bpy(clips, tmp_path, model_dir):
    pytest.importorskip("bpy")
    scene = make_flame_scene(tmp_path / "scene.blend", "bpy")
    one, two = tmp_path / "one", tmp_path / "two"
    args = ["--scene", str(scene), "--object", "head", "--audio", str(clips), "--mode", "both", "--seed", "7"]
    if model_dir:
        args += ["--option", f"model_path={model_dir / 'parley.onnx'}"]
    res = run_batch([*args, "--out", str(one)])
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-4000:]
    assert manifest(one)["extension_source"]["kind"] in ("path", "installed", "enabled")
    check_outputs(one, clips)
    res = run_batch([*args, "--out", str(two), "--jobs", "2"])
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-4000:]
    assert dump_blend(one / "scene.blend") == dump_blend(two / "scene.blend")  # bit-identical curves
    for pc2 in (one / "parley").iterdir():
        assert pc2.read_bytes() == (two / "parley" / pc2.name).read_bytes()

    # a head that already plays an Action (the first output): its animation stays, the new take joins it
    extra = tmp_path / "more"
    extra.mkdir()
    write_wav(extra / "retake.wav", speechlike(1.0, seed=99))
    three = tmp_path / "three"
    res = run_batch(["--scene", str(one / "scene.blend"), "--object", "head", "--audio", str(extra),
                     "--out", str(three), *args[args.index("--mode"):]])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    assert "existing=KEEP" in res.stdout
    before, after = dump_blend(one / "scene.blend"), dump_blend(three / "scene.blend")
    assert sorted(after["actions"]) == ["line_0", "line_1", "retake"]
    assert after["assigned"] == before["assigned"] == "line_0"
    assert after["actions"]["line_0"] == before["actions"]["line_0"]


def build_linux_zip(tmp_path, model_dir):
    builder = REPO / "scripts" / "build_extension.py"
    if not builder.is_file():
        pytest.skip("scripts/build_extension.py is not in this checkout yet")
    require_bpy("building the extension zip (Blender's blender_ext.py)")
    dist = tmp_path / "dist"
    extra = ["--model-dir", str(model_dir)] if model_dir else []
    res = subprocess.run([sys.executable, str(builder), "--platforms", "linux-x64", "--out", str(dist), *extra],
                         capture_output=True, text=True, cwd=REPO)
    zips = sorted(dist.glob("*linux*x64*.zip")) or sorted((REPO / "dist").glob("*linux*x64*.zip"))
    if res.returncode != 0 or not zips:
        pytest.fail(f"building the extension failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return zips[-1]


@pytest.mark.slow
@pytest.mark.blender_binary
def test_real_extension_installed_in_blender_43(clips, tmp_path, monkeypatch, model_dir):
    if chroot_skip_reason():
        pytest.skip(chroot_skip_reason())
    zip_path = build_linux_zip(tmp_path, model_dir)
    monkeypatch.setenv("BLENDER_USER_RESOURCES", str(tmp_path / "user"))  # chroot_blender.sh passes it on
    res = subprocess.run(["bash", str(CHROOT_BLENDER), "--command", "extension", "install-file", "-r",
                          "user_default", "-e", str(zip_path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    scene = make_flame_scene(tmp_path / "scene.blend", "chroot")
    out = tmp_path / "out"
    res = run_batch(["--scene", str(scene), "--object", "head", "--audio", str(clips), "--out", str(out),
                     "--mode", "both", "--jobs", "2"], blender_binary=True)
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-4000:]
    assert manifest(out)["extension_source"].get("module", "").startswith("bl_ext.")
    check_outputs(out, clips)
