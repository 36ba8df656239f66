"""Rig.decode multiplies only the rows that move each stretch of vertices: the moving rows are found
exactly, a vertex no row moves is the neutral bit for bit, and every vertex equals the full product
(all rows, dense) to float32 rounding, on a synthetic rig with zero rows and on the FLAME head."""
import numpy as np
import pytest

from inference.rig import Rig, decode_segments, moving_rows


def sparse_rig(vertices=300, shapes=9, seed=0):
    """A rig whose shapes each move a few stretches of vertices (one coordinate only, here and there),
    whose corrective moves vertices no shape moves, and with still stretches in between."""
    rng = np.random.default_rng(seed)
    neutral = rng.normal(size=(vertices, 3)).astype(np.float32)
    basis = np.zeros((shapes, vertices, 3), np.float32)
    for k in range(shapes):
        for _ in range(3):
            start = int(rng.integers(0, vertices - 20))
            basis[k, start:start + int(rng.integers(1, 20))] = rng.normal(size=3)
    basis[0, 5, 1] = 0.25                     # one coordinate of one vertex
    basis[:, 100:160] = 0.0                   # a still stretch
    correctives = np.zeros((2, vertices, 3), np.float32)
    correctives[0, 120:124] = rng.normal(size=(4, 3))
    correctives[1, 299, 2] = -1.5
    names = [f"s{k}" for k in range(shapes)]
    return Rig(names, neutral, basis, ["c0", "c1"], correctives, [[0, 1], [2, 2]])


def dense_decode(rig, weights):
    """The documented model with every row, in float64: the reference decode must agree with."""
    act = rig.activations(weights).astype(np.float64)
    rows = np.concatenate([rig.basis, rig.correctives]).reshape(len(act[0]), -1).astype(np.float64)
    return (rig.neutral.reshape(-1) + act @ rows).reshape(len(act), -1, 3)


def check_decode(rig, weights):
    out = rig.decode(weights)
    still = ~rig.moving.any(0)
    # a still vertex is the neutral, bit for bit
    assert out[:, still].view(np.uint32).tobytes() == np.broadcast_to(
        rig.neutral[still], out[:, still].shape).view(np.uint32).tobytes()
    # every vertex is the full product to float32 rounding (a few ulps of the largest term)
    expect = dense_decode(rig, weights)
    act = np.abs(rig.activations(weights)).astype(np.float64)
    scale = np.abs(rig.neutral).astype(np.float64) + (act @ np.abs(
        np.concatenate([rig.basis, rig.correctives]).reshape(len(act[0]), -1))).reshape(len(act), -1, 3)
    assert np.all(np.abs(out - expect) <= 4 * np.finfo(np.float32).eps * scale)
    # and the float32 dense product differs from it by rounding only
    full = np.concatenate([rig.activations(weights), np.ones((len(weights), 1), np.float32)], 1) @ np.concatenate(
        [rig.basis, rig.correctives, rig.neutral[None]]).reshape(len(act[0]) + 1, -1)
    assert np.all(np.abs(out - full.reshape(out.shape)) <= 4 * np.finfo(np.float32).eps * scale)
    return out


def test_moving_rows_are_exactly_the_non_zero_deltas():
    rig = sparse_rig()
    deltas = np.concatenate([rig.basis, rig.correctives])
    expect = np.array([[np.any(deltas[r, v] != 0) for v in range(deltas.shape[1])] for r in range(len(deltas))])
    np.testing.assert_array_equal(rig.moving, expect)
    assert rig.moving[0, 5] and rig.moving[-1, 299] and not rig.moving[:-2, 299].any()
    assert not rig.moving[:, 100:120].any() and rig.moving[-2, 120:124].all()
    negative_zero = np.zeros((1, 4, 3), np.float32)
    negative_zero[0, 2, 1] = -0.0
    assert not moving_rows(negative_zero).any()          # -0.0 moves nothing either


@pytest.mark.parametrize("overhead", [0, 5, 400, 10 ** 9])
def test_segments_tile_the_vertices_and_keep_every_moving_row(overhead):
    rig = sparse_rig()
    segments = decode_segments(rig.moving, overhead)
    starts, stops = zip(*segments)
    assert starts[0] == 0 and stops[-1] == 300 and list(starts[1:]) == list(stops[:-1])
    assert all(a < b for a, b in segments)
    if overhead == 0:  # no cost per product: each segment is one set of rows
        assert all((rig.moving[:, a:b] == rig.moving[:, a:a + 1]).all() for a, b in segments)
    if overhead == 10 ** 9:
        assert segments == [(0, 300)]
    rig.SEGMENT_OVERHEAD = overhead
    rig._prepare()
    for rows, c0, c1, matrix in rig._segments:
        used = np.flatnonzero(rig.moving[:, c0 // 3:c1 // 3].any(1))
        np.testing.assert_array_equal(rows[:-1], used)    # in order, the neutral last
        assert rows[-1] == len(rig.moving)
        assert matrix.shape == (len(rows), c1 - c0) and matrix.flags.c_contiguous


@pytest.mark.parametrize("overhead", [0, 400, 10 ** 9])
def test_decode_equals_the_full_product_on_a_sparse_rig(overhead):
    rig = sparse_rig()
    rig.SEGMENT_OVERHEAD = overhead
    rig._prepare()
    weights = np.random.default_rng(1).uniform(0, 1, (37, 9)).astype(np.float32)
    weights[::4] = 0.0
    out = check_decode(rig, weights)
    np.testing.assert_array_equal(out[::4], np.broadcast_to(rig.neutral, out[::4].shape))
    for part in (slice(0, 1), slice(5, 13)):  # one frame, a few (BLAS's sums may round differently per block size)
        check_decode(rig, weights[part])


def test_decode_on_the_flame_head(load_head):
    from inference.arkit import RIG_NAMES
    from inference.rig import build_rig
    rig = build_rig(*load_head("flame_template"))
    deltas = np.concatenate([rig.basis, rig.correctives])
    np.testing.assert_array_equal(rig.moving, (deltas != 0).any(2))
    still = ~rig.moving.any(0)
    assert 0.2 < still.mean() < 0.6, still.mean()          # skull, neck, back of the head
    rng = np.random.default_rng(4)
    weights = rng.uniform(0, 1, (64, len(RIG_NAMES))).astype(np.float32)
    weights[rng.random(weights.shape) < 0.3] = 0.0
    check_decode(rig, weights)
