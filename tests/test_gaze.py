"""Seeded gaze: timing statistics, main sequence, thinking aversion, targets, curves and combination."""
import numpy as np
import pytest

from inference.gaze import (KIND_AVERSION, KIND_MICRO, LOOK_RANGE_DEG, apply_gaze, gaze, gaze_curves,
                            saccade_duration_s, target_angles)
from inference.prosody import prosody
from tests.prosody_audio import SR, speechlike

FPS = 50


@pytest.fixture(scope="module")
def take():
    audio, _, _, ends = speechlike(np.random.default_rng(2), phrases=12, pause_s=0.7)
    return prosody(audio, FPS)


def test_amount_zero_and_determinism(take):
    z = gaze(take, FPS, 1, amount=0.0)
    assert not z.yaw.any() and not z.pitch.any() and z.saccades.shape == (0, 4)
    a, b = gaze(take, FPS, 1), gaze(take, FPS, 2)
    np.testing.assert_array_equal(a.yaw, gaze(take, FPS, 1).yaw)
    assert not np.array_equal(a.yaw, b.yaw)


def test_fixation_durations_are_conversational_and_heavy_tailed(take):
    holds = []
    for seed in range(10):
        s = gaze(take, FPS, seed).saccades
        big = s[s[:, 3] != KIND_MICRO]
        holds += list(np.diff(big[:, 0]))
    holds = np.array(holds)
    assert 0.3 <= np.median(holds) <= 0.7
    assert np.percentile(holds, 10) >= 0.12 and 0.8 <= np.percentile(holds, 95) <= 2.0
    assert np.mean(holds) > np.median(holds)          # right-skewed


def test_saccades_follow_the_main_sequence_in_the_signal(take):
    fps = 1000.0                                      # fine enough to see a 30 ms saccade
    silent = prosody(np.zeros(8 * SR, np.float32), fps)
    g = gaze(silent, fps, 4)
    s = g.saccades[(g.saccades[:, 3] != KIND_MICRO) & (g.saccades[:, 2] > 2)]
    speed = np.hypot(np.diff(g.yaw), np.diff(g.pitch)) * fps
    assert s.shape[0] >= 5
    for start, length, amp, _ in s:
        np.testing.assert_allclose(length, (2.2 * amp + 21) / 1000, rtol=1e-9)
        window = slice(int(start * fps) - 2, int((start + length) * fps) + 3)
        moving = np.flatnonzero(speed[window] > 0.05 * speed[window].max())
        measured = (moving[-1] - moving[0] + 1) / fps
        assert abs(measured - length) < 0.012, (measured, length)
        assert speed[window].max() < 700               # deg/s: human peak saccade speeds
    between = speed[int(s[0, 0] * fps) + 60:int(s[1, 0] * fps) - 5]
    assert np.median(between) == 0.0                   # fixations hold still


def test_micro_saccades_are_small(take):
    s = gaze(take, FPS, 5).saccades
    micro = s[s[:, 3] == KIND_MICRO]
    assert micro.shape[0] > 5 and np.percentile(micro[:, 2], 90) < 1.2


def test_speaker_looks_away_at_phrase_starts(take):
    starts = take.phrases[:, 0] / FPS
    hits = 0
    for seed in range(10):
        g = gaze(take, FPS, seed)
        s = g.saccades
        aversion = s[s[:, 3] == KIND_AVERSION, 0]
        assert np.all(np.abs(aversion[:, None] - starts[None]).min(1) < 0.45)
        landed = np.round((aversion + 0.1) * FPS).astype(int)
        assert np.all(np.hypot(g.yaw[landed], g.pitch[landed]) > 5.5)      # well off the listener's face
        hits += aversion.size
    assert hits / (10 * starts.size) > 0.5
    listening = gaze(take, FPS, 1, listening=True).saccades
    assert not (listening[:, 3] == KIND_AVERSION).any()


def test_target_is_followed_and_clipped():
    silent = prosody(np.zeros(10 * SR, np.float32), FPS)
    right = np.array([-np.sin(np.radians(20)), 0.0, np.cos(np.radians(20))])  # 20 deg to the character's right
    g = gaze(silent, FPS, 3, target=right, listening=True)
    assert abs(np.median(g.yaw) + 20) < 3 and abs(np.median(g.pitch)) < 5
    yaw, pitch = target_angles(np.array([[0, -1, 1.0]] * 3), 3)
    np.testing.assert_allclose(pitch, 45) and np.testing.assert_allclose(yaw, 0, atol=1e-12)
    far = gaze(silent, FPS, 3, target=[1.0, 0.0, 0.0], listening=True)   # 90 deg left: beyond the eyes' range
    assert far.yaw.max() <= 30.0
    moving = np.c_[np.sin(np.linspace(-0.3, 0.3, silent.n_frames)), np.zeros(silent.n_frames),
                   np.cos(np.linspace(-0.3, 0.3, silent.n_frames))]
    m = gaze(silent, FPS, 3, target=moving, listening=True)
    assert np.corrcoef(m.yaw, np.degrees(np.linspace(-0.3, 0.3, silent.n_frames)))[0, 1] > 0.9


def test_curves_mirror_in_and_out_and_lids_follow():
    c = gaze_curves(np.array([10.0, -10.0, 0.0, 0.0]), np.array([0.0, 0.0, 12.0, -12.0]))
    w = 10.0 / LOOK_RANGE_DEG["Out"]
    assert c["eyeLookOut_L"][0] == pytest.approx(w) and c["eyeLookIn_R"][0] == pytest.approx(w)
    assert c["eyeLookIn_L"][1] == pytest.approx(w) and c["eyeLookOut_R"][1] == pytest.approx(w)
    assert c["eyeLookOut_L"][1] == 0 and c["eyeLookIn_R"][1] == 0
    assert c["eyeLookDown_L"][2] > 0 and c["eyeBlink_L"][2] > 0 and c["eyeBlink_L"][3] == 0
    assert c["eyeLookUp_R"][3] > 0 and c["eyeWide_R"][3] > 0 and c["eyeWide_R"][2] == 0


def test_apply_replaces_look_adds_lids_and_leaves_the_rest(take):
    names = ["eyeLookOut_L", "eyeLookIn_R", "eyeBlink_L", "jawOpen", "eyeLookDown_L"]
    rng = np.random.default_rng(0)
    model = rng.uniform(0, 0.3, (take.n_frames, len(names))).astype(np.float32)
    untouched = apply_gaze(model.copy(), names, gaze(take, FPS, 1), amount=0.0)
    np.testing.assert_array_equal(untouched, model)
    g = gaze(take, FPS, 1)
    out = apply_gaze(model.copy(), names, g, amount=1.0)
    c = gaze_curves(g.yaw, g.pitch)
    np.testing.assert_array_equal(out[:, 0], c["eyeLookOut_L"])
    np.testing.assert_array_equal(out[:, 3], model[:, 3])                # the jaw never moves
    np.testing.assert_allclose(out[:, 2], np.clip(model[:, 2] + c["eyeBlink_L"], 0, 1))
