"""The evaluation-only corpus of languages in no training set (languages.UNSEEN_LANGUAGES, corpus --unseen)."""
import json
import shutil

import numpy as np
import pytest

from inference.errors import ParleyError
from models.training import corpus as C
from models.training import languages as LG

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed (apt-get install espeak-ng)")
# fixed Slovak sentences, so the test does not depend on which gettext catalogues are installed
SLOVAK = [["Súbor sa nepodarilo otvoriť.", "test"], ["Prosím, zadajte meno používateľa.", "test"],
          ["Obrázok bol úspešne uložený do priečinka.", "test"]]


def test_unseen_languages_are_in_no_training_set():
    assert LG.UNSEEN_LANGUAGES and not set(LG.UNSEEN_LANGUAGES) & set(LG.LANGUAGES)
    assert not set(LG.UNSEEN_LANGUAGES) & set(LG.DEFAULT_LANGS)
    for code, lang in LG.UNSEEN_LANGUAGES.items():
        assert lang.held_out == LG.ALL and not lang.mbrola and LG.language(code) is lang
        assert all(LG.is_held_out(code, v) for v in LG.language_voices(code))
    from models.training.dataset import held_out_voices
    assert set(LG.unseen_voices()) <= held_out_voices()
    trained = {v for c in LG.LANGUAGES for v in LG.language_voices(c)} | set(C.DEFAULT_VOICES)
    assert not set(LG.unseen_voices()) & trained


def test_unseen_and_training_languages_do_not_mix():
    from models.training import corpus_multi as CM
    with pytest.raises(ParleyError, match="--unseen"):
        CM.plan(["sk"])
    with pytest.raises(ParleyError, match="training language"):
        CM.plan(["de"], unseen=True)
    assert C.main(["--unseen", "--hours", "0.01", "--out", "/nonexistent/x"]) == 2


@needs_espeak
def test_unseen_shards_are_dev_only_and_never_trained_on(tmp_path):
    pytest.importorskip("panphon")
    from models.training import corpus_multi as CM
    from models.training import dataset as D
    from models.training.evaluate_lang import held_out_shards
    if not CM.installed_voices("sk"):
        pytest.skip("espeak-ng has no Slovak voice")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "sk.json").write_text(json.dumps(SLOVAK, ensure_ascii=False), encoding="utf-8")
    m = CM.generate(0.0002, str(tmp_path), seed=1, langs=["sk"], log=lambda *a, **k: None, unseen=True)
    assert m["evaluation_only"] and "--unseen" in m["command"]
    assert m["held_out_voices"] == m["voices"] == CM.installed_voices("sk")
    paths = [str(tmp_path / name) for name in m["shards"]]
    for p in paths:
        d = C.load_shard(p)
        assert str(d["lang"]) == "sk" and str(d["split"]) == "dev" and str(d["source"]) == "tts"
        assert len(d["ipa"]) == len(d["phones"]) and np.isfinite(d["curves"]).all()
        item = D.load_shard(p)
        assert item["split"] == "dev" and item["curves"].shape[0] >= 20   # long enough to be trained on otherwise
    # no exclusion list at all: the split alone keeps every shard out of training and validation
    corpus = D.Corpus(str(tmp_path), exclude=())
    assert corpus.items == [] and corpus.val == []
    assert D.Corpus(str(tmp_path)).items == []
    # ... while the per-language evaluation finds them without being told the voices
    found = held_out_shards([str(tmp_path)], [], 12)
    assert list(found) == [("sk", "tts")] and sorted(found["sk", "tts"]) == paths


FINNISH = [["Tiedostoa ei voitu avata.", "test"], ["Anna käyttäjän nimi.", "test"],
           ["Kuva tallennettiin kansioon onnistuneesti.", "test"]]


@needs_espeak
def test_held_out_voice_corpus_speaks_only_the_held_out_voice_and_is_dev_only(tmp_path):
    """corpus --langs fi --held-out-voices: a training language's never-trained voice alone, a larger test set."""
    pytest.importorskip("panphon")
    from models.training import corpus_multi as CM
    from models.training import dataset as D
    from models.training.evaluate_lang import held_out_shards
    held = LG.LANGUAGES["fi"].held_out
    if held not in CM.installed_voices("fi"):
        pytest.skip(f"espeak-ng has no {held}")
    assert CM.plan(["fi"], held_out_only=True) == {"fi": [held]}
    assert C.main(["--held-out-voices", "--hours", "0.01", "--out", "/nonexistent/x"]) == 2   # needs --langs
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "fi.json").write_text(json.dumps(FINNISH, ensure_ascii=False), encoding="utf-8")
    m = CM.generate(0.0002, str(tmp_path), seed=5, langs=["fi"], log=lambda *a, **k: None, held_out_only=True)
    assert m["evaluation_only"] and "--held-out-voices" in m["command"]
    assert m["voices"] == m["held_out_voices"] == [held]
    for name in m["shards"]:
        d = C.load_shard(str(tmp_path / name))
        assert str(d["voice"]) == held and str(d["split"]) == "dev" and str(d["lang"]) == "fi"
    assert D.Corpus(str(tmp_path), exclude=()).items == []            # never trained on, even if not named
    assert sorted(held_out_shards([str(tmp_path)], [], 12)) == [("fi", "tts")]
