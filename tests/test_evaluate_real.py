"""Real-speech evaluation: lip measures on the FLAME head, Rhubarb's shapes, token statistics, CLI."""
import os
from pathlib import Path

import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from models.training import evaluate_real as ER
from models.training import metrics as M
from models.training.phonemes import TARGETS

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("PARLEY_REALSPEECH_EN", ROOT.parent / "shared" / "realspeech" / "en"))


def _curves(**w):
    c = np.zeros((1, len(RIG_NAMES)), np.float32)
    for k, v in w.items():
        c[0, RIG_NAMES.index(k)] = v
    return c


def test_vowel_classes_follow_height_and_stress():
    assert [M.vowel_class(x) for x in ("AA1", "AE0", "AO2", "AH1", "AH0", "EH1", "ER0", "IY1", "UW0", "T", "sil")] \
        == [3, 3, 3, 3, 2, 2, 2, 1, 1, 0, 0]


def test_auc_narrower():
    assert ER.auc_narrower([30, 31], [50, 55, 60]) == 1.0
    assert ER.auc_narrower([70, 80], [50, 55, 60]) == 0.0
    assert ER.auc_narrower([50], [50]) == 0.5
    assert np.isnan(ER.auc_narrower([], [50]))


def test_tokens_need_a_closure_and_a_release():
    T = 50
    opening = np.full(T, 8.0)
    width = np.full(T, 50.0)
    opening[10:14] = 0.3            # /p/ at 0.2-0.28 s closes, and opens around it
    opening[23:] = 0.2              # /m/ at 0.7 s: closed, never released within 200 ms
    phones = [(0.0, 0.2, "AA1"), (0.2, 0.28, "P"), (0.28, 0.5, "UW1"), (0.7, 0.76, "M"), (0.76, 1.0, "sil")]
    tok = ER.tokens(opening, width, phones)
    assert tok["closures"] == [(True, True), (True, False)]
    opening[10:14] = 1.2                # not within 1 mm: no closure
    assert ER.tokens(opening, width, phones)["closures"][0] == (False, True)
    assert tok["vowels"][0] == (3, 8.0) and tok["rounded"] == [50.0] and tok["spread"] == []


def test_opening_xcorr_finds_a_known_lag():
    rng = np.random.default_rng(0)
    ref = np.convolve(rng.normal(size=400), np.ones(5) / 5, mode="same")
    late = np.r_[np.zeros(3), ref[:-3]]           # 3 frames = 60 ms late
    xc = ER.opening_xcorr(late, ref, 12)
    assert abs(M.lag_from_xcorr(xc, ER.FPS) - 60.0) < 10.0


def test_rhubarb_cues_hold_the_teacher_targets():
    cues = [{"start": 0.0, "end": 0.1, "value": "X"}, {"start": 0.1, "end": 0.3, "value": "A"},
            {"start": 0.3, "end": 0.5, "value": "D"}]
    c = ER.cues_to_curves(cues, 30)
    jaw = RIG_NAMES.index("jawOpen")
    assert c[6, jaw] == pytest.approx(TARGETS["M"]["jawOpen"])
    assert c[20, jaw] == pytest.approx(TARGETS["AA"]["jawOpen"])
    assert c[27, jaw] == pytest.approx(TARGETS["sil"]["jawOpen"])     # after the last cue: idle
    assert set(ER.RHUBARB_SHAPES) == set("ABCDEFGHX")


@pytest.fixture(scope="module")
def probe(flame_dir):
    return ER.LipProbe(str(flame_dir / "flame_template.ply"))


def test_probe_measures_the_lips_in_mm(probe):
    rest_open, rest_width = probe.measure(_curves())
    assert rest_open[0] < 0.5 and 40 < rest_width[0] < 70           # FLAME's lips touch at rest
    assert 25 < probe.travel_mm < 40
    aa = probe.measure(_curves(**TARGETS["AA"]))[0][0]
    eh = probe.measure(_curves(**TARGETS["EH"]))[0][0]
    iy = probe.measure(_curves(**TARGETS["IY"]))[0][0]
    assert aa > eh > iy and aa > 10.0
    uw_width = probe.measure(_curves(**TARGETS["UW"]))[1][0]
    iy_width = probe.measure(_curves(**TARGETS["IY"]))[1][0]
    assert uw_width < 0.75 * rest_width[0] < iy_width
    # the rig's seal: wide-open jaw with mouthClose brings the lips together again
    assert probe.measure(_curves(jawOpen=1.0))[0][0] > 20.0
    assert probe.measure(_curves(jawOpen=1.0, mouthClose=1.0))[0][0] < ER.CLOSED_MM


def test_missing_head_skips_with_a_clear_message(tmp_path, capsys):
    res = ER.main(["--head", str(tmp_path / "none.ply"), "--corpus", str(tmp_path)])
    assert "skipped" in res and "FLAME head" in capsys.readouterr().err


def test_end_to_end_on_two_held_out_clips(flame_dir, tmp_path):
    if not (SRC / "index.tsv").exists():
        pytest.skip(f"real speech not found in {SRC} (set PARLEY_REALSPEECH_EN)")
    pytest.importorskip("pocketsphinx")
    from models.training import realspeech_en as rs
    src = tmp_path / "src"
    src.mkdir()
    lines = (SRC / "index.tsv").read_text(encoding="utf-8").splitlines()
    keep = ("lj_LJ001-0005.flac", "lj_LJ001-0007.flac", "pm_LJ001-0035.flac")
    (src / "index.tsv").write_text("\n".join([lines[0]] + [l for l in lines[1:] if l.split("\t")[0] in keep]) + "\n")
    os.symlink(SRC / "audio", src / "audio")
    corpus = tmp_path / "real"
    rs.build(str(corpus), str(src), log=lambda *a, **k: None)
    res = ER.main(["--model", str(ROOT / "models" / "parley.onnx"), "--corpus", str(corpus), "--heldout",
                   "--head", str(flame_dir / "flame_template.ply"), "--rhubarb", str(tmp_path / "no-rhubarb"),
                   "--out", str(tmp_path / "out")])
    assert res["clips"] == {"lj": 2} and res["systems"] == ["parley", "teacher", "jaw_flap"]
    t, flap = res["all"]["teacher"], res["all"]["jaw_flap"]
    assert t["closure"] >= 0.9 and t["auc"] >= 0.9 and t["rank"] > 0.5 and t["lag_ms"] == 0.0
    assert t["n"]["bilabial"] >= 8 and flap["auc"] < t["auc"]
    assert 3.0 < res["all"]["parley"]["open_mm"] < 20.0
    text = (tmp_path / "out" / "REAL_EVAL_REPORT.md").read_text()
    assert "| mean lip opening on open vowels (mm) |" in text and "`lj`" in text


def test_short_clips_are_padded_with_their_noise_floor_and_phones_shifted():
    rng = np.random.default_rng(1)
    audio = np.r_[rng.normal(0, 1e-3, 800), rng.normal(0, 0.2, 3200)].astype(np.float32)  # 0.25 s
    d = {"audio": audio, "phones": [(0.0, 0.05, "sil"), (0.05, 0.15, "T"), (0.15, 0.25, "UW1")], "text": "two"}
    p = ER.padded(d)
    assert p["audio"].size == 16000 and np.abs(p["audio"][:6000]).max() < 0.02
    lead = (16000 - 4000) // 2 / 16000
    assert p["phones"][0] == (0.0, pytest.approx(0.05 + lead), "sil")
    assert p["phones"][1][:2] == (pytest.approx(0.05 + lead), pytest.approx(0.15 + lead))
    assert p["phones"][-1][1] == pytest.approx(1.0)
    long = {"audio": np.zeros(20000, np.float32), "phones": [(0.0, 1.25, "sil")], "text": ""}
    assert ER.padded(long) is long
