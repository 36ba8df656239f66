"""Whole-process speed of ``python -m inference animate`` on 60 s of speech, cold and warm rig cache.

    python scripts/bench_cli.py [--head ../shared/flame/flame_template.ply] [--seconds 60] [--runs 5]
                                [--out benchmarks/cli.md]

Makes the speech by repeating assets/demo.wav, then times the command as a subprocess (interpreter
start, imports, rig, model, audio, curves, a full .pc2 written) with wall-clock time:
    cold   an empty cache folder each run (the rig is built, then stored)
    warm   the cache filled by a first run (the rig is loaded)
    no cache  ``--no-rig-cache``
and, as the floor no command can beat, ``python -c "import numpy, onnxruntime"``. The .pc2 goes to a
temporary folder (the size of a 60 s cache of a FLAME head: 108 MB) and is removed after each run.
Python's bytecode cache is on, as it is by default (numpy's and onnxruntime's own are in site-packages):
an environment that sets PYTHONDONTWRITEBYTECODE has it removed for the runs, else every run would
compile Parley's own modules from source again (about 0.07 s on the 2-CPU machine).
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FLAME = Path(os.environ.get("PARLEY_FLAME_DIR") or REPO / ".." / "shared" / "flame")


def make_speech(path, seconds):
    import soundfile
    audio, rate = soundfile.read(REPO / "assets" / "demo.wav", dtype="float32")
    n = int(seconds * rate)
    soundfile.write(path, np.tile(audio, n // len(audio) + 1)[:n], rate)


def timed(command, env):
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip().splitlines()[-1]}")
    return wall


def bench(head, speech, runs, work):
    base = [sys.executable, "-m", "inference", "animate", "--head", str(head), "--audio", str(speech),
            "--out", str(work / "take.pc2")]
    env = dict(os.environ, PARLEY_CACHE_DIR=str(work / "cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    rows = {"floor": [], "no cache": [], "cold": [], "warm": []}
    for _ in range(runs):
        rows["floor"].append(timed([sys.executable, "-c", "import numpy, onnxruntime"], env))
        rows["no cache"].append(timed(base + ["--no-rig-cache"], env))
        shutil.rmtree(work / "cache", ignore_errors=True)
        rows["cold"].append(timed(base, env))
        rows["warm"].append(timed(base, env))
        (work / "take.pc2").unlink(missing_ok=True)
    return rows


def report(rows, seconds, head, command, load_before):
    load = os.getloadavg()
    lines = ["# Command-line benchmark: `python -m inference animate`, whole process", "",
             f"Command: `{command}`  ",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
             f"load average (1 min) {load_before[0]:.1f} at the start, {load[0]:.1f} at the end (other jobs share "
             "these CPUs: take the minimum as the machine's speed, the median as what a busy machine gives)  ",
             "Python's bytecode cache on (its default; PYTHONDONTWRITEBYTECODE removed for the runs)  ",
             f"Input: {seconds:g} s of speech (assets/demo.wav repeated), head `{head.name}` "
             f"(5023 vertices); output: a full .pc2 ({seconds * 30 * 5023 * 12 / 1e6:.0f} MB) at 30 fps", "",
             "| run | wall s, median | wall s, min | real time, from the min |", "|---|---|---|---|"]
    for name, label in (("no cache", "`--no-rig-cache` (rig built every run)"),
                        ("cold", "cold cache (rig built and stored)"), ("warm", "warm cache (rig loaded)"),
                        ("floor", "floor: `python -c \"import numpy, onnxruntime\"`")):
        wall = rows[name]
        lines.append(f"| {label} | {statistics.median(wall):.2f} | {min(wall):.2f} | "
                     f"{seconds / min(wall):.0f}x |")
    saved = statistics.median(rows["no cache"]) - statistics.median(rows["warm"])
    lines += ["", f"The cache saves {saved:.2f} s a run (median). Target (issue 13): warm ≥ 100x real time, "
              f"i.e. ≤ {seconds / 100:.2f} s: {'met' if min(rows['warm']) <= seconds / 100 else 'not met'} here."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--head", default=str(FLAME / "flame_template.ply"))
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "cli.md"))
    args = p.parse_args(argv)
    head = Path(args.head)
    if not head.is_file():
        raise SystemExit(f"{head} not found: the CLI benchmark needs a FLAME head (../shared/flame or --head)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="parley-bench-cli-") as folder:
        work = Path(folder)
        make_speech(work / "speech.wav", args.seconds)
        rows = bench(head.resolve(), work / "speech.wav", args.runs, work)
    command = "python scripts/bench_cli.py" + ("" if args.runs == 5 else f" --runs {args.runs}")
    text = report(rows, args.seconds, head, command, load_before)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
