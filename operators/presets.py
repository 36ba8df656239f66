"""Style presets through Blender's preset system (AddPresetBase): saved as small scripts under the
user's ``scripts/presets/parley/style/`` and applied with ``script.execute_preset``."""
import bpy
from bl_operators.presets import AddPresetBase

from . import _style
from ._blender import register_built_classes_factory

PRESET_SUBDIR = "parley/style"


class PARLEY_MT_style_presets(bpy.types.Menu):
    bl_label = "Style Presets"
    preset_subdir = PRESET_SUBDIR
    preset_operator = "script.execute_preset"
    draw = bpy.types.Menu.draw_preset


def make_add_operator():
    axes, latent, _problem = _style.layout()
    values = [f"style.{a.name}" for a in axes] + (["style.latent"] if latent else [])
    return type("PARLEY_OT_style_preset_add", (AddPresetBase, bpy.types.Operator), {
        "bl_idname": "parley.style_preset_add",
        "bl_label": "Add Style Preset",
        "bl_description": "Save the style sliders as a preset, or remove the selected one",
        "preset_menu": "PARLEY_MT_style_presets",
        "preset_defines": ["style = bpy.context.scene.parley.style"],
        "preset_values": values,
        "preset_subdir": PRESET_SUBDIR,
    })


register, unregister = register_built_classes_factory(lambda: (PARLEY_MT_style_presets, make_add_operator()))
