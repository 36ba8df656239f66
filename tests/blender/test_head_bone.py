"""Bone and mesh cache agree: Blender's Armature modifier with the head rig's bone and weights gives
the vertices of ``head_rig.apply_head_rotation`` to float precision (quaternion and 'ZXY' Euler keys).
Needs the bpy module and ../shared/flame; the extension itself is not installed for this."""
import math

import bpy
import numpy as np

from inference.head_rig import apply_head_rotation, bone_layout, bone_quaternions, build_head_rig
from tests.conftest import YUP_TO_ZUP

YPR = np.array([[14.0, -6.0, 4.0], [-20.0, 12.0, -7.0], [0.0, 25.0, 0.0]])


def _scene(v, f, rig):
    bpy.ops.wm.read_homefile(use_empty=True)
    mesh = bpy.data.meshes.new("head")
    mesh.from_pydata(v.tolist(), [], f.tolist())
    head = bpy.data.objects.new("head", mesh)
    arm = bpy.data.objects.new("rig", bpy.data.armatures.new("rig"))
    for ob in (head, arm):
        bpy.context.scene.collection.objects.link(ob)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    layout = bone_layout(rig)
    root = arm.data.edit_bones.new("root")
    root.head, root.tail = layout["head"] - (layout["tail"] - layout["head"]), layout["head"]
    bone = arm.data.edit_bones.new("head")
    bone.head, bone.tail = layout["head"], layout["tail"]
    bone.align_roll(layout["z_axis"])
    bpy.ops.object.mode_set(mode="OBJECT")
    w = rig.weights.astype(np.float64)
    g_head, g_root = head.vertex_groups.new(name="head"), head.vertex_groups.new(name="root")
    for i in np.flatnonzero(w > 0):
        g_head.add([int(i)], float(w[i]), "REPLACE")
    for i in np.flatnonzero(w < 1):
        g_root.add([int(i)], float(1.0 - w[i]), "REPLACE")
    mod = head.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    return head, arm


def _evaluated(ob):
    deps = bpy.context.evaluated_depsgraph_get()
    deps.update()
    me = ob.evaluated_get(deps).to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    ob.evaluated_get(deps).to_mesh_clear()
    return co.reshape(-1, 3)


def test_bone_and_cache_agree(load_head):
    v, f = load_head()
    v = (10.0 * v @ YUP_TO_ZUP.T + np.array([0.3, -1.0, 2.0])).astype(np.float32).astype(np.float64)
    rig = build_head_rig(v, f)
    head, arm = _scene(v, f, rig)
    pose = arm.pose.bones["head"]
    size = np.ptp(v, axis=0).max()
    cache = apply_head_rotation(v, YPR, rig.weights, rig.pivot, rig.axes)
    for k, q in enumerate(bone_quaternions(YPR, rig.axes, np.array(arm.data.bones["head"].matrix_local))):
        pose.rotation_mode = "QUATERNION"
        pose.rotation_quaternion = q.tolist()
        np.testing.assert_allclose(_evaluated(head), cache[k], atol=2e-6 * size)
        pose.rotation_mode = "ZXY"
        yaw, pitch, roll = YPR[k]
        pose.rotation_euler = (math.radians(pitch), math.radians(yaw), math.radians(roll))
        np.testing.assert_allclose(_evaluated(head), cache[k], atol=2e-6 * size)
    still = _evaluated(head)[rig.neck_loop]
    np.testing.assert_allclose(still, v[rig.neck_loop], atol=1e-6 * size)
