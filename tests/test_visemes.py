"""ARKit curves -> Oculus visemes: the shipped table's behaviour on clear mouth poses, bounds, editing."""
import json

import numpy as np
import pytest

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError
from inference.visemes import DEFAULT_TABLE, VISEMES, curves_to_visemes, load_viseme_table


def pose(**values):
    return np.array([[values.get(n, 0.0) for n in RIG_NAMES]], np.float32)


def weights(**values):
    return dict(zip(VISEMES, curves_to_visemes(pose(**values), RIG_NAMES)[0]))


def top(w, skip_silence=False):
    return max((v for v in w if not (skip_silence and v == "viseme_sil")), key=w.get)


def test_silence_is_sil():
    w = weights()
    assert w["viseme_sil"] == pytest.approx(1.0) and sum(w.values()) == pytest.approx(1.0)


def test_closed_lips_are_pp():
    w = weights(mouthClose=0.3, jawOpen=0.3, mouthPress_L=0.5, mouthPress_R=0.5)
    assert top(w) == "viseme_PP" and w["viseme_PP"] > 0.5


def test_open_jaw_is_aa():
    w = weights(jawOpen=0.8)
    assert top(w) == "viseme_aa" and w["viseme_aa"] > 0.9


def test_rounding_is_u_or_o():
    for shape in ("mouthPucker", "mouthFunnel"):
        w = weights(**{shape: 0.8, "jawOpen": 0.1})
        rounded = w["viseme_U"] + w["viseme_O"] + w["viseme_CH"]  # CH (sh, ch) is rounded too
        assert top(w) in ("viseme_U", "viseme_O", "viseme_CH") and rounded > 0.6
    assert top(weights(mouthPucker=0.8)) == "viseme_U"


def test_tucked_lower_lip_leans_to_ff():
    w = weights(mouthRollLower=0.8)
    assert top(w, skip_silence=True) == "viseme_FF" and w["viseme_FF"] > 0.1


def test_spread_lips_are_i_or_e():
    w = weights(mouthStretch_L=0.6, mouthStretch_R=0.6)
    assert top(w, skip_silence=True) in ("viseme_I", "viseme_E")


def test_weights_bounded_sum_to_one_and_deterministic():
    rng = np.random.default_rng(3)
    curves = rng.random((500, len(RIG_NAMES))).astype(np.float32)
    a = curves_to_visemes(curves, RIG_NAMES)
    b = curves_to_visemes(curves, RIG_NAMES)
    assert a.shape == (500, 15) and np.array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-5)


def test_recipes_come_back_as_their_viseme():
    table = load_viseme_table()
    for viseme in ("viseme_PP", "viseme_aa", "viseme_U", "viseme_O", "viseme_I", "viseme_CH", "viseme_FF"):
        curves = np.array([[table.recipes[viseme].get(c, 0.0) for c in table.curves]])
        w = table.weights(curves, table.curves)[0]
        assert VISEMES[int(w.argmax())] == viseme and w[VISEMES.index(viseme)] > 0.9


def test_table_is_documented_fit():
    data = json.loads(DEFAULT_TABLE.read_text())
    assert set(data["recipes"]) == set(VISEMES) - {"viseme_sil"}
    r2 = [q["r2"] for q in data["fit"].values()]
    assert np.median(r2) > 0.85 and min(r2) > 0.7  # the fit docs/visemes_fit.md reports


def test_edited_table_changes_the_mapping(tmp_path):
    data = json.loads(DEFAULT_TABLE.read_text())
    data["recipes"]["viseme_FF"] = {"mouthRollLower": 1.0}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    mine = curves_to_visemes(pose(mouthRollLower=0.8), RIG_NAMES, load_viseme_table(path))[0]
    shipped = curves_to_visemes(pose(mouthRollLower=0.8), RIG_NAMES)[0]
    ff = VISEMES.index("viseme_FF")
    assert mine[ff] > 0.7 and mine[ff] > shipped[ff] + 0.3


def test_bad_tables_are_one_clear_error(tmp_path):
    data = json.loads(DEFAULT_TABLE.read_text())
    data["recipes"]["viseme_FF"] = {"mouthTuck": 1.0}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ParleyError, match="mouthTuck"):
        load_viseme_table(path)
    path.write_text("{not json")
    with pytest.raises(ParleyError, match="viseme table"):
        load_viseme_table(path)
