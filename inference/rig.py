"""The ARKit rig of a FLAME-topology head, built at run time from the head's own geometry.

``build_rig(vertices, faces) -> Rig``; ``Rig.decode(curves [T,K]) -> [T,V,3]``.

Model (all arrays in the head's own coordinates and units)::

    positions(w) = neutral + w @ basis + act(w) @ correctives
    act(w)[c]    = w[corrective_pairs[c, 0]] * w[corrective_pairs[c, 1]]

``basis[k]`` is shape ``names[k]`` at weight 1 (a plain linear shape key). Motions that are not
linear get correctives: a rotation by ``w*angle`` (jaw opening on its arc about a pivot near the
jaw joint, eyeballs and lids turning about the eyeball centre) is ``w*B + w^2*C`` where ``B`` is the
tangent of the arc and ``C`` (the corrective ``<name>_sq``, pair ``(k, k)``) makes weight 1 the exact
rotation and keeps the path on the arc to second order. The rig has 16 correctives:
``jawOpen_sq``; ``eyeBlink_*_sq``, ``eyeSquint_*_sq``, ``eyeWide_*_sq`` and the eight
``eyeLook*_sq`` (eyeballs and lids turning, lids pushed clear of the cornea on the way); and
``mouthClose_jawOpen`` (pair jawOpen, mouthClose), which seals the lips over an open jaw.
``mouthClose`` alone is zero: with the jaw closed the lips are already together.

In Blender each corrective becomes a shape key named ``corrective_names[c]`` whose value is driven
by the product of its two source shape keys (``var_a * var_b``), so shape-key mode and
:meth:`Rig.decode` (the mesh cache) give the same vertices to float precision.

RIG.npz keys: ``names`` [K], ``neutral`` [V,3], ``basis`` [K,V,3], ``corrective_names`` [C],
``corrective_pairs`` [C,2], ``correctives`` [C,V,3] (float32), ``meta_json`` (a JSON string:
canonical frame, units per mm, region sizes).
"""
import json
import os

import numpy as np

from .arkit import RIG_NAMES
from .errors import RigError


class Rig:
    """Linear shapes + pairwise-product correctives; see the module docstring for the model."""

    def __init__(self, names, neutral, basis, corrective_names, correctives, corrective_pairs, meta=None):
        self.names = tuple(str(n) for n in names)
        self.neutral = np.ascontiguousarray(neutral, np.float32)
        self.basis = np.ascontiguousarray(basis, np.float32)
        self.corrective_names = tuple(str(n) for n in corrective_names)
        self.correctives = np.ascontiguousarray(correctives, np.float32).reshape(len(self.corrective_names), -1, 3)
        self.corrective_pairs = np.asarray(corrective_pairs, np.int64).reshape(-1, 2)
        self.meta = dict(meta or {})
        self._prepare()

    SEGMENT_OVERHEAD = 400  # one product's fixed cost in (row x vertex) multiply-adds a frame (measured)
    FRAME_CHUNK = 512       # frames per pass over the segments

    def _prepare(self):
        """Cut the vertex range into contiguous segments and keep, per segment, only the rows (shapes,
        correctives) that move it, plus the neutral as a row whose activation is 1: most vertices are moved
        by ~12 of the ~70 rows and a third (skull, neck, back of the head) by none, so decode does several
        times fewer multiply-adds than one dense matmul, and each product is written by BLAS straight into
        its columns of the output (no temporaries, no fancy indexing). A still segment is a copy of the
        neutral. ``moving_rows`` / ``decode_segments`` say where the segments fall.

        ``self.moving`` [K + C, V]: which vertices each row moves. Rows a segment keeps but a vertex of it
        does not use add exact zeros, so every vertex is the full product to float32 rounding; the last bit
        may depend on how BLAS blocks a product (its rows, its frames), so it is not bit for bit the dense
        product (nor was the 32-vertex segmentation before it); a still vertex is the neutral bit for bit."""
        V = self.neutral.shape[0]
        fields = np.concatenate([self.basis, self.correctives, self.neutral[None]], 0).reshape(-1, 3 * V)
        neutral_row = fields.shape[0] - 1
        self.moving = moving_rows(fields[:neutral_row])                          # [K + C, V] bool
        self._segments = []
        for start, stop in decode_segments(self.moving, self.SEGMENT_OVERHEAD):
            c0, c1 = 3 * start, 3 * stop
            rows = np.append(np.flatnonzero(self.moving[:, start:stop].any(1)), neutral_row)
            self._segments.append((rows, c0, c1, fields[rows, c0:c1]))  # fancy indexing: a contiguous copy

    def activations(self, curves):
        """[T, K + C]: the weights themselves, then the product of each corrective's pair."""
        w = np.asarray(curves, np.float32)
        if w.ndim != 2 or w.shape[1] != len(self.names):
            raise RigError(f"curves must be [frames, {len(self.names)}] in rig.names order, got {w.shape}")
        pairs = self.corrective_pairs
        return np.concatenate([w, w[:, pairs[:, 0]] * w[:, pairs[:, 1]]], 1)

    def decode(self, curves, out=None):
        """Vertex positions [T, V, 3] float32 for a block of curves [T, K] (names order).

        out: None, or a C-contiguous float32 [T, V, 3] to decode into (a buffer reused block after block
        saves the page faults of a fresh array each time); the values do not depend on it."""
        act = self.activations(curves)
        T = act.shape[0]
        # frames along the rows: a segment's rows of it are one contiguous copy, handed to BLAS transposed
        act_t = np.concatenate([act.T, np.ones((1, T), np.float32)], 0)
        if out is None:
            out = np.empty((T, self.neutral.size), np.float32)
        elif out.shape != (T,) + self.neutral.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous float32 {(T,) + self.neutral.shape}, got {out.dtype} {out.shape}")
        else:
            out = out.reshape(T, -1)
        for f0 in range(0, T, self.FRAME_CHUNK):
            f1 = min(T, f0 + self.FRAME_CHUNK)
            a_t = act_t[:, f0:f1]
            for rows, c0, c1, matrix in self._segments:
                if rows.size == 1:  # only the neutral: a still segment
                    out[f0:f1, c0:c1] = matrix[0]
                else:  # BLAS writes straight into the strided slice of the output
                    np.matmul(a_t[rows].T, matrix, out=out[f0:f1, c0:c1])
        return out.reshape(T, -1, 3)

    def save(self, path):
        path = os.fspath(path)
        tmp = path + ".tmp.npz"
        np.savez(tmp, names=np.array(self.names), neutral=self.neutral, basis=self.basis,
                 corrective_names=np.array(self.corrective_names, dtype="<U64"),
                 correctives=self.correctives, corrective_pairs=self.corrective_pairs,
                 meta_json=np.array(json.dumps(self.meta)))
        os.replace(tmp, path)


def moving_rows(deltas):
    """[R, V] bool: which vertices each row of ``deltas`` ([R, V, 3] or [R, 3V]) moves (not exactly 0)."""
    nonzero = np.asarray(deltas).reshape(len(deltas), -1) != 0
    return nonzero[:, 0::3] | nonzero[:, 1::3] | nonzero[:, 2::3]  # ~10x faster than .any(axis=2)


def decode_segments(moving, overhead):
    """Contiguous vertex ranges [(start, stop)] covering all V columns of ``moving`` [R, V] (bool), for
    ``Rig.decode``: first the runs of vertices moved by the same set of rows, then, left to right, each run
    joins the segment before it when that costs fewer multiply-adds per frame, counting ``overhead`` for
    every product of its own: (rows + 1) x vertices (+1: the neutral). A still run (no rows) stays apart
    from moving neighbours unless it is short."""
    R, V = moving.shape
    change = np.flatnonzero((moving[:, 1:] != moving[:, :-1]).any(0)) + 1
    starts = np.concatenate([[0], change]).tolist()
    stops = starts[1:] + [V]
    words = -(-R // 64)                                  # each run's rows as a Python int, a bit a row
    packed = np.zeros((len(starts), 8 * words), np.uint8)
    packed[:, :-(-R // 8)] = np.packbits(moving[:, starts].T, axis=1)
    masks = [0] * len(starts)
    for word in packed.view(">u8").T.tolist():
        masks = [(m << 64) | x for m, x in zip(masks, word)]
    segments = []
    for start, stop, mask in zip(starts, stops, masks):
        width = stop - start
        if segments:
            s0, _, m0 = segments[-1]
            w0, union = start - s0, m0 | mask
            joined = (union.bit_count() + 1) * (w0 + width)
            apart = (m0.bit_count() + 1) * w0 + (mask.bit_count() + 1) * width + overhead
            if joined <= apart:
                segments[-1] = (s0, stop, union)
                continue
        segments.append((start, stop, mask))
    return [(s0, s1) for s0, s1, _ in segments]


def load_rig(path):
    """Read a RIG.npz written by :meth:`Rig.save`."""
    try:
        data = np.load(os.fspath(path), allow_pickle=False)
        names = [str(n) for n in data["names"]]
        meta = json.loads(str(data["meta_json"])) if "meta_json" in data else {}
        return Rig(names, data["neutral"], data["basis"], [str(n) for n in data["corrective_names"]],
                   data["correctives"], data["corrective_pairs"], meta)
    except (OSError, KeyError, ValueError) as exc:
        raise RigError(f"{path} is not a Parley rig ({exc}); rebuild it with 'python -m inference rig'") from None


def build_rig(vertices, faces):
    """Build the 51-shape ARKit rig of a FLAME-topology head. Raises RigError with one line."""
    # the builder's modules are imported here: a rig loaded from a file or the cache does not need them
    from .rig_face import build_face_shapes
    from .rig_regions import Regions
    from .rig_shapes import JAW_PIVOT, ShapeBuilder
    from .rig_topology import canonical_frame, check_topology, find_parts, from_canonical_vectors, to_canonical

    vertices, faces = check_topology(vertices, faces)
    head, eye_sets, loops = find_parts(vertices, faces)
    frame = canonical_frame(vertices, eye_sets, loops, faces, head)
    canon = to_canonical(vertices, frame)
    regions = Regions(canon, head, eye_sets, frame, faces)
    builder = ShapeBuilder(regions, canon, len(vertices))
    builder.neck_loop = frame["neck_loop"]
    builder.jaw()
    builder.lips()
    build_face_shapes(builder)
    missing = [n for n in RIG_NAMES if n not in builder.basis]
    if missing:
        raise RuntimeError(f"rig is missing shapes {missing}")
    basis = np.stack([from_canonical_vectors(builder.basis[n], frame) for n in RIG_NAMES])
    index = {n: i for i, n in enumerate(RIG_NAMES)}
    corr_names = [c[0] for c in builder.correctives]
    pairs = [(index[c[1]], index[c[2]]) for c in builder.correctives]
    corr = np.stack([from_canonical_vectors(c[3], frame) for c in builder.correctives])
    meta = {
        "units_per_mm": float(frame["units_per_mm"]),
        "origin": frame["origin"].tolist(),
        "axes": frame["R"].tolist(),
        "eye_centres": frame["eye_centres"].tolist(),
        "mouth_loop": [int(i) for i in frame["mouth_loop"]],
        "neck_loop": [int(i) for i in frame["neck_loop"]],
        "upper_loop": [int(i) for i in head[regions.upper_loop]],
        "lower_loop": [int(i) for i in head[regions.lower_loop]],
        "upper_lip": [int(i) for i in head[regions.upper_lip[regions.d_upper[regions.upper_lip] < 30.0]]],
        "lower_lip": [int(i) for i in head[regions.lower_lip[regions.d_lower[regions.lower_lip] < 30.0]]],
        "lid_upper": [[int(i) for i in head[l["upper"]]] for l in regions.lid],
        "lid_lower": [[int(i) for i in head[l["lower"]]] for l in regions.lid],
        "jaw_pivot": (frame["origin"] + frame["R"].T @ JAW_PIVOT * frame["units_per_mm"]).tolist(),
        "eyeballs": [[int(eye_sets[k][0]), int(eye_sets[k][-1]) + 1] for k in range(2)],
    }
    return Rig(RIG_NAMES, vertices, basis, corr_names, corr, pairs, meta)
