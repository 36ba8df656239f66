"""The multilingual forced aligner: Viterbi with minimum durations and optional pauses, IPA handling,
espeak-ng event parsing, transcript tokens, and (when espeak-ng is installed) the phonemizer."""
import os
import shutil

import numpy as np
import pytest

from models.training.aligner import align, espeak, ipa
from models.training.aligner.model import frame_labels


def _scores(bounds, P, rng, good=-0.1, bad=-5.0, noise=0.3):
    T = bounds[-1]
    s = np.full((T, P), bad) + rng.normal(0, noise, (T, P))
    for p in range(len(bounds) - 1):
        s[bounds[p]:bounds[p + 1], p] = good
    return s


def test_viterbi_recovers_known_boundaries():
    rng = np.random.default_rng(0)
    bounds = [0, 5, 12, 14, 30, 41, 44, 60]
    P = len(bounds) - 1
    segs, total = align.viterbi(_scores(bounds, P, rng), [1] * P, [False] * P)
    assert segs == [(bounds[p], bounds[p + 1]) for p in range(P)]
    assert total < 0


def test_viterbi_skips_an_optional_pause_that_is_not_there():
    rng = np.random.default_rng(1)
    # tokens: a, (pause), b, c — the audio has no pause between a and b
    s = _scores([0, 10, 20, 35], 3, rng)
    scores = np.concatenate([s[:, :1], np.full((35, 1), -6.0), s[:, 1:]], axis=1)
    segs, _ = align.viterbi(scores, [1, 3, 1, 1], [False, True, False, False])
    assert segs[1] is None
    assert segs[0] == (0, 10) and segs[2] == (10, 20) and segs[3] == (20, 35)


def test_viterbi_keeps_a_pause_that_is_there():
    rng = np.random.default_rng(2)
    scores = _scores([0, 10, 18, 30], 3, rng)
    segs, _ = align.viterbi(scores, [1, 3, 1], [False, True, False])
    assert segs == [(0, 10), (10, 18), (18, 30)]


def test_viterbi_minimum_duration_is_enforced():
    rng = np.random.default_rng(3)
    # phone 1 truly lasts one frame, but its minimum is 3: the path must still give it 3 frames
    scores = _scores([0, 10, 11, 25], 3, rng)
    segs, _ = align.viterbi(scores, [2, 3, 2], [False] * 3)
    assert segs[1][1] - segs[1][0] == 3
    assert all(b - a >= m for (a, b), m in zip(segs, [2, 3, 2]))
    assert segs[0][0] == 0 and segs[2][1] == 25


def test_viterbi_too_short_audio_is_a_clear_error():
    from inference.errors import ParleyError
    with pytest.raises(ParleyError, match="too short"):
        align.viterbi(np.zeros((4, 3)), [2, 2, 2], [False] * 3)


def test_ipa_normalise_strips_stress_length_and_ties_but_keeps_nasality():
    assert ipa.normalise("ˈaː") == "a"
    assert ipa.normalise("t\u200ds") == "ts"
    assert ipa.normalise("r̝") == "r"
    assert ipa.normalise("ɑ̃") == "ɑ~"
    assert ipa.normalise("ç") == "ç"
    assert ipa.normalise("") == ipa.SIL


def test_ipa_arpabet_nearest_classes_keep_the_lips():
    assert ipa.arpabet("y") == "UW"          # French/German /y/ rounds
    assert ipa.arpabet("p\u200df") == "P"    # German /pf/ closes first
    assert ipa.arpabet("β") == "B"           # Spanish /β/ nearly closes
    assert ipa.arpabet("ʋ") == "V"
    assert ipa.arpabet("ɛː") == "EH"
    assert ipa.arpabet("a\u200dʊ") == "AW"
    assert ipa.arpabet("ʃ") == "SH"
    assert ipa.arpabet("") == "sil"


def test_ipa_nearest_scores_an_unseen_phone_as_an_articulatory_neighbour():
    inv = ["p", "t", "k", "a", "i", "u", "s", "m"]
    assert ipa.nearest("b", inv) == "p"
    assert ipa.nearest("ɯ", inv) in ("u", "i")
    assert ipa.nearest("y", inv) in ("u", "i")
    assert ipa.nearest("ɱ", inv) == "m"
    assert ipa.nearest("a", inv) == "a"


def test_events_to_phones_contiguous_with_pauses_and_words():
    sr = 1000
    events = [(0, "w", ""), (100, "p", "d"), (200, "p", "o"), (300, "p", ""), (350, "w", ""), (350, "p", "b"),
              (500, "p", ""), (520, "p", "")]
    ph = espeak.events_to_phones(events, 600, sr)
    assert [p[2] for p in ph] == ["", "d", "o", "", "b", ""]
    assert [p[3] for p in ph] == [-1, 0, 0, -1, 1, -1]
    assert ph[0][0] == 0.0 and ph[-1][1] == 0.6
    assert all(abs(a[1] - b[0]) < 1e-9 for a, b in zip(ph, ph[1:]))


def test_transcript_tokens_put_optional_pauses_between_words():
    ph = [("", -1, 0.1), ("d", 0, 0.05), ("ʲ", 0, 0.04), ("o", 0, 0.1), ("(en)", 1, 0.0), ("b", 1, 0.05),
          ("", -1, 0.2), ("a", 2, 0.1), ("", -1, 0.0)]
    toks = align.transcript_tokens(ph, min_phone=2, min_sil=3)
    assert [t.key for t in toks] == ["sil", "d", "o", "sil", "b", "sil", "a", "sil"]
    assert [t.optional for t in toks] == [True, False, False, True, False, True, False, True]
    assert all(t.min_frames == (3 if t.optional else 2) for t in toks)


def test_frame_labels_use_frame_centres():
    index = {"sil": 0, "a": 1, "t": 2}
    lab = frame_labels([(0.0, 0.025, ""), (0.025, 0.05, "aː"), (0.05, 0.08, "t")], 8, index)
    # centres 0, 10, 20 ms -> sil; 30, 40 -> a; 50, 60, 70 -> t
    assert lab.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_phonemize_czech_and_exact_synth_timings():
    ph = espeak.phonemize("Dobrý den", "cs")
    speech = [p for p, w, _ in ph if p]
    assert [ipa.normalise(p) for p in speech] == ["d", "o", "b", "r", "i", "d", "e", "n"]
    assert [w for p, w, _ in ph if p] == [0, 0, 0, 0, 0, 1, 1, 1]
    audio, phones = espeak.synth("Dobrý den", "cs", rate=1.2)
    assert audio.dtype == np.float32 and abs(phones[-1][1] - audio.shape[0] / 16000) < 1e-4
    assert [ipa.normalise(p) for s, e, p in phones if p] == ["d", "o", "b", "r", "i", "d", "e", "n"]
    assert all(abs(a[1] - b[0]) < 1e-9 for a, b in zip(phones, phones[1:]))


def test_mbrola_shift_finds_the_offset_even_when_the_first_phone_has_no_event():
    sr = 1000
    # .pho: '?' 0-65 ms (no IPA event), 'aI' 65, 'n' 158, 'b' 281; events run 62 ms late after a pause
    pho = np.array([0.0, 0.065, 0.158, 0.281])
    ev = [(0, "w", ""), (0, "p", ""), (127, "p", "aɪ"), (220, "p", "n"), (343, "p", "b")]
    shifted = espeak.mbrola_shift(ev, pho, sr)
    assert [s for s, k, n in shifted if k == "p" and n] == [65, 158, 281]
    with pytest.raises(espeak.EspeakError):
        espeak.mbrola_shift([(0, "p", "a"), (100, "p", "b"), (333, "p", "c")], np.array([0.0, 0.5, 0.9]), sr)


def test_text_pools_split_train_and_test_by_line(tmp_path):
    from models.training.aligner import data
    stamp = tmp_path / "usr/share/tuxpaint/stamps/animals/cat.txt"
    stamp.parent.mkdir(parents=True)
    lines = [f"Kočka číslo {i} spí." for i in range(60)]
    stamp.write_text("A cat.\n" + "".join(f"cs.utf8={t}\n" for t in lines), encoding="utf-8")
    lua = tmp_path / "usr/share/games/fillets-ng/script/lvl/dialogs_cs.lua"
    lua.parent.mkdir(parents=True)
    lua.write_text('dialogId("l-m-a", "font_small", "Hi")\ndialogStr("Ahoj rybičko")\n', encoding="utf-8")
    train, test = data.text_pool("cs", "train", str(tmp_path)), data.text_pool("cs", "test", str(tmp_path))
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(lines) | {"Ahoj rybičko"}
    assert all(data.is_test_text(t) for t in test)


def test_realspeech_items_pair_audio_with_subtitles_and_characters(tmp_path):
    from models.training.aligner import sources as rs
    root = tmp_path
    script = root / rs.FILLETS / "script" / "wreck"
    script.mkdir(parents=True)
    (script / "dialogs_cs.lua").write_text(
        'dialogId("vr-m-ahoj", "font_small", "Hello")\ndialogStr("Ahoj, jak se máš?")\n\n'
        'dialogId("vr-x-papousek", "font_parrot", "Polly")\ndialogStr("Papoušek chce sušenku.")\n', encoding="utf-8")
    snd = root / rs.FILLETS / "sound" / "wreck" / "cs"
    snd.mkdir(parents=True)
    for n in ("vr-m-ahoj", "vr-x-papousek", "vr-v-nothing"):
        (snd / f"{n}.ogg").write_bytes(b"")
    items = rs.fillets_items(str(root), "cs")
    assert [(i["text"], i["speaker"], i["dev"]) for i in items] == [
        ("Ahoj, jak se máš?", "fillets_cs_small_fish", False),
        ("Papoušek chce sušenku.", "fillets_cs_parrot", True)]
    assert all(i["lang"] == "cs" and "GPL" in i["licence"] for i in items)
    tux = root / rs.TUX / "vehicles" / "cars"
    tux.mkdir(parents=True)
    (tux / "taxi.txt").write_text("A taxi.\nfr.utf8=Un taxi jaune.\nes.utf8=Un taxi.\n", encoding="utf-8")
    (tux / "taxi_desc_fr.ogg").write_bytes(b"")
    t = rs.tuxpaint_items(str(root), ("fr", "es"))
    assert [(i["text"], i["lang"], i["speaker"], i["dev"]) for i in t] == [
        ("Un taxi jaune.", "fr", "tuxpaint_fr", True)]


def test_realspeech_asterisk_prompts_skip_tones_and_notes_and_hold_out_by_prompt_id(tmp_path):
    import gzip
    from models.training.aligner import sources as rs
    root = tmp_path
    doc = root / "usr/share/doc/asterisk-core-sounds-it"
    doc.mkdir(parents=True)
    with gzip.open(doc / "core-sounds-it.txt.gz", "wt", encoding="utf-8") as f:
        f.write("\ufeff; Core Asterisk Sounds in Italian\n\nactivated: Attivato.\nbeep: [toni ascendenti]\n"
                "confbridge-muted: Voce disattivata. (You are now muted.)\ndigits/h-7: settimo\nmissing: Nessun file.\n")
    snd = root / rs.ASTERISK / rs.ASTERISK_VOICES["it"]
    (snd / "digits").mkdir(parents=True)
    for n in ("activated", "beep", "confbridge-muted", "digits/h-7"):
        (snd / f"{n}.wav").write_bytes(b"")
    items = rs.asterisk_items(str(root))
    assert [(i["text"], i["name"], i["lang"]) for i in items] == [
        ("Attivato.", "asterisk_it_activated", "it"), ("settimo", "asterisk_it_digits_h_7", "it")]
    assert all(i["speaker"] == "asterisk_it_IT_m_Carlo" and "CC-BY-SA-3.0" in i["licence"] for i in items)
    assert [i["dev"] for i in items] == [rs._asterisk_dev("activated"), rs._asterisk_dev("digits/h-7")]
    assert rs.items_for(str(root), "asterisk") == items
    unseen = root / rs.ASTERISK / rs.ASTERISK_UNSEEN["it"][0]
    unseen.mkdir(parents=True)
    (unseen / "activated.wav").write_bytes(b"")
    u = rs.items_for(str(root), "asterisk_unseen")
    assert [(i["text"], i["dev"], i["min_score"], i["speaker"]) for i in u] == [
        ("Attivato.", True, rs.STRICT_SCORE, "asterisk_it_menardi")]


def test_load_audio_reads_headerless_gsm_prompts(tmp_path):
    import soundfile as sf
    from models.training.aligner.align import load_audio
    t = np.arange(8000) / 8000
    path = str(tmp_path / "prompt.gsm")
    sf.write(path, 0.5 * np.sin(2 * np.pi * 440 * t), 8000, format="RAW", subtype="GSM610")
    a = load_audio(path)
    assert a.shape[0] == 16000 and 0.2 < np.abs(a).max() < 0.9  # resampled to 16 kHz, level kept


def test_realspeech_unknown_source_is_a_clear_error(tmp_path):
    from inference.errors import ParleyError
    from models.training.aligner import realspeech as rs
    with pytest.raises(ParleyError, match="give some of fillets_cs"):
        rs.build(MODEL, str(tmp_path), raw=str(tmp_path), sources=("voxforge",))


def test_realspeech_trim_and_check():
    from models.training.aligner import realspeech as rs
    audio = np.zeros(16000 * 3, np.float32)
    phones = [(0.0, 1.0, ""), (1.0, 1.1, "a"), (1.1, 1.2, "b"), (1.2, 3.0, "")]
    a, ph = rs.trim_silence(audio, phones, keep=0.15)
    assert abs(a.shape[0] / 16000 - 0.5) < 1e-3
    assert abs(ph[0][1] - 0.15) < 1e-6 and abs(ph[-1][1] - 0.5) < 1e-6
    assert rs.check(ph, -0.5, -2.0) is None
    assert "score" in rs.check(ph, -3.0, -2.0)
    assert "phone rate" in rs.check([(0, 2.0, "a")], -0.5, -2.0)


MODEL = os.path.join(os.path.dirname(__file__), "..", "models", "aligner_phonenet.pt")


@pytest.mark.skipif(shutil.which("espeak-ng") is None or not os.path.exists(MODEL),
                    reason="needs espeak-ng and models/aligner_phonenet.pt")
def test_committed_aligner_finds_boundaries_of_unseen_voice_from_text():
    from models.training.aligner.evaluate import boundary_pairs
    from models.training.aligner.model import load
    model = load(MODEL)
    text = "Papoušek sedí na větvi a zpívá."
    audio, truth = espeak.synth(text, "cs+f4", rate=1.1, pitch=2.0)     # the held-out variant
    pred, score = align.align_audio(model, audio, text, "cs")
    pairs, matched = boundary_pairs(truth, pred)
    err = np.abs([h - t for t, h in pairs]) * 1000
    assert matched == 1.0 and len(pairs) >= 20
    assert np.median(err) <= 20.0
    assert pred[0][0] == 0.0 and abs(pred[-1][1] - audio.shape[0] / 16000) < 1e-6
    assert score > -1.5


def test_real_shard_contract_and_relabel_reproduces_curves(tmp_path):
    from models.training.aligner import realspeech as rs
    from models.training.corpus import write_shard
    audio = (0.1 * np.sin(np.arange(16000) * 0.05)).astype(np.float32)
    phones = [(0.0, 0.2, ""), (0.2, 0.35, "p\u200df"), (0.35, 0.6, "yː"), (0.6, 1.0, "")]
    item = dict(name="fillets_cs_lvl_x-m-a", speaker="fillets_cs_small_fish", lang="cs", text="pfý",
                dev=False, audio="/x.ogg", licence="GPL-2.0-or-later")
    d = rs.make_shard(item, audio, phones, -1.0, seed=0)
    assert d["phones"]["label"].tolist() == ["sil", "P", "UW", "sil"]
    assert d["ipa"].tolist() == ["sil", "p\u200df", "yː", "sil"]
    assert d["curves"].shape == (50, 51) and str(d["source"]) == "real" and str(d["split"]) == "train"
    folder = tmp_path / "real_cs"
    folder.mkdir()
    write_shard(str(folder / (item["name"] + ".npz")), d)
    assert rs.relabel(str(tmp_path), seed=0, log=lambda *a: None) == 1
    with np.load(folder / (item["name"] + ".npz")) as z:
        np.testing.assert_allclose(z["curves"], d["curves"], atol=1e-6)
        assert str(z["teacher"]) == str(d["teacher"])
