"""Corpus generator and TTS engines: shard format, determinism, resuming, timings, bad input."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError
from models.training import corpus, tts, tts_festival
from models.training.phonemes import UnknownPhonemeError, parse_label
from models.training.style_axes import STYLE_NAMES
from models.training.text_gen import TextGenerator, coverage

ROOT = Path(__file__).resolve().parents[1]
HAS_ESPEAK = tts.ENGINES["espeak"].available()
needs_espeak = pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng not installed (apt-get install espeak-ng)")
ESPEAK_VOICES = ["espeak:en-us", "espeak:en-us+f3"]


def _engine_voice(engine):
    e = tts.ENGINES[engine]
    vs = e.voices() if e.available() else ()
    return f"{engine}:{vs[0]}" if vs else None


ALL_ENGINE_VOICES = [v for v in (_engine_voice(k) for k in tts.ENGINES) if v]


def test_held_out_voices_are_declared():
    assert len(corpus.HELD_OUT_VOICES) >= 2
    assert set(corpus.HELD_OUT_VOICES) <= set(corpus.DEFAULT_VOICES)
    assert len({v.split(":")[0] for v in corpus.DEFAULT_VOICES}) >= 3
    assert len(set(corpus.DEFAULT_VOICES) - set(corpus.HELD_OUT_VOICES)) >= 8


@needs_espeak
def test_tiny_corpus_shards_follow_the_contract(tmp_path):
    m = corpus.generate(0.004, str(tmp_path), seed=3, voices=ESPEAK_VOICES, log=lambda *a, **k: None)
    shards = sorted(tmp_path.glob("*.npz"))
    assert len(shards) == len(m["shards"]) >= 2
    for p in shards:
        with np.load(p, allow_pickle=False) as z:
            keys = set(z.files)
            assert {"audio", "sr", "phones", "curves", "names", "fps", "style", "style_names", "voice",
                    "text", "engine"} <= keys
            audio, curves = z["audio"], z["curves"]
            assert audio.dtype == np.float32 and audio.ndim == 1 and int(z["sr"]) == 16000
            assert curves.dtype == np.float32 and curves.shape[1] == 51
            assert tuple(z["names"]) == RIG_NAMES and tuple(z["style_names"]) == STYLE_NAMES
            assert float(z["fps"]) == 50 and z["style"].shape == (len(STYLE_NAMES),)
            dur = audio.shape[0] / 16000
            assert curves.shape[0] == int(np.ceil(dur * 50 - 1e-6))
            assert str(z["voice"]) in ESPEAK_VOICES and str(z["engine"]) == "espeak" and str(z["text"]).strip()
            ph = z["phones"]
            assert abs(float(ph["start"][0])) < 1e-6 and abs(float(ph["end"][-1]) - dur) < 1e-3
            np.testing.assert_allclose(ph["start"][1:], ph["end"][:-1], atol=1e-5)  # contiguous
            for lab in ph["label"]:
                parse_label(str(lab))
            assert 0.0 <= curves.min() and curves.max() <= 1.0


@needs_espeak
def test_deterministic_and_resumable(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    quiet = lambda *x, **k: None  # noqa: E731
    corpus.generate(0.003, str(a), seed=11, voices=ESPEAK_VOICES, log=quiet)
    corpus.generate(0.003, str(b), seed=11, voices=ESPEAK_VOICES, log=quiet)
    names = sorted(p.name for p in a.glob("*.npz"))
    assert names == sorted(p.name for p in b.glob("*.npz"))
    for n in names:
        da, db = corpus.load_shard(str(a / n)), corpus.load_shard(str(b / n))
        np.testing.assert_array_equal(da["audio"], db["audio"])
        np.testing.assert_array_equal(da["curves"], db["curves"])
        assert da["text"] == db["text"] and da["voice"] == db["voice"]
    # resume: a missing shard is rebuilt identically, existing ones are not rewritten
    first = a / names[0]
    keep = a / names[1]
    mtime = keep.stat().st_mtime_ns
    ref = corpus.load_shard(str(first))
    first.unlink()
    (a / (names[0] + ".tmp999")).write_bytes(b"half")  # a killed run's leftover
    corpus.generate(0.003, str(a), seed=11, voices=ESPEAK_VOICES, log=quiet)
    np.testing.assert_array_equal(corpus.load_shard(str(first))["curves"], ref["curves"])
    assert keep.stat().st_mtime_ns == mtime
    assert not list(a.glob("*.tmp*"))
    # a different seed gives a different corpus
    c = tmp_path / "c"
    corpus.generate(0.003, str(c), seed=12, voices=ESPEAK_VOICES, log=quiet)
    assert corpus.load_shard(str(c / names[0]))["text"] != ref["text"] or \
        not np.array_equal(corpus.load_shard(str(c / names[0]))["audio"], ref["audio"])


@pytest.mark.parametrize("voice", ALL_ENGINE_VOICES or ["none"])
def test_engine_timings_match_the_audio(voice):
    if voice == "none":
        pytest.skip("no TTS engine installed")
    u = tts.synthesize("Bob moved the blue map, and five cheap shoes were washed.", voice)
    dur = u.audio.shape[0] / 16000
    assert u.audio.dtype == np.float32 and dur > 1.0
    assert abs(u.phones[-1][1] - dur) < 0.03
    bases = [parse_label(p[2])[0] for p in u.phones]
    for want in ("B", "M", "UW", "F", "SH", "CH"):
        assert want in bases, (voice, want)
    # timings agree with the signal: vowels are loud, interior pauses are quiet
    def rms(s, e):
        seg = u.audio[int(s * 16000):int(e * 16000)]
        return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if seg.size else 0.0
    vowels = [rms(s, e) for s, e, lab in u.phones if lab[-1:] in "012"]
    pauses = [rms(s + 0.02, e - 0.02) for s, e, lab in u.phones[1:-1] if lab == "sil" and e - s > 0.08]
    assert pauses, f"{voice}: no pause at the comma"
    assert max(pauses) < 0.2 * np.median(vowels)


def test_every_engine_symbol_maps_to_arpabet():
    for table in (tts.ESPEAK_MAP, tts.MBROLA_MAP, tts_festival.FESTIVAL_MAP):
        for sym, m in table.items():
            if m is None:
                continue
            for lab in ((m,) if isinstance(m, str) else m):
                parse_label(lab)
    with pytest.raises(UnknownPhonemeError, match="'Q9'"):
        tts._map(tts.ESPEAK_MAP, "Q9", "espeak-ng")


def test_bad_input_gives_clear_errors(tmp_path):
    with pytest.raises(tts.EmptyTextError):
        tts.synthesize("   ", "espeak:en-us")
    with pytest.raises(tts.EngineMissingError, match="unknown engine"):
        tts.synthesize("hello", "piper:en_US-lessac")
    with pytest.raises(tts.VoiceNotInstalledError):
        tts.synthesize("hello", "no-engine-prefix")
    if HAS_ESPEAK:
        with pytest.raises(tts.VoiceNotInstalledError, match="not installed"):
            tts.synthesize("hello", "espeak:xx-nonexistent")
    out = tmp_path / "never"
    with pytest.raises(ParleyError):
        corpus.generate(0.01, str(out), voices=["espeak:xx-nonexistent"], log=lambda *a, **k: None)
    assert not out.exists()


def test_missing_engine_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(tts.FestivalEngine, "available", lambda self: False)
    with pytest.raises(tts.EngineMissingError, match="apt-get install festival"):
        tts.synthesize("hello", "festival:kal_diphone")
    out = tmp_path / "c"
    with pytest.raises(tts.EngineMissingError):
        corpus.generate(0.01, str(out), voices=["festival:kal_diphone"], log=lambda *a, **k: None)
    assert not out.exists()


def test_cli_reports_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "models.training.corpus", "--hours", "0.01", "--out", str(out),
                        "--voices", "espeak:xx-nonexistent"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "xx-nonexistent" in r.stderr
    assert not out.exists()


@needs_espeak
def test_text_generator_covers_every_phoneme():
    g = TextGenerator(np.random.default_rng(0))
    texts = [g.utterance() for _ in range(150)]
    assert len(set(texts)) > 140
    assert any(t.endswith("?") for t in texts) and any("," in t for t in texts)
    assert any(ch.isdigit() for t in texts for ch in t)
    phones = [tts.synthesize(t, "espeak:en-us").phones for t in texts[:60]]
    cov = coverage(phones)
    assert cov["phone_coverage"] == 1.0, cov["missing_phones"]
    assert cov["diphone_coverage"] > 0.3


@needs_espeak
def test_plot_utterance_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from models.training.plot_utterance import plot
    corpus.generate(0.001, str(tmp_path / "c"), seed=2, voices=ESPEAK_VOICES, log=lambda *a, **k: None)
    out = tmp_path / "fig.png"
    plot(str(tmp_path / "c" / "0000000.npz"), str(out))
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_espeak
def test_a_shard_does_not_depend_on_the_parents_c_random_state():
    """eSpeak NG's breathy voices draw noise from the C library's rand(), inherited by the synthesis fork: any
    rand() drawn in the parent (by a library thread, say) changed the next shards' audio (the full test run
    caught it). The fork reseeds it to the C default, so the audio is what a fresh process makes."""
    import ctypes
    from models.training import tts
    first = tts.synthesize("the quick brown fox", "espeak:en-us+f3").audio
    for _ in range(5):
        ctypes.CDLL(None).rand()
    np.testing.assert_array_equal(tts.synthesize("the quick brown fox", "espeak:en-us+f3").audio, first)
