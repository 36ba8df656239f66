"""End to end through the installed extension: bpy.ops.parley.generate on FLAME heads imported Z-up,
scaled and moved. Shape keys, F-curves, NLA, the .pc2 and the modifier; both modes agree per frame."""
import json
import math
import os

import numpy as np
import pytest

import bpy
from blender_helpers import action_fcurves, evaluated_positions, import_head, read_pc2, scene_fps, write_wav

RIG_KEYS = 51


def head_size(obj):
    co = evaluated_positions(obj)
    return float(np.ptp(co, axis=0).max())


def test_extension_is_installed_from_the_zip(addon):
    assert addon.startswith("bl_ext.") and addon.endswith(".parley")
    rna = bpy.ops.parley.generate.get_rna_type()
    props = set(rna.properties.keys())
    for name in ("audio_path", "mode", "seed", "start_frame", "sound_strip", "add_sound_to_sequencer",
                 "push_to_nla", "existing", "device", "style_seed", "style_smile", "style_jaw_lips"):
        assert name in props, name
    prefs = bpy.context.preferences.addons[addon].preferences
    assert {i.identifier for i in prefs.bl_rna.properties["device"].enum_items} == {"AUTO", "CPU", "CUDA"}
    import onnxruntime
    assert "extensions" in onnxruntime.__file__ or "site-packages" in onnxruntime.__file__


def test_both_modes_agree_on_every_frame(addon, tmp_path):
    obj = import_head(scale=7.5, location=(1.0, -2.0, 0.5), rotation_z=0.4)
    audio = write_wav(tmp_path / "take one.wav", seconds=2.5)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH", seed=3, start_frame=7) == {"FINISHED"}

    key = obj.data.shape_keys
    rig = json.loads(key["parley_rig"])
    assert len(key.key_blocks) == 1 + RIG_KEYS + len(rig["correctives"])
    assert key.key_blocks["jawOpen"].relative_key == key.reference_key
    for name, a, b in rig["correctives"]:  # correctives are driven by the product of their two sources
        fc = key.animation_data.drivers.find(f'key_blocks["{name}"].value')
        assert fc is not None and fc.driver.expression == "a*b"
        sources = sorted(v.targets[0].data_path for v in fc.driver.variables)
        assert sources == sorted([f'key_blocks["{a}"].value', f'key_blocks["{b}"].value'])

    frames = round(2.5 * scene_fps())
    action = key.animation_data.action
    assert action.name == "take one"
    curves = action_fcurves(action)
    assert len(curves) == RIG_KEYS
    for fc in curves:
        assert len(fc.keyframe_points) == frames
        assert fc.keyframe_points[0].co[0] == 7 and fc.keyframe_points[-1].co[0] == 7 + frames - 1
    jaw = next(fc for fc in curves if fc.data_path == 'key_blocks["jawOpen"].value')
    jaw_values = np.array([jaw.evaluate(7 + i) for i in range(frames)])
    assert jaw_values.min() >= 0 and jaw_values.max() <= 1 and np.ptp(jaw_values) > 0.01

    mods = [m for m in obj.modifiers if m.type == "MESH_CACHE"]
    assert len(mods) == 1
    mod = mods[0]
    assert mod.cache_format == "PC2" and mod.filepath == "//parley/take one.pc2"
    assert mod.frame_start == 7 and mod.frame_scale == 1 and mod.time_mode == "FRAME"
    assert mod.play_mode == "SCENE" and mod.deform_mode == "OVERWRITE"
    if os.name == "posix":  # a finished cache is an ordinary file, not the owner-only staging file
        mode_bits = os.stat(bpy.path.abspath(mod.filepath)).st_mode & 0o777
        assert mode_bits & 0o044, oct(mode_bits)
    cache, start, rate = read_pc2(bpy.path.abspath(mod.filepath))
    assert cache.shape == (frames, 5023, 3) and start == 7 and rate == 1
    assert bpy.context.scene.frame_end >= 7 + frames - 1

    size = head_size(obj)
    worst = 0.0
    scene = bpy.context.scene
    for i in range(frames):
        scene.frame_set(7 + i)
        mod.show_viewport = True
        bpy.context.view_layer.update()
        with_cache = evaluated_positions(obj)
        mod.show_viewport = False
        bpy.context.view_layer.update()
        with_keys = evaluated_positions(obj)
        worst = max(worst, float(np.abs(with_keys - with_cache).max()), float(np.abs(cache[i] - with_keys).max()))
    assert worst <= 1e-5 * size, f"modes differ by {worst:.3g} (head size {size:.3g})"
    motion = float(np.abs(cache - cache[0]).max())
    assert motion > 1e-3 * size, "the mesh cache does not move"


def test_registered_head_at_25_fps_shape_keys_only(addon, tmp_path):
    bpy.context.scene.render.fps = 25
    obj = import_head("flame_registered.ply", scale=0.01, location=(0, 0, 1.7))
    audio = write_wav(tmp_path / "short.wav", seconds=1.6, rate=48000, channels=2)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="SHAPE_KEYS", seed=1, start_frame=1) == {"FINISHED"}
    assert not [m for m in obj.modifiers if m.type == "MESH_CACHE"]
    action = obj.data.shape_keys.animation_data.action
    assert len(action_fcurves(action)[0].keyframe_points) == round(1.6 * 25)
    assert math.isclose(action.frame_range[1], round(1.6 * 25), abs_tol=1e-6)
