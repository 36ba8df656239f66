"""Whole characters: Generate on the head drives every mesh of the character that carries ARKit shape keys
(Ready Player Me avatar from ../shared, the shipped MakeHuman head), viseme-only characters go through
Parley's viseme mapping, and the take is all or nothing across the meshes."""
import importlib
import json

import numpy as np
import pytest

import bpy
import demo_scene
from blender_helpers import action_fcurves, evaluated_positions, read_pc2, write_wav

REPO = demo_scene.REPO
RPM = (REPO / ".." / "shared" / "characters" / "rpm" / "brunette-t.glb").resolve()
DEMO_WAV = REPO / "assets" / "demo.wav"
DRIVEN = ("Wolf3D_Head", "Wolf3D_Teeth", "EyeLeft", "EyeRight")
UNTOUCHED = ("Wolf3D_Body", "Wolf3D_Hair", "Wolf3D_Glasses", "Wolf3D_Outfit_Top", "Wolf3D_Outfit_Bottom",
             "Wolf3D_Outfit_Footwear")


def import_rpm():
    if not RPM.is_file():
        pytest.skip(f"the Ready Player Me test avatar {RPM} is absent (tests only, never shipped: put it in "
                    "../shared/characters/rpm)")
    bpy.ops.import_scene.gltf(filepath=str(RPM))
    return bpy.data.objects


def generate_on(obj, audio=DEMO_WAV, **kw):
    for other in bpy.context.selected_objects:
        other.select_set(False)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    kw.setdefault("mode", "SHAPE_KEYS")
    return bpy.ops.parley.generate(audio_path=str(audio), seed=0, start_frame=1, **kw)


def key_of(obj):
    return obj.data.shape_keys


def curves_by_key(action):
    return {fc.data_path[len('key_blocks["'):-len('"].value')]: fc for fc in action_fcurves(action)}


def rest_and_deltas(obj):
    key = key_of(obj)
    n = len(obj.data.vertices) * 3
    rest = np.empty(n, np.float32)
    key.reference_key.data.foreach_get("co", rest)
    deltas = {}
    for kb in key.key_blocks[1:]:
        co = np.empty(n, np.float32)
        kb.data.foreach_get("co", co)
        deltas[kb.name] = (co - rest).reshape(-1, 3)
    return rest.reshape(-1, 3), deltas


def state_of(obj):
    """What an untouched mesh must keep: its vertices, keys, modifiers and animation."""
    key = key_of(obj) if obj.type == "MESH" else None
    return (evaluated_positions(obj).tobytes() if obj.type == "MESH" else None,
            len(key.key_blocks) if key else 0, bool(key and key.animation_data),
            [m.type for m in obj.modifiers] if obj.type == "MESH" else None, obj.animation_data is not None)


def test_rpm_avatar_whole_face_follows_one_action(addon):
    objects = import_rpm()
    before = {o.name: state_of(o) for o in objects if o.name not in DRIVEN}
    keys_before = {n: len(key_of(objects[n]).key_blocks) for n in DRIVEN}
    # head motion off: the armature (and the hair and glasses it carries) must stay as they were;
    # the head bone's own take is tested in test_rpm_avatar_head_motion_keys_its_head_bone
    assert generate_on(objects["Wolf3D_Head"], head_motion=0.0) == {"FINISHED"}

    actions = {key_of(objects[n]).animation_data.action for n in DRIVEN}
    assert len(actions) == 1 and len(bpy.data.actions) == 1, "one shared Action for head, teeth and eyes"
    action = actions.pop()
    if bpy.app.version >= (4, 4, 0):  # one slot, used by every Key
        assert len(action.slots) == 1
        assert {key_of(objects[n]).animation_data.action_slot for n in DRIVEN} == {action.slots[0]}
    curves = curves_by_key(action)
    assert len(curves) == 51 and "jawOpen" in curves and "eyeLookInLeft" in curves
    assert not any(n.startswith("viseme_") or n == "tongueOut" for n in curves), "visemes and tongue at rest"
    assert {n: len(key_of(objects[n]).key_blocks) for n in DRIVEN} == keys_before  # no keys added

    jaw = curves["jawOpen"]
    start, end = (int(x) for x in jaw.range())
    frames = range(start, end + 1)
    widest = max(frames, key=jaw.evaluate)
    assert jaw.evaluate(widest) > 0.3
    scene = bpy.context.scene
    shapes = {n: rest_and_deltas(objects[n]) for n in DRIVEN}
    worst = {n: 0.0 for n in DRIVEN}
    skinning = [m for n in DRIVEN for m in objects[n].modifiers if m.type == "ARMATURE"]
    for mod in skinning:  # the imported pose is not the bind pose: compare the shape-key result itself
        mod.show_viewport = False
    for frame in frames:  # every driven mesh is exactly its rest + the shared curves x its own deltas
        scene.frame_set(frame)
        for name in DRIVEN:
            rest, deltas = shapes[name]
            expected = rest + sum(curves[k].evaluate(frame) * deltas[k] for k in curves)
            worst[name] = max(worst[name], float(np.abs(evaluated_positions(objects[name]) - expected).max()))
    assert max(worst.values()) < 1e-5, worst

    scene.frame_set(widest)  # the lower teeth at the widest opening: down by jawOpen x their jawOpen delta
    rest, deltas = shapes["Wolf3D_Teeth"]
    d = deltas["jawOpen"]
    lower = np.linalg.norm(d, axis=1) > 0.5 * np.linalg.norm(d, axis=1).max()
    moved = evaluated_positions(objects["Wolf3D_Teeth"])[lower] - rest[lower]
    along = float(np.sum(moved * d[lower]) / np.sum(d[lower] * d[lower]))
    assert abs(along - jaw.evaluate(widest)) < 0.05 * max(1.0, jaw.evaluate(widest)), (along, jaw.evaluate(widest))
    assert np.abs(d[lower]).max() > 1e-3  # the RPM teeth do carry a real jaw drop

    for side, eye in (("Left", "EyeLeft"), ("Right", "EyeRight")):  # eyes: the head's eyeLook + blink curves
        eye_keys = key_of(objects[eye])
        assert eye_keys.animation_data.action == action
        look = [k for k in curves if k.startswith("eyeLook") and k.endswith(side)]
        assert len(look) == 4 and f"eyeBlink{side}" in curves
        _rest, eye_deltas = shapes[eye]
        assert max(np.abs(eye_deltas[k]).max() for k in look) > 1e-4  # the eye turns with these keys
        busiest = max(frames, key=lambda f: sum(curves[k].evaluate(f) for k in look))
        scene.frame_set(busiest)
        assert sum(eye_keys.key_blocks[k].value for k in look) > 0.01
        for k in look + [f"eyeBlink{side}"]:
            assert eye_keys.key_blocks[k].value == pytest.approx(key_of(objects["Wolf3D_Head"]).key_blocks[k].value)

    for mod in skinning:
        mod.show_viewport = True
    scene.frame_set(widest)
    after = {o.name: state_of(o) for o in objects if o.name not in DRIVEN}
    assert after == before, "body, outfit, hair, glasses and the armature are untouched"
    assert set(UNTOUCHED) <= set(after)


def test_rpm_mesh_cache_one_pc2_per_mesh(addon, tmp_path):
    objects = import_rpm()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "rpm.blend"))
    audio = write_wav(tmp_path / "line.wav", seconds=1.5)
    assert generate_on(objects["Wolf3D_Head"], audio, mode="BOTH") == {"FINISHED"}
    scene = bpy.context.scene
    for name in DRIVEN:
        obj = objects[name]
        mod = obj.modifiers[0]
        assert mod.type == "MESH_CACHE" and [m.type for m in obj.modifiers] == ["MESH_CACHE", "ARMATURE"]
        expected = "//parley/line.pc2" if name == "Wolf3D_Head" else f"//parley/line {name}.pc2"
        assert mod.filepath == expected
        cache, start, _ = read_pc2(bpy.path.abspath(mod.filepath))
        assert cache.shape[1] == len(obj.data.vertices)
        for i in (0, len(cache) // 2, len(cache) - 1):
            scene.frame_set(int(start) + i)
            with_cache = evaluated_positions(obj)
            mod.show_viewport = False
            bpy.context.view_layer.update()
            assert np.abs(evaluated_positions(obj) - with_cache).max() < 1e-5, name  # both modes agree
            mod.show_viewport = True
            bpy.context.view_layer.update()
    assert sorted(p.name for p in (tmp_path / "parley").iterdir()) == sorted(
        ["line.pc2"] + [f"line {n}.pc2" for n in DRIVEN[1:]])


def test_rpm_existing_animation_and_failure_hold_for_every_mesh(addon, tmp_path, monkeypatch):
    objects = import_rpm()  # the face meshes' rules; the head bone's are tested in test_life.py
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "rpm.blend"))
    audio = write_wav(tmp_path / "first.wav", seconds=1.0)
    teeth = key_of(objects["Wolf3D_Teeth"])
    own = bpy.data.actions.new("teeth chatter")
    teeth.animation_data_create().action = own
    with pytest.raises(RuntimeError, match="Wolf3D_Teeth's shape keys already play the Action 'teeth chatter'"):
        generate_on(objects["Wolf3D_Head"], audio, head_motion=0.0)
    assert key_of(objects["Wolf3D_Head"]).animation_data is None and len(bpy.data.actions) == 1

    assert generate_on(objects["Wolf3D_Head"], audio, existing="KEEP", head_motion=0.0) == {"FINISHED"}
    kept = teeth.animation_data.nla_tracks
    assert len(kept) == 1 and kept[0].mute and kept[0].strips[0].action == own  # the teeth's own Action kept
    take = key_of(objects["Wolf3D_Head"]).animation_data.action
    assert teeth.animation_data.action == take and not key_of(objects["Wolf3D_Head"]).animation_data.nla_tracks

    generate = importlib.import_module(addon + ".operators.generate")  # a failing last step: every mesh goes back

    def broken_extras(*args):
        raise RuntimeError("the extras step broke")

    monkeypatch.setattr(generate, "write_extras", broken_extras)
    with pytest.raises(RuntimeError, match="the extras step broke"):
        generate_on(objects["Wolf3D_Head"], audio, mode="BOTH", existing="REPLACE", head_motion=0.0)
    for name in DRIVEN:
        assert key_of(objects[name]).animation_data.action == take, name
        assert [m.type for m in objects[name].modifiers] == ["ARMATURE"], name
    assert not take.use_fake_user and len(bpy.data.actions) == 2
    assert not any((tmp_path / "parley").glob("*.pc2")) if (tmp_path / "parley").exists() else True


def test_rpm_leave_out_and_add_meshes(addon):
    objects = import_rpm()
    objects["EyeRight"].parley.include = False
    bare = objects["Wolf3D_Glasses"]  # no shape keys: Add Selected refuses it
    loose = objects["Icosphere"] if "Icosphere" in objects else None
    for o in bpy.context.selected_objects:
        o.select_set(False)
    bare.select_set(True)
    objects["Wolf3D_Head"].select_set(True)
    bpy.context.view_layer.objects.active = objects["Wolf3D_Head"]
    assert bpy.ops.parley.character_add() == {"CANCELLED"} and bare.parley.character is None
    assert generate_on(objects["Wolf3D_Head"]) == {"FINISHED"}
    assert key_of(objects["EyeRight"]).animation_data is None  # left out by hand
    assert key_of(objects["EyeLeft"]).animation_data.action is not None
    assert loose is None or loose.data.shape_keys is None


def viseme_sphere(name="mouth"):
    """A UV sphere with the 15 Oculus visemes as shape keys (each moves its own band of vertices) and nothing
    else; Blender 5.0 adds keys at value 1.0, so each is set back to 0."""
    bpy.ops.mesh.primitive_uv_sphere_add(segments=32, ring_count=16)
    obj = bpy.context.active_object
    obj.name = name
    obj.shape_key_add(name="Basis", from_mix=False)
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    from inference.visemes import VISEMES
    for j, viseme in enumerate(VISEMES):
        kb = obj.shape_key_add(name=viseme, from_mix=False)
        kb.value = 0.0
        moved = co.copy()
        moved[j::len(VISEMES), 2] += 0.1 * (j + 1)
        kb.data.foreach_set("co", moved.ravel())
    return obj


def test_viseme_only_character_says_p_with_pp(addon):
    obj = viseme_sphere()
    bpy.context.view_layer.objects.active = obj
    describe = importlib.import_module(addon + ".operators._target").describe
    kind, text = describe(obj)
    assert kind == "VISEMES" and "15 visemes" in text and "inference/visemes.json" in text
    assert generate_on(obj) == {"FINISHED"}
    key = key_of(obj)
    assert len(key.key_blocks) == 16  # nothing added
    curves = curves_by_key(key.animation_data.action)
    from inference.visemes import VISEMES
    assert set(curves) == set(VISEMES)
    phones = json.loads((REPO / "assets" / "demo_phones.json").read_text())["phones"]
    fps = bpy.context.scene.render.fps / bpy.context.scene.render.fps_base
    wins, total = 0, 0
    for start, end, label in phones:
        if label != "P":
            continue
        frame = 1 + round((start + end) / 2 * fps)
        # what a viewer sees: one viseme on top at each frame; a /p/ counts when PP tops a frame of its window
        # (comparing each viseme's peak over the window would pit PP's closure against the next vowel's opening)
        tops = {max(VISEMES, key=lambda n: curves[n].evaluate(f)) for f in (frame - 1, frame, frame + 1)}
        wins += "viseme_PP" in tops
        total += 1
    assert total >= 6 and wins >= total - 2, f"/p/ mapped to PP on {wins} of {total}"
    frames = [int(x) for x in curves["viseme_sil"].range()]
    sums = [sum(curves[n].evaluate(f) for n in VISEMES) for f in range(frames[0], frames[1] + 1)]
    assert np.allclose(sums, 1.0, atol=1e-3)  # a blend: the 15 weights sum to 1 on every frame


def test_arkit_and_visemes_on_one_mesh_drive_arkit_only(addon):
    obj = viseme_sphere("both")
    for name in ("jawOpen", "mouthPressLeft"):
        obj.shape_key_add(name=name, from_mix=False).value = 0.0
    assert generate_on(obj) == {"FINISHED"}
    assert sorted(curves_by_key(key_of(obj).animation_data.action)) == ["jawOpen", "mouthPressLeft"]


def test_makehuman_character_every_mesh_and_tongue_at_rest(addon):
    head, others = demo_scene.import_character()
    others[3].parley.include = False  # the tongue: left out by hand
    assert generate_on(head) == {"FINISHED"}
    action = key_of(head).animation_data.action
    for obj in others:
        ad = key_of(obj).animation_data
        assert (ad.action if ad else None) == (None if obj.name == "tongue" else action), obj.name
    curves = curves_by_key(action)
    assert "tongueOut" not in curves and not any(n.startswith("viseme_") for n in curves)
    assert all(kb.value == 0.0 for o in (head, *others) for kb in key_of(o).key_blocks[1:]
               if kb.name == "tongueOut")


class _Layout:
    """Records what a panel draws (labels, properties, operators) instead of drawing it."""

    def __init__(self, lines):
        self.lines = lines
        self.scale_y = 1.0

    def box(self, **kw):
        return self

    row = column = box

    def label(self, text="", icon="NONE"):
        self.lines.append(("label", text))

    def prop(self, data, name, text=None, **kw):
        self.lines.append(("prop", name, text, getattr(data, name)))

    def operator(self, idname, text=None, icon="NONE"):
        self.lines.append(("operator", idname))
        return type("Props", (), {})()

    def menu(self, *a, **kw):
        pass

    prop_search = menu


def test_target_box_lists_the_character_and_what_it_does(addon):
    objects = import_rpm()
    objects["EyeRight"].parley.include = False
    sidebar = importlib.import_module(addon + ".panels.sidebar")
    bpy.context.view_layer.objects.active = objects["Wolf3D_Head"]
    lines = []
    panel = type("Panel", (), {"layout": _Layout(lines)})()
    sidebar.PARLEY_PT_main.draw(panel, bpy.context)
    labels = [line[1] for line in lines if line[0] == "label"]
    assert "Character: 3 of 4 meshes driven" in labels
    assert "Wolf3D_Head: 51 ARKit keys; its 15 visemes stay at rest" in labels
    boxes = {line[2]: line[3] for line in lines if line[0] == "prop" and line[1] == "include"}
    assert boxes == {"EyeLeft: 51 ARKit keys; its 15 visemes stay at rest": True,
                     "EyeRight: 51 ARKit keys; its 15 visemes stay at rest": False,
                     "Wolf3D_Teeth: 51 ARKit keys; its 15 visemes stay at rest": True}
    assert ("operator", "parley.character_add") in lines
    assert "at rest: visemes beside ARKit keys, tongueOut (no tongue curve)" in labels

    lines.clear()
    bpy.context.view_layer.objects.active = viseme_sphere()
    sidebar.PARLEY_PT_main.draw(panel, bpy.context)
    labels = [line[1] for line in lines if line[0] == "label"]
    assert "mouth: 15 visemes through Parley's mapping" in labels
    assert any("inference/visemes.json" in label for label in labels)
    assert any(line[:2] == ("prop", "viseme_table") for line in lines)


def test_rpm_avatar_head_motion_keys_its_head_bone(addon):
    """With head motion on, the avatar's own head bone turns (in an Action of its own on the armature) and the
    face's shared Action is unchanged in kind: still one Action for head, teeth and eyes."""
    objects = import_rpm()
    assert generate_on(objects["Wolf3D_Head"]) == {"FINISHED"}
    face = {key_of(objects[n]).animation_data.action for n in DRIVEN}
    assert len(face) == 1
    armature = next(o for o in objects.values() if o.type == "ARMATURE")
    bone_action = armature.animation_data.action
    assert bone_action is not None and bone_action not in face
    paths = {fc.data_path for fc in action_fcurves(bone_action)}
    assert any(p.startswith('pose.bones["Head"]') and "rotation" in p for p in paths), paths
    head_keys = [fc for fc in action_fcurves(bone_action) if "rotation" in fc.data_path]
    values = np.array([[fc.evaluate(f) for fc in head_keys] for f in range(1, 120)])
    assert np.ptp(values, axis=0).max() > 1e-3, "the head bone really moves"


def _speech_labels(sidebar):
    lines = []
    sidebar.PARLEY_PT_speech.draw(type("Panel", (), {"layout": _Layout(lines)})(), bpy.context)
    return [line[1] for line in lines if line[0] == "label"]


def test_speech_panel_says_which_languages_the_model_learned(addon, tmp_path):
    """The model's ``languages`` metadata (export.trained_languages) decides the line under the audio inputs;
    a model without it (<= 3.1) learned English only; an unreadable model draws no language line and no error."""
    onnx = pytest.importorskip("onnx")
    sidebar = importlib.import_module(addon + ".panels.sidebar")
    shipped = importlib.import_module(addon + ".operators._runtime").default_model_path()
    prefs = bpy.context.preferences.addons[addon].preferences

    def model_with(languages, name):
        model = onnx.load(shipped)
        kept = [(p.key, p.value) for p in model.metadata_props if p.key != "languages"]
        del model.metadata_props[:]
        for key, value in kept + ([("languages", json.dumps(languages))] if languages is not None else []):
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(model, str(tmp_path / name))
        return str(tmp_path / name)

    many = {c: 0.25 for c in ("sv", "cs", "de", "el", "en", "es", "fi", "fr", "hu", "it")}
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x07" + bytes(range(256)) * 8)
    try:
        prefs.model_path = model_with(None, "english.onnx")
        english = ["Language: trained on English speech;", "other languages work roughly (model card)"]
        assert _speech_labels(sidebar)[-2:] == english
        prefs.model_path = model_with(many, "many.onnx")
        assert _speech_labels(sidebar)[-2:] == ["Any language: no setting needed",
                                               "trained on 10: cs de el en es fi fr hu …"]
        prefs.model_path = model_with({"en": 3.5}, "en.onnx")
        assert _speech_labels(sidebar)[-2:] == english
        prefs.model_path = str(tmp_path / "garbage.onnx")
        labels = _speech_labels(sidebar)
        assert not any("anguage" in label for label in labels)
    finally:
        prefs.model_path = ""
    assert sidebar.language_lines(["cs", "de"]) == ["Any language: no setting needed", "trained on 2: cs de"]
