"""Label timing in training: dataset.timing_shift (a crop moved k frames along the timing axis is the teacher's own
drawing at timing + k / 2), train --label-delay (a folder's late labels met by reading its audio earlier) and
label_delay.folder_lag, which measures that delay."""
import numpy as np
import pytest

from models.training.dataset import LOWER_IDX, TIMING, bilabial_mask, timing_shift
from models.training.style_axes import STYLE_AXES
from models.training.teacher import teach

PHONES = [(0.0, 0.3, "sil"), (0.3, 0.42, "m"), (0.42, 0.6, "aa"), (0.6, 0.7, "p"), (0.7, 0.9, "uw"),
          (0.9, 1.0, "f"), (1.0, 1.2, "iy"), (1.2, 1.6, "sil")]


def _style(timing):
    s = np.array([a.default for a in STYLE_AXES], np.float32)
    s[TIMING] = timing
    return s


def test_a_shifted_crop_is_the_teachers_drawing_at_the_new_timing():
    n = 80
    item = {"curves": teach(PHONES, style=_style(0.0), duration=n / 50), "bilabial": bilabial_mask(PHONES, n)}
    f0, f1 = 10, 70
    for seed in range(8):
        curves = item["curves"][f0:f1].copy()
        labels = {"bilabial": item["bilabial"][f0:f1].copy()}
        style = _style(0.0)
        timing_shift(item, f0, f1, np.random.default_rng(seed), curves, labels, style)
        k = int(round(style[TIMING] * 2))
        assert k in (-2, -1, 1, 2)
        expect = teach(PHONES, style=_style(style[TIMING]), duration=n / 50)[f0:f1]
        np.testing.assert_allclose(curves[:, LOWER_IDX], expect[:, LOWER_IDX], atol=1e-5)
        np.testing.assert_array_equal(labels["bilabial"], item["bilabial"][f0 + k:f1 + k])
        upper = np.setdiff1d(np.arange(curves.shape[1]), LOWER_IDX)
        np.testing.assert_array_equal(curves[:, upper], item["curves"][f0:f1][:, upper])


def test_the_shift_stays_on_the_axis():
    item = {"curves": np.random.default_rng(0).random((40, 51)).astype(np.float32)}
    for t in (1.0, -1.0, 0.8):
        for seed in range(10):
            style = _style(t)
            timing_shift(item, 5, 30, np.random.default_rng(seed), item["curves"][5:30].copy(), {}, style)
            assert -1.0 <= style[TIMING] <= 1.0 and style[TIMING] != t


def test_a_label_delay_reads_the_folders_audio_that_much_earlier(tmp_path):
    """``train --label-delay real=12``: labels late by 12 ms against the audio line up when each crop's audio is
    read 12 ms earlier (a click at 0.5 s lands 192 samples later in the crop); other folders stay as they were;
    a delay for a folder that is not a --corpus, or a malformed one, stops the run with what to write."""
    pytest.importorskip("torch")  # train.py's arguments; the corpus itself needs no torch
    from models.training import train as T
    from models.training.dataset import Corpus
    from inference.arkit import RIG_NAMES
    audio = np.zeros(16000, np.float32)
    audio[8000] = 0.5
    for folder in ("tts", "real"):
        (tmp_path / folder).mkdir()
        np.savez(tmp_path / folder / "a.npz", audio=audio, sr=16000, curves=np.zeros((50, 51), np.float32),
                 names=np.array(RIG_NAMES), fps=50.0, style=np.zeros(11, np.float32), voice=f"{folder}:a",
                 split="train", phones=np.zeros(0, [("start", "<f4"), ("end", "<f4"), ("label", "<U4")]))
    args, _ = T.parse_args(["--corpus", str(tmp_path / "tts"), "--corpus", f"{tmp_path / 'real'}:2", "--out", "o",
                            "--label-delay", f"{tmp_path / 'real'}=12"])
    corpus = Corpus(args.corpus, exclude=(), val_fraction=0.0, delays=dict(args.label_delay))
    for item in corpus.items:
        batch = corpus.sample(np.random.default_rng(0), 1, 50, 10, items=[item])
        click = int(np.argmax(batch["audio"][0]))
        assert click == 10 * 320 + 8000 + (192 if item["voice"] == "real:a" else 0)
    with pytest.raises(ValueError, match="not a --corpus folder"):
        Corpus([str(tmp_path / "tts")], exclude=(), delays={str(tmp_path / "real"): 0.012})
    for bad in ("real=abc", "=12", "real=500"):
        with pytest.raises(SystemExit):
            T.parse_args(["--corpus", "c", "--out", "o", "--label-delay", bad])


def test_label_delay_measures_how_late_a_folders_labels_run(tmp_path):
    """label_delay.folder_lag: a model that puts every gesture one frame (20 ms) before a folder's labels
    reads as -20 ms at timing 0 whatever the shards' timing values, and held-out voices are not drawn."""
    from inference.arkit import RIG_NAMES
    from models.training.label_delay import folder_lag
    rng = np.random.default_rng(0)
    answers = {}
    for i, timing in enumerate((-0.5, 0.0, 0.3, 0.6, -0.2)):
        audio = rng.normal(0, 0.1, 16000).astype(np.float32)
        curves = teach(PHONES, style=_style(timing), duration=1.0)
        answers[audio.tobytes()] = np.roll(curves, -1, axis=0)  # one frame early
        style = _style(timing)
        np.savez(tmp_path / f"s{i}.npz", audio=audio, sr=16000, curves=curves, names=np.array(RIG_NAMES),
                 fps=50.0, style=style, style_names=np.array([a.name for a in STYLE_AXES]), split="train",
                 voice="mbrola:us3" if i == 4 else "espeak:en",
                 phones=np.zeros(0, [("start", "<f4"), ("end", "<f4"), ("label", "<U4")]))
    model = lambda audio, sr, fps, style, seed: answers[np.asarray(audio, np.float32).tobytes()]
    lag, se, n = folder_lag(model, str(tmp_path), 10)
    assert n == 4 and lag == pytest.approx(-20.0, abs=1.5)  # the parabolic peak of metrics.lag_from_xcorr: -18.9
