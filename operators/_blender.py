"""Small facts about the running Blender and its scene, asked in one place instead of spelled out per caller."""
import bpy


def slotted_actions():
    """Blender 4.4+ keys Actions through slots and channel bags; 4.2/4.3 use ``Action.fcurves``."""
    return bpy.app.version >= (4, 4, 0)


def scene_fps(scene):
    """Frames per second of a scene (23.976 and 29.97 are ``fps / fps_base`` with fps_base 1.001)."""
    return scene.render.fps / scene.render.fps_base


def register_built_classes_factory(build):
    """``bpy.utils.register_classes_factory`` for classes made at register time (their properties
    follow the installed model's style axes): ``register()`` builds and registers them in order,
    ``unregister()`` removes them in reverse."""
    built = []

    def register():
        built[:] = build()
        for cls in built:
            bpy.utils.register_class(cls)

    def unregister():
        for cls in reversed(built):
            bpy.utils.unregister_class(cls)
        built.clear()

    return register, unregister
