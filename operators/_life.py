"""The Blender side of a living take: what ``parley.generate`` reads before the work (``request``) and
writes after it (``commit``) for head motion, gaze, look-at targets, listening and dialogue.

Where the head rotation goes:

- a FLAME head, shape keys (or both): a bone (``_head_bone.build_armature``, reused on later takes);
  with both, the .pc2 bakes the same rotation and its modifier, after the Armature one, overwrites it:
  the cache on or off shows the same head;
- a FLAME head, mesh cache only: baked into the .pc2's vertices, no armature;
- a character with an armature of its own: its head bone (picked, or found by name) in every mode;
  its cache holds the face only and its Armature modifier turns it;
- anything else: no head rotation (a warning says how to get one); gaze and listening still work.
"""
from dataclasses import dataclass

import bpy
import numpy as np

from ..inference.errors import ParleyError
from ..inference.head_rig import bone_quaternions
from ..inference.life import BLENDER_AXES, HeadFrame, Life
from ..inference.prosody import n_frames_for
from ..inference.take import HEAD_ROTATION
from . import _audio, _head_bone, _meshcache, _shapekeys, _target
from ._bone_names import find_head_bone
from ._life_work import LifeInputs


@dataclass
class HeadPlan:
    kind: str                 # "PARLEY" (our armature: built, or reused) or "BONE" (the character's own)
    armature: object = None   # the armature object (None: build it)
    bone: str = _head_bone.HEAD


def request(op, context, obj, want_keys, want_cache, frames, fps, start, listen_only=False):
    """-> ``LifeInputs`` for the job, or None when nothing beyond the bare take is asked for.

    ``frames``: the take's length at ``fps`` from frame ``start``; raises ParleyError in the user's words."""
    life = Life(float(op.head_motion), float(op.gaze), listen_only=listen_only, frames=int(frames))
    if op.listen_audio:
        path = _audio.resolve_source(context, op.listen_audio, "")[0]
        life.heard16k = _audio.load_speech(path)[0]
        frames = max(frames, n_frames_for(life.heard16k.shape[0], fps))
    if not life.changes_anything:
        return None
    inputs = LifeInputs(life)
    flame = _target.is_flame(obj)
    if flame:
        inputs.head_source = (_shapekeys.vertices(obj).astype(np.float64), _shapekeys.triangles(obj))
    own = _head_bone.own_armature(obj)
    if life.head_motion:
        if own is not None or op.head_bone:
            inputs.plan = _own_bone(op, obj, own)
        elif flame:
            inputs.bake = want_cache
            if want_keys:
                inputs.plan = HeadPlan("PARLEY", _head_bone.parley_armature(obj))
        else:
            inputs.warnings.append(f"{obj.name} has no head bone: the head does not move (give it an armature with "
                                   "a head bone, or use a FLAME head)")
        _refuse_existing(op, obj, inputs.plan)
    if not flame:
        life.frame = _frame_of(obj, inputs.plan)
    if op.look_at:
        life.look_at = _look_points(context, obj, op.look_at, frames, start)
    return inputs


def _own_bone(op, obj, arm):
    if arm is None:
        raise ParleyError(f"{obj.name} has no armature, so its head bone '{op.head_bone}' cannot be used; "
                          "clear Head bone to let Parley add one")
    bone = find_head_bone(arm.data.bones.keys(), op.head_bone)
    if bone is None:
        what = f"has no bone '{op.head_bone}'" if op.head_bone else "has no bone named like a head"
        raise ParleyError(f"{arm.name} {what}: pick the head bone in Life > Head bone")
    return HeadPlan("BONE", arm, bone)


def _refuse_existing(op, obj, plan):
    """Existing animation = Stop holds for the armature's Action too; a Parley armature's vertex groups
    must not clash with the head's own."""
    if plan is None:
        return
    if plan.kind == "PARLEY" and plan.armature is None:
        clash = [n for n in (_head_bone.HEAD, _head_bone.NECK) if n in obj.vertex_groups]
        if clash:
            raise ParleyError(f"{obj.name} already has a vertex group '{clash[0]}'; rename it, or set Head motion to "
                              "0 (Parley's head bone needs the groups 'head' and 'neck')")
    arm = plan.armature
    ad = arm.animation_data if arm is not None else None
    if op.existing == "STOP" and not op.push_to_nla and ad is not None and ad.action is not None:
        raise ParleyError(f"{arm.name} already plays the Action '{ad.action.name}'; set Existing animation to Keep "
                          "or Replace, or tick Push to NLA")


def _frame_of(obj, plan):
    """A head frame for a character that is not FLAME: modelled facing -Y, Z up; eyes a little above the
    middle of its bounding box; turning about its head bone's head when it has one."""
    co = _shapekeys.vertices(obj).astype(np.float64)
    lo, hi = co.min(0), co.max(0)
    centre = (lo + hi) / 2
    eyes = centre + np.array([0.0, 0.0, 0.15 * (hi[2] - lo[2])])
    pivot = np.array([centre[0], centre[1], lo[2]])
    if plan is not None and plan.kind == "BONE":
        to_mesh = obj.matrix_world.inverted() @ plan.armature.matrix_world
        pivot = np.array(to_mesh @ plan.armature.data.bones[plan.bone].head_local)
    return HeadFrame(pivot, BLENDER_AXES.copy(), eyes)


def _animated(ob):
    while ob is not None:
        ad = ob.animation_data
        if ad is not None and (ad.action is not None or len(ad.nla_tracks) or len(ad.drivers)) or ob.constraints:
            return True
        ob = ob.parent
    return False


def _look_points(context, obj, name, frames, start):
    """The target's bounding-box centre in the head mesh's coordinates: [3], or [T, 3] when either moves."""
    target = bpy.data.objects.get(name)
    if target is None:
        raise ParleyError(f"Look at: there is no object '{name}'; pick one or clear the field")
    if target == obj:
        raise ParleyError("Look at: the head cannot look at itself; pick another object")

    def point():
        corners = [target.matrix_world @ _vector(c) for c in target.bound_box]
        centre = sum(corners, _vector((0, 0, 0))) / 8.0
        return np.array(obj.matrix_world.inverted() @ centre)

    if not (_animated(target) or _animated(obj)):
        return point()
    scene = context.scene
    current, sub = scene.frame_current, scene.frame_subframe
    points = np.empty((frames, 3))
    try:
        for k in range(frames):
            scene.frame_set(start + k)
            points[k] = point()
    finally:
        scene.frame_set(current, subframe=sub)
    return points


def _vector(values):
    from mathutils import Vector
    return Vector(values)


def commit(take, existing, push_to_nla, rollback):
    """Key the take's head rotation on its bone (see the module docstring); -> what was made, in words."""
    inputs = take.job.inputs.life
    extras = take.job.take.extras if take.job.take is not None else {}
    if inputs is None:
        return []
    take.job.warnings.extend(inputs.warnings)
    plan = inputs.plan
    if plan is None or HEAD_ROTATION not in extras:
        return []
    ypr = np.asarray(extras[HEAD_ROTATION], np.float64)
    obj = take.obj
    if plan.kind == "PARLEY":
        arm = plan.armature or _head_bone.build_armature(obj, inputs.head_rig, rollback)
        values = np.radians(ypr[:, [1, 0, 2]])        # 'ZXY' Euler: x pitch, y yaw, z roll
        message = _head_bone.key_rotation(arm, _head_bone.HEAD, values, take.start, f"{take.stem} head",
                                          push_to_nla, existing, rollback)
        if _meshcache.parley_modifiers(obj):
            _head_bone.put_first(obj, rollback)
        return [message]
    arm = plan.armature
    axes = inputs.head_rig.axes if inputs.head_rig is not None else inputs.life.frame.axes
    to_arm = np.array((arm.matrix_world.inverted() @ obj.matrix_world).to_3x3())
    to_arm /= np.linalg.norm(to_arm, axis=0, keepdims=True)
    rest = np.array(arm.data.bones[plan.bone].matrix_local)
    values = bone_quaternions(ypr, axes, rest, to_arm)
    return [_head_bone.key_rotation(arm, plan.bone, values, take.start, f"{take.stem} {plan.bone}",
                                    push_to_nla, existing, rollback)]
