"""How late each corpus folder's labels run against its audio, measured with a trained model.

    python -m models.training.label_delay --model models/parley.onnx --reference ../corpus/full \
        --corpus ../corpus/real_en --corpus ../corpus/real_cs --corpus ../corpus/real_nl --corpus ../corpus/real_xx

TTS shards carry the engines' exact phone timings; force-aligned real speech carries an aligner's, and an
aligner can place every boundary a little late or early. A model trained mostly on exact timings hears
where a gesture happens, so on each folder's *training* shards (held-out voices and dev speakers are
skipped) its lag against the labels, at timing 0 of the style axis (the intercept of lag on the shard's
timing value), minus the same on the exact-timing reference folder, is the folder's label delay: positive
when the labels are late. ``train --label-delay FOLDER=MS`` then reads that folder's audio MS earlier.
"""
import argparse
import glob
import os

import numpy as np

from . import metrics as M
from .dataset import held_out_voices
from .evaluate_compute import NAMES, ModelSystem, load


def folder_lag(model, folder, n, seed=0):
    """-> (lag in ms at timing 0, its standard error, shards used) of the model against the folder's labels."""
    held = held_out_voices()
    files = sorted(glob.glob(os.path.join(folder, "*.npz")))
    rows = []
    for k in np.random.default_rng(seed).permutation(len(files)):
        if len(rows) >= n:
            break
        with np.load(files[k]) as z:
            if str(z["voice"]) in held or ("split" in z and str(z["split"]) != "train"):
                continue
            names = [str(x) for x in z["style_names"]]
            timing = float(z["style"][names.index("timing")])
        d = load(files[k])
        pred = np.asarray(model(d["audio"], d["sr"], d["fps"], d["style_dict"], 0), np.float64)
        ref = np.asarray(d["curves"], np.float64)
        T = min(len(pred), len(ref))
        lag = M.lag_from_xcorr(M.lip_xcorr(pred[:T], ref[:T], NAMES, 12), 50.0)
        if np.isfinite(lag):
            rows.append((timing, lag))
    if len(rows) < 3:
        raise SystemExit(f"{folder}: fewer than 3 usable training shards; pass a corpus folder of .npz shards")
    r = np.array(rows)
    X = np.c_[np.ones(len(r)), r[:, 0]]
    coef, res, *_ = np.linalg.lstsq(X, r[:, 1], rcond=None)
    resid = r[:, 1] - X @ coef
    cov = np.linalg.inv(X.T @ X) * (resid @ resid) / max(1, len(r) - 2)
    return float(coef[0]), float(np.sqrt(cov[0, 0])), len(r)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--reference", required=True, help="a folder with exact (engine) timings")
    ap.add_argument("--corpus", action="append", required=True, help="a folder to measure (repeatable)")
    ap.add_argument("--shards", type=int, default=60, help="training shards drawn per folder")
    args = ap.parse_args(argv)
    model = ModelSystem(args.model)
    ref, ref_se, ref_n = folder_lag(model, args.reference, args.shards)
    print(f"model {args.model}; lag at timing 0 on the reference {args.reference}: {ref:+.1f} ms "
          f"(+-{ref_se:.1f}, {ref_n} shards)\n")
    print("| folder | shards | model lag at timing 0 | label delay (late > 0) |")
    print("|---|---:|---:|---:|")
    for folder in args.corpus:
        lag, se, n = folder_lag(model, folder, args.shards)
        print(f"| {folder} | {n} | {lag:+.1f} ms (+-{se:.1f}) | {ref - lag:+.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
