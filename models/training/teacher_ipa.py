"""The language-independent teacher: IPA phone timeline -> ARKit curves [T, 51].

Same model as :mod:`models.training.teacher` (Cohen-Massaro coarticulation, lip-critical
envelopes, seeded upper face), but every segment's targets, dominance and lip-critical degrees come
from its IPA features (:mod:`models.training.ipa`) instead of the English ARPAbet table. A phone
with several segments (``pf``, ``ts``, ``aɪ``) is animated as consecutive parts: German /pf/ seals
the lips and then tucks the lower lip. English labelled in ARPAbet keeps using ``teacher.teach``.

    teach_ipa([(0.0, 0.1, "sil", None), (0.1, 0.2, "pf", None), (0.2, 0.35, "ɛ", 1), ...], fps=50)
"""
import functools

import numpy as np

from inference.errors import ParleyError

from . import ipa as I
from . import phonemes as P
from . import teacher as TT

_STRESS_GAIN = (0.78, 1.05, 0.92)


@functools.lru_cache(maxsize=4096)
def phone_parts(ipa_phone):
    """Per segment of one IPA phone: (fraction of its interval, target row [K], dominance [G, 3],
    closure, tuck, rounding, is silence). Cached: a language has a few dozen phones."""
    arts = I.parse(ipa_phone)
    n = len(arts)
    if n == 1:
        fr = [1.0]
    elif all(a.kind == "vowel" for a in arts):      # diphthongs like the English ones
        fr = [0.55] + [0.45 / (n - 1)] * (n - 1)
    elif arts[0].kind == "cons" and arts[0].manner == "stop":
        fr = [0.45] + [0.55 / (n - 1)] * (n - 1)    # affricates: closure, then the fricative
    else:
        w = np.array([1.6] + [1.0] * (n - 1))
        fr = list(w / w.sum())
    out = []
    for f, a in zip(fr, arts):
        row = np.zeros(TT.K)
        for name, v in I.targets(a).items():
            row[TT.IDX[name]] = v
        dom = np.array([P.DOMINANCE[I.dominance_class(a)][g] for g in P.GROUPS], np.float64)
        out.append((f, row, dom, I.closure_degree(a), I.tuck_degree(a), I.is_rounding_target(a), a.kind == "sil"))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _is_diphthong(ipa_phone):
    arts = I.parse(ipa_phone)
    return len(arts) > 1 and all(a.kind == "vowel" for a in arts)


def _normalise(phones):
    out = []
    for item in phones:
        if len(item) == 3:
            start, end, ph = item
            stress = None
        else:
            start, end, ph, stress = item
        start, end = float(start), float(end)
        if not end >= start:
            raise ParleyError(f"phone {ph!r} ends ({end:.3f}s) before it starts ({start:.3f}s)")
        out.append((start, end, "" if ph is None else str(ph), None if stress is None else int(stress)))
    out.sort(key=lambda x: x[0])
    return out


def ipa_segments(ph):
    """Normalised IPA phones -> the segment table ``teacher.lower_face_segments`` animates."""
    cols = {k: [] for k in ("s", "e", "tgt", "dom", "gain", "long_sil", "sil", "closure", "tuck", "rounding")}
    for start, end, phone, stress in ph:
        g = 1.0 if stress is None else _STRESS_GAIN[stress]
        t0 = start
        parts = phone_parts(phone)
        for k, (frac, row, dom, clo, tuck, rnd, sil) in enumerate(parts):
            t1 = end if k == len(parts) - 1 else t0 + frac * (end - start)
            cols["s"].append(t0); cols["e"].append(t1)
            cols["tgt"].append(row); cols["dom"].append(dom)
            cols["gain"].append(g * 0.9 if k and _is_diphthong(phone) else g)   # as teacher._segments
            cols["long_sil"].append(bool(sil and end - start >= TT.LONG_PAUSE))
            cols["sil"].append(sil); cols["closure"].append(clo); cols["tuck"].append(tuck)
            cols["rounding"].append(rnd)
            t0 = t1
    seg = {k: np.array(v) for k, v in cols.items()}
    seg["tgt"] = seg["tgt"].reshape(-1, TT.K).astype(np.float64)
    seg["dom"] = seg["dom"].reshape(-1, len(P.GROUPS), 3).astype(np.float64)
    seg["long_sil"] = seg["long_sil"].astype(bool)
    seg["sil"] = seg["sil"].astype(bool)
    seg["rounding"] = seg["rounding"].astype(bool)
    return seg


def arpabet_timeline(ph):
    """(start, end, ARPAbet base, stress) per phone: what the upper face and shards need."""
    out = []
    for start, end, phone, stress in ph:
        base = I.arpabet(phone)
        out.append((start, end, base, stress if base in P.VOWELS else None))
    return out


def teach_ipa(phones, fps=50.0, style=None, seed=0, duration=None, energy=None):
    """IPA timeline -> ARKit curves float32 [T, 51] in ``RIG_NAMES`` order.

    phones   list of (start_s, end_s, IPA phone[, stress 0/1/2 or None]); "" or "sil" = silence.
    Other arguments as ``teacher.teach``; lip curves do not depend on ``seed``.
    """
    if fps <= 0:
        raise ParleyError(f"fps must be positive, got {fps}")
    ph = _normalise(phones)
    if not ph and duration is None:
        raise ParleyError("empty phoneme timeline; pass at least one phone or a duration")
    end = max((p[1] for p in ph), default=0.0)
    T = TT.num_frames(end, fps, duration)
    t = np.arange(T) / float(fps)
    st = TT.style_dict(style)
    if ph:
        low, _ = TT.lower_face_segments(ipa_segments(ph), t, st)
    else:
        low = np.zeros((T, TT.K))
    up = TT.upper_face(arpabet_timeline(ph), t, st, np.random.default_rng(seed), energy)
    return np.clip(low + up, 0.0, 1.0).astype(np.float32)
