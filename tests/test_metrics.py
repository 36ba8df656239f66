"""Evaluation metrics on hand-made curves (models/training/metrics.py)."""
import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from models.training import metrics as M

FPS = 30.0
NAMES = list(RIG_NAMES)


def blank(seconds=2.0):
    return np.zeros((int(seconds * FPS), len(NAMES)), np.float32)


def put(curves, name, start_s, end_s, value):
    a, b = int(round(start_s * FPS)), int(round(end_s * FPS))
    curves[a:b, NAMES.index(name)] = value


PHONES = [(0.0, 0.3, "sil"), (0.3, 0.4, "M"), (0.4, 0.6, "AA1"), (0.6, 0.7, "B"), (0.7, 0.9, "UW1"),
          (0.9, 1.0, "F"), (1.0, 1.2, "IY0"), (1.2, 1.3, "P"), (1.3, 1.5, "sil")]


def test_labels_and_interval_frames():
    assert M.base_label("AH0") == "AH" and M.base_label("sp") == "SIL" and M.base_label(b"m") == "M"
    fr = M.interval_frames(0.3, 0.4, FPS, 60)
    assert fr[0] <= 9 and fr[-1] >= 12 and fr[-1] <= 12          # frames 9..12 (+- half a frame)
    short = M.interval_frames(0.501, 0.509, FPS, 60)              # shorter than a frame
    assert short.size == 1 and short[0] == 15
    assert M.interval_frames(5.0, 6.0, FPS, 60).size == 0


def test_bilabial_closure_needs_a_sealed_frame():
    c = blank()
    put(c, "jawOpen", 0.0, 2.0, 0.3)                               # mouth open all along
    assert M.bilabial_closure(c, NAMES, FPS, PHONES) == (0, 3)
    put(c, "mouthClose", 0.33, 0.37, 0.3)                           # /m/: close cancels the jaw
    put(c, "mouthClose", 0.62, 0.68, 0.28)                          # /b/: gap 0.02 -> closed
    put(c, "mouthClose", 1.23, 1.27, 0.1)                           # /p/: gap 0.2 -> open
    assert M.bilabial_closure(c, NAMES, FPS, PHONES) == (2, 3)
    # a lowered lower lip reopens a closure; mouthPress alone does not close an open jaw
    put(c, "mouthLowerDown_L", 0.3, 0.4, 0.2)
    put(c, "mouthLowerDown_R", 0.3, 0.4, 0.2)
    put(c, "mouthPress_L", 1.2, 1.3, 1.0)
    put(c, "mouthPress_R", 1.2, 1.3, 1.0)
    assert M.bilabial_closure(c, NAMES, FPS, PHONES) == (1, 3)


def test_jaw_only_face_is_closed_only_where_jaw_is_shut():
    c = blank()
    put(c, "jawOpen", 0.0, 2.0, 0.2)
    put(c, "jawOpen", 0.6, 0.7, 0.03)                               # jaw nearly shut during /b/
    assert M.bilabial_closure(c, NAMES, FPS, PHONES) == (1, 3)


def test_a_mouth_frozen_in_a_gesture_scores_nothing():
    shut = blank()
    put(shut, "jawOpen", 0.0, 2.0, 0.1)
    put(shut, "mouthClose", 0.0, 2.0, 0.1)                          # sealed all along
    assert M.bilabial_closure(shut, NAMES, FPS, PHONES) == (0, 3)
    put(shut, "mouthClose", 0.0, 0.55, 0.0)                         # opens before the /b/ only
    assert M.bilabial_closure(shut, NAMES, FPS, PHONES)[0] == 1     # /m/ is now an event
    frozen = blank()
    put(frozen, "mouthRollLower", 0.0, 2.0, 0.6)
    put(frozen, "mouthPucker", 0.0, 2.0, 0.7)
    assert M.labiodental_tuck(frozen, NAMES, FPS, PHONES) == (0, 1)
    assert M.rounding(frozen, NAMES, FPS, PHONES) == (0, 1)


def test_tuck_and_rounding():
    c = blank()
    assert M.labiodental_tuck(c, NAMES, FPS, PHONES) == (0, 1)
    assert M.rounding(c, NAMES, FPS, PHONES) == (0, 1)
    put(c, "mouthRollLower", 0.93, 0.97, 0.5)
    put(c, "mouthPucker", 0.75, 0.85, 0.3)
    assert M.labiodental_tuck(c, NAMES, FPS, PHONES) == (1, 1)
    assert M.rounding(c, NAMES, FPS, PHONES) == (0, 1)              # 0.3 < ROUND_MIN
    put(c, "mouthFunnel", 0.75, 0.85, 0.2)
    assert M.rounding(c, NAMES, FPS, PHONES) == (1, 1)
    assert M.rate([(1, 2), (2, 2)]) == 0.75
    assert np.isnan(M.rate([(0, 0)]))


def test_gesture_depths():
    c = blank()
    put(c, "jawOpen", 0.0, 2.0, 0.3)
    put(c, "mouthClose", 0.6, 0.7, 0.25)
    put(c, "mouthRollLower", 0.9, 1.0, 0.4)
    depth = M.gesture_depths(c, NAMES, FPS, PHONES)
    assert len(depth["closure"]) == 3 and min(depth["closure"]) == pytest.approx(0.05, abs=1e-6)
    assert max(depth["closure"]) == pytest.approx(0.3, abs=1e-6)
    assert depth["tuck"] == [pytest.approx(0.4)] and depth["rounding"] == [0.0]


def test_false_gestures_see_a_face_that_closes_or_tucks_everywhere():
    """The rates only look inside /p b m/ and /f v/; these look where the gesture must not be."""
    c = blank()
    put(c, "jawOpen", 0.0, 2.0, 0.3)
    fg = M.false_gestures(c, NAMES, FPS, PHONES)
    assert fg["closed_vowel"][0] == 0 and fg["closed_vowel"][1] >= 3  # the central half of /aa/ (0.45-0.55 s)
    assert fg["tuck_elsewhere"][0] == 0
    assert fg["tuck_elsewhere"][1] == c.shape[0] - M.interval_frames(0.8, 1.1, FPS, c.shape[0]).size
    put(c, "mouthClose", 0.0, 2.0, 0.3)                               # lips sealed all along
    put(c, "mouthRollLower", 0.0, 2.0, 0.5)                           # and the lower lip rolled in
    fg = M.false_gestures(c, NAMES, FPS, PHONES)
    assert fg["closed_vowel"][0] == fg["closed_vowel"][1]
    assert fg["tuck_elsewhere"][0] == fg["tuck_elsewhere"][1]
    ok = blank()
    put(ok, "jawOpen", 0.0, 2.0, 0.3)
    put(ok, "mouthRollLower", 0.9, 1.0, 0.5)                          # a tuck where it belongs costs nothing
    assert M.false_gestures(ok, NAMES, FPS, PHONES)["tuck_elsewhere"][0] == 0


def test_spearman_and_ranks():
    assert list(M.rankdata([3, 1, 2, 2])) == [4.0, 1.0, 2.5, 2.5]
    assert M.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert M.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(M.spearman([1, 2], [1, 2]))


def test_openness_correlation_follows_vowel_height():
    phones, t = [], 0.0
    order = ["IY", "UW", "IH", "UH", "ER", "EH", "AH", "AO", "AE", "AA"]
    for _ in range(3):
        for v in order:
            phones.append((t, t + 0.2, v + "1"))
            t += 0.2
    c = np.zeros((int(t * FPS) + 1, len(NAMES)), np.float32)
    good = c.copy()
    for s, e, lab in phones:
        put(good, "jawOpen", s, e, 0.1 * M.OPENNESS_RANK[M.base_label(lab)])
    tokens = M.vowel_openness(good, NAMES, FPS, phones)
    assert set(tokens) == set(order) and all(len(v) == 3 for v in tokens.values())
    assert M.openness_correlation(tokens) == pytest.approx(1.0)
    assert M.openness_correlation(tokens, reference=tokens) == pytest.approx(1.0)
    flipped = c.copy()
    for s, e, lab in phones:
        put(flipped, "jawOpen", s, e, 1.0 - 0.1 * M.OPENNESS_RANK[M.base_label(lab)])
    assert M.openness_correlation(M.vowel_openness(flipped, NAMES, FPS, phones)) == pytest.approx(-1.0)
    # too few tokens per class -> no correlation
    assert np.isnan(M.openness_correlation(tokens, min_tokens=4))


def smooth_signal(t, shift_s=0.0):
    """A smooth, speech-like lip signal evaluated at t - shift (a delayed copy)."""
    x = t - shift_s
    return 0.3 + 0.15 * np.sin(2 * np.pi * 3.1 * x) + 0.1 * np.sin(2 * np.pi * 4.7 * x + 1.0) \
        + 0.05 * np.sin(2 * np.pi * 1.3 * x)


@pytest.mark.parametrize("shift_ms", [-60.0, -10.0, 0.0, 12.0, 45.0])
def test_lag_recovers_a_known_shift_with_sub_frame_precision(shift_ms):
    t = np.arange(int(4 * FPS)) / FPS
    ref = blank(4.0)
    pred = blank(4.0)
    ref[:, NAMES.index("jawOpen")] = smooth_signal(t)
    pred[:, NAMES.index("jawOpen")] = smooth_signal(t, shift_ms / 1000.0)
    lag = M.lag_ms(pred, ref, NAMES, FPS)
    assert abs(lag - shift_ms) < 6.0                                # frame is 33 ms


def test_lag_pools_over_utterances_and_ignores_upper_face():
    t = np.arange(int(3 * FPS)) / FPS
    L = 8
    xc = np.zeros(2 * L + 1)
    for k in range(3):
        ref = blank(3.0)
        pred = blank(3.0)
        ref[:, NAMES.index("mouthPucker")] = smooth_signal(t + k)
        pred[:, NAMES.index("mouthPucker")] = smooth_signal(t + k, 0.066)
        pred[:, NAMES.index("eyeBlink_L")] = np.random.default_rng(k).random(t.size)
        xc += M.lip_xcorr(pred, ref, NAMES, L)
    assert abs(M.lag_from_xcorr(xc, FPS) - 66.0) < 6.0
    assert np.isnan(M.lag_from_xcorr(np.zeros(5), FPS))


def test_curve_l1_and_jitter():
    a = blank()
    b = blank()
    put(b, "jawOpen", 0.0, 2.0, 0.51)
    put(b, "eyeBlink_L", 0.0, 2.0, 0.51)
    assert M.curve_l1(a, b, NAMES) == pytest.approx(2 * 0.51 / len(NAMES), rel=1e-5)
    lip_count = sum(M.is_lip_name(n) for n in NAMES)
    assert M.curve_l1(a, b, NAMES, M.is_lip_name) == pytest.approx(0.51 / lip_count, rel=1e-5)
    assert M.jitter(b, NAMES, FPS) == 0.0                           # constant curves
    noisy = b.copy()
    noisy[::2, NAMES.index("jawOpen")] += 0.1                       # frame-level zigzag
    smooth = b.copy()
    smooth[:, NAMES.index("jawOpen")] += 0.1 * np.sin(np.arange(len(b)) / FPS * 2 * np.pi)
    assert M.jitter(noisy, NAMES, FPS) > 10 * M.jitter(smooth, NAMES, FPS) > 0
    # frame-rate independent: the same motion sampled at 60 fps has about the same jitter
    t60 = np.arange(120) / 60.0
    s60 = np.zeros((120, len(NAMES)))
    s60[:, NAMES.index("jawOpen")] = 0.51 + 0.1 * np.sin(t60 * 2 * np.pi)
    assert M.jitter(s60, NAMES, 60.0) == pytest.approx(M.jitter(smooth, NAMES, FPS), rel=0.05)


def test_style_quantities_move_with_what_they_name():
    c = blank()
    smiles = []
    for v in (0.0, 0.2, 0.4):
        d = c.copy()
        put(d, "mouthSmile_L", 0, 2, v)
        put(d, "mouthSmile_R", 0, 2, v)
        smiles.append(M.smile_amount(d, NAMES))
    assert M.monotonic(smiles)
    frown = c.copy()
    put(frown, "mouthFrown_L", 0, 2, 0.3)
    assert M.smile_amount(frown, NAMES) < 0
    left = c.copy()
    put(left, "mouthSmile_L", 0, 2, 0.3)
    put(left, "mouthLeft", 0, 2, 0.1)
    assert M.asymmetry_amount(left, NAMES) > 0 > M.asymmetry_amount(_mirror(left), NAMES)
    jaw = c.copy()
    put(jaw, "jawOpen", 0, 2, 0.4)
    put(jaw, "mouthFunnel", 0, 2, 0.1)
    lips = jaw.copy()
    put(lips, "mouthFunnel", 0, 2, 0.4)
    assert M.jaw_lip_ratio(jaw, NAMES) > M.jaw_lip_ratio(lips, NAMES)
    moving = c.copy()
    moving[::3, NAMES.index("jawOpen")] = 0.4
    assert M.lip_amplitude(moving, NAMES) > M.lip_amplitude(c, NAMES) == 0.0
    sad = c.copy()
    put(sad, "browInnerUp", 0, 2, 0.4)
    assert M.emotion_amount(sad, NAMES, "sad") > M.emotion_amount(c, NAMES, "sad")
    assert M.emotion_amount(sad, NAMES, "angry") == 0.0


def _mirror(curves):
    out = curves.copy()
    for i, n in enumerate(NAMES):
        if n.endswith("_L"):
            j = NAMES.index(n[:-2] + "_R")
            out[:, [i, j]] = curves[:, [j, i]]
    out[:, [NAMES.index("mouthLeft"), NAMES.index("mouthRight")]] = \
        curves[:, [NAMES.index("mouthRight"), NAMES.index("mouthLeft")]]
    return out


def test_blinks_and_brows():
    c = blank(6.0)
    for start in (0.5, 2.0, 4.0):
        put(c, "eyeBlink_L", start, start + 0.15, 1.0)
        put(c, "eyeBlink_R", start, start + 0.15, 1.0)
    assert M.blinks_per_minute(c, NAMES, FPS) == pytest.approx(30.0)
    assert M.brow_activity(c, NAMES) == 0.0
    put(c, "browOuterUp_L", 1.0, 1.5, 0.3)
    assert M.brow_activity(c, NAMES) > 0


def test_monotonic_and_seed_spread():
    assert M.monotonic([0, 1, 2, 3]) and M.monotonic([3, 2, 1], increasing=False)
    assert not M.monotonic([0, 2, 1, 3]) and not M.monotonic([1, 1, 1])
    assert M.monotonic([0, 1.0, 0.995, 2.0])                        # tiny wobble tolerated
    takes = np.zeros((10, 30, len(NAMES)))
    rng = np.random.default_rng(0)
    takes[:, :, NAMES.index("eyeBlink_L")] = rng.random((10, 30))
    assert M.seed_spread(takes, NAMES, M.is_upper_name) > 0
    assert M.seed_spread(takes, NAMES, M.is_lip_name) == 0.0
