"""Benchmark scripts/batch.py: N clips of 3-8 s on a FLAME head, --jobs 1 and --jobs 2.

    python scripts/bench_batch.py [--clips 100] [--blender chroot|bpy] [--jobs 1 2] [--mode shapekeys]
                                  [--extension DIR] [--out benchmarks/batch.md]

Reports clips per minute and where the time goes, from the timestamps batch.py records in its
parley_batch.json: starting Blender (process launch until the script runs, plus loading the
extension; for --jobs J each worker's launch until it is ready), preparing the scene (rig build,
saving the working copy), animating (the sum of the per-file generate calls, which include loading
the model once per process), and merging the parts into the output .blend. Shares are of the
summed process time, so with J workers they add up across processes, not to wall time.
The clips are synthetic voiced syllables (numpy, seeded): the model's cost depends on duration only.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from batch_helpers import BATCH, CHROOT_BLENDER, chroot_skip_reason, speechlike, write_wav  # noqa: E402

FLAME = Path(os.environ.get("PARLEY_FLAME_DIR", REPO / ".." / "shared" / "flame"))

SCENE_CODE = """
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.ply_import(filepath={ply!r}, forward_axis='NEGATIVE_Z', up_axis='Y')
head = bpy.context.selected_objects[0]
head.name = "head"
bpy.context.scene.render.fps = 30
bpy.ops.wm.save_as_mainfile(filepath={blend!r})
"""


def blender_cmd(blender, scene, script_args):
    if blender == "chroot":
        return ["bash", str(CHROOT_BLENDER), "--background", str(scene), "--python-exit-code", "1",
                "--python", str(BATCH), "--", *script_args]
    return [sys.executable, str(BATCH), "--scene", str(scene), *script_args]


def make_scene(blender, blend):
    code = SCENE_CODE.format(ply=str((FLAME / "flame_template.ply").resolve()), blend=str(blend))
    if blender == "chroot":
        cmd = ["bash", str(CHROOT_BLENDER), "--background", "--factory-startup", "--python-expr", code]
    else:
        cmd = [sys.executable, "-c", code]
    subprocess.run(cmd, check=True, capture_output=True)


def install_extension(tmp):
    """Debian's Blender runs Python 3.13: Parley goes in as the built zip (its 3.13 wheels), installed with
    Blender's own installer into a throw-away user folder."""
    dist = tmp / "dist"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_extension.py"), "--platforms", "linux-x64",
                    "--out", str(dist)], check=True, capture_output=True, cwd=REPO)
    os.environ["BLENDER_USER_RESOURCES"] = str(tmp / "user")  # chroot_blender.sh passes it on
    subprocess.run(["bash", str(CHROOT_BLENDER), "--command", "extension", "install-file", "-r", "user_default",
                    "-e", *map(str, dist.glob("*.zip"))], check=True, capture_output=True)


def make_clips(folder, n, seed=0):
    rng = np.random.default_rng(seed)
    durations = rng.uniform(3.0, 8.0, n)
    for i, seconds in enumerate(durations):
        write_wav(folder / f"line_{i:03d}.wav", speechlike(seconds, seed=1000 + i))
    return float(durations.sum())


def measure(blender, scene, audio, out, jobs, mode, extension, threads):
    args = ["--object", "head", "--audio", str(audio), "--out", str(out), "--mode", mode, "--jobs", str(jobs)]
    if threads != "auto":
        args += ["--option", f"threads={threads}"]
    if extension:
        args += ["--extension", extension]
    t0 = time.time()
    res = subprocess.run(blender_cmd(blender, scene, args), capture_output=True, text=True)
    wall = time.time() - t0
    summary = json.loads((out / "parley_batch.json").read_text())
    t = summary["timing"]
    files = summary["files"]
    startup = t["extension_loaded"] - t0
    startup += sum(w["ready"] - w["spawn"] for w in t["workers"] if w["ready"])
    animate = sum(f["seconds"] or 0.0 for f in files if f["status"] == "ok")
    prepare = t["ready"] - t["extension_loaded"]
    merge = t["end"] - t["animate_end"]
    failures = [f"{f['file']}: {f.get('message')}" for f in files if f["status"] == "FAILED"]
    return {"jobs": jobs, "threads": threads, "code": res.returncode, "failures": failures, "wall": wall, "startup": startup, "animate": animate,
            "prepare": prepare, "merge": merge, "ok": sum(f["status"] == "ok" for f in files),
            "failed": sum(f["status"] == "FAILED" for f in files), "blender_version": summary["settings"]["blender"],
            "stderr": res.stderr[-2000:], "stdout": res.stdout[-2000:]}


def report(rows, args, audio_seconds, command):
    lines = ["# Batch benchmark", "",
             f"{args.clips} clips of 3-8 s ({audio_seconds:.0f} s of audio, 30 fps, mode `{args.mode}`) on the FLAME "
             f"template head, Blender {rows[0]['blender_version']} ({'Debian binary in the chroot' if args.blender == 'chroot' else 'bpy module'}), "
             f"{os.cpu_count()} CPU cores shared with other work (load average {args.load:.1f} at the start), "
             f"{platform.processor() or platform.machine()}.", "",
             "```", command, "```", "",
             "| jobs | model threads | wall s | clips/min | audio s per wall s | starting Blender | preparing | animating "
             "| merging | ok | failed |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        total = r["startup"] + r["prepare"] + r["animate"] + r["merge"]
        share = lambda x: f"{x:.1f} s ({100 * x / total:.0f}%)"
        lines.append(f"| {r['jobs']} | {r['threads']} | {r['wall']:.1f} | {60 * r['ok'] / r['wall']:.1f} | {audio_seconds / r['wall']:.1f} "
                     f"| {share(r['startup'])} | {share(r['prepare'])} | {share(r['animate'])} | {share(r['merge'])} "
                     f"| {r['ok']} | {r['failed']} |")
    lines += ["", "Shares are of the summed process time (all Blender processes together). Starting Blender: from",
              "launching the process until the extension is loaded, plus with --jobs J each of the J-1 workers' start",
              "until it has opened the prepared scene and loaded the extension (the batch process animates one slice",
              "itself). Animating includes loading the model once per process. Preparing: opening the scene, building",
              "the rig, saving the working copy. Merging: appending the per-file Actions and saving the .blend.", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=int, default=100)
    p.add_argument("--blender", choices=["chroot", "bpy"], default="chroot" if not chroot_skip_reason() else "bpy")
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--mode", default="shapekeys", choices=["shapekeys", "cache", "both"])
    p.add_argument("--threads", nargs="+", default=["auto"],
                   help="onnxruntime threads per process (the operator's threads property); auto: the preferences")
    p.add_argument("--extension", help="passed to batch.py --extension")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "batch.md"))
    args = p.parse_args()
    args.load = os.getloadavg()[0]
    if not (FLAME / "flame_template.ply").is_file():
        sys.exit(f"bench_batch: no FLAME head in {FLAME}; set PARLEY_FLAME_DIR")
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        tmp = Path(tmp)
        scene, audio = tmp / "scene.blend", tmp / "audio"
        audio.mkdir()
        make_scene(args.blender, scene)
        if args.blender == "chroot" and not args.extension:
            install_extension(tmp)
        audio_seconds = make_clips(audio, args.clips)
        rows = []
        for threads, jobs in [(t, j) for t in args.threads for j in args.jobs]:
            r = measure(args.blender, scene, audio, tmp / f"out{jobs}-{threads}", jobs, args.mode, args.extension,
                        threads)
            print(f"jobs={jobs} threads={threads}: exit {r['code']}, {r['ok']} ok, {r['failed']} failed, wall {r['wall']:.1f} s, "
                  f"startup {r['startup']:.1f} s, animate {r['animate']:.1f} s", flush=True)
            for line in r["failures"][:3]:
                print("  FAILED", line, file=sys.stderr)
            if r["code"] not in (0, 1):
                print(r["stdout"], r["stderr"], file=sys.stderr)
                sys.exit(f"bench_batch: batch.py failed with exit code {r['code']}")
            rows.append(r)
    command = "python scripts/bench_batch.py " + " ".join(sys.argv[1:])
    text = report(rows, args, audio_seconds, command.strip())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
