"""scripts/batch.py through the bpy module, with a stand-in extension (same operator contract, fast).

The orchestration is what is tested here: failures isolated, exit codes, the summary, --jobs merging,
reproducibility, resuming. tests/test_batch_real.py runs the real extension on a FLAME head, and
tests/test_batch_binary.py the same batches in Debian's Blender 4.3 binary.
"""
import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from batch_helpers import STUB, dump_blend, make_scene, manifest, run_batch, speechlike, statuses, write_wav

pytest.importorskip("bpy")


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    make_scene(root / "scene.blend")
    audio = root / "audio"
    audio.mkdir()
    for i, seconds in enumerate((1.0, 1.6, 0.7)):
        write_wav(audio / f"line_{i:02d}.wav", speechlike(seconds, seed=i))
    return root


@pytest.fixture(scope="module")
def bad_folder(material):
    """Good files plus a corrupt one, a silent one and a non-audio file in one folder."""
    folder = material / "mixed"
    shutil.copytree(material / "audio", folder)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    write_wav(folder / "silent.wav", np.zeros(8000))
    (folder / "transcript.txt").write_text("not audio")
    (material / "take.aiff.txt").write_text("wrong extension")
    return folder


def batch(material, out, *extra, audio=None):
    return run_batch(["--scene", str(material / "scene.blend"), "--object", "head",
                      "--audio", *(audio or [str(material / "audio")]), "--out", str(out),
                      "--extension", str(STUB), *extra])


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_good_and_bad_files(material, bad_folder, tmp_path):
    out = tmp_path / "out"
    res = batch(material, out, "--mode", "both",
                audio=[str(bad_folder), str(material / "missing.wav"), str(material / "take.aiff.txt")])
    assert res.returncode == 1, res.stdout + res.stderr
    st = statuses(out)
    assert st == {"line_00.wav": "ok", "line_01.wav": "ok", "line_02.wav": "ok", "corrupt.wav": "FAILED",
                  "silent.wav": "FAILED", "missing.wav": "FAILED", "take.aiff.txt": "FAILED"}
    rows = {f["file"]: f for f in manifest(out)["files"]}
    assert "silent" in rows["silent.wav"]["message"] and "not found" in rows["missing.wav"]["message"]
    assert "not an audio file" in rows["take.aiff.txt"]["message"]
    assert "transcript.txt" in manifest(out)["ignored"] and "ignored transcript.txt" in res.stdout
    # the summary table names every file with its status; failures say why
    table = res.stdout[res.stdout.index("file "):]
    for name, status in st.items():
        assert any(line.startswith(name) and status in line for line in table.splitlines()), name
    assert "7 files: 3 animated, 0 up to date, 4 failed" in table
    # outputs exist exactly for the good files, nothing half-written anywhere
    assert sorted(p.name for p in (out / "parley").iterdir()) == ["line_00.pc2", "line_01.pc2", "line_02.pc2"]
    assert sorted(p.name for p in (out / ".parley_parts").iterdir()) == sorted(
        f"line_0{i}.{ext}" for i in range(3) for ext in ("blend", "json"))
    scene = dump_blend(out / "scene.blend")
    assert sorted(scene["actions"]) == ["line_00", "line_01", "line_02"]
    assert all(a["fake_user"] for a in scene["actions"].values())
    assert scene["assigned"] == "line_00"
    assert scene["drivers"] == ['key_blocks["jawOpen_sq"].value=w * w']  # the rig's drivers survive every file
    assert scene["modifiers"]["Parley cache"] == ["MESH_CACHE", "//parley/line_00.pc2"]
    frames = {f["file"]: f["frames"] for f in manifest(out)["files"] if f["status"] == "ok"}
    for name, action in scene["actions"].items():
        keys = action["curves"]['key_blocks["jawOpen"].value[0]']
        assert len(keys) == frames[name + ".wav"]
        assert max(k[1] for k in keys) > 0.1  # the speech moved the jaw


def test_all_good_exits_zero_and_reruns_nothing(material, tmp_path):
    out = tmp_path / "out"
    first = batch(material, out)
    assert first.returncode == 0, first.stdout + first.stderr
    parts = {p.name: p.stat().st_mtime_ns for p in (out / ".parley_parts").iterdir()}
    again = batch(material, out)
    assert again.returncode == 0
    assert set(statuses(out).values()) == {"up to date"}
    assert {p.name: p.stat().st_mtime_ns for p in (out / ".parley_parts").iterdir()} == parts
    assert sorted(dump_blend(out / "scene.blend")["actions"]) == ["line_00", "line_01", "line_02"]


def test_rerun_after_deleting_one_output_redoes_only_that_one(material, tmp_path):
    out = tmp_path / "out"
    assert batch(material, out, "--mode", "both").returncode == 0
    before = {p.name: (p.stat().st_mtime_ns, digest(p)) for p in (out / "parley").iterdir()}
    (out / "parley" / "line_01.pc2").unlink()
    res = batch(material, out, "--mode", "both")
    assert res.returncode == 0, res.stdout + res.stderr
    assert statuses(out) == {"line_00.wav": "up to date", "line_01.wav": "ok", "line_02.wav": "up to date"}
    after = {p.name: (p.stat().st_mtime_ns, digest(p)) for p in (out / "parley").iterdir()}
    assert after["line_00.pc2"] == before["line_00.pc2"] and after["line_02.pc2"] == before["line_02.pc2"]
    assert after["line_01.pc2"][1] == before["line_01.pc2"][1]  # redone, bit-identical


def test_changed_settings_redo_everything(material, tmp_path):
    out = tmp_path / "out"
    assert batch(material, out, "--seed", "1").returncode == 0
    a = dump_blend(out / "scene.blend")["actions"]
    assert batch(material, out, "--seed", "2").returncode == 0
    assert set(statuses(out).values()) == {"ok"}
    b = dump_blend(out / "scene.blend")["actions"]
    assert a.keys() == b.keys() and a != b  # a new seed, new noise


def test_jobs_two_equals_jobs_one(material, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert batch(material, one, "--mode", "both", "--style", "smile=0.4", "--jobs", "1").returncode == 0
    res = batch(material, two, "--mode", "both", "--style", "smile=0.4", "--jobs", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(manifest(two)["timing"]["workers"]) == 1  # this process animates one slice itself
    assert dump_blend(one / "scene.blend") == dump_blend(two / "scene.blend")
    for pc2 in (one / "parley").iterdir():
        assert digest(pc2) == digest(two / "parley" / pc2.name)


def test_same_inputs_same_keyframes(material, tmp_path):
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        assert batch(material, out, "--seed", "5", "--style", "smile=0.2").returncode == 0
        runs.append(dump_blend(out / "scene.blend"))
    assert runs[0] == runs[1]
    smile = runs[0]["actions"]["line_00"]["curves"]['key_blocks["mouthSmile_L"].value[0]']
    assert abs(np.mean([k[1] for k in smile]) - 0.2) < 0.05  # the style reached the operator


def test_worker_crash_fails_its_files_only(material, tmp_path, monkeypatch):
    out = tmp_path / "out"
    # line_00 builds the rig here, line_01 (the longer) stays here, line_02 goes to a worker that dies:
    # its file fails with a pointer to the worker's log, the batch goes on
    monkeypatch.setenv("PARLEY_STUB_CRASH_ON", "line_02")  # the stand-in kills its process
    res = batch(material, out, "--jobs", "2")
    assert res.returncode == 1
    st = statuses(out)
    assert st == {"line_00.wav": "ok", "line_01.wav": "ok", "line_02.wav": "FAILED"}
    assert "worker 1 exited" in manifest(out)["files"][2]["message"]
    assert (out / ".parley_work").is_dir()  # the log is kept for a look
    assert not (out / ".parley_parts" / "line_02.json").exists()


def test_bad_arguments_exit_two(material, tmp_path):
    res = batch(material, tmp_path / "o", "--style", "nosuchaxis=1")
    assert res.returncode == 2 and "unknown style axis 'nosuchaxis'" in res.stderr
    res = run_batch(["--scene", str(material / "scene.blend"), "--object", "nobody", "--audio",
                     str(material / "audio"), "--out", str(tmp_path / "o"), "--extension", str(STUB)])
    assert res.returncode == 2 and "no mesh object named 'nobody'" in res.stderr
    assert not (tmp_path / "o" / "parley_batch.json").exists()
    scene_copy = tmp_path / "here" / "scene.blend"  # --out holding the scene would overwrite it
    scene_copy.parent.mkdir()
    shutil.copy(material / "scene.blend", scene_copy)
    before = scene_copy.read_bytes()
    res = run_batch(["--scene", str(scene_copy), "--object", "head", "--audio", str(material / "audio"),
                     "--out", str(scene_copy.parent), "--extension", str(STUB)])
    assert res.returncode == 2 and "would replace scene.blend" in res.stderr
    assert scene_copy.read_bytes() == before and sorted(p.name for p in scene_copy.parent.iterdir()) == ["scene.blend"]


def test_runs_the_way_blenders_python_flag_runs_it(material, tmp_path):
    """`blender --python scripts/batch.py` neither puts scripts/ on sys.path nor runs from the repository: the
    entry script finds its package beside itself (and the workers, started through it, too)."""
    out = tmp_path / "out"
    res = run_batch(["--scene", str(material / "scene.blend"), "--object", "head", "--audio", str(material / "audio"),
                     "--out", str(out), "--extension", str(STUB), "--jobs", "2"],
                    like_blender_python=True, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert set(statuses(out).values()) == {"ok"}
    assert sorted(dump_blend(out / "scene.blend")["actions"]) == ["line_00", "line_01", "line_02"]


@pytest.fixture(scope="module")
def dialogue(material):
    """A scene with a partner 'ben' beside the head, and ben's lines: line_00 longer than the head's (2.0 s
    against 1.0 s), line_01 shorter, no line_02."""
    make_scene(material / "dialogue.blend",
               extra="ben = bpy.data.objects.new('ben', None); bpy.context.scene.collection.objects.link(ben)")
    ben = material / "ben"
    ben.mkdir()
    write_wav(ben / "line_00.wav", speechlike(2.0, seed=20))
    write_wav(ben / "line_01.wav", speechlike(0.5, seed=21))
    return ben


def test_dialogue_listens_to_the_partners_line_of_the_same_name(material, dialogue, tmp_path):
    out = tmp_path / "out"
    args = ["--scene", str(material / "dialogue.blend"), "--object", "head", "--audio", str(material / "audio"),
            "--out", str(out), "--extension", str(STUB), "--dialogue", f"ben:{dialogue}"]
    res = run_batch(args)
    assert res.returncode == 1, res.stdout + res.stderr
    assert statuses(out) == {"line_00.wav": "ok", "line_01.wav": "ok", "line_02.wav": "FAILED"}
    rows = {f["file"]: f for f in manifest(out)["files"]}
    assert f"no line named line_02 in {dialogue}" in rows["line_02.wav"]["message"]
    scene = dump_blend(out / "dialogue.blend")  # named after the scene
    for name in ("line_00", "line_01"):  # each heard its partner's line and looked at ben
        assert scene["actions"][name]["props"] == {"heard": f"{name}.wav", "look_at": "ben"}
    jaw = [k[1] for k in scene["actions"]["line_00"]["curves"]['key_blocks["jawOpen"].value[0]']]
    assert len(jaw) == rows["line_00.wav"]["frames"] == 48  # ben's 2.0 s at 24 fps: the longer line
    assert max(jaw[:24]) > 0.1 and max(jaw[24:]) == 0.0    # speaking, then listening with still lips
    two = tmp_path / "two"  # the partner's lines reach the workers too
    assert run_batch([*args, "--out", str(two), "--jobs", "2"]).returncode == 1
    assert dump_blend(two / "dialogue.blend") == scene
    # the partner's line is part of a file's key: a new line_01 from ben redoes line_01 only
    write_wav(dialogue / "line_01.wav", speechlike(0.6, seed=22))
    assert run_batch(args).returncode == 1
    assert statuses(out) == {"line_00.wav": "up to date", "line_01.wav": "ok", "line_02.wav": "FAILED"}
    for spec, says in (("nobody:" + str(dialogue), "no object named 'nobody'"),
                       ("head:" + str(dialogue), "is the head itself"), ("ben", "takes OTHER_OBJECT:AUDIO_DIR")):
        res = run_batch([*args[:-1], spec, "--out", str(tmp_path / "bad")])
        assert res.returncode == 2 and says in res.stderr, res.stderr
    assert not (tmp_path / "bad").exists()


def test_head_motion_stays_out_of_a_batch_unless_baked(material, tmp_path):
    """A take's part keeps the face's Action only: the head bone's (the stand-in's second Action) would fail
    every file. The batch turns head motion off with a line, refuses it asked for, and keeps it in mode cache
    for a head without an armature of its own (baked into the .pc2)."""
    res = batch(material, tmp_path / "keys")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "mode shapekeys: head motion off" in res.stdout
    assert sorted(dump_blend(tmp_path / "keys" / "scene.blend")["actions"]) == ["line_00", "line_01", "line_02"]
    res = batch(material, tmp_path / "asked", "--mode", "both", "--option", "head_motion=1")
    assert res.returncode == 2 and "use --mode cache, or head_motion=0" in res.stderr, res.stderr
    res = batch(material, tmp_path / "cache", "--mode", "cache", "--option", "head_motion=1")
    assert res.returncode == 0 and "head motion off" not in res.stdout, res.stdout + res.stderr
    # a character turned by its own armature: its bone's Action would be lost in every mode
    make_scene(material / "character.blend", extra="arm = bpy.data.objects.new('rig', bpy.data.armatures.new('rig'));"
                                                   "bpy.context.scene.collection.objects.link(arm); head.parent = arm")
    own = ["--scene", str(material / "character.blend"), "--object", "head", "--audio", str(material / "audio"),
           "--extension", str(STUB), "--mode", "cache"]
    res = run_batch([*own, "--out", str(tmp_path / "own")])
    assert res.returncode == 0 and "mode cache: head motion off (rig's head bone's Action" in res.stdout, res.stdout
    res = run_batch([*own, "--out", str(tmp_path / "own2"), "--option", "head_motion=0.5"])
    assert res.returncode == 2 and "not rig's head bone's; use head_motion=0" in res.stderr, res.stderr
