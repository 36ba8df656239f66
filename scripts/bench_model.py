"""Benchmark the shipped motion model on this CPU: speed (x real time), peak memory, load time.

    python scripts/bench_model.py [--model models/parley.onnx] [--out benchmarks/model.md]

Each measurement runs in a fresh subprocess so peak RSS (ru_maxrss) belongs to that case alone.
Speed = audio seconds / wall seconds of ``animate()`` (16 kHz speech-like audio in, 30 fps curves
out, chunking included), best of 3 runs after one warm-up.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from inference.model import load_model
from inference.animate import animate
case = json.loads(sys.argv[1])
t0 = time.perf_counter(); model = load_model(case["model"], threads=case["threads"]); load_s = time.perf_counter() - t0
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
sr = 16000
n = int(case["seconds"] * sr)
rng = np.random.default_rng(0)
pcm = np.empty(n, np.float32)
for s0 in range(0, n, 10 * sr):  # speech-like audio built in 10 s blocks: the generator stays small
    t = np.arange(s0, min(n, s0 + 10 * sr), dtype=np.float64) / sr
    env = np.clip(np.sin(2 * np.pi * 3.7 * t), 0, None) ** 2
    voice = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate(range(110, 2000, 220)))
    pcm[s0:s0 + t.size] = 0.1 * env * (voice / 3 + 0.05 * rng.standard_normal(t.size))
del t, env, voice
rss_audio = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times = []
for r in range(case["repeats"] + 1):
    t1 = time.perf_counter(); curves = animate(model, pcm, sr, 30.0, seed=r); times.append(time.perf_counter() - t1)
best = min(times[1:]) if len(times) > 1 else times[0]
print(json.dumps(dict(load_s=load_s, best_s=best, xrt=case["seconds"] / best, frames=curves.num_frames,
                      rss_loaded_mb=rss_loaded, rss_audio_mb=rss_audio, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def run_case(model, seconds, threads, repeats):
    code = CHILD.format(root=str(ROOT))
    case = json.dumps(dict(model=model, seconds=seconds, threads=threads, repeats=repeats))
    out = subprocess.run([sys.executable, "-c", code, case], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "parley.onnx"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "model.md"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from inference.model import load_model
    meta = load_model(args.model).meta
    rows = []
    for seconds, repeats in ((60, args.repeats), (600, max(1, args.repeats - 1))):
        for threads in (1, 0):
            r = run_case(args.model, seconds, threads, repeats)
            rows.append((seconds, threads, r))
            print(seconds, threads, r, flush=True)
    loads = [run_case(args.model, 1, 0, 0)["load_s"] for _ in range(3)]
    size = os.path.getsize(args.model) / 1e6
    style = Path(args.model).with_name(meta.style_encoder or "parley_style.onnx")
    lines = [
        "# Motion model benchmark",
        "",
        f"Model: `{Path(args.model).name}` version {meta.version}, {size:.2f} MB"
        + (f" (+ Mimic encoder {style.stat().st_size / 1e6:.2f} MB)" if style.exists() else "") + ".",
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; onnxruntime CPUExecutionProvider. "
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at start {os.getloadavg()[0]:.2f} "
        "(other jobs were sharing the machine).",
        "",
        "Command: `python scripts/bench_model.py` (from the repository root).",
        "",
        "`animate()` end to end: 16 kHz speech-like audio in, 51 curves at 30 fps out, chunked inference "
        "(30 s chunks + receptive-field context), best of the repeats after a warm-up; peak memory is the whole "
        "process's maximum RSS (Python + numpy + onnxruntime + the audio), measured in a fresh process per row.",
        "",
        "| audio | onnxruntime threads | time | speed (x real time) | RSS after load | RSS with audio | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for seconds, threads, r in rows:
        label = "1" if threads == 1 else f"all ({os.cpu_count()})"
        lines.append(f"| {seconds // 60} min | {label} | {r['best_s']:.3f} s | {r['xrt']:.0f}x | "
                     f"{r['rss_loaded_mb']:.0f} MB | {r['rss_audio_mb']:.0f} MB | {r['peak_rss_mb']:.0f} MB |")
    lines += ["", f"Model load time (`load_model()`, fresh process, 3 runs): "
              f"{', '.join(f'{x * 1000:.0f} ms' for x in loads)}.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
