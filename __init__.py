"""Parley: speech-driven facial animation on FLAME-topology heads (Blender extension entry point).

Nothing happens at import time; ``register()`` hands over to ``panels`` (preferences first, since
the style sliders read the model path from them) and then ``operators``; ``unregister()`` undoes it
in reverse. The bpy-free core lives in ``inference/``.
"""


def register():
    from . import operators, panels
    panels.register()
    operators.register()


def unregister():
    from . import operators, panels
    operators.unregister()
    panels.unregister()
