"""The teacher on hand-written phoneme timelines: articulation, coarticulation, seeds, style axes."""
import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError
from models.training.phonemes import UnknownPhonemeError
from models.training.style_axes import STYLE_NAMES
from models.training.teacher import LEAD_PER_UNIT, teach

FPS = 50
IX = {n: i for i, n in enumerate(RIG_NAMES)}
LOWER = [i for i, n in enumerate(RIG_NAMES) if n.startswith(("mouth", "jaw", "cheekPuff"))]


def timeline(labels, durs, start=0.3, tail=0.4):
    """[(s, e, lab)] from labels and durations, with leading and trailing silence."""
    out, t = [(0.0, start, "sil")], start
    for lab, d in zip(labels, durs):
        out.append((t, t + d, lab))
        t += d
    out.append((t, t + tail, "sil"))
    return out


SENTENCE = timeline(
    ["B", "AA1", "M", "AE1", "P", "IY0", "F", "AO1", "V", "AH0", "S", "T", "UW1", "M", "AA1", "B",
     "EH1", "L", "ER0", "SH", "IH1", "TH", "AY1", "W", "OW1", "P"],
    [0.07, 0.16, 0.09, 0.14, 0.04, 0.10, 0.10, 0.15, 0.07, 0.08, 0.09, 0.06, 0.16, 0.03, 0.2, 0.06,
     0.12, 0.07, 0.1, 0.11, 0.08, 0.09, 0.2, 0.07, 0.18, 0.1])

STYLES = [None, {"articulation": -1}, {"articulation": 1}, {"jaw_lips": 1}, {"jaw_lips": -1},
          {"smoothness": 1}, {"smoothness": -1}, {"timing": 1}, {"timing": -1}, {"smile": 1},
          {"smile": -1}, {"asymmetry": 1}, {"happy": 1}, {"sad": 1}, {"angry": 1}, {"surprised": 1},
          {"articulation": -1, "smoothness": 1, "jaw_lips": 1, "surprised": 1}]


def frames_in(s, e, fps=FPS):
    k0, k1 = int(np.ceil(s * fps - 1e-9)), int(np.floor(e * fps + 1e-9))
    return np.arange(k0, k1 + 1)


def lead_of(style):
    return LEAD_PER_UNIT * (style or {}).get("timing", 0.0)


@pytest.mark.parametrize("style", STYLES, ids=lambda s: str(s))
def test_bilabials_close_within_their_interval(style):
    c = teach(SENTENCE, FPS, style, seed=3)
    lead = lead_of(style)
    n = 0
    for s, e, lab in SENTENCE:
        if lab not in ("P", "B", "M"):
            continue
        n += 1
        ks = frames_in(s - lead, e - lead)
        ks = ks[ks < c.shape[0]]
        assert ks.size, f"no frame inside /{lab}/ {s:.2f}-{e:.2f}"
        jaw = c[ks, IX["jawOpen"]]
        sealed = (c[ks, IX["mouthClose"]] >= jaw - 1e-6) & (c[ks, IX["mouthPress_L"]] > 0.2) \
            & (c[ks, IX["mouthPress_R"]] > 0.2) & (c[ks, IX["mouthLowerDown_L"]] < 0.02) \
            & (c[ks, IX["mouthFunnel"]] < 0.02) & (jaw < 0.2)
        assert sealed.all(), f"/{lab}/ at {s:.2f}s not sealed on every frame with style {style}"
        # the closure is already there at the first frame of the acoustic segment
        assert sealed[0]
    assert n == 6


def test_closure_starts_before_the_acoustic_segment():
    ph = timeline(["AA1", "B", "AA1"], [0.25, 0.08, 0.25])
    c = teach(ph, 100, None, 0)
    s = ph[2][0]
    k = int(np.floor(s * 100)) - 1   # 10-20 ms before /b/ begins
    assert c[k, IX["mouthPress_L"]] > 0.3
    assert c[k - 6, IX["mouthPress_L"]] < c[k, IX["mouthPress_L"]]  # and it ramps in from the vowel


def test_labiodentals_tuck_the_lower_lip():
    c = teach(SENTENCE, FPS, None, 0)
    for s, e, lab in SENTENCE:
        if lab in ("F", "V"):
            ks = frames_in(s, e)
            assert c[ks, IX["mouthRollLower"]].max() > 0.45
            assert c[ks, IX["mouthUpperUp_L"]].max() > 0.1


@pytest.mark.parametrize("cons", ["T", "S", "K", "D"])
def test_rounding_precedes_uw_across_one_consonant(cons):
    ph_u = timeline(["AA1", cons, "UW1"], [0.2, 0.09, 0.2])
    ph_i = timeline(["AA1", cons, "IY1"], [0.2, 0.09, 0.2])
    cu, ci = teach(ph_u, FPS, None, 0), teach(ph_i, FPS, None, 0)
    s, e, _ = ph_u[2]
    mid = int(round(0.5 * (s + e) * FPS))
    pu = cu[mid, IX["mouthPucker"]]
    assert pu > 0.35, f"no anticipatory rounding on /{cons}/ before /uw/ ({pu:.2f})"
    assert pu > ci[mid, IX["mouthPucker"]] + 0.3
    # and it starts rising before the consonant itself
    k = int(round(s * FPS)) - 2
    assert cu[k, IX["mouthPucker"]] > ci[k, IX["mouthPucker"]] + 0.05


def test_rounded_phones_hit_their_rounding():
    c = teach(SENTENCE, FPS, {"articulation": -1, "jaw_lips": 1}, 0)
    for s, e, lab in SENTENCE:
        if lab.rstrip("012") in ("W", "UW"):
            assert c[frames_in(s, e), IX["mouthPucker"]].max() > 0.45


def test_jaw_openness_ranking():
    peak = {}
    for v in ("AA1", "AE1", "AH1", "EH1", "IH1", "IY1"):
        c = teach(timeline(["HH", v, "HH"], [0.08, 0.22, 0.08]), FPS, None, 0)
        peak[v] = c[:, IX["jawOpen"]].max()
    assert peak["AA1"] > peak["AE1"] > peak["AH1"] > peak["EH1"] > peak["IH1"] > peak["IY1"]


def test_spread_vowels_spread_and_dentals_open_slightly():
    c = teach(timeline(["HH", "IY1", "HH", "TH", "HH"], [0.08, 0.2, 0.08, 0.15, 0.08]), FPS, None, 0)
    ph = timeline(["HH", "IY1", "HH", "TH", "HH"], [0.08, 0.2, 0.08, 0.15, 0.08])
    s, e, _ = ph[2]
    assert c[frames_in(s, e), IX["mouthStretch_L"]].max() > 0.25
    s, e, _ = ph[4]
    assert 0.05 < c[frames_in(s, e), IX["jawOpen"]].mean() < 0.3


def test_long_pause_closes_the_mouth_and_short_pause_relaxes():
    ph = timeline(["AA1", "sil", "AA1", "sil", "AA1"], [0.2, 1.0, 0.2, 0.12, 0.2])
    c = teach(ph, FPS, None, 0)
    s, e, _ = ph[2]
    mid = int(round(0.5 * (s + e) * FPS))
    assert c[mid, LOWER].max() < 0.02
    s, e, _ = ph[4]
    mid = int(round(0.5 * (s + e) * FPS))
    assert c[mid, IX["jawOpen"]] > 0.05   # a short pause between open vowels stays relaxed-open


def test_seeds_change_upper_face_but_not_lips():
    style = {"happy": 0.6, "upper_face": 0.5}
    long = timeline(["B", "AA1", "M", "IY1", "sil"] * 20, [0.08, 0.2, 0.08, 0.2, 0.3] * 20)
    a, b = teach(long, FPS, style, seed=1), teach(long, FPS, style, seed=2)
    np.testing.assert_array_equal(a[:, LOWER], b[:, LOWER])
    assert not np.array_equal(a[:, IX["eyeBlink_L"]], b[:, IX["eyeBlink_L"]])
    assert not np.array_equal(a[:, IX["browInnerUp"]], b[:, IX["browInnerUp"]])
    np.testing.assert_array_equal(teach(long, FPS, style, seed=1), a)   # same seed, same take


def test_blinks_are_realistic():
    ph = timeline(["AA1", "M", "IY1", "sil"] * 60, [0.2, 0.08, 0.2, 0.5] * 60)  # ~60 s
    rates, durs = [], []
    for seed in range(6):
        c = teach(ph, 100, None, seed)
        L, R = c[:, IX["eyeBlink_L"]], c[:, IX["eyeBlink_R"]]
        np.testing.assert_array_equal(L, R)
        on = L > 0.05
        edges = np.flatnonzero(np.diff(on.astype(int)) == 1)
        offs = np.flatnonzero(np.diff(on.astype(int)) == -1)
        rates.append(len(edges) / (c.shape[0] / 100 / 60))
        for s0 in edges:
            e0 = offs[offs > s0]
            if e0.size:
                durs.append((e0[0] - s0) / 100)
        assert L.max() > 0.8
    assert 8 <= np.mean(rates) <= 24, rates
    assert 0.06 <= min(durs) and max(durs) <= 0.32


def _channel(c, *names):
    return c[:, [IX[n] for n in names]]


def test_style_axes_move_what_they_say():
    base = teach(SENTENCE, FPS, None, 0)
    mean = lambda st, *n: _channel(teach(SENTENCE, FPS, st, 0), *n).mean()  # noqa: E731
    lips = ("mouthPucker", "mouthFunnel", "mouthStretch_L", "mouthStretch_R", "mouthLowerDown_L", "mouthUpperUp_L")
    assert mean({"articulation": 1}, "jawOpen") > mean(None, "jawOpen") > mean({"articulation": -1}, "jawOpen")
    assert mean({"articulation": 1}, *lips) > mean({"articulation": -1}, *lips)
    assert mean({"jaw_lips": 1}, "jawOpen") > mean({"jaw_lips": -1}, "jawOpen")
    assert mean({"jaw_lips": 1}, *lips) < mean({"jaw_lips": -1}, *lips)
    assert mean({"smile": 1}, "mouthSmile_L", "mouthSmile_R") > mean(None, "mouthSmile_L", "mouthSmile_R") + 0.2
    assert mean({"smile": -1}, "mouthFrown_L", "mouthFrown_R") > mean(None, "mouthFrown_L", "mouthFrown_R") + 0.2
    a = teach(SENTENCE, FPS, {"asymmetry": 1}, 0)
    assert _channel(a, "mouthSmile_L", "mouthStretch_L").sum() > 1.3 * _channel(a, "mouthSmile_R", "mouthStretch_R").sum()
    a = teach(SENTENCE, FPS, {"asymmetry": -1}, 0)
    assert _channel(a, "mouthStretch_R").sum() > 1.3 * _channel(a, "mouthStretch_L").sum()
    # timing: +1 leads the audio by 40 ms = 2 frames at 50 fps
    lead = teach(SENTENCE, FPS, {"timing": 1}, 0)[:, IX["jawOpen"]]
    j0 = base[:, IX["jawOpen"]]
    lags = range(-4, 5)
    err = [np.abs(np.roll(lead, lag)[5:-5] - j0[5:-5]).mean() for lag in lags]
    assert list(lags)[int(np.argmin(err))] == 2
    # smoothness: smoother curves have less frame-to-frame motion
    tv = lambda st: np.abs(np.diff(_channel(teach(SENTENCE, FPS, st, 0), "jawOpen", "mouthPucker", "mouthStretch_L"), axis=0)).sum()  # noqa: E731
    assert tv({"smoothness": 1}) < tv(None) < tv({"smoothness": -1})
    # upper face: more brows and blinks when animated, averaged over seeds
    long = timeline(["B", "AA1", "M", "IY1", "sil"] * 30, [0.08, 0.2, 0.08, 0.2, 0.3] * 30)

    def activity(uf):
        cs = [teach(long, FPS, {"upper_face": uf}, s) for s in range(8)]
        brows = np.mean([_channel(c, "browInnerUp", "browOuterUp_L").mean() for c in cs])
        blinks = np.mean([(np.diff((c[:, IX["eyeBlink_L"]] > 0.05).astype(int)) == 1).sum() for c in cs])
        return brows, blinks
    still, animated = activity(-1), activity(1)
    assert animated[0] > 1.5 * still[0] and animated[1] > still[1]


@pytest.mark.parametrize("emotion,up,down", [
    ("happy", ("mouthSmile_L", "cheekSquint_L", "eyeSquint_L"), ()),
    ("sad", ("mouthFrown_L", "browInnerUp"), ()),
    ("angry", ("browDown_L", "noseSneer_L"), ()),
    ("surprised", ("eyeWide_L", "browOuterUp_L", "browInnerUp"), ()),
])
def test_emotions_add_coherent_expressions(emotion, up, down):
    base = teach(SENTENCE, FPS, None, 0)
    emo = teach(SENTENCE, FPS, {emotion: 1.0}, 0)
    for n in up:
        assert emo[:, IX[n]].mean() > base[:, IX[n]].mean() + 0.1, (emotion, n)


def test_style_as_array_matches_dict():
    d = {"articulation": 0.5, "smile": -0.3, "sad": 0.4}
    arr = np.array([d.get(n, 0.0) for n in STYLE_NAMES], np.float32)
    np.testing.assert_allclose(teach(SENTENCE, FPS, d, 5), teach(SENTENCE, FPS, arr, 5), atol=1e-6)


def test_output_shape_range_and_frame_count():
    c = teach(SENTENCE, 30, None, 0)
    assert c.dtype == np.float32 and c.shape[1] == len(RIG_NAMES) == 51
    assert c.shape[0] == int(np.ceil(SENTENCE[-1][1] * 30 - 1e-6))
    assert c.min() >= 0 and c.max() <= 1
    assert teach(SENTENCE, 30, None, 0, duration=10.0).shape[0] == 300
    silent = teach([], 50, None, 0, duration=2.0)
    assert silent.shape == (100, 51) and silent[:, LOWER].max() < 0.05


@pytest.mark.parametrize("bad", [
    [(0.0, 0.1, "XX")], [(0.0, 0.1, "B1")], [(0.2, 0.1, "AA")], [(0.0, 0.1)], [(0.0, 0.1, "aa9")],
])
def test_bad_phones_raise_clear_errors(bad):
    with pytest.raises(UnknownPhonemeError) as e:
        teach(bad, FPS, None, 0)
    assert "\n" not in str(e.value) and len(str(e.value)) < 200


def test_bad_style_and_empty_input():
    with pytest.raises(ParleyError, match="unknown style axis"):
        teach(SENTENCE, FPS, {"grumpy": 1}, 0)
    with pytest.raises(ParleyError, match="expected 11"):
        teach(SENTENCE, FPS, np.zeros(3), 0)
    with pytest.raises(ParleyError, match="empty"):
        teach([], FPS, None, 0)
