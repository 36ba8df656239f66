"""Evaluation, compute: the held-out shards, their degraded audio, every system's curves on them, the pooled
metrics per (system, condition), and the seed and slider sweeps. Nothing here decides or writes anything."""
import glob
import hashlib
import math
import os

import numpy as np

from inference.arkit import RIG_NAMES
from inference.take import take_columns

from . import baselines as B
from . import metrics as M

NAMES = list(RIG_NAMES)
SYSTEMS = ("model", "jaw_flap", "rhubarb_like", "ceiling")
CONDITIONS = ("clean", "noise10db", "reverb", "telephone")
BASELINE_CACHE_VERSION = "1"   # bump when degrade() or run_systems() change what the baselines see
REVERB_RT60 = 0.5          # s, a medium room (direct-to-reverberant ratio drawn by augment.room_impulse)


def rig_order(values, names):
    """Curves [T, len(names)] with their columns in RIG_NAMES order (a missing name reads as 0)."""
    names = [str(n) for n in names]
    if names == NAMES:
        return values
    return take_columns(values, names, NAMES)


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
    d["curves"] = rig_order(np.asarray(d["curves"], np.float32), d["names"])
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
        return rig_order(np.asarray(c.values, np.float32), c.names)


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


