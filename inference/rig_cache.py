"""Rigs built once per head: cached in the user's cache folder, keyed by the mesh's content (no bpy).

``cached_build_rig(vertices, faces) -> Rig`` returns the ARKit rig of that exact geometry, loading it
from ``<cache>/rigs/<key>.npz`` when present and building (then saving) it otherwise. The key is a
SHA-256 of the vertex and face arrays (dtype, shape and bytes) and of the rig's own source code
(``rig*.py``), so a changed head or a changed rig builder never reuses an old rig.
``cached_build_head_rig(vertices, faces) -> head_rig.HeadRig`` does the same for the head-motion rig
(weights, pivot, axes) in ``<cache>/heads/<key>.npz``, its key over ``head_rig.py`` and the modules it
builds with.

The cache folder is ``$PARLEY_CACHE_DIR``, else ``$XDG_CACHE_HOME/parley``, else ``~/.cache/parley``;
never the extension's folder. Files are written to a temporary name and renamed into place, so a
reader sees a whole rig or none; a file that cannot be read (truncated, corrupted, another format)
is rebuilt and replaced. A cache folder that cannot be written only costs the time: the rig is
built and used, and one line on stderr says why it was not kept.
"""
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import RigError
from .rig import build_rig, load_rig

_RIG_SOURCES = ("rig.py", "rig_face.py", "rig_geometry.py", "rig_regions.py", "rig_shapes.py", "rig_topology.py")
_HEAD_SOURCES = ("head_rig.py", "rig_geometry.py", "rig_topology.py")
_UNREADABLE = (RigError, zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError)


def cache_dir():
    explicit = os.environ.get("PARLEY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "parley"


def _code_version(sources):
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in sources:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def rig_code_version():
    """SHA-256 of the rig builder's source: any change to it is a new cache generation."""
    return _code_version(_RIG_SOURCES)


def head_rig_code_version():
    """SHA-256 of the head-motion rig builder's source."""
    return _code_version(_HEAD_SOURCES)


def rig_key(vertices, faces, code_version=None):
    digest = hashlib.sha256((code_version or rig_code_version()).encode())
    for array in (vertices, faces):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:32]


def cache_path(vertices, faces, folder=None):
    return Path(folder or cache_dir()) / "rigs" / f"{rig_key(vertices, faces)}.npz"


def head_cache_path(vertices, faces, folder=None):
    return Path(folder or cache_dir()) / "heads" / f"{rig_key(vertices, faces, head_rig_code_version())}.npz"


def cached_build_rig(vertices, faces, folder=None):
    """-> (Rig, 'hit' | 'built'). The rig of this geometry, from the cache when a good copy is there."""
    path = cache_path(vertices, faces, folder)
    if path.is_file():
        try:
            rig = load_rig(path)
            if np.array_equal(rig.neutral, np.asarray(vertices, np.float32)):  # the key's own check
                return rig, "hit"
        except _UNREADABLE:
            pass  # an unreadable cache file is rebuilt below and replaced
    rig = build_rig(vertices, faces)
    _store(rig.save, path)
    return rig, "built"


def cached_build_head_rig(vertices, faces, folder=None):
    """-> (head_rig.HeadRig, 'hit' | 'built'), like ``cached_build_rig``."""
    from .head_rig import HeadRig, build_head_rig
    path = head_cache_path(vertices, faces, folder)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                rig = HeadRig(data["weights"], data["pivot"], data["axes"], float(data["units_per_mm"]),
                              data["neck_loop"])
            if rig.weights.shape == (len(vertices),) and rig.weights.dtype == np.float32:
                return rig, "hit"
        except _UNREADABLE:
            pass
    rig = build_head_rig(vertices, faces)

    _store(lambda tmp: np.savez(tmp, weights=rig.weights, pivot=rig.pivot, axes=rig.axes,
                                units_per_mm=np.float64(rig.units_per_mm), neck_loop=rig.neck_loop), path)
    return rig, "built"


def _store(save, path):
    """``save(tmp)`` into a temporary file next to ``path``, renamed into place (a reader sees all or nothing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".rig-", suffix=".npz", dir=path.parent)
        os.close(handle)
        try:
            save(tmp)  # tmp ends in .npz; Rig.save writes tmp + ".tmp.npz" and renames it onto tmp
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except OSError as exc:
        print(f"note: rig not cached in {path.parent} ({exc.strerror or exc}); set PARLEY_CACHE_DIR to a "
              "writable folder to skip rebuilding it next time", file=sys.stderr)
