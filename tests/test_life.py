"""The life layers wired into a take (inference/life.py): amount 0 is today's take bit for bit, the lips never
depend on head or gaze, look-at targets follow the head, listening and dialogue takes."""
import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from inference.gaze import target_angles
from inference.head_rig import apply_head_rotation, build_head_rig
from inference.life import (HeadFrame, HeadRotationBake, Life, add_life, bake_head_rotation, dialogue_take,
                            listen_take, look_directions)
from inference.listen import lip_columns
from inference.prosody import prosody
from inference.take import GAZE, HEAD_ROTATION, Take
from tests.prosody_audio import SR, speechlike

FPS = 30.0
NAMES = list(RIG_NAMES)
LOOK = [i for i, n in enumerate(NAMES) if n.startswith("eyeLook")]


def _speech_take(audio, seed=0):
    """A stand-in for the model's curves: seeded values in [0, 1] (the layers never read them but the eyes)."""
    frames = prosody(audio, FPS).n_frames
    rng = np.random.default_rng(seed)
    return Take(FPS, NAMES, rng.uniform(0, 1, (frames, len(NAMES))).astype(np.float32))


@pytest.fixture(scope="module")
def audio():
    return speechlike(np.random.default_rng(2), phrases=5)[0].astype(np.float32)


def test_amounts_zero_leave_the_take_bit_for_bit(audio):
    take = _speech_take(audio)
    before = take.curves.copy()
    same = add_life(take, audio, seed=4, life=Life(head_motion=0.0, gaze=0.0))
    assert same is take and not same.extras
    np.testing.assert_array_equal(same.curves, before)


def test_head_and_gaze_never_touch_the_lips(audio):
    take = _speech_take(audio)
    alive = add_life(take, audio, seed=4, style={"happy": 0.5}, life=Life(1.0, 1.0))
    lips = lip_columns(NAMES)
    np.testing.assert_array_equal(alive.curves[:, lips], take.curves[:, lips])
    head = alive.extras[HEAD_ROTATION]
    assert head.shape == (take.num_frames, 3) and head.dtype == np.float32 and head.std(0).min() > 0.2
    assert alive.extras[GAZE].shape == (take.num_frames, 2)
    assert not np.array_equal(alive.curves[:, LOOK], take.curves[:, LOOK])
    np.testing.assert_array_equal(take.curves, _speech_take(audio).curves)   # the input take is not changed
    again = add_life(_speech_take(audio), audio, seed=4, style={"happy": 0.5}, life=Life(1.0, 1.0))
    np.testing.assert_array_equal(again.extras[HEAD_ROTATION], head)          # seed-reproducible
    other = add_life(_speech_take(audio), audio, seed=5, life=Life(1.0, 1.0))
    assert not np.array_equal(other.extras[HEAD_ROTATION], head)


def test_look_at_follows_the_head(load_head):
    v, f = load_head()
    frame = HeadFrame.from_head_rig(build_head_rig(v, f))
    ahead = frame.eyes + frame.axes[2] * 1000 * np.ptp(v)                   # far straight ahead of the eyes
    d = look_directions(ahead, frame, n_frames=1)
    np.testing.assert_allclose(d[0], [0, 0, 1], atol=1e-9)
    turned = look_directions(ahead, frame, np.array([[20.0, 0.0, 0.0], [0.0, -10.0, 0.0]]))
    yaw, pitch = target_angles(turned, 2)
    np.testing.assert_allclose([yaw[0], pitch[0]], [-20.0, 0.0], atol=0.05)  # head left: eyes right
    np.testing.assert_allclose([yaw[1], pitch[1]], [0.0, 10.0], atol=0.05)  # chin up: eyes down (pitch + is down)
    left = frame.eyes + frame.axes[0] * 0.3 + frame.axes[2] * 0.3            # near, to the left, from moved eyes
    yaw, _ = target_angles(look_directions(left, frame, n_frames=1), 1)
    assert 40 < yaw[0] < 50


def test_a_look_at_target_pulls_the_gaze(audio, load_head):
    v, f = load_head()
    frame = HeadFrame.from_head_rig(build_head_rig(v, f))
    target = frame.eyes + (frame.axes[0] * 0.25 + frame.axes[2]) * 10 * np.ptp(v)   # ~14 deg to the left
    take = add_life(_speech_take(audio), audio, seed=1, life=Life(0.0, 1.0, look_at=target, frame=frame))
    yaw = take.extras[GAZE][:, 0]
    assert 8.0 < np.median(yaw) < 20.0
    free = add_life(_speech_take(audio), audio, seed=1, life=Life(0.0, 1.0))
    assert abs(np.median(free.extras[GAZE][:, 0])) < 4.0


def test_listening_on_silence_nods_blinks_and_keeps_the_lips_still():
    take = listen_take(None, int(40 * FPS), FPS, seed=3, names=NAMES, life=Life(1.0, 1.0))
    assert take.num_frames == 40 * FPS
    assert not take.curves[:, lip_columns(NAMES)].any()
    blink = take.curves[:, NAMES.index("eyeBlink_L")]
    assert np.count_nonzero(np.diff((blink > 0.5).astype(np.int8)) == 1) >= 4
    pitch = take.extras[HEAD_ROTATION][:, 1].astype(np.float64)
    trend = np.convolve(np.pad(pitch, 24, mode="edge"), np.ones(49) / 49, mode="same")[24:-24]
    assert (pitch - trend).max() > 1.0                                          # at least one clear nod
    assert take.extras[GAZE].std(0).max() > 0.5                                  # the eyes move


def test_dialogue_speaks_on_its_own_audio_and_listens_on_the_others():
    rng = np.random.default_rng(7)
    a, _, _, _ = speechlike(rng, phrases=2, lead_s=0.3)
    b, _, _, _ = speechlike(rng, phrases=2, lead_s=0.3)
    gap = np.zeros(int(1.5 * SR), np.float32)
    own = np.concatenate([a, gap, np.zeros(b.size, np.float32)]).astype(np.float32)   # A, then B answers
    heard = np.concatenate([np.zeros(a.size, np.float32), gap, b]).astype(np.float32)
    take = _speech_take(own, seed=9)
    both = dialogue_take(take, own, heard, seed=2, life=Life(1.0, 1.0))
    lips = lip_columns(NAMES)
    own_p, heard_p = prosody(own, FPS, take.num_frames), prosody(heard, FPS, take.num_frames)
    inside = np.convolve(own_p.speech.astype(float), np.ones(31), "same") == 31      # 0.5 s into A's own turn
    speaking = inside & ~np.convolve(heard_p.speech, np.ones(31), "same").astype(bool)
    listening = heard_p.speech & ~np.convolve(own_p.speech, np.ones(61), "same").astype(bool)
    assert speaking.sum() > 30 and listening.sum() > 30
    np.testing.assert_array_equal(both.curves[speaking][:, lips], take.curves[speaking][:, lips])
    assert not both.curves[listening][:, lips].any()                            # no lip motion while listening
    assert both.extras[HEAD_ROTATION].shape == (take.num_frames, 3)


def test_bake_keeps_the_neck_boundary(load_head):
    v, f = load_head()
    rig = build_head_rig(v, f)
    ypr = np.array([[15.0, 10.0, -5.0], [-25.0, -12.0, 8.0]])
    moved = apply_head_rotation(v.astype(np.float32), ypr, rig.weights, rig.pivot, rig.axes)
    np.testing.assert_allclose(moved[:, rig.neck_loop], np.broadcast_to(v[rig.neck_loop], (2, rig.neck_loop.size, 3)),
                               atol=1e-6 * np.ptp(v))
    assert np.abs(moved - v).max() > 0.05 * np.ptp(v)
    fast = bake_head_rotation(np.broadcast_to(v.astype(np.float32), (2,) + v.shape), ypr, rig)
    np.testing.assert_allclose(fast, moved, atol=1e-6 * np.ptp(v))
    np.testing.assert_array_equal(fast[:, rig.neck_loop], np.broadcast_to(v[rig.neck_loop].astype(np.float32),
                                                                          (2, rig.neck_loop.size, 3)))


def test_the_cache_hook_bakes_every_frame_of_a_long_take_in_place(load_head, tmp_path):
    """decode_to_pc2 with HeadRotationBake: blocks longer than its chunk and a short last block, each frame
    turned by its own rotation (float64 reference), the neck loop exactly as decoded."""
    from inference.pc2 import read_pc2
    from inference.rig import Rig
    from inference.take import decode_to_pc2
    v, f = load_head()
    head = build_head_rig(v, f)
    rng = np.random.default_rng(4)
    frames = HeadRotationBake.CHUNK * 2 + 37
    basis = (rng.normal(size=(2, len(v), 3)) * 0.01 * np.ptp(v)).astype(np.float32)
    rig = Rig(("jawOpen", "mouthClose"), v, basis, ["both"], basis[:1] * 0.5, [[0, 1]])
    ypr = rng.uniform(-25, 25, (frames, 3))
    take = Take(FPS, rig.names, rng.uniform(0, 1, (frames, 2)), {HEAD_ROTATION: ypr})
    decode_to_pc2(rig, take, tmp_path / "a.pc2", block=HeadRotationBake.CHUNK + 50, vertex_hook=HeadRotationBake(head))
    cache = read_pc2(tmp_path / "a.pc2")[0]
    decoded = rig.decode(take.curves)
    reference = apply_head_rotation(decoded.astype(np.float64), ypr, head.weights, head.pivot, head.axes)
    np.testing.assert_allclose(cache, reference, atol=1e-6 * np.ptp(v))
    np.testing.assert_array_equal(cache[:, head.neck_loop], decoded[:, head.neck_loop])
    assert np.abs(cache - decoded).max() > 0.05 * np.ptp(v)


@pytest.mark.parametrize("vertices", [1, 2, 7, 10])
def test_bake_pairs_vertices_for_any_vertex_count(vertices):
    """HeadRotationBake turns two vertices per row of its product: odd and even counts (and one vertex) agree
    with the float64 formula, and a vertex of weight 0 keeps its position bit for bit."""
    from inference.head_rig import HeadRig
    rng = np.random.default_rng(vertices)
    weights = rng.uniform(0, 1, vertices).astype(np.float32)
    weights[0] = 0.0
    axes = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    head = HeadRig(weights, rng.normal(size=3), axes, 1.0, np.array([0]))
    positions = rng.normal(size=(HeadRotationBake.CHUNK + 5, vertices, 3)).astype(np.float32)
    ypr = rng.uniform(-30, 30, (len(positions), 3))
    baked = HeadRotationBake(head).bake(positions, ypr)
    np.testing.assert_allclose(baked, apply_head_rotation(positions, ypr, weights, head.pivot, axes), atol=1e-5)
    np.testing.assert_array_equal(baked[:, 0], positions[:, 0])
    assert vertices == 1 or np.abs(baked[:, 1:] - positions[:, 1:]).max() > 0.01
