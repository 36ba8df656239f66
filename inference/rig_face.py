"""Eye, lid, brow, cheek and nose shapes (canonical millimetres), added to a ShapeBuilder."""
import numpy as np

from .rig_geometry import smoothstep
from .rig_shapes import arc, LID_CLEARANCE_MM

X, Y = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])


def build_face_shapes(b):
    for k, side in enumerate("LR"):
        _eye(b, k, side)
    _brows(b)
    _cheeks(b)
    _nose(b)


# ---- eyes ----------------------------------------------------------------------------------
def _eye(b, k, side):
    r, p = b.r, b.r.p
    centre = r.eye_centres[k]
    rel = p - centre
    d = np.linalg.norm(rel, axis=1)
    lid = r.lid[k]
    up, lo = lid["upper"], lid["lower"]
    phi = np.arctan2(rel[:, 1], rel[:, 2])
    ou, ol = np.argsort(rel[up, 0]), np.argsort(rel[lo, 0])
    phi_lo_at_up = np.interp(rel[up, 0], rel[lo, 0][ol], phi[lo][ol])
    phi_up_at_lo = np.interp(rel[lo, 0], rel[up, 0][ou], phi[up][ou])
    meet_u = phi_lo_at_up + 0.2 * (phi[up] - phi_lo_at_up)
    meet_l = phi[lo] + 0.2 * (phi_up_at_lo - phi[lo])
    eyeball = b.canon[r.eye_sets[k]] - centre
    front = eyeball[:, 2] > 0
    lid_radius = np.linalg.norm(eyeball[front], axis=1).max() + LID_CLEARANCE_MM
    handles = np.r_[up, lo]
    nu = len(up)
    # columns: blink angle (upper, lower), radial push (upper, lower), unit (upper, lower)
    vals = np.zeros((len(handles), 6))
    vals[:nu, 0] = np.maximum(phi[up] - meet_u, 0)
    vals[nu:, 1] = np.minimum(phi[lo] - meet_l, 0)
    vals[:nu, 2] = lid_radius - d[up]
    vals[nu:, 3] = lid_radius - d[lo]
    vals[:nu, 4] = 1.0
    vals[nu:, 5] = 1.0
    free = (lid["d_rim"] < 16.0)
    f = b._solve(handles, vals, free)
    a_up, a_lo, q_up, q_lo, one_up, one_lo = f.T
    eye_idx = r.eye_sets[k]
    eye_pts = b.canon[eye_idx]

    def lid_shape(angle, push):
        """Lid rotation about the eye's x axis by `angle` (front down) with radial push."""
        B, C = arc(p, centre, X, 1.0, angle)
        radial = rel / np.maximum(d, 1e-9)[:, None]
        # the push grows early (2w - w^2) so the lid clears the cornea halfway through
        Bp = B + 2 * push[:, None] * radial
        rot_radial = (B + C + rel) / np.maximum(d, 1e-9)[:, None]
        target = B + C + push[:, None] * rot_radial
        return Bp, target - Bp

    def eye_rot(axis, angle):
        return arc(eye_pts, centre, axis, angle)

    def put(name, head_fields, eye_fields=None):
        B = b._full(head_fields[0])
        C = b._full(head_fields[1])
        if eye_fields is not None:
            B[eye_idx], C[eye_idx] = eye_fields
        b.basis[name] = B
        if np.abs(C).max() > 1e-9:
            b.correctives.append((name + "_sq", name, name, C))

    # lids that slide over the cornea are pushed out to clear it (the eyeball is not a sphere)
    clear = np.maximum(q_up, 0) + np.maximum(q_lo, 0)
    put(f"eyeBlink_{side}", lid_shape(a_up + a_lo, q_up + q_lo))
    put(f"eyeSquint_{side}", lid_shape(0.12 * a_up + 0.45 * a_lo, clear))
    put(f"eyeWide_{side}", lid_shape(-0.20 * one_up + 0.06 * one_lo, clear))
    look = {"Up": (X, -0.40, 0.45, 0.25), "Down": (X, 0.45, 0.5, 0.3)}
    sgn = 1.0 if side == "L" else -1.0
    look["In"] = (Y, -0.45 * sgn, 0.0, 0.0)
    look["Out"] = (Y, 0.45 * sgn, 0.0, 0.0)
    for direction, (axis, angle, f_up, f_lo) in look.items():
        put(f"eyeLook{direction}_{side}", lid_shape(angle * (f_up * one_up + f_lo * one_lo), clear),
            eye_rot(axis, angle))


# ---- brows ---------------------------------------------------------------------------------
def _brows(b):
    r, p = b.r, b.r.p
    x, y = p[:, 0], p[:, 1]
    band = np.flatnonzero((y > 13) & (y < 26) & (np.abs(x) < 58) & (p[:, 2] > -15))
    rims = np.r_[r.lid[0]["rim"], r.lid[1]["rim"]]
    d_band = r.ops.geodesic(band, limit=40.0)
    free = (d_band < 35.0) & (y > -8)
    free[rims] = False
    xb = x[band]
    sl, sr = smoothstep((xb + 5) / 20), smoothstep((-xb + 5) / 20)
    inner = 1 - smoothstep((np.abs(xb) - 8) / 20)
    ol, orr = smoothstep((xb - 15) / 25), smoothstep((-xb - 15) / 25)
    z = np.zeros_like(xb)
    shapes = {
        "browDown_L": np.c_[-1.5 * sl * (1 - ol), -4.0 * sl, 0.5 * sl],
        "browDown_R": np.c_[1.5 * sr * (1 - orr), -4.0 * sr, 0.5 * sr],
        "browInnerUp": np.c_[z, 5.0 * inner, z],
        "browOuterUp_L": np.c_[z, 5.0 * ol, z],
        "browOuterUp_R": np.c_[z, 5.0 * orr, z],
    }
    handles = np.r_[band, rims]
    vals = [np.r_[v, np.zeros((len(rims), 3))] for v in shapes.values()]
    b._add_family(list(shapes), handles, vals, free)


# ---- cheeks and nose -----------------------------------------------------------------------
def _surface_point(p, target, window=6.0):
    """Front-most head vertex near (x, y) of ``target``."""
    near = np.flatnonzero((np.abs(p[:, 0] - target[0]) < window) & (np.abs(p[:, 1] - target[1]) < window))
    return near[np.argmax(p[near, 2])]


def _normals(b):
    p, faces = b.r.p, b.r.ops.faces
    fn = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    n = np.zeros_like(p)
    for c in range(3):
        np.add.at(n, faces[:, c], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1), 1e-12)[:, None]


def _patch_family(b, names, centres, radius, displacement, free_radius, pinned):
    """Each shape moves a soft patch around its centre; displacement(idx, falloff) -> [n,3]."""
    r, p = b.r, b.r.p
    handles_all, vals_all, free = [], [], np.zeros(len(p), bool)
    for c in centres:
        dist = np.linalg.norm(p - p[c], axis=1)
        free |= r.ops.geodesic([c], limit=free_radius + 5) < free_radius
    patches = []
    for c in centres:
        dist = np.linalg.norm(p - p[c], axis=1)
        idx = np.flatnonzero((dist < radius) & (p[:, 2] > p[c, 2] - radius))
        idx = np.setdiff1d(idx, pinned)
        patches.append((idx, smoothstep(1 - dist[idx] / radius)))
    handles = np.unique(np.r_[np.concatenate([h for h, _ in patches]), pinned])
    vals = []
    for s, name in enumerate(names):
        v = np.zeros((len(handles), 3))
        for which, (idx, fall) in enumerate(patches):
            pos = np.searchsorted(handles, idx)
            v[pos] += displacement(s, which, idx, fall)
        vals.append(v)
    free[pinned] = False
    b._add_family(names, handles, vals, free)


def _cheeks(b):
    r, p = b.r, b.r.p
    n = _normals(b)
    half = 0.5 * r.mouth_width
    my = r.mouth_centre[1]
    centres = [_surface_point(p, [s * (half + 17), my + 8]) for s in (1, -1)]
    # the lips and the mouth corners stay: the puff is the cheeks'
    pinned = np.r_[np.flatnonzero(r.d_mouth < 20.0), r.lid[0]["rim"], r.lid[1]["rim"]]

    def puff(s, which, idx, fall):
        return 4.5 * fall[:, None] * n[idx]
    _patch_family(b, ["cheekPuff"], centres, 22.0, puff, 50.0, pinned)
    pinned = np.r_[np.flatnonzero(r.d_mouth < 3.0), r.lid[0]["rim"], r.lid[1]["rim"]]
    eyes = r.eye_centres
    squint_c = [_surface_point(p, [eyes[k, 0], eyes[k, 1] - 22]) for k in range(2)]

    def squint(s, which, idx, fall):
        return fall[:, None] * np.array([0, 3.0, 1.0]) * (which == s)
    _patch_family(b, ["cheekSquint_L", "cheekSquint_R"], squint_c, 14.0, squint, 30.0, pinned)


def _nose(b):
    r, p = b.r, b.r.p
    x, y, z = p.T
    mid = np.flatnonzero((np.abs(x) < 10) & (y > r.mouth_centre[1]) & (y < -10))
    tip = mid[np.argmax(z[mid])]
    wing = (np.abs(x) < 28) & (y > y[tip] - 20) & (y < y[tip]) & (z > z[tip] - 22)
    cand = np.flatnonzero(wing)
    centres = [cand[np.argmax(x[cand])], cand[np.argmin(x[cand])]]
    pinned = np.r_[np.flatnonzero(r.d_mouth < 3.0), r.lid[0]["rim"], r.lid[1]["rim"]]

    def sneer(s, which, idx, fall):
        return fall[:, None] * np.array([0, 3.0, -0.5]) * (which == s)
    _patch_family(b, ["noseSneer_L", "noseSneer_R"], centres, 9.0, sneer, 28.0, pinned)
