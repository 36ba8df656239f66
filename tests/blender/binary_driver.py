"""Run inside a real Blender (``blender -b [FILE] --python binary_driver.py -- STEP ARGS``) by
test_blender_binary.py; prints one ``RESULT <json>`` line."""
import json
import sys

import bpy
import numpy as np


def result(**data):
    print("RESULT " + json.dumps(data), flush=True)


def make_scene(head, blend):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.ply_import(filepath=head, forward_axis="NEGATIVE_Z", up_axis="Y")
    obj = bpy.context.active_object
    obj.name = "head"
    obj.scale = (4.0, 4.0, 4.0)
    obj.location = (0.5, 1.0, 1.5)
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    result(vertices=len(obj.data.vertices))


def positions(obj):
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    co = np.empty(len(ev.data.vertices) * 3, np.float32)
    ev.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def check():
    obj = bpy.data.objects["head"]
    key = obj.data.shape_keys
    action = key.animation_data.action
    curves = list(action.fcurves) if bpy.app.version < (4, 4, 0) else [
        fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]
    mod = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
    import struct
    with open(bpy.path.abspath(mod.filepath), "rb") as f:
        _sig, _v, nv, start, _rate, n = struct.unpack("<12siiffi", f.read(32))
        cache = np.fromfile(f, "<f4").reshape(n, nv, 3)
    size = float(np.ptp(cache[0], axis=0).max())
    worst = 0.0
    for i in range(n):
        bpy.context.scene.frame_set(int(start) + i)
        mod.show_viewport = True
        bpy.context.view_layer.update()
        a = positions(obj)
        mod.show_viewport = False
        bpy.context.view_layer.update()
        b = positions(obj)
        worst = max(worst, float(np.abs(a - b).max()), float(np.abs(cache[i] - b).max()))
    result(keys=len(key.key_blocks), fcurves=len(curves), keyframes=len(curves[0].keyframe_points),
           action=action.name, frames=n, start=start, filepath=mod.filepath, worst=worst, size=size,
           motion=float(np.abs(cache - cache[0]).max()), version=bpy.app.version_string)


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1:]
    {"scene": make_scene, "check": check}[argv[0]](*argv[1:])
