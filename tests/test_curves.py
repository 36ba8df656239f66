"""Frame-rate conversion keeps short closures; CSV output follows the contract."""
import csv

import numpy as np
import pytest

from inference.arkit import CLOSURE_NAMES, RIG_NAMES
from inference.curves import Curves, resample_curves

CLOSE = RIG_NAMES.index("mouthClose")
JAW = RIG_NAMES.index("jawOpen")


@pytest.mark.parametrize("fps", [24.0, 23.976, 25.0, 29.97, 30.0, 12.0])
def test_a_two_frame_closure_survives_any_lower_rate(fps):
    # a 40 ms closure (two frames at 50 fps) at every phase relative to the output grid
    for start in range(40, 60):
        values = np.zeros((150, len(RIG_NAMES)), np.float32)
        values[start:start + 2, CLOSE] = 1.0
        out = resample_curves(values, 50.0, fps, RIG_NAMES)
        assert out[:, CLOSE].max() == pytest.approx(1.0), (fps, start)
        # exactly the output frames whose interval touches the closure are raised
        assert 1 <= int((out[:, CLOSE] > 0.5).sum()) <= 3


def test_non_closure_curves_are_interpolated():
    t = np.arange(100) / 50.0
    values = np.zeros((100, len(RIG_NAMES)), np.float32)
    values[:, JAW] = t / t[-1]
    out = resample_curves(values, 50.0, 29.97, RIG_NAMES)
    t_out = np.arange(out.shape[0]) / 29.97
    want = np.interp(t_out, t, values[:, JAW])
    assert np.abs(out[:, JAW] - want).max() < 1e-6
    assert out.shape[0] == round(100 * 29.97 / 50)


def test_same_rate_is_identity_and_upsampling_interpolates():
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, (60, len(RIG_NAMES))).astype(np.float32)
    assert np.array_equal(resample_curves(values, 50.0, 50.0, RIG_NAMES), values)
    up = resample_curves(values, 50.0, 100.0, RIG_NAMES, num_frames=119)
    assert np.allclose(up[::2], values[:60], atol=1e-6)
    assert np.allclose(up[1::2], 0.5 * (values[:-1] + values[1:])[:59], atol=1e-6)


def test_closure_maximum_never_exceeds_the_source():
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, (300, len(RIG_NAMES))).astype(np.float32)
    out = resample_curves(values, 50.0, 23.976, RIG_NAMES)
    for name in CLOSURE_NAMES:
        k = RIG_NAMES.index(name)
        assert out[:, k].max() <= values[:, k].max() + 1e-7
        assert out[:, k].min() >= values[:, k].min() - 1e-7


def test_write_csv(tmp_path):
    values = np.linspace(0, 1, 10 * len(RIG_NAMES), dtype=np.float32).reshape(10, -1)
    curves = Curves(RIG_NAMES, 29.97, values)
    path = curves.write_csv(tmp_path / "take.csv")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["frame", "time", *RIG_NAMES]
    assert len(rows) == 11
    assert [int(r[0]) for r in rows[1:]] == list(range(10))
    assert float(rows[4][1]) == pytest.approx(3 / 29.97, abs=1e-6)
    assert np.allclose(np.array(rows[1:], float)[:, 2:], values, atol=1e-5)
    assert not list(tmp_path.glob("*.part"))


def test_curves_checks_shapes():
    with pytest.raises(ValueError):
        Curves(RIG_NAMES, 30.0, np.zeros((5, 3)))
    resampled = Curves(RIG_NAMES, 50.0, np.zeros((50, len(RIG_NAMES)))).resampled(24.0)
    assert resampled.fps == 24.0 and resampled.num_frames == 24
