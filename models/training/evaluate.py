"""Evaluate the motion model against the teacher and two baselines on held-out voices.

    python -m models.training.evaluate --model models/parley.onnx --corpus ../corpus/full \
        --max-utts 40 --out models/

Systems, side by side in one run, on the corpus shards of ``corpus.HELD_OUT_VOICES`` (never
trained on): the model; the audio-envelope jaw flap; the teacher on pocketsphinx phone-loop
recognition without a transcript (Rhubarb-like); the teacher on the true phonemes (ceiling).
Audio conditions: clean, and degraded with ``augment``'s noise (10 dB SNR), reverberation and
telephone band, each with a fixed seed per utterance. The reference is the shard's teacher curves.
Metric definitions: ``metrics.py``. Writes ``EVAL_REPORT.md`` and ``eval_*.png`` into ``--out``.
"""
import argparse
import glob
import hashlib
import math
import os
import sys
import time

import numpy as np

from inference.arkit import RIG_NAMES
from inference.take import take_columns

from . import baselines as B
from . import metrics as M

NAMES = list(RIG_NAMES)
SYSTEMS = ("model", "jaw_flap", "rhubarb_like", "ceiling")
SYSTEM_LABEL = {"model": "Parley model", "jaw_flap": "jaw flap (RMS)", "rhubarb_like": "phone loop + teacher",
                "ceiling": "teacher, true phones"}
CONDITIONS = ("clean", "noise10db", "reverb", "telephone")
# (key, header, higher is better, format)
LIP_METRICS = (
    ("l1_lip", "L1 lips", False, "{:.4f}"),
    ("bilabial", "bilabial closure", True, "{:.1%}"),
    ("tuck", "/f v/ tuck", True, "{:.1%}"),
    ("rounding", "rounding", True, "{:.1%}"),
    ("openness", "openness rho", True, "{:+.2f}"),
    ("abs_lag", "abs lag ms", False, "{:.1f}"),
    ("jitter_dev", "jitter vs teacher", False, "{:.2f}"),
)
TARGETS = {"bilabial": 0.90, "rounding": 0.85, "openness": 0.70, "abs_lag": 20.0}
DEGRADE_MAX_LOSS = 0.15
BASELINE_CACHE_VERSION = "1"   # bump when degrade() or run_systems() change what the baselines see
REVERB_RT60 = 0.5          # s, a medium room (direct-to-reverberant ratio drawn by augment.room_impulse)


# ---------------------------------------------------------------- data

def held_out_shards(corpus, max_utts):
    """Shard paths of held-out voices, round-robin over voices so each is represented."""
    from .corpus import HELD_OUT_VOICES
    by_voice = {}
    for path in sorted(glob.glob(os.path.join(corpus, "*.npz"))):
        with np.load(path) as z:
            voice = str(z["voice"])
        if voice in HELD_OUT_VOICES:
            by_voice.setdefault(voice, []).append(path)
    if not by_voice:
        raise SystemExit(f"no shards of the held-out voices {HELD_OUT_VOICES} under {corpus}")
    picked, k = [], 0
    while len(picked) < max_utts and any(k < len(v) for v in by_voice.values()):
        for voice in sorted(by_voice):
            if k < len(by_voice[voice]) and len(picked) < max_utts:
                picked.append(by_voice[voice][k])
        k += 1
    return picked


def load(path):
    from .corpus import load_shard
    d = load_shard(path)
    names = [str(n) for n in d["names"]]
    d["curves"] = take_columns(d["curves"], names, NAMES)
    d["style_dict"] = {str(n): float(v) for n, v in zip(d["style_names"], d["style"])}
    return d


def degrade(pcm, sr, condition, seed):
    """One degraded copy of ``pcm`` using the training augmentation's own functions."""
    if condition == "clean":
        return pcm
    from . import augment as A
    rng = np.random.default_rng(seed)
    if condition == "noise10db":
        out = A.noise(pcm, rng, snr_db=10.0, color="white")
    elif condition == "reverb":
        out = A.reverb(pcm, rng, rt60=REVERB_RT60)
    elif condition == "telephone":
        out = A.eq(pcm, rng, kind="telephone")
    else:
        raise ValueError(f"unknown condition {condition!r}; use {', '.join(CONDITIONS)}")
    return np.asarray(out, np.float32).reshape(-1)[:pcm.size]


# ---------------------------------------------------------------- systems

class ModelSystem:
    """The shipped ONNX model through the runtime (``inference.model`` + ``inference.animate``)."""

    def __init__(self, path):
        from inference.animate import animate
        from inference.model import load_model
        self.model = load_model(path, device="cpu", threads=1)
        self._animate = animate
        meta = self.model.meta
        self.version = getattr(meta, "version", "?")

    def __call__(self, pcm, sr, fps, style, seed):
        c = self._animate(self.model, pcm, sr, fps, style=style, seed=seed)
        return take_columns(c.values, c.names, NAMES)


def teacher_energy(audio, fps, n):
    """The loudness hint the corpus gave the teacher (brow raises only), from this audio."""
    from .corpus import energy_hint
    return energy_hint(audio, n, fps=int(round(fps)))


def baseline_key(path, condition, seed):
    """Cache file name for one shard's baselines: changes when the shard or the code behind them does."""
    h = hashlib.sha256()
    h.update(BASELINE_CACHE_VERSION.encode())
    for name in ("baselines.py", "teacher.py", "phonemes.py", "augment.py", "corpus.py"):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), "rb") as f:
            h.update(f.read())
    st = os.stat(path)
    h.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{condition}|{seed}".encode())
    return h.hexdigest()[:24] + ".npz"


def run_systems(model, d, pcm, fps, seed, cache, cache_file=None):
    """{system: [T, 51]} for one utterance and one (possibly degraded) audio.

    The baselines do not depend on the model: with ``cache_file`` they are read from / written to
    disk, so re-evaluating a new model only runs the model."""
    if cache_file and os.path.exists(cache_file):
        with np.load(cache_file) as z:
            out = {k: z[k] for k in ("jaw_flap", "rhubarb_like", "ceiling")}
            phones = [(float(a), float(b), str(c)) for a, b, c in zip(z["ph_start"], z["ph_end"], z["ph_label"])]
        if model is not None:
            out = {"model": model(pcm, d["sr"], fps, d["style_dict"], seed), **out}
        return out, phones
    sr, dur = d["sr"], d["audio"].size / d["sr"]
    T = d["curves"].shape[0]
    style = d["style_dict"]
    from .teacher import teach

    def teach_e(phones, fps_, style_, seed_, duration=None):
        return teach(phones, fps_, style_, seed_, duration=duration, energy=teacher_energy(pcm, fps_, T))

    out = {}
    if model is not None:
        out["model"] = model(pcm, sr, fps, style, seed)
    out["jaw_flap"] = B.jaw_flap(pcm, sr, fps, duration=dur)
    out["rhubarb_like"], phones = B.rhubarb_like(pcm, sr, fps, style, seed, teach=teach_e, duration=dur)
    if "ceiling" not in cache:                        # true phones: independent of the audio condition
        cache["ceiling"] = B.ceiling(d["phones"], fps, dur, style, seed, teach=teach_e)
    out["ceiling"] = cache["ceiling"]
    if cache_file:
        tmp = cache_file + ".part.npz"
        np.savez(tmp, jaw_flap=out["jaw_flap"], rhubarb_like=out["rhubarb_like"], ceiling=out["ceiling"],
                 ph_start=np.array([p[0] for p in phones]), ph_end=np.array([p[1] for p in phones]),
                 ph_label=np.array([p[2] for p in phones]))
        os.replace(tmp, cache_file)
    return out, phones


def phone_frame_accuracy(true, rec, fps, T):
    """Fraction of frames where the recognised phone (no stress) equals the true one."""
    def frame_labels(ph):
        lab = np.array(["SIL"] * T, dtype=object)
        for s, e, l in ph:
            lab[max(0, int(round(s * fps))):min(T, int(round(e * fps)))] = M.base_label(l)
        return lab
    return float(np.mean(frame_labels(true) == frame_labels(rec)))


# ---------------------------------------------------------------- accumulation

class Acc:
    """Pooled metrics of one (system, condition)."""

    def __init__(self, max_lag):
        self.l1_all, self.l1_lip, self.frames = 0.0, 0.0, 0
        self.bil, self.tuck, self.rnd = [], [], []
        self.open_tokens = {}
        self.xc = np.zeros(2 * max_lag + 1)
        self.jit, self.jit_ref, self.jit_n = 0.0, 0.0, 0
        self.depth = {}
        self.false = {}

    def add(self, pred, d, max_lag):
        ref, fps, ph = d["curves"], d["fps"], d["phones"]
        T = min(pred.shape[0], ref.shape[0])
        pred = pred[:T]
        self.l1_all += M.curve_l1(pred, ref[:T], NAMES) * T
        self.l1_lip += M.curve_l1(pred, ref[:T], NAMES, M.is_lip_name) * T
        self.frames += T
        self.bil.append(M.bilabial_closure(pred, NAMES, fps, ph))
        self.tuck.append(M.labiodental_tuck(pred, NAMES, fps, ph))
        self.rnd.append(M.rounding(pred, NAMES, fps, ph))
        self.open_tokens = M.merge_openness([self.open_tokens, M.vowel_openness(pred, NAMES, fps, ph)])
        self.xc += M.lip_xcorr(pred, ref[:T], NAMES, max_lag)
        for k, v in M.gesture_depths(pred, NAMES, fps, ph).items():
            self.depth.setdefault(k, []).extend(v)
        for k, v in M.false_gestures(pred, NAMES, fps, ph).items():
            self.false.setdefault(k, []).append(v)
        self.jit += M.jitter(pred, NAMES, fps) * (T - 2)
        self.jit_ref += M.jitter(ref[:T], NAMES, fps) * (T - 2)
        self.jit_n += T - 2
        self.fps = fps

    def result(self, ref_tokens):
        lag = M.lag_from_xcorr(self.xc, self.fps)
        return {
            "l1_all": self.l1_all / self.frames, "l1_lip": self.l1_lip / self.frames,
            "bilabial": M.rate(self.bil), "tuck": M.rate(self.tuck), "rounding": M.rate(self.rnd),
            "n_bilabial": sum(t for _, t in self.bil), "n_tuck": sum(t for _, t in self.tuck),
            "n_rounding": sum(t for _, t in self.rnd),
            "openness": M.openness_correlation(self.open_tokens),
            "openness_vs_teacher": M.openness_correlation(self.open_tokens, reference=ref_tokens),
            "lag": lag, "abs_lag": abs(lag), "jitter": self.jit / max(self.jit_n, 1),
            # roughness match: 0 = as smooth as the teacher; frame noise and a static face both count
            "jitter_dev": abs(math.log2(max(self.jit, 1e-9) / max(self.jit_ref, 1e-9))),
            "open_means": {k: float(np.mean(v)) for k, v in self.open_tokens.items()},
            "depth": {k: float(np.median(v)) if v else float("nan") for k, v in self.depth.items()},
            "false": {k: M.rate(v) for k, v in self.false.items()},
        }


# ---------------------------------------------------------------- style

def style_checks(model, utts, fps, seeds=10, many_utts=None):
    """Seed diversity and slider sweeps for the model, with the teacher's as a yardstick."""
    from .teacher import teach
    from .style_axes import STYLE_AXES

    def teacher_run(d, style, seed):
        return teach(d["phones"], fps, style, seed, duration=d["audio"].size / d["sr"])

    systems = {"teacher": teacher_run}
    if model is not None:
        systems["model"] = lambda d, style, seed: model(d["audio"], d["sr"], fps, style, seed)
    div = {}
    for name, run in systems.items():
        up, lip, bil, rnd, l1 = [], [], [], [], []
        for d in utts:
            takes = np.stack([run(d, d["style_dict"], s) for s in range(seeds)])
            T = min(takes.shape[1], d["curves"].shape[0])
            takes = takes[:, :T]
            up.append(M.seed_spread(takes, NAMES, M.is_upper_name))
            lip.append(M.seed_spread(takes, NAMES, M.is_lip_name))
            bil.append([M.bilabial_closure(t, NAMES, fps, d["phones"]) for t in takes])
            rnd.append([M.rounding(t, NAMES, fps, d["phones"]) for t in takes])
            l1.append([M.curve_l1(t, d["curves"][:T], NAMES, M.is_lip_name) for t in takes])
        bil_rates = [M.rate([b[s] for b in bil]) for s in range(seeds)]
        rnd_rates = [M.rate([r[s] for r in rnd]) for s in range(seeds)]
        l1s = np.mean(l1, axis=0)
        div[name] = {"upper_spread": float(np.mean(up)), "lip_spread": float(np.mean(lip)),
                     "bilabial_range": float(np.ptp(bil_rates)), "rounding_range": float(np.ptp(rnd_rates)),
                     "l1_lip_range": float(np.ptp(l1s))}

    axes = {a.name: a for a in STYLE_AXES}
    memo = {}          # rows on the same axis (brows, blinks) share their takes

    def take(name, j, d, axis_name, v, seed):
        key = (name, id(d), axis_name, float(v), seed)
        if key not in memo:
            memo[key] = systems[name](d, {axis_name: float(v)}, seed)
        return memo[key]

    sweeps = {}
    for row, (axis_name, label, increasing, n_seeds) in SLIDER_ROWS.items():
        axis = axes[axis_name]
        values = np.linspace(axis.lo, axis.hi, 5)
        sweeps[row] = {"values": values.tolist()}
        row_utts = many_utts if (n_seeds > 1 and many_utts) else utts
        for name, run in systems.items():
            base = [run(d, {}, 0) for d in row_utts] if axis_name == "timing" else None
            qs = []
            for v in values:
                per = [slider_quantity(row, take(name, j, d, axis_name, v, s), fps, base[j] if base else None)
                       for j, d in enumerate(row_utts) for s in range(n_seeds)]
                qs.append(float(np.mean(per)))
            sweeps[row][name] = qs
    return div, sweeps


# row -> (axis, quantity, expected increasing, seeds averaged: blinks and brows are random processes)
SLIDER_ROWS = {
    "articulation": ("articulation", "lip amplitude (sum of lip-curve std)", True, 1),
    "jaw_lips": ("jaw_lips", "jawOpen / lip shapes", True, 1),
    "smile": ("smile", "mean smile - frown", True, 1),
    "asymmetry": ("asymmetry", "mean L - R (mouth, cheeks)", True, 1),
    "timing": ("timing", "lag vs timing=0, ms", False, 1),
    "smoothness": ("smoothness", "lip jitter /s^2", False, 1),
    "upper_face": ("upper_face", "brow activity (sum of brow std)", True, 10),
    "upper_face:blinks": ("upper_face", "blinks per minute", True, 10),
    "happy": ("happy", "smile + cheekSquint", True, 1),
    "sad": ("sad", "browInnerUp + frown", True, 1),
    "angry": ("angry", "browDown + noseSneer", True, 1),
    "surprised": ("surprised", "browOuterUp + eyeWide", True, 1),
}


SLIDER_MIN_EFFECT = 0.25


def slider_ok(sweep, system, increasing):
    """(monotonic and large enough, end-to-end change as a multiple of the teacher's)."""
    v, t = sweep[system], sweep["teacher"]
    effect = (v[-1] - v[0]) / (t[-1] - t[0]) if t[-1] != t[0] else float("nan")
    return bool(M.monotonic(v, increasing=increasing) and effect >= SLIDER_MIN_EFFECT), effect


def slider_quantity(row, c, fps, base=None):
    if row == "articulation":
        return M.lip_amplitude(c, NAMES)
    if row == "jaw_lips":
        return M.jaw_lip_ratio(c, NAMES)
    if row == "smile":
        return M.smile_amount(c, NAMES)
    if row == "asymmetry":
        return M.asymmetry_amount(c, NAMES)
    if row == "timing":
        return M.lag_ms(c, base, NAMES, fps)
    if row == "smoothness":
        return M.jitter(c, NAMES, fps)
    if row == "upper_face":
        return M.brow_activity(c, NAMES)
    if row == "upper_face:blinks":
        return M.blinks_per_minute(c, NAMES, fps)
    return M.emotion_amount(c, NAMES, row)


# ---------------------------------------------------------------- report

def fmt(key, v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    spec = {k: f for k, _, _, f in LIP_METRICS}.get(key, "{:.1%}" if key == "false" else "{:.3f}")
    return spec.format(v)


def better(key, a, b):
    hib = {k: h for k, _, h, _ in LIP_METRICS}[key]
    if any(isinstance(x, float) and math.isnan(x) for x in (a, b)):
        return False
    return a > b if hib else a < b


def relative_loss(clean, degraded, higher_is_better):
    """How much worse ``degraded`` is than ``clean``, as a fraction of |clean| (inf from 0, nan-safe)."""
    worse = (clean - degraded) if higher_is_better else (degraded - clean)
    if not (math.isfinite(clean) and math.isfinite(degraded)):
        return float("inf")
    if worse <= 0:
        return worse / abs(clean) if clean else 0.0
    return worse / abs(clean) if clean else float("inf")


def target_rows(res):
    rows = []
    clean = res.get(("model", "clean"))
    if clean is None:
        return rows
    for key, th in TARGETS.items():
        v = clean[key]
        ok = (v >= th) if key != "abs_lag" else (v <= th)
        rows.append((f"{key} {'>=' if key != 'abs_lag' else '<='} {fmt(key, th)} (clean)", fmt(key, v), ok))
    for key, header, _, _ in LIP_METRICS:
        worse = [s for s in ("jaw_flap", "rhubarb_like") if not better(key, clean[key], res[(s, "clean")][key])]
        rows.append((f"better than both baselines: {header} (clean)",
                     f"{fmt(key, clean[key])} vs {fmt(key, res[('jaw_flap', 'clean')][key])} / "
                     f"{fmt(key, res[('rhubarb_like', 'clean')][key])}", not worse))
    for cond in CONDITIONS[1:]:
        deg = res.get(("model", cond))
        if deg is None:
            continue
        for key, header, hib, _ in LIP_METRICS:
            c, g = clean[key], deg[key]
            if key == "abs_lag":
                ok, shown = g <= TARGETS["abs_lag"], f"{g:.1f} ms (clean {c:.1f})"
            elif key == "jitter_dev":              # near 0 when good: compare the raw jitter instead
                c, g = clean["jitter"], deg["jitter"]
                loss = relative_loss(c, g, False)
                ok, shown = loss <= DEGRADE_MAX_LOSS, f"jitter {g:.2f} /s^2 (clean {c:.2f}, {loss:+.0%})"
            elif hib and not c > 0:                # nothing to lose: not a pass
                ok, shown = False, f"{fmt(key, g)} (clean {fmt(key, c)}: nothing to keep)"
            else:
                loss = relative_loss(c, g, hib)
                ok, shown = loss <= DEGRADE_MAX_LOSS, f"{fmt(key, g)} (clean {fmt(key, c)}, loss {loss:+.0%})"
            name = f"{cond}: |lag| <= 20 ms" if key == "abs_lag" else f"{cond}: {header} loses <= 15%"
            rows.append((name, shown, bool(ok)))
    return rows


SEED_MAX_LIP_RANGE = 0.05      # lip rates may move at most 5 points across seeds
SEED_MIN_UPPER = 0.25          # upper-face spread at least a quarter of the teacher's


def style_verdicts(div, sweeps):
    """[(check, value, ok)] for the model's seeds and sliders (empty without a model)."""
    rows = []
    if "model" in div:
        m, t = div["model"], div["teacher"]
        ratio = m["upper_spread"] / t["upper_spread"] if t["upper_spread"] else float("nan")
        rows.append(("seeds: upper face differs between takes (spread >= 25% of the teacher's)",
                     f"{m['upper_spread']:.4f} (x{ratio:.2f} of the teacher's)", ratio >= SEED_MIN_UPPER))
        worst = max(m["bilabial_range"], m["rounding_range"])
        rows.append(("seeds: lips stay faithful (bilabial and rounding rates move <= 5 points)",
                     f"{m['bilabial_range']:.1%} / {m['rounding_range']:.1%}; lip spread {m['lip_spread']:.4f}",
                     worst <= SEED_MAX_LIP_RANGE))
    for row, sw in sweeps.items():
        if "model" in sw:
            ok, effect = slider_ok(sw, "model", SLIDER_ROWS[row][2])
            rows.append((f"slider {row}: {SLIDER_ROWS[row][1]} moves monotonically", f"x{effect:.2f} of the teacher's change", ok))
    return rows


def write_report(path, res, div, sweeps, info, plots):
    L = []
    w = L.append
    w("# Parley motion model: evaluation report\n")
    w(f"Generated by `models/training/evaluate.py` on {info['date']} in {info['elapsed']:.0f} s "
      f"(1 CPU thread).\n")
    rows = target_rows(res)
    if rows:
        clean = res[("model", "clean")]
        n_ok = sum(ok for _, _, ok in rows)
        w(f"**Summary** (model {info['version']}, clean held-out voices): bilabial closure "
          f"{clean['bilabial']:.1%}, /f v/ tuck {clean['tuck']:.1%}, rounding {clean['rounding']:.1%}, "
          f"openness rho {clean['openness']:+.2f}, lag {clean['lag']:+.1f} ms; "
          f"{n_ok} of {len(rows)} lip-sync checks pass"
          + (f", {sum(ok for _, _, ok in style_verdicts(div, sweeps))} of {len(style_verdicts(div, sweeps))} "
             "style checks" if style_verdicts(div, sweeps) else "") + ".\n")
    w("Reproduce:\n")
    w(f"```\n{info['command']}\n```\n")
    w(f"- Model: `{info['model']}` version **{info['version']}** (sha256 {info['sha']}); code at "
      f"commit {info['commit']}.")
    w(f"- Corpus: `{info['corpus']}`, held-out voices only (never trained on): "
      f"{', '.join(f'{v} ({n} utts)' for v, n in info['voices'].items())}; "
      f"{info['n_utts']} utterances, {info['minutes']:.1f} min of audio, teacher curves at {info['fps']:g} fps.")
    w(f"- Conditions: {', '.join(info['conditions'])} (degradations from `augment.py`: white noise at 10 dB SNR over the "
      f"speech frames, a synthetic room with RT60 {REVERB_RT60} s, telephone band 300-3400 Hz through 8 kHz "
      "mu-law; seed fixed per utterance).")
    w(f"- Pocketsphinx phone loop (no transcript): frame-level phone accuracy on clean audio "
      f"{info['phone_acc'].get('clean', float('nan')):.1%}"
      + "".join(f", {c} {a:.1%}" for c, a in info["phone_acc"].items() if c != "clean") + ".\n")
    w("Reference = the shard's teacher curves. Systems: **model** (style = the utterance's named "
      "style, seed 0); **jaw flap** (RMS envelope -> jawOpen only); **phone loop + teacher** "
      "(pocketsphinx allphone, same style); **ceiling** (teacher on the true phones, same style, "
      "another seed: its all-curve L1 is the seeded upper face no system can predict; identical "
      "in every condition).\n")
    w("Metric definitions (`models/training/metrics.py`): lip gap = max(jawOpen - mouthClose, 0) + "
      "mean mouthLowerDown + mean mouthUpperUp. **Bilabial closure**: a /p b m/ interval counts when "
      f"the gap is <= {M.CLOSED_GAP} at one of its frames *and* >= {M.OPEN_GAP} within "
      f"{M.EVENT_WINDOW * 1000:.0f} ms of it (a closure is an event: a mouth that never opens scores 0). "
      f"**Tuck**: mouthRollLower >= {M.TUCK_MIN} in a /f v/ interval and <= {M.TUCK_MIN / 2} within "
      f"{M.EVENT_WINDOW * 1000:.0f} ms. **Rounding**: mouthPucker + mouthFunnel >= {M.ROUND_MIN} in a "
      f"/w uw ow/ interval and {M.ROUND_CONTRAST} above the utterance's median. **Openness rho**: Spearman "
      "of per-vowel-class mean jawOpen (central half of each monophthong, pooled) against phonetic "
      "height; *rho vs teacher* against the teacher's class means. **Lag**: peak of the lip-curve "
      "cross-correlation with the reference, sub-frame by parabola, + = late. **Jitter**: mean "
      "|second difference| of the lip curves x fps^2; *jitter vs teacher* = |log2(jitter / the "
      "reference's jitter)|, 0 = as smooth as the teacher, so frame noise and a frozen mouth both score "
      "badly. L1 = mean absolute curve error against the reference (lips: jaw*, mouth*, cheekPuff).\n")
    w("## Lip sync\n")
    head = ["condition", "system", "L1 all"] + [h for _, h, _, _ in LIP_METRICS] + [
        "rho vs teacher", "lag ms", "jitter /s^2"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for cond in info["conditions"]:
        for s in SYSTEMS:
            r = res.get((s, cond))
            if r is None or (s == "ceiling" and cond != "clean"):
                continue
            cells = [cond, SYSTEM_LABEL[s], f"{r['l1_all']:.4f}"] + [fmt(k, r[k]) for k, _, _, _ in LIP_METRICS]
            cells += [f"{r['openness_vs_teacher']:+.2f}", f"{r['lag']:+.1f}", f"{r['jitter']:.2f}"]
            w("| " + " | ".join(cells) + " |")
    r0 = res[("ceiling", "clean")]
    w(f"\nIntervals scored per system and condition: /p b m/ {r0['n_bilabial']}, /f v/ {r0['n_tuck']}, "
      f"/w uw ow/ {r0['n_rounding']}.\n")
    w("Gesture depth on clean audio, median over intervals (what the rates threshold): lowest lip gap "
      f"in /p b m/ (closed <= {M.CLOSED_GAP}), highest mouthRollLower in /f v/ (tucked >= {M.TUCK_MIN}), "
      f"highest pucker + funnel in /w uw ow/ (rounded >= {M.ROUND_MIN}).\n")
    w("| system | /p b m/ min gap | /f v/ max roll | /w uw ow/ max rounding |")
    w("|---|---|---|---|")
    for s in SYSTEMS:
        r = res.get((s, "clean"))
        if r is not None:
            dp = r["depth"]
            w(f"| {SYSTEM_LABEL[s]} | {dp['closure']:.3f} | {dp['tuck']:.3f} | {dp['rounding']:.3f} |")
    w("")
    w("False gestures, which the rates above cannot see (a face that closes or tucks everywhere scores them well): "
      f"frames with the lips closed (gap <= {M.CLOSED_GAP}) in the central half of an open vowel (EH AH AO AE AA), "
      f"and frames with mouthRollLower >= {M.TUCK_MIN} more than 100 ms from any /f v/. Lower is better.\n")
    w("| condition | system | lips closed in open vowels | lip rolled in outside /f v/ |")
    w("|---|---|---|---|")
    for cond in info["conditions"]:
        for s in SYSTEMS:
            r = res.get((s, cond))
            if r is None or (s == "ceiling" and cond != "clean") or "false" not in r:
                continue
            fg = r["false"]
            w(f"| {cond} | {SYSTEM_LABEL[s]} | {fmt('false', fg['closed_vowel'])} | {fmt('false', fg['tuck_elsewhere'])} |")
    w("")
    if rows:
        w("## Targets (issue 4)\n")
        w("| target | value | result |")
        w("|---|---|---|")
        for name, val, ok in rows:
            w(f"| {name} | {val} | {'PASS' if ok else '**FAIL**'} |")
        n_fail = sum(not ok for _, _, ok in rows)
        w(f"\n{len(rows) - n_fail} of {len(rows)} checks pass.\n")
    else:
        w("## Targets\n\nNo model was evaluated in this run (baselines only).\n")
    w("## Style\n")
    srows = style_verdicts(div, sweeps)
    if srows:
        n_ok = sum(ok for _, _, ok in srows)
        w(f"Style checks: {n_ok} of {len(srows)} pass.\n")
        w("| check | value | result |")
        w("|---|---|---|")
        for name, val, ok in srows:
            w(f"| {name} | {val} | {'PASS' if ok else '**FAIL**'} |")
        w("")
    if div:
        w(f"Seeds 0-{info['seeds'] - 1} on {info['style_utts']} clean utterances with their own styles. "
          "Spread = mean over frames and curves of the std across seeds.\n")
        w("| system | upper-face spread | lip spread | bilabial range | rounding range | L1-lips range |")
        w("|---|---|---|---|---|---|")
        for s, d in div.items():
            w(f"| {s} | {d['upper_spread']:.4f} | {d['lip_spread']:.4f} | {d['bilabial_range']:.1%} | "
              f"{d['rounding_range']:.1%} | {d['l1_lip_range']:.4f} |")
        w("")
    if sweeps:
        w(f"Sliders: each named axis swept over 5 values from its low to its high end (others at "
          f"default, seed 0, {info['style_utts']} utterances; the random processes, brows and blinks, over "
          f"{info['blink_utts']} utterances x 10 seeds); the quantity it names must move monotonically "
          "(steps against the direction under 2% of the total change are tolerated) and change by at least "
          f"{SLIDER_MIN_EFFECT:.0%} of what the same sweep changes in the teacher. The teacher's column "
          "checks the quantity itself.\n")
        has_model = any("model" in v for v in sweeps.values())
        hdr = "| axis | quantity (expected) | teacher | teacher values |" + (" model | model values |" if has_model else "")
        w(hdr)
        w("|" + "---|" * (hdr.count("|") - 1))
        for axis, sw in sweeps.items():
            _, q, inc, _ = SLIDER_ROWS[axis]
            cells = [axis, f"{q} ({'up' if inc else 'down'})"]
            for s in ("teacher", "model") if has_model else ("teacher",):
                ok, effect = slider_ok(sw, s, inc)
                shown = " ".join(f"{v:.3g}" for v in sw[s])
                if s == "model":
                    shown += f" (x{effect:.2f} of the teacher's change)"
                cells += ["PASS" if ok else "**FAIL**", shown]
            w("| " + " | ".join(cells) + " |")
        w("")
    w("## Plots\n")
    for p, cap in plots:
        w(f"![{cap}]({os.path.basename(p)})\n")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


# ---------------------------------------------------------------- plots

def _window(phones, duration, span=4.0):
    """Start of the ``span``-second window holding the most /p b m/ and /w uw ow/ intervals."""
    marks = [0.5 * (s + e) for s, e, lab in phones if M.base_label(lab) in M.BILABIALS + M.ROUNDED]
    starts = np.arange(0.0, max(duration - span, 0.0) + 1e-9, 0.25)
    counts = [sum(t0 <= m < t0 + span for m in marks) for t0 in starts]
    return float(starts[int(np.argmax(counts))]) if len(starts) else 0.0


def plot_utterance(path, d, curves, fps, span=4.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dur = d["audio"].size / d["sr"]
    t0 = _window(d["phones"], dur, span)
    t1 = min(dur, t0 + span)
    fig, axes = plt.subplots(4, 1, figsize=(10, 7), sharex=True,
                             gridspec_kw=dict(height_ratios=[1, 2, 1.5, 1.5]))
    a0, a1 = int(t0 * d["sr"]), int(t1 * d["sr"])
    t_a = np.arange(a0, a1) / d["sr"]
    axes[0].plot(t_a[::4], d["audio"][a0:a1:4], lw=0.4, color="0.3")
    axes[0].set_ylabel("audio")
    top = float(np.abs(d["audio"][a0:a1]).max()) or 1.0
    axes[0].set_ylim(-top, 1.6 * top)
    for s, e, lab in d["phones"]:
        b = M.base_label(lab)
        if b == "SIL" or e < t0 or s > t1:
            continue
        for ax in axes:
            if b in M.BILABIALS:
                ax.axvspan(s, e, color="tab:red", alpha=0.15, lw=0)
            elif b in M.ROUNDED:
                ax.axvspan(s, e, color="tab:blue", alpha=0.10, lw=0)
            elif b in M.LABIODENTALS:
                ax.axvspan(s, e, color="tab:olive", alpha=0.12, lw=0)
        axes[0].text(0.5 * (s + e), 1.25 * top, b, ha="center", fontsize=6)
    styles = {"reference": ("k", 2.2), "model": ("tab:green", 1.4), "jaw_flap": ("tab:orange", 1.0),
              "rhubarb_like": ("tab:purple", 1.0), "ceiling": ("0.5", 1.0)}
    panels = (("jawOpen", 0.75), ("mouthClose", 0.4), ("lip gap", 1.0))
    for ax, (name, ymax) in zip(axes[1:], panels):
        for s, c in curves.items():
            col, lw = styles[s]
            t = np.arange(c.shape[0]) / fps
            m = (t >= t0) & (t <= t1)
            y = M.lip_gap(c, NAMES) if name == "lip gap" else M.col(c, NAMES, name)
            ax.plot(t[m], y[m], color=col, lw=lw, ls="--" if s == "ceiling" else "-",
                    label=SYSTEM_LABEL.get(s, "teacher (reference)"))
        if name == "lip gap":
            ax.axhline(M.CLOSED_GAP, color="tab:red", lw=0.8, ls=":")
        ax.set_ylabel(name)
        ax.set_ylim(-0.02, ymax)
    axes[1].legend(fontsize=7, ncol=5, loc="upper right")
    axes[3].set_xlabel("s   (red: /p b m/, olive: /f v/, blue: /w uw ow/; dotted: closed below)")
    axes[3].set_xlim(t0, t1)
    fig.suptitle(f"{d['voice']} (held out): \"{d['text'][:100]}\"", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def plot_metrics(path, res, conditions):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [("bilabial", "bilabial closure"), ("tuck", "/f v/ tuck"), ("rounding", "rounding"),
            ("openness", "openness rho")]
    systems = [s for s in SYSTEMS if (s, "clean") in res]
    fig, axes = plt.subplots(1, len(keys), figsize=(11, 3.2))
    colors = {"model": "tab:green", "jaw_flap": "tab:orange", "rhubarb_like": "tab:purple", "ceiling": "0.55"}
    width = 0.8 / len(systems)
    for ax, (k, title) in zip(axes, keys):
        for j, s in enumerate(systems):
            vals = [res[(s, c if s != "ceiling" else "clean")][k] for c in conditions]
            ax.bar(np.arange(len(conditions)) + (j - (len(systems) - 1) / 2) * width, np.nan_to_num(vals),
                   width, color=colors[s], label=SYSTEM_LABEL[s])
        ax.axhline(TARGETS.get(k, np.nan), color="k", lw=0.8, ls=":")
        ax.set_xticks(np.arange(len(conditions)))
        ax.set_xticklabels(conditions, fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(min(0, ax.get_ylim()[0]), 1.05)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, ncol=4, loc="upper center")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=72)
    plt.close(fig)


def plot_sweeps(path, sweeps):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    axes_names = list(sweeps)
    n = len(axes_names)
    cols = 6
    fig, axes = plt.subplots(int(math.ceil(n / cols)), cols, figsize=(12, 4.2))
    for ax, name in zip(axes.flat, axes_names):
        sw = sweeps[name]
        for s, col in (("teacher", "0.5"), ("model", "tab:green")):
            if s in sw:
                ax.plot(sw["values"], sw[s], "o-", color=col, ms=3, lw=1.2, label=s)
        ax.set_title(f"{name}\n{SLIDER_ROWS[name][1]}", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    list(axes.flat)[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


# ---------------------------------------------------------------- main

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


def main(argv=None):
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
    args = ap.parse_args(argv)
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
    fps = utts[0]["fps"]
    max_lag = max(1, int(round(0.25 * fps)))
    accs = {}
    phone_acc = {}
    ref_tokens = M.merge_openness([M.vowel_openness(d["curves"], NAMES, fps, d["phones"]) for d in utts])
    example = {}
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
    style_utts = utts[:args.style_utts]
    many = utts[:args.blink_utts]
    div, sweeps = (style_checks(model, style_utts, fps, seeds=args.seeds, many_utts=many)
                   if args.style_utts else ({}, {}))
    print(f"[evaluate] style checks done ({time.time() - t0:.0f} s)", flush=True)

    os.makedirs(args.out, exist_ok=True)
    plots = []
    p = os.path.join(args.out, "eval_utterance.png")
    plot_utterance(p, utts[0], example, fps)
    plots.append((p, "one held-out utterance: jawOpen and mouthClose for every system"))
    p = os.path.join(args.out, "eval_metrics.png")
    plot_metrics(p, res, conditions)
    plots.append((p, "lip metrics per system and audio condition (dotted: target)"))
    if sweeps:
        p = os.path.join(args.out, "eval_sliders.png")
        plot_sweeps(p, sweeps)
        plots.append((p, "slider sweeps: the quantity each slider names, teacher vs model"))
    voices = {}
    for d in utts:
        voices[d["voice"]] = voices.get(d["voice"], 0) + 1
    cmd = ["python -m models.training.evaluate", f"--model {args.model}", f"--corpus {corpus}",
           f"--max-utts {args.max_utts}", f"--out {args.out}"]
    if args.conditions != ",".join(CONDITIONS):
        cmd.append(f"--conditions {args.conditions}")
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "elapsed": time.time() - t0,
        "command": " ".join(cmd), "model": args.model,
        "version": model.version if model else "none (baselines only)",
        "sha": sha256(args.model) if model else "-", "corpus": corpus, "voices": voices,
        "n_utts": len(utts), "minutes": sum(d["audio"].size / d["sr"] for d in utts) / 60.0, "fps": fps,
        "conditions": conditions, "phone_acc": {c: float(np.mean(v)) for c, v in phone_acc.items()},
        "commit": git_commit(), "seeds": args.seeds, "style_utts": len(style_utts), "blink_utts": len(many),
    }
    report = os.path.join(args.out, "EVAL_REPORT.md")
    write_report(report, res, div, sweeps, info, plots)
    print(f"[evaluate] wrote {report} ({time.time() - t0:.0f} s)")
    for name, val, ok in target_rows(res):
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
