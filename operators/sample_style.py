"""``parley.sample_style``: draw a speaker style from the model's learned prior (seeded, reproducible)."""
import random

import bpy

from ..inference.errors import ParleyError
from . import _runtime, _style


class PARLEY_OT_sample_style(bpy.types.Operator):
    bl_idname = "parley.sample_style"
    bl_label = "Sample Style"
    bl_description = "Set the style sliders to a plausible speaker drawn from the model's prior"
    bl_options = {"REGISTER", "UNDO"}

    seed: bpy.props.IntProperty(name="Seed", default=-1, min=-1,
                                description="the same seed gives the same style; -1 picks a new seed")

    @classmethod
    def poll(cls, context):
        if getattr(context.scene, "parley", None) is None:
            cls.poll_message_set("Parley is not registered in this scene")
            return False
        return True

    def execute(self, context):
        settings = context.scene.parley
        seed = self.seed if self.seed >= 0 else random.SystemRandom().randrange(0, 2**31 - 1)
        try:
            model, warnings = _runtime.get_model(**_runtime.model_settings(context))
            named, latent = model.sample_style(seed)
        except ParleyError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        shown = _style.adopt(self, settings.style, named, latent, warnings)
        settings.style_sample_seed = seed
        self.report({"INFO"}, f"Parley: style seed {seed}: {shown}")
        return {"FINISHED"}


classes = (PARLEY_OT_sample_style,)


# registered in order, unregistered in reverse
register, unregister = bpy.utils.register_classes_factory(classes)
