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


def quality(rig, faces):
    """The issue-2 acceptance metrics on one head, in canonical mm (the head's own frame)."""
    from inference.arkit import RIG_NAMES
    meta = rig.meta
    axes, origin, unit = np.array(meta["axes"]), np.array(meta["origin"]), meta["units_per_mm"]
    canon = lambda X: (X.astype(np.float64) - origin) @ axes.T / unit

    def pose(**weights):
        w = np.zeros((1, len(RIG_NAMES)), np.float32)
        for name, value in weights.items():
            w[0, RIG_NAMES.index(name)] = value
        return canon(rig.decode(w)[0])
    P0 = pose()
    up, lo = np.array(meta["upper_loop"]), np.array(meta["lower_loop"])
    mid = lambda ids: ids[np.argmin(np.abs(P0[ids, 0]))]
    gap = lambda P: P[mid(up), 1] - P[mid(lo), 1]
    width = lambda P: abs(P[up[0], 0] - P[up[-1], 0])
    J = pose(jawOpen=1)
    still = (P0[:, 1] > 10) | ((np.abs(P0[:, 0]) < 12) & (P0[:, 1] > -20)) | ((np.abs(P0[:, 0]) > 70) & (P0[:, 1] > -50))
    still[3931:] = True
    U, L = np.array(meta["upper_lip"]), np.array(meta["lower_lip"])
    U, L = U[np.abs(P0[U, 0]) < 4], L[np.abs(P0[L, 0]) < 4]
    C = pose(jawOpen=1, mouthClose=1)
    seal = np.linalg.norm(C[U][:, None] - C[L][None], axis=2).min()
    out = {"jawOpen gap +mm": gap(J) - gap(P0),
           "jawOpen max still-region motion mm": np.linalg.norm(J - P0, axis=1)[still].max(),
           "jawOpen+mouthClose lip gap mm": seal}
    for name in ("mouthFunnel", "mouthPucker"):
        P = pose(**{name: 1})
        out[f"{name} width ratio / forward mm"] = (width(P) / width(P0), (P[np.r_[up, lo], 2] - P0[np.r_[up, lo], 2]).mean())
    corner = up[0] if P0[up[0], 0] > 0 else up[-1]
    P = pose(mouthSmile_L=1)
    out["mouthSmile_L corner up / out mm"] = (P[corner, 1] - P0[corner, 1], P[corner, 0] - P0[corner, 0])
    out["mouthStretch_L width ratio"] = width(pose(mouthStretch_L=1)) / width(P0)
    P = pose(mouthRollLower=1)
    out["mouthRollLower midline up / back mm"] = (P[mid(lo[1:-1]), 1] - P0[mid(lo[1:-1]), 1], P0[mid(lo[1:-1]), 2] - P[mid(lo[1:-1]), 2])
    gaps = []
    for k, side in enumerate("LR"):
        P = pose(**{f"eyeBlink_{side}": 1})
        u, l = np.array(meta["lid_upper"][k]), np.array(meta["lid_lower"][k])
        l = l[np.argsort(P0[l, 0])]
        c = u[np.argsort(np.abs(P0[u, 0] - P0[u, 0].mean()))[:3]]
        A, B = P[l[:-1]], P[l[1:]]
        t = np.clip(np.einsum("mij,ij->mi", P[c][:, None] - A[None], B - A) / ((B - A) ** 2).sum(1), 0, 1)
        gaps.append(np.linalg.norm(P[c][:, None] - (A[None] + t[..., None] * (B - A)[None]), axis=2).min(1).max())
    out["eyeBlink lid gap L / R mm"] = tuple(gaps)
    neck = np.array(meta["neck_loop"])
    out["max neck-loop motion, any shape, mm"] = np.abs(rig.basis[:, neck]).max() / unit
    e = np.unique(np.sort(np.r_[faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], 1), axis=0)
    length = np.maximum(np.linalg.norm(rig.neutral[e[:, 0]] - rig.neutral[e[:, 1]], axis=1), 2 * unit)
    fields = np.concatenate([rig.basis, rig.correctives])
    out["max edge strain: offset change per edge length (edges < 2 mm count as 2 mm)"] = max(
        (np.linalg.norm(f[e[:, 0]] - f[e[:, 1]], axis=1) / length).max() for f in fields)
    return out


def _fmt(value):
    if isinstance(value, tuple):
        return " / ".join(f"{v:.2f}" for v in value)
    return f"{value:.2f}"


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
    lines += ["", "## Acceptance metrics (canonical mm of each head; tests/test_rig.py asserts them on 4 variants per head)", "",
              "| metric | flame_template | flame_registered |", "|---|---|---|"]
    metrics = [quality(build_rig(*load_mesh(flame / f"{n}.ply")), load_mesh(flame / f"{n}.ply")[1])
               for n in ("flame_template", "flame_registered")]
    for key in metrics[0]:
        lines.append(f"| {key} | {_fmt(metrics[0][key])} | {_fmt(metrics[1][key])} |")
    lines += ["", f"Load average after: {os.getloadavg()[0]:.1f}. Targets (issue 2): build < 1 s per head, "
              "decode > 20,000 frames/s for 5023 vertices."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
