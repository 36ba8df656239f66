"""Every bad input from the issue: a clear one-line message, and the file exactly as it was."""
import os
import shutil
import subprocess

import numpy as np
import pytest

import bpy
from blender_helpers import import_head, scene_fps, write_wav


def snapshot(folder=None):
    """What generate could have touched: data-blocks, shape keys, modifiers, animation, files."""
    state = {
        "objects": sorted(o.name for o in bpy.data.objects),
        "actions": sorted(a.name for a in bpy.data.actions),
        "sounds": sorted(s.name for s in bpy.data.sounds),
        "frame_end": bpy.context.scene.frame_end,
    }
    for obj in bpy.data.objects:
        if obj.type != "MESH":
            continue
        key = obj.data.shape_keys
        state[obj.name] = {
            "keys": [kb.name for kb in key.key_blocks] if key else [],
            "action": key.animation_data.action.name if key and key.animation_data and key.animation_data.action
            else None,
            "nla": len(key.animation_data.nla_tracks) if key and key.animation_data else 0,
            "modifiers": [m.name for m in obj.modifiers],
            "mode": obj.mode,
        }
    if folder is not None:
        state["files"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    return state


def refused(expect, **kwargs):
    """Run generate, expect it to refuse with a message containing `expect`; return the message."""
    with pytest.raises(RuntimeError) as info:
        bpy.ops.parley.generate(**kwargs)
    message = str(info.value)
    assert expect.lower() in message.lower(), message
    assert "Traceback" not in message
    return message


@pytest.fixture
def head(addon, tmp_path):
    obj = import_head(scale=2.0, location=(0.3, 0, 1))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    return obj


@pytest.fixture
def speech(tmp_path):
    return write_wav(tmp_path / "speech.wav", seconds=1.5)


def test_no_object_selected(addon, speech):
    bpy.ops.mesh.primitive_cube_add()
    bpy.context.view_layer.objects.active = None
    before = snapshot()
    refused("select the head", audio_path=str(speech))
    assert snapshot() == before


def test_not_a_mesh(addon, speech):
    bpy.ops.object.camera_add()
    before = snapshot()
    refused("not a mesh", audio_path=str(speech))
    assert snapshot() == before


def test_non_flame_mesh_without_arkit_keys(addon, speech, tmp_path):
    obj = import_head()
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.select_all(action="DESELECT")
    bpy.ops.object.mode_set(mode="OBJECT")
    obj.data.vertices[0].select = obj.data.vertices[1].select = True
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.delete(type="VERT")
    bpy.ops.object.mode_set(mode="OBJECT")
    assert len(obj.data.vertices) == 5021
    before = snapshot(tmp_path)
    message = refused("not FLAME topology: 5021 vertices", audio_path=str(speech))
    assert "ARKit" in message
    assert snapshot(tmp_path) == before


def test_mesh_in_edit_mode(head, speech, tmp_path):
    bpy.ops.object.mode_set(mode="EDIT")
    before = snapshot(tmp_path)
    refused("Edit Mode", audio_path=str(speech))
    assert snapshot(tmp_path) == before


def _corrupt(path):
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(3000))
    return path


def _silent(path):
    return write_wav(path, seconds=2.0, amplitude=0.0, noise=0.0)


@pytest.mark.parametrize("case, expect", [
    ("missing", "not found"),
    ("empty", "empty"),
    ("silent", "silent"),
    ("corrupt", "speech.wav"),
    ("short", "0.10 s"),
    ("folder", "folder"),
    ("not audio", "notes.txt"),
])
def test_bad_audio(head, tmp_path, case, expect):
    path = tmp_path / "speech.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "silent":
        _silent(path)
    elif case == "corrupt":
        _corrupt(path)
    elif case == "short":
        write_wav(path, seconds=0.1)
    elif case == "folder":
        path = tmp_path / "takes"
        path.mkdir()
    elif case == "not audio":
        path = tmp_path / "notes.txt"
        path.write_text("hello, this is not a sound\n" * 200)
    before = snapshot(tmp_path)
    message = refused(expect, audio_path=str(path), mode="BOTH")
    assert message.count("\n") <= 1
    assert snapshot(tmp_path) == before


def test_96khz_six_channels_works(head, tmp_path):
    audio = write_wav(tmp_path / "surround.wav", seconds=1.2, rate=96000, channels=6)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="SHAPE_KEYS") == {"FINISHED"}
    fps = scene_fps()
    action = head.data.shape_keys.animation_data.action
    assert round(action.frame_range[1] - action.frame_range[0]) + 1 == round(1.2 * fps)


def test_spaces_and_non_ascii_paths(addon, tmp_path):
    folder = tmp_path / "Projets été" / "scène 1 — ça"
    folder.mkdir(parents=True)
    obj = import_head()
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "tête parlante.blend"))
    audio = write_wav(folder / "prise n°1 — «bonjour».wav", seconds=1.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH") == {"FINISHED"}
    mod = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
    assert mod.filepath == "//parley/prise n°1 — «bonjour».pc2"
    assert os.path.isfile(bpy.path.abspath(mod.filepath))
    assert obj.data.shape_keys.animation_data.action.name == "prise n°1 — «bonjour»"


def _make_read_only(folder):
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o555)
    if os.access(folder, os.W_OK) and os.geteuid() == 0:  # root ignores modes: make it immutable
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
            pytest.skip("cannot make a read-only folder here (root without chattr)")
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return
    (folder / "probe").unlink()
    pytest.skip("cannot make a read-only folder on this file system")


def _release(folder):
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    os.chmod(folder, 0o755)


@pytest.mark.parametrize("mode", ["MESH_CACHE", "BOTH"])
def test_read_only_output_folder(head, speech, tmp_path, mode):
    cache = tmp_path / "parley"
    _make_read_only(cache)
    try:
        before = snapshot(tmp_path)
        refused("cannot write the mesh cache", audio_path=str(speech), mode=mode)
        assert snapshot(tmp_path) == before
    finally:
        _release(cache)


def _prefs(addon):
    return bpy.context.preferences.addons[addon].preferences


@pytest.mark.parametrize("case, expect", [("missing", "not found"), ("corrupt", "cannot load the motion model"),
                                          ("empty", "cannot load the motion model")])
def test_missing_or_corrupt_model(head, speech, tmp_path, addon, case, expect):
    model = tmp_path / "models" / "parley.onnx"
    model.parent.mkdir()
    if case == "corrupt":
        model.write_bytes(b"\x08\x07" + os.urandom(5000))
    elif case == "empty":
        model.write_bytes(b"")
    prefs = _prefs(addon)
    prefs.model_path = str(model)
    try:
        before = snapshot(tmp_path)
        refused(expect, audio_path=str(speech), mode="BOTH")
        assert snapshot(tmp_path) == before
    finally:
        prefs.model_path = ""


def test_existing_animation_is_never_replaced_silently(head, tmp_path):
    first = write_wav(tmp_path / "first.wav", seconds=1.0)
    second = write_wav(tmp_path / "second.wav", seconds=1.0, seed=2)
    assert bpy.ops.parley.generate(audio_path=str(first), mode="BOTH") == {"FINISHED"}
    before = snapshot(tmp_path)
    refused("already", audio_path=str(second), mode="SHAPE_KEYS")
    refused("already has a Parley mesh cache", audio_path=str(second), mode="MESH_CACHE")
    assert snapshot(tmp_path) == before
    assert (tmp_path / "parley" / "first.pc2").is_file()
    data = (tmp_path / "parley" / "first.pc2").read_bytes()
    # a take named like an existing cache gets a new file; the old one is untouched
    assert bpy.ops.parley.generate(audio_path=str(first), mode="BOTH", existing="REPLACE") == {"FINISHED"}
    assert (tmp_path / "parley" / "first.pc2").read_bytes() == data
    assert (tmp_path / "parley" / "first_2.pc2").is_file()
    ad = head.data.shape_keys.animation_data
    assert ad.action.name == "first.001" and bpy.data.actions["first"].use_fake_user
    mods = [m for m in head.modifiers if m.type == "MESH_CACHE"]
    assert len(mods) == 1 and mods[0].filepath == "//parley/first_2.pc2"


def test_speech_must_be_given(head):
    refused("no speech given", audio_path="", sound_strip="")
    refused("no sound strip named", sound_strip="nope")


@pytest.mark.parametrize("fmt, subtype", [("flac", "PCM_16"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")])
def test_compressed_formats_work(head, tmp_path, fmt, subtype):
    soundfile = pytest.importorskip("soundfile")
    if fmt.upper() not in soundfile.available_formats() and fmt != "ogg":
        pytest.skip(f"this libsndfile cannot write {fmt}")
    wav = write_wav(tmp_path / "src.wav", seconds=1.4, rate=44100, channels=2)
    data, rate = soundfile.read(str(wav))
    path = tmp_path / f"take.{fmt}"
    try:
        soundfile.write(str(path), data, rate, format=fmt.upper() if fmt != "ogg" else "OGG", subtype=subtype)
    except Exception as exc:  # libsndfile without that encoder
        pytest.skip(f"cannot write {fmt} here: {exc}")
    assert bpy.ops.parley.generate(audio_path=str(path), mode="SHAPE_KEYS") == {"FINISHED"}
    action = head.data.shape_keys.animation_data.action
    fps = scene_fps()
    assert abs((action.frame_range[1] - action.frame_range[0] + 1) - 1.4 * fps) <= 2
