"""Export: opset >= 17, named inputs/outputs with dynamic time axes, metadata, onnxruntime == torch."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from inference.arkit import RIG_NAMES
from models.training.export import build_test_model
from models.training.network import MotionNet, NetConfig, n_frames, n_noise_steps
from models.training.style_axes import STYLE_NAMES


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    path = build_test_model(folder)
    ckpt = torch.load(folder / "test.pt", weights_only=False)
    net = MotionNet(NetConfig.from_dict(ckpt["cfg"]))
    net.load_state_dict(ckpt["ema_net"])
    return path, net.eval()


def test_graph_contract(exported):
    path, _ = exported
    model = onnx.load(path)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    inputs = {i.name: i for i in model.graph.input}
    assert list(inputs) == ["audio", "style", "noise"]
    assert [o.name for o in model.graph.output] == ["curves"]
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    assert isinstance(dims(inputs["audio"])[1], str) and isinstance(dims(inputs["noise"])[1], str)
    assert isinstance(dims(model.graph.output[0])[1], str)
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("sample_rate", "fps", "curve_names", "style_axes", "latent_dim", "prior", "version",
                "noise_dim", "noise_step", "receptive_field_s", "upper_face_curves"):
        assert key in meta, key
    assert json.loads(meta["curve_names"]) == list(RIG_NAMES)
    assert [a["name"] for a in json.loads(meta["style_axes"])] == list(STYLE_NAMES)
    prior = json.loads(meta["prior"])
    assert np.isclose(sum(prior["weights"]), 1.0)


@pytest.mark.parametrize("seconds", [0.5, 2.37, 9.0])
def test_onnxruntime_equals_torch(exported, seconds):
    path, net = exported
    cfg = net.cfg
    rng = np.random.default_rng(int(seconds * 100))
    n = int(seconds * 16000)
    audio = (0.2 * rng.standard_normal((1, n))).astype(np.float32)
    style = rng.uniform(-1, 1, (1, cfg.style_dim)).astype(np.float32)
    noise = rng.standard_normal((1, n_noise_steps(n_frames(n), cfg), cfg.noise_dim)).astype(np.float32)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {"audio": audio, "style": style, "noise": noise})[0]
    with torch.no_grad():
        want = net(torch.from_numpy(audio), torch.from_numpy(style), torch.from_numpy(noise)).numpy()
    assert got.shape == want.shape == (1, n_frames(n), len(RIG_NAMES))
    assert np.abs(got - want).max() <= 1e-4
    assert got.min() >= 0.0 and got.max() <= 1.0


def test_style_encoder_graph(exported):
    path, _ = exported
    style_path = str(path).replace("parley.onnx", "parley_style.onnx")
    session = ort.InferenceSession(style_path, providers=["CPUExecutionProvider"])
    for frames in (60, 333):
        out = session.run(None, {"curves": np.random.default_rng(frames).uniform(0, 1, (1, frames, 51)).astype(np.float32)})[0]
        assert out.shape == (1, len(STYLE_NAMES) + NetConfig().latent_dim)


def test_shipped_model_is_small_and_versioned():
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "models" / "parley.onnx"
    if not path.exists():
        pytest.skip("models/parley.onnx has not been exported yet")
    assert path.stat().st_size <= 10 * 1024 * 1024
    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    assert meta["version"]
    assert int(meta["sample_rate"]) == 16000


def test_heads_write_their_own_curves():
    """Channel j of the lower head is LOWER_NAMES[j] in RIG_NAMES order; noise never reaches the lips."""
    from models.training.network import LOWER_NAMES, UPPER_NAMES
    torch.manual_seed(0)
    net = MotionNet(NetConfig(channels=16, dilations=(1,), upper_channels=8, style_hidden=8)).eval()
    audio, style = torch.randn(1, 8000) * 0.1, torch.zeros(1, net.cfg.style_dim)
    noise = torch.randn(1, 4, net.cfg.noise_dim)
    with torch.no_grad():
        base = net(audio, style, noise)
        for head, names in ((net.lower[-1], LOWER_NAMES), (net.upper[-1], UPPER_NAMES)):
            for j in (0, len(names) - 1):
                head.bias[j] += 5.0
                moved = (net(audio, style, noise) - base).abs().amax(dim=(0, 1))
                head.bias[j] -= 5.0
                assert [RIG_NAMES[k] for k in torch.nonzero(moved > 1e-6).flatten().tolist()] == [names[j]]
        other = net(audio, style, torch.randn(1, 4, net.cfg.noise_dim))
    lower = [RIG_NAMES.index(n) for n in LOWER_NAMES]
    upper = [RIG_NAMES.index(n) for n in UPPER_NAMES]
    assert torch.equal(base[..., lower], other[..., lower])
    assert (base[..., upper] - other[..., upper]).abs().max() > 1e-4
