"""The language-independent teacher: IPA features -> targets, and the multilingual corpus plumbing."""
import shutil

import numpy as np
import pytest

pytest.importorskip("panphon")

from models.training import ipa as I  # noqa: E402
from models.training import metrics as M  # noqa: E402
from models.training import phonemes as P  # noqa: E402
from models.training import teacher as T  # noqa: E402
from models.training.teacher_ipa import teach_ipa  # noqa: E402

NAMES = list(T.NAMES)
TOL_MAX = 0.06        # per curve, full-articulation target units
TOL_MEAN = 0.012


def col(c, n):
    return c[:, T.IDX[n]]


def gap(c):
    return M.lip_gap(c, NAMES)


def frames(s, e, fps=50):
    return np.arange(int(np.ceil(s * fps)), int(np.floor(e * fps)) + 1)


def tgt(ipa):
    (a,) = I.parse(ipa)
    return I.raw_targets(a)


def test_english_targets_reproduced_within_tolerance():
    worst, diffs = 0.0, []
    for arpa, s in I.ARPABET_IPA.items():
        arts = I.parse(s)
        if len(arts) != 1:
            continue                       # diphthongs and affricates are two parts in both teachers
        got, ref = I.raw_targets(arts[0]), P._T[arpa]
        for k in set(got) | set(ref):
            d = abs(got.get(k, 0.0) - ref.get(k, 0.0))
            diffs.append(d)
            worst = max(worst, d)
            assert d <= TOL_MAX, (arpa, s, k, got.get(k, 0.0), ref.get(k, 0.0))
    assert np.mean(diffs) <= TOL_MEAN
    assert len(diffs) > 100


def test_english_flags_dominance_and_classes_match():
    for arpa, s in I.ARPABET_IPA.items():
        arts = I.parse(s)
        assert I.arpabet(s) == arpa, (s, I.arpabet(s), arpa)
        if len(arts) != 1:
            continue
        a = arts[0]
        assert (I.closure_degree(a) == 1.0) == (arpa in P.BILABIAL), arpa
        assert (I.tuck_degree(a) == 1.0) == (arpa in P.LABIODENTAL), arpa
        assert I.is_rounding_target(a) == (arpa in P.LIP_ROUNDING_TARGETS), arpa
        assert P.DOMINANCE[I.dominance_class(a)] == P.DOMINANCE[arpa], arpa


def test_french_y_rounds_and_does_not_spread():
    y, i, u = tgt("y"), tgt("i"), tgt("u")
    assert y["mouthPucker"] >= 0.7 and y.get("mouthStretch", 0) == 0 and y.get("mouthSmile", 0) == 0
    assert i.get("mouthPucker", 0) == 0 and i["mouthStretch"] > 0.35
    assert abs(y["jawOpen"] - i["jawOpen"]) < 0.02 and abs(y["mouthPucker"] - u["mouthPucker"]) < 0.02
    assert I.arpabet("y") == "UW" and I.is_rounding_target(I.parse("y")[0])
    c = teach_ipa([(0, 0.3, ""), (0.3, 0.5, "b"), (0.5, 0.75, "y"), (0.75, 1.1, "")], 50)
    mid = frames(0.55, 0.7)
    assert (col(c, "mouthPucker")[mid] + col(c, "mouthFunnel")[mid]).min() > 0.9
    assert col(c, "mouthStretch_L")[mid].max() < 0.05


def test_german_pf_closes_then_tucks():
    c = teach_ipa([(0, 0.2, ""), (0.2, 0.4, "a"), (0.4, 0.56, "pf"), (0.56, 0.8, "a"), (0.8, 1.0, "")], 50)
    g, roll = gap(c), col(c, "mouthRollLower")
    closed = [k for k in frames(0.38, 0.56) if g[k] <= M.CLOSED_GAP]
    tucked = [k for k in frames(0.4, 0.6) if roll[k] >= 0.5]
    assert closed and tucked
    assert min(closed) < min(tucked) and max(closed) < max(tucked)
    assert g[frames(0.25, 0.35)].min() > 0.3 and g[frames(0.65, 0.75)].min() > 0.3   # vowels open
    assert I.arpabet("pf") == "P"


def test_spanish_beta_nearly_closes():
    def lips(mid):
        c = teach_ipa([(0, 0.2, ""), (0.2, 0.4, "a"), (0.4, 0.5, mid), (0.5, 0.7, "a"), (0.7, 0.9, "")], 50)
        return gap(c)[frames(0.42, 0.48)].min(), c
    g_beta, c = lips("β")
    g_b, _ = lips("b")
    g_d, _ = lips("ð")
    assert g_b <= 0.01
    assert 0.005 < g_beta < 0.08 and g_beta < 0.3 * g_d         # nearly closed, not sealed
    assert col(c, "mouthClose")[frames(0.42, 0.48)].max() > 0.1
    assert I.arpabet("β") not in ("P", "B", "M", "F", "V")      # not scored as a full closure/tuck


def test_czech_r_hacek_and_dutch_short_y_are_sensible():
    r = tgt("r̝")
    assert r["jawOpen"] <= 0.15 and 0.1 <= r["mouthFunnel"] <= 0.4
    a = I.parse("r̝")[0]
    assert a.place == "alveolar" and a.manner == "fricative"
    assert I.closure_degree(a) == I.tuck_degree(a) == 0 and I.arpabet("r̝") == "ZH"
    yy, y = tgt("ʏ"), tgt("y")
    assert 0.3 <= yy["mouthPucker"] < y["mouthPucker"] and yy["jawOpen"] > y["jawOpen"]
    assert yy.get("mouthStretch", 0) == 0 and I.arpabet("ʏ") == "UH"


def test_dutch_v_approximant_partial_tuck_and_labels():
    c = teach_ipa([(0, 0.2, ""), (0.2, 0.4, "a"), (0.4, 0.5, "ʋ"), (0.5, 0.7, "a"), (0.7, 0.9, "")], 50)
    roll = col(c, "mouthRollLower")[frames(0.42, 0.48)].max()
    c2 = teach_ipa([(0, 0.2, ""), (0.2, 0.4, "a"), (0.4, 0.5, "v"), (0.5, 0.7, "a"), (0.7, 0.9, "")], 50)
    assert 0.15 < roll < col(c2, "mouthRollLower")[frames(0.42, 0.48)].max()
    assert I.arpabet("ʋ") not in ("F", "V")


def test_diacritics_and_multi_segment_phones_parse():
    assert [a.kind for a in I.parse("aɪ")] == ["vowel", "vowel"]
    assert I.arpabet("aɪ") == "AY" and I.arpabet("oʊ") == "OW" and I.arpabet("tʃ") == "CH"
    assert I.parse("o̞")[0].close < I.parse("o")[0].close
    assert I.parse("ä")[0].back == 0.5
    assert I.parse("ɯᵝ")[0].rnd == pytest.approx(0.3)
    assert I.parse("mʲ")[0].palatalised and I.arpabet("mʲ") == "M"
    assert I.parse("")[0].kind == "sil" and I.arpabet("") == "sil"
    with pytest.raises(I.UnknownIPAError):
        I.parse("☃")


def test_english_in_ipa_matches_the_arpabet_teacher():
    arpa = [(0.0, 0.2, "sil"), (0.2, 0.3, "W"), (0.3, 0.45, "IY1"), (0.45, 0.55, "F"), (0.55, 0.7, "AA1"),
            (0.7, 0.8, "M"), (0.8, 0.95, "UW1"), (0.95, 1.05, "S"), (1.05, 1.25, "AE1"), (1.25, 1.35, "P"),
            (1.35, 1.7, "sil")]
    c_en = T.teach(arpa, 50, None, 0)
    ipa = [(s, e, I.ARPABET_IPA[P.parse_label(lab)[0]], P.parse_label(lab)[1]) for s, e, lab in arpa]
    c_ipa = teach_ipa(ipa, 50, None, 0)
    lips = [T.IDX[n] for n in NAMES if n.startswith(("jaw", "mouth"))]
    assert np.abs(c_en[:, lips] - c_ipa[:, lips]).mean() < 0.01
    assert np.abs(c_en[:, lips] - c_ipa[:, lips]).max() < 0.1
    ph = [(s, e, lab) for s, e, lab in arpa]
    for fn in (M.bilabial_closure, M.labiodental_tuck, M.rounding):
        assert fn(c_ipa, NAMES, 50, ph) == fn(c_en, NAMES, 50, ph)


def test_events_to_phones_merges_modifiers_and_drops_language_switches():
    from models.training.tts_ipa import events_to_phones
    ev = [(0, "(en)"), (100, "p"), (300, ""), (300, "rʲ"), (500, "ʲ"), (600, "iː"), (900, "")]
    ph = events_to_phones(ev, 1000, 1000)
    assert ph == [(0.0, 0.1, ""), (0.1, 0.3, "p"), (0.3, 0.6, "rʲʲ"), (0.6, 0.9, "i"), (0.9, 1.0, "")]


def test_pho_lines_named_by_events_split_lines_and_pauses():
    from models.training.tts_ipa import name_pho_lines
    rows = [("s", "66"), ("T", "75"), ("T", "76"), ("u", "39"), ("_", "150"), ("_", "1"), ("b", "65"),
            ("a", "60"), ("_", "301")]
    sr = 16000
    ev = [(1000, "s"), (1000 + 66 * 16, "t"), (1000 + (66 + 151) * 16, "u"), (1000 + 256 * 16, ""),
          (1000 + 256 * 16 + 3000, "β"), (1000 + 256 * 16 + 3000 + 65 * 16, "a"), (1000 + 256 * 16 + 5000, "")]
    ph = name_pho_lines(rows, ev, sr)
    labels = [p[2] for p in ph]
    assert labels == ["s", "t", "u", "", "b", "a", ""]          # TT joined, β rendered as b
    assert ph[1][0] == pytest.approx(0.066) and ph[1][1] == pytest.approx(0.217)
    assert ph[-1][1] == pytest.approx(sum(int(r[1]) for r in rows) / 1000)


def test_text_filter_keeps_sentences_in_the_script():
    from models.training.text_multi import acceptable
    assert acceptable("Die Datei konnte nicht geöffnet werden.", "latin")
    assert not acceptable("Datei %s nicht gefunden", "latin")
    assert not acceptable("Öffne die GTK Datei jetzt", "latin")
    assert not acceptable("Два", "cyrillic")
    assert acceptable("ファイルを開けませんでした", "kana")
    assert not acceptable("Не удалось открыть GdkScreen", "cyrillic")


@pytest.mark.skipif(shutil.which("mbrola") is None, reason="mbrola not installed (apt-get install mbrola mbrola-de1)")
def test_mbrola_text_starting_with_a_dash():
    from models.training import tts_ipa
    if not tts_ipa.mbrola_available("de1"):
        pytest.skip("mbrola-de1 not installed")
    u = tts_ipa.synthesize("-Name der Datei", "mbrola:de1")
    assert [p[2] for p in u.phones if p[2]][:2] == ["n", "aː"] or [p[2] for p in u.phones if p[2]][0] == "n"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt-get install espeak-ng)")
def test_tiny_multilingual_shard_round_trip(tmp_path):
    from models.training import corpus as C
    from models.training import corpus_multi as CM
    from models.training import text_multi
    pool = text_multi.catalogue_sentences("de")[:200]
    if not pool:
        pytest.skip("no German gettext catalogues installed")
    for d in ("a", "b"):
        (tmp_path / d / "texts").mkdir(parents=True)
        (tmp_path / d / "texts" / "de.json").write_text(__import__("json").dumps(pool))
    m = CM.generate(0.002, str(tmp_path / "a"), seed=5, langs=["de"], log=lambda *a, **k: None)
    CM.generate(0.002, str(tmp_path / "b"), seed=5, langs=["de"], log=lambda *a, **k: None)
    assert m["held_out_voices"] == ["mbrola:de6"]
    for name in m["shards"]:
        d = C.load_shard(str(tmp_path / "a" / name))
        d2 = C.load_shard(str(tmp_path / "b" / name))
        assert np.array_equal(d["audio"], d2["audio"]) and np.array_equal(d["curves"], d2["curves"])
        assert str(d["lang"]) == "de" and str(d["source"]) == "tts" and str(d["speaker"]) == d["voice"]
        assert len(d["ipa"]) == len(d["phones"])
        for (s, e, lab), ip in zip(d["phones"], d["ipa"]):
            P.parse_label(lab)
            assert (lab == "sil") == (str(ip) == "")
        assert d["curves"].shape == (int(np.ceil(d["audio"].shape[0] / d["sr"] * 50 - 1e-6)), 51)
        assert d["phones"][0][0] == 0.0 and d["phones"][-1][1] == pytest.approx(d["audio"].shape[0] / d["sr"])


def test_training_never_loads_a_multilingual_held_out_voice():
    from models.training.dataset import held_out_voices
    from models.training.languages import LANGUAGES
    ex = held_out_voices()
    assert {lang.held_out for lang in LANGUAGES.values()} <= ex
    assert "mbrola:us3" in ex and "mbrola:de1" not in ex
    assert len({lang.held_out for lang in LANGUAGES.values()}) == len(LANGUAGES)
