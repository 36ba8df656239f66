"""Workbench stills of a real-speech shard's /p/, /uw/ and /aa/ on a FLAME head: Parley beside its teacher.

    python scripts/real_frames.py --shard /work/corpus/real_en/pm_LJ001-0142.npz \
        --head ../shared/flame/flame_template.ply --out /work/notes/frames_i [--model models/parley.onnx]

For each phone the frame is the one inside the phone's interval (one frame of slack) where the
teacher's own gesture peaks (as ``preview_frames.py`` picks them: /p/ mouthClose + mouthPress, /uw/
mouthFunnel + mouthPucker, /aa/ jawOpen); Parley (audio only, neutral style) and the teacher (aligned
phones, neutral style) are shown at that frame, front and three-quarter, with the lip opening and
mouth width that ``models.training.evaluate_real`` measures. Writes ``<phone>.png`` per phone, a
``sheet.png`` of all three and ``frames.json``. Runs with the ``bpy`` module; never commit FLAME renders.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import bpy  # noqa: E402

from contact_sheet import add_head, add_label, canonical, render  # noqa: E402
from inference.arkit import RIG_NAMES  # noqa: E402
from inference.meshio import load_mesh  # noqa: E402
from inference.rig import build_rig  # noqa: E402

PICK = {"P": ("mouthClose", "mouthPress_L", "mouthPress_R"), "UW": ("mouthFunnel", "mouthPucker"),
        "AA": ("jawOpen",)}
BILABIAL = ("P", "B", "M")      # the closure frame: /p/, or /b/ or /m/ where a shard has no /p/
MOUTH_BOX = ((-45.0, 45.0), (-105.0, -30.0))      # canonical mm: the mouth and chin
CELL_PX = 360


def pick(phones, teacher, fps=50):
    """{phone: (frame, (start, end, label))} where the teacher's gesture for that phone peaks."""
    out = {}
    stressed = any(lab[-1:] in "012" for _, _, lab in phones)   # ARPAbet with stress (English shards)
    for label, names in PICK.items():
        cols = [RIG_NAMES.index(n) for n in names]
        best = None
        for s, e, lab in phones:
            base = lab.rstrip("012")
            if (base not in BILABIAL if label == "P" else base != label) or (
                    stressed and label != "P" and lab[-1:] not in "12"):
                continue
            for f in range(max(0, int(np.floor(s * fps)) - 1), min(len(teacher), int(np.ceil(e * fps)) + 2)):
                score = float(teacher[f, cols].sum())
                if best is None or score > best[0]:
                    best = (score, f, (s, e, lab))
        if best is None:
            raise SystemExit(f"the shard has no {'' if label == 'P' else 'stressed '}/{label.lower()}/")
        out[label] = (best[1], best[2])
    return out


def sheet(cells, faces, path, titles):
    """Render cells [(label, canonical mm vertices)] in a row, front over three-quarter."""
    (x0, x1), (y0, y1) = MOUTH_BOX
    cell = 1.15 * max(x1 - x0, y1 - y0)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    images = []
    with tempfile.TemporaryDirectory() as tmp:
        for view, yaw in (("front", 0.0), ("three_quarter", math.radians(-40))):
            bpy.ops.wm.read_factory_settings(use_empty=True)
            for i, (label, pts) in enumerate(cells):
                p = pts.copy()
                p[:, :2] -= centre
                add_head(label, p, faces, (i * cell, 0.0, 0.0), yaw)
                if view == "front":
                    add_label(titles[i], (i * cell, -150.0, -0.42 * cell), 0.05 * cell)
            w, h = len(cells) * CELL_PX, CELL_PX
            out = os.path.join(tmp, view + ".png")
            render(out, w, h, len(cells) * cell, ((len(cells) - 1) * cell / 2, 0.0))
            images.append(np.array(bpy.data.images.load(out).pixels[:], np.float32).reshape(h, w, 4))
    img = np.concatenate([images[1], images[0]], 0)
    out = bpy.data.images.new("sheet", img.shape[1], img.shape[0], alpha=True)
    out.pixels.foreach_set(img.ravel())
    out.filepath_raw = os.path.abspath(path)
    out.file_format = "PNG"
    out.save()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shard", required=True)
    ap.add_argument("--head", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "parley.onnx"))
    a = ap.parse_args(argv)
    from inference.model import load_model
    from models.training.corpus import load_shard
    from models.training.evaluate_real import LipProbe, run_systems
    d = load_shard(a.shard)
    curves = run_systems(d, load_model(a.model, device="cpu", threads=1), None)
    picks = pick(d["phones"], curves["teacher"])
    v, f = load_mesh(a.head)
    rig = build_rig(v, f)
    probe = LipProbe(a.head)
    neutral = canonical(rig.neutral.astype(np.float64), rig.meta)
    (x0, x1), (y0, y1) = MOUTH_BOX
    keep = (neutral[:, 0] > x0 - 30) & (neutral[:, 0] < x1 + 30) & (neutral[:, 1] > y0 - 30) \
        & (neutral[:, 1] < y1 + 30) & (neutral[:, 2] > -20.0)
    faces = f[keep[f].all(1)]
    os.makedirs(a.out, exist_ok=True)
    report, all_cells, all_titles = {"shard": a.shard, "text": d["text"], "frames": {}}, [], []
    for label, (frame, phone) in picks.items():
        cells, titles = [], []
        for system in ("parley", "teacher"):
            c = curves[system][frame:frame + 1]
            opening, width = probe.measure(c)
            cells.append((f"{system}_{label}", canonical(rig.decode(c)[0].astype(np.float64), rig.meta)))
            titles.append(f"/{label.lower()}/ {system} {opening[0]:.1f} mm")
            report["frames"].setdefault(label, {"frame": frame, "time_s": frame / 50, "phone": phone})[system] = {
                "opening_mm": float(opening[0]), "width_mm": float(width[0]),
                "curves": {n: round(float(c[0, i]), 3) for i, n in enumerate(RIG_NAMES)
                           if n.startswith(("jaw", "mouth")) and c[0, i] > 0.02}}
        sheet(cells, faces, os.path.join(a.out, f"{label.lower()}.png"), titles)
        all_cells += cells
        all_titles += titles
    sheet(all_cells, faces, os.path.join(a.out, "sheet.png"), all_titles)
    with open(os.path.join(a.out, "frames.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    print(json.dumps({k: {s: round(v[s]["opening_mm"], 1) for s in ("parley", "teacher")}
                      for k, v in report["frames"].items()}))


if __name__ == "__main__":
    main()
