"""The Flamenco 3 job type (scripts/flamenco/parley_batch.js): compiled with Node.js through a shim of
Flamenco's `author` API, then its task commands run here, in dependency order, as a worker would run
them: with the bpy module (the command translated to `python batch.py --scene ...`) and with Debian's
real Blender binary in the chroot.
"""
import json
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from batch_helpers import (BATCH, CHROOT_BLENDER, REPO, STUB, chroot_skip_reason, dump_blend, make_scene,
                           manifest, speechlike, write_wav)

JOB_TYPE = REPO / "scripts" / "flamenco" / "parley_batch.js"
SHIM = REPO / "tests" / "flamenco_shim.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (apt-get install nodejs)")


def compile_job(settings):
    res = subprocess.run([NODE, str(SHIM), str(JOB_TYPE)], input=json.dumps({"settings": settings}),
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def defaults():
    job_type = compile_job({"audio_files": "x.wav"})["job_type"]
    return {s["key"]: s.get("default") for s in job_type["settings"]}


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    root = tmp_path_factory.mktemp("flamenco")
    make_scene(root / "scene.blend")
    if not chroot_skip_reason():
        make_scene(root / "scene43.blend", blender="chroot")
    audio = root / "takes"
    audio.mkdir()
    for i in range(5):
        write_wav(audio / f"take_{i}.wav", speechlike(0.6 + 0.2 * i, seed=10 + i))
    (audio / "notes.txt").write_text("not audio")
    return root


def test_job_type_settings_and_submission_listing(farm):
    job_type = compile_job({"audio_files": "x.wav"})["job_type"]
    keys = {s["key"]: s for s in job_type["settings"]}
    for key in ("audio_folder", "audio_files", "head_object", "output_folder", "mode", "seed", "files_per_task",
                "batch_script", "blendfile"):
        assert key in keys
    assert keys["mode"]["choices"] == ["shapekeys", "cache", "both"]
    # the add-on evaluates `eval` in the submitting Blender with bpy, C and settings as globals
    bpy = pytest.importorskip("bpy")
    listing = eval(keys["audio_files"]["eval"], {"bpy": bpy, "C": None,
                                                 "settings": types.SimpleNamespace(audio_folder=str(farm / "takes"))})
    assert listing.split(";") == [str(farm / "takes" / f"take_{i}.wav") for i in range(5)]
    assert eval(keys["head_object"]["eval"], {"C": types.SimpleNamespace(active_object=types.SimpleNamespace(name="head"))}) == "head"


def job_settings(farm, out, **extra):
    files = ";".join(str(p) for p in sorted((farm / "takes").glob("*.wav")))
    return {**defaults(), "audio_folder": str(farm / "takes"), "audio_files": files, "head_object": "head",
            "output_folder": str(out), "mode": "both", "style": "smile=0.3", "seed": 4, "files_per_task": 2,
            "batch_script": str(BATCH), "extension_dir": str(STUB), "blendfile": str(farm / "scene.blend"),
            **extra}


def test_compiled_tasks_cover_every_file_once(farm, tmp_path):
    result = compile_job(job_settings(farm, tmp_path))
    assert result["error"] is None
    tasks = result["tasks"]
    chunks, merge = tasks[:-1], tasks[-1]
    assert [t["name"] for t in chunks] == ["parley-1-2", "parley-3-4", "parley-5-5"]
    assert merge["name"] == "parley-merge" and merge["dependencies"] == [t["name"] for t in chunks]
    files = sorted(str(p) for p in (farm / "takes").glob("*.wav"))
    covered = []
    for task in chunks:
        assert task["type"] == "blender" and [c["name"] for c in task["commands"]] == ["blender-render"]
        args = task["commands"][0]["parameters"]["args"]
        assert args[-1] == "--no-merge"
        covered += args[args.index("--audio") + 1:args.index("--out")]
    assert covered == files
    margs = merge["commands"][0]["parameters"]["args"]
    assert margs[margs.index("--audio") + 1:margs.index("--out")] == files and "--no-merge" not in margs


def test_no_files_is_a_compile_error(farm, tmp_path):
    result = compile_job(job_settings(farm, tmp_path, audio_files=""))
    assert result["tasks"] == [] and "no audio files" in result["error"]


def worker_argv(params, blender):
    """The command line a Flamenco worker builds: exe + exeArgs + argsBefore + blendfile + args."""
    exe = params["exe"].replace("{blender}", "blender")
    exe_args = params.get("exeArgs", "").replace("{blenderArgs}", "-b -y")  # the Manager's default
    argv = shlex.split(exe) + shlex.split(exe_args) + params["argsBefore"] + [params["blendfile"]] + params["args"]
    assert argv[0] == "blender"
    if blender == "chroot":
        return ["bash", str(CHROOT_BLENDER), *argv[1:]]
    # bpy module: `blender -b SCENE --python SCRIPT -- ARGS` is `python SCRIPT --scene SCENE ARGS`
    script = argv[argv.index("--python") + 1]
    return [sys.executable, script, "--scene", params["blendfile"], *argv[argv.index("--") + 1:]]


@pytest.mark.parametrize("blender", ["bpy", "chroot"])
def test_run_the_tasks_like_a_farm(farm, tmp_path, blender):
    if blender == "bpy":
        pytest.importorskip("bpy")
    elif chroot_skip_reason():
        pytest.skip(chroot_skip_reason())
    out = tmp_path / "out"
    scene = farm / ("scene43.blend" if blender == "chroot" else "scene.blend")
    tasks = compile_job(job_settings(farm, out, blendfile=str(scene)))["tasks"]
    done = set()
    for task in tasks:  # compiled order is a valid dependency order; check it anyway
        assert set(task["dependencies"]) <= done
        for command in task["commands"]:
            res = subprocess.run(worker_argv(command["parameters"], blender), capture_output=True, text=True,
                                 timeout=600)
            assert res.returncode == 0, f"{task['name']}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        done.add(task["name"])
        if task["name"] != "parley-merge":
            assert not (out / "parley_batch.json").exists()  # chunks never write the shared summary
    # the merge task found every file up to date and only merged
    rows = manifest(out)["files"]
    assert [r["file"] for r in rows] == [f"take_{i}.wav" for i in range(5)]
    assert {r["status"] for r in rows} == {"up to date"}
    assert sorted(p.name for p in (out / "parley").iterdir()) == [f"take_{i}.pc2" for i in range(5)]
    scene = dump_blend(out / scene.name)
    assert sorted(scene["actions"]) == [f"take_{i}" for i in range(5)]
    assert not list(out.glob(".parley_work*"))
