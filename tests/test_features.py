"""The in-graph log-mel front end matches librosa, in torch and once exported to ONNX."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
librosa = pytest.importorskip("librosa")

from models.training.features import HOP, N_FFT, N_MELS, SAMPLE_RATE, LogMel, MelSpectrogram

# Tolerances: float32 direct DFT against librosa's float32 FFT path.
REL_POWER_TOL = 1e-4    # |ours - librosa| <= 1e-4 * max(librosa) over every mel bin and frame
LOG_TOL = 2e-3          # |log10(ours + 1e-6) - log10(librosa + 1e-6)| everywhere


def _signal(seconds=1.3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return (tone + 0.05 * rng.normal(size=t.size)).astype(np.float32)


def _librosa_mel(y):
    return librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT,
                                          window="hann", center=True, pad_mode="constant", power=2.0,
                                          n_mels=N_MELS, fmin=0.0, fmax=8000.0)


@pytest.mark.parametrize("n", [16000, 20797, 401])
def test_mel_power_matches_librosa(n):
    y = _signal(seconds=n / SAMPLE_RATE + 1e-9)[:n]
    ref = _librosa_mel(y)
    ours = MelSpectrogram()(torch.from_numpy(y)[None]).numpy()[0]
    assert ours.shape == ref.shape == (N_MELS, 1 + n // HOP)
    assert np.abs(ours - ref).max() <= REL_POWER_TOL * ref.max()
    assert np.abs(np.log10(ours + 1e-6) - np.log10(ref + 1e-6)).max() <= LOG_TOL


def test_log_mel_exports_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = LogMel().eval()
    path = tmp_path / "logmel.onnx"
    torch.onnx.export(model, (torch.zeros(1, 8000),), str(path), dynamo=False, opset_version=17,
                      input_names=["audio"], output_names=["mel"], dynamic_axes={"audio": {1: "n"}, "mel": {2: "m"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y = _signal(2.1, seed=3)[None]
    got = session.run(None, {"audio": y})[0]
    want = model(torch.from_numpy(y)).detach().numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4
