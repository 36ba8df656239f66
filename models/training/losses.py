"""The training losses, one function per term, and their weights (``LossWeights``).

Curves are in [0, 1]; every term is masked to the real clip. Why each term exists, what it fixed and how
its weight was found: models/MODEL_CARD.md, "Training recipe". ``Trainer.losses`` (train.py) runs the
network once and sums these terms.
"""
from dataclasses import dataclass, field, fields

import torch

from inference.arkit import RIG_NAMES

from .metrics import EVENT_WINDOW, OPEN_GAP


def _flag(default, help_):
    """A weight the command line can set: --NAME-weight (NAME with dashes)."""
    return field(default=default, metadata={"help": help_})


@dataclass(frozen=True)
class LossWeights:
    """Every term's weight. The ones with a flag are train.py's --closure-weight, --gesture-weight, ..."""
    closure: float = _flag(12.0, "extra L1 on lips in /p b m/")
    gesture: float = _flag(6.0, "extra L1 on the tuck in /f v/ and the rounding in /w uw ow/")
    asym: float = _flag(4.0, "L1 on the left-minus-right difference of the paired curves")
    gap: float = _flag(0.5, "hinge on the predicted lip gap where the teacher's lips are shut in /p b m/")
    brow: float = _flag(0.2, "brow activity with prior noise against the teacher's")
    upper_mean: float = _flag(2.0, "per-crop mean of the upper-face curves with prior noise against the teacher's")
    tuck_hinge: float = _flag(0.5, "hinge on mouthRollLower where the teacher tucks the lower lip in /f v/")
    roll_l1: float = _flag(1.0, "L1 on mouthRollLower on every frame (the tuck hinge's counterweight)")
    opening: float = _flag(0.0, "per-crop mean lip gap on close, mid and open vowels against the teacher's")
    event: float = _flag(0.0, "per /p b m/ interval: the lips shut at some frame of it and part within 200 ms")
    rounding: float = _flag(0.0, "per-crop mean of the lip-width curves on rounded and on spread phones "
                                 "against the teacher's")
    lip: float = 2.0            # per-curve weight of mouth*, jaw*, eyeBlink* in the L1, cross-entropy and velocity
    bce: float = 1.0
    jitter: float = 0.1
    phone: float = 0.2
    vel: float = 4.0
    gap_l1: float = 1.0         # L1 on the lip gap on every frame (the gap hinge's counterweight)
    style: float = 0.5
    kl_style: float = 1e-2
    kl_noise: float = 1e-2


def weight_flags():
    """-> [(flag, field name, default, help)] for the weights the command line can set."""
    return [(f"--{f.name.replace('_', '-')}-weight", f.name, f.default, f.metadata["help"])
            for f in fields(LossWeights) if "help" in f.metadata]


FREE_BITS_STYLE = 0.25  # nats per latent dimension that cost nothing (keeps the posteriors in use)
FREE_BITS_NOISE = 0.1   # nats per noise dimension and step
CLOSED_GAP = 0.02    # teacher lip gap (metrics.lip_gap units) below which a /p b m/ frame counts as shut
REACH_GAP = 0.02     # per /p b m/ interval the smallest predicted gap is pushed below this (the metric: 0.05)
RELEASE_GAP = 0.15   # ... and the largest within EVENT_FRAMES up to the teacher's, at most this (the metric: 0.10)
EVENT_FRAMES = round(EVENT_WINDOW * 50)  # the metric's release window in the network's 50 fps frames
TUCK_TEACHER = 0.30  # teacher mouthRollLower at or above which an /f v/ frame counts as tucked (metrics.TUCK_MIN)
TUCK_HINGE = 0.35    # the prediction is pushed up to here there: a margin over the metric's threshold
CLOSURE_CURVES = ("mouthClose", "mouthPress_L", "mouthPress_R", "mouthRollLower", "mouthRollUpper", "jawOpen",
                  "mouthLowerDown_L", "mouthLowerDown_R", "mouthUpperUp_L", "mouthUpperUp_R")
TUCK_CURVES = ("mouthRollLower", "mouthRollUpper", "mouthUpperUp_L", "mouthUpperUp_R", "jawOpen")
ROUND_CURVES = ("mouthPucker", "mouthFunnel", "jawOpen")
WIDTH_CURVES = ("mouthPucker", "mouthFunnel", "mouthStretch_L", "mouthStretch_R", "mouthSmile_L", "mouthSmile_R")


def curve_mask(names):
    """1 for the curves of RIG_NAMES in ``names``, else 0."""
    return torch.tensor([1.0 if n in names else 0.0 for n in RIG_NAMES])


def masked_mean(x, weight):
    """Sum of x * weight over the sum of weight (0 where nothing is weighted)."""
    return (x * weight).sum() / weight.sum().clamp(min=1.0)


def jitter_gap(pred, target, mask):
    """Mean over crops of |log(jitter(pred) / jitter(target))|, jitter = mean |second difference| of the
    curves [B,T,K] over the frames where mask [B,T] (and its two neighbours) is set: 0 when the prediction
    is exactly as crisp as the teacher, whatever it does frame by frame."""
    lm = (mask[:, 2:] * mask[:, 1:-1] * mask[:, :-2]).unsqueeze(-1)
    n = lm.sum(dim=(1, 2)).clamp(min=1.0) * pred.shape[2]
    j_p = (pred.diff(n=2, dim=1).abs() * lm).sum(dim=(1, 2)) / n
    j_t = (target.diff(n=2, dim=1).abs() * lm).sum(dim=(1, 2)) / n
    return (torch.log(j_p + 1e-4) - torch.log(j_t + 1e-4)).abs().mean()


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


# ---------------------------------------------------------------- the terms
# m: the frame mask [B,T,1]; denom: m.sum() * K, so the per-curve terms are means over frames and curves

def l1_term(err, curve_w, m, denom):
    """L1 on every curve (lips, jaw and blinks weighted LossWeights.lip)."""
    return (err * curve_w * m).sum() / denom


def bce_term(logits, target, curve_w, m, denom, weight):
    """Cross-entropy on the logits with the teacher's value as a soft target: its gradient does not vanish
    where the sigmoid saturates."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * curve_w * m).sum() / denom * weight


def phone_term(phone_head, trunk, phone, context, weight):
    """Auxiliary phone classification from the trunk (frames labelled -1 are ignored)."""
    if not (phone >= 0).any():  # cross-entropy over no labelled frame at all would be NaN
        return torch.zeros(())
    logits = phone_head(trunk[:, :, context:context + phone.shape[1]])
    return torch.nn.functional.cross_entropy(logits, phone, ignore_index=-1) * weight


def velocity_term(pred, target, mask, curve_w, weight):
    """L1 on the first differences, so the motion is as crisp or smooth as the teacher's."""
    vm = (mask[:, 1:] * mask[:, :-1]).unsqueeze(-1)
    diff = (pred.diff(dim=1) - target.diff(dim=1)).abs()
    return (diff * curve_w * vm).sum() / (vm.sum() * pred.shape[2]) * weight


def closure_term(err, bilabial, labiodental, rounded, weights, denom):
    """Extra L1 on the closure curves in /p b m/ frames and on the tuck and rounding curves in /f v/ and
    /w uw ow/ frames, normalised like the L1 term (by all frames, not by the gesture's)."""
    closure = (err * (curve_mask(CLOSURE_CURVES) * weights.closure) * bilabial.unsqueeze(-1)).sum() / denom
    if weights.gesture:
        tuck_w, round_w = curve_mask(TUCK_CURVES) * weights.gesture, curve_mask(ROUND_CURVES) * weights.gesture
        closure = closure + ((err * tuck_w * labiodental.unsqueeze(-1)).sum()
                             + (err * round_w * rounded.unsqueeze(-1)).sum()) / denom
    return closure


def gap_hinge_term(gap_p, gap_t, bilabial, weight):
    """Where the teacher's lips are shut in /p b m/, the predicted lip gap above CLOSED_GAP / 2."""
    shut = bilabial * (gap_t <= CLOSED_GAP).float()
    return masked_mean(torch.relu(gap_p - 0.5 * CLOSED_GAP), shut) * weight


def gap_l1_term(gap_p, gap_t, mask, weight):
    """L1 on the lip gap on every frame."""
    return masked_mean((gap_p - gap_t).abs(), mask) * weight


def class_mean_term(x_p, x_t, cls, classes, mask, min_frames=3):
    """Per crop and class ``k`` in ``classes`` (``cls`` [B,T] holds each frame's class), the mean of the
    prediction ``x_p`` over the class's frames against the teacher's mean there; ``x`` is [B,T] or [B,T,K]
    (then the mean over K). Mean over the (crop, class) pairs with at least ``min_frames`` frames.

    The per-frame L1 gives a contrast away where the timing is uncertain (a real voice, a loose alignment):
    under it the network hedges towards a middle shape. A mean over a crop's phones of one class does not care
    when within them the shape peaks, only how far it goes, and comparing the classes keeps the contrast."""
    if x_p.dim() == 2:
        x_p, x_t = x_p.unsqueeze(-1), x_t.unsqueeze(-1)
    total, count = torch.zeros(()), torch.zeros(())
    for k in classes:
        w = (cls == k).float() * mask
        n = w.sum(dim=1)
        has = (n >= min_frames).float()
        mean_p = (x_p * w.unsqueeze(-1)).sum(dim=1) / n.clamp(min=1.0).unsqueeze(-1)
        mean_t = (x_t * w.unsqueeze(-1)).sum(dim=1) / n.clamp(min=1.0).unsqueeze(-1)
        total = total + ((mean_p - mean_t).abs().mean(dim=-1) * has).sum()
        count = count + has.sum()
    return total / count.clamp(min=1.0)


def opening_term(gap_p, gap_t, vowel, mask, weight):
    """The lip gap's :func:`class_mean_term` over the vowel height classes (``metrics.vowel_class``: close, mid,
    open; ``vowel`` [B,T] on the central half of each vowel): how wide /i/, /e/ and /a/ open, not when."""
    if not weight:
        return torch.zeros(())
    return class_mean_term(gap_p, gap_t, vowel, (1, 2, 3), mask) * weight


def rounding_term(width_p, width_t, shape, mask, weight):
    """The WIDTH_CURVES' :func:`class_mean_term` over rounded and spread phones (``dataset.shape_frames``: 1
    /w uw ow/, 2 /iy ih eh ey ae/, central halves): how far the lips pucker in /u/ and spread in /i/, the
    contrast evaluate_real's rounding AUC measures as mouth width."""
    if not weight:
        return torch.zeros(())
    return class_mean_term(width_p, width_t, shape, (1, 2), mask, min_frames=2) * weight


def run_ids(mask):
    """[B,T] 0/1 -> (ids [B*T], n): each run of set frames within a crop numbered 0..n-1, unset frames n."""
    m = mask > 0.5
    start = m.clone()
    start[:, 1:] &= ~m[:, :-1]
    n = int(start.sum())
    ids = torch.cumsum(start.flatten().long(), 0) - 1
    return torch.where(m.flatten(), ids, torch.full_like(ids, n)), n


def per_run(x, ids, n, reduce):
    """x [B,T] reduced ("amin", "amax") over each run of :func:`run_ids` -> [n]."""
    out = torch.zeros(n + 1, dtype=x.dtype).scatter_reduce(0, ids, x.flatten(), reduce, include_self=False)
    return out[:n]


def closure_event_term(gap_p, gap_t, bilabial, weight, window=EVENT_FRAMES):
    """Per /p b m/ interval (a run of ``bilabial`` frames) that the teacher shuts: the smallest predicted lip gap
    in it above REACH_GAP, and the largest within ``window`` frames of it below the teacher's (capped at
    RELEASE_GAP) where the teacher parts the lips (metrics.OPEN_GAP); mean over those intervals.

    This is ``metrics.bilabial_closure`` made a loss. The per-frame terms ask the lips to be shut on the frames
    the labels say; where a real voice's alignment is uncertain by a frame or two, the network meets them
    halfway, with a half-shut mouth over the whole interval. An interval's minimum does not care on which frame
    the lips meet, only that they do, and the release keeps the answer from being a mouth held shut."""
    if not weight:
        return torch.zeros(())
    ids, n = run_ids(bilabial)
    if not n:
        return torch.zeros(())
    peak = lambda g: torch.nn.functional.max_pool1d(g.unsqueeze(1), 2 * window + 1, 1, window).squeeze(1)
    shut = (per_run(gap_t, ids, n, "amin") <= CLOSED_GAP).float()
    reach = torch.relu(per_run(gap_p, ids, n, "amin") - REACH_GAP)
    rel_t = per_run(peak(gap_t), ids, n, "amax")
    release = torch.relu(rel_t.clamp(max=RELEASE_GAP) - per_run(peak(gap_p), ids, n, "amax"))
    release = release * (rel_t >= OPEN_GAP).float()
    return ((reach + release) * shut).sum() / shut.sum().clamp(min=1.0) * weight


def tuck_hinge_term(roll_p, roll_t, labiodental, weight):
    """Where the teacher tucks the lower lip in /f v/, the predicted roll below TUCK_HINGE."""
    tucked = labiodental * (roll_t >= TUCK_TEACHER).float()
    return masked_mean(torch.relu(TUCK_HINGE - roll_p), tucked) * weight


def roll_l1_term(roll_p, roll_t, mask, weight):
    """L1 on mouthRollLower on every frame."""
    return masked_mean((roll_p - roll_t).abs(), mask) * weight


def brow_term(up_p, up_t, brow_cols, mask, weight):
    """Brow activity of the prior-noise take against the teacher's, per crop, in log space."""
    return activity_gap(up_p[:, :, brow_cols], up_t[:, :, brow_cols], mask) * weight


def upper_mean_term(up_p, up_t, m, weight):
    """Per-crop mean of every upper-face curve of the prior-noise take against the teacher's."""
    n = m.sum(dim=1).clamp(min=1.0)
    return (((up_p - up_t) * m).sum(dim=1) / n).abs().mean() * weight


def asym_term(pred, target, left_idx, right_idx, m, weight):
    """L1 on the left-minus-right difference of the paired curves."""
    d_p = pred[:, :, left_idx] - pred[:, :, right_idx]
    d_t = target[:, :, left_idx] - target[:, :, right_idx]
    return ((d_p - d_t).abs() * m).sum() / (m.sum() * len(left_idx)) * weight


def style_term(named, style_true, axis_range, weight):
    """L1 of the style encoder's named axes, normalised by each axis's range."""
    return ((named - style_true).abs() / axis_range).mean() * weight


def kl_term(mu, logvar, dims, free_bits, weight):
    """KL to N(0, 1) in nats per latent dimension (mean over ``dims``), each free below ``free_bits``;
    -> (weighted loss, the nats per dimension)."""
    nats = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(dim=dims)
    return nats.clamp(min=free_bits).sum() * weight, nats
