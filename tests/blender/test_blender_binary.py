"""The real Blender binary: Debian trixie's Blender 4.3 (Python 3.13, so the cp313 onnxruntime wheel)
in the chroot from scripts/setup_blender_chroot.sh. The zip goes in through
``blender --command extension install-file``; generate runs from ``blender --background FILE --python-expr``."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROOT_BLENDER = REPO / "scripts" / "chroot_blender.sh"
DRIVER = Path(__file__).resolve().parent / "binary_driver.py"
UI_DRIVER = Path(__file__).resolve().parent / "ui_driver.py"
sys.path.insert(0, str(REPO / "tests"))
from batch_helpers import chroot_skip_reason  # noqa: E402
from blender_helpers import flame_path, write_wav  # noqa: E402

import bpy  # noqa: E402

pytestmark = [pytest.mark.blender_binary,
              pytest.mark.skipif(chroot_skip_reason() is not None, reason=str(chroot_skip_reason())),
              pytest.mark.skipif(bpy.app.version[:2] == (4, 2), reason="the binary runs once, beside the bpy 5.0 "
                                                                          "module (scripts/test.sh runs 4.2 second)")]


def blender(args, user, timeout=300):
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user))
    return subprocess.run(["bash", str(CHROOT_BLENDER), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def result_of(run):
    lines = [l for l in run.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def installed(extension_zip, tmp_path_factory):
    user = tmp_path_factory.mktemp("blender43-user")
    run = blender(["--command", "extension", "install-file", "-r", "user_default", "-e", str(extension_zip)], user)
    assert run.returncode == 0, run.stdout + run.stderr
    site = list(user.glob("extensions/.local/lib/python3.13/site-packages/onnxruntime"))
    assert site, "the cp313 onnxruntime wheel was not installed"
    return user


def test_generate_from_background_python_expr(installed, tmp_path):
    head = flame_path("flame_template.ply")
    folder = tmp_path / "shot 01"
    folder.mkdir()
    blend = folder / "scene.blend"
    scene = blender(["-b", "--python", str(DRIVER), "--", "scene", str(head), str(blend)], installed)
    assert result_of(scene)["vertices"] == 5023
    audio = write_wav(folder / "line 1.wav", seconds=2.0, rate=44100)
    expr = ("import bpy; bpy.context.view_layer.objects.active = bpy.data.objects['head']; "
            f"bpy.ops.parley.generate(audio_path={str(audio)!r}, mode='BOTH', seed=2, start_frame=3); "
            "bpy.ops.wm.save_mainfile()")
    gen = blender(["--background", str(blend), "--python-exit-code", "1", "--python-expr", expr], installed)
    assert gen.returncode == 0, gen.stdout[-3000:] + gen.stderr[-3000:]
    assert "parley: line 1: done (" in gen.stdout  # plain progress lines in the background
    check = result_of(blender(["-b", str(blend), "--python", str(DRIVER), "--", "check"], installed))
    assert check["version"].startswith("4.3")
    assert check["fcurves"] == 51 and check["keyframes"] == check["frames"] == round(2.0 * 24)
    assert check["action"] == "line 1" and check["start"] == 3 and check["filepath"] == "//parley/line 1.pc2"
    assert check["worst"] <= 1e-5 * check["size"], check
    assert check["motion"] > 1e-3 * check["size"]


def test_bad_audio_fails_the_process_with_one_line(installed, tmp_path):
    head = flame_path("flame_template.ply")
    blend = tmp_path / "scene.blend"
    result_of(blender(["-b", "--python", str(DRIVER), "--", "scene", str(head), str(blend)], installed))
    before = blend.read_bytes()
    expr = ("import bpy; bpy.context.view_layer.objects.active = bpy.data.objects['head']; "
            f"bpy.ops.parley.generate(audio_path={str(tmp_path / 'gone.wav')!r}); bpy.ops.wm.save_mainfile()")
    run = blender(["--background", str(blend), "--python-exit-code", "1", "--python-expr", expr], installed)
    assert run.returncode == 1
    assert "audio file not found" in run.stdout + run.stderr
    assert blend.read_bytes() == before


def ui(installed, tmp_path, scenario, seconds, head=None):
    """Blender's real UI under Xvfb, driven by ui_driver.py (modal Generate, Esc, Undo)."""
    blend = tmp_path / "ui.blend"
    expr = f"import bpy; bpy.ops.wm.read_homefile(); bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})"
    assert blender(["-b", "--python-expr", expr], installed).returncode == 0
    audio = write_wav(tmp_path / "long take.wav", seconds=seconds, rate=16000)
    run = blender(["--run", "xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", "--enable-event-simulate",
                   str(blend), "--python", str(UI_DRIVER), "--", scenario,
                   str(head or flame_path("flame_template.ply")), str(audio)], installed, timeout=500)
    assert "Traceback" not in run.stdout + run.stderr, run.stdout[-4000:]  # e.g. a panel's draw() failing
    return result_of(run), run


def test_ui_esc_cancels_and_leaves_nothing(installed, tmp_path):
    result, run = ui(installed, tmp_path, "cancel", seconds=600)
    assert result["invoke"] == ["RUNNING_MODAL"], result
    assert result["seen_running"] and result["esc_sent"], result
    assert result["modal"] == [], "the take still ran after Esc"
    assert result["after"] == result["before"], result
    assert not list((tmp_path / "parley").glob("*")) if (tmp_path / "parley").exists() else True


def test_ui_take_is_one_undo_step(installed, tmp_path):
    result, run = ui(installed, tmp_path, "undo", seconds=3)
    assert result["invoke"] == ["RUNNING_MODAL"], result
    assert result["done"]["action"] and result["done"]["keys"] > 51 and "MESH_CACHE" in result["done"]["modifiers"]
    assert result["after"] == result["before"], result


def test_ui_whole_character_take_is_one_undo_step(installed, tmp_path):
    """Generate on the Ready Player Me avatar's head drives head, teeth and eyes; one Ctrl+Z takes it off all."""
    avatar = (REPO / ".." / "shared" / "characters" / "rpm" / "brunette-t.glb").resolve()
    if not avatar.is_file():
        pytest.skip(f"the Ready Player Me test avatar {avatar} is absent (tests only: ../shared/characters/rpm)")
    result, run = ui(installed, tmp_path, "undo", seconds=3, head=avatar)
    assert result["invoke"] == ["RUNNING_MODAL"], result
    driven = {n for n, m in result["done"]["meshes"].items() if m["action"]}
    assert driven == {"Wolf3D_Head", "Wolf3D_Teeth", "EyeLeft", "EyeRight"}, result["done"]
    assert all("MESH_CACHE" in result["done"]["meshes"][n]["modifiers"] for n in driven)
    assert result["after"] == result["before"], result
