"""Seeded head motion: zeros at amount 0, seeds, determinism, nods on stressed syllables, style, idle."""
import numpy as np

from inference.head_motion import head_motion
from inference.prosody import prosody
from tests.prosody_audio import SR, speechlike

FPS = 50


def _take(seed=3, **kw):
    audio, centres, accents, ends = speechlike(np.random.default_rng(seed), **kw)
    return prosody(audio, FPS), centres, accents, ends


def test_amount_zero_is_exactly_zero():
    p, *_ = _take()
    out = head_motion(p, FPS, seed=5, amount=0.0, style={"angry": 1.0})
    assert out.shape == (p.n_frames, 3) and out.dtype == np.float32
    assert not out.any()


def test_deterministic_per_seed_and_seeds_differ():
    p, *_ = _take()
    a, b = head_motion(p, FPS, 1), head_motion(p, FPS, 2)
    np.testing.assert_array_equal(a, head_motion(p, FPS, 1))
    assert np.abs(a - b).mean() > 0.5
    np.testing.assert_allclose(head_motion(p, FPS, 1, amount=0.5), 0.5 * a, rtol=1e-5, atol=1e-6)


def test_nods_land_on_stressed_syllables():
    """Event-triggered average: the head is chin-down around stressed syllables (against random
    times), the apexes that stand out gather there, and a fair share of accents get a nod."""
    p, centres, accents, _ = _take(phrases=6)
    stressed = p.nuclei[p.stressed]
    rng = np.random.default_rng(0)
    random = rng.integers(FPS, p.n_frames - FPS, 200)
    at_stress, at_random, near, total, nodded = [], [], 0, 0, 0
    for seed in range(20):
        pitch = head_motion(p, FPS, seed)[:, 1].astype(np.float64)
        trend = np.convolve(np.pad(pitch, 25, mode="edge"), np.ones(51) / 51, mode="same")[25:-25]
        fast = pitch - trend
        at_stress.append(np.mean([fast[s - 3:s + 4].max() for s in stressed]))
        at_random.append(np.mean([fast[s - 3:s + 4].max() for s in random]))
        apex = np.flatnonzero((fast[1:-1] > fast[:-2]) & (fast[1:-1] >= fast[2:]) & (fast[1:-1] > 1.2)) + 1
        if apex.size:
            near += np.sum(np.abs((apex / FPS)[:, None] - stressed[None] / FPS).min(1) < 0.1)
            total += apex.size
            nodded += np.sum(np.abs(accents[:, None] - (apex / FPS)[None]).min(1) < 0.1)
    assert np.mean(at_stress) > np.mean(at_random) + 0.3
    window = np.mean(np.abs(np.arange(p.n_frames)[:, None] - stressed[None]).min(1) < 0.1 * FPS)
    assert total > 0 and near / total > 2.5 * window, (near / total, window)   # ~3x chance
    assert nodded / (20 * accents.size) > 0.1      # BEAT_P: about a fifth of them get a beat


def test_range_and_speed_are_conversational():
    p, *_ = _take(phrases=10)
    out = np.concatenate([head_motion(p, FPS, s) for s in range(8)])
    std = out.std(0)
    assert (std > 0.7).all() and (std < 6).all(), std
    speed = np.linalg.norm(np.diff(out, axis=0), axis=1) * FPS
    assert 3 < speed.mean() < 30


def test_silence_keeps_breathing_and_swaying():
    silent = prosody(np.zeros(20 * SR, np.float32), FPS)
    out = head_motion(silent, FPS, 7)
    assert np.isfinite(out).all()
    assert 0.2 < out.std(0).max() < 5        # alive, but calm
    speech, *_ = _take(phrases=10)
    assert np.abs(np.diff(out, axis=0)).mean() < np.abs(np.diff(head_motion(speech, FPS, 7), axis=0)).mean()


def test_style_shapes_the_motion():
    p, *_ = _take(phrases=8)

    def activity(style):
        return np.mean([np.abs(np.diff(head_motion(p, FPS, s, style=style), axis=0)).mean() for s in range(6)])

    def posture(style):
        return np.mean([head_motion(p, FPS, s, style=style)[:, 1].mean() for s in range(6)])

    neutral = activity(None)
    assert activity({"sad": 1.0}) < 0.8 * neutral
    assert activity({"angry": 1.0}) > 1.1 * neutral
    assert activity({"upper_face": 1.0}) > activity({"upper_face": -1.0})
    assert posture({"sad": 1.0}) > posture(None) + 2.0            # chin down
    assert posture({"surprised": 1.0}) < posture(None) - 1.0      # chin up
    smooth = np.mean([np.abs(np.diff(head_motion(p, FPS, s, style={"smoothness": 1.0}), 2, axis=0)).mean() for s in range(6)])
    crisp = np.mean([np.abs(np.diff(head_motion(p, FPS, s, style={"smoothness": -1.0}), 2, axis=0)).mean() for s in range(6)])
    assert smooth < crisp


def test_other_frame_rates_give_the_same_motion_in_time():
    audio, *_ = speechlike(np.random.default_rng(5), phrases=3)
    a = head_motion(prosody(audio, 50), 50, 4)
    b = head_motion(prosody(audio, 25), 25, 4)
    assert abs(a.std() - b.std()) < 0.25 * a.std()
