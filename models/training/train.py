"""Train Parley's motion model on a teacher corpus; resumable, time-budgeted, CPU-only.

    python -m models.training.train --corpus /work/corpus/full --out runs/v6 --minutes 82 --threads 2

Every ``--ckpt-every`` seconds (default 180) ``runs/NAME/last.pt`` is rewritten; running the same
command again resumes from it (weights, EMA, optimiser, step, elapsed time, RNG). The learning
rate follows a warm-up + cosine schedule over the *time* budget, so a resumed run ends where an
uninterrupted one would. At the end the learned style prior (a Gaussian mixture over
[named axes, latent]) is fitted on the training shards and stored in ``runs/NAME/final.pt``;
``models.training.export`` turns that into ``models/parley.onnx``.

The losses are in ``losses.py``, one function per term, weighted by a ``LossWeights`` the trainer is
given (``--closure-weight`` and the other weight flags build it; nothing module-wide changes). What
each term is for and the model versions that needed it: models/MODEL_CARD.md, "Training recipe".
"""
import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import sys
import time

import numpy as np
import torch

from inference.arkit import RIG_NAMES

from . import losses as LS
from .dataset import Augmenter, Corpus
from .features import FrequencyMask
from .losses import FREE_BITS_NOISE, FREE_BITS_STYLE, LossWeights, lip_gap_t, weight_flags
from .network import (LOWER_NAMES, UPPER_NAMES, MotionNet, NetConfig, NoisePosterior, StyleEncoder,
                      n_frames, n_noise_steps)
from .phonemes import PHONES
from .style_axes import STYLE_AXES

log = logging.getLogger("parley.train")
TERMS = ("l1", "bce", "vel", "closure", "gap", "gap_l1", "tuck_hinge", "roll_l1", "brow", "upper_mean", "jitter",
         "phone", "asym", "style", "opening", "event", "rounding")  # summed in this order (with the two KL terms last)


class Trainer:
    def __init__(self, cfg, lr, weights=None):
        self.cfg = cfg
        self.weights = weights or LossWeights()
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
        self.lip_curves = torch.tensor([n.startswith(("mouth", "jaw", "eyeBlink")) for n in RIG_NAMES])
        left = [n for n in RIG_NAMES if n.endswith("_L") and n[:-2] + "_R" in RIG_NAMES] + ["mouthLeft"]
        right = [n[:-2] + "_R" if n.endswith("_L") else "mouthRight" for n in left]
        self.left_idx = torch.tensor([RIG_NAMES.index(n) for n in left])
        self.right_idx = torch.tensor([RIG_NAMES.index(n) for n in right])
        self.upper_idx = torch.tensor([RIG_NAMES.index(n) for n in UPPER_NAMES])
        self.name_idx = {n: k for k, n in enumerate(RIG_NAMES)}
        self.brow_up = torch.tensor([k for k, n in enumerate(UPPER_NAMES) if n.startswith("brow")])  # in the upper head
        self.brow_idx = self.upper_idx[self.brow_up]  # the same curves in RIG_NAMES order
        self.lower_idx = torch.tensor([RIG_NAMES.index(n) for n in LOWER_NAMES])
        self.width_idx = torch.tensor([RIG_NAMES.index(n) for n in LS.WIDTH_CURVES])
        self.lo = torch.tensor([a.lo for a in STYLE_AXES])
        self.range = torch.tensor([a.hi - a.lo for a in STYLE_AXES])
        self.step = 0
        self.elapsed = 0.0

    def ema_update(self, decay):
        with torch.no_grad():
            for src, dst in ((self.net, self.ema_net), (self.enc, self.ema_enc)):
                for p, q in zip(src.parameters(), dst.parameters()):
                    q.mul_(decay).add_(p.detach(), alpha=1 - decay)

    def curve_weights(self):
        """Per-curve weight of the L1, cross-entropy and velocity terms: lips, jaw and blinks count more."""
        return torch.where(self.lip_curves, torch.tensor(self.weights.lip), torch.tensor(1.0))

    def forward(self, batch, context, net, enc, sample):
        """The network on a batch, with the style and noise posteriors; -> what the loss terms read."""
        audio = torch.from_numpy(batch["audio"])
        target = torch.from_numpy(batch["curves"])
        named, mu_s, lv_s = enc(torch.from_numpy(batch["ref"]))
        z_s = mu_s + torch.randn_like(mu_s) * torch.exp(0.5 * lv_s) if sample else mu_s
        style_true = torch.from_numpy(batch["style"])
        style = torch.cat([style_true, z_s], dim=1)
        B, L = target.shape[:2]
        tn = n_noise_steps(n_frames(audio.shape[1]), self.cfg)
        mu_n, lv_n = self.post(target[:, :, self.upper_idx])
        z_n = mu_n + torch.randn_like(mu_n) * torch.exp(0.5 * lv_n) if sample else mu_n
        c0 = context // self.cfg.noise_step
        noise = torch.randn(B, tn, self.cfg.noise_dim) if sample else torch.zeros(B, tn, self.cfg.noise_dim)
        noise = torch.cat([noise[:, :c0], z_n, noise[:, c0 + z_n.shape[1]:]], dim=1)[:, :tn]
        logits, trunk = net.logits(audio, style, noise)
        logits = logits[:, context:context + L]
        return dict(target=target, logits=logits, pred=torch.sigmoid(logits), trunk=trunk, named=named,
                    style_true=style_true, mu_s=mu_s, lv_s=lv_s, mu_n=mu_n, lv_n=lv_n, noise_steps=tn)

    def prior_upper(self, net, f, context):
        """The upper face again with *prior* noise (what a user's take gets): [B, T, upper curves]."""
        B, L = f["target"].shape[:2]
        prior = torch.randn(B, f["noise_steps"], self.cfg.noise_dim)  # the validation pass seeds torch first
        return torch.sigmoid(net.upper_logits(f["trunk"], prior)[:, :, context:context + L]).transpose(1, 2)

    def losses(self, batch, context, net=None, enc=None, sample=True):
        """-> (total loss, {term: value} for the log): every term of losses.py, weighted by self.weights."""
        net, enc, w = net or self.net, enc or self.enc, self.weights
        f = self.forward(batch, context, net, enc, sample)
        target, pred = f["target"], f["pred"]
        mask = torch.from_numpy(batch["mask"])
        bil = torch.from_numpy(batch["bilabial"]) * mask
        labiodental = torch.from_numpy(batch["labiodental"]) * mask
        m = mask.unsqueeze(-1)
        denom = m.sum() * target.shape[2]
        err = (pred - target).abs()
        curve_w = self.curve_weights()
        # computed in the order of the graph the gradients were tuned on: autograd sums a tensor's gradients
        # in reverse creation order, so another order moves them in the last bit
        t = dict(l1=LS.l1_term(err, curve_w, m, denom),
                 bce=LS.bce_term(f["logits"], target, curve_w, m, denom, w.bce),
                 phone=LS.phone_term(self.phone_head, f["trunk"], torch.from_numpy(batch["phone"]), context, w.phone),
                 jitter=LS.jitter_gap(pred[:, :, self.lower_idx], target[:, :, self.lower_idx], mask) * w.jitter,
                 vel=LS.velocity_term(pred, target, mask, curve_w, w.vel),
                 closure=LS.closure_term(err, bil, labiodental, torch.from_numpy(batch["rounded"]) * mask, w, denom))
        gap_p, gap_t = lip_gap_t(pred, self.name_idx), lip_gap_t(target, self.name_idx)
        t.update(gap=LS.gap_hinge_term(gap_p, gap_t, bil, w.gap), gap_l1=LS.gap_l1_term(gap_p, gap_t, mask, w.gap_l1))
        roll_p, roll_t = pred[:, :, self.name_idx["mouthRollLower"]], target[:, :, self.name_idx["mouthRollLower"]]
        t.update(tuck_hinge=LS.tuck_hinge_term(roll_p, roll_t, labiodental, w.tuck_hinge),
                 roll_l1=LS.roll_l1_term(roll_p, roll_t, mask, w.roll_l1),
                 brow=torch.zeros(()), upper_mean=torch.zeros(()))
        if w.brow or w.upper_mean:
            up_p, up_t = self.prior_upper(net, f, context), target[:, :, self.upper_idx]
            t.update(brow=LS.brow_term(up_p, up_t, self.brow_up, mask, w.brow),
                     upper_mean=LS.upper_mean_term(up_p, up_t, m, w.upper_mean))
        t["style"] = LS.style_term(f["named"], f["style_true"], self.range, w.style)
        kl_s, nats_s = LS.kl_term(f["mu_s"], f["lv_s"], 0, FREE_BITS_STYLE, w.kl_style)
        kl_n, nats_n = LS.kl_term(f["mu_n"], f["lv_n"], (0, 1), FREE_BITS_NOISE, w.kl_noise)
        t["asym"] = LS.asym_term(pred, target, self.left_idx, self.right_idx, m, w.asym)
        classes = lambda key: (torch.from_numpy(batch[key]) if key in batch  # per-frame class labels (0: none)
                               else torch.zeros_like(mask, dtype=torch.long))
        t["opening"] = LS.opening_term(gap_p, gap_t, classes("vowel"), mask, w.opening)
        t["event"] = LS.closure_event_term(gap_p, gap_t, bil, w.event)
        t["rounding"] = LS.rounding_term(pred[:, :, self.width_idx], target[:, :, self.width_idx], classes("shape"),
                                         mask, w.rounding)
        terms = {k: t[k] for k in TERMS}
        lip_l1 = (err[:, :, self.lower_idx] * m).sum() / (m.sum() * len(LOWER_NAMES))  # reported, not a loss
        total = sum(terms.values()) + kl_s + kl_n
        return total, dict(total=total.item(), **{k: v.item() for k, v in terms.items()},
                           nats_s=nats_s.sum().item(), nats_n=nats_n.sum().item(), lip_l1=lip_l1.item())

    def state(self, extra):
        return dict(cfg=self.cfg.to_dict(), net=self.net.state_dict(), enc=self.enc.state_dict(),
                    post=self.post.state_dict(), phone_head=self.phone_head.state_dict(),
                    ema_net=self.ema_net.state_dict(), ema_enc=self.ema_enc.state_dict(),
                    opt=self.opt.state_dict(), step=self.step, elapsed=self.elapsed, **extra)

    def load(self, ckpt, weights_only=False):
        """Weights (and, unless ``weights_only``, optimiser, step and time) from a checkpoint. A checkpoint of a
        network with fewer trunk blocks loads too: the blocks it lacks keep their identity initialisation."""
        old = len(NetConfig.from_dict(ckpt["cfg"]).dilations)  # trunk blocks the checkpoint has
        for name in ("net", "enc", "post", "ema_net", "ema_enc", "phone_head"):
            if name in ckpt:  # checkpoints before model 2.0 have no phone head
                try:
                    missing, unexpected = getattr(self, name).load_state_dict(ckpt[name], strict=False)
                except RuntimeError as e:  # a tensor of another shape
                    raise SystemExit(f"{name}: the checkpoint does not fit this network: "
                                     f"{str(e).splitlines()[1].strip()}") from None
                if unexpected or any(not k.startswith("blocks.") or int(k.split(".")[1]) < old for k in missing):
                    raise SystemExit(f"{name}: the checkpoint does not fit this network "
                                     f"(missing {missing[:2]}, unexpected {unexpected[:2]})")
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


def effect_probability(text):
    """``EFFECT=P`` (an effect of augment.PROFILES, P in [0, 1]) -> (effect, P); argparse's type."""
    from .augment import CLASSIC_P
    name, _, value = text.partition("=")
    try:
        p = float(value)
    except ValueError:
        p = -1.0
    if name not in CLASSIC_P or not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: use EFFECT=P with P in [0, 1] and EFFECT one of {', '.join(CLASSIC_P)}")
    return name, p


def label_delay(text):
    """``FOLDER=MS`` (MS may be negative, at most 100 ms either way) -> (folder, seconds); argparse's type."""
    folder, _, value = text.rpartition("=")
    try:
        ms = float(value)
    except ValueError:
        ms = float("nan")
    if not folder or not abs(ms) <= 100.0:
        raise argparse.ArgumentTypeError(f"{text!r}: use FOLDER=MS, e.g. ../corpus/real_en=11 (|MS| <= 100)")
    return folder, ms / 1000.0


def parse_args(argv=None):
    """-> (arguments, LossWeights): the weights from the --*-weight flags, every other weight at its default."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", required=True, help="shard folder, or FOLDER:WEIGHT to draw its audio WEIGHT times as often (repeatable)")
    ap.add_argument("--out", required=True, help="run folder (resumes from OUT/last.pt)")
    ap.add_argument("--minutes", type=float, default=60.0, help="training time budget (wall clock)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=200, help="target frames per crop (50 fps)")
    ap.add_argument("--context", type=int, default=20, help="extra frames of audio each side (multiple of 10)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-every", type=float, default=180.0, help="seconds between checkpoints")
    for flag, name, default, help_ in weight_flags():
        ap.add_argument(flag, dest=f"{name}_weight", type=float, default=default, help=help_)
    ap.add_argument("--init", help="warm-start weights from this checkpoint (fresh optimiser and schedule)")
    ap.add_argument("--grow", type=int, nargs="+", default=[], metavar="DILATION",
                    help="with --init: append trunk blocks with these dilations, each starting as the identity")
    ap.add_argument("--seal", action="store_true",
                    help="with --init of a network without it: turn its mouthClose output into the lip seal "
                         "(network.seal_curves), starting from its own mouthClose and jawOpen rows")
    ap.add_argument("--held-out", action="append", metavar="VOICE",
                    help="voices to keep out of training (default: models.training.corpus.HELD_OUT_VOICES)")
    ap.add_argument("--refresh-every", type=float, default=300.0, help="seconds between scans for new shards")
    ap.add_argument("--augment-profile", default="voices", choices=("classic", "voices"),
                    help="augment.PROFILES: 'classic' is the chain of models <= 3.1, 'voices' adds WORLD "
                         "voices, rooms, codecs and bandwidth")
    ap.add_argument("--augment-p", type=float, default=0.6,
                    help="share of crops drawn through the augmentation chain (the rest are clean)")
    ap.add_argument("--effect-p", action="append", default=[], metavar="EFFECT=P", type=effect_probability,
                    help="override one effect's probability in the profile, e.g. noise=0.8 (repeatable)")
    ap.add_argument("--tempo", type=float, default=0.05,
                    help="share of crops from a re-timed (0.8-1.25x) copy of their utterance (0: none)")
    ap.add_argument("--label-delay", action="append", default=[], metavar="FOLDER=MS", type=label_delay,
                    help="this --corpus folder's labels run MS late against its audio (models.training.label_delay "
                         "measures it); its crops read their audio that much earlier (repeatable)")
    ap.add_argument("--timing-shift", type=float, default=0.0, metavar="P",
                    help="share of crops whose lower face is moved 1-2 frames along the timing axis, as the teacher "
                         "draws it (dataset.timing_shift)")
    ap.add_argument("--freq-mask", type=float, default=0.0, metavar="P",
                    help="share of crops whose log-mel loses two bands of up to 12 mel channels "
                         "(features.FrequencyMask, SpecAugment's frequency masking; 0: none)")
    args = ap.parse_args(argv)
    if not 0.0 <= args.freq_mask <= 1.0:
        ap.error(f"--freq-mask {args.freq_mask}: give a share of crops between 0 and 1")
    if args.grow and not args.init:
        ap.error("--grow adds blocks to the network of --init: name the checkpoint to grow")
    if args.seal and not args.init:
        ap.error("--seal converts the network of --init: name the checkpoint (a fresh network: set NetConfig.seal)")
    weights = LossWeights(**{name: getattr(args, f"{name}_weight") for _, name, _, _ in weight_flags()})
    return args, weights


def network_config(saved, grow=(), seal=False):
    """The network to train: a checkpoint's config (``saved``, a dict) with ``grow`` more trunk
    blocks (their dilations) appended. A fresh block is the identity (zero output conv and FiLM), so a grown
    network starts out computing exactly what the checkpoint did. ``seal``: the network uses the lip seal."""
    cfg = NetConfig.from_dict(saved)
    return dataclasses.replace(cfg, dilations=cfg.dilations + tuple(grow), seal=cfg.seal or seal)


# The seal's start from a network without it: logit(seal) = SEAL_SCALE * (close - jaw logits) + SEAL_BIAS. A seal is
# mouthClose / jawOpen, and for the small values of a closure log(close / jaw) ~ close logit - jaw logit; scale and
# bias fitted (mean |error| of the seal, 0.075) on 3.4's outputs over 80 TTS utterances against its teacher's ratio.
SEAL_SCALE, SEAL_BIAS = 4.0, 1.25


def seal_head(net):
    """Rewrite ``net``'s mouthClose output row (lower head, last 1x1 conv) as the seal's start, in place."""
    head = net.lower[-1]
    close, jaw = LOWER_NAMES.index("mouthClose"), LOWER_NAMES.index("jawOpen")
    with torch.no_grad():
        head.weight[close] = SEAL_SCALE * (head.weight[close] - head.weight[jaw])
        head.bias[close] = SEAL_SCALE * (head.bias[close] - head.bias[jaw]) + SEAL_BIAS


def start(args, weights):
    """Log, threads, seeds, corpus and trainer; resumes OUT/last.pt or warm-starts --init. -> (trainer, corpus, rng)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        handlers=[logging.StreamHandler(sys.stdout),
                                  logging.FileHandler(os.path.join(os.makedirs(args.out, exist_ok=True) or args.out,
                                                                   "train.log"))])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    corpus = Corpus(args.corpus, exclude=args.held_out, delays=dict(args.label_delay))
    log.info("corpus: %d train / %d val utterances, %.2f h, %d voices, %d languages (held out: %s)",
             len(corpus.items), len(corpus.val), corpus.hours(), len(corpus.voices()), len(corpus.languages()),
             sorted(corpus.exclude))
    if not corpus.items:
        raise SystemExit("no training shards found")
    last = os.path.join(args.out, "last.pt")
    if os.path.exists(last):  # resuming: the run's own network, already grown if it was
        ckpt = torch.load(last, weights_only=False)
        trainer = Trainer(network_config(ckpt["cfg"]), args.lr, weights)
        trainer.load(ckpt)
        rng = ckpt.get("np_rng", rng)
        torch.set_rng_state(ckpt["torch_rng"])
        log.info("resumed %s at step %d, %.1f min", last, trainer.step, trainer.elapsed / 60)
    elif args.init:
        init = torch.load(args.init, weights_only=False)
        trainer = Trainer(network_config(init["cfg"], args.grow, args.seal), args.lr, weights)
        trainer.load(init, weights_only=True)
        if args.seal and not init["cfg"].get("seal", False):  # convert a network without it
            for net in (trainer.net, trainer.ema_net):
                seal_head(net)
        log.info("warm start from %s; trunk dilations %s; lip seal %s", args.init, trainer.cfg.dilations,
                 trainer.cfg.seal)
    else:
        trainer = Trainer(NetConfig(), args.lr, weights)
    if args.freq_mask:  # the training network only: the EMA copy that is exported never masks
        trainer.net.feature_mask = FrequencyMask(args.freq_mask, seed=args.seed)
    return trainer, corpus, rng


def validate(trainer, val_batch, context):
    """The EMA weights on the fixed validation crops, without sampling: -> {term: value}."""
    with torch.no_grad():
        torch.manual_seed(0)
        _, val = trainer.losses(val_batch, context, trainer.ema_net, trainer.ema_enc, sample=False)
    return val


def train_step(trainer, batch, context, lr):
    for g in trainer.opt.param_groups:
        g["lr"] = lr
    loss, parts = trainer.losses(batch, context)
    trainer.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for g in trainer.opt.param_groups for p in g["params"]], 1.0)
    trainer.opt.step()
    trainer.step += 1
    trainer.ema_update(min(0.999, (1 + trainer.step) / (10 + trainer.step)))
    return parts


def run(args, trainer, corpus, rng, save):
    """Steps until the time budget is spent: checkpoints, validation lines and corpus refreshes on the way."""
    augment = Augmenter(args.augment_profile, dict(args.effect_p))
    budget = args.minutes * 60.0
    val_batch = corpus.sample(np.random.default_rng(12345), min(32, 4 * len(corpus.val) or 1), args.frames,
                              args.context, items=corpus.val or corpus.items[:8])
    t_start = time.time() - trainer.elapsed
    last_ckpt = last_refresh = time.time()
    hist = []
    while True:
        trainer.elapsed = time.time() - t_start
        frac = trainer.elapsed / budget
        if frac >= 1.0:
            break
        warm = min(1.0, (trainer.step + 1) / 150)
        lr = args.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        batch = corpus.sample(rng, args.batch, args.frames, args.context, augment=augment, p_tempo=args.tempo,
                              p_timing=args.timing_shift,
                              p_augment=args.augment_p)
        hist.append(train_step(trainer, batch, args.context, lr))
        if trainer.step % 50 == 0:
            mean = {k: np.mean([h[k] for h in hist]) for k in hist[0]}
            hist = []
            val = validate(trainer, val_batch, args.context)
            log.info("step %d %.1f min lr %.2e | train %s | val(ema) l1 %.4f lip %.4f closure %.4f jitter %.4f "
                     "phone %.4f style %.4f gap %.4f brow %.4f", trainer.step, trainer.elapsed / 60, lr,
                     " ".join(f"{k} {v:.4f}" for k, v in mean.items()),
                     val["l1"], val["lip_l1"], val["closure"], val["jitter"], val["phone"], val["style"],
                     val["gap"], val["brow"])
        now = time.time()
        if now - last_ckpt > args.ckpt_every:
            save(os.path.join(args.out, "last.pt"))
            last_ckpt = now
        if now - last_refresh > args.refresh_every:
            added = corpus.refresh()
            if added:
                log.info("corpus grew by %d utterances: %.2f h, %d voices", added, corpus.hours(), len(corpus.voices()))
            last_refresh = now
    return val_batch


def main(argv=None):
    args, weights = parse_args(argv)
    trainer, corpus, rng = start(args, weights)

    def save(path, extra=None):
        tmp = path + ".tmp"
        torch.save(trainer.state(dict(np_rng=rng, torch_rng=torch.get_rng_state(), **(extra or {}))), tmp)
        os.replace(tmp, path)

    val_batch = run(args, trainer, corpus, rng, save)
    save(os.path.join(args.out, "last.pt"))
    log.info("training done: %d steps in %.1f min; fitting the style prior", trainer.step, trainer.elapsed / 60)
    codes = style_codes(trainer.ema_enc, corpus, np.random.default_rng(1))
    prior = fit_gmm(codes, k=5)
    val = validate(trainer, val_batch, args.context)
    summary = dict(steps=trainer.step, minutes=trainer.elapsed / 60, train_hours=corpus.hours(),
                   languages=corpus.languages(), voices=corpus.voices(), held_out=sorted(corpus.exclude), val=val,
                   prior_components=len(prior["weights"]), corpus=args.corpus, batch=args.batch, frames=args.frames,
                   lr=args.lr, freq_mask=args.freq_mask)
    save(os.path.join(args.out, "final.pt"), dict(prior=prior, summary=summary))
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log.info("wrote %s: %s", os.path.join(args.out, "final.pt"), json.dumps(val))


if __name__ == "__main__":
    main()
