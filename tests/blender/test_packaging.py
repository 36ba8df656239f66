"""The zips for every platform: Blender's builder and validator accept them, each is under 60 MB, each
carries the onnxruntime wheels for Python 3.11 and 3.13 of its platform, and nothing that is not the
extension (training, tests, scripts, assets, docs) goes in."""
import zipfile

import pytest

import build_extension

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    from blender_helpers import model_dir
    try:
        return build_extension.build(list(build_extension.PLATFORMS), tmp_path_factory.mktemp("all"), model_dir())
    except build_extension.BuildError as exc:
        pytest.fail(str(exc))


def test_every_platform_builds_small_and_complete(zips):
    assert len(zips) == 4
    for z in zips:
        assert z.stat().st_size < 60_000_000, z.name
        names = zipfile.ZipFile(z).namelist()
        wheels = [n for n in names if n.startswith("wheels/")]
        assert sorted(w.split("-")[2] for w in wheels) == ["cp311", "cp313"], (z.name, wheels)
        assert {"blender_manifest.toml", "__init__.py", "models/parley.onnx", "models/parley_style.onnx",
                "operators/generate.py", "panels/sidebar.py", "inference/rig.py"} <= set(names)
        for banned in ("tests/", "scripts/", "models/training/", "assets/", "docs/", "benchmarks/", ".git"):
            assert not [n for n in names if n.startswith(banned)], (z.name, banned)
        assert not [n for n in names if "__pycache__" in n or n.endswith((".pt", ".png"))]
