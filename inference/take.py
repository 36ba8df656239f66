"""One take on its way from curves to a mesh: a ``Take``, the ``ShapeTarget`` it drives, the .pc2 it bakes.

The operator, the command line and the evaluation all walk the same path::

    curves (animate)  ->  Take  ->  ShapeTarget.weights(take)  ->  shape-key F-curves (Blender side)
                                 \\-> decode_to_pc2(rig, take, path, target)  ->  .pc2 (streamed in blocks)

A ``ShapeTarget`` says which of a mesh's own shape names follow which curves: one to one (a FLAME head
with Parley's rig, a character with ARKit keys in any common spelling), or through a mapping matrix
(a viseme-only character). A character of several meshes (head, teeth, eyes) has one target per mesh.
Values are clipped to the sliders' range here, once, so shape keys and the cache see the same numbers.

Beside the face curves a take may carry extra per-frame channels (``Take.extras``); the mesh cache
bakes them into the vertices through ``decode_to_pc2(..., vertex_hook=...)``. See docs/interfaces.md.
"""
import threading
from dataclasses import dataclass, field

import numpy as np

from .animate import Cancelled
from .arkit import RIG_NAMES, match_names
from .pc2 import PC2Writer

DECODE_BLOCK = 256  # frames decoded and written at a time: memory stays flat for any length

# Extra per-frame channels a take may carry (Take.extras); none is required.
HEAD_ROTATION = "head_rotation"  # [T, 3] degrees: yaw, pitch, roll of the head
GAZE = "gaze"                    # [T, 2] degrees: yaw, pitch of both eyes' line of sight
# the amounts of head motion and gaze a take gets by default (inference/life.py; the CLI's defaults)
HEAD_MOTION_DEFAULT = 1.0
GAZE_DEFAULT = 1.0


def take_columns(values, names, wanted):
    """[T, len(wanted)] float32: the columns of ``values`` [T, K] (named ``names``) in ``wanted``'s order.

    A wanted name that ``names`` lacks gives a column of zeros (a curve the model does not make stays at rest).
    """
    values = np.asarray(values)
    column = {n: i for i, n in enumerate(names)}
    out = np.zeros((values.shape[0], len(wanted)), np.float32)
    for k, name in enumerate(wanted):
        if name in column:
            out[:, k] = values[:, column[name]]
    return out


@dataclass
class Take:
    """Per-frame values of one take: ``curves`` [T, K] named ``names`` at ``fps``, plus ``extras``.

    ``extras``: {channel: array [T, ...]} beside the face curves, e.g. ``HEAD_ROTATION`` [T, 3] or
    ``GAZE`` [T, 2]; every array has one row per frame.
    """
    fps: float
    names: tuple
    curves: np.ndarray
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        self.fps = float(self.fps)
        self.names = tuple(self.names)
        self.curves = np.asarray(self.curves, np.float32)
        if self.curves.ndim != 2 or self.curves.shape[1] != len(self.names):
            raise ValueError(f"curves {self.curves.shape} do not match {len(self.names)} names")
        for channel, values in self.extras.items():
            if np.shape(values)[:1] != (self.num_frames,):
                raise ValueError(f"extra channel '{channel}' has {np.shape(values)[:1]} rows, "
                                 f"the take has {self.num_frames} frames")

    @classmethod
    def from_curves(cls, curves, extras=None):
        """A take from ``inference.curves.Curves`` (what ``animate`` returns)."""
        return cls(curves.fps, curves.names, curves.values, dict(extras or {}))

    @property
    def num_frames(self):
        return int(self.curves.shape[0])

    @property
    def times(self):
        """Seconds of each frame from the take's start: frame k at k / fps."""
        return np.arange(self.num_frames) / self.fps


@dataclass
class ShapeTarget:
    """What one mesh's shape keys follow.

    shapes: the mesh's own shape names (the columns of ``weights``, in this order)
    curves: without ``mix``, the curve each shape follows (same length as ``shapes``); with ``mix``,
            the K curves the matrix mixes
    mix:    None, or [len(shapes), K]: shape j = sum_k mix[j, k] * curve k (a linear mapping)
    clip:   (lo, hi) the weights are clipped to (the sliders' range), or None
    table:  None, or an ``inference.visemes.VisemeTable``: then ``curves`` are Oculus viseme names
            (``VISEMES``) that the table derives per frame from the take's mouth curves (viseme-only
            characters; the mapping is a small constrained fit per frame, not a matrix)
    """
    shapes: tuple
    curves: tuple
    mix: np.ndarray = None
    clip: tuple = (0.0, 1.0)
    table: object = None

    def __post_init__(self):
        self.shapes, self.curves = tuple(self.shapes), tuple(self.curves)
        if self.mix is None:
            if len(self.shapes) != len(self.curves):
                raise ValueError(f"{len(self.shapes)} shapes follow {len(self.curves)} curves; give a mix matrix")
        else:
            self.mix = np.asarray(self.mix, np.float32)
            if self.mix.shape != (len(self.shapes), len(self.curves)):
                raise ValueError(f"mix {self.mix.shape} is not [{len(self.shapes)} shapes, {len(self.curves)} curves]")

    @classmethod
    def identity(cls, names):
        """Shapes named exactly like the curves they follow (Parley's own rig)."""
        return cls(names, names)

    @classmethod
    def matching(cls, shape_names, curve_names=RIG_NAMES):
        """The shapes among ``shape_names`` that spell a curve name (any common spelling), in curve order."""
        found = match_names(shape_names, curve_names)
        return cls(tuple(found.values()), tuple(found))

    @classmethod
    def visemes(cls, found, table):
        """Viseme shapes driven through ``table``: ``found`` = {viseme name (VISEMES): the mesh's shape name}."""
        return cls(tuple(found.values()), tuple(found), table=table)

    def weights(self, take):
        """float32 [T, len(shapes)]: the take's curves for these shapes, mixed and clipped."""
        if self.table is not None:
            from .visemes import VISEMES
            mouth = take_columns(take.curves, take.names, self.table.curves)
            values = take_columns(self.table.weights(mouth, self.table.curves), VISEMES, self.curves)
        else:
            values = take_columns(take.curves, take.names, self.curves)
        if self.mix is not None:
            values = np.ascontiguousarray(values @ self.mix.T, np.float32)
        if self.clip is not None:
            np.clip(values, self.clip[0], self.clip[1], out=values)
        return values

    def rig_weights(self, take, rig_names):
        """float32 [T, len(rig_names)]: ``weights`` in a rig's name order (shapes the rig lacks are left out)."""
        return take_columns(self.weights(take), self.shapes, rig_names)


class _BackgroundWrite:
    """One block written on a thread while the next is decoded (file writes and BLAS release the GIL)."""

    def __init__(self, cache):
        self.cache, self.thread, self.error = cache, None, None

    def _write(self, block):
        try:
            self.cache.write(block)
        except BaseException as exc:  # handed to the decoding thread by wait()
            self.error = exc

    def submit(self, block):
        self.wait()
        self.thread = threading.Thread(target=self._write, args=(block,), name="parley-pc2-write", daemon=True)
        self.thread.start()

    def join(self):
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def wait(self):
        self.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def decode_to_pc2(rig, take, path, target=None, *, start_frame=0.0, block=DECODE_BLOCK, progress=None,
                  cancel=None, vertex_hook=None):
    """Stream the take through ``rig.decode`` into a .pc2 at ``path``, ``block`` frames at a time; -> frames.

    target:      the ``ShapeTarget`` whose shapes the rig's names are; default: the rig's names matched
                 to the take's curve names by spelling
    progress:    callable(fraction 0..1), after each block
    cancel:      callable() -> True to stop: raises ``Cancelled`` and no file appears at ``path``
    vertex_hook: callable(positions float32 [B, V, 3], frames range, take) -> positions [B, V, 3]: what the
                 rig's shapes do not make, baked per frame (e.g. ``take.extras[HEAD_ROTATION][frames]``).
                 ``positions`` is a buffer of this function's: the hook may change it in place and return it.
                 What it returns is written while the next block is decoded and hooked, so it must not be
                 an array the hook itself reuses for the next block.

    Two block buffers take turns: one is written to the file (on a thread) while the other is decoded,
    so memory stays at two blocks for any length and no block allocates fresh pages.
    """
    if target is None:
        target = ShapeTarget.matching(rig.names, take.names)
    weights = target.rig_weights(take, rig.names)
    total = weights.shape[0]
    buffers = [np.empty((min(block, total),) + rig.neutral.shape, np.float32) for _ in range(2 if total > block else 1)]
    with PC2Writer(path, rig.neutral.shape[0], start_frame=start_frame, sample_rate=1.0) as cache:
        writes = _BackgroundWrite(cache)
        try:
            for n, start in enumerate(range(0, total, block)):
                if cancel is not None and cancel():
                    raise Cancelled("generation cancelled; nothing was changed")
                stop = min(start + block, total)
                positions = rig.decode(weights[start:stop], out=buffers[n % len(buffers)][:stop - start])
                if vertex_hook is not None:
                    positions = vertex_hook(positions, range(start, stop), take)
                writes.submit(positions)  # after the previous block's write has finished
                if progress is not None:
                    progress(min(1.0, stop / total))
        finally:
            writes.join()  # the file is complete, or removed by PC2Writer, only once no write is running
        writes.wait()
    return total
