"""Benchmark the rig: build time per head and decode throughput (frames per second).

    python scripts/bench_rig.py [--out benchmarks/rig.md]

Reads the FLAME test heads from ../shared/flame (or $PARLEY_FLAME_DIR); writes a Markdown table.
Timings are the best of several runs, with BLAS on one thread. The development machine is shared
(2 cores, load average often 5-8), so both wall-clock and CPU-time (process_time) figures are
given: CPU time is what the work costs, wall time is what it took while sharing the cores.
"""
import argparse
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.meshio import load_mesh  # noqa: E402
from inference.rig import build_rig  # noqa: E402


def best_of(fn, repeats):
    """(best wall s, best CPU s) over repeats."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the Markdown report here")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    flame = Path(os.environ.get("PARLEY_FLAME_DIR", ROOT.parent / "shared" / "flame"))
    if not (flame / "flame_template.ply").exists():
        sys.exit(f"error: FLAME test heads not found in {flame}; set PARLEY_FLAME_DIR")
    lines = ["# Rig benchmark", "",
             f"Command: `python scripts/bench_rig.py --out benchmarks/rig.md`  ",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
             f"numpy {np.__version__}; load average before: {os.getloadavg()[0]:.1f}", "",
             "| head | build s, wall / CPU | decode fps 256-frame blocks, wall / CPU | decode fps 2048-frame blocks, wall / CPU | correctives |",
             "|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for name in ("flame_template", "flame_registered"):
        vertices, faces = load_mesh(flame / f"{name}.ply")
        build_rig(vertices, faces)  # warm-up: imports, caches
        build_wall, build_cpu = best_of(lambda: build_rig(vertices, faces), args.repeats)
        rig = build_rig(vertices, faces)
        cells = []
        for T in (256, 2048):
            curves = rng.uniform(0, 1, (T, len(rig.names))).astype(np.float32)
            wall, cpu = best_of(lambda: rig.decode(curves), 3 * args.repeats)
            cells.append(f"{T / wall:,.0f} / {T / max(cpu, 1e-9):,.0f}")
        lines.append(f"| {name} | {build_wall:.3f} / {build_cpu:.3f} | {cells[0]} | {cells[1]} | "
                     f"{len(rig.corrective_names)} |")
    lines += ["", f"Load average after: {os.getloadavg()[0]:.1f}. Targets (issue 2): build < 1 s per head, "
              "decode > 20,000 frames/s for 5023 vertices."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
