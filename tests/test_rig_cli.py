"""`python -m inference rig` on bad heads: exit code 2, one line on stderr, no traceback."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _write_ply(path, v, f):
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(v)}\nproperty float x\nproperty float y\n"
              f"property float z\nelement face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
    faces = np.zeros(len(f), [("n", "u1"), ("i", "<i4", (f.shape[1],))])
    faces["n"], faces["i"] = f.shape[1], f
    path.write_bytes(header.encode() + np.asarray(v, "<f4").tobytes() + faces.tobytes())


def _write_obj(path, v, f):
    lines = [f"v {a} {b} {c}" for a, b, c in v] + ["f " + " ".join(str(i + 1) for i in face) for face in f]
    path.write_text("\n".join(lines) + "\n")


def _bad_head(kind, v, f):
    if kind == "extra_vertex":
        return np.r_[v, v[:1]], f, "5024 vertices"
    if kind == "nan":
        v = v.copy()
        v[7] = np.nan
        return v, f, "NaN"
    if kind == "empty":
        return np.zeros((0, 3)), np.zeros((0, 3), int), "empty"
    if kind == "quads":
        return v, np.c_[f, f[:, :1]], "quads"
    if kind == "non_manifold":
        f = f.copy()
        f[1] = f[0][[0, 2, 1]]
        return v, f, "manifold"
    if kind == "mirrored":
        return v * [-1, 1, 1], f, "mirrored"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["extra_vertex", "nan", "empty", "quads", "non_manifold", "mirrored"])
@pytest.mark.parametrize("fmt", ["ply", "obj"])
def test_bad_heads_fail_with_one_line(load_head, tmp_path, kind, fmt):
    v, f = load_head("flame_template")
    v, f, needle = _bad_head(kind, v, f)
    head = tmp_path / f"head.{fmt}"
    (_write_ply if fmt == "ply" else _write_obj)(head, v, f)
    out = tmp_path / "rig.npz"
    result = subprocess.run([sys.executable, "-m", "inference", "rig", "--head", str(head), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert needle.lower() in lines[0].lower() and "Traceback" not in result.stderr
    assert not out.exists()


def test_rig_from_obj_matches_ply(load_head, tmp_path):
    """The same head through .obj and through .ply gives the same rig."""
    from inference.meshio import load_mesh
    from inference.rig import build_rig
    v, f = load_head("flame_template")
    _write_obj(tmp_path / "h.obj", v, f)
    a = build_rig(*load_mesh(tmp_path / "h.obj"))
    b = build_rig(v, f)
    np.testing.assert_allclose(a.basis, b.basis, atol=1e-6)
