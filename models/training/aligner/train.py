"""Train the aligner's phone model on synthetic speech with exact timings (CPU, one thread, time-bounded).

    python -m models.training.aligner.train --data /work/aligner/synth/train --out /work/aligner/phonenet.pt \
        --minutes 14 [--multi /work/corpus/multi] [--threads 1]

Frame-wise cross-entropy, not CTC: the synthesiser gives every frame's phone exactly, and a
frame-wise classifier learns where one phone stops and the next begins (its posteriors cross at
the boundary), which is what forced alignment needs; CTC learns to fire one spike per phone
anywhere inside it, and the blank absorbs the rest, so its boundaries are loose (tens of ms)
unless trained further with alignment-aware losses. The Viterbi search in align.py then turns
frame posteriors plus the transcript's phone order into boundaries.

Augmentation (per crop): level, additive noise, spectral tilt, short synthetic reverberation and
band limiting, so real recordings (compressed game dialogue, microphones) are not far from training.
Resumable: a checkpoint ``<out>.ckpt`` (model, optimiser, elapsed seconds) is written every minute;
rerunning the command continues where it stopped, and the learning-rate schedule runs on elapsed
training time so a resumed run ends where an uninterrupted one would. The budget is CPU time of
this process (``time.process_time``), so a busy machine does not shorten training.
"""
import argparse
import glob
import os
import sys
import time

import numpy as np
import torch
from scipy.signal import fftconvolve
from torch import nn

from . import data as adata
from . import ipa
from .model import HOP, PhoneNet, frame_labels, n_frames, save

MIN_FRAMES = 300          # a phone key needs 3 s of training frames to be its own class
CROP = 400                # frames per training crop (4 s)


def load_corpus(data_dirs, multi=None, multi_max=3000, log=print):
    """-> list of (int16 audio, phones [(s, e, ipa)], lang)."""
    utts = []
    for d in data_dirs:
        for path in sorted(glob.glob(os.path.join(d, "*.npz"))):
            for u in adata.load_pack(path):
                utts.append(((u["audio"] * 32768).astype(np.int16), u["phones"], u["lang"]))
    if multi and os.path.isdir(multi):
        files = sorted(glob.glob(os.path.join(multi, "**", "*.npz"), recursive=True))[:multi_max]
        n = 0
        for path in files:
            try:
                with np.load(path, allow_pickle=False) as z:
                    if "ipa" not in z.files or str(z["voice"]) in held_out_multi(multi):
                        continue
                    a = z["audio"]
                    ph = [(float(s), float(e), str(p) if str(lab) != "sil" else "")
                          for (s, e, lab), p in zip(z["phones"], z["ipa"])]
                    utts.append(((np.clip(a, -1, 1) * 32767).astype(np.int16), ph, str(z["lang"])))
                    n += 1
            except Exception as e:   # noqa: BLE001 - a shard being written by another process
                log(f"[aligner-train] skip {path}: {e}")
        log(f"[aligner-train] {n} shards from {multi}")
    return utts


def held_out_multi(multi):
    import json
    p = os.path.join(multi, "manifest.json")
    if not os.path.exists(p):
        return set()
    with open(p) as f:
        return set(json.load(f).get("held_out_voices", []))


def build_inventory(utts):
    counts = {}
    for a, phones, _ in utts:
        for s, e, p in phones:
            k = ipa.normalise(p) if p else ipa.SIL
            counts[k] = counts.get(k, 0) + (e - s) * 100
    inv = sorted(k for k, c in counts.items() if c >= MIN_FRAMES and (k == ipa.SIL or ipa.features(k) is not None))
    if ipa.SIL not in inv:
        inv.append(ipa.SIL)
    index = {k: i for i, k in enumerate(inv)}
    for k in counts:                         # rare phones train their nearest class
        if k not in index and ipa.features(k) is not None:
            index[k] = index[ipa.nearest(k, [x for x in inv if x != ipa.SIL])]
    return inv, index


def augment(x, rng):
    x = x.astype(np.float64)
    if rng.random() < 0.5:                                  # spectral tilt (first-order filter)
        a = rng.uniform(-0.6, 0.9)
        x = np.concatenate([x[:1], x[1:] - a * x[:-1]])
    if rng.random() < 0.25:                                 # short reverberation
        rt = rng.uniform(0.08, 0.4)
        n = int(rt * 16000)
        ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n) * rng.uniform(0.05, 0.3)
        ir[0] = 1.0
        x = fftconvolve(x, ir)[:x.shape[0]]
    if rng.random() < 0.2:                                  # band limit (telephone-ish to 6 kHz)
        f = np.fft.rfft(x)
        f[int(f.shape[0] * rng.uniform(0.4, 0.8)):] = 0
        x = np.fft.irfft(f, n=x.shape[0])
    peak = np.abs(x).max() + 1e-9
    x = x / peak * 10 ** (rng.uniform(-30, -1) / 20)
    if rng.random() < 0.5:                                  # additive noise
        snr = rng.uniform(12, 45)
        p = np.mean(x ** 2) + 1e-12
        x = x + rng.standard_normal(x.shape[0]) * np.sqrt(p / 10 ** (snr / 10))
    return x.astype(np.float32)


def make_batch(utts, labels, rng, batch):
    xs, ys = [], []
    for _ in range(batch):
        k = int(rng.integers(len(utts)))
        a, lab = utts[k][0], labels[k]
        t0 = int(rng.integers(max(1, lab.shape[0] - CROP)))
        t1 = min(lab.shape[0], t0 + CROP)
        x = a[t0 * HOP:(t1 - 1) * HOP].astype(np.float32) / 32768.0
        y = lab[t0:t0 + n_frames(x.shape[0])]
        xs.append(augment(x, rng))
        ys.append(y)
    n = max(x.shape[0] for x in xs)
    X = np.zeros((batch, n), np.float32)
    Y = np.full((batch, n_frames(n)), -100, np.int64)
    for i, (x, y) in enumerate(zip(xs, ys)):
        X[i, :x.shape[0]] = x
        Y[i, :y.shape[0]] = y
    return torch.from_numpy(X), torch.from_numpy(Y)


def train(args, log=print):
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    utts = load_corpus(args.data, args.multi, log=log)
    inv, index = build_inventory(utts)
    ck_path = args.out + ".ckpt"
    state = torch.load(ck_path, weights_only=False) if os.path.exists(ck_path) else None
    if state is not None:
        inv = state["inventory"]
        index = dict(state["index"])
    labels = [frame_labels(ph, n_frames(a.shape[0]), index) for a, ph, _ in utts]
    flat = np.concatenate(labels)
    counts = np.bincount(flat[flat >= 0], minlength=len(inv)).astype(np.float64)
    hours = sum(a.shape[0] for a, _, _ in utts) / 16000 / 3600
    log(f"[aligner-train] {len(utts)} utterances, {hours:.2f} h, {len(set(u[2] for u in utts))} languages, "
        f"{len(inv)} classes")
    model = PhoneNet(inv)
    model.log_prior.copy_(torch.from_numpy(np.log((counts + 1) / (counts + 1).sum())).float())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    elapsed, step = 0.0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        elapsed, step = state["elapsed"], state["step"]
        log(f"[aligner-train] resumed at step {step}, {elapsed / 60:.1f} min")
    budget = args.minutes * 60
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.02)
    last_ck, run_t0, ema = time.time(), time.process_time() - elapsed, None
    while elapsed < budget:
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 150) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        X, Y = make_batch(utts, labels, rng, args.batch)
        logits = model(X)
        T = min(logits.shape[2], Y.shape[1])
        loss = loss_fn(logits[:, :, :T], Y[:, :T])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        elapsed = time.process_time() - run_t0
        if step % 50 == 0:
            log(f"[aligner-train] step {step} {elapsed / 60:.1f} min loss {ema:.3f} lr {lr:.2e}", flush=True)
        if time.time() - last_ck > 60 or elapsed >= budget:
            tmp = ck_path + ".tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "elapsed": elapsed, "step": step,
                        "inventory": inv, "index": index}, tmp)
            os.replace(tmp, ck_path)
            last_ck = time.time()
    save(args.out, model, extra={"steps": step, "minutes": elapsed / 60, "hours": hours,
                                 "languages": sorted(set(u[2] for u in utts)), "index": index})
    log(f"[aligner-train] saved {args.out} after {step} steps")
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.aligner.train", description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", required=True, help="folder of packs (data.py); repeatable")
    ap.add_argument("--multi", default=None, help="folder of multilingual corpus shards with 'ipa' (optional)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=14.0)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    train(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
