"""dataset.timing_shift: a crop moved k frames along the timing axis is the teacher's own drawing at
timing + k / 2 (lower face and lip-event labels), while the audio's phone classes stay put."""
import numpy as np

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
