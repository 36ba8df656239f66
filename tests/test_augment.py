"""Audio augmentation: each effect does what it says and keeps the alignment with the curves."""
import numpy as np
import pytest
from scipy import signal

from models.training import augment as A

SR = 16000


def tone(f0=200.0, dur=1.0, harmonics=6):
    t = np.arange(int(SR * dur)) / SR
    x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, harmonics + 1))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def speechlike(seed=0, dur=2.0):
    """Harmonic bursts separated by silences, like syllables and pauses."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(SR * dur), np.float32)
    k = 0
    while k < x.size - 4000:
        n = int(rng.uniform(1500, 3500))
        seg = tone(rng.uniform(100, 250), n / SR)[:n] * np.hanning(n).astype(np.float32)
        x[k:k + n] = seg
        k += n + int(rng.uniform(500, 3000))
    return x


def f0_of(x):
    s = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.argmax(s) * SR / x.size


def band_energy(x, lo, hi):
    f, p = signal.welch(x, SR, nperseg=1024)
    return p[(f >= lo) & (f < hi)].sum()


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
@pytest.mark.parametrize("color", ["white", "pink", "brown", "speech"])
def test_noise_hits_the_requested_snr(snr, color):
    x = tone(dur=2.0)
    y = A.noise(x, np.random.default_rng(1), snr, color)
    measured = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
    assert abs(measured - snr) < 0.5
    assert y.shape == x.shape and y.dtype == np.float32


def test_noise_colours_have_their_slopes():
    rng = np.random.default_rng(0)
    w, p, b = (A.colored_noise(SR * 4, rng, c) for c in ("white", "pink", "brown"))
    ratio = lambda z: band_energy(z, 100, 400) / band_energy(z, 3000, 6000)  # noqa: E731
    assert ratio(w) < ratio(p) < ratio(b)


@pytest.mark.parametrize("semitones", [-3.0, 2.0, 4.0])
def test_pitch_shift_moves_f0_and_keeps_length(semitones):
    x = tone(200.0)
    y = A.pitch_shift(x, semitones)
    assert y.shape == x.shape
    assert abs(f0_of(y) - 200.0 * 2 ** (semitones / 12)) < 4.0


def test_formant_shift_keeps_pitch_and_moves_the_envelope():
    x = tone(150.0, harmonics=30)
    y = A.formant_shift(x, 1.2)
    assert y.shape == x.shape
    assert abs(f0_of(y) - f0_of(x)) < 3.0
    centroid = lambda z: np.sum(np.abs(np.fft.rfft(z)) * np.fft.rfftfreq(z.size, 1 / SR)) / np.sum(np.abs(np.fft.rfft(z)))  # noqa: E731
    assert centroid(y) > centroid(x) * 1.05


def test_reverb_spreads_energy_into_pauses():
    x = speechlike()
    y = A.reverb(x, np.random.default_rng(0), rt60=0.8)
    assert y.shape == x.shape
    silent = np.abs(x) == 0
    assert np.mean(y[silent] ** 2) > 20 * (np.mean(x[silent] ** 2) + 1e-12)
    h = A.room_impulse(np.random.default_rng(0), rt60=0.5)
    e = np.cumsum(h[::-1] ** 2)[::-1]
    k = int(0.5 * SR)
    decay_db = 10 * np.log10(e[k] / e[int(0.01 * SR)])
    assert -75 < decay_db < -45   # roughly -60 dB at RT60


def test_telephone_band_limits():
    x = A.colored_noise(SR * 2, np.random.default_rng(0), "white") * 0.1
    y = A.eq(x, np.random.default_rng(0), "telephone")
    inband = band_energy(y, 500, 3000) / 2500
    assert band_energy(y, 20, 150) / 130 < inband * 1e-2
    assert band_energy(y, 4500, 8000) / 3500 < inband * 1e-2


def test_cheap_mic_and_random_eq_change_the_spectrum_not_the_length():
    x = A.colored_noise(SR, np.random.default_rng(0), "pink") * 0.1
    for kind in ("cheap_mic", "random"):
        y = A.eq(x, np.random.default_rng(3), kind)
        assert y.shape == x.shape and np.isfinite(y).all()
        assert not np.allclose(y, x)
    y = A.eq(x, np.random.default_rng(3), "cheap_mic")
    assert band_energy(y, 20, 100) < 0.2 * band_energy(x, 20, 100) * (np.sum(y ** 2) / np.sum(x ** 2))


def test_gain_and_clipping():
    x = tone()
    assert np.allclose(A.gain(x, -6.0206), x * 0.5, atol=1e-6)
    y = A.clip(x, 0.4)
    assert np.abs(y).max() <= 0.4 * np.abs(x).max() + 1e-6
    s = A.clip(x, 0.4, soft=True)
    assert np.abs(s).max() < 0.4 * np.abs(x).max() + 1e-6 and np.all(np.sign(s) == np.sign(x))


def test_speed_changes_length_and_curves_follow():
    x = tone(dur=2.0)
    y, factor = A.speed(x, 1.25)
    assert abs(factor - 1.25) < 0.02 and abs(y.size - x.size / factor) <= 2
    curves = np.linspace(0, 1, 100)[:, None] * np.ones((1, 51), np.float32)
    c2 = A.resample_curves(curves, factor)
    assert abs(c2.shape[0] - 100 / factor) <= 1
    assert abs(c2[-1, 0] - 1.0) < 0.05 and c2[0, 0] == 0


def test_augment_is_seeded_length_preserving_and_bounded():
    x = speechlike(1)
    outs = []
    for seed in (5, 5, 6):
        y, info = A.augment(x, np.random.default_rng(seed), p={k: 1.0 for k in A.DEFAULT_P})
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.isfinite(y).all() and np.abs(y).max() <= 1.0
        assert {"pitch", "formant", "reverb_rt60", "eq", "noise_snr", "gain_db"} <= set(info)
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    # silence never stays digitally exact
    y, _ = A.augment(np.zeros(SR, np.float32), np.random.default_rng(0), p={k: 0.0 for k in A.DEFAULT_P})
    assert np.abs(y).max() > 0


def test_examples_cli_writes_listenable_files(tmp_path):
    sf = pytest.importorskip("soundfile")
    shard = tmp_path / "s.npz"
    np.savez(shard, audio=speechlike(2), sr=np.int32(SR))
    assert A.main([str(shard), str(tmp_path / "ex"), "--n", "2"]) == 0
    wavs = sorted((tmp_path / "ex").glob("*.wav"))
    assert len(wavs) >= 10
    y, sr = sf.read(wavs[0])
    assert sr == SR and y.size > 0
