"""Which meshes of a character drive which keys, and which share an Action (inference/parts.py, no bpy)."""
import numpy as np

from inference.arkit import RIG_NAMES
from inference.parts import ARKIT, VISEMES, group_plans, group_target, plan_mesh
from inference.take import ShapeTarget, Take
from inference.visemes import VISEMES as VISEME_NAMES, curves_to_visemes, find_visemes, load_viseme_table

RPM_KEYS = ["viseme_sil", "viseme_PP", "viseme_aa", "jawOpen", "eyeBlinkLeft", "eyeLookInLeft", "tongueOut"]


def test_arkit_keys_win_over_visemes_and_the_tongue_stays_at_rest():
    plan = plan_mesh("Wolf3D_Head", RPM_KEYS)
    assert plan.kind == ARKIT
    assert plan.found == {"eyeBlink_L": "eyeBlinkLeft", "eyeLookIn_L": "eyeLookInLeft", "jawOpen": "jawOpen"}
    assert set(plan.at_rest) == {"viseme_sil", "viseme_PP", "viseme_aa", "tongueOut"}
    assert "3 visemes stay at rest" in plan.summary()
    assert plan_mesh("hair", ["Fringe", "Wind"]) is None


def test_viseme_only_and_vrm_vowels():
    plan = plan_mesh("mouth", ["Viseme_PP", "viseme_aa", "viseme_U"])
    assert plan.kind == VISEMES and plan.found == {"viseme_PP": "Viseme_PP", "viseme_aa": "viseme_aa",
                                                   "viseme_U": "viseme_U"}
    assert plan.summary() == "3 visemes through Parley's mapping"
    assert find_visemes(["Fcl_MTH_A", "Fcl_MTH_O", "Fcl_EYE_Close"]) == {"viseme_aa": "Fcl_MTH_A",
                                                                         "viseme_O": "Fcl_MTH_O"}
    assert find_visemes(["A", "Blink"]) == {}  # one vowel alone is not a mouth


def test_alike_meshes_share_one_action_and_differences_split_it():
    head = plan_mesh("head", RPM_KEYS)
    teeth = plan_mesh("teeth", ["jawOpen", "jawForward", "viseme_aa"])
    eye = plan_mesh("eye", ["eyeLookInLeft", "eyeBlinkLeft"])
    other_spelling = plan_mesh("brows", ["EyeBlinkLeft", "browInnerUp"])
    mouth = plan_mesh("mouth", ["viseme_PP", "viseme_aa"])
    assert group_plans([head, teeth, eye]) == [[0, 1, 2]]
    assert group_plans([head, teeth, other_spelling, mouth]) == [[0, 1], [2], [3]]
    target = group_target([head, teeth, eye])
    assert target.shapes == ("eyeBlinkLeft", "eyeLookInLeft", "jawOpen", "jawForward")
    assert target.curves == ("eyeBlink_L", "eyeLookIn_L", "jawOpen", "jawForward")


def test_a_mesh_with_visemes_at_rest_never_shares_a_viseme_action():
    mouth = plan_mesh("mouth", ["viseme_PP", "viseme_aa"])
    head = plan_mesh("head", ["jawOpen", "viseme_aa"])  # drives jawOpen; its viseme_aa must stay at rest
    assert group_plans([mouth, head]) == [[0], [1]]


def test_viseme_target_gives_the_table_weights():
    rng = np.random.default_rng(0)
    curves = np.clip(rng.normal(0.2, 0.2, (40, len(RIG_NAMES))), 0, 1).astype(np.float32)
    take = Take(30, RIG_NAMES, curves)
    table = load_viseme_table()
    target = ShapeTarget.visemes({"viseme_aa": "A", "viseme_PP": "MBP"}, table)
    assert target.shapes == ("A", "MBP")
    full = curves_to_visemes(curves, RIG_NAMES, table)
    want = full[:, [VISEME_NAMES.index("viseme_aa"), VISEME_NAMES.index("viseme_PP")]]
    np.testing.assert_allclose(target.weights(take), want, atol=1e-6)
    np.testing.assert_allclose(target.rig_weights(take, ("MBP", "other")), np.stack([want[:, 1], 0 * want[:, 1]], 1),
                               atol=1e-6)
