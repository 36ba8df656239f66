"""Baselines for the evaluation (models/training/baselines.py)."""
import math

import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from models.training import baselines as B

SR = 16000
JAW = RIG_NAMES.index("jawOpen")


def bursts(spans, seconds=2.0, freq=180.0):
    """Harmonic 'voiced' bursts at the given (start, end) seconds, silence elsewhere."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    gate = np.zeros_like(t)
    for s, e in spans:
        gate[(t >= s) & (t < e)] = 1.0
    return (0.3 * x * gate).astype(np.float32)


def stand_in_teacher(calls):
    def teach(phones, fps, style=None, seed=0, duration=None):
        calls.append((list(phones), fps, style, seed, duration))
        T = int(math.ceil(duration * fps - 1e-6))
        out = np.zeros((T, len(RIG_NAMES)), np.float32)
        for s, e, lab in phones:
            if lab != "sil":
                out[int(s * fps):int(math.ceil(e * fps)), JAW] = 0.5
        return out
    return teach


def test_jaw_flap_follows_loudness_and_moves_only_the_jaw():
    pcm = bursts([(0.2, 0.6), (1.2, 1.5)])
    fps = 30.0
    c = B.jaw_flap(pcm, SR, fps)
    assert c.shape == (60, len(RIG_NAMES)) and c.dtype == np.float32
    others = np.delete(c, JAW, axis=1)
    assert np.all(others == 0)
    jaw = c[:, JAW]
    assert 0.0 <= jaw.min() and jaw.max() <= B.FLAP_JAW_MAX + 1e-6
    assert jaw[int(0.4 * fps)] > 0.4 and jaw[int(1.35 * fps)] > 0.4     # open in the bursts
    assert jaw[int(0.1 * fps)] == 0 and jaw[int(1.0 * fps)] == 0          # gated in silence
    # release: the jaw falls over tens of ms, not instantly
    assert jaw[int(round(0.6 * fps)) + 1] > 0


def test_jaw_flap_any_fps_and_silence():
    pcm = bursts([(0.1, 0.4)], seconds=1.0)
    assert B.jaw_flap(pcm, SR, 23.976).shape[0] == math.ceil(23.976 - 1e-6)
    assert np.all(B.jaw_flap(np.zeros(SR, np.float32), SR, 30.0) == 0)


def test_rms_envelope_and_follower():
    env = B.rms_envelope(np.ones(1600, np.float32), SR)
    assert env.size == 20 and np.allclose(env[3:-4], 1.0)
    step = np.r_[np.zeros(10), np.ones(40), np.zeros(40)]
    y = B.attack_release(step, 0.005)
    assert y[49] > 0.95                                              # fast attack
    fall = y[50:]
    assert np.all(np.diff(fall) <= 0) and fall[5] > 0.5 * y[49]       # slow release


def test_rhubarb_like_passes_recognised_phones_to_the_teacher():
    calls = []
    pcm = bursts([(0.2, 0.6)], seconds=1.0)

    def recognize(x, sr):
        return [(0.0, 0.2, "sil"), (0.2, 0.4, "M"), (0.4, 0.6, "AA"), (0.6, 1.3, "sil")]
    curves, phones = B.rhubarb_like(pcm, SR, 30.0, style={"smile": 0.5}, seed=3,
                                    teach=stand_in_teacher(calls), recognize=recognize)
    assert curves.shape == (30, len(RIG_NAMES))
    assert phones[-1][1] == pytest.approx(1.0)                          # clipped to the audio
    (ph, fps, style, seed, duration), = calls
    assert fps == 30.0 and style == {"smile": 0.5} and seed == 3 and duration == pytest.approx(1.0)
    assert [p[2] for p in ph] == ["sil", "M", "AA", "sil"]


def test_ceiling_is_the_teacher_on_true_phones():
    calls = []
    phones = [(0.0, 0.3, "sil"), (0.3, 0.5, "B"), (0.5, 0.9, "IY1")]
    c = B.ceiling(phones, 50.0, 1.0, style=None, seed=1, teach=stand_in_teacher(calls))
    assert c.shape == (50, len(RIG_NAMES))
    assert calls[0][0] == phones


def test_pocketsphinx_phone_loop_without_transcript():
    pytest.importorskip("pocketsphinx")
    from models.training.phonemes import PHONES
    rec = B.recognizer()
    pcm = bursts([(0.3, 0.7), (1.0, 1.6)])
    phones = rec.recognize(pcm, SR)
    assert phones, "the recogniser returned nothing"
    labels = {p[2] for p in phones}
    assert labels <= set(PHONES)
    starts = [p[0] for p in phones]
    assert starts == sorted(starts) and phones[0][0] == 0.0
    for (s0, e0, _), (s1, _e1, _) in zip(phones, phones[1:]):
        assert e0 == pytest.approx(s1) and e0 > s0                     # contiguous, non-empty
    assert phones[-1][1] == pytest.approx(2.0, abs=0.05)
    assert labels - {"sil"}, "bursts of voice were recognised as silence only"
    # other sample rates are resampled to the recogniser's 16 kHz
    pcm8 = pcm[::2].copy()
    assert rec.recognize(pcm8, 8000)[-1][1] == pytest.approx(2.0, abs=0.05)
