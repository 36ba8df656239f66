"""Head bone weights, pivot and axes from the FLAME head's own geometry; the skinning formula."""
import numpy as np
import pytest

from inference.head_rig import (apply_head_rotation, bone_layout, bone_quaternions, build_head_rig,
                                mesh_rotations, rotation_matrix)
from tests.conftest import YUP_TO_ZUP, apply_similarity, random_similarity, smooth_deform

YPR = np.array([[0, 0, 0], [12, 0, 0], [0, 15, 0], [0, 0, -9], [20, -12, 6]], np.float64)


def test_rotation_convention():
    R = rotation_matrix(YPR)
    np.testing.assert_allclose(R[0], np.eye(3))
    forward, up, left = np.array([0, 0, 1.0]), np.array([0, 1.0, 0]), np.array([1.0, 0, 0])
    assert (R[1] @ forward)[0] > 0.2            # yaw +: the face turns to the character's left
    assert (R[2] @ forward)[1] < -0.25          # pitch +: the chin goes down
    assert (R[3] @ left)[1] < -0.15             # roll -: the left ear goes down
    np.testing.assert_allclose(R[4], rotation_matrix([20, 0, 0])[0] @ rotation_matrix([0, -12, 0])[0]
                               @ rotation_matrix([0, 0, 6])[0], atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)


@pytest.mark.parametrize("name", ["flame_template", "flame_registered"])
def test_weights_pivot_and_neck(load_head, name):
    v, f = load_head(name)
    rig = build_head_rig(v, f)
    w = rig.weights
    assert w.shape == (len(v),) and w.min() >= 0 and w.max() <= 1
    assert not w[rig.neck_loop].any()                          # the neck boundary is the root's
    assert (w[3931:] == 1).all()                               # eyeballs ride with the head
    canon = (v - v[3931:].mean(0)) @ rig.axes.T / rig.units_per_mm
    assert (w[canon[:, 1] > -60] == 1).all()                   # everything above the jaw line is rigid
    blend = (w > 0) & (w < 1)
    assert 100 < blend.sum() < 1000
    # weights rise with height along the neck: no dips going up the blend band
    assert np.corrcoef(canon[blend, 1], w[blend])[0, 1] > 0.6
    # the pivot is behind and below the eyes, on the midline, inside the head
    p = (rig.pivot - v[3931:].mean(0)) @ rig.axes.T / rig.units_per_mm
    assert abs(p[0]) < 5 and -90 < p[1] < -40 and -110 < p[2] < -60


def test_neck_stays_put_and_head_turns_rigidly(load_head):
    v, f = load_head()
    rig = build_head_rig(v, f)
    out = apply_head_rotation(v, YPR, rig.weights, rig.pivot, rig.axes)
    assert out.shape == (len(YPR), len(v), 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, rig.neck_loop], np.broadcast_to(v[rig.neck_loop].astype(np.float32),
                                                                          out[:, rig.neck_loop].shape))
    np.testing.assert_allclose(out[0], v, atol=1e-7)
    rigid = rig.weights == 1
    R = mesh_rotations(YPR, rig.axes)
    for k in range(len(YPR)):
        expect = (v[rigid] - rig.pivot) @ R[k].T + rig.pivot
        np.testing.assert_allclose(out[k][rigid], expect, atol=1e-6)
    # the blend band deforms smoothly: no edge stretches by more than the rotation could
    edges = np.unique(np.sort(np.r_[f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], 1), axis=0)
    rest = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
    moved = np.linalg.norm(out[4][edges[:, 0]] - out[4][edges[:, 1]], axis=1)
    assert np.max(np.abs(moved / rest - 1)) < 0.35


def test_any_pose_scale_and_identity(load_head):
    """The same rotation, whatever the head's orientation, scale, position and identity."""
    v0, f = load_head()
    rig0 = build_head_rig(v0, f)
    rng = np.random.default_rng(3)
    ref = apply_head_rotation(v0, YPR[4:], rig0.weights, rig0.pivot, rig0.axes)[0]
    for transform in (random_similarity(rng), random_similarity(rng, scale=100.0),
                      (YUP_TO_ZUP, 1.0, np.zeros(3))):
        v = apply_similarity(v0, transform)
        rig = build_head_rig(v, f)
        np.testing.assert_allclose(rig.weights, rig0.weights, atol=1e-4)
        out = apply_head_rotation(v, YPR[4:], rig.weights, rig.pivot, rig.axes)[0]
        s = transform[1]
        np.testing.assert_allclose(out, apply_similarity(ref.astype(np.float64), transform), atol=2e-5 * s)
    other = smooth_deform(v0, rng, 0.004)
    rig = build_head_rig(other, f)
    assert not rig.weights[rig.neck_loop].any() and (rig.weights[3931:] == 1).all()


def test_per_frame_vertices_from_the_face_rig(load_head):
    """[T, V, 3] input (the face rig's decode): the jaw opening rides with the head."""
    v, f = load_head()
    rig = build_head_rig(v, f)
    frames = np.stack([v, v + 0.001])
    out = apply_head_rotation(frames, YPR[1:3], rig.weights, rig.pivot, rig.axes)
    np.testing.assert_allclose(out[1][rig.neck_loop], frames[1][rig.neck_loop], atol=1e-7)
    with pytest.raises(ValueError):
        apply_head_rotation(np.stack([v] * 3), YPR[:2], rig.weights, rig.pivot, rig.axes)


def test_bone_quaternions_match_the_rotation(load_head):
    v, f = load_head()
    rig = build_head_rig(v, f)
    layout = bone_layout(rig)
    y = (layout["tail"] - layout["head"]) / np.linalg.norm(layout["tail"] - layout["head"])
    z = layout["z_axis"]
    B = np.stack([np.cross(y, z), y, z], 1)          # a bone built as documented: columns X, Y, Z
    q = bone_quaternions(YPR, rig.axes, B)
    np.testing.assert_allclose(_matrix(q), rotation_matrix(YPR), atol=1e-12)   # local rotation == R_c
    # any other bone orientation: B L B^T is still the mesh rotation
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    Q *= np.sign(np.linalg.det(Q))
    L = _matrix(bone_quaternions(YPR, rig.axes, Q * 2.5))
    np.testing.assert_allclose(Q[None] @ L @ Q.T[None], mesh_rotations(YPR, rig.axes), atol=1e-12)


def _matrix(q):
    w, x, y, z = q.T
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
                     np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
                     np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], 1)
