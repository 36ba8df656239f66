"""What Parley sees in the active object, in words, cheaply enough to run on every redraw."""
from ..inference.arkit import RIG_NAMES, match_names
from ..inference.visemes import find_visemes

FLAME_VERTICES = 5023
FLAME_TRIANGLES = 9976
RIG_PROPERTY = "parley_rig"  # on the Key datablock: JSON {"correctives": [[name, source_a, source_b], ...]}

NONE, NOT_MESH, EDIT_MODE, RIG_READY, ARKIT, VISEMES, FLAME, NOT_FLAME = (
    "NONE", "NOT_MESH", "EDIT_MODE", "RIG_READY", "ARKIT", "VISEMES", "FLAME", "NOT_FLAME")
USABLE = (RIG_READY, ARKIT, VISEMES, FLAME)


def arkit_keys(obj):
    """{canonical ARKit name: shape key name} for the object's shape keys (any common spelling), in rig order."""
    key = obj.data.shape_keys if obj and obj.type == "MESH" else None
    if key is None:
        return {}
    return match_names(key.key_blocks.keys()[1:], RIG_NAMES)


def has_parley_rig(obj):
    key = obj.data.shape_keys if obj and obj.type == "MESH" else None
    return bool(key is not None and RIG_PROPERTY in key.keys())


def is_flame(obj):
    mesh = obj.data
    return len(mesh.vertices) == FLAME_VERTICES and len(mesh.polygons) == FLAME_TRIANGLES


def describe(obj):
    """-> (kind, one line for the panel)."""
    if obj is None:
        return NONE, "no active object: select the head"
    if obj.type != "MESH":
        return NOT_MESH, f"{obj.name} is a {obj.type.lower().replace('_', ' ')}, not a mesh: select the head mesh"
    if obj.mode == "EDIT":
        return EDIT_MODE, f"{obj.name} is in Edit Mode: press Tab for Object Mode"
    keys = arkit_keys(obj)
    if has_parley_rig(obj) and len(keys) == len(RIG_NAMES):
        return RIG_READY, "FLAME head, rig ready"
    if keys:
        return ARKIT, f"has ARKit shape keys ({len(keys)} of {len(RIG_NAMES)}): will drive them directly"
    visemes = find_visemes(obj.data.shape_keys.key_blocks.keys()[1:]) if obj.data.shape_keys else {}
    if visemes:
        return VISEMES, (f"has {len(visemes)} visemes, no ARKit keys: drives them through Parley's mapping "
                         "(editable: inference/visemes.json, docs/visemes.md)")
    if is_flame(obj):
        return FLAME, "FLAME head: no rig yet (Generate builds it)"
    mesh = obj.data
    return NOT_FLAME, (f"not FLAME topology: {len(mesh.vertices)} vertices, {len(mesh.polygons)} faces "
                       f"(FLAME has {FLAME_VERTICES} and {FLAME_TRIANGLES}); no ARKit shape keys or visemes")


def usable(obj):
    """(ok, reason): whether Generate can work on this object."""
    kind, text = describe(obj)
    return kind in USABLE, text
