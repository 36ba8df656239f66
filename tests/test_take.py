"""The bpy-free take path: names in any spelling, targets (one to one and mixed), and the streamed .pc2."""
import numpy as np
import pytest

from inference.animate import Cancelled
from inference.arkit import ARKIT_NAMES, RIG_NAMES, canonical_name, match_names, spelling_key
from inference.pc2 import read_pc2
from inference.rig import Rig
from inference.take import HEAD_ROTATION, ShapeTarget, Take, decode_to_pc2, take_columns


def small_rig(names=("jawOpen", "eyeBlink_L", "mouthClose"), vertices=4, seed=0):
    rng = np.random.default_rng(seed)
    neutral = rng.normal(size=(vertices, 3)).astype(np.float32)
    basis = rng.normal(size=(len(names), vertices, 3)).astype(np.float32)
    corrective = rng.normal(size=(1, vertices, 3)).astype(np.float32)
    return Rig(names, neutral, basis, ["jawOpen_x_close"], corrective, np.array([[0, len(names) - 1]]))


def random_take(names=RIG_NAMES, frames=10, seed=1, lo=0.0, hi=1.0):
    values = np.random.default_rng(seed).uniform(lo, hi, size=(frames, len(names)))
    return Take(30.0, names, values)


@pytest.mark.parametrize("spelling", ["eyeBlink_L", "eyeBlinkLeft", "EyeBlinkLeft", "eyeblinkleft", "eye_blink_left",
                                      "EYE_BLINK_LEFT", "eyeBlink.L", "eyeBlink_l", "eyeBlinkL", "Eye Blink Left",
                                      "face:eyeBlinkLeft", "eye-blink-left"])
def test_every_common_spelling_names_the_same_shape(spelling):
    assert canonical_name(spelling) == "eyeBlink_L"


def test_spellings_that_are_not_arkit_shapes_match_nothing():
    for name in ("Basis", "jawOpen.001", "eyeBlink", "smile", "mouth", "EYEBLINKL", ""):
        assert canonical_name(name) is None, name
    assert canonical_name("mouthLeft") == "mouthLeft" and canonical_name("mouth_left") == "mouthLeft"
    assert canonical_name("MouthSmileRight") == "mouthSmile_R"


def test_the_arkit_names_stay_apart_under_every_spelling():
    assert len({spelling_key(n) for n in ARKIT_NAMES}) == len(ARKIT_NAMES)


def test_match_names_follows_the_wanted_order_and_the_first_spelling_wins():
    keys = ["Basis", "JawOpen", "eye_blink_right", "jawOpen", "custom", "EyeBlinkLeft"]
    found = match_names(keys)
    assert found == {"eyeBlink_L": "EyeBlinkLeft", "eyeBlink_R": "eye_blink_right", "jawOpen": "JawOpen"}
    assert list(found) == [n for n in RIG_NAMES if n in found]
    assert match_names(["viseme_AA", "viseme_O"], ["viseme_aa", "viseme_o", "viseme_E"]) == {
        "viseme_aa": "viseme_AA", "viseme_o": "viseme_O"}


def test_take_columns_reorders_and_fills_missing_with_zeros():
    values = np.arange(6, dtype=np.float64).reshape(2, 3)
    out = take_columns(values, ["a", "b", "c"], ["c", "x", "a"])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[2, 0, 0], [5, 0, 3]])


def test_take_checks_its_shapes_and_knows_its_times():
    take = random_take(frames=4)
    np.testing.assert_allclose(take.times, [0, 1 / 30, 2 / 30, 3 / 30])
    assert take.num_frames == 4 and take.curves.dtype == np.float32
    with pytest.raises(ValueError):
        Take(30, ["a", "b"], np.zeros((4, 3)))
    with pytest.raises(ValueError):
        Take(30, RIG_NAMES, np.zeros((4, len(RIG_NAMES))), extras={HEAD_ROTATION: np.zeros((5, 3))})


def test_matching_target_follows_the_mesh_spelling_and_clips():
    take = random_take(frames=6, lo=-0.5, hi=1.5)
    target = ShapeTarget.matching(["Basis", "MouthClose", "jaw_open", "browInnerUp_extra"])
    assert target.shapes == ("jaw_open", "MouthClose") and target.curves == ("jawOpen", "mouthClose")
    weights = target.weights(take)
    expected = np.clip(take.curves[:, [RIG_NAMES.index("jawOpen"), RIG_NAMES.index("mouthClose")]], 0, 1)
    np.testing.assert_array_equal(weights, expected)
    assert weights.min() == 0.0 and weights.max() == 1.0


def test_a_mix_matrix_drives_viseme_only_characters():
    take = random_take(names=("jawOpen", "mouthFunnel", "mouthPucker"), frames=5)
    mix = [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]
    target = ShapeTarget(("AA", "OO"), ("jawOpen", "mouthFunnel", "mouthPucker"), mix=mix)
    weights = target.weights(take)
    np.testing.assert_allclose(weights[:, 0], take.curves[:, 0])
    np.testing.assert_allclose(weights[:, 1], 0.5 * take.curves[:, 1] + 0.5 * take.curves[:, 2], rtol=1e-6)
    with pytest.raises(ValueError):
        ShapeTarget(("AA",), ("jawOpen", "mouthFunnel"))


def test_decode_to_pc2_equals_one_decode_of_the_clipped_weights(tmp_path):
    rig = small_rig()
    take = random_take(frames=11, lo=-0.2, hi=1.2)
    seen = []
    frames = decode_to_pc2(rig, take, tmp_path / "a.pc2", start_frame=5.0, block=4, progress=seen.append)
    cache, start, rate = read_pc2(tmp_path / "a.pc2")
    weights = np.clip(take_columns(take.curves, take.names, rig.names), 0, 1)
    assert frames == 11 and (start, rate) == (5.0, 1.0)
    np.testing.assert_array_equal(cache, rig.decode(weights))
    assert seen == [4 / 11, 8 / 11, 1.0]


def test_decode_to_pc2_reads_the_take_through_the_meshes_own_names(tmp_path):
    rig = small_rig(names=("JawOpen", "EyeBlinkLeft", "mouth_close"))
    take = random_take(frames=3)
    decode_to_pc2(rig, take, tmp_path / "a.pc2")
    cache, _start, _rate = read_pc2(tmp_path / "a.pc2")
    weights = take_columns(take.curves, take.names, ("jawOpen", "eyeBlink_L", "mouthClose"))
    np.testing.assert_array_equal(cache, rig.decode(weights))


def test_cancel_leaves_no_file(tmp_path):
    calls = []
    with pytest.raises(Cancelled):
        decode_to_pc2(small_rig(), random_take(frames=20), tmp_path / "a.pc2", block=5,
                      cancel=lambda: calls.append(1) or len(calls) > 2)
    assert not any(tmp_path.iterdir())


def test_vertex_hook_bakes_extra_channels_per_frame(tmp_path):
    rig = small_rig()
    lift = np.arange(7, dtype=np.float32)
    take = Take(30, RIG_NAMES, np.zeros((7, len(RIG_NAMES))), extras={"lift": lift})

    def hook(positions, frames, take):
        return positions + take.extras["lift"][frames.start:frames.stop, None, None]

    decode_to_pc2(rig, take, tmp_path / "a.pc2", block=3, vertex_hook=hook)
    cache, _start, _rate = read_pc2(tmp_path / "a.pc2")
    np.testing.assert_allclose(cache - rig.neutral, np.broadcast_to(lift[:, None, None], cache.shape), atol=1e-6)


def test_a_hook_may_change_the_block_in_place_and_every_block_is_written_whole(tmp_path):
    """Two block buffers take turns while one is written on a thread: a hook that works in place on
    ``positions`` (the head rotation does) must see each block's own frames, and the file must hold them all."""
    rig = small_rig(vertices=300)
    take = random_take(frames=23)
    seen = []

    def hook(positions, frames, take):
        seen.append(frames)
        positions += np.arange(frames.start, frames.stop, dtype=np.float32)[:, None, None]
        return positions

    decode_to_pc2(rig, take, tmp_path / "a.pc2", block=5, vertex_hook=hook)
    cache, _start, _rate = read_pc2(tmp_path / "a.pc2")
    weights = take_columns(take.curves, take.names, rig.names)
    expected = rig.decode(weights) + np.arange(23, dtype=np.float32)[:, None, None]
    np.testing.assert_array_equal(cache, expected)
    assert seen == [range(0, 5), range(5, 10), range(10, 15), range(15, 20), range(20, 23)]


def test_a_failed_write_raises_and_leaves_no_file(tmp_path):
    rig = small_rig()
    with pytest.raises(ValueError, match="expected frames"):  # the writer thread's error reaches the caller
        decode_to_pc2(rig, random_take(frames=12), tmp_path / "a.pc2", block=4,
                      vertex_hook=lambda positions, frames, take: positions[:, :2])
    assert not any(tmp_path.iterdir())


def test_decode_into_a_buffer_gives_the_same_positions():
    rig = small_rig(vertices=70)
    weights = np.random.default_rng(3).random((9, 3)).astype(np.float32)
    buffer = np.full((9, 70, 3), np.nan, np.float32)
    assert rig.decode(weights, out=buffer) is not None
    np.testing.assert_array_equal(buffer, rig.decode(weights))
    for wrong in (np.empty((9, 70, 3)), np.empty((8, 70, 3), np.float32), np.empty((9, 70, 6), np.float32)[:, :, ::2]):
        with pytest.raises(ValueError, match="out must be"):
            rig.decode(weights, out=wrong)
