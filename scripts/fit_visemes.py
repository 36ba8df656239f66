"""Fit the ARKit -> viseme table (inference/visemes.json) on the shipped MakeHuman character; write its report.

    python scripts/fit_visemes.py [--table inference/visemes.json] [--report docs/visemes_fit.md]

MakeHuman's head carries the 52 ARKit shapes and the 15 Oculus visemes on one mesh. For each viseme,
the non-negative mix (weights in [0, 1]) of the 28 mouth ARKit shapes whose summed deltas come
nearest to the viseme's own deltas, over the mouth's vertices (head + teeth, every vertex that any of
them moves by more than 0.5 mm), is its recipe; R^2 and the RMS residual say how well the mix
reproduces the viseme. The metric is those shapes' Gram matrix over the same vertices. See
inference/visemes.py for how the table maps curves to visemes.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import lsq_linear

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from inference.arkit import RIG_NAMES, canonical_name  # noqa: E402
from inference.character import load_demo_character  # noqa: E402
from inference.visemes import VISEMES, VisemeTable  # noqa: E402

MOUTH_CURVES = tuple(n for n in RIG_NAMES if n.startswith(("jaw", "mouth", "cheekPuff")))
MOVED_M = 5e-4
RECIPE_FLOOR = 0.02  # recipe weights below this are dropped (they move the mouth by < 0.3 mm)
# What the geometry cannot show: MakeHuman's neutral mouth is already closed, so a bilabial closure
# the ARKit way (lips pressed, mouthClose = jawOpen) barely differs from the neutral face, and its
# viseme_PP closes by rolling the lips in. Parley's curves say /p b m/ with mouthPress (its teacher's
# closure gesture), so PP's recipe also carries the press (the larger of fit and this, per curve).
ARTICULATION = {"viseme_PP": {"mouthPress_L": 0.5, "mouthPress_R": 0.5}}


def fields(character):
    meshes = [character.mesh("head"), character.mesh("teeth")]
    spelled = {canonical_name(s): s for s in character.shape_names if canonical_name(s)}

    def stacked(shape):
        return np.concatenate([m.deltas.get(shape, np.zeros_like(m.vertices)).ravel() for m in meshes]).astype(float)
    arkit = np.stack([stacked(spelled[n]) for n in MOUTH_CURVES], 1)
    visemes = np.stack([stacked(v) for v in VISEMES[1:]], 1)
    rows = np.abs(np.concatenate([arkit, visemes], 1)).reshape(-1, 3, arkit.shape[1] + visemes.shape[1])
    mouth = np.repeat(np.linalg.norm(rows, axis=1).max(axis=1) > MOVED_M, 3)
    return arkit[mouth], visemes[mouth], int(mouth.sum() // 3)


def fit(arkit, visemes):
    recipes, quality = {}, {}
    for j, viseme in enumerate(VISEMES[1:]):
        weights = lsq_linear(arkit, visemes[:, j], bounds=(0.0, 1.0), method="bvls").x
        weights[weights < RECIPE_FLOOR] = 0.0
        residual = arkit @ weights - visemes[:, j]
        r2 = 1.0 - residual @ residual / (visemes[:, j] @ visemes[:, j])
        rms_mm = 1000 * np.sqrt(3 * np.mean(residual ** 2))
        peak_mm = 1000 * np.abs(visemes[:, j]).reshape(-1, 3).max()
        recipe = {c: float(w) for c, w in zip(MOUTH_CURVES, weights) if w > 0}
        for curve, weight in ARTICULATION.get(viseme, {}).items():
            recipe[curve] = max(recipe.get(curve, 0.0), weight)
        recipes[viseme] = {c: round(w, 3) for c, w in recipe.items()}
        quality[viseme] = {"r2": round(float(r2), 3), "rms_mm": round(float(rms_mm), 2),
                           "peak_mm": round(float(peak_mm), 1)}
    return recipes, quality


def round_trip(table):
    """Each viseme's recipe fed back as curves: the weight the table gives that viseme, and the top one."""
    rows = []
    for viseme in table.visemes:
        curves = np.array([[table.recipes[viseme].get(c, 0.0) for c in table.curves]])
        weights = table.weights(curves, table.curves)[0]
        rows.append((viseme, float(weights[VISEMES.index(viseme)]), VISEMES[int(weights.argmax())]))
    return rows


def on_demo_speech(table):
    """{phone: [top viseme at the middle frame of each occurrence]} for assets/demo.wav through the model."""
    from inference.animate import animate
    from inference.audio import MODEL_RATE, load_audio
    from inference.model import load_model
    curves = animate(load_model(None), load_audio(REPO / "assets" / "demo.wav"), MODEL_RATE, 30.0, seed=0)
    weights = table.weights(curves.values, curves.names)
    tops = {}
    for start, end, phone in json.loads((REPO / "assets" / "demo_phones.json").read_text())["phones"]:
        frame = min(int(round((start + end) / 2 * 30.0)), len(weights) - 1)
        if phone != "sil":
            tops.setdefault(phone.rstrip("012"), []).append(VISEMES[int(weights[frame].argmax())][7:])
    return tops


def report(recipes, quality, trips, n_vertices, command, tops):
    lines = ["# Viseme table: Parley's ARKit curves -> Oculus visemes", "",
             f"Command: `{command}` (writes `inference/visemes.json` and this file).", "",
             "Fitted on the shipped MakeHuman character (`assets/makehuman_head`), which carries the ARKit shapes "
             f"and the visemes on one mesh: over the {n_vertices} mouth vertices (head + teeth) that any of them "
             "moves by more than 0.5 mm, each viseme's deltas are approximated by a non-negative mix (weights in "
             "[0, 1]) of the 28 mouth ARKit shapes. R² is the share of the viseme's motion the mix reproduces; "
             "RMS is the residual per vertex; peak is the viseme's own largest vertex motion. Round trip: the "
             "recipe fed back in as curves, and the weight the mapping gives that viseme (1 = recovered fully).",
             "", "| viseme | R² | RMS mm | peak mm | recipe (ARKit curve × weight) | round trip |",
             "|---|---|---|---|---|---|"]
    trip = {v: (w, top) for v, w, top in trips}
    for viseme in VISEMES[1:]:
        q = quality[viseme]
        mix = ", ".join(f"{c} {w:.2f}" for c, w in sorted(recipes[viseme].items(), key=lambda kv: -kv[1]))
        w, top = trip[viseme]
        lines.append(f"| {viseme} | {q['r2']:.3f} | {q['rms_mm']:.2f} | {q['peak_mm']:.1f} | {mix} | "
                     f"{w:.2f}{'' if top == viseme else f' (top: {top})'} |")
    r2 = [quality[v]["r2"] for v in VISEMES[1:]]
    lines += ["", f"Median R² {np.median(r2):.3f}, lowest {min(r2):.3f} "
              f"({min(quality, key=lambda v: quality[v]['r2'])}). `viseme_sil` is the neutral face "
              "(its target is empty): the mapping gives it what the other visemes leave, 1 - sum.", "",
              "Articulation added to the fitted recipes (see `ARTICULATION` in the script for why): " +
              "; ".join(f"{v}: " + ", ".join(f"{c} {w}" for c, w in r.items()) for v, r in ARTICULATION.items()) +
              ". Round trip and the table below use the recipes as shipped.", "",
              "## On speech", "",
              "`assets/demo.wav` through the shipped model (30 fps, seed 0): the top viseme (of 15, silence "
              "included) at the middle frame of every phone, per phone.", "",
              "| phone | top viseme at each occurrence |", "|---|---|"]
    lines += [f"| {p} | {' '.join(v)} |" for p, v in sorted(tops.items())]
    lines += [""]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", default=str(REPO / "inference" / "visemes.json"))
    p.add_argument("--report", default=str(REPO / "docs" / "visemes_fit.md"))
    args = p.parse_args(argv)
    arkit, visemes, n_vertices = fields(load_demo_character())
    recipes, quality = fit(arkit, visemes)
    metric = arkit.T @ arkit
    metric = metric / np.trace(metric) * len(MOUTH_CURVES)  # unitless, mean diagonal 1
    table = {"about": "Parley ARKit curves -> Oculus visemes; see inference/visemes.py and docs/visemes.md",
             "curves": list(MOUTH_CURVES), "ridge": 1e-3, "recipes": recipes, "fit": quality,
             "metric": [[round(float(x), 5) for x in row] for row in metric]}
    Path(args.table).write_text(json.dumps(table, indent=1) + "\n")
    shipped = VisemeTable(MOUTH_CURVES, recipes, metric, 1e-3)
    command = "python scripts/fit_visemes.py"
    Path(args.report).write_text(report(recipes, quality, round_trip(shipped), n_vertices, command,
                                        on_demo_speech(shipped)))
    print(Path(args.report).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
