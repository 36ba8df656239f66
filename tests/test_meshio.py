"""load_mesh reads .obj and .ply (ascii, binary little/big endian) with numpy only."""
import numpy as np
import pytest

from inference.errors import RigError
from inference.meshio import load_mesh

V = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.5]])
F = np.array([[0, 1, 2], [0, 1, 3], [1, 2, 3]])


def _ply(path, fmt, faces=F):
    header = (f"ply\nformat {fmt} 1.0\ncomment made by a test\nelement vertex {len(V)}\nproperty float x\n"
              f"property float y\nproperty float z\nproperty uchar red\nelement face {len(faces)}\n"
              "property list uchar int vertex_indices\nend_header\n").encode()
    if fmt == "ascii":
        body = "".join(f"{a} {b} {c} 7\n" for a, b, c in V) + "".join(
            f"{len(f)} " + " ".join(map(str, f)) + "\n" for f in faces)
        path.write_bytes(header + body.encode())
        return
    order = "<" if fmt == "binary_little_endian" else ">"
    vt = np.zeros(len(V), [("p", order + "f4", 3), ("c", "u1")])
    vt["p"] = V
    body = vt.tobytes() + b"".join(np.array([len(f)], "u1").tobytes() + np.asarray(f, order + "i4").tobytes()
                                   for f in faces)
    path.write_bytes(header + body)


@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian", "binary_big_endian"])
def test_ply_formats(tmp_path, fmt):
    _ply(tmp_path / "m.ply", fmt)
    v, f = load_mesh(tmp_path / "m.ply")
    assert v.dtype == np.float64 and f.dtype == np.int64
    np.testing.assert_allclose(v, V)
    np.testing.assert_array_equal(f, F)


def test_obj_with_slashes_and_negative_indices(tmp_path):
    text = "".join(f"v {a} {b} {c}\n" for a, b, c in V) + "vn 0 0 1\nf 1/1/1 2/2/1 3/3/1\nf -4 -3 -1\nf 2//1 3//1 4//1\n"
    (tmp_path / "m.obj").write_text(text)
    v, f = load_mesh(tmp_path / "m.obj")
    np.testing.assert_allclose(v, V)
    np.testing.assert_array_equal(f, F)


def test_quads_are_kept_for_the_error_message(tmp_path):
    _ply(tmp_path / "q.ply", "binary_little_endian", faces=[[0, 1, 2, 3]])
    _, f = load_mesh(tmp_path / "q.ply")
    assert f.shape == (1, 4)
    _ply(tmp_path / "mixed.ply", "ascii", faces=[[0, 1, 2, 3], [0, 1, 2]])
    _, f = load_mesh(tmp_path / "mixed.ply")
    assert f.dtype == object and len(f) == 2


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(RigError, match="not found"):
        load_mesh(tmp_path / "nope.ply")
    (tmp_path / "x.stl").write_text("solid")
    with pytest.raises(RigError, match="unsupported"):
        load_mesh(tmp_path / "x.stl")
