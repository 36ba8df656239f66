"""The evaluation harness end to end on a tiny synthetic held-out corpus (baselines only)."""
import math
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pocketsphinx")

from inference.arkit import RIG_NAMES  # noqa: E402
from models.training import evaluate as E  # noqa: E402
from models.training import evaluate_judge as judge  # noqa: E402
from models.training.corpus import HELD_OUT_VOICES, PHONE_DTYPE, write_shard  # noqa: E402
from models.training.style_axes import STYLE_NAMES  # noqa: E402
from models.training.teacher import teach  # noqa: E402

SR, FPS = 16000, 50.0


def fake_shard(path, voice, phones, seed):
    dur = phones[-1][1]
    t = np.arange(int(dur * SR)) / SR
    voiced = np.zeros_like(t)
    for s, e, lab in phones:
        if lab != "sil" and lab not in ("P", "B"):
            voiced[(t >= s) & (t < e)] = 1.0
    audio = (0.2 * voiced * sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))).astype(np.float32)
    audio += np.random.default_rng(seed).normal(0, 1e-3, audio.size).astype(np.float32)
    style = np.zeros(len(STYLE_NAMES), np.float32)
    write_shard(str(path), {
        "audio": audio, "sr": np.int32(SR),
        "phones": np.array(phones, dtype=PHONE_DTYPE),
        "curves": teach(phones, FPS, style, seed, duration=dur), "names": np.array(RIG_NAMES),
        "fps": np.float32(FPS), "style": style, "style_names": np.array(STYLE_NAMES),
        "voice": np.array(voice), "text": np.array("fake"), "engine": np.array(voice.split(":")[0]),
    })


PHONES = [(0.0, 0.3, "sil"), (0.3, 0.4, "M"), (0.4, 0.6, "AA1"), (0.6, 0.7, "P"), (0.7, 0.9, "UW1"),
          (0.9, 1.0, "F"), (1.0, 1.2, "IY1"), (1.2, 1.3, "B"), (1.3, 1.5, "OW1"), (1.5, 1.6, "W"),
          (1.6, 1.8, "IH1"), (1.8, 1.9, "V"), (1.9, 2.1, "AE1"), (2.1, 2.5, "sil")]


def test_relative_loss_and_slider_rule():
    assert judge.relative_loss(0.9, 0.81, True) == pytest.approx(0.1)
    assert judge.relative_loss(0.9, 0.95, True) < 0
    assert judge.relative_loss(0.1, 0.2, False) == pytest.approx(1.0)
    assert judge.relative_loss(0.0, 0.1, False) == math.inf and judge.relative_loss(0.0, 0.0, True) == 0.0
    assert judge.relative_loss(float("nan"), 0.5, True) == math.inf
    sweep = {"teacher": [0, 1, 2, 3, 4], "model": [0, 0.5, 1, 1.5, 2], "flat": [0, 0, 0, 0, 0.01]}
    assert judge.slider_ok(sweep, "model", True) == (True, 0.5)
    assert not judge.slider_ok(sweep, "flat", True)[0]          # monotonic but far too small
    assert not judge.slider_ok(sweep, "model", False)[0]         # wrong direction


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    voices = list(HELD_OUT_VOICES[:2]) + ["espeak:not-held-out"]
    for i, v in enumerate(voices):
        fake_shard(corpus / f"{i:07d}.npz", v, PHONES, seed=i)
    return corpus


def baselines_only(corpus, out):
    return ["--model", "none", "--corpus", str(corpus), "--max-utts", "5", "--out", str(out),
            "--conditions", "clean,telephone", "--style-utts", "1", "--blink-utts", "1", "--seeds", "2"]


def test_evaluate_writes_report_and_small_plots(corpus, tmp_path):
    out = tmp_path / "out"
    assert E.main(baselines_only(corpus, out)) == 0
    report = (out / "EVAL_REPORT.md").read_text()
    assert "python -m models.training.evaluate" in report
    assert "espeak:not-held-out" not in report and f"{HELD_OUT_VOICES[0]} (1 utts)" in report
    lipsync, false = report.split("## Lip sync")[1].split("False gestures")
    rows = [r for r in lipsync.splitlines() if r.startswith("| clean |")]
    assert len(rows) == 3                                    # jaw flap, phone loop, ceiling
    false_rows = [r for r in false.split("## Targets")[0].splitlines() if r.startswith("| clean |")]
    assert len(false_rows) == 3
    assert [r for r in false_rows if "true phones" in r][0].endswith("| 0.0% | 0.0% |")  # never closes a vowel or tucks elsewhere
    ceiling = [r for r in rows if "true phones" in r][0]
    assert "| 100.0% | 100.0% | 100.0% |" in ceiling          # the teacher seals, tucks and rounds
    assert any(r.startswith("| telephone |") for r in report.splitlines())
    for name in ("eval_utterance.png", "eval_metrics.png", "eval_sliders.png"):
        size = (out / name).stat().st_size
        assert 1000 < size < 150_000, (name, size)


def test_evaluate_returns_what_it_wrote(corpus, tmp_path):
    """The results behind the report, without reading the Markdown back."""
    out = tmp_path / "out"
    ev = E.evaluate(baselines_only(corpus, out))
    assert ev.report == str(out / "EVAL_REPORT.md") and (out / "EVAL_REPORT.md").is_file()
    assert sorted(ev.lip_sync) == sorted((s, c) for s in ("jaw_flap", "rhubarb_like", "ceiling")
                                         for c in ("clean", "telephone"))
    ceiling = ev.lip_sync[("ceiling", "clean")]
    assert (ceiling["bilabial"], ceiling["tuck"], ceiling["rounding"]) == (1.0, 1.0, 1.0)
    assert ceiling["false"] == {"closed_vowel": 0.0, "tuck_elsewhere": 0.0}
    assert ev.targets == [] and ev.style == []              # no model: nothing to judge
    assert ev.info["voices"] == {HELD_OUT_VOICES[0]: 1, HELD_OUT_VOICES[1]: 1}
    assert ev.info["conditions"] == ["clean", "telephone"] and set(ev.info["phone_acc"]) == {"clean", "telephone"}
    assert set(ev.diversity) == {"teacher"} and all("teacher" in sw and "model" not in sw for sw in ev.sweeps.values())
    assert [os.path.basename(p) for p, _ in ev.plots] == ["eval_utterance.png", "eval_metrics.png", "eval_sliders.png"]
    report = (out / "EVAL_REPORT.md").read_text()
    assert f"{ceiling['l1_all']:.4f}" in report                 # the numbers returned are the numbers written
