"""The shipped MakeHuman character in Blender: Generate drives its own ARKit shape keys (source spelling),
the jaw opens the mouth by the take's jawOpen, and the same take drives its teeth, tongue, eyes and lashes."""
import numpy as np

import bpy
import demo_scene
from blender_helpers import evaluated_positions

from inference.character import load_demo_character

DEMO_WAV = demo_scene.REPO / "assets" / "demo.wav"


def key_fcurves(key):
    action = key.animation_data.action
    if bpy.app.version >= (4, 4, 0):
        curves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                  for fc in bag.fcurves]
    else:
        curves = list(action.fcurves)
    return {fc.data_path[len('key_blocks["'):-len('"].value')]: fc for fc in curves}


def test_generate_on_the_demo_character_opens_the_mouth(addon):
    head, others = demo_scene.import_character()
    assert [o.name for o in others] == ["eyeLeft", "eyeRight", "teeth", "tongue", "eyelashes"]
    neutral = evaluated_positions(head)
    np.testing.assert_allclose(neutral, demo_scene._zup(load_demo_character().mesh("head").vertices), atol=1e-6)

    bpy.context.view_layer.objects.active = head
    head.select_set(True)
    assert bpy.ops.parley.generate(audio_path=str(DEMO_WAV), mode="SHAPE_KEYS", seed=0, start_frame=1) == {"FINISHED"}
    curves = key_fcurves(head.data.shape_keys)
    assert {"jawOpen", "eyeBlinkLeft", "mouthPressLeft"} <= set(curves)  # the character's own spelling
    assert not any(n.startswith("viseme_") or n == "tongueOut" for n in curves)
    assert len(head.data.shape_keys.key_blocks) == 66  # no keys added to a character that has its own

    jaw = curves["jawOpen"]
    start, end = (int(x) for x in jaw.range())
    frames = range(start, end + 1)
    widest = max(frames, key=jaw.evaluate)
    opening = jaw.evaluate(widest)
    assert opening > 0.4
    bpy.context.scene.frame_set(widest)
    posed = evaluated_positions(head)
    key = head.data.shape_keys.key_blocks
    jaw_delta = np.empty(len(neutral) * 3, np.float32)
    key["jawOpen"].data.foreach_get("co", jaw_delta)
    jaw_delta = jaw_delta.reshape(-1, 3) - neutral
    chin = np.linalg.norm(jaw_delta, axis=1) > 0.5 * np.linalg.norm(jaw_delta, axis=1).max()
    drop = (posed - neutral)[chin, 2]  # Z is up in Blender
    assert drop.mean() < -0.6 * opening * (-jaw_delta[chin, 2].mean()) and drop.mean() < -0.01
    forehead = neutral[:, 2] > neutral[:, 2].max() - 0.03
    assert np.abs(posed - neutral)[forehead].max() < 1e-3  # the top of the head stays put

    for obj in others:  # Generate drove every mesh of the character with the head's one Action
        assert obj.data.shape_keys.animation_data.action == head.data.shape_keys.animation_data.action, obj.name
    teeth = bpy.data.objects["teeth"]
    bpy.context.scene.frame_set(start)
    teeth_rest = evaluated_positions(teeth)
    bpy.context.scene.frame_set(widest)
    lower = (evaluated_positions(teeth) - teeth_rest)[:, 2]
    assert lower.min() < -0.5 * opening * 0.03  # the lower teeth go down with the chin
