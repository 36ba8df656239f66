"""A living take: head motion, gaze, listening and dialogue laid over the model's curves.

The layers themselves are :mod:`head_motion`, :mod:`gaze` and :mod:`listen` (pure functions of the
audio's :mod:`prosody` and the seed). This module wires them into a :class:`take.Take`:

- :func:`add_life` (a speaking take): the head rotation goes into ``take.extras[HEAD_ROTATION]``
  ([T, 3] degrees, yaw/pitch/roll, ``head_rig``'s convention), the gaze replaces the eyeLook curves
  (``gaze.apply_gaze``: lids follow vertical gaze) and is kept as ``take.extras[GAZE]``;
- :func:`listen_take` (a listener over silence or over another character's audio): no model run at
  all, so every lip and jaw curve is exactly 0; blinks, small smiles, attentive nods, listening gaze;
- :func:`dialogue_take` (one character of two): its own speech take on its own turns, its listening
  take on the other's (``listen.plan_dialogue`` + ``listen.compose``).

``Life(head_motion=0, gaze=0)`` (and no heard audio) leaves a take untouched, bit for bit: that is
today's take. Nothing here reads the face curves the lips come from, so the lips never depend on it.

A look-at target is a point in the head mesh's own coordinates ([3], or [T, 3] for a moving one);
:func:`look_directions` turns it into the per-frame direction in head space that ``gaze.gaze``
takes, following the head's own rotation (the eyes turn with the head, so a still target is looked
at with eye-in-head angles that undo the head's turn).
"""
from dataclasses import dataclass

import numpy as np

from .gaze import Gaze, apply_gaze, gaze
from .head_motion import head_motion
from .head_rig import HEAD_PIVOT_MM, mesh_rotations, rotation_matrix
from .prosody import SR, prosody
from .take import GAZE, GAZE_DEFAULT, HEAD_MOTION_DEFAULT, HEAD_ROTATION, Take
# a character modelled the Blender way (facing -Y, Z up): canonical x (its left), y (up), z (forward)
BLENDER_AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass
class HeadFrame:
    """Where the head turns and looks from, in the mesh's coordinates.

    pivot: [3] the point the head rotates about; axes: [3, 3] rows canonical x (left), y (up),
    z (forward); eyes: [3] the point between the eyeball centres."""
    pivot: np.ndarray
    axes: np.ndarray
    eyes: np.ndarray

    @classmethod
    def from_head_rig(cls, rig):
        """The frame of a ``head_rig.HeadRig`` (a FLAME head): eyes at the canonical origin."""
        axes = np.asarray(rig.axes, np.float64)
        eyes = np.asarray(rig.pivot, np.float64) - axes.T @ HEAD_PIVOT_MM * rig.units_per_mm
        return cls(np.asarray(rig.pivot, np.float64), axes, eyes)


@dataclass
class Life:
    """What a take gets beyond the face curves.

    head_motion, gaze: amounts (0 = off; 1 = the layers' defaults)
    look_at:  None, or a point [3] / points [T, 3] in the head mesh's coordinates (needs ``frame``)
    frame:    the ``HeadFrame`` the look-at target is seen from
    heard16k: another character's audio (16 kHz mono) this character listens to while it is silent
    listen_only: True: the character does not speak (``listen_take``), ``frames`` long when nothing is heard
    """
    head_motion: float = HEAD_MOTION_DEFAULT
    gaze: float = GAZE_DEFAULT
    look_at: np.ndarray = None
    frame: HeadFrame = None
    heard16k: np.ndarray = None
    listen_only: bool = False
    frames: int = 0

    @property
    def changes_anything(self):
        return bool(self.head_motion or self.gaze or self.heard16k is not None or self.listen_only)


def style_names(style):
    """The named style values from what ``animate`` accepts: None, {name: value} or (named, latent)."""
    if isinstance(style, tuple) and style and isinstance(style[0], dict):
        return dict(style[0])
    return dict(style) if isinstance(style, dict) else {}


def look_directions(points, frame, head_rotation=None, n_frames=None):
    """[T, 3] unit directions in head space (canonical x left, y up, z forward) from the eyes to
    ``points`` (mesh coordinates, [3] or [T, 3]), with the head turned by ``head_rotation`` [T, 3] deg."""
    A = np.asarray(frame.axes, np.float64)
    p = np.asarray(points, np.float64).reshape(-1, 3)
    T = n_frames or (len(head_rotation) if head_rotation is not None else len(p))
    p = np.broadcast_to(p, (T, 3))
    if head_rotation is None:
        eyes = np.broadcast_to(frame.eyes, (T, 3))
        rest = np.broadcast_to(np.eye(3), (T, 3, 3))
    else:
        R = mesh_rotations(head_rotation, A)
        eyes = np.einsum("tij,j->ti", R, frame.eyes - frame.pivot) + frame.pivot
        rest = rotation_matrix(head_rotation)
    d = (p - eyes) @ A.T                               # canonical, the head at rest
    d = np.einsum("tji,tj->ti", rest, d)               # R_c^T d: into the turned head's frame
    return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)


def _target(life, head, T):
    if life.look_at is None or life.frame is None:
        return None
    return look_directions(life.look_at, life.frame, head, T)


def _padded(audio16k, n_samples):
    audio = np.asarray(audio16k if audio16k is not None else np.zeros(0), np.float32).reshape(-1)
    if audio.size >= n_samples:
        return audio
    return np.concatenate([audio, np.zeros(n_samples - audio.size, np.float32)])


def _with_gaze(values, names, g, amount, extras):
    if amount == 0.0:
        return values
    values = apply_gaze(values.copy(), list(names), g, amount)
    extras[GAZE] = np.stack([g.yaw, g.pitch], 1).astype(np.float32)
    return values


def add_life(take, audio16k, seed, style=None, life=None):
    """A speaking take with head motion and gaze (``take`` itself when both amounts are 0)."""
    life = life or Life()
    if not (life.head_motion or life.gaze):
        return take
    T, fps, style = take.num_frames, take.fps, style_names(style)
    heard = prosody(audio16k, fps, T)
    extras = dict(take.extras)
    head = head_motion(heard, fps, seed, life.head_motion, style) if life.head_motion else None
    if head is not None:
        extras[HEAD_ROTATION] = head
    g = gaze(heard, fps, seed, life.gaze, style, target=_target(life, head, T)) if life.gaze else None
    values = _with_gaze(take.curves, take.names, g, life.gaze, extras)
    return Take(fps, take.names, values, extras)


def listen_take(heard16k, n_frames, fps, seed, names, style=None, life=None):
    """A listener's take of ``n_frames``: over ``heard16k`` (another's audio, None for silence)."""
    from .listen import listen_curves, listen_head  # a speaking take (add_life) does not need listen
    life = life or Life()
    style = style_names(style)
    heard = prosody(_padded(heard16k, int(np.ceil(n_frames / fps * SR))), fps, n_frames)
    values = listen_curves(heard, fps, seed, names, style)
    extras = {}
    head = None
    if life.head_motion:
        head = listen_head(heard, fps, seed, life.head_motion, style, idle=True)
        extras[HEAD_ROTATION] = head
    g = gaze(heard, fps, seed, life.gaze, style, target=_target(life, head, n_frames), listening=True) \
        if life.gaze else None
    values = _with_gaze(values, names, g, life.gaze, extras)
    return Take(fps, names, values, extras)


def dialogue_take(take, own16k, heard16k, seed, style=None, life=None):
    """One character of a dialogue: ``take`` (the model on its own audio, padded to the longer of the two)
    on its own turns, listening to ``heard16k`` on the other's."""
    from .listen import compose, listen_curves, listen_head, plan_dialogue
    life = life or Life()
    T, fps, names, style = take.num_frames, take.fps, take.names, style_names(style)
    n = int(np.ceil(T / fps * SR))
    own = prosody(_padded(own16k, n), fps, T)
    heard = prosody(_padded(heard16k, n), fps, T)
    plan = plan_dialogue(own, heard, fps)
    weight = plan.listen_a[:T]
    listening = listen_curves(heard, fps, seed, names, style)
    speech_head = nods = None
    if life.head_motion:
        speech_head = head_motion(own, fps, seed, life.head_motion, style)
        nods = listen_head(heard, fps, seed, life.head_motion, style, idle=False)
    values, head = compose(take.curves, listening, weight, speech_head, nods)
    extras = dict(take.extras)
    if head is not None:
        extras[HEAD_ROTATION] = head
    g = None
    if life.gaze:
        target = _target(life, head, T)
        talking = gaze(own, fps, seed, life.gaze, style, target=target)
        attending = gaze(heard, fps, seed, life.gaze, style, target=target, listening=True)
        g = Gaze((1 - weight) * talking.yaw + weight * attending.yaw,
                 (1 - weight) * talking.pitch + weight * attending.pitch, talking.saccades)
    values = _with_gaze(values, names, g, life.gaze, extras)
    return Take(fps, names, values, extras)


def life_take(take, audio16k, seed, style=None, life=None):
    """The take a speaking character ends up with: dialogue when it hears someone, else ``add_life``."""
    life = life or Life()
    if life.heard16k is not None:
        return dialogue_take(take, audio16k, life.heard16k, seed, style, life)
    return add_life(take, audio16k, seed, style, life)


class HeadRotationBake:
    """``decode_to_pc2``'s vertex hook that skins each block with the take's head rotation, in place.

    ``v' = v + w (R - I)(v - p)`` (``head_rig``'s ``w (R (v - p) + p) + (1 - w) v``, rearranged so the neck
    loop, w = 0, keeps its decoded positions exactly) in float32, ``CHUNK`` frames at a time: one subtraction
    of the pivot, one batched 3x3 product (two vertices at a time), one scaling by the weights and one addition, each a single pass
    over whole rows (pivot and weights are laid out per coordinate) on a chunk small enough to stay in the
    CPU's cache between the passes; the scratch is kept from block to block. Agrees with
    ``head_rig.apply_head_rotation`` (float64) to float32 rounding.
    """
    CHUNK = 16

    def __init__(self, rig, head_rotation=None):
        self.head_rotation = None if head_rotation is None else np.asarray(head_rotation, np.float64)
        self.axes = np.asarray(rig.axes, np.float64)
        weights = np.asarray(rig.weights, np.float32)
        self.pivot3 = np.tile(np.asarray(rig.pivot, np.float32), weights.size)  # [3V]: x y z x y z ...
        self.weight3 = np.repeat(weights, 3)                                     # [3V]: w w w w w w ...
        self._rel = np.empty((self.CHUNK, weights.size, 3), np.float32)
        self._delta = np.empty_like(self._rel)

    def __call__(self, positions, frames, take):
        """Positions [B, V, 3] (changed in place) of ``frames`` with ``take.extras[HEAD_ROTATION]``."""
        rotation = take.extras[HEAD_ROTATION] if self.head_rotation is None else self.head_rotation
        return self.bake(positions, rotation[frames.start:frames.stop], out=positions)

    def bake(self, positions, head_rotation, out=None):
        """[B, V, 3] float32 ``positions`` turned by ``head_rotation`` [B, 3] degrees, into ``out`` (may be
        ``positions``; default a new array)."""
        positions = np.asarray(positions, np.float32)
        B = positions.shape[0]
        if positions.shape[1:] != self._rel.shape[1:] or len(head_rotation) != B:
            raise ValueError(f"positions {positions.shape} and head rotation {np.shape(head_rotation)} do not "
                             f"match a head of {self._rel.shape[1]} vertices")
        out = np.empty_like(positions) if out is None else out
        turn = mesh_rotations(head_rotation, self.axes) - np.eye(3)             # R - I, float64
        turn_t = np.ascontiguousarray(turn.transpose(0, 2, 1), np.float32)
        # two vertices a row: [V/2, 6] @ [[T, 0], [0, T]] is a product BLAS does faster than [V, 3] @ T
        pair = np.zeros((B, 6, 6), np.float32)
        pair[:, :3, :3] = pair[:, 3:, 3:] = turn_t
        m = positions.shape[1] // 2
        for c0 in range(0, B, self.CHUNK):
            c1 = min(B, c0 + self.CHUNK)
            n = c1 - c0
            v, rel, delta = positions[c0:c1], self._rel[:n], self._delta[:n]
            flat_rel, flat = rel.reshape(n, -1), delta.reshape(n, -1)
            np.subtract(v.reshape(n, -1), self.pivot3, out=flat_rel)
            np.matmul(flat_rel[:, :6 * m].reshape(n, m, 6), pair[c0:c1], out=flat[:, :6 * m].reshape(n, m, 6))
            np.matmul(rel[:, 2 * m:], turn_t[c0:c1], out=delta[:, 2 * m:])  # the last vertex of an odd count
            flat *= self.weight3
            np.add(v, delta, out=out[c0:c1])
        return out


def bake_head_rotation(positions, head_rotation, rig):
    """Skin a block of decoded frames [B, V, 3] with the head rotation [B, 3] (``head_rig``'s formula) in
    float32: a new array (``HeadRotationBake`` does it in place, block after block). The neck loop (w = 0)
    keeps its decoded positions exactly."""
    return HeadRotationBake(rig).bake(positions, head_rotation)


def dialogue_samples(own16k, heard16k):
    """Samples a speaking character's audio is padded to when it also listens: the longer of the two."""
    own = np.asarray(own16k).shape[0]
    return own if heard16k is None else max(own, np.asarray(heard16k).shape[0])
