"""Benchmark: Generate on a whole character (every driven mesh), through the installed extension.

    python scripts/bench_character.py [--seconds 60] [--out benchmarks/blender.md]

A fresh process (bpy module) installs the built zip, imports the Ready Player Me test avatar
(../shared/characters/rpm/brunette-t.glb, tests only) and times ``bpy.ops.parley.generate`` on
``Wolf3D_Head`` at 30 fps in shape-key mode, twice (first take: the model loads too; second take: the
same call with Existing = Replace). The row is added to (or replaced in) the "Whole characters" table of
--out; the file's other rows stay as they are.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_blender  # noqa: E402
import demo_scene  # noqa: E402

REPO = demo_scene.REPO
RPM = (REPO / ".." / "shared" / "characters" / "rpm" / "brunette-t.glb").resolve()
TABLE = "## Whole characters"


def child(args):
    demo_scene.isolate_user_folder()
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with demo_scene.installed(args.zip):
        bpy.ops.import_scene.gltf(filepath=str(RPM))
        bpy.context.scene.render.fps = 30
        head = bpy.data.objects["Wolf3D_Head"]
        bpy.context.view_layer.objects.active = head
        rows = {}
        for take in ("first", "second"):
            t = time.perf_counter()
            result = bpy.ops.parley.generate(audio_path=args.audio, mode="SHAPE_KEYS", existing="REPLACE")
            seconds = time.perf_counter() - t
            assert result == {"FINISHED"}, result
            action = head.data.shape_keys.animation_data.action
            driven = sorted(o.name for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys
                            and o.data.shape_keys.animation_data and o.data.shape_keys.animation_data.action == action)
            rows[take] = {"seconds": seconds, "frames": int(action.frame_range[1]), "meshes": driven,
                          "vertices": sum(len(bpy.data.objects[n].data.vertices) for n in driven)}
        print("BENCH " + json.dumps(rows), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "blender.md"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--zip", help=argparse.SUPPRESS)
    p.add_argument("--audio", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args)
    if not RPM.is_file():
        raise SystemExit(f"the Ready Player Me test avatar {RPM} is absent (put it in ../shared/characters/rpm)")
    demo_scene.isolate_user_folder()
    work = Path(tempfile.mkdtemp(prefix="parley-bench-character-"))
    zip_path = demo_scene.build_zip(work / "dist")
    audio = work / "speech.wav"
    bench_blender.speech(audio, args.seconds)
    load = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--child", "--zip", str(zip_path), "--audio", str(audio)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    lines = [l for l in run.stdout.splitlines() if l.startswith("BENCH ")]
    if run.returncode != 0 or not lines:
        raise SystemExit(f"bench failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    rows = json.loads(lines[-1][6:])
    first, second = rows["first"], rows["second"]
    done = [l for l in run.stdout.splitlines() if l.startswith("parley: speech: done (")]
    for take, line in zip((first, second), done):  # "done (model 0.35 s, animate 0.93 s)": the job's own times
        parts = dict(p.rsplit(" ", 2)[:2] for p in line[line.index("(") + 1:line.rindex(")")].split(", "))
        take["model"] = sum(float(v) for v in parts.values())
        take["blender"] = take["seconds"] - take["model"]
    import bpy
    label = f"{args.seconds / 60:g} min" if args.seconds >= 60 else f"{args.seconds:g} s"
    row = (f"| {label} | Ready Player Me avatar: {', '.join(first['meshes'])} ({len(first['meshes'])} meshes, "
           f"{first['vertices']} vertices) | shape keys, one shared Action | {first['seconds']:.2f} | "
           f"{second['seconds']:.2f} ({second['model']:.2f} model + {second['blender']:.2f} Blender side) | "
           f"{first['frames']} frames |")
    section = [TABLE, "",
               f"Command: `python scripts/bench_character.py --seconds {args.seconds:g}`  ",
               f"bpy {bpy.app.version_string} module, {os.cpu_count()} CPU cores (shared; load average {load:.1f} "
               "when it started), 30 fps, device CPU. "
               "Generate on `Wolf3D_Head` drives every mesh of the character that carries ARKit keys. *first "
               "take* includes loading the model; *second take* is the same call again (Existing = Replace), split "
               "into the model's run (the job's own timing) and the rest (finding the meshes, keying the shared "
               "Action, assigning it).", "",
               "| speech | character | output | first take (s) | second take (s) | take |", "|---|---|---|---|---|---|",
               row, "", "Target (issue 13): 60 s of speech on the whole avatar under 1 s.", ""]
    out = Path(args.out)
    text = out.read_text() if out.exists() else ""
    if TABLE in text:
        text = text[:text.index(TABLE)].rstrip("\n") + "\n"
    out.write_text(text.rstrip("\n") + "\n\n" + "\n".join(section))
    print("\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
