"""The head rotation of a take on a bone, the way Blender users edit it.

A FLAME head gets an armature built at run time (``build_armature``): a neck bone and a head bone
where ``inference.head_rig.bone_layout`` puts them, vertex groups ``head``/``neck`` with the head
rig's weights (the neck's open boundary at weight 0: it stays put), an Armature modifier, and the
armature object parented to the head with an identity parent inverse, so it shares the head's
transform wherever the head goes. Its head bone is keyed in 'ZXY' Euler (x pitch, y yaw, z roll:
``head_rig``'s convention, so the three curves read as nod, turn and tilt). A character with an
armature of its own gets its head bone keyed with ``head_rig.bone_quaternions`` (any rest
orientation). Either way the keys go into a new Action on the armature object under the same
"existing animation" rules as the shape keys, every change registered on the take's ``Rollback``.
"""
import bpy
import numpy as np

from ..inference.head_rig import bone_layout
from . import _commit, _shapekeys
from ._blender import slotted_actions

ARMATURE_MODIFIER = "Parley Head"
HEAD, NECK = "head", "neck"
OWNER = "parley_head_of"        # on the armature object Parley built: the name of the head it moves
LINEAR = 1


def parley_armature(obj):
    """The armature Parley built for this head on an earlier take (through its modifier), or None."""
    for mod in obj.modifiers:
        if mod.type == "ARMATURE" and mod.name.startswith(ARMATURE_MODIFIER) and mod.object is not None \
                and OWNER in mod.object.keys():
            return mod.object
    return None


def own_armature(obj):
    """The character's own armature (an Armature modifier's object or an armature parent), or None."""
    for mod in obj.modifiers:
        if mod.type == "ARMATURE" and mod.object is not None and OWNER not in mod.object.keys():
            return mod.object
    parent = obj.parent
    return parent if parent is not None and parent.type == "ARMATURE" and OWNER not in parent.keys() else None


# -- undo steps -------------------------------------------------------------------------------

def remove_armature(arm):
    data = arm.data
    bpy.data.objects.remove(arm)
    if data.users == 0:
        bpy.data.armatures.remove(data)


def remove_vertex_groups(obj, names):
    for name in names:
        group = obj.vertex_groups.get(name)
        if group is not None:
            obj.vertex_groups.remove(group)


def set_rotation_mode(pose_bone, mode):
    pose_bone.rotation_mode = mode


def move_modifier(obj, name, index):
    if name in obj.modifiers:
        obj.modifiers.move(obj.modifiers.find(name), min(index, len(obj.modifiers) - 1))


def clear_object_animation(ob):
    ob.animation_data_clear()


# -- building ---------------------------------------------------------------------------------

def build_armature(obj, rig, rollback):
    """Neck + head bones, weights, modifier for a FLAME head; -> the armature object."""
    data = bpy.data.armatures.new(f"{obj.name} head")
    arm = bpy.data.objects.new(f"{obj.name} head", data)
    rollback.add(remove_armature, arm)
    arm[OWNER] = obj.name
    for collection in obj.users_collection or (bpy.context.scene.collection,):
        collection.objects.link(arm)
    arm.parent = obj                       # identity parent inverse: the head's transform, wherever it goes
    arm.show_in_front = True
    data.display_type = "STICK"
    _edit_bones(arm, bone_layout(rig))
    _skin(obj, rig.weights, rollback)
    mod = obj.modifiers.new(ARMATURE_MODIFIER, "ARMATURE")
    rollback.add(_commit.remove_modifier, obj, mod)
    mod.object = arm
    return arm


def _edit_bones(arm, layout):
    view_layer = bpy.context.view_layer
    active = view_layer.objects.active
    view_layer.objects.active = arm
    try:
        bpy.ops.object.mode_set(mode="EDIT")
        bones = arm.data.edit_bones
        neck = bones.new(NECK)
        neck.head, neck.tail = layout["head"] - (layout["tail"] - layout["head"]), layout["head"]
        head = bones.new(HEAD)
        head.head, head.tail = layout["head"], layout["tail"]
        head.align_roll(layout["z_axis"])
        neck.align_roll(layout["z_axis"])
        head.parent = neck
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = active


def _skin(obj, weights, rollback):
    w = np.asarray(weights, np.float64)
    rollback.add(remove_vertex_groups, obj, (HEAD, NECK))
    for name, values in ((HEAD, w), (NECK, 1.0 - w)):
        group = obj.vertex_groups.new(name=name)
        used = np.flatnonzero(values > 0.0)
        levels, which = np.unique(values[used], return_inverse=True)
        for k, level in enumerate(levels):   # one call per distinct weight: most of the head is exactly 1
            group.add(used[which == k].tolist(), float(level), "REPLACE")


def put_first(obj, rollback):
    """The Parley Armature modifier first in the stack: before a Parley cache (which overwrites it, baked)."""
    index = obj.modifiers.find(ARMATURE_MODIFIER)
    if index > 0:
        rollback.add(move_modifier, obj, ARMATURE_MODIFIER, index)
        obj.modifiers.move(index, 0)


# -- keys ---------------------------------------------------------------------------------------

def key_rotation(arm, bone_name, values, start, name, push_to_nla, existing, rollback):
    """A new Action on the armature keying the bone's rotation: values [T, 3] 'ZXY' Euler radians or
    [T, 4] quaternions (w, x, y, z); -> what was made, in words."""
    pose_bone = arm.pose.bones[bone_name]
    mode = "ZXY" if values.shape[1] == 3 else "QUATERNION"
    if pose_bone.rotation_mode != mode:
        rollback.add(set_rotation_mode, pose_bone, pose_bone.rotation_mode)
        pose_bone.rotation_mode = mode
    if arm.animation_data is None:
        arm.animation_data_create()
        rollback.add(clear_object_animation, arm)
    ad = arm.animation_data
    action = bpy.data.actions.new(name)
    rollback.add(_commit.remove_action, action)
    slot = action.slots.new(id_type="OBJECT", name=arm.name) if slotted_actions() else None
    prop = "rotation_euler" if mode == "ZXY" else "rotation_quaternion"
    path = f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"].{prop}'
    _write_fcurves(action, slot, path, bone_name, values, start)
    return _place(ad, action, slot, push_to_nla, existing, rollback, start)


def _write_fcurves(action, slot, path, group, values, start):
    if slot is not None:
        from bpy_extras import anim_utils
        fcurves = anim_utils.action_ensure_channelbag_for_slot(action, slot).fcurves
        kw = {"group_name": group}
    else:
        fcurves, kw = action.fcurves, {"action_group": group}
    n = values.shape[0]
    co = np.empty((n, 2), np.float32)
    co[:, 0] = start + np.arange(n, dtype=np.float32)
    interp = np.full(n, LINEAR, np.int32)
    for index in range(values.shape[1]):
        fc = fcurves.new(path, index=index, **kw)
        fc.keyframe_points.add(n)
        co[:, 1] = values[:, index]
        fc.keyframe_points.foreach_set("co", co.ravel())
        fc.keyframe_points.foreach_set("interpolation", interp)
        fc.update()


def _place(ad, action, slot, push_to_nla, existing, rollback, start):
    """Assign or push the new Action by the existing-animation rules (as the shape keys' Action)."""
    if push_to_nla:
        track = _shapekeys.push_to_nla(ad, action, slot, f"Parley {action.name}", start)
        rollback.add(_commit.remove_track, ad, track)
        return f"head Action '{action.name}' on NLA track '{track.name}'"
    old, old_slot = ad.action, getattr(ad, "action_slot", None)
    if old is not None and existing == "KEEP":
        kept = _shapekeys.push_to_nla(ad, old, old_slot, f"Kept {old.name}", old.frame_range[0], mute=True)
        rollback.add(_commit.remove_track, ad, kept)
    elif old is not None:  # REPLACE: the old Action stays in the file
        rollback.add(_commit.set_fake_user, old, old.use_fake_user)
        old.use_fake_user = True
    rollback.add(_shapekeys.assign, ad, old, old_slot)
    _shapekeys.assign(ad, action, slot)
    return f"head Action '{action.name}'"
