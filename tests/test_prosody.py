"""Prosody on synthetic speech: loudness, F0, phrases, syllables, stress and accents; speed and edge cases."""

import numpy as np
import pytest

from inference.prosody import prosody, n_frames_for
from tests.prosody_audio import SR, harmonic_tone, speechlike

FPS = 50


def test_f0_of_steady_tones_within_one_percent():
    for f0 in (70.0, 110.0, 180.0, 300.0):
        p = prosody((0.1 * harmonic_tone(f0, 1.0)).astype(np.float32), FPS)
        mid = p.f0[10:40]
        assert p.voiced[10:40].all()
        assert np.max(np.abs(mid / f0 - 1)) < 0.01, (f0, mid.min(), mid.max())


def test_f0_glide_is_followed():
    t = np.arange(SR) / SR
    f = 100 * 2 ** t                                   # one octave up in a second
    p = prosody((0.1 * harmonic_tone(f, 1.0)).astype(np.float32), FPS)
    frames = np.arange(5, 45)
    assert np.max(np.abs(p.f0[frames] / (100 * 2 ** (frames / FPS)) - 1)) < 0.03


def test_noise_and_silence_are_unvoiced():
    rng = np.random.default_rng(0)
    silent = prosody(np.zeros(2 * SR, np.float32), FPS)
    assert not silent.voiced.any() and silent.phrases.shape == (0, 2) and silent.nuclei.size == 0
    noise = prosody((0.05 * rng.standard_normal(2 * SR)).astype(np.float32), FPS)
    assert noise.voiced.mean() < 0.1


def test_phrases_syllables_and_accents_of_synthetic_speech():
    rng = np.random.default_rng(3)
    audio, centres, accents, ends = speechlike(rng)
    p = prosody(audio, FPS)
    assert p.phrases.shape == (4, 2)
    np.testing.assert_allclose(p.phrase_ends / FPS, ends, atol=0.1)  # the last syllable fades out
    nuclei_s = p.nuclei / FPS
    # every syllable found once, within 60 ms of its centre
    assert abs(p.nuclei.size - centres.size) <= 2
    assert np.median(np.abs(nuclei_s[:, None] - centres[None]).min(1)) < 0.03
    # stressed syllables and accents are the loud, high ones
    stressed_s = nuclei_s[p.stressed]
    assert np.abs(accents[:, None] - stressed_s[None]).min(1).max() < 0.06      # every accent is stressed
    is_accent = np.abs(nuclei_s[:, None] - accents[None]).min(1) < 0.06
    assert p.prominence[is_accent].min() > p.prominence[~is_accent].max()
    acc_s = p.accents / FPS
    assert np.abs(accents[:, None] - acc_s[None]).min(1).max() < 0.06
    assert (np.abs(acc_s[:, None] - accents[None]).min(1) < 0.06).mean() > 0.75
    assert p.speech[p.nuclei].all() and not p.speech[:int(0.4 * FPS)].any()


@pytest.mark.parametrize("fps", [24.0, 29.97, 60.0])
def test_any_frame_rate(fps):
    rng = np.random.default_rng(1)
    audio, centres, _, _ = speechlike(rng, phrases=2)
    p = prosody(audio, fps)
    assert p.n_frames == n_frames_for(audio.size, fps) == round(audio.size / SR * fps)
    assert p.phrases.shape == (2, 2)
    assert np.median(np.abs((p.nuclei / fps)[:, None] - centres[None]).min(1)) < 0.04


def test_blocks_join_seamlessly():
    import inference.prosody as module
    rng = np.random.default_rng(2)
    audio, _, _, _ = speechlike(rng, phrases=3)
    whole = prosody(audio, FPS)
    saved = module.BLOCK_FRAMES
    try:
        module.BLOCK_FRAMES = 37
        pieces = prosody(audio, FPS)
    finally:
        module.BLOCK_FRAMES = saved
    np.testing.assert_array_equal(whole.f0, pieces.f0)
    np.testing.assert_allclose(whole.loudness_db, pieces.loudness_db, atol=1e-4)


def test_tiny_and_empty_audio():
    for n in (0, 10, 400):
        p = prosody(np.zeros(n, np.float32), FPS)
        assert p.n_frames >= 1 and p.phrases.shape == (0, 2)
