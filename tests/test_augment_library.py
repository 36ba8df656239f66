"""Library augmentation (pyworld voices, pyroomacoustics rooms, codecs, bandwidth): each effect changes
the signal, keeps the length and timing it promises, and is deterministic for a seed."""
import json

import numpy as np
import pytest
from scipy import signal

from models.training import augment as A

pytest.importorskip("soxr")
SR = 16000


def speechlike(seed=0, dur=2.0):
    """Voiced bursts with a formant-like resonance, separated by pauses."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(SR * dur), np.float32)
    t = np.arange(SR) / SR
    k = 1600
    while k < x.size - 5000:
        n = int(rng.uniform(2000, 4000))
        f0 = rng.uniform(110, 180)
        src = signal.sawtooth(2 * np.pi * f0 * t[:n]) * np.hanning(n)
        b, a = signal.iirpeak(rng.uniform(600, 1200), 4, SR)
        x[k:k + n] = 0.3 * signal.lfilter(b, a, src)
        k += n + int(rng.uniform(1500, 3500))
    return x


def envelope(x, win=80):
    return np.convolve(np.abs(x), np.ones(win) / win, mode="same")


def lag_samples(y, x, max_lag=800, waveform=False):
    """Lag of y behind x (samples) from the cross-correlation of their envelopes (or waveforms)."""
    ex, ey = (x, y) if waveform else (envelope(x) - envelope(x).mean(), envelope(y) - envelope(y).mean())
    c = signal.correlate(ey, ex, mode="full")
    mid = x.size - 1
    return int(np.argmax(c[mid - max_lag:mid + max_lag + 1])) - max_lag


def centroid(x):
    f, p = signal.welch(x, SR, nperseg=1024)
    return float((f * p).sum() / p.sum())


def f0_track(x):
    from models.training import augment_voice as V
    f0, _, _ = V.analyze(x)
    return np.median(f0[f0 > 0])


@pytest.fixture(scope="module")
def V():
    from models.training import augment_voice
    try:
        augment_voice._pyworld()
    except RuntimeError as e:
        pytest.skip(str(e))
    return augment_voice


@pytest.fixture(scope="module")
def C():
    pytest.importorskip("pyroomacoustics")
    from models.training import augment_channel
    return augment_channel


def test_warp_envelope_moves_a_peak_by_alpha(V):
    sp = np.full((2, 513), 1e-3)
    sp[:, 100] = 1.0
    for alpha in (0.87, 1.15):
        assert abs(np.argmax(V.warp_envelope(sp, alpha)[0]) - 100 * alpha) <= 1.5
    np.testing.assert_allclose(V.warp_envelope(sp, 1.0), sp)


def test_world_voice_keeps_length_and_timing_and_moves_pitch_and_formants(V):
    x = speechlike(1)
    ana = V.analyze(x)
    y_up = V.voice(x, alpha=1.18, analysis=ana)
    y_dn = V.voice(x, alpha=0.87, analysis=ana)
    same = V.voice(x, analysis=ana)
    for y in (y_up, y_dn, same):
        assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
        assert abs(lag_samples(y, x)) <= 0.005 * SR                    # within half a WORLD frame
    assert centroid(y_up) > 1.05 * centroid(same) and centroid(y_dn) < 0.95 * centroid(same)
    assert not np.allclose(y_up, same, atol=1e-3)
    high = V.voice(x, semitones=4.0, analysis=ana)
    assert f0_track(high) / f0_track(same) == pytest.approx(2 ** (4 / 12), rel=0.04)
    np.testing.assert_array_equal(V.voice(x, alpha=1.1, semitones=2.0), V.voice(x, alpha=1.1, semitones=2.0))


def test_world_tempo_retimes_audio_and_item_together(V):
    x = speechlike(2)
    T = int(np.ceil(x.size / 320))
    curves = np.zeros((T, 51), np.float32)
    env = envelope(x, 320)[::320][:T]
    curves[:, 0] = env / env.max()                      # a curve that follows the audio's bursts
    bil = (curves[:, 0] > 0.5).astype(np.float32)
    item = {"audio": x, "curves": curves, "bilabial": bil, "phone": np.arange(T), "voice": "v"}
    for tempo in (0.8, 1.25):
        out = V.retime_item(item, tempo)
        assert abs(out["audio"].size - x.size / tempo) <= 1
        n = out["curves"].shape[0]
        assert abs(n - T / tempo) <= 1.5 and out["bilabial"].shape == (n,) and out["phone"].shape == (n,)
        # the re-timed curve still follows the re-timed audio's bursts: same lag as before (0)
        env2 = envelope(out["audio"], 320)[::320][:n]
        c = signal.correlate(env2 - env2.mean(), out["curves"][:n, 0] - out["curves"][:n, 0].mean(), mode="full")
        assert abs(int(np.argmax(c[n - 1 - 5:n + 5])) - 5) <= 1      # within one 20 ms frame
        assert out["phone"][-1] == pytest.approx(T - 1, abs=2) and out["voice"] == "v"
    assert V.retime_phones([(0.0, 1.0, "AA1")], 1.25) == [(0.0, 0.8, "AA1")]


def test_rooms_keep_timing_and_length_spread_energy_and_are_seeded(C):
    x = speechlike(3)
    y1 = C.room(x, np.random.default_rng(4))
    y2 = C.room(x, np.random.default_rng(4))
    np.testing.assert_array_equal(y1, y2)
    # the direct path at sample 0: the waveforms line up (the envelope's centre moves later with the tail)
    assert y1.shape == x.shape and lag_samples(y1, x, waveform=True) == 0
    rirs, rt60 = C.rir_bank()
    assert len(rirs) == C.BANK_SIZE and rt60.min() >= 0.15 and rt60.max() <= 1.0
    wet = C.room(x, None, index=int(np.argmax(rt60)))
    pauses = envelope(x, 400) < 1e-4
    assert np.sqrt(np.mean(wet[pauses] ** 2)) > 20 * np.sqrt(np.mean(x[pauses] ** 2) + 1e-12)
    # each starts at its direct sound (an early floor reflection may add up to a little more)
    assert all(abs(h[0]) == 1.0 and np.abs(h[:400]).max() <= 1.5 for h in rirs)


@pytest.mark.parametrize("kind", ["mp3", "opus", "vorbis", "gsm"])
def test_codecs_round_trip_with_no_delay(C, kind):
    x = speechlike(4)
    y = C.codec(x, np.random.default_rng(0), kind, level=0.8)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert abs(lag_samples(y, x)) <= 16
    assert not np.allclose(y, x, atol=1e-3)
    r = np.corrcoef(envelope(y), envelope(x))[0, 1]
    assert r > 0.8
    np.testing.assert_array_equal(y, C.codec(x, np.random.default_rng(0), kind, level=0.8))
    if kind == "gsm":        # 8 kHz line: nothing above 4 kHz
        f, p = signal.welch(y, SR, nperseg=1024)
        assert p[f > 4200].sum() < 1e-3 * p.sum()


def test_bandwidth_removes_the_top_band(C):
    x = np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32)
    y = C.bandwidth(x, 8000)
    f, p = signal.welch(y, SR, nperseg=1024)
    assert y.shape == x.shape and p[f > 4300].sum() < 1e-3 * p.sum() and p[f < 3500].sum() > 0.4 * p.sum() * 0.5


def test_profiles_classic_keeps_the_old_chain_and_voices_adds_the_library(V, C):
    x = speechlike(5)
    keys = set()
    for seed in range(6):
        _, info = A.augment(x, np.random.default_rng(seed), profile="classic")
        keys |= set(info)
    assert not any(k.startswith(("voice_", "room", "codec", "bandwidth")) for k in keys)
    everything = {k: 1.0 for k in A.VOICES_P}
    y1, info = A.augment(x, np.random.default_rng(7), p=everything)
    y2, _ = A.augment(x, np.random.default_rng(7), p=everything)
    np.testing.assert_array_equal(y1, y2)
    assert {"voice_alpha", "voice_semitones", "room", "codec", "bandwidth"} <= set(info)
    assert y1.shape == x.shape and np.abs(y1).max() <= 1.0
    with pytest.raises(ValueError, match="profile"):
        A.augment(x, np.random.default_rng(0), profile="loud")


def test_training_crops_from_retimed_utterances_stay_aligned(V, tmp_path):
    from inference.arkit import RIG_NAMES
    from models.training.corpus import PHONE_DTYPE, write_shard
    from models.training.dataset import Corpus
    x = speechlike(6, dur=6.0)
    T = int(np.ceil(x.size / 320))
    env = envelope(x, 320)[::320][:T]
    curves = np.zeros((T, 51), np.float32)
    curves[:, RIG_NAMES.index("jawOpen")] = env / env.max()
    loud = env > 0.3 * env.max()
    edges = np.flatnonzero(np.diff(np.r_[0, loud.astype(int), 0]))
    phones = [(a / 50, b / 50, "AA1") for a, b in zip(edges[::2], edges[1::2])]
    gaps = [(0.0, phones[0][0], "sil")] + [(p[1], q[0], "M") for p, q in zip(phones, phones[1:])]
    allp = sorted(phones + gaps + [(phones[-1][1], x.size / SR, "sil")])
    write_shard(str(tmp_path / "0000000.npz"), dict(
        audio=x, sr=np.int32(SR), phones=np.array(allp, PHONE_DTYPE), curves=curves, names=np.array(RIG_NAMES),
        fps=np.float32(50), style=np.zeros(11, np.float32), voice=np.array("test:v")))
    corpus = Corpus(str(tmp_path), exclude=(), val_fraction=0.0)
    rng = np.random.default_rng(0)
    batch = corpus.sample(rng, 6, 100, 20, augment=lambda pcm, r: pcm, p_tempo=1.0)
    assert len(corpus.retimed) == 1 and 0.8 <= next(iter(corpus.retimed.values()))["tempo"] <= 1.25
    for b in range(6):
        audio = batch["audio"][b, 20 * 320:120 * 320]
        a_env = envelope(audio, 320)[::320][:100]
        jaw = batch["curves"][b, :, RIG_NAMES.index("jawOpen")]
        if a_env.std() < 1e-4 or jaw.std() < 1e-3:
            continue
        c = signal.correlate(a_env - a_env.mean(), jaw - jaw.mean(), mode="full")
        assert abs(int(np.argmax(c[99 - 5:99 + 6])) - 5) <= 1
        # the /m/ mask sits where the audio pauses
        m = batch["bilabial"][b] > 0
        if m.any() and (~m).any():
            assert a_env[m].mean() < a_env[~m].mean()


def test_offline_variants_retime_phones_and_reteach_the_curves(V, tmp_path):
    from inference.arkit import RIG_NAMES
    from models.training.corpus import PHONE_DTYPE, load_shard, write_shard
    from models.training.teacher import teach
    x = speechlike(8, dur=3.0)
    phones = [(0.0, 0.5, "sil"), (0.5, 0.7, "M"), (0.7, 1.2, "AA1"), (1.2, 1.4, "P"), (1.4, 2.0, "UW1"),
              (2.0, 3.0, "sil")]
    style = np.zeros(11, np.float32)
    for k in range(2):
        write_shard(str(tmp_path / f"src{k}.npz"), dict(
            audio=x, sr=np.int32(SR), phones=np.array(phones, PHONE_DTYPE), curves=teach(phones, 50, style, 0, 3.0),
            names=np.array(RIG_NAMES), fps=np.float32(50), style=style, voice=np.array(f"test:v{k}"),
            text=np.array("ma pu")))
    out = tmp_path / "world"
    V.write_variants([str(tmp_path)], str(out), hours=8 / 3600, seed=1, log=lambda *a, **k: None)
    shards = sorted(out.glob("w*.npz"))
    assert len(shards) >= 2
    tempos = set()
    for path in shards:
        d = load_shard(str(path))
        p = json.loads(str(d["augment"]))               # the parameters, as written
        tempo = p.get("tempo", 1.0)
        tempos.add(tempo == 1.0)
        dur = d["audio"].size / SR
        assert abs(dur - 3.0 / tempo) < 1e-3 and d["voice"].endswith("~world")
        assert d["curves"].shape == (int(np.ceil(dur * 50 - 1e-6)), 51)
        assert d["phones"][2][0] == pytest.approx(0.7 / tempo, abs=1e-4) and d["phones"][-1][1] == pytest.approx(dur)
        lips = [i for i, n in enumerate(RIG_NAMES) if n.startswith(("jaw", "mouth"))]
        ref = teach(d["phones"], 50, style, 0, dur)     # lower face: the teacher's at the new rate
        np.testing.assert_allclose(d["curves"][:, lips], ref[:, lips], atol=1e-5)
    assert tempos == {True, False}                       # seed 1 draws both kinds
    first = {p.name: p.stat().st_mtime_ns for p in shards}
    V.write_variants([str(tmp_path)], str(out), hours=8 / 3600, seed=1, log=lambda *a, **k: None)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("w*.npz")} == first      # resumed, not redone
