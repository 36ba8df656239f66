"""Shape keys, drivers and Actions: the rig as ARKit-named shape keys, and takes as keyed F-curves.

All bulk data moves through foreach_get/foreach_set. Correctives become shape keys whose value is
driven by ``a*b`` of their two source keys (Blender's simple-expression evaluator runs it without
Python, so it works with auto-run scripts off). Actions are written with the slotted-action API on
Blender 4.4+ and with ``Action.fcurves`` on 4.2/4.3. Data paths quote the user's key names with
``bpy.utils.escape_identifier`` (a name may hold quotes or backslashes).
"""
import json

import bpy
import numpy as np

from ..inference.errors import RigError
from ..inference.rig import Rig
from ._blender import slotted_actions
from ._target import RIG_PROPERTY

LINEAR = 1  # Keyframe.interpolation enum index ('CONSTANT', 'LINEAR', 'BEZIER', ...)


def value_path(key_name):
    """The data path of a shape key's value on its Key, for any key name."""
    return f'key_blocks["{bpy.utils.escape_identifier(key_name)}"].value'


def key_name_of(data_path):
    """The shape key name a ``value_path`` names, or None for other data paths."""
    head, tail = 'key_blocks["', '"].value'
    if not (data_path.startswith(head) and data_path.endswith(tail)):
        return None
    return bpy.utils.unescape_identifier(data_path[len(head):-len(tail)])


def vertices(obj):
    mesh = obj.data
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    key = mesh.shape_keys
    if key is not None:  # the reference key is the rest shape the keys are relative to
        key.reference_key.data.foreach_get("co", co)
    else:
        mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def triangles(obj):
    """[F, 3] int64, or RigError when the mesh has faces that are not triangles."""
    mesh = obj.data
    counts = np.empty(len(mesh.polygons), np.int32)
    mesh.polygons.foreach_get("loop_total", counts)
    if counts.size == 0 or np.any(counts != 3):
        raise RigError(f"{obj.name} has {int(np.sum(counts != 3))} faces that are not triangles; "
                       "FLAME heads are all triangles: import the original FLAME mesh")
    tris = np.empty(counts.size * 3, np.int64)
    mesh.polygons.foreach_get("vertices", tris)
    return tris.reshape(-1, 3)


def _set_co(kb, positions):
    kb.data.foreach_set("co", np.ascontiguousarray(positions, np.float32).ravel())


def create_rig_keys(obj, rig):
    """Add the rig's shape keys (+ corrective drivers); -> the names added (for rollback)."""
    added = []
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
        added.append(obj.data.shape_keys.key_blocks[0].name)
    key = obj.data.shape_keys
    existing = set(key.key_blocks.keys())
    clash = [n for n in (*rig.names, *rig.corrective_names) if n in existing]
    if clash:
        raise RigError(f"{obj.name} already has a shape key named '{clash[0]}'; rename or delete it, "
                       "or use Rebuild rig")
    neutral = rig.neutral
    for k, name in enumerate(rig.names):
        kb = obj.shape_key_add(name=name, from_mix=False)
        added.append(kb.name)
        _set_co(kb, neutral + rig.basis[k])
        kb.slider_min, kb.slider_max = 0.0, 1.0
    for c, name in enumerate(rig.corrective_names):
        kb = obj.shape_key_add(name=name, from_mix=False)
        added.append(kb.name)
        _set_co(kb, neutral + rig.correctives[c])
        a, b = (rig.names[i] for i in rig.corrective_pairs[c])
        _add_product_driver(key, name, a, b)
    key[RIG_PROPERTY] = json.dumps({"version": 1, "correctives": [
        [n, rig.names[p[0]], rig.names[p[1]]] for n, p in zip(rig.corrective_names, rig.corrective_pairs)]})
    obj.data.update()
    return added


def _add_product_driver(key, name, a, b):
    fcurve = key.driver_add(value_path(name))
    driver = fcurve.driver
    driver.type = "SCRIPTED"
    for var_name, source in (("a", a), ("b", b)):
        var = driver.variables.new()
        var.name, var.type = var_name, "SINGLE_PROP"
        target = var.targets[0]
        target.id_type, target.id = "KEY", key
        target.data_path = value_path(source)
    driver.expression = "a*b"


def remove_rig_keys(obj):
    """Remove the keys (and drivers) a previous Build rig added; the Basis and other keys stay."""
    key = obj.data.shape_keys
    if key is None or RIG_PROPERTY not in key.keys():
        return
    info = json.loads(key[RIG_PROPERTY])
    correctives = [c[0] for c in info.get("correctives", [])]
    from ..inference.arkit import RIG_NAMES
    for name in correctives:
        try:
            key.driver_remove(value_path(name))
        except TypeError:
            pass
    for name in (*correctives, *RIG_NAMES):
        kb = key.key_blocks.get(name)
        if kb is not None:
            obj.shape_key_remove(kb)
    del key[RIG_PROPERTY]


def rig_from_keys(obj, key_names):
    """A Rig over the object's own shape keys (driven keys + Parley correctives), for the mesh cache.

    Decoding it gives what Blender's shape-key blend shows for the same values, so both modes agree.
    key_names: the driven shape keys (a ShapeTarget's shapes); they are the rig's names.
    """
    key = obj.data.shape_keys
    neutral = vertices(obj)
    flat = np.empty(neutral.size, np.float32)

    def offset(name):
        kb = key.key_blocks[name]
        kb.data.foreach_get("co", flat)
        ref = kb.relative_key
        base = neutral.ravel()
        if ref != key.reference_key:
            base = np.empty_like(flat)
            ref.data.foreach_get("co", base)
        return (flat - base).reshape(-1, 3)

    names = list(key_names)
    basis = np.stack([offset(n) for n in names]) if names else np.zeros((0,) + neutral.shape, np.float32)
    corr_names, corr, pairs = [], [], []
    if RIG_PROPERTY in key.keys():
        index = {n: i for i, n in enumerate(names)}
        for name, a, b in json.loads(key[RIG_PROPERTY]).get("correctives", []):
            if name in key.key_blocks and a in index and b in index:
                corr_names.append(name)
                corr.append(offset(name))
                pairs.append((index[a], index[b]))
    if not corr:  # Rig needs at least one corrective to infer shapes: a zero one changes nothing
        corr_names, corr, pairs = ["_none"], [np.zeros_like(neutral)], [(0, 0)]
    return Rig(names, neutral, basis, corr_names, np.stack(corr), np.asarray(pairs, np.int64).reshape(-1, 2))


# -- actions ---------------------------------------------------------------------------------

def new_action(name, key):
    """A new, empty Action for a Key; -> (action, its slot for the Key on Blender 4.4+, else None)."""
    action = bpy.data.actions.new(name)
    slot = action.slots.new(id_type="KEY", name=key.name) if slotted_actions() else None
    return action, slot


def key_fcurves(action, slot, key_names, weights, start_frame):
    """One linear F-curve per shape key: key_names[k] follows weights[:, k] from start_frame on."""
    if slot is not None:
        from bpy_extras import anim_utils
        fcurves = anim_utils.action_ensure_channelbag_for_slot(action, slot).fcurves
        group = {"group_name": "Parley"}
    else:
        fcurves = action.fcurves
        group = {"action_group": "Parley"}
    frames = start_frame + np.arange(weights.shape[0], dtype=np.float32)
    co = np.empty((weights.shape[0], 2), np.float32)
    co[:, 0] = frames
    interp = np.full(weights.shape[0], LINEAR, np.int32)
    for k, key_name in enumerate(key_names):
        fc = fcurves.new(value_path(key_name), **group)
        fc.keyframe_points.add(weights.shape[0])
        co[:, 1] = weights[:, k]
        fc.keyframe_points.foreach_set("co", co.ravel())
        fc.keyframe_points.foreach_set("interpolation", interp)
        fc.update()


def assign(ad, action, slot):
    ad.action = action
    if slot is not None:
        ad.action_slot = slot


def push_to_nla(ad, action, slot, track_name, start_frame, mute=False):
    track = ad.nla_tracks.new()
    track.name = track_name
    strip = track.strips.new(action.name, int(start_frame), action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    track.mute = mute
    return track


def action_fcurves(action):
    """Every F-curve of an Action, on layered (4.4+) and legacy actions alike."""
    if hasattr(action, "layers") and slotted_actions():
        return [fc for layer in action.layers for strip in layer.strips
                for bag in getattr(strip, "channelbags", ()) for fc in bag.fcurves]
    return list(action.fcurves)
