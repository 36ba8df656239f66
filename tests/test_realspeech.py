"""Real English speech shards: alignment, contract, held-out split, resuming, failure checks."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from models.training import realspeech_en as rs
from models.training.style_axes import STYLE_NAMES

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("PARLEY_REALSPEECH_EN", ROOT.parent / "shared" / "realspeech" / "en"))
# one clip per kind: a training sentence (pm), a held-out sentence (lj), a held-out digit (fsdd, 8 kHz)
CLIPS = ("lj_LJ001-0002.flac", "pm_LJ001-0035.flac", "fsdd_3_theo_0.flac")


def test_words_of_strips_punctuation_and_keeps_apostrophes():
    assert rs.words_of('"After his death in the ""fourteen eighties,"" or') == \
        ["after", "his", "death", "in", "the", "fourteen", "eighties", "or"]
    assert rs.words_of("(afterwards used by Schussler) forty-two 'em I'll") == \
        ["afterwards", "used", "by", "schussler", "forty", "two", "em", "i'll"]


def test_held_out_speakers_cover_sentences_and_digits_and_are_excluded_from_training():
    from models.training.dataset import held_out_voices
    assert "lj" in rs.HELD_OUT_SPEAKERS and sum(s.startswith("fsdd_") for s in rs.HELD_OUT_SPEAKERS) == 2
    assert set(rs.HELD_OUT_VOICES) <= held_out_voices()
    assert "real:pm" not in held_out_voices()


def _speech(rng, seconds, sr=16000):
    return (0.3 * np.sin(2 * np.pi * 150 * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def test_alignment_problem_flags_squeezed_and_misplaced_alignments():
    rng = np.random.default_rng(0)
    audio = np.concatenate([np.zeros(8000, np.float32) + 1e-4, _speech(rng, 1.0), np.zeros(8000, np.float32) + 1e-4])
    good = [(0.0, 0.5, "sil")] + [(0.5 + 0.1 * k, 0.6 + 0.1 * k, "AA1") for k in range(10)] + [(1.5, 2.0, "sil")]
    assert rs.alignment_problem(good, audio) is None
    squeezed = [(0.0, 0.5, "sil")] + [(0.5 + 0.01 * k, 0.51 + 0.01 * k, "T") for k in range(10)] + [(0.6, 2.0, "sil")]
    assert "squeezed" in rs.alignment_problem(squeezed, audio)
    # the speech is where the alignment put silence
    shifted = [(0.0, 1.5, "sil")] + [(1.5 + 0.05 * k, 1.55 + 0.05 * k, "AA1") for k in range(10)]
    assert "silence" in rs.alignment_problem(shifted, audio)
    assert rs.alignment_problem([(0.0, 2.0, "sil")], audio) == "no speech phones"


@pytest.fixture(scope="module")
def small_src(tmp_path_factory):
    if not (SRC / "index.tsv").exists():
        pytest.skip(f"real speech not found in {SRC} (set PARLEY_REALSPEECH_EN)")
    pytest.importorskip("pocketsphinx")
    src = tmp_path_factory.mktemp("src")
    lines = (SRC / "index.tsv").read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[0] in CLIPS]
    assert len(keep) == 1 + len(CLIPS)
    (src / "index.tsv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    os.symlink(SRC / "audio", src / "audio")
    return src


def test_real_shards_follow_the_contract_and_split_by_speaker(small_src, tmp_path):
    out = tmp_path / "real"
    m = rs.build(str(out), str(small_src), seed=0, log=lambda *a, **k: None)
    assert m["dropped"] == []
    assert m["train"] == ["pm_LJ001-0035.npz"]
    assert sorted(m["dev"]) == ["fsdd_3_theo_0.npz", "lj_LJ001-0002.npz"]
    for name in m["train"] + m["dev"]:
        with np.load(out / name, allow_pickle=False) as z:
            audio, curves, ph = z["audio"], z["curves"], z["phones"]
            assert audio.dtype == np.float32 and int(z["sr"]) == 16000 and audio.ndim == 1
            assert tuple(z["names"]) == RIG_NAMES and tuple(z["style_names"]) == STYLE_NAMES
            dur = audio.size / 16000
            assert curves.shape == (int(np.ceil(dur * 50 - 1e-6)), 51) and float(z["fps"]) == 50
            assert str(z["source"]) == "real" and str(z["lang"]) == "en"
            assert str(z["voice"]) == "real:" + str(z["speaker"])
            assert str(z["split"]) == ("dev" if str(z["speaker"]) in rs.HELD_OUT_SPEAKERS else "train")
            assert abs(float(ph["start"][0])) < 1e-6 and abs(float(ph["end"][-1]) - dur) < 1e-3
            np.testing.assert_allclose(ph["start"][1:], ph["end"][:-1], atol=1e-5)
            speech = [str(l) for l in ph["label"] if str(l) != "sil"]
            assert speech and all(l[-1] in "012" for l in speech if l[:2] in ("AA", "IY", "EH", "UW", "AH"))
            if name.startswith("fsdd_3"):      # "three": TH R IY
                assert [l.rstrip("012") for l in speech] == ["TH", "R", "IY"]
            if name.startswith("pm_LJ001-0035"):
                # "they discarded this for a more completely roman ... letter": 4 /m/ or /p/ in the text
                assert sum(l in ("M", "P", "B") for l in speech) >= 4
    # the 8 kHz digit (0.24 s) was resampled to 16 kHz and centred in a second of its own noise floor
    with np.load(out / "fsdd_3_theo_0.npz") as z:
        audio, ph = z["audio"], z["phones"]
        assert audio.size == 16000 and str(ph["label"][0]) == "sil" and str(ph["label"][-1]) == "sil"
        assert float(ph["start"][1]) > 0.3 and float(ph["end"][-2]) < 0.7
        assert np.abs(audio[:4000]).max() < 0.1 * np.abs(audio).max()


def test_build_resumes_and_is_deterministic(small_src, tmp_path):
    out = tmp_path / "real"
    rs.build(str(out), str(small_src), seed=0, log=lambda *a, **k: None)
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    gone = ("pm_LJ001-0035.npz", "fsdd_3_theo_0.npz")        # not the first of their block
    kept = {}
    for name in gone:
        with np.load(out / name) as z:
            kept[name] = {k: z[k].copy() for k in ("style", "curves", "phones", "audio")}
        os.remove(out / name)
    m = rs.build(str(out), str(small_src), seed=0, log=lambda *a, **k: None)
    again = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    assert set(again) == set(first)
    assert all(again[k] == first[k] for k in first if k not in gone)   # kept, not rewritten
    for name in gone:            # the same alignment, style and curves as the first time
        with np.load(out / name) as z:
            for k, v in kept[name].items():
                np.testing.assert_array_equal(z[k], v)
    assert json.loads((out / "manifest.json").read_text())["train"] == m["train"]
