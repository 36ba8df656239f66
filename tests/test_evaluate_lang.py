"""Per-language evaluation: IPA phone classes, the measures, held-out selection and the report, on a tiny
synthetic corpus (two languages, a training voice, real speech with a dev split) made here."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("panphon")

from inference.arkit import RIG_NAMES  # noqa: E402
from models.training import evaluate_lang as L  # noqa: E402
from models.training.evaluate_lang_report import language_name  # noqa: E402
from models.training.corpus import PHONE_DTYPE, write_shard  # noqa: E402
from models.training.style_axes import STYLE_NAMES  # noqa: E402
from models.training.teacher import teach  # noqa: E402

SR, FPS = 16000, 50.0
TINY_MODEL = Path(__file__).resolve().parent / "fixtures" / "tiny_model" / "parley.onnx"
# (IPA, nearest ARPAbet) of one phrase; every vowel class comes back three times in the utterance
PHRASE = [("m", "M"), ("a", "AA1"), ("p", "P"), ("u", "UW1"), ("f", "F"), ("i", "IY1"), ("b", "B"),
          ("o", "OW1"), ("v", "V"), ("e", "EY1"), ("y", "UW1"), ("ʋ", "V"), ("ɛ", "EH1")]


def phone_list(phrase, repeats=3, step=0.12):
    out, t = [(0.0, 0.3, "sil", "")], 0.3
    for _ in range(repeats):
        for ipa, arpa in phrase:
            out.append((t, t + step, arpa, ipa))
            t += step
    return out + [(t, t + 0.3, "sil", "")]


def fake_shard(path, voice, lang, source="tts", split=None, ipa=True, seed=0):
    ph = phone_list(PHRASE)
    dur = ph[-1][1]
    t = np.arange(int(dur * SR)) / SR
    voiced = np.zeros_like(t)
    for s, e, lab, _ in ph:
        if lab not in ("sil", "P", "B"):
            voiced[(t >= s) & (t < e)] = 1.0
    audio = (0.2 * voiced * np.sin(2 * np.pi * 140 * t)).astype(np.float32)
    audio += np.random.default_rng(seed).normal(0, 1e-3, audio.size).astype(np.float32)
    style = np.zeros(len(STYLE_NAMES), np.float32)
    arpa = [(s, e, lab) for s, e, lab, _ in ph]
    d = {"audio": audio, "sr": np.int32(SR), "phones": np.array(arpa, dtype=PHONE_DTYPE),
         "curves": teach(arpa, FPS, style, seed, duration=dur), "names": np.array(RIG_NAMES),
         "fps": np.float32(FPS), "style": style, "style_names": np.array(STYLE_NAMES), "voice": np.array(voice),
         "text": np.array("fake"), "engine": np.array(voice.split(":")[0]), "lang": np.array(lang),
         "source": np.array(source)}
    if ipa:
        d["ipa"] = np.array([p[3] for p in ph])
    if split:
        d["split"] = np.array(split)
    write_shard(str(path), d)


def test_ipa_classes_come_from_features():
    c = L.classify_ipa
    assert all(c(p).bilabial for p in ("p", "b", "m", "pʰ", "mʲ", "pf"))
    assert not any(c(p).bilabial for p in ("β", "ɸ", "ɱ", "f", "w", "a"))
    assert all(c(p).labiodental for p in ("f", "v", "ʋ", "pf", "ɱ"))
    assert not any(c(p).labiodental for p in ("w", "ɥ", "p", "β", "u"))
    assert c("y").rounded and c("y").height == 1 and not c("y").front_unrounded
    assert c("i").front_unrounded and c("i").height == 1 and not c("i").rounded
    assert (c("o").height, c("o").rounded, c("ɛ").height, c("ɛ").front_unrounded) == (2, True, 2, True)
    assert c("a").height == 3 and c("ɐ").height == 3 and c("aː").vowel == "a"
    assert c("aɪ").height == 0 and c("aɪ").vowel == ""               # diphthongs are not scored as vowels
    assert c("") == c("sil") == L.PhoneClass()
    assert c("g") == c("ɡ")                                         # ASCII g as espeak-ng sometimes writes it


def test_arpabet_fallback():
    a = L.classify_arpabet
    assert a("P").bilabial and a("m").bilabial and a("F").labiodental
    assert a("UW1").rounded and a("UW1").height == 1 and a("AE0").front_unrounded and a("AE0").height == 3
    assert a("OW1").height == 0 and a("sil") == L.PhoneClass()


def test_auc():
    assert L.auc([2, 3], [0, 1]) == 1.0 and L.auc([0, 1], [2, 3]) == 0.0
    assert L.auc([1, 1], [1, 1]) == 0.5 and L.auc([1, 2], [1]) == 0.75
    assert math.isnan(L.auc([], [1]))


def classes_of(ph):
    return [L.classify_ipa(p[3]) for p in ph]


def test_measures_see_shapes_not_labels():
    """Hand-made curves: a face that opens by vowel height and rounds the rounded vowels scores 1; its mirror -1;
    a frozen face scores no closures and AUC 0.5."""
    ph = phone_list(PHRASE)
    T = int(ph[-1][1] * FPS) + 1
    good, bad = np.zeros((T, len(RIG_NAMES))), np.zeros((T, len(RIG_NAMES)))
    jaw, pucker = RIG_NAMES.index("jawOpen"), RIG_NAMES.index("mouthPucker")
    for (s, e, _, ipa), c in zip(ph, classes_of(ph)):
        fr = slice(int(round(s * FPS)), int(round(e * FPS)))
        if c.height:
            good[fr, jaw], bad[fr, jaw] = 0.15 * c.height, 0.15 * (4 - c.height)
            good[fr, pucker], bad[fr, pucker] = (0.8, 0.0) if c.rounded else (0.0, 0.8)
    three = L.LangAcc(12)
    phones = [p[:3] for p in ph]
    for name, curves in (("good", good), ("bad", bad), ("frozen", np.zeros_like(good))):
        acc = L.LangAcc(12)
        acc.add(curves, good, FPS, phones, classes_of(ph))
        r = acc.result()
        if name == "good":
            three.extend(acc)
            assert r["rounding_auc"] == 1.0 and r["opening_rank"] == pytest.approx(1.0)
            assert r["closure"] == 1.0 and r["n_closure"] == 9 and r["tuck"] == 0.0 and r["n_tuck"] == 9
            assert abs(r["lag"]) < 1.0
        elif name == "bad":
            assert r["rounding_auc"] == 0.0 and r["opening_rank"] == pytest.approx(-1.0)
        else:
            assert r["rounding_auc"] == 0.5 and r["closure"] == 0.0 and math.isnan(r["opening_rank"])
    assert three.result()["n_rounded"] == 9 and three.result()["n_unrounded"] == 9


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tts = tmp_path_factory.mktemp("multi")
    fake_shard(tts / "0000000.npz", "mbrola:fr4", "fr", seed=1)
    fake_shard(tts / "0000001.npz", "espeak:fr", "fr", seed=2)                 # a training voice
    fake_shard(tts / "0000002.npz", "espeak:pl+f4", "pl", ipa=False, seed=3)
    fake_shard(tts / "0000003.npz", "espeak:pl+f4", "pl", seed=4)
    (tts / "manifest.json").write_text(json.dumps({"held_out_voices": ["mbrola:fr4", "espeak:pl+f4"]}))
    real = tmp_path_factory.mktemp("real_cs")
    fake_shard(real / "a.npz", "real:statue", "cs", "real", split="dev", seed=5)
    fake_shard(real / "b.npz", "real:fish", "cs", "real", split="train", seed=6)
    fake_shard(real / "c.npz", "real:pm", "en", "real", split="dev", ipa=False, seed=7)
    return tts, real


def test_held_out_selection(corpus):
    tts, real = corpus
    groups = L.held_out_shards([str(tts), str(real)], None, 12)
    assert sorted(groups) == [("cs", "real"), ("en", "real"), ("fr", "tts"), ("pl", "tts")]
    assert [p.split("/")[-1] for p in groups[("fr", "tts")]] == ["0000000.npz"]
    assert [p.split("/")[-1] for p in groups[("cs", "real")]] == ["a.npz"]
    assert len(groups[("pl", "tts")]) == 2 and len(L.held_out_shards([str(tts)], None, 1)[("pl", "tts")]) == 1
    assert L.held_out_shards([str(tts)], ["espeak:fr"], 12) == {("fr", "tts"): [str(tts / "0000001.npz")]}


def test_evaluate_end_to_end(corpus, tmp_path):
    tts, real = corpus
    ev = L.evaluate(["--model", str(TINY_MODEL), "--corpus", str(tts), "--corpus", str(real),
                     "--max-utts-per-lang", "4", "--out", str(tmp_path)], log=lambda *a, **k: None)
    assert set(ev.results) == {("cs", "real"), ("en", "real"), ("fr", "tts"), ("pl", "tts"), ("all", "tts"),
                               ("all", "real")}
    teacher, flap = ev.results[("fr", "tts")]["teacher"], ev.results[("fr", "tts")]["jaw_flap"]
    assert teacher["closure"] == 1.0 and teacher["tuck"] == 1.0 and teacher["rounding_auc"] > 0.95
    assert teacher["opening_rank"] > 0.9 and teacher["lag"] == pytest.approx(0.0, abs=1.0)
    assert flap["tuck"] == 0.0 and flap["rounding_auc"] == 0.5
    assert ev.results[("all", "tts")]["teacher"]["n_closure"] == 3 * teacher["n_closure"]
    assert ev.info["groups"][("pl", "tts")]["classes"] == "arpabet+ipa"
    # English real speech is measured, but the real-speech targets (and the pooled real row) are non-English
    pooled, cs = ev.results[("all", "real")]["teacher"], ev.results[("cs", "real")]["teacher"]
    assert (pooled["n_closure"], pooled["n_vowels"]) == (cs["n_closure"], cs["n_vowels"])
    assert not [v for v in ev.verdicts if v[0] == "en"]
    checks = {(lang, src, chk): ok for lang, src, chk, _, _, ok in ev.verdicts}
    assert ("fr", "tts", "rounding_auc") in checks and ("every", "real", "closure (lowest language)") in checks
    assert ev.info["version"] == "0.0-test" and set(ev.failed) <= {k[:2] for k in checks}
    text = (tmp_path / "LANG_EVAL_REPORT.md").read_text()
    assert "python -m models.training.evaluate_lang" in text and "0.0-test" in text
    assert "mbrola:fr4 (1)" in text and "espeak:fr (" not in text and "real:fish" not in text
    assert f"| {language_name('fr')} | tts | " in text and f"| {language_name('cs')} | real | " in text


def test_no_held_out_shards_says_what_to_do(tmp_path):
    fake_shard(tmp_path / "0000000.npz", "espeak:xx", "xx")
    with pytest.raises(SystemExit, match="--held-out"):
        L.evaluate(["--model", "none", "--corpus", str(tmp_path), "--out", str(tmp_path)])
