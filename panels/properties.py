"""The sidebar's settings: ``Scene.parley`` (speech, style, output), ``Object.parley`` (last take, character).

The generate options the sidebar shows are declared once, in operators/_settings.py. The style group
has one slider per axis of the installed model, so its class is built at registration (see
operators/_style.py); the scene group points at it.
"""
import bpy

from ..operators import _settings, _style


class PARLEY_PG_object(bpy.types.PropertyGroup):
    last_take: bpy.props.StringProperty(name="Last take", description="audio of the last take on this head")
    last_seed: bpy.props.IntProperty(name="Last seed")
    # the whole character (operators/_character.py): which meshes Generate on the head drives with it
    include: bpy.props.BoolProperty(name="Include", default=True, description="Generate on this character's head "
                                    "also drives this mesh's shape keys; untick to leave the mesh as it is")
    character: bpy.props.PointerProperty(name="Character head", type=bpy.types.Object, description="the head "
                                         "whose takes also drive this mesh (set by Add Selected)")


def make_style_group():
    return type("PARLEY_PG_style", (bpy.types.PropertyGroup,), {"__annotations__": _style.axis_properties()})


def make_scene_group(style_group):
    props = {
        "source": bpy.props.EnumProperty(name="Speech", default="FILE", items=[
            ("FILE", "File", "an audio file"), ("STRIP", "Sound strip", "a sound strip of the Sequencer")]),
        **_settings.properties("sidebar"),  # the operator's options the sidebar shows (operators/_settings.py)
        "style": bpy.props.PointerProperty(type=style_group),
        "style_sample_seed": bpy.props.IntProperty(name="Style seed", default=0, min=0,
                                                   description="seed of the last Sample style"),
        "mimic_object": bpy.props.PointerProperty(name="Reference", type=bpy.types.Object,
                                                  description="a head whose shape-key animation sets the style"),
        "mimic_action": bpy.props.PointerProperty(name="Action", type=bpy.types.Action,
                                                  description="an Action with ARKit-named shape-key curves"),
    }
    return type("PARLEY_PG_scene", (bpy.types.PropertyGroup,), {"__annotations__": props})


classes = ()


def register():
    global classes
    style = make_style_group()
    classes = (PARLEY_PG_object, style, make_scene_group(style))
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.parley = bpy.props.PointerProperty(type=classes[-1])
    bpy.types.Object.parley = bpy.props.PointerProperty(type=PARLEY_PG_object)


def unregister():
    global classes
    del bpy.types.Object.parley
    del bpy.types.Scene.parley
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
    classes = ()
