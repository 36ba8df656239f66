"""Blender-side test fixtures: build the extension zip, install it with Blender's own installer into a
temporary user folder, and import the FLAME heads the way an artist would (Z-up, scaled, moved).

Each test module installs the zip once (module scope) and removes it again afterwards, restoring
BLENDER_USER_RESOURCES, so the rest of the suite (and its subprocesses) never sees it.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

if "bpy" not in sys.modules:  # keep Blender's user folder (presets, preferences) away from the real one
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="parley-user-")
bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_extension  # noqa: E402

PLATFORM = {"linux": "linux-x64", "win32": "windows-x64"}.get(sys.platform, "macos-arm64")


def model_dir_for_tests():
    """None when models/parley.onnx ships; else a small random model built with torch (cached in build/)."""
    if (REPO / "models" / "parley.onnx").is_file() and (REPO / "models" / "parley_style.onnx").is_file():
        return None
    folder = REPO / "build" / "test-model"
    if not (folder / "parley.onnx").is_file():
        try:
            import torch  # noqa: F401
        except ImportError:
            pytest.skip("models/parley.onnx is not exported yet and torch is missing to build a test model")
        import subprocess
        code = "import sys; from models.training.export import build_test_model; build_test_model(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(folder)], cwd=REPO, check=True, capture_output=True)
    return folder


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    try:
        zips = build_extension.build([PLATFORM], out, model_dir_for_tests())
    except build_extension.BuildError as exc:
        pytest.fail(f"building the extension failed: {exc}")
    return zips[0]


def installed_extension(zip_path):
    """Context manager: the zip installed with Blender's installer into a temporary repository, enabled.

    A repository of its own (custom directory) keeps the user's extensions untouched; removing it
    afterwards unregisters the extension, so each test module starts from a clean Blender.
    """
    import contextlib

    @contextlib.contextmanager
    def manager():
        folder = tempfile.mkdtemp(prefix="parley-repo-")
        repos = bpy.context.preferences.extensions.repos
        repo = repos.new(name="parley_test", module="parley_test", custom_directory=folder, source="USER")
        try:
            result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=repo.module,
                                                              enable_on_install=True)
            assert result == {"FINISHED"}, result
            name = f"bl_ext.{repo.module}.parley"
            assert name in bpy.context.preferences.addons.keys(), "the extension did not enable"
            yield name
        finally:
            repos.remove(repo)
            bpy.ops.wm.read_homefile(use_empty=True)
            shutil.rmtree(folder, ignore_errors=True)

    return manager()


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


