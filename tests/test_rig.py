"""The rig's acceptance bars (issue 2), on both FLAME heads: native, after similarity transforms
(Blender's Y-up -> Z-up at cm scale, and a random one) and smoothly deformed.

Everything is measured in the *native* head's canonical frame in true millimetres: decoded
positions are mapped back through the test's own transform, so the rig under test never grades
itself. Smoothness measure: max over edges of |d_i - d_j| / |e_ij| for every shape at weight 1
where edges shorter than 2 mm count as 2 mm (FLAME's inner mouth corners have 0.3 mm slivers);
bound 3.5 for every shape and corrective at weight 1 (the jaw's 30 mm swing fades over about
10 mm of skin at the mouth corners), and no triangle of 1 mm^2 or more turns over (normal change
< 90 deg). Exempt from the fold check: the slivers under 1 mm^2 folded inside FLAME's inner mouth
corners, hidden from view, which jawOpen can turn over.
"""
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import HEADS, YUP_TO_ZUP, apply_similarity, random_similarity, smooth_deform
from inference.arkit import RIG_NAMES
from inference.errors import RigError
from inference.rig import build_rig, load_rig

IDX = {n: i for i, n in enumerate(RIG_NAMES)}
VARIANTS = ("native", "zup_cm", "random", "deformed")


@pytest.fixture(scope="module")
def native(load_head):
    return {h: (load_head(h), build_rig(*load_head(h))) for h in HEADS}


@pytest.fixture(scope="module", params=[(h, v) for h in HEADS for v in VARIANTS], ids=lambda p: f"{p[0]}-{p[1]}")
def case(request, native):
    head, variant = request.param
    (v, f), nrig = native[head]
    rng = np.random.default_rng(zlib.crc32(f"{head}-{variant}".encode()))  # the same head every run
    if variant == "native":
        T = (np.eye(3), 1.0, np.zeros(3))
    elif variant == "zup_cm":
        T = (YUP_TO_ZUP, 100.0, np.array([0.0, 0.0, 150.0]))
    elif variant == "random":
        T = random_similarity(rng)
    else:
        v = smooth_deform(v, rng, amplitude=0.004)  # 4 mm
        T = (np.eye(3), 1.0, np.zeros(3))
    rig = build_rig(apply_similarity(v, T), f)
    R, s, t = T
    meta = nrig.meta
    axes, origin = np.array(meta["axes"]), np.array(meta["origin"])

    def pose(**weights):
        w = np.zeros((1, len(RIG_NAMES)), np.float32)
        for name, value in weights.items():
            w[0, IDX[name]] = value
        out = rig.decode(w)[0].astype(np.float64)
        native_units = (out - t) @ R / s
        return (native_units - origin) @ axes.T * 1000.0  # native head is in metres
    return {"rig": rig, "pose": pose, "neutral": pose(), "meta": rig.meta, "faces": f, "T": T,
            "native_meta": meta, "head": head, "variant": variant}


def _midline(ids, P):
    return ids[np.argmin(np.abs(P[ids, 0]))]


def test_jaw_opens_on_an_arc(case):
    P0, P = case["neutral"], case["pose"](jawOpen=1)
    up, lo = np.array(case["meta"]["upper_loop"]), np.array(case["meta"]["lower_loop"])
    gap = lambda X: X[_midline(up, P0), 1] - X[_midline(lo, P0), 1]
    assert 25.0 <= gap(P) - gap(P0) <= 45.0
    R, s, t = case["T"]
    pivot = ((np.array(case["meta"]["jaw_pivot"]) - t) @ R / s - np.array(case["native_meta"]["origin"])) \
        @ np.array(case["native_meta"]["axes"]).T * 1000.0
    chin = np.argmin(np.where(np.abs(P0[:, 0]) < 3, P0[:, 1] - 0 * P0[:, 2], np.inf) +
                     np.where(P0[:, 2] > P0[_midline(lo, P0), 2] - 5, 0, np.inf))
    r0, r1 = np.linalg.norm(P0[chin] - pivot), np.linalg.norm(P[chin] - pivot)
    assert abs(r1 / r0 - 1) < 0.02


def test_jaw_leaves_upper_head_still(case):
    P0, P = case["neutral"], case["pose"](jawOpen=1)
    d = np.linalg.norm(P - P0, axis=1)
    # forehead, nose bridge, ears (the head's sides at eye height)
    still = (P0[:, 1] > 10) | ((np.abs(P0[:, 0]) < 12) & (P0[:, 1] > -20)) | ((np.abs(P0[:, 0]) > 70) & (P0[:, 1] > -50))
    eyes = np.r_[[np.arange(a, b) for a, b in case["meta"]["eyeballs"]]].ravel()
    still[eyes] = True
    assert d[still].max() < 0.1


def test_jaw_and_close_seal_the_lips(case):
    P = case["pose"](jawOpen=1, mouthClose=1)
    up, lo = np.array(case["meta"]["upper_loop"]), np.array(case["meta"]["lower_loop"])
    P0 = case["neutral"]
    # the lips' surfaces (not just the inner loop, which sits deep in FLAME's mouth) at the midline
    U, L = np.array(case["meta"]["upper_lip"]), np.array(case["meta"]["lower_lip"])
    U, L = U[np.abs(P0[U, 0]) < 4], L[np.abs(P0[L, 0]) < 4]
    assert np.linalg.norm(P[U][:, None] - P[L][None], axis=2).min() <= 1.0
    _assert_upper_above_lower(P, up, lo)


def _assert_upper_above_lower(P, up, lo, tol=0.05):
    inner_u, inner_l = up[1:-1], lo[1:-1]
    order = np.argsort(P[inner_l, 0])
    x = P[inner_u, 0]
    inside = (x > P[inner_l, 0].min()) & (x < P[inner_l, 0].max())
    below = np.interp(x[inside], P[inner_l, 0][order], P[inner_l, 1][order])
    assert (P[inner_u, 1][inside] - below).min() > -tol


def test_no_shape_or_pair_crosses_the_lips(case):
    if case["variant"] != "native":
        pytest.skip("every pair is checked on each native head")
    rig, meta = case["rig"], case["meta"]
    up, lo = np.array(meta["upper_loop"]), np.array(meta["lower_loop"])
    K = len(RIG_NAMES)
    i, j = np.triu_indices(K)
    w = np.zeros((len(i), K), np.float32)
    w[np.arange(len(i)), i] = 1
    w[np.arange(len(i)), j] = 1
    canon = lambda X: (X - np.array(meta["origin"])) @ np.array(meta["axes"]).T / meta["units_per_mm"]
    for row, X in enumerate(rig.decode(w)):
        if {RIG_NAMES[i[row]], RIG_NAMES[j[row]]} >= {"jawOpen", "mouthClose"}:
            continue
        _assert_upper_above_lower(canon(X.astype(np.float64)), up, lo, tol=0.3)


@pytest.mark.parametrize("name", ["mouthFunnel", "mouthPucker"])
def test_funnel_and_pucker(case, name):
    P0, P = case["neutral"], case["pose"](**{name: 1})
    up, lo = np.array(case["meta"]["upper_loop"]), np.array(case["meta"]["lower_loop"])
    width = lambda X: X[up[0], 0] - X[up[-1], 0]
    assert abs(width(P)) <= 0.75 * abs(width(P0))
    loop = np.r_[up, lo]
    assert (P[loop, 2] - P0[loop, 2]).mean() >= 3.0


@pytest.mark.parametrize("side", ["L", "R"])
def test_smile_stretch(case, side):
    P0 = case["neutral"]
    up = np.array(case["meta"]["upper_loop"])
    corner = up[0] if (P0[up[0], 0] > 0) == (side == "L") else up[-1]
    out = 1 if side == "L" else -1
    P = case["pose"](**{f"mouthSmile_{side}": 1})
    assert P[corner, 1] - P0[corner, 1] >= 4.0 and out * (P[corner, 0] - P0[corner, 0]) > 0
    P = case["pose"](**{f"mouthStretch_{side}": 1})
    width = lambda X: abs(X[up[0], 0] - X[up[-1], 0])
    assert width(P) >= 1.10 * width(P0)


def test_roll_lower_goes_up_and_in(case):
    P0, P = case["neutral"], case["pose"](mouthRollLower=1)
    lo = np.array(case["meta"]["lower_loop"])[1:-1]
    m = _midline(lo, P0)
    assert P[m, 1] > P0[m, 1] and P[m, 2] < P0[m, 2]


@pytest.mark.parametrize("k,side", [(0, "L"), (1, "R")])
def test_blink_closes_over_the_eyeball(case, k, side):
    meta = case["meta"]
    P = case["pose"](**{f"eyeBlink_{side}": 1})
    u, l = np.array(meta["lid_upper"][k]), np.array(meta["lid_lower"][k])
    l = l[np.argsort(case["neutral"][l, 0])]
    A, B = P[l[:-1]], P[l[1:]]
    mid = u[np.argsort(np.abs(case["neutral"][u, 0] - case["neutral"][u, 0].mean()))[:3]]
    AB = B - A
    t = np.clip(np.einsum("mij,ij->mi", P[mid][:, None] - A[None], AB) / (AB ** 2).sum(1), 0, 1)
    gaps = np.linalg.norm(P[mid][:, None] - (A[None] + t[..., None] * AB[None]), axis=2).min(1)
    assert gaps.max() <= 0.5
    a, b = meta["eyeballs"][k]
    ball = case["faces"][(case["faces"] >= a).all(1) & (case["faces"] < b).all(1)]
    P0 = case["neutral"]
    near = np.flatnonzero(np.linalg.norm(P0[:3931] - P0[a:b].mean(0), axis=1) < 20)
    outside = near[_winding(P0[near], P0, ball) < 0.5]
    for w in (0.25, 0.5, 0.75, 1.0):
        for shape in (f"eyeBlink_{side}", f"eyeSquint_{side}", f"eyeWide_{side}", f"eyeLookDown_{side}",
                      f"eyeLookUp_{side}", f"eyeLookIn_{side}", f"eyeLookOut_{side}"):
            Pw = case["pose"](**{shape: w})
            inside = _winding(Pw[outside], Pw, ball) > 0.5
            assert not inside.any(), (shape, w, int(inside.sum()))


def _winding(points, X, tris):
    """Generalised winding number of a closed triangle mesh at each point (1 inside, 0 outside)."""
    A, B, C = (X[tris[:, c]][None] - points[:, None] for c in range(3))
    la, lb, lc = (np.linalg.norm(M, axis=2) for M in (A, B, C))
    det = np.einsum("pfi,pfi->pf", A, np.cross(B, C))
    div = la * lb * lc + np.einsum("pfi,pfi->pf", A, B) * lc + np.einsum("pfi,pfi->pf", B, C) * la + \
        np.einsum("pfi,pfi->pf", C, A) * lb
    return np.abs(np.arctan2(det, div).sum(1) / (2 * np.pi))


def test_only_the_jaw_moves_the_neck(case):
    neck = np.array(case["meta"]["neck_loop"])
    rig = case["rig"]
    moved = np.abs(rig.basis[:, neck]).max(axis=(1, 2)) / case["meta"]["units_per_mm"]
    for name, m in zip(RIG_NAMES, moved):
        if not name.startswith("jaw"):
            assert m < 1e-3, name


def _strain(rig, f):
    """-> the smoothness measure of a field [V,3] on this rig's head (module docstring): max over edges of
    |d_i - d_j| / |e_ij|, edges under 2 mm counted as 2 mm."""
    e = np.unique(np.sort(np.r_[f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], 1), axis=0)
    length = np.maximum(np.linalg.norm(rig.neutral[e[:, 0]] - rig.neutral[e[:, 1]], axis=1),
                        2 * rig.meta["units_per_mm"])
    return lambda field: (np.linalg.norm(field[e[:, 0]] - field[e[:, 1]], axis=1) / length).max()


def test_smoothness(case):
    rig, f = case["rig"], case["faces"]
    unit = case["meta"]["units_per_mm"]
    fields = list(zip(RIG_NAMES, rig.basis)) + list(zip(rig.corrective_names, rig.correctives))
    strain = _strain(rig, f)
    for name, field in fields:
        assert strain(field) < 3.5, name
    tri = lambda X: np.cross(X[f[:, 1]] - X[f[:, 0]], X[f[:, 2]] - X[f[:, 0]])
    n0 = tri(rig.neutral.astype(np.float64))
    big = 0.5 * np.linalg.norm(n0, axis=1) >= unit ** 2
    for name in RIG_NAMES:
        n1 = tri(case["rig"].decode(np.eye(len(RIG_NAMES), dtype=np.float32)[[IDX[name]]])[0].astype(np.float64))
        cos = np.einsum("ij,ij->i", n0, n1) / (np.linalg.norm(n0, axis=1) * np.linalg.norm(n1, axis=1) + 1e-30)
        assert cos[big].min() > 0.0, name


def test_mirror_pairs_on_template(native):
    """L/R shapes mirror each other. The template itself is only symmetric to ~0.9 mm (median
    distance from a mirrored vertex to the nearest vertex), so fields are compared at the vertices
    whose mirror image lands within 0.3 mm of a vertex of the same part (head, other eyeball):
    95% of them within 0.3 mm, all within 1 mm (the worst are the asymmetric inner mouth corners)."""
    (v, f), rig = native["flame_template"]
    meta = rig.meta
    axes = np.array(meta["axes"])
    canon = (rig.neutral - np.array(meta["origin"])) @ axes.T / meta["units_per_mm"]
    mirrored = canon * [-1, 1, 1]
    (a0, a1), (b0, b1) = meta["eyeballs"]
    part = np.zeros(len(canon), int)
    part[a0:a1], part[b0:b1] = 1, 2
    other = np.array([0, 2, 1])
    match = np.empty(len(canon), int)
    for k in range(3):
        mine, theirs = np.flatnonzero(part == k), np.flatnonzero(part == other[k])
        d = ((mirrored[mine][:, None] - canon[theirs][None]) ** 2).sum(-1)
        match[mine] = theirs[np.argmin(d, 1)]
    ok = np.linalg.norm(canon[match] - mirrored, axis=1) < 0.3
    assert ok.sum() > 200
    to_canon = lambda field: field.astype(np.float64) @ axes.T / meta["units_per_mm"]
    for left in RIG_NAMES:
        if left.endswith("_L"):
            a = to_canon(rig.basis[IDX[left]])
            b = to_canon(rig.basis[IDX[left[:-2] + "_R"]])
            err = np.linalg.norm(a[ok] - b[match[ok]] * [-1, 1, 1], axis=1)
            assert np.percentile(err, 95) < 0.3 and err.max() < 1.0, (left, err.max())


def test_decode_is_the_documented_model(native, tmp_path):
    (_, _), rig = native["flame_template"]
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 1, (7, len(RIG_NAMES))).astype(np.float32)
    act = w[:, rig.corrective_pairs[:, 0]] * w[:, rig.corrective_pairs[:, 1]]
    expect = rig.neutral + np.einsum("tk,kvc->tvc", w, rig.basis) + np.einsum("tc,cvx->tvx", act, rig.correctives)
    out = rig.decode(w)
    assert out.dtype == np.float32 and out.shape == (7, 5023, 3)
    np.testing.assert_allclose(out, expect, atol=1e-5)
    rig.save(tmp_path / "rig.npz")
    again = load_rig(tmp_path / "rig.npz")
    assert again.names == RIG_NAMES and again.corrective_names == rig.corrective_names
    np.testing.assert_array_equal(again.decode(w), out)
    data = np.load(tmp_path / "rig.npz")
    assert {"names", "neutral", "basis", "correctives", "corrective_pairs", "corrective_names"} <= set(data.files)


def _one_line(exc):
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 300
    return msg


def test_bad_inputs(load_head):
    v, f = load_head("flame_template")
    with pytest.raises(RigError) as e:
        build_rig(np.r_[v, v[:1]], f)
    assert "5024 vertices" in _one_line(e) and "5023" in str(e.value)
    with pytest.raises(RigError) as e:
        build_rig(np.zeros((0, 3)), np.zeros((0, 3), int))
    assert "empty" in _one_line(e)
    bad = v.copy()
    bad[10, 1] = np.nan
    with pytest.raises(RigError) as e:
        build_rig(bad, f)
    assert "NaN" in _one_line(e)
    with pytest.raises(RigError) as e:
        build_rig(v, np.c_[f, f[:, :1]])
    assert "quads" in _one_line(e)
    nm = f.copy()
    nm[1] = nm[0][[0, 2, 1]]  # a face duplicated with flipped winding: an edge with 3 faces
    with pytest.raises(RigError) as e:
        build_rig(v, nm)
    assert "manifold" in _one_line(e)
    with pytest.raises(RigError) as e:
        build_rig(v * [-1, 1, 1], f)
    assert "mirror" in _one_line(e)


@pytest.mark.parametrize("head", HEADS)
def test_the_seal_corrective_is_smooth_on_many_head_shapes(load_head, head):
    """mouthClose_jawOpen holds the lips by handle vertices; which vertices qualify must not flip with a
    few millimetres of head shape (it did: 2 % of deformed template heads strained 3.5-3.9, seeds 52 and
    362 among them)."""
    v0, f = load_head(head)
    for seed in (52, 68, 108, 279, 362, *range(6)):
        rig = build_rig(smooth_deform(v0, np.random.default_rng(seed), amplitude=0.004), f)
        field = rig.correctives[rig.corrective_names.index("mouthClose_jawOpen")]
        assert _strain(rig, f)(field) < 3.5, seed
