"""The shipped demo character: loader, licences, and shape deltas that make anatomical sense."""
import numpy as np
import pytest

from inference.arkit import ARKIT_NAMES, canonical_name
from inference.character import LICENCE_FILES, load_character, load_demo_character
from inference.errors import ParleyError


@pytest.fixture(scope="module")
def character():
    return load_demo_character()


def test_meshes_and_shapes_present(character):
    assert [m.name for m in character.meshes] == ["head", "eyeLeft", "eyeRight", "teeth", "tongue", "eyelashes"]
    canonical = {canonical_name(s) for s in character.shape_names} - {None}
    assert canonical == set(ARKIT_NAMES)  # all 52, tongueOut included
    assert sum(s.startswith("viseme_") for s in character.shape_names) == 15
    head = character.mesh("head")
    assert 3000 < len(head.vertices) < 6000
    assert head.faces.shape[1] == 4 and head.faces.max() < len(head.vertices)
    arkit_on_head = {canonical_name(s) for s in head.deltas} - {None}
    assert len(arkit_on_head) == 51 and "tongueOut" not in arkit_on_head
    assert set(character.mesh("tongue").deltas) >= {"tongueOut", "jawOpen"}


def test_licence_files_ship_beside_it(character):
    for name in LICENCE_FILES:
        text = (character.folder / name).read_text()
        assert len(text) > 500
    assert "MIT License" in (character.folder / "LICENSE.targets-MIT").read_text()
    assert "CC0" in (character.folder / "LICENSE.ASSETS.makehuman.md").read_text()
    assert "make_demo_character.py" in (character.folder / "README.md").read_text()


def test_units_and_orientation(character):
    head = character.mesh("head").vertices
    height = head[:, 1].max() - head[:, 1].min()
    assert 0.18 < height < 0.35  # metres: head and neck
    left, right = character.mesh("eyeLeft").vertices, character.mesh("eyeRight").vertices
    assert left[:, 0].mean() > 0.01 and right[:, 0].mean() < -0.01  # +X is the character's left
    assert left[:, 2].max() > head[:, 2].mean()  # the face looks down +Z


def test_jaw_opens_downward_and_carries_teeth_and_tongue(character):
    head, teeth, tongue = (character.mesh(n) for n in ("head", "teeth", "tongue"))
    jaw = head.deltas["jawOpen"]
    moved = np.linalg.norm(jaw, axis=1)
    assert 0.02 < moved.max() < 0.06  # a few centimetres at the chin
    assert jaw[moved > 0.5 * moved.max(), 1].max() < 0  # the chin goes down
    drop = teeth.deltas["jawOpen"][:, 1]
    lower = drop < 0  # the lower teeth: half the mesh, below the upper teeth, going down with the chin
    assert lower.sum() == len(teeth.vertices) // 2 and drop[lower].mean() < -0.01
    assert teeth.vertices[lower, 1].mean() < teeth.vertices[~lower, 1].mean()
    assert np.all(teeth.deltas["jawOpen"][~lower] == 0)
    assert tongue.deltas["jawOpen"][:, 1].mean() < -0.01
    assert tongue.deltas["tongueOut"][:, 2].max() > 0.01  # out of the mouth, forward


def test_blinks_close_lids_and_move_both_eyelashes(character):
    head, lashes = character.mesh("head"), character.mesh("eyelashes")
    for name, side in (("eyeBlinkLeft", 1), ("eyeBlinkRight", -1)):
        motion = np.linalg.norm(head.deltas[name], axis=1)
        own_side = np.sign(head.vertices[:, 0]) == side
        assert motion[own_side].max() > 0.008 and motion[own_side].sum() > 0.85 * motion.sum()
        lash = np.linalg.norm(lashes.deltas[name], axis=1) > 1e-4
        assert lash.sum() > 50 and np.all(np.sign(lashes.vertices[lash, 0]) == side)
    left = lashes.deltas["eyeBlinkLeft"]
    right = lashes.deltas["eyeBlinkRight"]
    assert np.isclose(np.abs(left).sum(), np.abs(right).sum(), rtol=1e-3)  # mirrored, same amount


def test_shaped_adds_deltas_linearly(character):
    head = character.mesh("head")
    half = head.shaped({"jawOpen": 0.5, "notAShape": 1.0})
    np.testing.assert_allclose(half - head.vertices, 0.5 * head.deltas["jawOpen"], atol=1e-7)


def test_bad_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "character.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ParleyError, match="make_demo_character"):
        load_character(bad)
