"""``parley.character_add``: the selected meshes join the active head's character (Generate drives them too)."""
import bpy

from ..inference.parts import plan_mesh
from . import _character


class PARLEY_OT_character_add(bpy.types.Operator):
    bl_idname = "parley.character_add"
    bl_label = "Add Selected"
    bl_description = ("Generate on the active head also drives the selected meshes' ARKit or viseme shape keys "
                      "(for meshes Parley did not find through the armature, the parents or the collection)")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        head = context.active_object
        if head is None or head.type != "MESH":
            cls.poll_message_set("select the head last (active) and the meshes to add")
            return False
        return any(o != head and o.type == "MESH" for o in context.selected_objects)

    def execute(self, context):
        head = context.active_object
        added, skipped = [], []
        for obj in context.selected_objects:
            if obj == head or obj.type != "MESH":
                continue
            if plan_mesh(obj.name, _character.key_names(obj)) is None:
                skipped.append(obj.name)
                continue
            obj.parley.character = head
            obj.parley.include = True
            added.append(obj.name)
        if skipped:
            self.report({"WARNING"}, f"{', '.join(skipped)}: no ARKit shape keys or visemes, not added")
        if not added:
            return {"CANCELLED"}
        self.report({"INFO"}, f"Generate on {head.name} now also drives {', '.join(added)}")
        return {"FINISHED"}


classes = (PARLEY_OT_character_add,)
register, unregister = bpy.utils.register_classes_factory(classes)
