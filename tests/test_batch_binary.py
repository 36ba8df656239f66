"""scripts/batch.py in a real `blender --background`: Debian trixie's Blender 4.3 (Python 3.13) in the
chroot that scripts/setup_blender_chroot.sh builds, with the stand-in extension loaded by --extension.
The same checks as test_batch.py where the binary behaves differently: sys.exit codes through Blender,
worker processes started from bpy.app.binary_path, and .blend files written by 4.3.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from batch_helpers import (CHROOT_BLENDER, STUB, chroot_skip_reason, dump_blend, make_scene, manifest, run_batch, speechlike,
                           statuses, write_wav)

pytestmark = [pytest.mark.blender_binary,
              pytest.mark.skipif(chroot_skip_reason() is not None, reason=str(chroot_skip_reason()))]


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch_bin")
    make_scene(root / "scene.blend", blender="chroot")
    audio = root / "audio"
    audio.mkdir()
    for i, seconds in enumerate((0.8, 1.2, 0.6)):
        write_wav(audio / f"clip_{i}.wav", speechlike(seconds, seed=20 + i))
    mixed = root / "mixed"
    shutil.copytree(audio, mixed)
    (mixed / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    write_wav(mixed / "quiet.wav", np.zeros(4000))
    return root


def batch(material, out, *extra, audio=None):
    return run_batch(["--scene", str(material / "scene.blend"), "--object", "head",
                      "--audio", *(audio or [str(material / "audio")]), "--out", str(out),
                      "--extension", str(STUB), *extra], blender_binary=True)


def test_good_and_bad_files_in_blender_43(material, tmp_path):
    out = tmp_path / "out"
    res = batch(material, out, "--mode", "both", audio=[str(material / "mixed"), str(material / "gone.wav")])
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    assert statuses(out) == {"broken.wav": "FAILED", "clip_0.wav": "ok", "clip_1.wav": "ok", "clip_2.wav": "ok",
                             "gone.wav": "FAILED", "quiet.wav": "FAILED"}
    assert "6 files: 3 animated, 0 up to date, 3 failed" in res.stdout
    assert manifest(out)["settings"]["blender"].startswith("4.3")
    assert sorted(p.name for p in (out / "parley").iterdir()) == ["clip_0.pc2", "clip_1.pc2", "clip_2.pc2"]
    assert sorted(dump_blend(out / "scene.blend")["actions"]) == ["clip_0", "clip_1", "clip_2"]


def test_jobs_two_equals_jobs_one_and_resume_in_blender_43(material, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert batch(material, one, "--mode", "both", "--seed", "3").returncode == 0
    res = batch(material, two, "--mode", "both", "--seed", "3", "--jobs", "2")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert [w["code"] for w in manifest(two)["timing"]["workers"]] == [0]  # plus this process
    assert dump_blend(one / "scene.blend") == dump_blend(two / "scene.blend")
    for pc2 in (one / "parley").iterdir():
        assert pc2.read_bytes() == (two / "parley" / pc2.name).read_bytes()
    (two / ".parley_parts" / "clip_2.blend").unlink()
    res = batch(material, two, "--mode", "both", "--seed", "3", "--jobs", "2")
    assert res.returncode == 0
    assert statuses(two) == {"clip_0.wav": "up to date", "clip_1.wav": "up to date", "clip_2.wav": "ok"}
    assert dump_blend(one / "scene.blend") == dump_blend(two / "scene.blend")


def test_usage_error_exit_code_through_blender(material, tmp_path):
    res = batch(material, tmp_path / "o", "--object", "nobody")
    assert res.returncode == 2 and "no mesh object named 'nobody'" in res.stderr


def test_installed_extension_is_found(material, tmp_path, monkeypatch, enable=False):
    """The production path: the extension zip installed by Blender's own installer, no --extension.
    Installed but not enabled here (batch.py enables it); test_batch_real.py installs the real one enabled."""
    monkeypatch.setenv("BLENDER_USER_RESOURCES", str(tmp_path / "user"))  # chroot_blender.sh passes it on
    dist = tmp_path / "dist"
    dist.mkdir()
    blender = ["bash", str(CHROOT_BLENDER), "--command", "extension"]
    subprocess.run([*blender, "build", "--source-dir", str(STUB), "--output-dir", str(dist)], check=True,
                   capture_output=True)
    install = [*blender, "install-file", "-r", "user_default", *(["-e"] if enable else []), *map(str, dist.glob("*.zip"))]
    subprocess.run(install, check=True, capture_output=True)
    out = tmp_path / "out"
    res = run_batch(["--scene", str(material / "scene.blend"), "--object", "head", "--audio", str(material / "audio"),
                     "--out", str(out), "--jobs", "2"], blender_binary=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert manifest(out)["extension_source"]["module"] == "bl_ext.user_default.parley"
    assert sorted(dump_blend(out / "scene.blend")["actions"]) == ["clip_0", "clip_1", "clip_2"]
