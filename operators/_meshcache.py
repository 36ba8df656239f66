"""Where mesh caches go, and the Mesh Cache modifier that plays them.

Caches go to ``//parley/`` next to a saved .blend; for an unsaved file to the extension's user
folder (``bpy.utils.extension_path_user``), or the system temp folder when Parley was loaded from a
plain folder. Existing files are never replaced: a take gets ``<audio>.pc2``, ``<audio>_2.pc2``, ...
The .pc2 is first written to a hidden staging file in the same folder, so the final rename is atomic.
"""
import os
import tempfile

import bpy

from ..inference.errors import ParleyError
from ._runtime import ROOT_PACKAGE

MODIFIER_NAME = "Parley cache"


def cache_folder(cache_dir=""):
    """-> (absolute folder, how to describe it to the user)."""
    if cache_dir:
        return os.path.normpath(bpy.path.abspath(cache_dir)), "the chosen cache folder"
    if bpy.data.filepath:
        return os.path.normpath(bpy.path.abspath("//parley")), "//parley/ next to the .blend"
    try:
        folder = bpy.utils.extension_path_user(ROOT_PACKAGE, path="caches", create=True)
        return folder, "Parley's user folder (the .blend is not saved)"
    except (ValueError, AttributeError):
        return os.path.join(tempfile.gettempdir(), "parley"), "the temp folder (the .blend is not saved)"


def missing_folders(folder):
    """The folders that do not exist yet on the way to ``folder``, deepest first."""
    missing = []
    while folder and not os.path.exists(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return missing


def remove_if_empty(folders):
    for folder in folders:  # deepest first
        try:
            os.rmdir(folder)
        except OSError:
            pass


def check_writable(folder):
    """Raise ParleyError when the folder cannot be created or written to; leaves no trace either way."""
    created = missing_folders(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".parley-probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise ParleyError(f"cannot write the mesh cache into {folder} ({exc.strerror or exc}); "
                          "save the .blend in a writable folder or choose another cache folder") from None
    finally:
        remove_if_empty(created)


def unique_path(folder, stem):
    safe = "".join(ch if ch not in '<>:"/\\|?*' else "_" for ch in stem).strip() or "take"
    path = os.path.join(folder, safe + ".pc2")
    n = 2
    while os.path.exists(path):
        path = os.path.join(folder, f"{safe}_{n}.pc2")
        n += 1
    return path


def staging_path(final):
    folder, name = os.path.split(final)
    return os.path.join(folder, f".{name}.parley-staging")


def normal_permissions(path):
    """The staging file comes from mkstemp (owner-only); a finished cache gets the usual umask modes."""
    if os.name == "posix":
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(path, 0o666 & ~mask)


def blend_path(path):
    """A path as the modifier should store it: relative to a saved .blend when possible."""
    if bpy.data.filepath:
        try:
            return bpy.path.relpath(path)
        except ValueError:  # another drive on Windows
            return path
    return path


def parley_modifiers(obj):
    return [m for m in obj.modifiers if m.type == "MESH_CACHE" and m.name.startswith(MODIFIER_NAME)]


def add_modifier(obj, path, start_frame):
    """A Mesh Cache modifier playing ``path`` from ``start_frame`` at the scene's frame rate."""
    mod = obj.modifiers.new(MODIFIER_NAME, "MESH_CACHE")
    configure(mod, path, start_frame)
    return mod


def configure(mod, path, start_frame):
    mod.cache_format = "PC2"
    mod.filepath = blend_path(path)
    mod.time_mode = "FRAME"  # one cache sample per scene frame, written at the scene's rate
    mod.play_mode = "SCENE"
    mod.frame_start = float(start_frame)
    mod.frame_scale = 1.0
    mod.deform_mode = "OVERWRITE"
    mod.interpolation = "LINEAR"
    mod.forward_axis, mod.up_axis = "POS_Y", "POS_Z"  # positions are already in the object's own space
    mod.factor = 1.0
