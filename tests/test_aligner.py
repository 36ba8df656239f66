"""The multilingual forced aligner: Viterbi with minimum durations and optional pauses, IPA handling,
espeak-ng event parsing, transcript tokens, and (when espeak-ng is installed) the phonemizer."""
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
    ph = [("", -1, 0.1), ("d", 0, 0.05), ("o", 0, 0.1), ("b", 1, 0.05), ("", -1, 0.2), ("a", 2, 0.1), ("", -1, 0.0)]
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
