"""Train Parley's motion model on a teacher corpus; resumable, time-budgeted, CPU-only.

    python -m models.training.train --corpus /work/corpus/full --out runs/v6 --minutes 82 --threads 2

Every ``--ckpt-every`` seconds (default 180) ``runs/NAME/last.pt`` is rewritten; running the same
command again resumes from it (weights, EMA, optimiser, step, elapsed time, RNG). The learning
rate follows a warm-up + cosine schedule over the *time* budget, so a resumed run ends where an
uninterrupted one would. At the end the learned style prior (a Gaussian mixture over
[named axes, latent]) is fitted on the training shards and stored in ``runs/NAME/final.pt``;
``models.training.export`` turns that into ``models/parley.onnx``.

Losses (curves in [0,1], frames masked to the real clip):
  * L1 on every curve, lips/jaw/blinks weighted x2;
  * binary cross-entropy with the teacher's value as a soft target, on the logits (x1, same curve
    weights). L1 through a sigmoid alone drives curves that are zero most of the time (a lip tuck,
    a cheek squint, gaze) to logits of -20 where no gradient is left, and they never come back: the
    cross-entropy's gradient (p - target) does not vanish there (model 1.x lost 20 curves that way);
  * jitter statistic: |log(mean |second difference| of the lip curves)| against the teacher's, per
    crop (x0.1), so the motion is as crisp as the teacher's rather than the regression's blur;
  * auxiliary phone classification from the trunk (cross-entropy over the 40 ARPAbet classes, x0.2;
    a training-only 1x1 conv head that is never exported): the trunk learns phonetic features, which
    the lip-critical gestures (/p b m/, /f v/, rounding) hinge on, also under noise;
  * velocity L1 (first differences, x4), so the motion is as crisp or smooth as the teacher's;
  * closure: extra L1 (x12, --closure-weight; normalised over all frames) on mouthClose / mouthPress /
    mouthRoll / jawOpen / lip raisers during /p b m/ frames of the shard's phone alignment, so bilabial
    closures are never averaged away; the same on the /f v/ tuck and /w uw ow/ rounding curves (x6,
    --gesture-weight);
  * lip gap (the evaluation's own quantity, metrics.lip_gap: jaw minus mouthClose plus the lip
    raisers): where the teacher's lips are shut in a /p b m/ frame, a hinge on the predicted gap above
    0.01 (x0.5, --gap-weight), normalised by those frames: the per-curve L1 terms alone left near-misses
    of 0.05-0.1 that read as a parted mouth. And an L1 on the gap on every frame (x1): the hinge alone
    (x1, tried first) bought its closures with lips that stuck together in vowels (15 % of vowel frames
    closed at 24 min, teacher 7 %);
  * tuck hinge (x0.5, --tuck-hinge-weight): where the teacher tucks the lower lip in an /f v/ frame
    (mouthRollLower >= 0.3, the metric's threshold), relu(0.35 - predicted roll), normalised by those
    frames: 3.0's missed tucks were nearly all never started (max roll < 0.1), worst in noise. And an
    L1 on mouthRollLower on every frame (x1, --roll-l1-weight): the hinge alone (tried first) rolled the
    lip in outside /f v/ wherever noise covered the audio (13.8 % of those frames in 10 dB noise at a
    mid-run check; teacher 0 %);
  * asymmetry (x4, --asym-weight): L1 on the left-minus-right difference of the paired curves (the
    plain L1 leaves the small L-R difference unlearned and the face mirror-symmetric);
  * brow activity (x0.2, --brow-weight): the upper head is run a second time with *prior* noise (what
    a user's take gets) and its summed brow standard deviation per crop matched to the teacher's in log
    space; through the posterior alone the head copies the amplitude out of the noise and ignores the
    upper_face axis. The per-crop *mean* of the upper-face curves under prior noise is matched to the
    teacher's too (x2, --upper-mean-weight; new in 3.1: 3.0's surprised slider lost its brows, whose
    level the head had read from the noise posterior);
  * style encoder: L1 on the named axes (normalised by range) + KL of the latent (beta 1e-2,
    free bits 0.25 nat per dimension);
  * temporal noise posterior (upper face): KL to N(0, 1) (beta 1e-2, free bits 0.1 nat per
    dimension and 200 ms step), so the noise carries blink/brow timing the audio cannot predict.
"""
import argparse
import copy
import json
import logging
import math
import os
import sys
import time

import numpy as np
import torch

from inference.arkit import RIG_NAMES

from .dataset import Augmenter, Corpus
from .network import (LOWER_NAMES, UPPER_NAMES, MotionNet, NetConfig, NoisePosterior, StyleEncoder,
                      n_frames, n_noise_steps)
from .phonemes import PHONES
from .style_axes import STYLE_AXES

log = logging.getLogger("parley.train")

LIP_WEIGHT = 2.0
BCE_WEIGHT = 1.0
JITTER_WEIGHT = 0.1
PHONE_WEIGHT = 0.2
ASYM_WEIGHT = 4.0  # --asym-weight: L1 on the left-minus-right difference of every _L/_R pair (+ mouthLeft/Right)
VEL_WEIGHT = 4.0
CLOSURE_WEIGHT = 12.0
GAP_WEIGHT = 0.5    # --gap-weight: hinge on the predicted lip gap where the teacher's lips are shut in /p b m/
GAP_L1_WEIGHT = 1.0  # L1 on the lip gap itself on every frame: the hinge alone bought closures with a mouth
                     # that stuck shut in vowels (2x the teacher's closed vowel frames at a mid-run check)
BROW_WEIGHT = 0.2   # --brow-weight: brow activity with prior noise against the teacher's, per crop
UPPER_MEAN_WEIGHT = 2.0  # --upper-mean-weight: per-crop mean of the upper-face curves with prior noise against the
                         # teacher's (new in 3.1: 3.0's surprised slider lost its brows to the noise posterior)
TUCK_HINGE_WEIGHT = 0.5  # --tuck-hinge-weight: hinge on mouthRollLower below TUCK_HINGE where the teacher tucks in /f v/
TUCK_TEACHER = 0.30  # teacher mouthRollLower at or above which an /f v/ frame counts as tucked (metrics.TUCK_MIN)
TUCK_HINGE = 0.35    # the prediction is pushed up to here there: a margin over the metric's threshold
ROLL_L1_WEIGHT = 1.0  # L1 on mouthRollLower on every frame: the hinge alone tucked the lip outside /f v/ (mid-run
                      # check: 3.5 % of other frames clean, 13.8 % in 10 dB noise; teacher 0 %, 3.0 0.6 % / 1.3 %)
GESTURE_WEIGHT = 6.0  # --gesture-weight: extra L1 on the tuck curves in /f v/ and rounding in /w uw ow/
TUCK_CURVES = ("mouthRollLower", "mouthRollUpper", "mouthUpperUp_L", "mouthUpperUp_R", "jawOpen")
ROUND_CURVES = ("mouthPucker", "mouthFunnel", "jawOpen")
STYLE_WEIGHT = 0.5
KL_STYLE = 1e-2
KL_NOISE = 1e-2
FREE_BITS_STYLE = 0.25  # nats per latent dimension that cost nothing (keeps the posteriors in use)
FREE_BITS_NOISE = 0.1   # nats per noise dimension and step
CLOSED_GAP = 0.02  # teacher lip gap (metrics.lip_gap units) below which a /p b m/ frame counts as shut
# the loss weights a command-line flag can set: --closure-weight sets CLOSURE_WEIGHT, and so on
WEIGHT_FLAGS = (
    ("CLOSURE_WEIGHT", "extra L1 on lips in /p b m/"),
    ("GESTURE_WEIGHT", "extra L1 on the tuck in /f v/ and the rounding in /w uw ow/"),
    ("ASYM_WEIGHT", "L1 on the left-minus-right difference of the paired curves"),
    ("GAP_WEIGHT", "hinge on the predicted lip gap where the teacher's lips are shut in /p b m/"),
    ("BROW_WEIGHT", "brow activity with prior noise against the teacher's"),
    ("UPPER_MEAN_WEIGHT", "per-crop mean of the upper-face curves with prior noise against the teacher's"),
    ("TUCK_HINGE_WEIGHT", "hinge on mouthRollLower where the teacher tucks the lower lip in /f v/"),
    ("ROLL_L1_WEIGHT", "L1 on mouthRollLower on every frame (the tuck hinge's counterweight)"),
)
CLOSURE_CURVES = ("mouthClose", "mouthPress_L", "mouthPress_R", "mouthRollLower", "mouthRollUpper", "jawOpen",
                  "mouthLowerDown_L", "mouthLowerDown_R", "mouthUpperUp_L", "mouthUpperUp_R")


def jitter_gap(pred, target, mask):
    """Mean over crops of |log(jitter(pred) / jitter(target))|, jitter = mean |second difference| of the
    curves [B,T,K] over the frames where mask [B,T] (and its two neighbours) is set: 0 when the prediction
    is exactly as crisp as the teacher, whatever it does frame by frame."""
    lm = (mask[:, 2:] * mask[:, 1:-1] * mask[:, :-2]).unsqueeze(-1)
    n = lm.sum(dim=(1, 2)).clamp(min=1.0) * pred.shape[2]
    j_p = (pred.diff(n=2, dim=1).abs() * lm).sum(dim=(1, 2)) / n
    j_t = (target.diff(n=2, dim=1).abs() * lm).sum(dim=(1, 2)) / n
    return (torch.log(j_p + 1e-4) - torch.log(j_t + 1e-4)).abs().mean()


def masked_mean(x, weight):
    """Sum of x * weight over the sum of weight (0 where nothing is weighted)."""
    return (x * weight).sum() / weight.sum().clamp(min=1.0)


def lip_gap_t(curves, idx):
    """metrics.lip_gap on a torch tensor [B,T,51] (idx: column of every curve it uses, by name)."""
    c = lambda n: curves[:, :, idx[n]]
    return (torch.relu(c("jawOpen") - c("mouthClose")) + 0.5 * (c("mouthLowerDown_L") + c("mouthLowerDown_R"))
            + 0.5 * (c("mouthUpperUp_L") + c("mouthUpperUp_R")))


def activity_gap(pred, target, mask):
    """Mean over crops of |log(activity(pred) / activity(target))|, activity = summed temporal standard
    deviation of the curves [B,T,K] over the frames where mask [B,T] is set (metrics.brow_activity per crop)."""
    m = mask.unsqueeze(-1)
    n = m.sum(dim=1).clamp(min=1.0)

    def act(x):
        mean = (x * m).sum(dim=1) / n
        return torch.sqrt(((x - mean.unsqueeze(1)).pow(2) * m).sum(dim=1) / n + 1e-8).sum(dim=1)
    return (torch.log(act(pred) + 1e-3) - torch.log(act(target) + 1e-3)).abs().mean()


class Trainer:
    def __init__(self, cfg, lr):
        self.cfg = cfg
        self.net = MotionNet(cfg)
        self.enc = StyleEncoder(cfg)
        self.post = NoisePosterior(cfg)
        self.phone_head = torch.nn.Conv1d(cfg.channels, len(PHONES), 1)  # training only, never exported
        params = [*self.net.parameters(), *self.enc.parameters(), *self.post.parameters(),
                  *self.phone_head.parameters()]
        self.opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4, betas=(0.9, 0.98))
        self.ema_net = copy.deepcopy(self.net).eval()
        self.ema_enc = copy.deepcopy(self.enc).eval()
        for p in [*self.ema_net.parameters(), *self.ema_enc.parameters()]:
            p.requires_grad_(False)
        w = torch.ones(len(RIG_NAMES))
        for k, n in enumerate(RIG_NAMES):
            if n.startswith(("mouth", "jaw", "eyeBlink")):
                w[k] = LIP_WEIGHT
        self.curve_w = w
        self.closure_w = torch.tensor([CLOSURE_WEIGHT if n in CLOSURE_CURVES else 0.0 for n in RIG_NAMES])
        # the same extra term for the other lip-critical gestures: the /f v/ tuck and /w uw ow/ rounding
        self.tuck_w = torch.tensor([GESTURE_WEIGHT if n in TUCK_CURVES else 0.0 for n in RIG_NAMES])
        self.round_w = torch.tensor([GESTURE_WEIGHT if n in ROUND_CURVES else 0.0 for n in RIG_NAMES])
        left = [n for n in RIG_NAMES if n.endswith("_L") and n[:-2] + "_R" in RIG_NAMES] + ["mouthLeft"]
        right = [n[:-2] + "_R" if n.endswith("_L") else "mouthRight" for n in left]
        self.left_idx = torch.tensor([RIG_NAMES.index(n) for n in left])
        self.right_idx = torch.tensor([RIG_NAMES.index(n) for n in right])
        self.upper_idx = torch.tensor([RIG_NAMES.index(n) for n in UPPER_NAMES])
        self.name_idx = {n: k for k, n in enumerate(RIG_NAMES)}
        self.brow_up = torch.tensor([k for k, n in enumerate(UPPER_NAMES) if n.startswith("brow")])  # in the upper head
        self.brow_idx = self.upper_idx[self.brow_up]  # the same curves in RIG_NAMES order
        self.lower_idx = torch.tensor([RIG_NAMES.index(n) for n in LOWER_NAMES])
        self.lo = torch.tensor([a.lo for a in STYLE_AXES])
        self.range = torch.tensor([a.hi - a.lo for a in STYLE_AXES])
        self.step = 0
        self.elapsed = 0.0

    def ema_update(self, decay):
        with torch.no_grad():
            for src, dst in ((self.net, self.ema_net), (self.enc, self.ema_enc)):
                for p, q in zip(src.parameters(), dst.parameters()):
                    q.mul_(decay).add_(p.detach(), alpha=1 - decay)

    def losses(self, batch, context, net=None, enc=None, sample=True):
        net = net or self.net
        enc = enc or self.enc
        audio = torch.from_numpy(batch["audio"])
        target = torch.from_numpy(batch["curves"])
        mask = torch.from_numpy(batch["mask"])
        bil = torch.from_numpy(batch["bilabial"]) * mask
        style_true = torch.from_numpy(batch["style"])
        B, L, K = target.shape
        named, mu_s, lv_s = enc(torch.from_numpy(batch["ref"]))
        z_s = mu_s + torch.randn_like(mu_s) * torch.exp(0.5 * lv_s) if sample else mu_s
        style = torch.cat([style_true, z_s], dim=1)
        T = n_frames(audio.shape[1])
        tn = n_noise_steps(T, self.cfg)
        step = self.cfg.noise_step
        mu_n, lv_n = self.post(target[:, :, self.upper_idx])
        z_n = mu_n + torch.randn_like(mu_n) * torch.exp(0.5 * lv_n) if sample else mu_n
        c0 = context // step
        noise = torch.randn(B, tn, self.cfg.noise_dim) if sample else torch.zeros(B, tn, self.cfg.noise_dim)
        noise = torch.cat([noise[:, :c0], z_n, noise[:, c0 + z_n.shape[1]:]], dim=1)[:, :tn]
        logits, trunk = net.logits(audio, style, noise)
        logits = logits[:, context:context + L]
        pred = torch.sigmoid(logits)
        m = mask.unsqueeze(-1)
        denom = m.sum() * K
        err = (pred - target).abs()
        l1 = (err * self.curve_w * m).sum() / denom
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        bce = (bce * self.curve_w * m).sum() / denom * BCE_WEIGHT
        phone = torch.from_numpy(batch["phone"])
        if (phone >= 0).any():  # cross-entropy over no labelled frame at all would be NaN
            ph_logits = self.phone_head(trunk[:, :, context:context + L])
            phone_ce = torch.nn.functional.cross_entropy(ph_logits, phone, ignore_index=-1) * PHONE_WEIGHT
        else:
            phone_ce = torch.zeros(())
        jitter = jitter_gap(pred[:, :, self.lower_idx], target[:, :, self.lower_idx], mask) * JITTER_WEIGHT
        vm = (mask[:, 1:] * mask[:, :-1]).unsqueeze(-1)
        vel = ((pred.diff(dim=1) - target.diff(dim=1)).abs() * self.curve_w * vm).sum() / (vm.sum() * K) * VEL_WEIGHT
        # normalised like the L1 term (not by the number of /p b m/ frames, which would weight those frames
        # ~40x and pull every frame towards closed lips): an extra x4 on the closure curves there
        closure = (err * self.closure_w * bil.unsqueeze(-1)).sum() / denom
        if GESTURE_WEIGHT:
            tuck = torch.from_numpy(batch["labiodental"]) * mask
            rnd = torch.from_numpy(batch["rounded"]) * mask
            closure = closure + ((err * self.tuck_w * tuck.unsqueeze(-1)).sum()
                                 + (err * self.round_w * rnd.unsqueeze(-1)).sum()) / denom
        # the metric's own quantity: where the teacher's lips are shut in /p b m/, the predicted lip gap
        # (jaw minus mouthClose plus the lip raisers) must be too; normalised by those frames, as it only
        # touches them (the L1 terms leave near-misses of 0.05-0.1 that read as an open mouth)
        gap_p, gap_t = lip_gap_t(pred, self.name_idx), lip_gap_t(target, self.name_idx)
        shut = bil * (gap_t <= CLOSED_GAP).float()
        gap = masked_mean(torch.relu(gap_p - 0.5 * CLOSED_GAP), shut) * GAP_WEIGHT
        gap_l1 = masked_mean((gap_p - gap_t).abs(), mask) * GAP_L1_WEIGHT
        # the same for the /f v/ tuck: 3.0's misses (23 % clean, 48 % in 10 dB noise) were nearly all "never
        # tucked" (max mouthRollLower < 0.1), so where the teacher tucks, the roll is pushed over the threshold
        roll_p, roll_t = pred[:, :, self.name_idx["mouthRollLower"]], target[:, :, self.name_idx["mouthRollLower"]]
        tucked = torch.from_numpy(batch["labiodental"]) * mask * (roll_t >= TUCK_TEACHER).float()
        tuck_hinge = masked_mean(torch.relu(TUCK_HINGE - roll_p), tucked) * TUCK_HINGE_WEIGHT
        # ... and its counterweight on every frame, as for the lip gap: without it the hinge's pull (a missed tuck
        # costs far more than a false one) rolled the lip in wherever noise covered the audio
        roll_l1 = masked_mean((roll_p - roll_t).abs(), mask) * ROLL_L1_WEIGHT
        # brow activity with *prior* noise (what a user's take gets) against the teacher's, per crop: with the
        # posterior alone the head learns to copy the amplitude from the noise and ignores the upper_face axis
        brow = upper_mean = torch.zeros(())
        if BROW_WEIGHT or UPPER_MEAN_WEIGHT:
            prior = torch.randn(B, tn, self.cfg.noise_dim)  # the validation pass seeds torch first
            up_p = torch.sigmoid(net.upper_logits(trunk, prior)[:, :, context:context + L]).transpose(1, 2)
            up_t = target[:, :, self.upper_idx]
            brow = activity_gap(up_p[:, :, self.brow_up], up_t[:, :, self.brow_up], mask) * BROW_WEIGHT
            # the level (a surprised speaker's raised brows) must come from the style, not from the noise
            n = m.sum(dim=1).clamp(min=1.0)
            upper_mean = (((up_p - up_t) * m).sum(dim=1) / n).abs().mean() * UPPER_MEAN_WEIGHT
        style_l1 = ((named - style_true).abs() / self.range).mean() * STYLE_WEIGHT
        nats_s = (0.5 * (mu_s.pow(2) + lv_s.exp() - 1 - lv_s)).mean(dim=0)          # [L]
        nats_n = (0.5 * (mu_n.pow(2) + lv_n.exp() - 1 - lv_n)).mean(dim=(0, 1))    # [Z]
        kl_s = nats_s.clamp(min=FREE_BITS_STYLE).sum() * KL_STYLE
        kl_n = nats_n.clamp(min=FREE_BITS_NOISE).sum() * KL_NOISE
        lip_l1 = (err[:, :, self.lower_idx] * m).sum() / (m.sum() * len(LOWER_NAMES))
        # asymmetry: the left-right difference is a small part of each curve that the plain L1 leaves
        # unlearned (1.x-2.0 came out mirror-symmetric whatever the asymmetry axis said)
        d_p = pred[:, :, self.left_idx] - pred[:, :, self.right_idx]
        d_t = target[:, :, self.left_idx] - target[:, :, self.right_idx]
        asym = ((d_p - d_t).abs() * m).sum() / (m.sum() * len(self.left_idx)) * ASYM_WEIGHT
        terms = dict(l1=l1, bce=bce, vel=vel, closure=closure, gap=gap, gap_l1=gap_l1, tuck_hinge=tuck_hinge,
                     roll_l1=roll_l1, brow=brow, upper_mean=upper_mean, jitter=jitter, phone=phone_ce, asym=asym,
                     style=style_l1)
        total = sum(terms.values()) + kl_s + kl_n
        return total, dict(total=total.item(), **{k: v.item() for k, v in terms.items()},
                           nats_s=nats_s.sum().item(), nats_n=nats_n.sum().item(), lip_l1=lip_l1.item())

    def state(self, extra):
        return dict(cfg=self.cfg.to_dict(), net=self.net.state_dict(), enc=self.enc.state_dict(),
                    post=self.post.state_dict(), phone_head=self.phone_head.state_dict(),
                    ema_net=self.ema_net.state_dict(), ema_enc=self.ema_enc.state_dict(),
                    opt=self.opt.state_dict(), step=self.step, elapsed=self.elapsed, **extra)

    def load(self, ckpt, weights_only=False):
        for name in ("net", "enc", "post", "ema_net", "ema_enc", "phone_head"):
            if name in ckpt:  # checkpoints before model 2.0 have no phone head
                getattr(self, name).load_state_dict(ckpt[name])
        if not weights_only:
            self.opt.load_state_dict(ckpt["opt"])
            self.step = ckpt["step"]
            self.elapsed = ckpt["elapsed"]


def fit_gmm(x, k=5, iters=200, seed=0, reg=1e-3):
    """Full-covariance Gaussian mixture by EM (numpy): weights [k], means [k,D], covariances [k,D,D]."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float64)
    n, d = x.shape
    k = max(1, min(k, n // (2 * d) or 1))
    means = x[rng.choice(n, k, replace=False)]
    covs = np.stack([np.cov(x.T) + reg * np.eye(d)] * k)
    weights = np.full(k, 1.0 / k)
    prev = -np.inf
    for _ in range(iters):
        logp = np.empty((n, k))
        for j in range(k):
            chol = np.linalg.cholesky(covs[j])
            sol = np.linalg.solve(chol, (x - means[j]).T)
            logp[:, j] = (np.log(weights[j]) - 0.5 * (sol ** 2).sum(0) - np.log(np.diag(chol)).sum()
                          - 0.5 * d * np.log(2 * np.pi))
        top = logp.max(1, keepdims=True)
        ll = float((top[:, 0] + np.log(np.exp(logp - top).sum(1))).mean())
        resp = np.exp(logp - top)
        resp /= resp.sum(1, keepdims=True)
        nk = resp.sum(0) + 1e-9
        weights = nk / n
        means = (resp.T @ x) / nk[:, None]
        for j in range(k):
            diff = x - means[j]
            covs[j] = (resp[:, j, None] * diff).T @ diff / nk[j] + reg * np.eye(d)
        if ll - prev < 1e-6:
            break
        prev = ll
    return dict(type="gmm", weights=weights.tolist(), means=means.tolist(), covariances=covs.tolist(), loglik=ll)


@torch.no_grad()
def style_codes(enc, corpus, rng, per_item=2, frames=150):
    """[named true axes, latent mean] for crops of every training utterance: what the prior models."""
    rows = []
    for it in corpus.items:
        n = it["curves"].shape[0]
        for _ in range(per_item):
            g0 = int(rng.integers(0, max(1, n - frames + 1)))
            ref = it["curves"][(g0 + np.arange(frames)) % n][None]
            _, mu, _ = enc(torch.from_numpy(ref))
            rows.append(np.concatenate([it["style"], mu[0].numpy()]))
    return np.array(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", required=True, help="shard folder (repeatable)")
    ap.add_argument("--out", required=True, help="run folder (resumes from OUT/last.pt)")
    ap.add_argument("--minutes", type=float, default=60.0, help="training time budget (wall clock)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=200, help="target frames per crop (50 fps)")
    ap.add_argument("--context", type=int, default=20, help="extra frames of audio each side (multiple of 10)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-every", type=float, default=180.0, help="seconds between checkpoints")
    for name, help_ in WEIGHT_FLAGS:  # --closure-weight sets CLOSURE_WEIGHT, ...
        ap.add_argument(f"--{name.lower().replace('_', '-')}", type=float, default=globals()[name], help=help_)
    ap.add_argument("--init", help="warm-start weights from this checkpoint (fresh optimiser and schedule)")
    ap.add_argument("--held-out", action="append", metavar="VOICE",
                    help="voices to keep out of training (default: models.training.corpus.HELD_OUT_VOICES)")
    ap.add_argument("--refresh-every", type=float, default=300.0, help="seconds between scans for new shards")
    ap.add_argument("--augment-profile", default="voices", choices=("classic", "voices"),
                    help="augment.PROFILES: 'classic' is the chain of models <= 3.1, 'voices' adds WORLD "
                         "voices, rooms, codecs and bandwidth")
    ap.add_argument("--tempo", type=float, default=0.05,
                    help="share of crops from a re-timed (0.8-1.25x) copy of their utterance (0: none)")
    args = ap.parse_args(argv)
    for name, _ in WEIGHT_FLAGS:
        globals()[name] = getattr(args, name.lower())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        handlers=[logging.StreamHandler(sys.stdout),
                                  logging.FileHandler(os.path.join(os.makedirs(args.out, exist_ok=True) or args.out,
                                                                   "train.log"))])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    corpus = Corpus(args.corpus, exclude=args.held_out)
    log.info("corpus: %d train / %d val utterances, %.2f h, %d voices (held out: %s)", len(corpus.items),
             len(corpus.val), corpus.hours(), len(corpus.voices()), sorted(corpus.exclude))
    if not corpus.items:
        raise SystemExit("no training shards found")
    trainer = Trainer(NetConfig(), args.lr)
    last = os.path.join(args.out, "last.pt")
    if os.path.exists(last):
        ckpt = torch.load(last, weights_only=False)
        trainer.load(ckpt)
        rng = ckpt.get("np_rng", rng)
        torch.set_rng_state(ckpt["torch_rng"])
        log.info("resumed %s at step %d, %.1f min", last, trainer.step, trainer.elapsed / 60)
    elif args.init:
        trainer.load(torch.load(args.init, weights_only=False), weights_only=True)
        log.info("warm start from %s", args.init)
    augment = Augmenter(args.augment_profile)
    budget = args.minutes * 60.0
    val_rng = np.random.default_rng(12345)
    val_batch = corpus.sample(val_rng, min(32, 4 * len(corpus.val) or 1), args.frames, args.context,
                              items=corpus.val or corpus.items[:8])
    t_start = time.time() - trainer.elapsed
    last_ckpt = last_refresh = time.time()
    hist = []

    def save(path, extra=None):
        tmp = path + ".tmp"
        torch.save(trainer.state(dict(np_rng=rng, torch_rng=torch.get_rng_state(), **(extra or {}))), tmp)
        os.replace(tmp, path)

    while True:
        trainer.elapsed = time.time() - t_start
        frac = trainer.elapsed / budget
        if frac >= 1.0:
            break
        warm = min(1.0, (trainer.step + 1) / 150)
        lr = args.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in trainer.opt.param_groups:
            g["lr"] = lr
        batch = corpus.sample(rng, args.batch, args.frames, args.context, augment=augment, p_tempo=args.tempo)
        loss, parts = trainer.losses(batch, args.context)
        trainer.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in trainer.opt.param_groups for p in g["params"]], 1.0)
        trainer.opt.step()
        trainer.step += 1
        trainer.ema_update(min(0.999, (1 + trainer.step) / (10 + trainer.step)))
        hist.append(parts)
        if trainer.step % 50 == 0:
            mean = {k: np.mean([h[k] for h in hist]) for k in hist[0]}
            hist = []
            with torch.no_grad():
                torch.manual_seed(0)
                _, val = trainer.losses(val_batch, args.context, trainer.ema_net, trainer.ema_enc, sample=False)
            log.info("step %d %.1f min lr %.2e | train %s | val(ema) l1 %.4f lip %.4f closure %.4f jitter %.4f "
                     "phone %.4f style %.4f gap %.4f brow %.4f", trainer.step, trainer.elapsed / 60, lr,
                     " ".join(f"{k} {v:.4f}" for k, v in mean.items()),
                     val["l1"], val["lip_l1"], val["closure"], val["jitter"], val["phone"], val["style"],
                     val["gap"], val["brow"])
        now = time.time()
        if now - last_ckpt > args.ckpt_every:
            save(last)
            last_ckpt = now
        if now - last_refresh > args.refresh_every:
            added = corpus.refresh()
            if added:
                log.info("corpus grew by %d utterances: %.2f h, %d voices", added, corpus.hours(), len(corpus.voices()))
            last_refresh = now
    save(last)
    log.info("training done: %d steps in %.1f min; fitting the style prior", trainer.step, trainer.elapsed / 60)
    codes = style_codes(trainer.ema_enc, corpus, np.random.default_rng(1))
    prior = fit_gmm(codes, k=5)
    with torch.no_grad():
        torch.manual_seed(0)
        _, val = trainer.losses(val_batch, args.context, trainer.ema_net, trainer.ema_enc, sample=False)
    summary = dict(steps=trainer.step, minutes=trainer.elapsed / 60, train_hours=corpus.hours(),
                   voices=corpus.voices(), held_out=sorted(corpus.exclude), val=val, prior_components=len(prior["weights"]),
                   corpus=args.corpus, batch=args.batch, frames=args.frames, lr=args.lr)
    save(os.path.join(args.out, "final.pt"), dict(prior=prior, summary=summary))
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log.info("wrote %s: %s", os.path.join(args.out, "final.pt"), json.dumps(val))


if __name__ == "__main__":
    main()
