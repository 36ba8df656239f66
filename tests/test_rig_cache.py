"""The rig cache: hit on the same head, miss on any change, rebuild on a damaged file, CLI wiring; the same for
the head-motion rig."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference import rig_cache
from inference.rig import load_rig
from inference.head_rig import build_head_rig
from inference.rig_cache import cache_dir, cache_path, cached_build_head_rig, cached_build_rig, head_cache_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def head(load_head):
    return load_head("flame_template")


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PARLEY_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("PARLEY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "parley"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "parley"
    assert ROOT not in cache_dir().parents  # never the extension's own folder


def test_hit_returns_the_same_rig(head, tmp_path):
    vertices, faces = head
    built, how = cached_build_rig(vertices, faces, tmp_path)
    assert how == "built" and cache_path(vertices, faces, tmp_path).is_file()
    loaded, how = cached_build_rig(vertices, faces, tmp_path)
    assert how == "hit"
    assert loaded.names == built.names and loaded.corrective_names == built.corrective_names
    np.testing.assert_array_equal(loaded.basis, built.basis)
    weights = np.random.default_rng(0).random((8, len(built.names))).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(weights), built.decode(weights))
    assert [p.name for p in (tmp_path / "rigs").iterdir()] == [cache_path(vertices, faces, tmp_path).name]


def test_any_change_of_head_or_rig_code_is_a_miss(head, tmp_path, monkeypatch):
    vertices, faces = head
    cached_build_rig(vertices, faces, tmp_path)
    moved = vertices.copy()
    moved[100, 0] += 1e-4
    assert cache_path(moved, faces, tmp_path) != cache_path(vertices, faces, tmp_path)
    rig, how = cached_build_rig(moved, faces, tmp_path)
    assert how == "built" and np.array_equal(rig.neutral, moved.astype(np.float32))
    assert cache_path(vertices, faces[:, [0, 2, 1]], tmp_path) != cache_path(vertices, faces, tmp_path)
    monkeypatch.setattr(rig_cache, "rig_code_version", lambda: "a newer rig builder")
    assert cached_build_rig(vertices, faces, tmp_path)[1] == "built"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_cache_file_is_rebuilt(head, tmp_path, damage):
    vertices, faces = head
    good, _ = cached_build_rig(vertices, faces, tmp_path)
    path = cache_path(vertices, faces, tmp_path)
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00not a rig" * 100, "empty": b""}[damage])
    rig, how = cached_build_rig(vertices, faces, tmp_path)
    assert how == "built"
    np.testing.assert_array_equal(rig.basis, good.basis)
    np.testing.assert_array_equal(load_rig(path).basis, good.basis)  # replaced by a whole rig


def test_unwritable_cache_folder_still_gives_the_rig(head, tmp_path, capsys):
    vertices, faces = head
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    rig, how = cached_build_rig(vertices, faces, blocker)
    assert how == "built" and len(rig.names) == 51
    assert "PARLEY_CACHE_DIR" in capsys.readouterr().err


def test_cli_uses_the_cache_unless_told_not_to(flame_dir, tmp_path):
    env = dict(os.environ, PARLEY_CACHE_DIR=str(tmp_path / "cache"))
    base = [sys.executable, "-m", "inference", "animate", "--head", str(flame_dir / "flame_template.ply"),
            "--audio", str(ROOT / "assets" / "demo.wav")]
    subprocess.run(base + ["--out", str(tmp_path / "a.pc2"), "--no-rig-cache"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    assert not (tmp_path / "cache").exists()
    for name in ("b.pc2", "c.pc2"):  # cold, then warm
        subprocess.run(base + ["--out", str(tmp_path / name)], cwd=ROOT, env=env, check=True, capture_output=True)
    assert len(list((tmp_path / "cache" / "rigs").glob("*.npz"))) == 1
    assert len(list((tmp_path / "cache" / "heads").glob("*.npz"))) == 1  # the head-motion rig (head motion on)
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.pc2", "b.pc2", "c.pc2"))
    assert a == b == c


def _same_head_rig(a, b):
    for name in ("weights", "pivot", "axes", "neck_loop"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype
    assert a.units_per_mm == b.units_per_mm


def test_head_rig_hit_miss_and_damage(head, tmp_path, monkeypatch):
    vertices, faces = head
    built, how = cached_build_head_rig(vertices, faces, tmp_path)
    assert how == "built" and head_cache_path(vertices, faces, tmp_path).parent == tmp_path / "heads"
    _same_head_rig(built, build_head_rig(vertices, faces))
    loaded, how = cached_build_head_rig(vertices, faces, tmp_path)
    assert how == "hit"
    _same_head_rig(loaded, built)
    moved = vertices.copy()
    moved[100, 0] += 1e-4
    assert head_cache_path(moved, faces, tmp_path) != head_cache_path(vertices, faces, tmp_path)
    path = head_cache_path(vertices, faces, tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    rebuilt, how = cached_build_head_rig(vertices, faces, tmp_path)
    assert how == "built"
    _same_head_rig(rebuilt, built)
    monkeypatch.setattr(rig_cache, "head_rig_code_version", lambda: "a newer head rig builder")
    assert cached_build_head_rig(vertices, faces, tmp_path)[1] == "built"
    assert cache_path(vertices, faces, tmp_path) != head_cache_path(vertices, faces, tmp_path)
