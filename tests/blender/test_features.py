"""The rest of the sidebar through its operators: rig building, NLA and existing animation, sound strips,
ARKit characters, Sample style, Mimic, presets, device fallback, cancelling, and clean registration."""
import importlib
import json
import os
import sys

import numpy as np
import pytest

import bpy
from blender_helpers import action_fcurves, clear_take, evaluated_positions, import_head, read_pc2, write_wav


def package(addon):
    return sys.modules[addon]


def style_values(scene):
    style = scene.parley.style
    return {p.identifier: getattr(style, p.identifier) for p in style.bl_rna.properties
            if p.identifier not in ("rna_type", "name", "latent")}


def test_build_rig_then_rebuild(addon):
    obj = import_head(scale=3.0)
    assert bpy.ops.parley.build_rig() == {"FINISHED"}
    key = obj.data.shape_keys
    n = len(key.key_blocks)
    assert key.key_blocks[0].name == "Basis" and "jawOpen" in key.key_blocks and "eyeBlink_L" in key.key_blocks
    with pytest.raises(RuntimeError, match="already has Parley's rig"):
        bpy.ops.parley.build_rig()
    assert bpy.ops.parley.build_rig(rebuild=True) == {"FINISHED"}
    assert len(key.key_blocks) == n
    key.key_blocks["jawOpen"].value = 1.0
    bpy.context.view_layer.update()
    moved = evaluated_positions(obj)
    key.key_blocks["jawOpen"].value = 0.0
    bpy.context.view_layer.update()
    rest = evaluated_positions(obj)
    assert np.abs(moved - rest).max() > 1e-3  # opening the jaw moves the head's vertices


def test_build_rig_refuses_non_flame(addon):
    bpy.ops.mesh.primitive_uv_sphere_add()
    with pytest.raises(RuntimeError, match="not FLAME topology"):
        bpy.ops.parley.build_rig()


def test_push_to_nla_and_keep(addon, tmp_path):
    obj = import_head()
    a = write_wav(tmp_path / "a.wav", seconds=1.0)
    b = write_wav(tmp_path / "b.wav", seconds=1.0, seed=4)
    assert bpy.ops.parley.generate(audio_path=str(a), push_to_nla=True, start_frame=10) == {"FINISHED"}
    ad = obj.data.shape_keys.animation_data
    assert ad.action is None and len(ad.nla_tracks) == 1
    strip = ad.nla_tracks[0].strips[0]
    assert strip.action.name == "a" and strip.frame_start == 10
    assert bpy.ops.parley.generate(audio_path=str(b)) == {"FINISHED"}
    assert ad.action.name == "b"
    c = write_wav(tmp_path / "c.wav", seconds=1.0, seed=5)
    assert bpy.ops.parley.generate(audio_path=str(c), existing="KEEP") == {"FINISHED"}
    assert ad.action.name == "c"
    kept = [t for t in ad.nla_tracks if t.strips and t.strips[0].action.name == "b"]
    assert kept and kept[0].mute


def test_sound_strip_source_and_add_to_sequencer(addon, tmp_path):
    try:
        import aud  # noqa: F401
    except ImportError:
        pytest.skip("this Blender is built without Audaspace: no sound strips")
    obj = import_head()
    audio = write_wav(tmp_path / "line.wav", seconds=1.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), start_frame=20, add_sound_to_sequencer=True) == {"FINISHED"}
    seq = bpy.context.scene.sequence_editor
    strips = list(seq.strips_all if hasattr(seq, "strips_all") else seq.sequences_all)
    assert len(strips) == 1 and strips[0].frame_start == 20 and strips[0].type == "SOUND"
    strip = strips[0]
    strip.frame_start = 40  # the artist moves the strip; a take from the strip follows it
    clear_take(obj)
    assert bpy.ops.parley.generate(sound_strip=strip.name, add_sound_to_sequencer=True) == {"FINISHED"}
    action = obj.data.shape_keys.animation_data.action
    assert action.frame_range[0] == 40
    assert len(list(seq.strips_all if hasattr(seq, "strips_all") else seq.sequences_all)) == 1


def sphere_with_keys(keys):
    """A UV sphere with a Basis and one shape key per (name, axis): the sphere stretched 1.3x along that axis."""
    bpy.ops.mesh.primitive_uv_sphere_add()
    obj = bpy.context.active_object
    obj.shape_key_add(name="Basis")
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    for name, axis in keys:
        kb = obj.shape_key_add(name=name)
        moved = co.reshape(-1, 3).copy()
        moved[:, axis] *= 1.3
        kb.data.foreach_set("co", moved.ravel())
    return obj


def test_existing_arkit_keys_are_driven_directly(addon, tmp_path):
    obj = sphere_with_keys((("JawOpen", 2), ("EyeBlinkLeft", 0), ("mouthSmileRight", 1)))  # other tools' spellings
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "sphere.blend"))
    audio = write_wav(tmp_path / "talk.wav", seconds=1.5)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH") == {"FINISHED"}
    key = obj.data.shape_keys
    assert len(key.key_blocks) == 4  # no rig was added
    action = key.animation_data.action
    paths = sorted(fc.data_path for fc in action_fcurves(action))
    assert paths == ['key_blocks["EyeBlinkLeft"].value', 'key_blocks["JawOpen"].value',
                     'key_blocks["mouthSmileRight"].value']
    mod = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
    cache, start, _ = read_pc2(bpy.path.abspath(mod.filepath))
    for i in (0, len(cache) // 2, len(cache) - 1):
        bpy.context.scene.frame_set(int(start) + i)
        mod.show_viewport = False
        bpy.context.view_layer.update()
        assert np.abs(evaluated_positions(obj) - cache[i]).max() < 1e-5


def test_sample_style_is_reproducible(addon):
    scene = bpy.context.scene
    assert bpy.ops.parley.sample_style(seed=11) == {"FINISHED"}
    first = style_values(scene)
    latent = list(scene.parley.style.latent) if hasattr(scene.parley.style, "latent") else []
    assert scene.parley.style_sample_seed == 11
    assert bpy.ops.parley.sample_style(seed=12) == {"FINISHED"}
    assert style_values(scene) != first
    assert bpy.ops.parley.sample_style(seed=11) == {"FINISHED"}
    assert style_values(scene) == pytest.approx(first)
    if latent:
        assert list(scene.parley.style.latent) == pytest.approx(latent)
    assert bpy.ops.parley.sample_style() == {"FINISHED"}  # a fresh seed, shown in the panel
    assert scene.parley.style_sample_seed >= 0


def test_style_changes_the_take_and_style_seed_is_reproducible(addon, tmp_path):
    obj = import_head()
    audio = write_wav(tmp_path / "s.wav", seconds=1.5)
    takes = []
    for kwargs in ({"style_smile": 1.0}, {"style_smile": -1.0}, {"style_seed": 5}, {"style_seed": 5}):
        clear_take(obj)
        assert bpy.ops.parley.generate(audio_path=str(audio), seed=0, **kwargs) == {"FINISHED"}
        action = obj.data.shape_keys.animation_data.action
        takes.append(np.array([[kp.co[1] for kp in fc.keyframe_points] for fc in action_fcurves(action)]))
    assert np.abs(takes[0] - takes[1]).max() > 1e-3
    assert np.array_equal(takes[2], takes[3])


def test_mimic_reads_another_heads_animation(addon, tmp_path):
    ref = import_head(location=(1, 0, 0))
    audio = write_wav(tmp_path / "ref.wav", seconds=3.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), style_smile=0.8, style_jaw_lips=-0.5) == {"FINISHED"}
    scene = bpy.context.scene
    before = style_values(scene)
    import_head(location=(-1, 0, 0))
    assert bpy.ops.parley.mimic(source_object=ref.name) == {"FINISHED"}
    after = style_values(scene)
    assert after != before and all(np.isfinite(list(after.values())))
    action_name = ref.data.shape_keys.animation_data.action.name
    assert bpy.ops.parley.mimic(action=action_name) == {"FINISHED"}
    assert style_values(scene) == pytest.approx(after)
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    with pytest.raises(RuntimeError, match="no shape-key animation"):
        bpy.ops.parley.mimic(source_object=cube.name)


def test_presets_save_and_load(addon):
    scene = bpy.context.scene
    scene.parley.style.smile = 0.7
    scene.parley.style.articulation = -0.4
    assert bpy.ops.parley.style_preset_add(name="Cheerful mumbler") == {"FINISHED"}
    paths = bpy.utils.preset_paths("parley/style")
    files = [os.path.join(p, f) for p in paths for f in os.listdir(p) if f.endswith(".py")]
    assert any(os.path.basename(f) == "Cheerful_mumbler.py" for f in files), files
    scene.parley.style.smile = 0.0
    scene.parley.style.articulation = 0.0
    preset = next(f for f in files if os.path.basename(f) == "Cheerful_mumbler.py")
    assert bpy.ops.script.execute_preset(filepath=preset, menu_idname="PARLEY_MT_style_presets") == {"FINISHED"}
    assert scene.parley.style.smile == pytest.approx(0.7)
    assert scene.parley.style.articulation == pytest.approx(-0.4)
    os.remove(preset)


def test_cuda_request_falls_back_to_cpu_with_a_message(addon, tmp_path, capsys):
    import onnxruntime
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA is available here")
    import_head()
    audio = write_wav(tmp_path / "c.wav", seconds=1.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), device="CUDA") == {"FINISHED"}
    assert "CUDA" in capsys.readouterr().out  # the WARNING report reaches the console


def test_unsaved_file_caches_to_the_user_folder(addon, tmp_path):
    obj = import_head()
    audio = write_wav(tmp_path / "u.wav", seconds=1.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="MESH_CACHE") == {"FINISHED"}
    mod = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
    expected = bpy.utils.extension_path_user(addon, path="caches")
    assert os.path.dirname(mod.filepath) == expected and os.path.isfile(mod.filepath)
    os.remove(mod.filepath)


def test_cancel_leaves_nothing(addon, tmp_path):
    """The job the modal operator runs on a thread: Esc sets the cancel flag; no file remains."""
    job_module = importlib.import_module(addon + ".operators._job")
    runtime = importlib.import_module(addon + ".operators._runtime")
    obj = import_head()
    verts = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", verts)
    tris = np.empty(len(obj.data.polygons) * 3, np.int64)
    obj.data.polygons.foreach_get("vertices", tris)
    from inference.arkit import RIG_NAMES
    settings = runtime.model_settings(bpy.context)
    staging = tmp_path / ".x.pc2.parley-staging"
    pcm = (0.1 * np.sin(np.arange(16000 * 70) * 0.05)).astype(np.float32)
    target = importlib.import_module(addon + ".inference.take").ShapeTarget.identity(RIG_NAMES)
    job = job_module.TakeJob(job_module.TakeInputs(
        pcm, 30, settings, target, rig_source=(verts.reshape(-1, 3).astype(float), tris.reshape(-1, 3)),
        cache_path=str(staging)))
    job.on_progress = lambda stage, fraction: job.cancel() if fraction > 0.1 else None
    job.start_thread()
    job.join(120)
    assert job.done and type(job.error).__name__ == "Cancelled"
    job.discard()
    assert not any(tmp_path.iterdir())


def test_register_unregister_register_leaves_no_trace(addon):
    mod = package(addon)
    scene_props = set(bpy.types.Scene.bl_rna.properties.keys())
    object_props = set(bpy.types.Object.bl_rna.properties.keys())
    handlers = {name: len(getattr(bpy.app.handlers, name)) for name in dir(bpy.app.handlers)
                if not name.startswith("_") and isinstance(getattr(bpy.app.handlers, name), list)}
    mod.unregister()
    assert not hasattr(bpy.types.Scene, "parley") and not hasattr(bpy.types.Object, "parley")
    assert "parley" not in set(bpy.types.Scene.bl_rna.properties.keys())
    for name in ("PARLEY_OT_generate", "PARLEY_PT_main", "PARLEY_PG_scene", "PARLEY_MT_style_presets"):
        assert not hasattr(bpy.types, name), name
    mod.register()
    assert set(bpy.types.Scene.bl_rna.properties.keys()) == scene_props
    assert set(bpy.types.Object.bl_rna.properties.keys()) == object_props
    assert {name: len(getattr(bpy.app.handlers, name)) for name in handlers} == handlers
    assert bpy.ops.parley.generate.get_rna_type().properties.get("style_smile") is not None


def test_cache_modifier_goes_first_in_the_stack(addon, tmp_path):
    obj = import_head()
    obj.modifiers.new("Subdivision", "SUBSURF")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "stack.blend"))
    audio = write_wav(tmp_path / "m.wav", seconds=1.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="MESH_CACHE") == {"FINISHED"}
    assert [m.type for m in obj.modifiers] == ["MESH_CACHE", "SUBSURF"]


@pytest.mark.parametrize("fps, base", [(30, 1.001), (24, 1.001), (60, 1.0)])
def test_drop_frame_and_high_frame_rates(addon, tmp_path, fps, base):
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, base
    obj = import_head()
    audio = write_wav(tmp_path / "r.wav", seconds=2.0)
    assert bpy.ops.parley.generate(audio_path=str(audio), start_frame=1) == {"FINISHED"}
    action = obj.data.shape_keys.animation_data.action
    assert len(action_fcurves(action)[0].keyframe_points) == round(2.0 * fps / base)


def test_shape_keys_with_quotes_and_backslashes_are_keyed(addon, tmp_path):
    """Data paths quote the user's key names (bpy.utils.escape_identifier); both modes still agree."""
    names = ('Bob"s face:jawOpen', 'rig\\lids:eye_blink_left')  # a Maya namespace holding a quote, a backslash
    obj = sphere_with_keys(((names[0], 0), (names[1], 1)))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "quoted.blend"))
    audio = write_wav(tmp_path / "talk.wav", seconds=1.5)
    assert bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH", start_frame=1) == {"FINISHED"}
    key = obj.data.shape_keys
    curves = action_fcurves(key.animation_data.action)
    keyed = sorted(key.path_resolve(fc.data_path.rsplit(".", 1)[0]).name for fc in curves)
    assert keyed == sorted(names)
    mod = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
    cache, start, _ = read_pc2(bpy.path.abspath(mod.filepath))
    frame = len(cache) // 2
    bpy.context.scene.frame_set(int(start) + frame)
    assert max(key.key_blocks[n].value for n in names) > 0.0
    mod.show_viewport = False
    bpy.context.view_layer.update()
    assert np.abs(evaluated_positions(obj) - cache[frame]).max() < 1e-5


def test_a_failing_write_rolls_the_whole_take_back(addon, tmp_path, monkeypatch):
    """The Action, the rig's keys, the .pc2 and its modifier are written before the extras: all go again."""
    generate = importlib.import_module(addon + ".operators.generate")

    def broken_extras(*args):
        raise RuntimeError("the extras step broke")

    monkeypatch.setattr(generate, "write_extras", broken_extras)
    obj = import_head()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "rollback.blend"))
    end = bpy.context.scene.frame_end
    audio = write_wav(tmp_path / "undone.wav", seconds=1.0)
    with pytest.raises(RuntimeError, match="the extras step broke"):
        bpy.ops.parley.generate(audio_path=str(audio), mode="BOTH")
    assert obj.data.shape_keys is None and not obj.modifiers
    assert not [a for a in bpy.data.actions if a.name.startswith("undone")]
    assert not (tmp_path / "parley").exists() or not any((tmp_path / "parley").iterdir())
    assert bpy.context.scene.frame_end == end


def test_sidebar_and_operator_declare_each_shared_setting_alike(addon):
    settings = importlib.import_module(addon + ".operators._settings")
    op = bpy.ops.parley.generate.get_rna_type().properties
    scene = bpy.context.scene.parley.bl_rna.properties
    for name in settings.SIDEBAR:
        a, b = op[name], scene[name]
        assert (a.type, a.subtype, a.name, a.description) == (b.type, b.subtype, b.name, b.description), name
        if a.type == "ENUM":
            assert [i.identifier for i in a.enum_items] == [i.identifier for i in b.enum_items], name
        if name == "add_sound_to_sequencer":  # the one stated difference: the sidebar plays the take in sync
            assert (a.default, b.default) == (False, True)
        else:
            assert a.default == b.default, name
