"""``parley.mimic``: set the style sliders from a reference animation (another head, or an Action)."""
import bpy
import numpy as np

from ..inference.arkit import RIG_NAMES, match_names
from ..inference.errors import ParleyError
from . import _runtime, _shapekeys, _style
from ._blender import scene_fps


def reference_action(context, object_name, action_name):
    """-> (Action, where it came from) or ParleyError."""
    if action_name:
        action = bpy.data.actions.get(action_name)
        if action is None:
            raise ParleyError(f"no Action named '{action_name}'; pick one from the list")
        return action, f"Action '{action.name}'"
    obj = bpy.data.objects.get(object_name) if object_name else None
    if obj is None:
        raise ParleyError("no reference: pick a head with shape-key animation or an Action")
    key = obj.data.shape_keys if obj.type == "MESH" else None
    ad = key.animation_data if key is not None else None
    if ad is None or ad.action is None:
        raise ParleyError(f"{obj.name} has no shape-key animation to mimic; pick an animated head or an Action")
    return ad.action, f"{obj.name}'s Action '{ad.action.name}'"


def sample_curves(action):
    """-> (values [T, K] at every frame of the action, names) for its ARKit-named shape-key curves."""
    by_key = {}
    for fc in _shapekeys.action_fcurves(action):
        key_name = _shapekeys.key_name_of(fc.data_path)
        if key_name is not None:
            by_key.setdefault(key_name, fc)
    curves = {curve: by_key[key_name] for curve, key_name in match_names(by_key, RIG_NAMES).items()}
    if not curves:
        raise ParleyError(f"Action '{action.name}' has no ARKit-named shape-key curves (jawOpen, eyeBlink_L, ...)")
    start, end = (int(round(f)) for f in action.frame_range)
    frames = np.arange(start, end + 1)
    names = list(curves)
    values = np.array([[curves[n].evaluate(float(f)) for n in names] for f in frames], np.float32)
    return values, names


class PARLEY_OT_mimic(bpy.types.Operator):
    bl_idname = "parley.mimic"
    bl_label = "Mimic"
    bl_description = "Set the style sliders to the speaking style of a reference shape-key animation"
    bl_options = {"REGISTER", "UNDO"}

    source_object: bpy.props.StringProperty(name="Reference head", description="object with shape-key animation")
    action: bpy.props.StringProperty(name="Action", description="an Action with ARKit-named shape-key curves")

    @classmethod
    def poll(cls, context):
        if getattr(context.scene, "parley", None) is None:
            cls.poll_message_set("Parley is not registered in this scene")
            return False
        return True

    def invoke(self, context, event):
        settings = context.scene.parley
        if not self.properties.is_property_set("action") and settings.mimic_action:
            self.action = settings.mimic_action.name
        if not self.properties.is_property_set("source_object") and settings.mimic_object:
            self.source_object = settings.mimic_object.name
        return self.execute(context)

    def execute(self, context):
        scene = context.scene
        try:
            action, where = reference_action(context, self.source_object, self.action)
            values, names = sample_curves(action)
            fps = scene_fps(scene)
            model, warnings = _runtime.get_model(**_runtime.model_settings(context))
            vector = model.mimic(values, fps, names)
            named, latent = model.style_from_vector(vector)
        except ParleyError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        shown = _style.adopt(self, scene.parley.style, named, latent, warnings)
        self.report({"INFO"}, f"Parley: style of {where} ({values.shape[0]} frames): {shown}")
        return {"FINISHED"}


classes = (PARLEY_OT_mimic,)


# registered in order, unregistered in reverse
register, unregister = bpy.utils.register_classes_factory(classes)
