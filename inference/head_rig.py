"""A head bone for a FLAME-topology head, computed at run time from the head's own geometry.

``build_head_rig(vertices, faces) -> HeadRig``: skinning weights ``weights`` [V] (0 on the neck's
open boundary loop, 1 on everything above the jaw/ear line and on the eyeballs, a harmonic blend
eased with a smoothstep in between), the ``pivot`` (about the atlanto-occipital joint: behind and
below the jaw joint, on the midline) and the head's canonical ``axes`` (rows: x towards the
character's left, y up, z forward; ``rig_topology.canonical_frame``), all in the mesh's own
coordinates and units, for any orientation, scale and position of the head.

Rotation convention (shared with ``head_motion`` and ``gaze``): ``yaw, pitch, roll`` in degrees about
the canonical y, x and z axes, right-handed (yaw + turns the face to the character's left, pitch +
tips the chin down, roll + raises the left ear), composed as ``R_c = R_y(yaw) @ R_x(pitch) @ R_z(roll)``
(roll applied first, then pitch, then yaw). In the mesh's coordinates ``R = A.T @ R_c @ A`` with
``A = axes``. :func:`apply_head_rotation` is linear blend skinning with a head bone (weight w) and a
still neck/root bone (weight 1 - w)::

    v' = w * (R (v - p) + p) + (1 - w) * v

which is what Blender's Armature modifier computes (without Preserve Volume) for a head bone whose
deform matrix is that rotation about ``p`` and a root bone that stays at rest, so the bone version
and the mesh-cache version agree to float precision.

Setting up the Blender bone to match: put the bone's head at ``pivot``, its tail at
``pivot + axes[1] * length`` (bone Y = canonical up) and roll it so its Z axis is ``axes[2]``
(``EditBone.align_roll(axes[2])``; then bone X = canonical x). In that bone's local frame the pose
rotation is exactly ``R_c``: ``rotation_mode = 'ZXY'`` with ``rotation_euler = (radians(pitch),
radians(yaw), radians(roll))`` (Blender's 'ZXY' applies Z first: matrix = R_y @ R_x @ R_z), or the
quaternions of :func:`bone_quaternions`, which also handle any other bone (a character's own head
bone) given its rest matrix. The armature object must share the mesh object's transform (or pass
``mesh_to_armature``).
"""
from dataclasses import dataclass

import numpy as np

# canonical millimetres (origin between the eyeball centres): the atlanto-occipital joint sits
# behind and below the jaw joint (rig_shapes.JAW_PIVOT = (0, -40, -90)), on the midline
HEAD_PIVOT_MM = np.array([0.0, -62.0, -82.0])
# the jaw/ear line: rigid above the plane through the underside of the chin (z 30, y -115) and the
# base of the skull (z -150, y -80)
JAW_LINE = ((30.0, -115.0), (-150.0, -80.0))


@dataclass
class HeadRig:
    weights: np.ndarray      # [V] float32 head-bone weight (root bone weight = 1 - w)
    pivot: np.ndarray        # [3] float64, mesh coordinates
    axes: np.ndarray         # [3, 3] float64 rows: canonical x (left), y (up), z (forward) in mesh coordinates
    units_per_mm: float
    neck_loop: np.ndarray    # [n] int64 vertex indices of the neck's open boundary


def build_head_rig(vertices, faces):
    """Weights, pivot and axes of a FLAME-topology head (raises RigError with one line)."""
    # imported here: the rotations below, and a head rig from the cache, do not need the builder's modules
    from .rig_topology import canonical_frame, check_topology, find_parts, to_canonical

    vertices, faces = check_topology(vertices, faces)
    head, eye_sets, loops = find_parts(vertices, faces)
    frame = canonical_frame(vertices, eye_sets, loops, faces, head)
    canon = to_canonical(vertices, frame)
    weights = np.ones(len(vertices))
    weights[head] = _neck_blend(canon, head, faces, frame["neck_loop"])
    pivot = frame["origin"] + frame["R"].T @ HEAD_PIVOT_MM * frame["units_per_mm"]
    return HeadRig(weights.astype(np.float32), pivot, np.array(frame["R"]), float(frame["units_per_mm"]),
                   np.asarray(frame["neck_loop"], np.int64))


def _neck_blend(canon, head, faces, neck_loop):
    """[len(head)] weights: harmonic from 0 (neck loop) to 1 (above the jaw/ear line), smoothstepped."""
    from .rig_geometry import MeshOps, smoothstep

    local = np.full(len(canon), -1)
    local[head] = np.arange(len(head))
    head_faces = local[faces[np.isin(faces[:, 0], head)]]
    p = canon[head]
    (z0, y0), (z1, y1) = JAW_LINE
    above = p[:, 1] - (y0 + (y1 - y0) * (p[:, 2] - z0) / (z1 - z0))
    known = np.zeros((len(head), 1))
    known[above >= 0] = 1.0
    ring = local[neck_loop]
    known[ring] = 0.0
    free = np.flatnonzero(above < 0)
    free = np.setdiff1d(free, ring)
    values = MeshOps(p, head_faces).interpolate(free, known, order=1)[:, 0]
    return smoothstep(values)


def rotation_matrix(yaw_pitch_roll_deg):
    """[T, 3, 3] canonical rotations R_y(yaw) @ R_x(pitch) @ R_z(roll) for [T, 3] (or [3]) degrees."""
    a = np.radians(np.asarray(yaw_pitch_roll_deg, np.float64).reshape(-1, 3))
    cy, sy = np.cos(a[:, 0]), np.sin(a[:, 0])
    cp, sp = np.cos(a[:, 1]), np.sin(a[:, 1])
    cr, sr = np.cos(a[:, 2]), np.sin(a[:, 2])
    one, zero = np.ones_like(cy), np.zeros_like(cy)
    ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1), np.stack([-sy, zero, cy], -1)], 1)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, -sp], -1), np.stack([zero, sp, cp], -1)], 1)
    rz = np.stack([np.stack([cr, -sr, zero], -1), np.stack([sr, cr, zero], -1), np.stack([zero, zero, one], -1)], 1)
    return ry @ rx @ rz


def mesh_rotations(yaw_pitch_roll_deg, axes):
    """[T, 3, 3] the rotations in mesh coordinates: A.T @ R_c @ A."""
    A = np.asarray(axes, np.float64)
    return A.T[None] @ rotation_matrix(yaw_pitch_roll_deg) @ A[None]


def apply_head_rotation(vertices, yaw_pitch_roll_deg, weights, pivot, axes):
    """Skin ``vertices`` ([V, 3] rest, or [T, V, 3] per frame, e.g. the face rig's decode) with the
    head rotation per frame: v' = w (R (v - p) + p) + (1 - w) v. Returns [T, V, 3] float32.
    Memory is T x V x 3: call it per block of frames for long takes."""
    R = mesh_rotations(yaw_pitch_roll_deg, axes)
    v = np.asarray(vertices, np.float64)
    if v.ndim == 2:
        v = v[None]
    if v.shape[0] not in (1, R.shape[0]):
        raise ValueError(f"vertices have {v.shape[0]} frames, rotations {R.shape[0]}")
    p = np.asarray(pivot, np.float64)
    w = np.asarray(weights, np.float64)[None, :, None]
    rel = v - p
    rotated = np.matmul(rel, R.transpose(0, 2, 1)) + p      # batched matmul: einsum here is ~20x slower
    return (w * rotated + (1.0 - w) * v).astype(np.float32)


def _quaternion(m):
    """[T, 3, 3] rotation matrices -> [T, 4] unit quaternions (w, x, y, z), w >= 0.

    Shepperd's method: the largest of |w|, |x|, |y|, |z| from the diagonal, the other three from the
    off-diagonal sums and differences divided by it, so no component is the square root of a rounding error
    (taking all four from the diagonal is off by ~1e-8 near the identity)."""
    m = np.asarray(m, np.float64)
    d0, d1, d2 = m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]
    four_sq = np.stack([1 + d0 + d1 + d2, 1 + d0 - d1 - d2, 1 - d0 + d1 - d2, 1 - d0 - d1 + d2], 1)  # 4 q_i^2
    k = np.argmax(four_sq, 1)
    big = np.sqrt(np.maximum(four_sq[np.arange(len(m)), k], 1e-300))                               # 2 |q_k|
    s21, s02, s10 = m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]     # 4 w x, 4 w y, 4 w z
    a01, a02, a12 = m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1]     # 4 x y, 4 x z, 4 y z
    rows = {0: (big * big, s21, s02, s10), 1: (s21, big * big, a01, a02),
            2: (s02, a01, big * big, a12), 3: (s10, a02, a12, big * big)}   # each 4 q_k q_i, for q_k's row
    q = np.empty((len(m), 4))
    for j, row in rows.items():
        sel = k == j
        q[sel] = np.stack([c[sel] for c in row], 1) / (2 * big[sel, None])
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def bone_quaternions(yaw_pitch_roll_deg, axes, bone_rest, mesh_to_armature=None):
    """[T, 4] (w, x, y, z) pose-bone ``rotation_quaternion`` values that deform the mesh by the head
    rotation: with B the bone's rest orientation in armature space (``bone.matrix_local``, 3x3 or 4x4;
    columns = the bone's axes) the local rotation is L = B^T (C R C^T) B, C = ``mesh_to_armature``
    (the rotation from mesh to armature object coordinates; identity when both objects share their
    transform). A bone built as the module docstring says gives L = R_c exactly."""
    B = np.asarray(bone_rest, np.float64)[:3, :3]
    B = B / np.linalg.norm(B, axis=0, keepdims=True)          # bone matrices may carry scale
    R = mesh_rotations(yaw_pitch_roll_deg, axes)
    if mesh_to_armature is not None:
        C = np.asarray(mesh_to_armature, np.float64)[:3, :3]
        R = C[None] @ R @ C.T[None]
    return _quaternion(B.T[None] @ R @ B[None])


def bone_layout(rig, length_mm=80.0):
    """Where to build the head bone: {'head': [3], 'tail': [3], 'z_axis': [3]} in mesh coordinates."""
    return {"head": rig.pivot, "tail": rig.pivot + rig.axes[1] * length_mm * rig.units_per_mm,
            "z_axis": rig.axes[2]}
