"""``parley.build_rig``: the ARKit rig of a FLAME-topology head as shape keys (+ corrective drivers)."""
import bpy

from ..inference.errors import ParleyError
from . import _shapekeys, _target


class PARLEY_OT_build_rig(bpy.types.Operator):
    bl_idname = "parley.build_rig"
    bl_label = "Build Rig"
    bl_description = ("Add the 51 ARKit shape keys of this FLAME head, computed from its own geometry, "
                      "plus correctives driven by products of their source keys")
    bl_options = {"REGISTER", "UNDO"}

    rebuild: bpy.props.BoolProperty(name="Rebuild", default=False,
                                    description="replace the keys a previous Build rig added (animation keeps "
                                                "playing: the names stay the same)")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        kind, why = _target.describe(obj)
        if kind in (_target.NONE, _target.NOT_MESH, _target.EDIT_MODE, _target.NOT_FLAME):
            cls.poll_message_set(why)
            return False
        if not _target.is_flame(obj):
            cls.poll_message_set(f"{obj.name} is not FLAME topology; its own ARKit keys are driven directly")
            return False
        return True

    def execute(self, context):
        obj = context.active_object
        try:
            if _target.has_parley_rig(obj) and not self.rebuild:
                raise ParleyError(f"{obj.name} already has Parley's rig; use Rebuild rig to compute it again")
            if not _target.has_parley_rig(obj) and _target.arkit_keys(obj):
                raise ParleyError(f"{obj.name} already has ARKit shape keys of its own; Parley drives them "
                                  "directly (delete them first to use Parley's rig instead)")
            from ..inference.rig import build_rig
            verts = _shapekeys.vertices(obj).astype("float64")
            rig = build_rig(verts, _shapekeys.triangles(obj))
            if self.rebuild:
                _shapekeys.remove_rig_keys(obj)
            added = _shapekeys.create_rig_keys(obj, rig)
        except ParleyError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Parley: rig on {obj.name}: {len(rig.names)} ARKit shape keys and "
                              f"{len(rig.corrective_names)} correctives ({len(added)} keys added)")
        return {"FINISHED"}


classes = (PARLEY_OT_build_rig,)


# registered in order, unregistered in reverse
register, unregister = bpy.utils.register_classes_factory(classes)
