"""Seeded blink layer: rate, duration, pauses, reproducibility; the lips never depend on it."""
import numpy as np

from inference.blinks import add_blinks, blink_curve, pause_starts

FPS = 50


def _events(curve, level=0.5):
    above = np.concatenate([[False], curve > level, [False]])
    edges = np.diff(above.astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def test_rate_and_duration_are_human():
    counts, lengths = [], []
    for seed in range(30):
        curve = blink_curve(60 * FPS, FPS, seed)
        on, off = _events(curve, 0.05)
        counts.append(on.size)
        lengths += list((off - on) / FPS)
        assert curve.max() <= 1.0 and curve.min() >= 0.0
    assert 10 <= np.mean(counts) <= 20
    assert 0.08 <= min(lengths) and max(lengths) <= 0.32


def test_upper_face_axis_scales_the_rate():
    def rate(value):
        return np.mean([_events(blink_curve(60 * FPS, FPS, s, value))[0].size for s in range(20)])
    assert rate(-1.0) < rate(0.0) < rate(1.0)


def test_seed_changes_blinks_reproducibly():
    a, b = blink_curve(20 * FPS, FPS, 1), blink_curve(20 * FPS, FPS, 2)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, blink_curve(20 * FPS, FPS, 1))


def test_blinks_gather_at_pauses():
    sr = 16000
    t = np.arange(60 * sr) / sr
    speech = 0.3 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 0.25 * t) > -0.5)  # pauses every 4 s
    pauses = pause_starts(speech.astype(np.float32), FPS)
    assert 10 <= pauses.size <= 20
    near = total = 0
    for seed in range(20):
        on, _ = _events(blink_curve(60 * FPS, FPS, seed, 0.0, pauses))
        gaps = np.abs((on / FPS)[:, None] - pauses[None, :]).min(axis=1)
        near += np.sum(gaps < 0.2)
        total += on.size
    assert near / total > 0.4  # pauses cover ~5% of the time; blinks gather there


def test_both_eyes_together_and_lips_untouched():
    names = ["eyeBlink_L", "eyeBlink_R", "jawOpen"]
    values = np.zeros((10 * FPS, 3), np.float32)
    values[:, 2] = np.linspace(0, 1, values.shape[0])
    jaw = values[:, 2].copy()
    add_blinks(values, names, FPS, np.zeros(10 * 16000, np.float32), seed=4)
    np.testing.assert_array_equal(values[:, 0], values[:, 1])
    np.testing.assert_array_equal(values[:, 2], jaw)
    assert values[:, 0].max() > 0.8
