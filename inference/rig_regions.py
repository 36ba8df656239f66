"""Regions of a FLAME-topology head found at run time, in canonical millimetres.

Everything is defined by the mouth loop, the eyeballs and distances (geodesic or Euclidean) in the
canonical frame of :mod:`rig_topology`, so it transfers to any identity, pose and unit.
"""
import numpy as np

from .rig_geometry import MeshOps


class Regions:
    """Landmarks and vertex sets of one head (indices into the head component, local numbering)."""

    def __init__(self, canon, head, eye_sets, frame, faces):
        self.head = head
        local = np.full(len(canon), -1)
        local[head] = np.arange(len(head))
        self.local = local
        head_faces = faces[np.isin(faces[:, 0], head)]
        self.p = canon[head]
        self.ops = MeshOps(self.p, local[head_faces])
        self.eye_centres = np.array([self._centre(frame, k) for k in range(2)])
        self.eye_radius = frame["eye_radius"] / frame["units_per_mm"]
        self.eye_sets = eye_sets  # global indices, [left, right]
        self._mouth(local[frame["mouth_loop"]])
        self._lids()

    @staticmethod
    def _centre(frame, k):
        return (frame["eye_centres"][k] - frame["origin"]) @ frame["R"].T / frame["units_per_mm"]

    # ---- mouth -----------------------------------------------------------------------------
    def _mouth(self, loop):
        p = self.p
        x = p[loop, 0]
        a, b = int(np.argmax(x)), int(np.argmin(x))  # left and right corners (positions in loop)
        n = len(loop)
        arc1 = [loop[(a + i) % n] for i in range((b - a) % n + 1)]
        arc2 = [loop[(b + i) % n] for i in range((a - b) % n + 1)]
        if p[arc1, 1].mean() > p[arc2, 1].mean():
            upper, lower = arc1, arc2
        else:
            upper, lower = arc2, arc1
        self.loop = loop
        self.corner_l, self.corner_r = loop[a], loop[b]
        self.upper_loop = np.array(upper)  # includes both corners
        self.lower_loop = np.array(lower)
        self.mouth_width = p[self.corner_l, 0] - p[self.corner_r, 0]
        self.mouth_centre = p[loop].mean(0)
        self.mouth_centre[0] = 0.5 * (p[self.corner_l, 0] + p[self.corner_r, 0])
        inner_u = self.upper_loop[1:-1]
        inner_l = self.lower_loop[1:-1]
        self.upper_mid = inner_u[np.argmin(np.abs(p[inner_u, 0] - self.mouth_centre[0]))]
        self.lower_mid = inner_l[np.argmin(np.abs(p[inner_l, 0] - self.mouth_centre[0]))]
        # distances from each lip's edge: a vertex belongs to the lip whose loop half is nearer
        self.d_upper = self.ops.geodesic(inner_u, limit=80.0)
        self.d_lower = self.ops.geodesic(inner_l, limit=80.0)
        self.d_mouth = np.minimum(self.d_upper, self.d_lower)
        # "lowerness": 1 under the mouth, 0 above it, smooth through the corners
        with np.errstate(invalid="ignore"):
            self.side = self.d_upper / (self.d_upper + self.d_lower)
        self.side[~np.isfinite(self.side)] = 0.0
        # FLAME's lips curl ~40 mm (geodesic) from the inner loop to the skin; near the corners
        # the two distances are equal and a vertex belongs to neither lip
        with np.errstate(invalid="ignore"):
            self.upper_lip = np.flatnonzero((self.d_upper < 40.0) & (self.d_lower - self.d_upper > 4.0))
            self.lower_lip = np.flatnonzero((self.d_lower < 40.0) & (self.d_upper - self.d_lower > 4.0))

    def lip_coordinate(self, idx):
        """u in [-1, 1] from the right corner to the left corner (canonical x)."""
        c = self.mouth_centre[0]
        return np.clip((self.p[idx, 0] - c) / (0.5 * self.mouth_width), -1.5, 1.5)

    # ---- eyes ------------------------------------------------------------------------------
    def _lids(self):
        """Per eye: the rim of the eye opening (the innermost ring of lid vertices around the
        part of the socket hidden behind the eyeball), split into upper and lower lid margins."""
        self.lid = []
        r = self.eye_radius
        for k in range(2):
            rel = self.p - self.eye_centres[k]
            d = np.linalg.norm(rel, axis=1)
            socket = np.flatnonzero((d < r - 1.0) & (rel[:, 2] > -r))
            band = np.setdiff1d(self.ops.ring(socket, 1), socket)
            band = band[rel[band, 2] > 0]
            polar = np.arctan2(np.hypot(rel[band, 0], rel[band, 1]), rel[band, 2])
            psi = np.arctan2(rel[band, 1], rel[band, 0])
            bins = np.floor((psi + np.pi) / (2 * np.pi) * 28).astype(int) % 28
            rim = [band[bins == b][np.argmin(polar[bins == b])] for b in range(28) if (bins == b).any()]
            rim = np.unique(rim)
            upper = rim[rel[rim, 1] > 0]
            lower = rim[rel[rim, 1] <= 0]
            self.lid.append({"rim": rim, "upper": upper, "lower": lower, "dist": d, "socket": socket,
                             "d_rim": self.ops.geodesic(rim, limit=40.0)})
