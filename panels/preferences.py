"""Add-on preferences: where the model runs (device, threads) and which model file."""
import bpy

ROOT_PACKAGE = __package__.rpartition(".")[0]


def _model_changed(self, context):
    """Drop the loaded model and re-read the new file's metadata, so the panel reports on it at once."""
    from ..operators import _runtime, _style
    _runtime.clear()
    _style.forget()


class PARLEY_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ROOT_PACKAGE

    device: bpy.props.EnumProperty(
        name="Device", default="CPU",
        items=[("AUTO", "Auto", "CUDA when this onnxruntime has it, otherwise the CPU"),
               ("CPU", "CPU", "run the model on the CPU (a minute of speech takes about a second)"),
               ("CUDA", "CUDA", "run on an NVIDIA GPU; falls back to the CPU with a message when missing")])
    threads: bpy.props.IntProperty(name="Threads", default=0, min=0, max=256, update=_model_changed,
                                   description="threads the model may use; 0 lets onnxruntime choose")
    model_path: bpy.props.StringProperty(name="Custom model", subtype="FILE_PATH", default="",
                                         description="a Parley .onnx to use instead of the bundled one "
                                                     "(style sliders follow it after a restart)",
                                         update=_model_changed)

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "device")
        layout.prop(self, "threads")
        layout.prop(self, "model_path")
        from ..operators import _style
        _axes, _latent, problem = _style.layout()
        if problem:
            layout.label(text=problem, icon="ERROR")


classes = (PARLEY_AP_preferences,)


# registered in order, unregistered in reverse
register, unregister = bpy.utils.register_classes_factory(classes)
