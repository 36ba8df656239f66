"""Evaluate the motion model against the teacher and two baselines on held-out voices.

    python -m models.training.evaluate --model models/parley.onnx --corpus ../corpus/full \
        --max-utts 40 --out models/

Systems, side by side in one run, on the corpus shards of ``corpus.HELD_OUT_VOICES`` (never
trained on): the model; the audio-envelope jaw flap; the teacher on pocketsphinx phone-loop
recognition without a transcript (Rhubarb-like); the teacher on the true phonemes (ceiling).
Audio conditions: clean, and degraded with ``augment``'s noise (10 dB SNR), reverberation and
telephone band, each with a fixed seed per utterance. The reference is the shard's teacher curves.
Metric definitions: ``metrics.py``. Writes ``EVAL_REPORT.md`` and ``eval_*.png`` into ``--out``.

In three parts: ``evaluate_compute`` (curves and pooled metrics), ``evaluate_judge`` (targets, PASS/FAIL)
and ``evaluate_render`` (the report and plots); ``evaluate()`` runs them and returns an ``Evaluation``.
"""
import argparse
import glob
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import metrics as M
from .evaluate_compute import (CONDITIONS, NAMES, Acc, ModelSystem, baseline_key, degrade, held_out_shards, load,
                               phone_frame_accuracy, run_systems, style_checks)
from .evaluate_judge import style_verdicts, target_rows
from .evaluate_render import plot_metrics, plot_sweeps, plot_utterance, write_report


@dataclass
class Evaluation:
    """What one run measured, decided and wrote."""
    lip_sync: dict              # (system, condition) -> pooled metrics (Acc.result)
    diversity: dict             # system -> seed spread and rate ranges (style_checks)
    sweeps: dict                # slider row -> {"values", "teacher"[, "model"]}
    info: dict                  # the run's facts the report states (corpus, voices, command, phone accuracy, ...)
    targets: list               # [(check, value, ok)] lip-sync checks (empty without a model)
    style: list                 # [(check, value, ok)] style checks (empty without a model)
    report: str                 # path of EVAL_REPORT.md
    plots: list = field(default_factory=list)   # [(path, caption)]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def git_commit():
    import subprocess
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)), timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def default_corpus():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "corpus")
    for name in ("full", "v0"):
        p = os.path.normpath(os.path.join(root, name))
        if glob.glob(os.path.join(p, "*.npz")):
            return p
    return os.path.normpath(os.path.join(root, "full"))


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/parley.onnx", help="ONNX model ('none' = baselines only)")
    ap.add_argument("--corpus", default=None, help="folder of corpus shards (default ../corpus/full or v0)")
    ap.add_argument("--max-utts", type=int, default=40)
    ap.add_argument("--out", default="models/")
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--style-utts", type=int, default=4, help="utterances for the seed/slider checks")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cache", default=None,
                    help="folder to keep the baselines' curves in (they do not depend on the model)")
    ap.add_argument("--blink-utts", type=int, default=20,
                    help="utterances (x 10 seeds) for the random-process sliders (blinks, brows)")
    ap.add_argument("--seed", type=int, default=0, help="seed for the degradations and takes")
    return ap.parse_args(argv)


def measure_lip_sync(args, model, paths, utts, conditions, t0):
    """-> (pooled metrics per (system, condition), phone accuracy per condition, the first utterance's clean
    curves per system)."""
    fps = utts[0]["fps"]
    max_lag = max(1, int(round(0.25 * fps)))
    accs, phone_acc, example = {}, {}, {}
    ref_tokens = M.merge_openness([M.vowel_openness(d["curves"], NAMES, fps, d["phones"]) for d in utts])
    for i, d in enumerate(utts):
        cache = {}
        for cond in conditions:
            pcm = degrade(d["audio"], d["sr"], cond, [args.seed, i, CONDITIONS.index(cond)])
            cfile = (os.path.join(args.cache, baseline_key(paths[i], cond, args.seed)) if args.cache else None)
            out, rec = run_systems(model, d, pcm, fps, args.seed, cache, cfile)
            phone_acc.setdefault(cond, []).append(phone_frame_accuracy(d["phones"], rec, fps, d["curves"].shape[0]))
            for s, c in out.items():
                accs.setdefault((s, cond), Acc(max_lag)).add(c, d, max_lag)
            if i == 0 and cond == "clean":
                example = dict(out, reference=d["curves"])
        print(f"[evaluate] {i + 1}/{len(utts)} {d['voice']} ({time.time() - t0:.0f} s)", flush=True)
    res = {k: a.result(ref_tokens) for k, a in accs.items()}
    return res, {c: float(np.mean(v)) for c, v in phone_acc.items()}, example


def draw_plots(out, utts, example, res, conditions, sweeps):
    """-> [(path, caption)] of the plots written into ``out``."""
    plots = []
    p = os.path.join(out, "eval_utterance.png")
    plot_utterance(p, utts[0], example, utts[0]["fps"])
    plots.append((p, "one held-out utterance: jawOpen and mouthClose for every system"))
    p = os.path.join(out, "eval_metrics.png")
    plot_metrics(p, res, conditions)
    plots.append((p, "lip metrics per system and audio condition (dotted: target)"))
    if sweeps:
        p = os.path.join(out, "eval_sliders.png")
        plot_sweeps(p, sweeps)
        plots.append((p, "slider sweeps: the quantity each slider names, teacher vs model"))
    return plots


def run_info(args, model, corpus, utts, conditions, phone_acc, t0):
    voices = {}
    for d in utts:
        voices[d["voice"]] = voices.get(d["voice"], 0) + 1
    cmd = ["python -m models.training.evaluate", f"--model {args.model}", f"--corpus {corpus}",
           f"--max-utts {args.max_utts}", f"--out {args.out}"]
    if args.conditions != ",".join(CONDITIONS):
        cmd.append(f"--conditions {args.conditions}")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "elapsed": time.time() - t0,
        "command": " ".join(cmd), "model": args.model,
        "version": model.version if model else "none (baselines only)",
        "sha": sha256(args.model) if model else "-", "corpus": corpus, "voices": voices,
        "n_utts": len(utts), "minutes": sum(d["audio"].size / d["sr"] for d in utts) / 60.0, "fps": utts[0]["fps"],
        "conditions": conditions, "phone_acc": phone_acc,
        "commit": git_commit(), "seeds": args.seeds, "style_utts": min(args.style_utts, len(utts)),
        "blink_utts": min(args.blink_utts, len(utts)),
    }


def evaluate(argv=None):
    """Run the evaluation the command line describes; -> the Evaluation it wrote into --out."""
    args = parse_args(argv)
    t0 = time.time()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    corpus = args.corpus or default_corpus()
    conditions = [c for c in args.conditions.split(",") if c]
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
    model = None if args.model.lower() == "none" else ModelSystem(args.model)
    paths = held_out_shards(corpus, args.max_utts)
    utts = [load(p) for p in paths]
    res, phone_acc, example = measure_lip_sync(args, model, paths, utts, conditions, t0)
    div, sweeps = (style_checks(model, utts[:args.style_utts], utts[0]["fps"], seeds=args.seeds,
                                many_utts=utts[:args.blink_utts])
                   if args.style_utts else ({}, {}))
    print(f"[evaluate] style checks done ({time.time() - t0:.0f} s)", flush=True)
    os.makedirs(args.out, exist_ok=True)
    plots = draw_plots(args.out, utts, example, res, conditions, sweeps)
    info = run_info(args, model, corpus, utts, conditions, phone_acc, t0)
    report = os.path.join(args.out, "EVAL_REPORT.md")
    write_report(report, res, div, sweeps, info, plots)
    print(f"[evaluate] wrote {report} ({time.time() - t0:.0f} s)")
    targets = target_rows(res)
    for name, val, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {val}")
    return Evaluation(lip_sync=res, diversity=div, sweeps=sweeps, info=info, targets=targets,
                      style=style_verdicts(div, sweeps), report=report, plots=plots)


def main(argv=None):
    """The command line: -> exit code 0 (evaluate() returns the results)."""
    evaluate(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
