"""Cut the shipped demo character out of MakeHuman's base mesh and its ARKit/viseme targets.

    python scripts/make_demo_character.py [--src ../shared/characters/makehuman] [--out assets/makehuman_head]

Reads ``base.obj`` (MakeHuman hm08, CC0) and the 67 ``*.target`` files (MIT, one line ``index dx dy dz``
per moved vertex, on base.obj's vertex order) and writes ``character.npz`` plus both licence files
into --out. What is kept, as separate meshes the way game characters are split:

    head       the ``body`` group's faces whose four corners all lie at or above the neck cut
               (y >= NECK_CUT_DM in MakeHuman's decimetres): head and neck, no shoulders
    eyeLeft    ``helper-l-eye``            eyeRight  ``helper-r-eye``
    teeth      ``helper-upper-teeth`` + ``helper-lower-teeth``
    tongue     ``helper-tongue``
    eyelashes  ``helper-l-eyelashes-*`` + ``helper-r-eyelashes-*``

Every target is remapped onto each mesh's own vertex order; a target that moves no vertex of a mesh
is not stored for it. The source targets never move the right eyelashes (the left ones follow the
lids), so each right-eyelash delta is the mirror image (x -> -x) of the left eyelashes' delta in the
mirrored target (``eyeBlinkRight`` <- ``eyeBlinkLeft``; unsided targets mirror themselves); the
eyelash meshes are exact mirror images, vertex for vertex. Deltas of vertices below the neck cut
are dropped (at most 0.1 mm, printed).

character.npz (written with fixed zip timestamps, so the same inputs give the same bytes):
    meshes            [M] mesh names, in the order above
    shapes            [S] target names (the sources' spelling: ``eyeBlinkLeft``, ``viseme_PP``, ...)
    <mesh>.vertices   [V,3] float32 metres, MakeHuman's frame: +Y up, the face looks down +Z, +X is
                      the character's left
    <mesh>.faces      [F,4] int32 quads
    <mesh>.source     [V] int32 vertex index in base.obj (traceability)
    <mesh>.shape_ptr  [S+1] int32: shape s moves rows shape_ptr[s]:shape_ptr[s+1] of
    <mesh>.shape_index  [N] uint16 vertex indices of this mesh, and
    <mesh>.shape_delta  [N,3] int16 offsets in units of DELTA_UNIT_M (0.1 mm: the targets' own
                      resolution of 0.001 dm, so lossless)
"""
import argparse
import io
import re
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NECK_CUT_DM = 5.85
METRES_PER_UNIT = 0.1  # MakeHuman models in decimetres
DELTA_UNIT_M = 1e-4
MESHES = (
    ("head", ("body",)),
    ("eyeLeft", ("helper-l-eye",)),
    ("eyeRight", ("helper-r-eye",)),
    ("teeth", ("helper-upper-teeth", "helper-lower-teeth")),
    ("tongue", ("helper-tongue",)),
    ("eyelashes", ("helper-l-eyelashes-1", "helper-l-eyelashes-2",
                   "helper-r-eyelashes-1", "helper-r-eyelashes-2")),
)
LICENCES = ("LICENSE.ASSETS.makehuman.md", "LICENSE.targets-MIT")


def read_obj(path):
    """-> vertices [V,3] float64, quads [F,4] int, group name per face."""
    vertices, faces, groups, group = [], [], [], None
    with open(path) as handle:
        for line in handle:
            if line.startswith("v "):
                vertices.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f "):
                corners = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
                if len(corners) != 4:
                    raise SystemExit(f"{path}: expected quads, found a face with {len(corners)} corners")
                faces.append(corners)
                groups.append(group)
    return np.array(vertices), np.array(faces, np.int64), np.array(groups)


def read_targets(folder):
    """{name: (index [n] int, delta [n,3] float64 in the obj's units)}, sorted by name."""
    targets = {}
    for path in sorted(folder.glob("*.target")):
        rows = np.loadtxt(path, ndmin=2) if path.stat().st_size else np.zeros((0, 4))
        targets[path.stem] = (rows[:, 0].astype(np.int64), rows[:, 1:4])
    return targets


def mirror_name(name):
    swapped = re.sub(r"Left$", "\0", name)
    swapped = re.sub(r"Right$", "Left", swapped)
    return swapped.replace("\0", "Right")


def select_mesh(vertices, faces, groups, group_names, neck_cut=None):
    """-> (source vertex indices [V], faces [F,4] remapped to them)."""
    keep = np.isin(groups, group_names)
    if neck_cut is not None:
        keep &= (vertices[faces, 1] >= neck_cut).all(axis=1)
    chosen = faces[keep]
    source = np.unique(chosen)
    return source, np.searchsorted(source, chosen).astype(np.int32)


def dense_delta(target, n_vertices):
    index, delta = target
    field = np.zeros((n_vertices, 3))
    field[index] = delta
    return field


def mirrored_right_lashes(vertices, faces, groups, targets):
    """{target: dense delta [V_all,3]} with the right eyelashes filled as mirror images of the left."""
    left = np.unique(faces[np.char.startswith(groups.astype(str), "helper-l-eyelashes")])
    right = np.unique(faces[np.char.startswith(groups.astype(str), "helper-r-eyelashes")])
    mirrored = vertices[left] * [-1.0, 1.0, 1.0]
    distance = np.linalg.norm(vertices[right][:, None] - mirrored[None], axis=2)
    partner = left[distance.argmin(axis=1)]
    if distance.min(axis=1).max() > 1e-6:
        raise SystemExit("the eyelash helpers are not mirror images; cannot mirror their targets")
    fields = {}
    for name, target in targets.items():
        field = dense_delta(target, len(vertices))
        if np.abs(field[right]).max(initial=0.0) == 0.0 and mirror_name(name) in targets:
            source = dense_delta(targets[mirror_name(name)], len(vertices))
            field[right] = source[partner] * [-1.0, 1.0, 1.0]
        fields[name] = field
    return fields


def build(src):
    vertices, faces, groups = read_obj(src / "base.obj")
    targets = read_targets(src)
    fields = mirrored_right_lashes(vertices, faces, groups, targets)
    arrays = {"meshes": np.array([m for m, _ in MESHES]), "shapes": np.array(list(targets))}
    kept = np.zeros(len(vertices), bool)
    for mesh, group_names in MESHES:
        cut = NECK_CUT_DM if mesh == "head" else None
        source, mesh_faces = select_mesh(vertices, faces, groups, group_names, cut)
        kept[source] = True
        ptr, index, delta = [0], [], []
        for name in targets:
            units = np.round(fields[name][source] * METRES_PER_UNIT / DELTA_UNIT_M).astype(np.int64)
            moved = np.flatnonzero(np.abs(units).max(axis=1) > 0)
            index.append(moved)
            delta.append(units[moved])
            ptr.append(ptr[-1] + moved.size)
        arrays[f"{mesh}.vertices"] = (vertices[source] * METRES_PER_UNIT).astype(np.float32)
        arrays[f"{mesh}.faces"] = mesh_faces
        arrays[f"{mesh}.source"] = source.astype(np.int32)
        arrays[f"{mesh}.shape_ptr"] = np.array(ptr, np.int32)
        arrays[f"{mesh}.shape_index"] = np.concatenate(index).astype(np.uint16)
        arrays[f"{mesh}.shape_delta"] = np.concatenate(delta).reshape(-1, 3).astype(np.int16)
        print(f"{mesh}: {len(source)} vertices, {len(mesh_faces)} quads, "
              f"{sum(1 for a in index if a.size)} shapes, {ptr[-1]} moved rows")
    dropped = max((np.linalg.norm(f[~kept], axis=1).max(initial=0.0) for f in fields.values()), default=0.0)
    print(f"largest delta on a vertex left out: {dropped * METRES_PER_UNIT * 1000:.2f} mm")
    return arrays


def write_npz(path, arrays):
    """np.savez_compressed with fixed timestamps: reproducible bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", default=str(REPO / ".." / "shared" / "characters" / "makehuman"))
    p.add_argument("--out", default=str(REPO / "assets" / "makehuman_head"))
    args = p.parse_args(argv)
    src, out = Path(args.src).resolve(), Path(args.out)
    if not (src / "base.obj").is_file():
        raise SystemExit(f"{src / 'base.obj'} not found: give --src the MakeHuman folder")
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / "character.npz", build(src))
    for name in LICENCES:
        shutil.copyfile(src / name, out / name)
    print(f"wrote {out / 'character.npz'} ({(out / 'character.npz').stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
