"""The 51 ARKit offset fields of one head, built in canonical millimetres.

Each family of shapes moves a few handle vertices (lip loop, lid margins, brow band, cheek and
nose patches) by amounts defined relative to landmarks, and the rest of its region follows by
biharmonic interpolation on the cotangent Laplacian (one dense solve per family, every shape of
the family a right-hand side). The jaw uses harmonic skinning weights and a rotation about a pivot
near the jaw joint; eyeballs and lids rotate about the eyeball centre. Rotations are split into a
linear shape and a quadratic corrective (see :func:`rig_geometry.arc_fields`).
"""
import numpy as np

from .rig_geometry import rotation, smoothstep

JAW_PIVOT = np.array([0.0, -40.0, -90.0])  # canonical mm: near the jaw joint, below/behind the ear canal
JAW_GAP_MM = 33.0                          # jawOpen=1 opens the lip midline by this much
LIP_MARGIN_MM = 5.0                        # mouthClose_jawOpen holds a vertex only if it is this much nearer one lip
LID_CLEARANCE_MM = 0.4                     # lids pass this far outside the cornea


class ShapeBuilder:
    def __init__(self, regions, canon, n_vertices):
        self.r = regions
        self.canon = canon
        self.n = n_vertices
        self.basis = {}
        self.correctives = []  # (name, source a, source b, field [V,3])

    # ---- helpers ---------------------------------------------------------------------------
    def _full(self, head_field):
        out = np.zeros((self.n, 3))
        out[self.r.head] = head_field
        return out

    def _solve(self, handles, values, free_mask, order=2):
        """Biharmonic fill: values [len(handles), 3*S] on handles, 0 outside free_mask."""
        nh = len(self.r.p)
        known = np.zeros((nh, values.shape[1]))
        known[handles] = values
        free = np.flatnonzero(free_mask & ~np.isin(np.arange(nh), handles))
        return self.r.ops.interpolate(free, known, order=order)

    def _add_family(self, names, handles, values, free_mask, order=2):
        """values: list of [len(handles), 3] per shape name."""
        sol = self._solve(handles, np.concatenate(values, 1), free_mask, order)
        for s, name in enumerate(names):
            self.basis[name] = self._full(sol[:, 3 * s:3 * s + 3])

    # ---- jaw -------------------------------------------------------------------------------
    def jaw(self):
        r, p = self.r, self.r.p
        y_corner = 0.5 * (p[r.corner_l, 1] + p[r.corner_r, 1])
        low = p[r.lower_mid]
        one = np.zeros(len(p), bool)
        inner = r.lower_loop[1:-1]
        one[inner[np.abs(r.lip_coordinate(inner)) < 0.55]] = True
        # the mandible's front: below the mouth corners, in front of the ramus, above the throat
        chin = (p[:, 1] < y_corner - 10) & (p[:, 1] > low[1] - 50) & (p[:, 2] > low[2] - 40) & \
               (np.abs(p[:, 0] - r.mouth_centre[0]) < 0.5 * r.mouth_width)
        one |= chin
        with np.errstate(invalid="ignore"):
            lower_lip = (r.d_lower < 40) & (r.d_upper - r.d_lower > 12)
            upper_lip = (r.d_upper < 40) & (r.d_lower - r.d_upper > 12)
        central = np.abs(r.lip_coordinate(np.arange(len(p)))) < 0.55
        one |= lower_lip & central
        # the corners (outer quarter of each lip) stay free: they stretch smoothly between the lips
        zero = (p[:, 1] > y_corner + 10) | (p[:, 2] < JAW_PIVOT[2] + 15) | (upper_lip & central)
        zero[r.upper_loop[central[r.upper_loop]]] = True
        zero[self.r.local[self.neck_loop]] = True
        zero &= ~one
        free = ~(one | zero)
        known = one.astype(float)[:, None]
        w = np.clip(r.ops.interpolate(np.flatnonzero(free), known, order=2)[:, 0], 0.0, 1.0)
        self.jaw_weight = w
        # angle so that the lower lip midline drops by JAW_GAP_MM
        rel = low - JAW_PIVOT
        radius = np.linalg.norm(rel[1:])
        angle = 2 * np.arcsin(min(0.9, JAW_GAP_MM / (2 * radius)))
        # positive rotation about +x moves the chin down and back
        B, C = arc(p, JAW_PIVOT, [1, 0, 0], angle, w)
        self.basis["jawOpen"] = self._full(B)
        self.correctives.append(("jawOpen_sq", "jawOpen", "jawOpen", self._full(C)))
        self.jaw_open_total = B + C
        mm = w[:, None]
        self.basis["jawForward"] = self._full(mm * [0, 0, 4.0])
        self.basis["jawLeft"] = self._full(mm * [6.0, 0, 0])
        self.basis["jawRight"] = self._full(mm * [-6.0, 0, 0])

    def _neck_loop(self):
        return self.neck_loop

    # ---- lips ------------------------------------------------------------------------------
    def lips(self):
        """Lip shapes: every lip vertex (within LIP_DEPTH of the inner loop, through the lip) is a
        handle moved by the shape's definition at its (u = across the mouth, upper/lower, depth);
        the skin around follows biharmonically and fades out by FREE_DEPTH."""
        r, p = self.r, self.r.p
        LIP_DEPTH, FREE_DEPTH = 26.0, 50.0
        loop = np.flatnonzero(r.d_mouth < LIP_DEPTH)
        with np.errstate(invalid="ignore"):
            is_up = smoothstep(np.nan_to_num((r.d_lower[loop] - r.d_upper[loop]) / 16.0 + 0.5, nan=0.5))
        is_lo = 1 - is_up
        gap = self._gap_at(p[loop, 0])
        # depth: 1 on the inner edge, 0 at the lip's outer border (rolls and presses act there)
        inner = 1 - np.clip(r.d_mouth[loop] / LIP_DEPTH, 0, 1)
        u = r.lip_coordinate(loop)
        xc = r.mouth_centre[0]
        mid = np.clip(1 - u ** 2, 0, 1)
        cl, cr = smoothstep((u - 0.15) / 0.85), smoothstep((-u - 0.15) / 0.85)
        sl, sr = smoothstep((u + 0.4) / 1.2), smoothstep((-u + 0.4) / 1.2)
        col = lambda a: np.asarray(a, float)[:, None] if np.ndim(a) else np.full((len(loop), 1), a)
        vec = lambda x, y, z: np.c_[col(x) * np.ones((len(loop), 1)), col(y) * np.ones((len(loop), 1)),
                                    col(z) * np.ones((len(loop), 1))]
        dx = p[loop, 0] - xc
        shapes = {
            "mouthFunnel": vec(-0.35 * dx, (is_up - is_lo) * 2.5 * mid, 4.0 + 3.0 * mid),
            "mouthPucker": vec(-0.38 * dx, -(is_up - is_lo) * 0.2 * gap * mid, 5.0 + 4.0 * mid),
            "mouthSmile_L": vec(5.0 * cl, 6.0 * cl, -3.0 * cl),
            "mouthSmile_R": vec(-5.0 * cr, 6.0 * cr, -3.0 * cr),
            "mouthFrown_L": vec(1.0 * cl, -5.0 * cl, -1.0 * cl),
            "mouthFrown_R": vec(-1.0 * cr, -5.0 * cr, -1.0 * cr),
            "mouthDimple_L": vec(3.0 * cl, 0.5 * cl, -4.0 * cl),
            "mouthDimple_R": vec(-3.0 * cr, 0.5 * cr, -4.0 * cr),
            "mouthStretch_L": vec(8.0 * cl, -2.0 * cl, -2.0 * cl),
            "mouthStretch_R": vec(-8.0 * cr, -2.0 * cr, -2.0 * cr),
            "mouthPress_L": vec(0, -(is_up - is_lo) * (0.3 * gap * inner + 1.0) * mid * sl, -1.5 * sl * mid),
            "mouthPress_R": vec(0, -(is_up - is_lo) * (0.3 * gap * inner + 1.0) * mid * sr, -1.5 * sr * mid),
            "mouthLowerDown_L": vec(0, -5.0 * is_lo * sl, 1.0 * is_lo * sl),
            "mouthLowerDown_R": vec(0, -5.0 * is_lo * sr, 1.0 * is_lo * sr),
            "mouthUpperUp_L": vec(0, 5.0 * is_up * sl, 1.0 * is_up * sl),
            "mouthUpperUp_R": vec(0, 5.0 * is_up * sr, 1.0 * is_up * sr),
            "mouthRollLower": vec(0, (0.45 * gap * inner + 2.0 * (1 - inner)) * is_lo * mid, -(3.0 + 3.0 * (1 - inner)) * is_lo * mid),
            "mouthRollUpper": vec(0, -(0.45 * gap * inner + 2.0 * (1 - inner)) * is_up * mid, -(2.5 + 2.5 * (1 - inner)) * is_up * mid),
            "mouthShrugLower": vec(0, (0.3 * gap * is_lo + 1.5) * mid, 3.0 * is_lo * mid),
            "mouthShrugUpper": vec(0, 3.0 * is_up, 2.0 * is_up * mid),
            "mouthLeft": vec(7.0, 0, -1.0 * u),
            "mouthRight": vec(-7.0, 0, 1.0 * u),
        }
        free = r.d_mouth < FREE_DEPTH
        self._add_family(list(shapes), loop, list(shapes.values()), free)
        self.basis["mouthClose"] = np.zeros((self.n, 3))
        self._close(free)

    def _midline_at(self, x):
        r, p = self.r, self.r.p
        up, lo = r.upper_loop, r.lower_loop
        ou, ol = np.argsort(p[up, 0]), np.argsort(p[lo, 0])
        xc = r.mouth_centre[0]
        mid = 0.0
        for xm in (x, 2 * xc - x):
            mid = mid + 0.25 * (np.interp(xm, p[up, 0][ou], p[up, 1][ou]) + np.interp(xm, p[lo, 0][ol], p[lo, 1][ol]))
        return mid

    def _gap_at(self, x):
        r, p = self.r, self.r.p
        up, lo = r.upper_loop, r.lower_loop
        ou, ol = np.argsort(p[up, 0]), np.argsort(p[lo, 0])
        xc = self.r.mouth_centre[0]
        gap = 0.0
        for xm in (x, 2 * xc - x):  # symmetrised: left and right shapes mirror each other
            yu = np.interp(xm, p[up, 0][ou], p[up, 1][ou])
            yl = np.interp(xm, p[lo, 0][ol], p[lo, 1][ol])
            gap = gap + 0.5 * np.maximum(yu - yl, 0.0)
        return gap

    def _close(self, free):
        """Corrective jawOpen x mouthClose: both lips keep their neutral shape, sealed (the contact
        gap at each x closed), at a height nearly halfway down to the open jaw."""
        r, p = self.r, self.r.p
        # the lips away from the corners; the corners stretch freely between the sealed lips
        central = lambda idx: idx[np.abs(r.lip_coordinate(idx)) < 0.65]
        # only skin clearly on one lip: a vertex nearly as close to the other lip (near the corners)
        # is left free, so which lip it joins never flips with a small change of the head's shape
        clear = lambda idx, near, far: idx[(near[idx] < 28.0) & (far[idx] - near[idx] > LIP_MARGIN_MM)]
        up = central(clear(r.upper_lip, r.d_upper, r.d_lower))
        lo = central(clear(r.lower_lip, r.d_lower, r.d_upper))
        loop = central(r.loop)
        lips = np.r_[up, lo, loop]
        shift = 0.45 * self.jaw_open_total[r.lower_mid]
        nu = len(up)
        is_upper = np.r_[np.ones(nu, bool), np.zeros(len(lo), bool), np.isin(loop, r.upper_loop)]
        values = shift[None, :] - self.jaw_open_total[lips]
        values[is_upper] = shift
        # close the remaining gap between the lips' nearest points, a few times since a new pair
        # can become the nearest once the first one has closed
        for _ in range(4):
            closed = p[lips] + self.jaw_open_total[lips] + values
            gap = self._contact_gap(closed, nu, len(lo), p[lips, 0])
            values += np.where(is_upper[:, None], -0.5 * gap, 0.5 * gap)
        lips, first = np.unique(lips, return_index=True)
        sol = self._solve(lips, values[first], free | (r.d_mouth < 60.0))
        self.correctives.append(("mouthClose_jawOpen", "jawOpen", "mouthClose", self._full(sol)))

    def _contact_gap(self, pos, nu, nl, x):
        """Vector from the lower lip to the upper lip at their nearest pair in slices along x,
        shortened by 0.3 mm (0 where they touch), interpolated at x. ``pos``: upper lip rows
        [:nu], lower lip rows [nu:nu+nl]."""
        up, lo = pos[:nu], pos[nu:nu + nl]
        xu, xl = x[:nu], x[nu:nu + nl]
        xs = np.linspace(x.min(), x.max(), 17)
        g = np.zeros((len(xs), 3))
        for k, xv in enumerate(xs):
            su, sl = up[np.abs(xu - xv) < 3.0], lo[np.abs(xl - xv) < 3.0]
            if len(su) == 0 or len(sl) == 0:
                continue
            diff = su[:, None] - sl[None]
            dist = np.linalg.norm(diff, axis=2)
            i, j = np.unravel_index(np.argmin(dist), dist.shape)
            g[k] = diff[i, j] * max(0.0, 1 - 0.3 / max(dist[i, j], 1e-9))
        return np.stack([np.interp(x, xs, g[:, c]) for c in range(3)], 1)


def arc(points, pivot, axis, angle, weights=None):
    """Linear part B and quadratic corrective C of a rotation (per-vertex angle = angle*weights)."""
    rel = points - pivot
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = angle * (np.ones(len(points)) if weights is None else np.asarray(weights, float))
    cross = np.cross(axis, rel)
    B = a[:, None] * cross
    along = (rel @ axis)[:, None] * axis
    perp = rel - along
    rotated = along + np.cos(a)[:, None] * perp + np.sin(a)[:, None] * cross
    return B, rotated - rel - B
