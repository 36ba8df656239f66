"""Read triangle meshes from .obj and .ply (ascii, binary little/big endian) with numpy only.

``load_mesh(path) -> (vertices float64 [V,3], faces int64 [F,3])``. A mesh whose polygons are
not all triangles comes back with ``faces`` as an int64 [F,n] array when every polygon has n
corners, or as an object array of index arrays when the sizes are mixed; the rig refuses both
with a message that names the polygon size (a quad-remeshed head is a common mistake).
"""
import os

import numpy as np

from .errors import RigError

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def load_mesh(path):
    """Return ``(vertices, faces)`` of the mesh file at ``path`` (.obj or .ply)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise RigError(f"head mesh not found: {path}; give the path of an .obj or .ply file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".obj":
            vertices, polygons = _read_obj(path)
        elif ext == ".ply":
            vertices, polygons = _read_ply(path)
        else:
            raise RigError(f"{os.path.basename(path)}: unsupported mesh format '{ext}'; export the head as .obj or .ply")
    except RigError:
        raise
    except (ValueError, IndexError, UnicodeDecodeError, KeyError) as exc:
        raise RigError(f"{os.path.basename(path)} could not be read ({exc}); re-export it as .obj or binary .ply") from None
    return np.asarray(vertices, np.float64).reshape(-1, 3), _pack_faces(polygons)


def _pack_faces(polygons):
    """[F,n] int64 when all polygons have n corners, else an object array of index arrays."""
    if isinstance(polygons, np.ndarray) and polygons.dtype != object:
        return polygons.astype(np.int64).reshape(len(polygons), -1)
    sizes = {len(p) for p in polygons}
    if not polygons:
        return np.zeros((0, 3), np.int64)
    if len(sizes) == 1:
        return np.asarray(polygons, np.int64).reshape(len(polygons), -1)
    out = np.empty(len(polygons), object)
    for i, p in enumerate(polygons):
        out[i] = np.asarray(p, np.int64)
    return out


def _read_obj(path):
    vertices, polygons = [], []
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("v "):
                vertices.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("f "):
                corners = [int(t.split("/")[0]) for t in line.split()[1:]]
                # OBJ indices are 1-based; negative ones count back from the latest vertex
                polygons.append([c - 1 if c > 0 else len(vertices) + c for c in corners])
    return np.asarray(vertices, np.float64).reshape(-1, 3), polygons


def _read_ply_header(handle):
    if handle.readline().strip() != b"ply":
        raise RigError(f"{os.path.basename(handle.name)} is not a PLY file (no 'ply' magic line)")
    fmt, elements = None, []
    while True:
        line = handle.readline()
        if not line:
            raise ValueError("PLY header has no end_header")
        words = line.decode("ascii", "replace").split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            fmt = words[1]
        elif words[0] == "element":
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            if words[1] == "list":
                elements[-1][2].append((words[4], _PLY_TYPES[words[2]], _PLY_TYPES[words[3]]))
            else:
                elements[-1][2].append((words[2], _PLY_TYPES[words[1]], None))
        elif words[0] == "end_header":
            return fmt, elements


def _read_ply(path):
    with open(path, "rb") as handle:
        fmt, elements = _read_ply_header(handle)
        body = handle.read()
    if fmt == "ascii":
        return _read_ply_ascii(body, elements)
    if fmt not in ("binary_little_endian", "binary_big_endian"):
        raise ValueError(f"unknown PLY format {fmt}")
    order = "<" if fmt == "binary_little_endian" else ">"
    offset, vertices, polygons = 0, None, []
    for name, count, props in elements:
        if all(p[2] is None for p in props):
            dtype = np.dtype([(p[0], order + p[1]) for p in props])
            table = np.frombuffer(body, dtype, count, offset)
            offset += dtype.itemsize * count
            if name == "vertex":
                vertices = np.stack([table[a].astype(np.float64) for a in "xyz"], 1)
            continue
        table, offset = _read_binary_lists(body, offset, count, props, order)
        if name == "face":
            polygons = table
    if vertices is None:
        raise ValueError("PLY has no vertex element")
    return vertices, polygons


def _read_binary_lists(body, offset, count, props, order):
    """Read an element with list properties; fast path when every list has the same length."""
    if len(props) == 1 and count:
        _, count_type, item_type = props[0]
        first = int(np.frombuffer(body, order + count_type, 1, offset)[0])
        dtype = np.dtype([("n", order + count_type), ("i", order + item_type, (first,))])
        if offset + dtype.itemsize * count <= len(body):
            table = np.frombuffer(body, dtype, count, offset)
            if np.all(table["n"] == first):
                return table["i"].astype(np.int64), offset + dtype.itemsize * count
    lists = []
    for _ in range(count):
        for name, base, item in props:
            if item is None:
                offset += np.dtype(base).itemsize
                continue
            n = int(np.frombuffer(body, order + base, 1, offset)[0])
            offset += np.dtype(base).itemsize
            values = np.frombuffer(body, order + item, n, offset)
            offset += values.nbytes
            if name in ("vertex_indices", "vertex_index"):
                lists.append(values.astype(np.int64))
    return lists, offset


def _read_ply_ascii(body, elements):
    lines = iter(body.decode("ascii", "replace").splitlines())
    vertices, polygons = None, []
    for name, count, props in elements:
        rows = [next(lines).split() for _ in range(count)]
        if name == "vertex":
            columns = [p[0] for p in props]
            table = np.asarray(rows, np.float64).reshape(count, len(columns))
            vertices = table[:, [columns.index(a) for a in "xyz"]]
        elif name == "face":
            for row in rows:
                n = int(row[0])
                polygons.append([int(t) for t in row[1:1 + n]])
    if vertices is None:
        raise ValueError("PLY has no vertex element")
    return vertices, polygons
