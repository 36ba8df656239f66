"""The demo character that ships: MakeHuman's head with ARKit and viseme shapes (no bpy).

``load_demo_character() -> Character``: six meshes (head, eyeLeft, eyeRight, teeth, tongue, eyelashes),
each with its own vertices, quads and the shape deltas that move it, read from
``assets/makehuman_head/character.npz`` (written by ``scripts/make_demo_character.py``; the format
is in that script's docstring, the licences beside the file).

Coordinates are MakeHuman's, in metres: +Y up, the face looks down +Z, +X is the character's left
(glTF's convention too). Shape names keep the sources' spelling (``eyeBlinkLeft``, ``jawOpen``,
``viseme_PP``); :func:`inference.arkit.canonical_name` maps the ARKit ones onto Parley's curves.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ParleyError

DEMO_CHARACTER = Path(__file__).resolve().parents[1] / "assets" / "makehuman_head" / "character.npz"
DELTA_UNIT_M = 1e-4  # the int16 deltas' unit (see scripts/make_demo_character.py)
LICENCE_FILES = ("LICENSE.ASSETS.makehuman.md", "LICENSE.targets-MIT")


@dataclass
class CharacterMesh:
    name: str
    vertices: np.ndarray            # [V,3] float32 metres
    faces: np.ndarray               # [F,4] int32 quads
    deltas: dict = field(default_factory=dict)  # {shape name: [V,3] float32 offset at weight 1}

    def shaped(self, weights):
        """Vertices with the given {shape name: weight} added linearly (names this mesh lacks are ignored)."""
        out = self.vertices.astype(np.float32, copy=True)
        for name, weight in weights.items():
            if name in self.deltas and weight:
                out += np.float32(weight) * self.deltas[name]
        return out


@dataclass
class Character:
    name: str
    meshes: tuple                   # CharacterMesh, head first
    shape_names: tuple              # every shape of the character, whichever mesh it moves
    folder: Path

    def mesh(self, name):
        for mesh in self.meshes:
            if mesh.name == name:
                return mesh
        raise KeyError(f"{self.name} has no mesh '{name}' (it has {', '.join(m.name for m in self.meshes)})")


def load_character(path):
    """Read a character.npz (the format of scripts/make_demo_character.py). Raises ParleyError."""
    path = Path(os.fspath(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            shapes = tuple(str(s) for s in data["shapes"])
            meshes = tuple(_mesh(data, str(name), shapes) for name in data["meshes"])
    except (OSError, KeyError, ValueError) as exc:
        raise ParleyError(f"{path} is not a Parley character ({exc}); "
                          "rebuild it with 'python scripts/make_demo_character.py'") from None
    return Character(name=path.parent.name, meshes=meshes, shape_names=shapes, folder=path.parent)


def _mesh(data, name, shapes):
    vertices = np.asarray(data[f"{name}.vertices"], np.float32)
    ptr = data[f"{name}.shape_ptr"]
    index = data[f"{name}.shape_index"].astype(np.int64)
    delta = data[f"{name}.shape_delta"].astype(np.float32) * np.float32(DELTA_UNIT_M)
    if ptr.shape != (len(shapes) + 1,) or ptr[-1] != len(index) or index.max(initial=0) >= len(vertices):
        raise ValueError(f"mesh {name}: shape table does not match its {len(vertices)} vertices")
    deltas = {}
    for s, shape in enumerate(shapes):
        lo, hi = int(ptr[s]), int(ptr[s + 1])
        if hi > lo:
            dense = np.zeros_like(vertices)
            dense[index[lo:hi]] = delta[lo:hi]
            deltas[shape] = dense
    return CharacterMesh(name=name, vertices=vertices, faces=np.asarray(data[f"{name}.faces"], np.int32),
                         deltas=deltas)


def load_demo_character():
    """The shipped MakeHuman head (assets/makehuman_head). Raises ParleyError when the asset is missing."""
    if not DEMO_CHARACTER.is_file():
        raise ParleyError(f"the demo character {DEMO_CHARACTER} is missing; restore assets/makehuman_head "
                          "from the repository (or rebuild it with 'python scripts/make_demo_character.py')")
    return load_character(DEMO_CHARACTER)
