"""Shared fixtures: the FLAME test heads (read from ../shared/flame, never copied) and ways to
make other identities/poses from them by code.

- ``flame_dir``: Path of ../shared/flame (or $PARLEY_FLAME_DIR); skips the test when absent.
- ``load_head(name)``: (vertices float64 [V,3], faces int64 [F,3]) of ``flame_template`` or
  ``flame_registered``.
- ``random_similarity(rng, scale=None)``: (R [3,3], s, t) with a random rotation, a scale in
  [0.5, 150] unless given, a random translation; ``apply_similarity(v, (R, s, t)) = s v R^T + t``.
- ``YUP_TO_ZUP``: Blender's import rotation (Y-up -> Z-up, +90 degrees about X).
- ``runtime_model_path``: a small motion model for the runtime's tests, once per kind: ``tiny`` (committed,
  built with onnx.helper by tests/fixtures/make_tiny_model.py, needs no torch) and ``exported`` (a random
  network through models.training.export.build_test_model; skipped where torch is not installed).
- ``smooth_deform(v, rng, amplitude)``: a smooth, bounded random displacement field (low-frequency
  sines, ``amplitude`` in the head's units): a different identity with the same topology.
"""
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = ROOT / "tests" / "fixtures" / "tiny_model" / "parley.onnx"
HEADS = ("flame_template", "flame_registered")
YUP_TO_ZUP = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


@pytest.fixture(scope="session", autouse=True)
def _private_rig_cache(tmp_path_factory):
    """The CLI caches rigs in the user's cache folder: tests (and their subprocesses) use their own."""
    if "PARLEY_CACHE_DIR" not in os.environ:
        os.environ["PARLEY_CACHE_DIR"] = str(tmp_path_factory.mktemp("parley-cache"))
    yield


def _flame_dir():
    return Path(os.environ.get("PARLEY_FLAME_DIR", ROOT.parent / "shared" / "flame"))


@pytest.fixture(scope="session")
def flame_dir():
    path = _flame_dir()
    if not (path / "flame_template.ply").exists():
        pytest.skip(f"FLAME test heads not found in {path} (set PARLEY_FLAME_DIR); they are never shipped")
    return path


@pytest.fixture(scope="session", params=["tiny", "exported"])
def runtime_model_path(request, tmp_path_factory):
    if request.param == "tiny":
        return str(TINY_MODEL)
    pytest.importorskip("torch")
    from models.training.export import build_test_model
    return build_test_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def load_head(flame_dir):
    from inference.meshio import load_mesh
    cache = {}

    def load(name="flame_template"):
        if name not in cache:
            cache[name] = load_mesh(flame_dir / f"{name}.ply")
        v, f = cache[name]
        return v.copy(), f.copy()
    return load


def random_similarity(rng, scale=None):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    s = float(scale if scale is not None else np.exp(rng.uniform(np.log(0.5), np.log(150.0))))
    return R, s, rng.normal(size=3) * s * 0.3


def apply_similarity(v, transform):
    R, s, t = transform
    return s * v @ R.T + t


def smooth_deform(v, rng, amplitude):
    """v + sum of 3 low-frequency sine fields (wavelength ~ the head's size)."""
    size = np.ptp(v, axis=0).max()
    out = v.copy()
    for _ in range(3):
        k = rng.normal(size=3)
        k *= 2 * np.pi / (size * rng.uniform(0.8, 1.6) * np.linalg.norm(k))
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        out += amplitude / 3 * np.sin(v @ k + rng.uniform(0, 2 * np.pi))[:, None] * direction
    return out
