"""Listening and dialogue: nods after the speaker's phrases, blinks, lips at rest, the dialogue split."""
import numpy as np

from inference.arkit import RIG_NAMES
from inference.listen import (compose, lip_columns, listen_curves, listen_head, plan_dialogue, nod_times)
from inference.prosody import prosody
from tests.prosody_audio import SR, speechlike

FPS = 50
NAMES = list(RIG_NAMES)


def _nod_apexes(pitch, level=1.0):
    trend = np.convolve(np.pad(pitch, 40, mode="edge"), np.ones(81) / 81, mode="same")[40:-40]
    fast = pitch - trend
    return np.flatnonzero((fast[1:-1] > fast[:-2]) & (fast[1:-1] >= fast[2:]) & (fast[1:-1] > level)) + 1


def test_listening_to_silence_nods_blinks_and_keeps_the_lips_at_rest():
    silence = prosody(np.zeros(60 * SR, np.float32), FPS)
    head = listen_head(silence, FPS, seed=3)
    values = listen_curves(silence, FPS, 3, NAMES)
    assert head.shape == (silence.n_frames, 3) and values.shape == (silence.n_frames, len(NAMES))
    assert 2 <= _nod_apexes(head[:, 1].astype(np.float64)).size <= 15       # a few spontaneous nods a minute
    blink = values[:, NAMES.index("eyeBlink_L")]
    onsets = np.flatnonzero(np.diff((blink > 0.5).astype(np.int8)) == 1)
    assert 8 <= onsets.size <= 25
    np.testing.assert_array_equal(blink, values[:, NAMES.index("eyeBlink_R")])
    assert not values[:, lip_columns(NAMES)].any()                           # exactly at rest
    assert head.std(0).max() > 0.3                                           # breathing and sway go on


def test_nods_follow_the_speakers_phrase_ends():
    audio, _, _, ends = speechlike(np.random.default_rng(1), phrases=12, pause_s=1.5)
    heard = prosody(audio, FPS)
    delays = []
    for seed in range(10):
        times, amps, cycles = nod_times(heard, FPS, np.random.default_rng(seed))
        big = times[amps > 1.5]
        after = big[:, None] - heard.phrase_ends[None] / FPS
        after[after < 0] = np.inf
        delays += list(after.min(1))
    delays = np.array(delays)
    assert np.mean((delays >= 0.2) & (delays <= 1.0)) > 0.8
    # and the head really nods there
    pitch = listen_head(heard, FPS, 2, idle=False)[:, 1].astype(np.float64)
    apex = _nod_apexes(pitch) / FPS
    gaps = apex[:, None] - heard.phrase_ends[None] / FPS
    assert np.mean(((gaps > 0.1) & (gaps < 1.4)).any(1)) > 0.6


def test_smiles_only_when_the_style_smiles():
    audio, *_ = speechlike(np.random.default_rng(2), phrases=6, pause_s=1.0)
    heard = prosody(audio, FPS)
    neutral = listen_curves(heard, FPS, 1, NAMES)
    assert not neutral[:, lip_columns(NAMES)].any()
    warm = listen_curves(heard, FPS, 1, NAMES, style={"happy": 1.0})
    smile = warm[:, NAMES.index("mouthSmile_L")]
    assert 0.05 < smile.max() <= 0.3
    others = [c for c in lip_columns(NAMES) if not NAMES[c].startswith("mouthSmile")]
    assert not warm[:, others].any()


def test_amount_zero_and_seeds():
    heard = prosody(np.zeros(10 * SR, np.float32), FPS)
    assert not listen_head(heard, FPS, 1, amount=0.0).any()
    np.testing.assert_array_equal(listen_head(heard, FPS, 1), listen_head(heard, FPS, 1))
    assert not np.array_equal(listen_head(heard, FPS, 1), listen_head(heard, FPS, 2))


def _two_tracks():
    """A speaks ~0.5-3.5 s and 8-10 s; B speaks ~4-7 s in two phrases with a 0.3 s pause between."""
    rng = np.random.default_rng(7)
    a1, *_ = speechlike(rng, phrases=1, syllables=12, lead_s=0.5, pause_s=0.0)
    b1, *_ = speechlike(rng, phrases=2, syllables=6, lead_s=0.0, pause_s=0.3)
    a2, *_ = speechlike(rng, phrases=1, syllables=8, lead_s=0.0, pause_s=0.0)
    n = 11 * SR
    a, b = np.zeros(n, np.float32), np.zeros(n, np.float32)
    a[:a1.size] = a1
    b[4 * SR:4 * SR + b1.size] = b1
    a[8 * SR:8 * SR + a2.size] = a2
    return a, b


def test_dialogue_gives_each_character_its_turns_and_listens_on_the_others():
    a, b = _two_tracks()
    pa, pb = prosody(a, FPS), prosody(b, FPS)
    plan = plan_dialogue(pa, pb, FPS)
    t = np.arange(plan.who.size) / FPS
    assert (plan.who[(t > 1) & (t < 3)] == 1).all() and (plan.who[(t > 4.2) & (t < 5.2)] == 2).all()
    np.testing.assert_array_equal(plan.who[:pb.n_frames] == 2, pb.speech & ~pa.speech)
    assert (plan.who[(t > 8.3) & (t < 9.5)] == 1).all() and (plan.who[t > 10.5] == 0).all()
    assert (plan.listen_a[(t > 1) & (t < 3)] == 0).all() and (plan.listen_a[(t > 4.5) & (t < 6)] == 1).all()
    assert (plan.listen_b[(t > 1) & (t < 3)] == 1).all() and (plan.listen_b[(t > 4.5) & (t < 6)] == 0).all()
    # B's pause inside its own turn (0.3 s, A silent) stays B's turn
    inner = (t > 4.2) & (t < 6.8) & (plan.who == 0)
    assert inner.any() and (plan.listen_b[inner] == 0).all()
    # compose: A's own turns keep the speech take bit for bit; on B's turn, A's lips are at rest
    rng = np.random.default_rng(0)
    speech = rng.uniform(0, 0.5, (t.size, len(NAMES))).astype(np.float32)
    listening = listen_curves(pb, FPS, 1, NAMES)
    values, head = compose(speech, listening, plan.listen_a, np.ones((t.size, 3), np.float32),
                           listen_head(pb, FPS, 1, idle=False))
    own = plan.listen_a == 0
    np.testing.assert_array_equal(values[own], speech[own])
    assert not values[(t > 4.5) & (t < 6)][:, lip_columns(NAMES)].any()
    np.testing.assert_array_equal(head[own], 1.0)
