"""Fine-tuning starts from the released weights: the shipped ONNX model loads back into the training network."""
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from models.training.network import MotionNet, NetConfig, StyleEncoder  # noqa: E402
from models.training.warmstart import load_into, warm_state  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_model_loads_back_into_the_training_network_exactly():
    state = warm_state(str(ROOT / "models/parley.onnx"), str(ROOT / "models/parley_style.onnx"))
    cfg = NetConfig.from_dict(state["cfg"])  # the released network's own shape (blocks, lip seal)
    net = MotionNet(cfg)
    net.load_state_dict(state["ema_net"])
    net.eval()
    StyleEncoder(cfg).load_state_dict(state["enc"])
    session = ort.InferenceSession(str(ROOT / "models/parley.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    audio = (rng.normal(size=(1, 32000)) * 0.1).astype(np.float32)
    style = np.zeros((1, 15), np.float32)
    noise = rng.normal(size=(1, 11, 8)).astype(np.float32)
    expected = session.run(None, {"audio": audio, "style": style, "noise": noise})[0]
    with torch.no_grad():
        got = net(torch.from_numpy(audio), torch.from_numpy(style), torch.from_numpy(noise)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


def test_a_model_of_a_network_this_code_cannot_build_is_refused_with_what_to_do(tmp_path):
    import onnx

    model = onnx.load(str(ROOT / "models/parley.onnx"))
    for prop in model.metadata_props:
        if prop.key == "network":
            prop.value = '{"channels": 128, "dilations": [1], "attention_heads": 4}'
    onnx.save(model, str(tmp_path / "future.onnx"))
    with pytest.raises(SystemExit, match="cannot build .*update Parley"):
        warm_state(str(tmp_path / "future.onnx"), str(ROOT / "models/parley_style.onnx"))


def test_a_model_of_another_network_is_refused_by_name():
    with pytest.raises(SystemExit, match="lacks"):
        load_into(MotionNet(NetConfig()), {"conv_in.weight": np.zeros((128, 80, 5), np.float32)}, "other.onnx")
