"""Blender-side test fixtures: build the extension zip, install it with Blender's own installer into a
temporary user folder, and import the FLAME heads the way an artist would (Z-up, scaled, moved).

Each test module installs the zip once (module scope) into a repository of its own and uninstalls it
afterwards with Blender's own uninstaller, so later modules (and their subprocesses) never see it.
Without the bpy module the folder is not collected at all.
"""
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("bpy") is None:
    collect_ignore_glob = ["test_*.py"]  # no bpy module in this Python: nothing here can run
else:
    if "bpy" not in sys.modules:  # Blender's user folder (presets, unpacked wheels) stays a throw-away one
        os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="parley-user-")
    import bpy
    sys.path.insert(0, str(REPO / "scripts"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_extension
    from blender_helpers import installed_extension, model_dir

PLATFORM = {"linux": "linux-x64", "win32": "windows-x64"}.get(sys.platform, "macos-arm64")


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    try:
        zips = build_extension.build([PLATFORM], out, model_dir())
    except build_extension.BuildError as exc:
        pytest.fail(f"building the extension failed: {exc}")
    return zips[0]


@pytest.fixture(scope="module")
def addon(extension_zip):
    with installed_extension(extension_zip) as name:
        yield name


@pytest.fixture(autouse=True)
def empty_scene(request):
    if "addon" in request.fixturenames:
        request.getfixturevalue("addon")
        bpy.ops.wm.read_homefile(use_empty=True)
    yield


