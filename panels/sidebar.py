"""The "Parley" tab of the 3D View sidebar: Target, Speech, Style, Output, and Generate."""
import bpy

from ..inference import parts as _parts
from ..operators import _character, _head_bone, _style, _target
from ..operators._bone_names import find_head_bone
from ..operators._blender import scene_fps


class PARLEY_PT_main(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Parley"
    bl_label = "Parley"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.parley
        obj = context.active_object
        box = layout.box()
        kind, text = _target.describe(obj)
        good = kind in _target.USABLE
        box.label(text=obj.name if obj else "Target", icon="OUTLINER_OB_MESH" if good else "ERROR")
        box.label(text=text)
        if kind in (_target.FLAME, _target.RIG_READY):
            row = box.row()
            rebuild = kind == _target.RIG_READY
            op = row.operator("parley.build_rig", text="Rebuild Rig" if rebuild else "Build Rig", icon="SHAPEKEY_DATA")
            op.rebuild = rebuild
        if good:
            draw_character(box, context, obj)
        if obj is not None and obj.type == "MESH" and obj.parley.last_take:
            box.label(text=f"Last take: {obj.parley.last_take} (seed {obj.parley.last_seed})", icon="ACTION")
        _axes, _latent, problem = _style.layout()
        if problem:
            layout.label(text=problem, icon="ERROR")
        col = layout.column()
        col.scale_y = 1.5
        props = col.operator("parley.generate", text="Generate", icon="PLAY_SOUND")
        props.mode = settings.mode  # the button's tooltip and redo panel show the real mode
        layout.label(text="Esc cancels a running take", icon="INFO")


def draw_character(box, context, obj):
    """The character's meshes Generate drives with the head: a tick box each, what it does, Add Selected."""
    plans = _character.find(obj, context.scene)
    col = box.column(align=True)
    col.label(text=f"Character: {len(_character.driven(plans))} of {len(plans)} meshes driven", icon="COMMUNITY")
    for i, plan in enumerate(plans):
        row = col.row(align=True)
        if i == 0:
            row.label(text=f"{plan.name}: {plan.summary()}", icon="CHECKBOX_HLT")
        else:
            row.prop(plan.obj.parley, "include", text=f"{plan.name}: {plan.summary()}")
    box.operator("parley.character_add", icon="ADD")
    if any(p.kind == _parts.VISEMES for p in plans):
        box.label(text="visemes: Parley's mapping (editable: inference/visemes.json, docs/visemes.md)")
        box.prop(context.scene.parley, "viseme_table", text="Table")
    rest = {"tongueOut (no tongue curve)" if n.lower().replace("_", "") == "tongueout" else
            "visemes beside ARKit keys" for p in plans for n in p.at_rest}
    if rest:
        box.label(text="at rest: " + ", ".join(sorted(rest, reverse=True)), icon="INFO")


class _Sub:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Parley"
    bl_parent_id = "PARLEY_PT_main"


class PARLEY_PT_speech(_Sub, bpy.types.Panel):
    bl_label = "Speech"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.parley
        layout.prop(settings, "source", expand=True)
        if settings.source == "FILE":
            layout.prop(settings, "audio_path", text="")
            layout.prop(settings, "start_frame")
            layout.prop(settings, "add_sound_to_sequencer")
        else:
            seq = context.scene.sequence_editor
            if seq is None:
                layout.label(text="no Sequencer strips in this scene", icon="INFO")
            else:
                every = "strips_all" if hasattr(seq, "strips_all") else "sequences_all"
                layout.prop_search(settings, "sound_strip", seq, every, text="", icon="SOUND")
                layout.label(text="the take starts where the strip starts")
        _axes, _latent, problem = _style.layout()
        if not problem:  # an unreadable model is reported by the main panel
            col = layout.column(align=True)
            for i, text in enumerate(language_lines(_style.trained_languages())):
                col.label(text=text, icon="WORLD" if i == 0 else "BLANK1")


LANGUAGE_NAMES = {"en": "English"}
SHOWN_CODES = 8  # ISO codes that fit a sidebar line


def language_lines(codes):
    """Two short sidebar lines on the languages a model learned (``codes``: its metadata's, [] when it does not
    say: models up to 3.1 learned English speech only). There is no language setting: the model hears audio."""
    codes = list(codes) or ["en"]
    if len(codes) == 1:
        name = LANGUAGE_NAMES.get(codes[0], codes[0])
        return [f"Language: trained on {name} speech;", "other languages work roughly (model card)"]
    shown = " ".join(codes[:SHOWN_CODES]) + (" …" if len(codes) > SHOWN_CODES else "")
    return ["Any language: no setting needed", f"trained on {len(codes)}: {shown}"]


class PARLEY_PT_style(_Sub, bpy.types.Panel):
    bl_label = "Style"

    def draw_header_preset(self, context):
        row = self.layout.row(align=True)
        row.menu("PARLEY_MT_style_presets", text="", icon="PRESET")
        row.operator("parley.style_preset_add", text="", icon="ADD")
        row.operator("parley.style_preset_add", text="", icon="REMOVE").remove_active = True

    def draw(self, context):
        layout = self.layout
        settings = context.scene.parley
        axes, latent, problem = _style.layout()
        if problem:
            layout.label(text="no style sliders: the model is unreadable", icon="ERROR")
        col = layout.column(align=True)
        for axis in axes:
            col.prop(settings.style, axis.name)
        row = layout.row(align=True)
        row.operator("parley.sample_style", text="Sample Style", icon="SHADERFX").seed = -1
        row.prop(settings, "style_sample_seed", text="Seed")
        row.operator("parley.sample_style", text="", icon="FILE_REFRESH").seed = settings.style_sample_seed
        box = layout.box()
        box.label(text="Mimic a reference animation")
        box.prop(settings, "mimic_object", text="Head")
        box.prop(settings, "mimic_action", text="Action")
        box.operator("parley.mimic", icon="ANIM")


class PARLEY_PT_output(_Sub, bpy.types.Panel):
    bl_label = "Output"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.parley
        layout.prop(settings, "mode", expand=True)
        layout.prop(settings, "seed")
        if settings.mode in ("SHAPE_KEYS", "BOTH"):
            layout.prop(settings, "push_to_nla")
        layout.prop(settings, "existing", text="Existing")
        if settings.mode in ("MESH_CACHE", "BOTH"):
            layout.prop(settings, "cache_dir", text="Cache")
            if not settings.cache_dir:
                where = "//parley/ next to the .blend" if bpy.data.filepath else \
                    "Parley's user folder until the .blend is saved"
                layout.label(text=f"caches go to {where}")
        scene = context.scene
        layout.label(text=f"{scene_fps(scene):g} fps (the scene's frame rate)")


class PARLEY_PT_life(_Sub, bpy.types.Panel):
    """Head motion, eyes, listening and dialogue (operators/_life.py, operators/listen.py)."""
    bl_label = "Life"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.parley
        obj = context.active_object
        col = layout.column(align=True)
        col.prop(settings, "head_motion", slider=True)
        col.prop(settings, "gaze", slider=True)
        layout.prop_search(settings, "look_at", bpy.data, "objects", icon="HIDE_OFF")
        arm = _head_bone.own_armature(obj) if obj is not None and obj.type == "MESH" else None
        if arm is not None:
            layout.prop_search(settings, "head_bone", arm.data, "bones", icon="BONE_DATA")
            found = find_head_bone(arm.data.bones.keys(), settings.head_bone)
            layout.label(text=f"keys {arm.name} > {found}" if found else "no head bone found: pick one",
                         icon="INFO" if found else "ERROR")
        elif obj is not None and obj.type == "MESH" and _target.is_flame(obj):
            layout.label(text="the head turns on a bone Parley adds", icon="INFO")
        row = layout.row()
        row.operator("parley.listen", icon="OUTLINER_OB_SPEAKER")
        box = layout.box()
        box.label(text="Dialogue")
        box.prop_search(settings, "dialogue_object", bpy.data, "objects", text="Partner")
        box.prop(settings, "listen_audio", text="Audio")
        box.label(text="Generate and Listen hear the partner's audio", icon="INFO")
        box.operator("parley.dialogue", icon="COMMUNITY")


classes = (PARLEY_PT_main, PARLEY_PT_speech, PARLEY_PT_style, PARLEY_PT_output, PARLEY_PT_life)


# registered in order, unregistered in reverse
register, unregister = bpy.utils.register_classes_factory(classes)
