"""The teacher: phoneme timeline + style + seed -> coarticulated ARKit curves [T, 51].

Lower face (deterministic, never touched by the seed)
    Cohen-Massaro coarticulation: every segment has a target (``phonemes.TARGETS``) and, per
    articulator group (jaw, rounding, other lip shapes), a dominance function
    ``alpha * exp(-theta * distance)`` that falls off before (anticipation) and after (carry-over)
    the segment's core. Each curve is the dominance-weighted mean of the targets, so weak
    (tongue) consonants inherit the lips of their neighbours and rounding spreads across them.
    Lip-critical segments then force their targets with a smooth envelope that reaches the target
    *before* the segment starts and holds it to the end (for /p b/: to the acoustic release):
    /p b m/ seal the lips (``mouthClose`` cancels the jaw and other openers, ``mouthPress``),
    /f v/ roll the lower lip under the teeth, /w uw ow uh/ reach their rounding.
    Silence relaxes to a neutral, slightly open mouth; pauses longer than ``LONG_PAUSE`` close it.
    The output is smooth by construction: no frame-level noise anywhere.

Upper face and micro-motion (seeded)
    Brow raises on a random subset of stressed syllables (more with ``upper_face``, larger with an
    optional energy hint), blinks as a refractory Poisson process (10-20/min, extra blinks at
    pauses, both eyes together, 100-300 ms), slow gaze shifts and brow drift.

Style (``models.training.style_axes``): articulation scales lip/jaw amplitude, jaw_lips trades
jawOpen against lip shapes, smile adds a smile/frown bias, asymmetry imbalances L/R, timing
shifts the lower face by 40 ms/unit (positive = motion leads audio), smoothness widens the
dominance functions, upper_face scales brow activity and blink rate, and the emotions add
coherent upper- and lower-face expressions applied before the lip-critical targets, so closures
survive every emotion.

The whole thing is vectorised numpy: a 5 s utterance takes a few milliseconds.
"""
import numpy as np

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError

from . import phonemes as P
from .style_axes import STYLE_AXES, STYLE_NAMES

NAMES = RIG_NAMES
K = len(NAMES)
IDX = {n: i for i, n in enumerate(NAMES)}
LONG_PAUSE = 0.30          # s: pauses at least this long close the mouth
LEAD_PER_UNIT = 0.040      # s of lower-face lead per unit of the timing axis


def _ix(*names):
    return np.array([IDX[n] for n in names], dtype=np.int64)


GROUP_CHANNELS = {
    "jaw": _ix("jawOpen", "jawForward"),
    "round": _ix("mouthFunnel", "mouthPucker"),
}
_lower = [n for n in NAMES if n.startswith(("mouth", "jaw", "cheekPuff"))]
GROUP_CHANNELS["lips"] = _ix(*[n for n in _lower if IDX[n] not in
                               set(GROUP_CHANNELS["jaw"]) | set(GROUP_CHANNELS["round"])])

# target table [n_phones, K] and dominance table [n_phones, groups, 3]
_TGT = np.zeros((len(P.PHONES), K), np.float64)
for _p, _d in P.TARGETS.items():
    for _n, _v in _d.items():
        _TGT[P.PHONE_INDEX[_p], IDX[_n]] = _v
_DOM = np.array([[P.DOMINANCE[p][g] for g in P.GROUPS] for p in P.PHONES], np.float64)
_SIL = P.PHONE_INDEX[P.SILENCE]
_IS_VOWEL = np.array([p in P.VOWELS for p in P.PHONES])
_IS_BILABIAL = np.array([p in P.BILABIAL for p in P.PHONES])
_IS_LABIODENTAL = np.array([p in P.LABIODENTAL for p in P.PHONES])
_IS_ROUNDING = np.array([p in P.LIP_ROUNDING_TARGETS for p in P.PHONES])

_PRESS = _ix("mouthPress_L", "mouthPress_R")
_LIP_OPENERS = _ix("mouthLowerDown_L", "mouthLowerDown_R", "mouthUpperUp_L", "mouthUpperUp_R",
                   "mouthFunnel", "mouthStretch_L", "mouthStretch_R", "mouthShrugUpper")
_LEFT = np.array([i for i, n in enumerate(NAMES) if n.endswith("_L") and n.startswith(("mouth", "cheek"))])
_RIGHT = np.array([IDX[NAMES[i][:-2] + "_R"] for i in _LEFT])

# emotion expressions (full intensity); lower-face parts are deterministic
EMOTION_FACE = {
    "happy": P.expand(dict(mouthSmile=0.45, cheekSquint=0.30, eyeSquint=0.18, mouthDimple=0.12,
                           browOuterUp=0.05)),
    "sad": P.expand(dict(mouthFrown=0.40, browInnerUp=0.50, browDown=0.10, mouthShrugLower=0.18,
                         mouthPress=0.08, eyeLookDown_L=0.0)),
    "angry": P.expand(dict(browDown=0.55, noseSneer=0.30, eyeSquint=0.25, mouthUpperUp=0.10,
                           mouthStretch=0.08, mouthPress=0.10, jawForward=0.05)),
    "surprised": P.expand(dict(browInnerUp=0.55, browOuterUp=0.55, eyeWide=0.45, jawOpen=0.06,
                               mouthFunnel=0.05)),
}
# how each emotion scales overall articulation (sad speakers mumble, angry/surprised open up)
EMOTION_ARTIC = {"happy": 0.05, "sad": -0.25, "angry": 0.15, "surprised": 0.15}


def style_dict(style):
    """Style as {axis: value} with every axis present; accepts None, a dict or an [S] array."""
    out = {a.name: a.default for a in STYLE_AXES}
    if style is None:
        return out
    if isinstance(style, dict):
        for k, v in style.items():
            if k not in out:
                raise ParleyError(f"unknown style axis {k!r}; known axes: {', '.join(STYLE_NAMES)}")
            out[k] = float(v)
    else:
        arr = np.asarray(style, dtype=np.float64).reshape(-1)
        if arr.shape[0] != len(STYLE_NAMES):
            raise ParleyError(f"style vector has {arr.shape[0]} values, expected {len(STYLE_NAMES)} "
                              f"({', '.join(STYLE_NAMES)})")
        out.update(zip(STYLE_NAMES, arr.tolist()))
    for a in STYLE_AXES:
        out[a.name] = a.clamp(out[a.name])
    return out


def _segments(ph):
    """Expand diphthongs and mark long pauses -> a segment table for :func:`lower_face_segments`.

    Returns a dict of arrays over segments: ``s``, ``e``, ``tgt`` [N, K] (targets at full
    articulation), ``dom`` [N, G, 3], ``gain``, ``long_sil``, ``sil`` (is silence), and the
    lip-critical degrees ``closure`` (bilabial seal), ``tuck`` (labiodental) and ``rounding``.
    """
    s, e, idx, gain, long_sil = [], [], [], [], []
    for start, end, base, stress in ph:
        g = 1.0 if stress is None else (0.78, 1.05, 0.92)[stress]
        if base in P.DIPHTHONGS:
            a, b, frac = P.DIPHTHONGS[base]
            mid = start + frac * (end - start)
            s += [start, mid]; e += [mid, end]
            idx += [P.PHONE_INDEX[a], P.PHONE_INDEX[b]]; gain += [g, g * 0.9]; long_sil += [False, False]
        else:
            s.append(start); e.append(end); idx.append(P.PHONE_INDEX[base]); gain.append(g)
            long_sil.append(base == P.SILENCE and end - start >= LONG_PAUSE)
    idx = np.array(idx, np.int64)
    return dict(s=np.array(s), e=np.array(e), tgt=_TGT[idx], dom=_DOM[idx], gain=np.array(gain),
                long_sil=np.array(long_sil, bool), sil=idx == _SIL,
                closure=_IS_BILABIAL[idx].astype(np.float64), tuck=_IS_LABIODENTAL[idx].astype(np.float64),
                rounding=_IS_ROUNDING[idx])


def _envelope(t, s, e, ramp_in, ramp_out):
    """[T, N] smooth plateau envelopes: 1 on [s, e], raised-cosine ramps outside."""
    before = np.clip((s[None, :] - t[:, None]) / ramp_in, 0.0, 1.0)
    after = np.clip((t[:, None] - e[None, :]) / ramp_out, 0.0, 1.0)
    return 0.5 * (1 + np.cos(np.pi * before)) * 0.5 * (1 + np.cos(np.pi * after))


def lower_face(ph, t, st):
    """Deterministic lower-face curves [T, K] for normalised phones ``ph`` at frame times ``t``."""
    T = t.shape[0]
    out = np.zeros((T, K))
    if not ph:
        out[:, IDX["jawOpen"]] = P.TARGETS[P.SILENCE]["jawOpen"] * 0
        return out, np.zeros(T)
    return lower_face_segments(_segments(ph), t, st)


def lower_face_segments(seg, t, st):
    """Lower face [T, K] from a segment table (see :func:`_segments`); also returns the seal."""
    out = np.zeros((t.shape[0], K))
    lead = LEAD_PER_UNIT * st["timing"]
    s = seg["s"] - lead
    e = seg["e"] - lead
    width = np.exp(0.55 * st["smoothness"])            # >1 widens dominance (smooth), <1 crisp
    tgt = _segment_targets(seg, st)
    _coarticulate(out, t, s, e, seg, tgt, width)
    _lower_style_biases(out, st)
    Eb = _lip_gestures(out, t, s, e, seg, st, width)
    # seal: mouthClose cancels the jaw opening wherever a bilabial holds
    out[:, IDX["mouthClose"]] = np.maximum(out[:, IDX["mouthClose"]], Eb * out[:, IDX["jawOpen"]])
    np.clip(out, 0.0, 1.0, out=out)
    return out, Eb


def _segment_targets(seg, st):
    """Per-segment targets [N, K] with the style's amplitude."""
    emo_art = sum(EMOTION_ARTIC[k] * st[k] for k in EMOTION_ARTIC)
    amp = (1.0 + 0.42 * st["articulation"] + emo_art) * seg["gain"]
    amp = np.where(seg["sil"], 1.0, amp)
    tgt = seg["tgt"] * amp[:, None]
    ja = st["jaw_lips"]
    tgt[:, GROUP_CHANNELS["jaw"]] *= 1.0 + 0.45 * ja
    tgt[:, GROUP_CHANNELS["lips"]] *= 1.0 - 0.40 * ja
    tgt[:, GROUP_CHANNELS["round"]] *= 1.0 - 0.30 * ja
    tgt[seg["long_sil"]] = 0.0                         # long pauses: closed, neutral mouth
    return tgt


def _coarticulate(out, t, s, e, seg, tgt, width):
    """Cohen-Massaro dominance, distance to the segment's core (middle 60 %), per articulator group."""
    d = e - s
    shrink = np.where(seg["sil"], 0.0, 0.2 * d)       # silences hold over their whole interval
    core_s = s + shrink
    core_e = e - shrink
    dom = seg["dom"].copy()                            # [N, G, 3]
    dom[seg["long_sil"], :, 0] = 2.0
    before = np.maximum(core_s[None, :] - t[:, None], 0.0)   # [T, N]
    after = np.maximum(t[:, None] - core_e[None, :], 0.0)
    for g, name in enumerate(P.GROUPS):
        alpha, th_a, th_c = dom[:, g, 0], dom[:, g, 1] / width, dom[:, g, 2] / width
        D = alpha[None, :] * np.exp(-(before * th_a[None, :] + after * th_c[None, :])) + 1e-9
        D /= D.sum(axis=1, keepdims=True)
        ch = GROUP_CHANNELS[name]
        out[:, ch] = D @ tgt[:, ch]


def _lower_style_biases(out, st):
    """Style biases that belong to the lower face (seed-independent): smile/frown, emotions, asymmetry."""
    sm = st["smile"]
    for n in ("mouthSmile_L", "mouthSmile_R"):
        out[:, IDX[n]] += 0.32 * max(sm, 0.0)
    for n in ("mouthFrown_L", "mouthFrown_R"):
        out[:, IDX[n]] += 0.30 * max(-sm, 0.0)
    for emo, face in EMOTION_FACE.items():
        w = st[emo]
        if w > 0:
            for n, v in face.items():
                if n.startswith(("mouth", "jaw", "cheek", "nose")):
                    out[:, IDX[n]] += w * v
    asym = st["asymmetry"]
    if asym:
        out[:, _LEFT] *= 1.0 + 0.35 * asym
        out[:, _RIGHT] *= 1.0 - 0.35 * asym
        out[:, IDX["mouthLeft" if asym > 0 else "mouthRight"]] += 0.12 * abs(asym)


def _lip_gestures(out, t, s, e, seg, st, width):
    """Lip-critical targets: reach before the segment, hold to its end (release); -> the bilabial envelope [T].

    Ramps never take more than half of the neighbouring segment, so a short vowel between two bilabials still
    opens (ramp times are the lips' closing/opening gestures)."""
    d = e - s
    prev_d = np.concatenate([[0.2], d[:-1]])
    next_d = np.concatenate([d[1:], [0.2]])
    ramp_in = np.minimum(0.065 * width, np.maximum(0.5 * prev_d, 0.035))
    ramp_out = np.minimum(0.045 * width, np.maximum(0.5 * next_d, 0.035))
    bil = seg["closure"] > 0
    Eb = _bilabial(out, t, s, e, seg, st, ramp_in, ramp_out, bil) if bil.any() else np.zeros(t.shape[0])
    ld = seg["tuck"] > 0
    if ld.any():
        _labiodental(out, t, s, e, seg, st, ramp_in, ramp_out, ld)
    rd = seg["rounding"]
    if rd.any():
        Er_i = _envelope(t, s[rd] - 0.010, e[rd], 0.08 * width, ramp_out[rd])
        rscale = max(0.75, 1.0 + 0.3 * st["articulation"]) * (1.0 - 0.2 * st["jaw_lips"])
        for n in ("mouthPucker", "mouthFunnel"):
            v = (Er_i * (seg["tgt"][rd, IDX[n]] * rscale)[None, :]).max(axis=1)
            if n == "mouthFunnel":
                v *= 1.0 - Eb                            # a bilabial inside rounding stays sealed
            out[:, IDX[n]] = np.maximum(out[:, IDX[n]], v)
    return Eb


def _bilabial(out, t, s, e, seg, st, ramp_in, ramp_out, bil):
    """/p b m/ (weighted by the closure degree): the plateau starts 15 ms before the acoustic segment and
    always covers its middle frame."""
    ps, pe = s[bil] - 0.015, e[bil]
    Eb_i = _envelope(t, ps, pe, ramp_in[bil], ramp_out[bil]) * seg["closure"][bil][None, :]
    Eb = Eb_i.max(axis=1)
    jaw = out[:, IDX["jawOpen"]]
    out[:, IDX["jawOpen"]] = jaw - Eb * np.maximum(jaw - 0.10, 0.0)
    out[:, _LIP_OPENERS] *= (1.0 - Eb)[:, None]
    press_t = seg["tgt"][bil][:, _PRESS] * max(0.75, 1.0 + 0.3 * st["articulation"])
    press = np.einsum("tn,nk->tnk", Eb_i, press_t).max(axis=1)
    out[:, _PRESS] = np.maximum(out[:, _PRESS], press)
    return Eb


def _labiodental(out, t, s, e, seg, st, ramp_in, ramp_out, ld):
    """/f v/ (weighted by the tuck degree): the lower lip rolls in under the upper teeth, the jaw nearly closes."""
    Ef_i = _envelope(t, s[ld] - 0.010, e[ld], ramp_in[ld], ramp_out[ld]) * seg["tuck"][ld][None, :]
    Ef = Ef_i.max(axis=1)
    roll_t = seg["tgt"][ld, IDX["mouthRollLower"]] * max(0.8, 1.0 + 0.25 * st["articulation"])
    roll = (Ef_i * roll_t[None, :]).max(axis=1)
    out[:, IDX["mouthRollLower"]] = np.maximum(out[:, IDX["mouthRollLower"]], roll)
    for n in ("mouthUpperUp_L", "mouthUpperUp_R"):
        out[:, IDX[n]] = np.maximum(out[:, IDX[n]], 0.16 * Ef)
    jaw = out[:, IDX["jawOpen"]]
    out[:, IDX["jawOpen"]] = jaw - Ef * np.maximum(jaw - 0.12, 0.0)
    for n in ("mouthLowerDown_L", "mouthLowerDown_R", "mouthFunnel"):
        out[:, IDX[n]] *= 1.0 - 0.8 * Ef


def _smooth_noise(rng, t, knot_dt, amp):
    """Slow, smooth noise (cubic-ish interpolation of random knots); no frame-level jitter."""
    if t.shape[0] == 0:
        return np.zeros(0)
    n = int(np.ceil((t[-1] + 1e-9) / knot_dt)) + 4
    knots = rng.normal(0.0, amp, n)
    kt = (np.arange(n) - 1) * knot_dt
    x = np.clip((t - kt[0]) / knot_dt, 0, n - 1.000001)
    i = np.floor(x).astype(int)
    f = x - i
    f = f * f * (3 - 2 * f)                            # smoothstep between knots
    return knots[i] * (1 - f) + knots[np.minimum(i + 1, n - 1)] * f


def upper_face(ph, t, st, rng, energy=None):
    """Seeded upper face: brows on stress, blinks, gaze and brow micro-motion [T, K]."""
    T = t.shape[0]
    out = np.zeros((T, K))
    dur = float(t[-1]) + 1e-9 if T else 0.0
    uf = st["upper_face"]
    act = 0.25 + 0.75 * (uf + 1.0) / 2.0               # 0.25 (still) .. 1 (animated)
    # the draws from rng in this order: brows, blinks, gaze, emotions
    _brow_accents(out, ph, t, rng, energy, dur, act)
    _blinks(out, ph, t, rng, dur, uf, act)
    if T:
        _gaze_and_drift(out, t, rng, dur, act)
    _upper_emotions(out, t, st, rng)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _brow_accents(out, ph, t, rng, energy, dur, act):
    """Brows on stressed syllables (pitch accents); an energy hint enlarges loud ones."""
    T = t.shape[0]
    acc_s, acc_e, acc_w = [], [], []
    for (start, end, base, stress) in ph:
        if base in P.VOWELS and stress == 1 and end - start > 0.04:
            w = 1.0
            if energy is not None and T:
                k = min(T - 1, int(round(0.5 * (start + end) * (T / max(dur, 1e-9)))))
                w = 0.6 + 0.8 * float(np.clip(energy[k], 0, 1))
            acc_s.append(start); acc_e.append(end); acc_w.append(w)
    if acc_s:
        n = len(acc_s)
        pick = rng.random(n) < (0.2 + 0.4 * act)
        amp = rng.uniform(0.12, 0.38, n) * np.array(acc_w) * act * pick
        inner_frac = rng.uniform(0.4, 1.0, n)
        env = _envelope(t, np.array(acc_s) - 0.05, np.array(acc_e), 0.12, 0.28)
        raise_ = env * amp[None, :]
        out[:, IDX["browOuterUp_L"]] += raise_.sum(axis=1)
        out[:, IDX["browOuterUp_R"]] += raise_.sum(axis=1)
        out[:, IDX["browInnerUp"]] += (raise_ * inner_frac[None, :]).sum(axis=1)


def _blinks(out, ph, t, rng, dur, uf, act):
    """A refractory Poisson process at 10-20 /min; most blinks near a pause move to its start."""
    rate = (16.0 + 5.0 * uf) / 60.0
    times = []
    tt = rng.exponential(1.0 / rate) * rng.random()
    while tt < dur:
        times.append(tt)
        tt += 0.5 + rng.exponential(max(1.0 / rate - 0.5, 0.2))
    # blinks cluster at pauses: most blinks near a pause move to its start (the rate stays the same)
    pauses = np.array([start for (start, end, base, stress) in ph
                       if base == P.SILENCE and end - start >= 0.18 and start > 0.2])
    if pauses.size:
        for j, x in enumerate(times):
            near = pauses[np.abs(pauses - x) < 1.5]
            if near.size and rng.random() < 0.45 + 0.3 * act:
                times[j] = float(near[np.argmin(np.abs(near - x))] + rng.uniform(0.0, 0.12))
    times.sort()
    kept = []
    for x in times:
        if not kept or x - kept[-1] > 0.45:
            kept.append(x)
    if kept:
        bt = np.array(kept)
        bd = rng.uniform(0.10, 0.30, bt.shape[0])
        close = 0.38 * bd
        peak = rng.uniform(0.85, 1.0, bt.shape[0])
        rel = t[:, None] - bt[None, :]
        up = np.clip(rel / close[None, :], 0, 1)
        down = np.clip((rel - close[None, :]) / (bd - close)[None, :], 0, 1)
        shape = np.where(rel < close[None, :], np.sin(0.5 * np.pi * up), np.cos(0.5 * np.pi * down))
        shape = np.where((rel < 0) | (rel > bd[None, :]), 0.0, shape)
        blink = (shape * peak[None, :]).max(axis=1)
        out[:, IDX["eyeBlink_L"]] = blink
        out[:, IDX["eyeBlink_R"]] = blink


def _gaze_and_drift(out, t, rng, dur, act):
    """Gaze: slow saccade-like shifts (smoothed steps), small; and the brows' slow drift."""
    T = t.shape[0]
    gx = np.zeros(T); gy = np.zeros(T)
    tt, x, y = 0.0, 0.0, 0.0
    while tt < dur:
        nxt = tt + rng.uniform(0.8, 2.8)
        x, y = rng.normal(0, 0.10), rng.normal(0, 0.07)
        m = (t >= tt) & (t < nxt)
        gx[m], gy[m] = x, y
        tt = nxt
    kern = np.hanning(5); kern /= kern.sum()
    gx = np.convolve(np.pad(gx, 2, mode="edge"), kern, "valid")
    gy = np.convolve(np.pad(gy, 2, mode="edge"), kern, "valid")
    # +x: look to the character's left
    out[:, IDX["eyeLookOut_L"]] = np.maximum(gx, 0); out[:, IDX["eyeLookIn_R"]] = np.maximum(gx, 0)
    out[:, IDX["eyeLookIn_L"]] = np.maximum(-gx, 0); out[:, IDX["eyeLookOut_R"]] = np.maximum(-gx, 0)
    out[:, IDX["eyeLookUp_L"]] = out[:, IDX["eyeLookUp_R"]] = np.maximum(gy, 0)
    out[:, IDX["eyeLookDown_L"]] = out[:, IDX["eyeLookDown_R"]] = np.maximum(-gy, 0)
    drift = _smooth_noise(rng, t, 0.7, 0.03 * act)
    out[:, IDX["browInnerUp"]] += np.maximum(drift, 0)
    for n in ("browDown_L", "browDown_R"):
        out[:, IDX[n]] += np.maximum(-drift, 0)


def _upper_emotions(out, t, st, rng):
    """Emotions, upper part (slowly breathing intensity, seeded)."""
    for emo, face in EMOTION_FACE.items():
        w = st[emo]
        if w > 0:
            wt = w * (1.0 + _smooth_noise(rng, t, 1.0, 0.08))
            for n, v in face.items():
                if n.startswith(("brow", "eye")):
                    out[:, IDX[n]] += wt * v


def num_frames(phones_end, fps, duration=None):
    d = phones_end if duration is None else float(duration)
    return int(np.ceil(d * fps - 1e-6))


def teach(phones, fps=50.0, style=None, seed=0, duration=None, energy=None):
    """Phoneme timeline -> ARKit curves float32 [T, 51] in ``RIG_NAMES`` order.

    phones   list of (start_s, end_s, ARPAbet label), ``sil`` for silence, stress digits allowed.
    fps      output frame rate; frame k samples time k / fps.
    style    dict {axis: value} or [S] array in ``STYLE_NAMES`` order (None = neutral).
    seed     drives blinks, brows, gaze and micro-motion only; lip curves do not depend on it.
    duration total length in seconds (default: end of the last phone); T = ceil(duration * fps).
    energy   optional [T] loudness/pitch-accent hint in 0..1 that scales brow raises.
    """
    if fps <= 0:
        raise ParleyError(f"fps must be positive, got {fps}")
    ph = P.normalise(phones)
    end = max((p[1] for p in ph), default=0.0)
    if not ph and duration is None:
        raise ParleyError("empty phoneme timeline; pass at least one phone or a duration")
    T = num_frames(end, fps, duration)
    t = np.arange(T) / float(fps)
    st = style_dict(style)
    low, _ = lower_face(ph, t, st)
    rng = np.random.default_rng(seed)
    up = upper_face(ph, t, st, rng, energy)
    out = np.clip(low + up, 0.0, 1.0)
    return out.astype(np.float32)
