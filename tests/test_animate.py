"""animate(): any sample rate in, any frame rate out, reproducible, seamless chunks, noise off the lips."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from inference.animate import Cancelled, animate, run_model
from inference.arkit import RIG_NAMES
from inference.errors import AudioError, ModelError
from inference.model import DEFAULT_PATH, load_model

EMOTION_MIN_RISE = 0.1  # mean of the emotion's curves (metrics.EMOTION_QUANTITY), 0..1; the teacher's rises 0.1-0.5


def speechlike(seconds, sr, seed=0, channels=1):
    """Syllable-rate modulated harmonics + noise: enough to drive a model, generated here."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    voice = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate(range(110, 3000, 110)))
    envelope = np.clip(np.sin(2 * np.pi * 3.7 * t), 0, None) ** 2
    pcm = (0.15 * envelope * (voice / 4 + 0.1 * rng.normal(size=t.size))).astype(np.float32)
    return np.stack([pcm] * channels, 1) if channels > 1 else pcm


@pytest.fixture(scope="module")
def model(runtime_model_path):
    return load_model(runtime_model_path)


@pytest.mark.parametrize("sr,fps,channels", [(16000, 50.0, 1), (22050, 23.976, 2), (48000, 29.97, 1), (44100, 24.0, 2)])
def test_any_rate_in_any_rate_out(model, sr, fps, channels):
    pcm = speechlike(3.1, sr, channels=channels)
    curves = animate(model, pcm, sr, fps, seed=1)
    assert curves.names == RIG_NAMES and curves.fps == fps
    assert curves.values.shape == (round(pcm.shape[0] / sr * fps), len(RIG_NAMES))
    assert curves.values.dtype == np.float32
    assert curves.values.min() >= 0.0 and curves.values.max() <= 1.0


def test_same_inputs_same_seed_bit_identical(model):
    pcm = speechlike(4.0, 44100)
    a = animate(model, pcm, 44100, 24.0, style={"smile": 0.3}, seed=5)
    b = animate(model, pcm, 44100, 24.0, style={"smile": 0.3}, seed=5)
    assert np.array_equal(a.values, b.values)


def test_seeds_change_the_upper_face_never_the_lips(model):
    pcm = speechlike(4.0, 16000)
    a = animate(model, pcm, 16000, 50.0, seed=1).values
    b = animate(model, pcm, 16000, 50.0, seed=2).values
    upper = [RIG_NAMES.index(n) for n in model.meta.upper_face_curves]
    lower = [k for k in range(len(RIG_NAMES)) if k not in upper]
    assert np.abs(a[:, upper] - b[:, upper]).max() > 1e-3
    assert np.array_equal(a[:, lower], b[:, lower])


def test_style_changes_the_take(model):
    pcm = speechlike(3.0, 16000)
    a = animate(model, pcm, 16000, 30.0, style=None).values
    b = animate(model, pcm, 16000, 30.0, style={"articulation": 1.0, "smile": 1.0}).values
    c = animate(model, pcm, 16000, 30.0, style=model.sample_style(3)).values
    d = animate(model, pcm, 16000, 30.0, style=model.style_vector({"articulation": 1.0, "smile": 1.0})).values
    assert np.abs(a - b).max() > 1e-3 and np.abs(a - c).max() > 1e-3
    assert np.array_equal(b, d)


def test_chunked_equals_single_pass(model):
    pcm = speechlike(23.0, 16000, seed=4)
    style = model.style_vector({"timing": 0.5})
    whole = run_model(model, pcm, style, seed=9, chunk_seconds=1000.0)
    seen = []
    chunked = run_model(model, pcm, style, seed=9, chunk_seconds=4.0, progress=seen.append)
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == 1.0
    assert whole.shape == chunked.shape
    assert np.abs(whole - chunked).max() <= 1e-5


def test_cancel(model):
    with pytest.raises(Cancelled):
        run_model(model, speechlike(12.0, 16000), model.style_vector(None), chunk_seconds=2.0,
                  should_cancel=lambda: True)


def test_bad_inputs_are_one_line_errors(model):
    with pytest.raises(AudioError):
        animate(model, np.zeros(16000, np.float32), 16000, 30.0)
    with pytest.raises(ModelError):
        animate(model, speechlike(1.0, 16000), 16000, 0.0)
    with pytest.raises(ModelError, match="unknown style"):
        animate(model, speechlike(1.0, 16000), 16000, 30.0, style={"sparkle": 1})


def test_shipped_model_animates():
    if not DEFAULT_PATH.exists():
        pytest.skip("models/parley.onnx has not been exported yet")
    m = load_model()
    curves = animate(m, speechlike(3.0, 22050), 22050, 24.0, seed=0)
    assert curves.values.shape == (72, len(RIG_NAMES))
    assert curves.values.min() >= 0.0 and curves.values.max() <= 1.0
    assert np.ptp(curves.column("jawOpen")) > 0.01  # the mouth moves with the syllables


def test_shipped_model_makes_the_lip_critical_gestures():
    """On the bundled demo line (eSpeak voice, phone timings from the engine): lips sealed in /p b m/, the lower
    lip tucked in /f/ (dead at 0 in model 1.x), rounded in /uw/, and the side-shift curves alive (asymmetry)."""
    if not DEFAULT_PATH.exists():
        pytest.skip("models/parley.onnx has not been exported yet")
    import json

    import soundfile as sf

    from models.training.metrics import lip_gap
    assets = Path(__file__).resolve().parent.parent / "assets"
    pcm, sr = sf.read(str(assets / "demo.wav"), dtype="float32")
    phones = json.loads((assets / "demo_phones.json").read_text())["phones"]
    m = load_model()
    fps = 50.0
    c = animate(m, pcm, sr, fps, seed=0)
    gap = lip_gap(c.values, list(c.names))

    def frames(a, b):
        return slice(max(0, int(a * fps) - 1), int(np.ceil(b * fps)) + 1)

    bilabial = [frames(a, b) for a, b, p in phones if p.rstrip("012") in ("P", "B", "M")]
    sealed = [gap[f].min() <= 0.05 for f in bilabial]
    assert np.mean(sealed) >= 0.8, f"lips sealed in {sum(sealed)} of {len(sealed)} /p b m/"
    for a, b, p in phones:
        if p.rstrip("012") == "F":
            assert c.column("mouthRollLower")[frames(a, b)].max() >= 0.3, "no lower-lip tuck in /f/"
        if p.rstrip("012") == "UW":
            f = frames(a, b)
            assert (c.column("mouthPucker")[f] + c.column("mouthFunnel")[f]).max() >= 0.4, "no rounding in /uw/"
    left = animate(m, pcm, sr, fps, seed=0, style={"asymmetry": 1.0})
    right = animate(m, pcm, sr, fps, seed=0, style={"asymmetry": -1.0})
    assert left.column("mouthLeft").mean() > right.column("mouthLeft").mean() + 0.02
    assert right.column("mouthRight").mean() > left.column("mouthRight").mean() + 0.02


def test_runtime_blinks_follow_the_model_metadata(tmp_path):
    """runtime_blinks '1' (the default, and what models without the key get): seeded blinks laid over the
    eyelids with max(); '0' (a model whose network blinks itself): the eyelids are the network's alone."""
    pytest.importorskip("torch")
    from models.training.export import build_test_model
    on = load_model(build_test_model(tmp_path / "on"))
    assert on.meta.runtime_blinks
    pcm = speechlike(12.0, 16000)
    with_blinks = animate(on, pcm, 16000, 50.0, seed=3).values
    on.meta.runtime_blinks = False
    without = animate(on, pcm, 16000, 50.0, seed=3).values
    lids = [RIG_NAMES.index("eyeBlink_L"), RIG_NAMES.index("eyeBlink_R")]
    others = [k for k in range(len(RIG_NAMES)) if k not in lids]
    assert np.array_equal(with_blinks[:, others], without[:, others])
    assert (with_blinks[:, lids] >= without[:, lids]).all()
    assert (with_blinks[:, lids] > without[:, lids] + 0.5).any(), "no blink laid over 12 s of speech"
    import onnx
    m = onnx.load(str(tmp_path / "on" / "parley.onnx"))
    assert {p.key: p.value for p in m.metadata_props}["runtime_blinks"] == "1"


def test_shipped_model_wears_each_emotion_slider():
    """Each emotion slider at 1 moves its curves (metrics.EMOTION_QUANTITY) up on the demo line, whatever the seed:
    in model 3.0 surprised left the brows where they were (x0.02 of the teacher's change), its level read from the
    seed noise instead of the style."""
    if not DEFAULT_PATH.exists():
        pytest.skip("models/parley.onnx has not been exported yet")
    import soundfile as sf

    from models.training.metrics import emotion_amount
    pcm, sr = sf.read(str(Path(__file__).resolve().parent.parent / "assets" / "demo.wav"), dtype="float32")
    m = load_model()
    for emotion in ("happy", "sad", "angry", "surprised"):
        for seed in (0, 1):
            off = animate(m, pcm, sr, 30.0, seed=seed, style={emotion: 0.0})
            on = animate(m, pcm, sr, 30.0, seed=seed, style={emotion: 1.0})
            rise = emotion_amount(on.values, list(on.names), emotion) - emotion_amount(off.values, list(off.names), emotion)
            assert rise >= EMOTION_MIN_RISE, f"{emotion} at 1 raises its curves by {rise:.3f} only (seed {seed})"
