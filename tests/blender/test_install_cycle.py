"""Installing and removing the zip with Blender's own tools, twice: the second install works like the first
and removal leaves no registered classes, properties or unpacked wheels behind."""
import json
import os
import sys

import bpy
from blender_helpers import installed_extension


def test_install_remove_install(extension_zip):
    user = bpy.utils.user_resource("EXTENSIONS")
    for _ in range(2):
        with installed_extension(extension_zip) as name:
            assert hasattr(bpy.types.Scene, "parley")
            loaded = json.dumps(sorted(k for k in sys.modules if k.startswith(name)))
            assert "operators.generate" in loaded
            wheels = os.path.join(user, ".local")
            assert any("onnxruntime" in d for _r, ds, _f in os.walk(wheels) for d in ds)
        assert not hasattr(bpy.types.Scene, "parley")
        assert not hasattr(bpy.types, "PARLEY_OT_generate")
        leftover = [d for _r, ds, _f in os.walk(os.path.join(user, ".local")) for d in ds if "onnxruntime" in d]
        assert not leftover, leftover


