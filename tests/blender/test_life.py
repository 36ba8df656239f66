"""Head motion, gaze, listening and dialogue through the installed extension (issue 12).

Head motion 0 is today's take bit for bit; on a FLAME head the rotation sits on a bone Parley builds
(shape keys) and in the .pc2 (mesh cache), the two agree to float precision and the neck boundary
stays put; a character's own armature gets its head bone keyed; Listen keeps the lips still;
a dialogue gives each character speech on its own audio and listening on the other's."""
import importlib
import wave

import numpy as np
import pytest

import bpy
from blender_helpers import action_fcurves, evaluated_positions, import_head, read_pc2, write_wav

LIPS = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmile_L", "mouthStretch_L", "mouthRollLower")


def _module(addon, name):
    return importlib.import_module(f"{addon}.{name}")


def _dialogue_wavs(tmp_path):
    """A speaks for 2 s then is silent 3 s; B is silent 2.5 s then speaks 2.5 s."""
    speech = write_wav(tmp_path / "speech.wav", seconds=2.0, rate=16000)
    with wave.open(str(speech)) as w:
        clip = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    out = []
    for name, parts in (("a.wav", [clip, np.zeros(48000, "<i2")]),
                        ("b.wav", [np.zeros(40000, "<i2"), clip, np.zeros(8000, "<i2")])):
        with wave.open(str(tmp_path / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(np.concatenate(parts).tobytes())
        out.append(tmp_path / name)
    return out


def _curve(action, path, index=0):
    fc = next(f for f in action_fcurves(action) if f.data_path == path and f.array_index == index)
    co = np.empty(len(fc.keyframe_points) * 2, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)[:, 1]


def _key_curve(obj, name):
    return _curve(obj.data.shape_keys.animation_data.action, f'key_blocks["{name}"].value')


def _all_keys(action):
    out = {}
    for fc in action_fcurves(action):
        co = np.empty(len(fc.keyframe_points) * 2, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co
    return out


def test_head_motion_zero_is_todays_take_bit_for_bit(addon, tmp_path, monkeypatch):
    audio = write_wav(tmp_path / "today.wav", seconds=2.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "today.blend"))
    still = import_head()
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH", seed=4, head_motion=0.0, gaze=0.0,
                                   cache_dir=str(tmp_path / "zero")) == {"FINISHED"}
    monkeypatch.setattr(_module(addon, "operators._life"), "request", lambda *a, **k: None)  # the path before life
    today = import_head()
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH", seed=4,
                                   cache_dir=str(tmp_path / "today")) == {"FINISHED"}
    assert not [o for o in bpy.data.objects if o.type == "ARMATURE"]
    a, b = (_all_keys(o.data.shape_keys.animation_data.action) for o in (still, today))
    assert a.keys() == b.keys()
    for path in a:
        np.testing.assert_array_equal(a[path], b[path])
    caches = [(tmp_path / d / "today.pc2").read_bytes() for d in ("zero", "today")]
    assert caches[0] == caches[1]


def _neck_loop(addon, obj):
    shapekeys = _module(addon, "operators._shapekeys")
    head_rig = _module(addon, "inference.head_rig")
    return head_rig.build_head_rig(shapekeys.vertices(obj).astype(np.float64), shapekeys.triangles(obj)).neck_loop


def test_flame_head_turns_on_a_bone_and_in_the_cache_alike(addon, tmp_path):
    obj = import_head(scale=7.5, location=(1.0, -2.0, 0.5), rotation_z=0.4)
    audio = write_wav(tmp_path / "turn.wav", seconds=2.5)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "turn.blend"))
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH", seed=2, start_frame=5) == {"FINISHED"}
    arm = bpy.data.objects[f"{obj.name} head"]
    assert arm.type == "ARMATURE" and arm.parent == obj and set(arm.data.bones.keys()) == {"head", "neck"}
    assert [m.type for m in obj.modifiers] == ["ARMATURE", "MESH_CACHE"]
    assert set(obj.vertex_groups.keys()) == {"head", "neck"}
    action = arm.animation_data.action
    assert action.name == "turn head" and arm.pose.bones["head"].rotation_mode == "ZXY"
    pitch = _curve(action, 'pose.bones["head"].rotation_euler', 0)
    assert len(pitch) == len(_key_curve(obj, "jawOpen")) and np.degrees(np.ptp(pitch)) > 1.0

    mod = obj.modifiers[1]
    cache = read_pc2(bpy.path.abspath(mod.filepath))[0]
    size = float(np.ptp(cache[0], axis=0).max())
    neck = _neck_loop(addon, obj)
    scene = bpy.context.scene
    worst = 0.0
    for k in (0, 20, 40, len(cache) - 1):
        scene.frame_set(5 + k)
        mod.show_viewport = False
        bpy.context.view_layer.update()
        bone = evaluated_positions(obj)
        obj.modifiers[0].show_viewport = False
        bpy.context.view_layer.update()
        face_only = evaluated_positions(obj)
        obj.modifiers[0].show_viewport = mod.show_viewport = True
        bpy.context.view_layer.update()
        worst = max(worst, float(np.abs(evaluated_positions(obj) - bone).max()), float(np.abs(cache[k] - bone).max()))
        np.testing.assert_allclose(bone[neck], face_only[neck], atol=1e-6 * size)      # the neck stays put
        np.testing.assert_allclose(cache[k][neck], face_only[neck], atol=1e-6 * size)
    assert worst <= 1e-5 * size, f"bone and cache differ by {worst:.3g} (head size {size:.3g})"


def test_second_take_reuses_the_bone_and_keeps_the_old_action(addon, tmp_path):
    obj = import_head()
    audio = write_wav(tmp_path / "one.wav", seconds=1.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="SHAPE_KEYS") == {"FINISHED"}
    result = bpy.ops.parley.generate(audio_path=str(audio), mode="SHAPE_KEYS", existing="KEEP", seed=1)
    assert result == {"FINISHED"}
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(arms) == 1 and [m.type for m in obj.modifiers] == ["ARMATURE"]
    ad = arms[0].animation_data
    assert ad.action.name.startswith("one head") and ad.action.name != "one head"
    assert [t.strips[0].action.name for t in ad.nla_tracks] == ["one head"] and ad.nla_tracks[0].mute


def test_a_failing_write_takes_the_bone_back_too(addon, tmp_path, monkeypatch):
    generate = _module(addon, "operators.generate")
    monkeypatch.setattr(generate, "write_extras", lambda *a: (_ for _ in ()).throw(RuntimeError("extras broke")))
    obj = import_head()
    audio = write_wav(tmp_path / "undone.wav", seconds=1.0)
    with pytest.raises(RuntimeError, match="extras broke"):
        bpy.ops.parley.generate(audio_path=str(audio), mode="SHAPE_KEYS")
    assert obj.data.shape_keys is None and not obj.modifiers and not obj.vertex_groups
    assert not [o for o in bpy.data.objects if o.type == "ARMATURE"] and not bpy.data.armatures
    assert not list(bpy.data.actions)


def test_own_armature_head_bone_found_by_name_and_keyed(addon, tmp_path):
    obj = import_head(scale=2.0, location=(0.0, 0.0, 1.0))
    rest = evaluated_positions(obj).astype(np.float64)
    arm = bpy.data.objects.new("rig", bpy.data.armatures.new("rig"))
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for name, head, tail in (("mixamorig:Hips", (0, 0, 0), (0, 0, 0.5)), ("mixamorig:Neck", (0, 0, 0.5), (0, 0, 0.9)),
                             ("mixamorig:Head", (0, 0.02, 0.9), (0, 0.05, 1.3)), ("mixamorig:HeadTop_End",
                                                                                  (0, 0.05, 1.3), (0, 0.05, 1.5))):
        bone = arm.data.edit_bones.new(name)
        bone.head, bone.tail = head, tail
    bpy.ops.object.mode_set(mode="OBJECT")
    group = obj.vertex_groups.new(name="mixamorig:Head")
    group.add(list(range(len(obj.data.vertices))), 1.0, "REPLACE")
    obj.modifiers.new("Armature", "ARMATURE").object = arm
    bpy.context.view_layer.objects.active = obj
    audio = write_wav(tmp_path / "own.wav", seconds=1.5)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="SHAPE_KEYS", gaze=0.0) == {"FINISHED"}
    assert [o.name for o in bpy.data.objects if o.type == "ARMATURE"] == ["rig"]
    pose = arm.pose.bones["mixamorig:Head"]
    assert pose.rotation_mode == "QUATERNION"
    action = arm.animation_data.action
    assert {fc.data_path for fc in action_fcurves(action)} == {'pose.bones["mixamorig:Head"].rotation_quaternion'}
    # the whole head is weighted to the bone: it turns rigidly about the bone's head by a few degrees
    scene = bpy.context.scene
    turns = []
    for frame in range(1, 45, 4):
        scene.frame_set(frame)
        obj.data.shape_keys.animation_data.action = None
        bpy.context.view_layer.update()
        moved = evaluated_positions(obj).astype(np.float64)
        assert np.abs(moved - rest).max() < 0.2 * np.ptp(rest)
        q = np.array(pose.rotation_quaternion)
        turns.append(np.degrees(2 * np.arccos(min(1.0, abs(q[0])))))
        obj.data.shape_keys.animation_data.action = bpy.data.actions["own"]
    assert 0.3 < max(turns) < 20.0


def test_listen_on_silence_nods_blinks_and_no_lip_motion(addon):
    obj = import_head()
    bpy.context.scene.frame_end = 150
    assert bpy.ops.parley.listen(mode="SHAPE_KEYS", start_frame=1, seed=3) == {"FINISHED"}
    assert len(_key_curve(obj, "jawOpen")) == 150
    for name in LIPS:
        assert not _key_curve(obj, name).any(), name
    blink = _key_curve(obj, "eyeBlink_L")
    assert blink.max() > 0.5
    pitch = np.degrees(_curve(bpy.data.objects[f"{obj.name} head"].animation_data.action,
                              'pose.bones["head"].rotation_euler', 0))
    assert np.ptp(pitch) > 0.5


def test_dialogue_each_speaks_on_its_own_audio_and_listens_on_the_others(addon, tmp_path):
    a_wav, b_wav = _dialogue_wavs(tmp_path)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "talk.blend"))
    a = import_head()
    b = import_head(location=(0.5, 0.0, 0.0))
    bpy.context.view_layer.objects.active = a
    assert bpy.ops.parley.dialogue(audio_path=str(a_wav), listen_audio=str(b_wav), dialogue_object=b.name,
                                   mode="SHAPE_KEYS") == {"FINISHED"}
    fps = bpy.context.scene.render.fps
    jaw_a, jaw_b = _key_curve(a, "jawOpen"), _key_curve(b, "jawOpen")
    assert len(jaw_a) == len(jaw_b) == round(5.0 * fps)
    a_turn, b_turn = slice(int(0.3 * fps), int(1.7 * fps)), slice(int(2.8 * fps), int(4.2 * fps))
    assert jaw_a[a_turn].max() > 0.05 and jaw_b[b_turn].max() > 0.05       # each speaks on its own audio
    assert not jaw_a[b_turn].any() and not jaw_b[a_turn].any()             # and listens, lips still, on the other's
    for obj in (a, b):
        assert bpy.data.objects[f"{obj.name} head"].animation_data.action is not None
    look_a = _key_curve(a, "eyeLookOut_L") - _key_curve(a, "eyeLookIn_L")   # a looks left, towards b
    assert np.median(look_a) > 0.0
