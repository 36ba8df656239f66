"""Runtime loader: providers, one-line errors, metadata, style vectors, the style prior and Mimic."""
import warnings

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from inference.arkit import RIG_NAMES
from inference.errors import ModelError
from inference.model import DEFAULT_PATH, load_model


@pytest.fixture(scope="module")
def model_path(runtime_model_path):
    return runtime_model_path


@pytest.fixture(scope="module")
def model(model_path):
    return load_model(model_path)


def test_metadata(model):
    meta = model.meta
    assert meta.sample_rate == 16000 and meta.fps == 50
    assert meta.curve_names == RIG_NAMES
    assert meta.style_names[:3] == ("articulation", "jaw_lips", "smile")
    assert meta.style_dim == len(meta.style_axes) + meta.latent_dim
    assert meta.providers == ("CPUExecutionProvider",)
    assert meta.version == "0.0-test"
    assert set(meta.upper_face_curves) <= set(RIG_NAMES) and "jawOpen" not in meta.upper_face_curves


@pytest.mark.parametrize("case", ["missing", "folder", "corrupt", "empty"])
def test_bad_model_files_raise_one_line(tmp_path, case):
    path = tmp_path / "parley.onnx"
    if case == "folder":
        path.mkdir()
    elif case == "corrupt":
        path.write_bytes(b"\x08\x07not an onnx graph" * 50)
    elif case == "empty":
        path.write_bytes(b"")
    with pytest.raises(ModelError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and str(path.name) in message


def test_cuda_request_falls_back_to_cpu_with_a_warning(model_path):
    import onnxruntime as ort
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here; the fallback cannot be exercised")
    with pytest.warns(RuntimeWarning, match="CUDA.*CPU"):
        m = load_model(model_path, device="cuda")
    assert m.meta.providers == ("CPUExecutionProvider",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_model(model_path, device="auto").meta.providers == ("CPUExecutionProvider",)


def test_unknown_device(model_path):
    with pytest.raises(ModelError):
        load_model(model_path, device="tpu")


def test_style_vector(model):
    axes = model.meta.style_axes
    v = model.style_vector(None)
    assert v.dtype == np.float32 and v.shape == (model.meta.style_dim,)
    assert np.allclose(v[:len(axes)], [a.default for a in axes]) and not v[len(axes):].any()
    v = model.style_vector({"smile": 5.0, "happy": -3.0}, latent=np.ones(model.meta.latent_dim))
    names = model.meta.style_names
    assert v[names.index("smile")] == 1.0 and v[names.index("happy")] == 0.0
    assert np.all(v[len(axes):] == 1.0)
    with pytest.raises(ModelError, match="unknown style 'sparkle'"):
        model.style_vector({"sparkle": 1.0})
    with pytest.raises(ModelError):
        model.style_vector(None, latent=[1.0])
    with pytest.raises(ModelError):
        model.style_vector({"smile": float("nan")})


def test_sample_style_is_reproducible_and_in_range(model):
    a, la = model.sample_style(7)
    b, lb = model.sample_style(7)
    assert a == b and np.array_equal(la, lb)
    draws = [model.sample_style(s)[0] for s in range(20)]
    assert len({tuple(d.values()) for d in draws}) == 20
    for d in draws:
        for axis in model.meta.style_axes:
            assert axis.lo <= d[axis.name] <= axis.hi


def test_mimic(model):
    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 0.5, (24 * 4, len(RIG_NAMES))).astype(np.float32)
    style = model.mimic(ref, 24.0)
    assert style.shape == (model.meta.style_dim,) and style.dtype == np.float32
    named, _ = model.style_from_vector(style)
    for axis in model.meta.style_axes:
        assert axis.lo <= named[axis.name] <= axis.hi
    assert np.array_equal(style, model.mimic(ref, 24.0))
    # other spellings of the names are accepted
    live_link = [n[0].upper() + n[1:].replace("_L", "Left").replace("_R", "Right") for n in RIG_NAMES]
    assert np.allclose(model.mimic(ref, 24.0, names=live_link), style, atol=1e-6)
    with pytest.raises(ModelError, match="at least"):
        model.mimic(ref[:10], 24.0)


def test_shipped_model_loads():
    if not DEFAULT_PATH.exists():
        pytest.skip("models/parley.onnx has not been exported yet")
    m = load_model()
    assert m.meta.curve_names == RIG_NAMES and m.meta.version
    assert (DEFAULT_PATH.parent / (m.meta.style_encoder or "parley_style.onnx")).exists()
