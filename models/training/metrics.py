"""Lip-sync and style metrics on ARKit curves (pure numpy; no torch, no scipy).

Curves are float arrays [T, K] with a list of K names (any order; usually ``RIG_NAMES``) at a
frame rate ``fps``; frame k samples time k / fps. Phones are ``(start_s, end_s, label)`` with
ARPAbet labels (stress digits allowed, ``sil`` for silence).

Definitions (the numbers in ``EVAL_REPORT.md`` mean exactly this):

* **Frames of an interval.** A frame belongs to a phone interval [s, e] when its time lies within
  half a frame of it (its sample-and-hold span overlaps the interval); an interval shorter than a
  frame still gets the frame nearest to its middle.
* **Lip gap** (ARKit semantics: ``mouthClose`` brings the lips together *while the jaw stays
  open*, so it cancels jawOpen; ``mouthLowerDown``/``mouthUpperUp`` pull the lips apart)::

      gap = max(jawOpen - mouthClose, 0) + mean(mouthLowerDown_L/R) + mean(mouthUpperUp_L/R)

  **Closed** means ``gap <= CLOSED_GAP`` (0.05 of full jaw opening, about 1 mm of lip gap on an
  adult face). ``mouthPress`` is not counted as closing: it presses lips that are already
  together and does not cancel an open jaw; a face whose only motion is jawOpen (the jaw-flap
  baseline) is closed only where its jaw is nearly shut.
* A gesture is an *event*, so each rate also asks for contrast; a mouth frozen shut (or frozen
  in a pucker) scores 0, not 100 %:

  - **Bilabial closure rate**: fraction of /p b m/ intervals with a closed frame *and* an open
    one (``gap >= OPEN_GAP``) within ``EVENT_WINDOW`` (200 ms) of the interval.
  - **Labiodental tuck rate**: fraction of /f v/ intervals with ``mouthRollLower >= TUCK_MIN`` at
    some frame *and* ``<= TUCK_MIN / 2`` within ``EVENT_WINDOW``.
  - **Rounding rate**: fraction of /w uw ow/ intervals with ``mouthPucker + mouthFunnel >=
    ROUND_MIN`` at a frame that is also ``ROUND_CONTRAST`` above the utterance's median rounding
    (rounding spreads over neighbouring segments by design, so its contrast is against the
    utterance, not the next 200 ms).
* **Vowel openness rank correlation**: mean jawOpen over the central half of every monophthong,
  averaged per vowel class (pooled over utterances, classes with fewer than ``MIN_VOWEL_TOKENS``
  tokens dropped), Spearman-correlated with the classes' phonetic height (``OPENNESS_RANK``) and,
  separately, with the teacher's per-class means.
* **Lag**: multichannel cross-correlation of the mean-removed lip curves (``LAG_CURVES``) of the
  prediction against the reference, summed over curves and over utterances, peak refined with a
  parabola. Positive = the prediction is late.
* **Jitter**: mean |second difference| of the lip curves, scaled by fps^2 (curve units / s^2) so
  that it does not depend on the frame rate. Lower is smoother.
"""
import re

import numpy as np

CLOSED_GAP = 0.05
OPEN_GAP = 0.10
TUCK_MIN = 0.30
ROUND_MIN = 0.40
ROUND_CONTRAST = 0.20
EVENT_WINDOW = 0.20
MIN_VOWEL_TOKENS = 3
BLINK_MIN = 0.5

BILABIALS = ("P", "B", "M")
LABIODENTALS = ("F", "V")
ROUNDED = ("W", "UW", "OW")
SPREAD = ("IY", "IH", "EH", "EY", "AE")  # the unrounded front vowels rounding is told apart from
# Phonetic height of the General-American monophthongs (1 = close .. 6 = open); diphthongs are
# left out because their jaw moves within the interval.
OPENNESS_RANK = {"IY": 1, "UW": 1, "IH": 2, "UH": 2, "ER": 3, "EH": 4, "AH": 4, "AO": 4,
                 "AE": 5, "AA": 6}

SILENCES = {"SIL", "SP", "PAU", "SPN", "_", ""}


def is_lip_name(n):
    return n.startswith(("mouth", "jaw")) or n == "cheekPuff"


def is_upper_name(n):
    return n.startswith(("brow", "eye", "cheekSquint", "noseSneer"))


# curves whose timing carries the lip sync (used for lag)
LAG_CURVES = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower",
              "mouthLowerDown_L", "mouthLowerDown_R", "mouthUpperUp_L", "mouthUpperUp_R",
              "mouthPress_L", "mouthPress_R", "mouthStretch_L", "mouthStretch_R")


def base_label(label):
    """'AH0' -> 'AH', 'sil'/'SIL'/'sp' -> 'SIL', b'm' -> 'M'."""
    if isinstance(label, bytes):
        label = label.decode()
    s = str(label).strip().upper()
    s = re.sub(r"[012]$", "", s)
    return "SIL" if s in SILENCES else s


OPEN_VOWELS = ("AA", "AE", "AO")           # plus stressed AH (unstressed AH is schwa: mid)
CLOSE_VOWELS = ("IY", "IH", "UW", "UH")
MID_VOWELS = ("EH", "ER")


def vowel_class(label):
    """Vowel height class of an ARPAbet label: 1 close /iy ih uw uh/, 2 mid /eh er/ and unstressed /ah/,
    3 open /aa ae ao/ and stressed /ah/; 0 for anything else."""
    label = str(label.decode() if isinstance(label, bytes) else label).strip()
    base, stress = base_label(label), label[-1:]
    if base in OPEN_VOWELS or (base == "AH" and stress in ("1", "2")):
        return 3
    if base in MID_VOWELS or base == "AH":
        return 2
    if base in CLOSE_VOWELS:
        return 1
    return 0


def col(curves, names, name):
    """One curve [T] by name (zeros when the curve is absent)."""
    names = list(names)
    if name in names:
        return np.asarray(curves[:, names.index(name)], np.float64)
    return np.zeros(curves.shape[0])


def subset(curves, names, keep):
    """Columns whose name satisfies ``keep(name)`` -> ([T, k], [names])."""
    idx = [i for i, n in enumerate(names) if keep(n)]
    return np.asarray(curves, np.float64)[:, idx], [names[i] for i in idx]


def interval_frames(start, end, fps, T):
    """Frame indices belonging to [start, end] (see module doc); empty only when outside [0, T)."""
    lo = int(np.ceil(start * fps - 0.5 - 1e-9))
    hi = int(np.floor(end * fps + 0.5 + 1e-9))
    lo, hi = max(lo, 0), min(hi, T - 1)
    if hi < lo:
        mid = int(round(0.5 * (start + end) * fps))
        return np.arange(mid, mid + 1) if 0 <= mid < T else np.arange(0)
    return np.arange(lo, hi + 1)


def intervals(phones, labels):
    """[(start, end)] of the phones whose base label is in ``labels``."""
    labels = set(labels)
    return [(float(s), float(e)) for s, e, lab in phones if base_label(lab) in labels]


def lip_gap(curves, names):
    """[T] lip gap in jawOpen units (see module doc)."""
    jaw = col(curves, names, "jawOpen")
    close = col(curves, names, "mouthClose")
    down = 0.5 * (col(curves, names, "mouthLowerDown_L") + col(curves, names, "mouthLowerDown_R"))
    up = 0.5 * (col(curves, names, "mouthUpperUp_L") + col(curves, names, "mouthUpperUp_R"))
    return np.maximum(jaw - close, 0.0) + down + up


def _interval_hits(signal, phones, labels, fps, test, release=None, window=EVENT_WINDOW):
    """(hits, total): intervals of ``labels`` where ``test(signal[frames])`` holds at some frame
    and, when given, ``release`` holds at some frame within ``window`` seconds of the interval."""
    hits = total = 0
    T = signal.shape[0]
    for s, e in intervals(phones, labels):
        fr = interval_frames(s, e, fps, T)
        if fr.size == 0:
            continue
        total += 1
        ok = bool(np.any(test(signal[fr])))
        if ok and release is not None:
            ok = bool(np.any(release(signal[interval_frames(s - window, e + window, fps, T)])))
        hits += ok
    return hits, total


def bilabial_closure(curves, names, fps, phones, gap_max=CLOSED_GAP, open_min=OPEN_GAP):
    """(closure events, /p b m/ intervals)."""
    return _interval_hits(lip_gap(curves, names), phones, BILABIALS, fps, lambda g: g <= gap_max,
                          release=lambda g: g >= open_min)


def labiodental_tuck(curves, names, fps, phones, roll_min=TUCK_MIN):
    """(tuck events, /f v/ intervals)."""
    roll = col(curves, names, "mouthRollLower")
    return _interval_hits(roll, phones, LABIODENTALS, fps, lambda r: r >= roll_min,
                          release=lambda r: r <= 0.5 * roll_min)


def rounding(curves, names, fps, phones, round_min=ROUND_MIN, contrast=ROUND_CONTRAST):
    """(rounded intervals, /w uw ow/ intervals)."""
    rnd = col(curves, names, "mouthPucker") + col(curves, names, "mouthFunnel")
    floor = float(np.median(rnd)) + contrast if rnd.size else 0.0
    return _interval_hits(rnd, phones, ROUNDED, fps, lambda r: (r >= round_min) & (r >= floor))


def gesture_depths(curves, names, fps, phones):
    """Per-interval extremes, for explaining the rates: {'closure': min lip gap in each /p b m/,
    'tuck': max mouthRollLower in each /f v/, 'rounding': max pucker + funnel in each /w uw ow/}."""
    rnd = col(curves, names, "mouthPucker") + col(curves, names, "mouthFunnel")
    out = {}
    for key, sig, labels, fn in (("closure", lip_gap(curves, names), BILABIALS, np.min),
                                 ("tuck", col(curves, names, "mouthRollLower"), LABIODENTALS, np.max),
                                 ("rounding", rnd, ROUNDED, np.max)):
        vals = []
        for s, e in intervals(phones, labels):
            fr = interval_frames(s, e, fps, sig.shape[0])
            if fr.size:
                vals.append(float(fn(sig[fr])))
        out[key] = vals
    return out


def false_gestures(curves, names, fps, phones, margin=0.1):
    """What the event rates cannot see, as (frames, of frames) pairs: {'closed_vowel': lips closed
    (gap <= CLOSED_GAP) in the central half of an open vowel (height rank >= 4: EH AH AO AE AA), where
    they must be apart; 'tuck_elsewhere': mouthRollLower >= TUCK_MIN farther than ``margin`` seconds
    from every /f v/ interval}. A model that closes or tucks everywhere scores the rates well and
    these badly; the teacher's are near 0."""
    T = curves.shape[0]
    gap = lip_gap(curves, names)
    vowel = np.zeros(T, bool)
    for s, e, lab in phones:
        if OPENNESS_RANK.get(base_label(lab), 0) >= 4:
            q = 0.25 * (float(e) - float(s))
            vowel[interval_frames(float(s) + q, float(e) - q, fps, T)] = True
    near_fv = np.zeros(T, bool)
    for s, e in intervals(phones, LABIODENTALS):
        near_fv[interval_frames(s - margin, e + margin, fps, T)] = True
    roll = col(curves, names, "mouthRollLower")
    return {"closed_vowel": (int(np.sum(vowel & (gap <= CLOSED_GAP))), int(vowel.sum())),
            "tuck_elsewhere": (int(np.sum(~near_fv & (roll >= TUCK_MIN))), int((~near_fv).sum()))}


def rate(hits_total_pairs):
    """Pool (hits, total) pairs -> fraction (nan when there were no intervals)."""
    h = sum(p[0] for p in hits_total_pairs)
    t = sum(p[1] for p in hits_total_pairs)
    return h / t if t else float("nan")


def vowel_openness(curves, names, fps, phones):
    """{vowel class: [jawOpen means of its tokens]} over the central half of each monophthong."""
    jaw = col(curves, names, "jawOpen")
    out = {}
    for s, e, lab in phones:
        v = base_label(lab)
        if v not in OPENNESS_RANK:
            continue
        q = 0.25 * (float(e) - float(s))
        fr = interval_frames(float(s) + q, float(e) - q, fps, jaw.shape[0])
        if fr.size:
            out.setdefault(v, []).append(float(jaw[fr].mean()))
    return out


def merge_openness(dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out.setdefault(k, []).extend(v)
    return out


def rankdata(x):
    """Ranks 1..n with ties averaged (like scipy.stats.rankdata)."""
    x = np.asarray(x, np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    return ranks


def spearman(a, b):
    """Spearman rank correlation (nan when fewer than 3 points or a constant side)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size < 3:
        return float("nan")
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den > 0 else float("nan")


def openness_correlation(tokens, reference=None, min_tokens=MIN_VOWEL_TOKENS):
    """Spearman of per-class mean jawOpen against ``OPENNESS_RANK`` or a reference token dict."""
    classes = sorted(c for c, v in tokens.items() if len(v) >= min_tokens
                     and (reference is None or len(reference.get(c, ())) >= min_tokens))
    mine = [np.mean(tokens[c]) for c in classes]
    ref = [OPENNESS_RANK[c] if reference is None else np.mean(reference[c]) for c in classes]
    return spearman(mine, ref)


def _align(a, b):
    T = min(a.shape[0], b.shape[0])
    return a[:T], b[:T]


def curve_l1(pred, ref, names, keep=None):
    """Mean |pred - ref| over frames and the curves selected by ``keep(name)`` (all when None)."""
    pred, ref = _align(np.asarray(pred, np.float64), np.asarray(ref, np.float64))
    idx = [i for i, n in enumerate(names) if keep is None or keep(n)]
    return float(np.abs(pred[:, idx] - ref[:, idx]).mean())


def lip_xcorr(pred, ref, names, max_lag):
    """[2*max_lag+1] cross-correlation sum_t p(t+tau) r(t) over LAG_CURVES, tau = -max_lag..max_lag."""
    pred, ref = _align(np.asarray(pred, np.float64), np.asarray(ref, np.float64))
    T = pred.shape[0]
    out = np.zeros(2 * max_lag + 1)
    if T < 2:
        return out
    for n in LAG_CURVES:
        if n not in names:
            continue
        p = col(pred, names, n)
        r = col(ref, names, n)
        p = p - p.mean()
        r = r - r.mean()
        full = np.correlate(p, r, mode="full")          # index T-1 + tau holds lag tau
        taus = np.arange(-max_lag, max_lag + 1) + T - 1
        ok = (taus >= 0) & (taus < full.size)
        out[ok] += full[taus[ok]]
    return out


def lag_from_xcorr(xc, fps):
    """Peak of a cross-correlation [2L+1] -> lag in ms (parabolic sub-frame refinement)."""
    xc = np.asarray(xc, np.float64)
    if not np.any(xc > 0):
        return float("nan")
    L = (xc.size - 1) // 2
    k = int(np.argmax(xc))
    delta = 0.0
    if 0 < k < xc.size - 1:
        y0, y1, y2 = xc[k - 1], xc[k], xc[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            delta = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return 1000.0 * (k - L + delta) / fps


def lag_ms(pred, ref, names, fps, max_lag_s=0.25):
    """Lag of ``pred`` behind ``ref`` in ms (positive = late)."""
    L = max(1, int(round(max_lag_s * fps)))
    return lag_from_xcorr(lip_xcorr(pred, ref, names, L), fps)


def jitter(curves, names, fps, keep=is_lip_name):
    """Mean |second difference| of the selected curves, in curve units / s^2."""
    sub, _ = subset(curves, list(names), keep)
    if sub.shape[0] < 3 or sub.shape[1] == 0:
        return float("nan")
    return float(np.abs(np.diff(sub, n=2, axis=0)).mean() * fps * fps)


# ---- style quantities (each is what one slider names) ---------------------------------------

def _pair_mean(curves, names, base):
    return 0.5 * (col(curves, names, base + "_L") + col(curves, names, base + "_R"))


def smile_amount(curves, names):
    """Mean smile minus mean frown."""
    return float((_pair_mean(curves, names, "mouthSmile") - _pair_mean(curves, names, "mouthFrown")).mean())


_LIP_SHAPES = ("mouthFunnel", "mouthPucker", "mouthLowerDown_L", "mouthLowerDown_R", "mouthUpperUp_L",
               "mouthUpperUp_R", "mouthStretch_L", "mouthStretch_R", "mouthRollLower", "mouthRollUpper",
               "mouthPress_L", "mouthPress_R", "mouthShrugUpper", "mouthShrugLower")


def jaw_lip_ratio(curves, names):
    """Mean jawOpen / mean summed lip shapes (JALI's JA vs LI)."""
    lips = sum(col(curves, names, n) for n in _LIP_SHAPES).mean()
    return float(col(curves, names, "jawOpen").mean() / max(lips, 1e-6))


def lip_amplitude(curves, names):
    """Summed temporal standard deviation of the lip curves (how much the mouth moves)."""
    sub, _ = subset(curves, list(names), is_lip_name)
    return float(sub.std(axis=0).sum())


def asymmetry_amount(curves, names):
    """Mean (left - right) over the mouth/cheek L/R pairs plus mouthLeft - mouthRight."""
    names = list(names)
    diffs = [col(curves, names, n) - col(curves, names, n[:-2] + "_R") for n in names
             if n.endswith("_L") and n.startswith(("mouth", "cheek"))]
    d = np.mean(diffs, axis=0) if diffs else np.zeros(curves.shape[0])
    return float((d + col(curves, names, "mouthLeft") - col(curves, names, "mouthRight")).mean())


def brow_activity(curves, names):
    """Summed temporal standard deviation of the brow curves."""
    sub, _ = subset(curves, list(names), lambda n: n.startswith("brow"))
    return float(sub.std(axis=0).sum())


def blinks_per_minute(curves, names, fps, level=BLINK_MIN):
    """Upward crossings of mean(eyeBlink_L/R) through ``level``, per minute."""
    b = _pair_mean(curves, names, "eyeBlink") >= level
    n = int(b[0]) + int(np.count_nonzero(b[1:] & ~b[:-1])) if b.size else 0
    minutes = curves.shape[0] / fps / 60.0
    return n / minutes if minutes > 0 else float("nan")


EMOTION_QUANTITY = {
    "happy": ("mouthSmile_L", "mouthSmile_R", "cheekSquint_L", "cheekSquint_R"),
    "sad": ("browInnerUp", "mouthFrown_L", "mouthFrown_R"),
    "angry": ("browDown_L", "browDown_R", "noseSneer_L", "noseSneer_R"),
    "surprised": ("browOuterUp_L", "browOuterUp_R", "eyeWide_L", "eyeWide_R"),
}


def emotion_amount(curves, names, emotion):
    """Mean of the curves that express ``emotion``."""
    return float(np.mean([col(curves, names, n).mean() for n in EMOTION_QUANTITY[emotion]]))


def monotonic(values, increasing=True, rel_tol=0.02):
    """True when ``values`` move in one direction: every step goes the right way (steps against
    it smaller than ``rel_tol`` of the total range are tolerated) and the ends differ."""
    v = np.asarray(values, np.float64)
    if v.size < 2 or not np.all(np.isfinite(v)):
        return False
    if not increasing:
        v = -v
    span = v[-1] - v[0]
    if span <= 0:
        return False
    return bool(np.all(np.diff(v) >= -rel_tol * span))


def seed_spread(takes, names, keep):
    """Mean over frames and selected curves of the std across takes [N, T, K]."""
    takes = np.asarray(takes, np.float64)
    idx = [i for i, n in enumerate(names) if keep(n)]
    return float(takes[:, :, idx].std(axis=0).mean())
