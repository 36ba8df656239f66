"""The bpy-free command line (DESIGN.md contract): rig and animate, and its one-line errors."""
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from inference.arkit import RIG_NAMES
from inference.pc2 import read_pc2

ROOT = Path(__file__).resolve().parents[1]
FLAME = ROOT.parent / "shared" / "flame"
TEMPLATE = FLAME / "flame_template.ply"
needs_flame = pytest.mark.skipif(not TEMPLATE.exists(), reason="../shared/flame is absent: FLAME heads are needed")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _speechlike(path, seconds=2.0, sr=22050):
    """Syllable-rate modulated harmonic noise: enough to drive the model, made here, no data files."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    voice = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate(range(120, 3000, 120)))
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 2
    pcm = 0.2 * envelope * (voice / 5 + 0.05 * rng.normal(size=t.size))
    soundfile.write(path, np.stack([pcm, pcm], 1).astype(np.float32), sr)
    return path


@needs_flame
def test_rig_writes_the_documented_npz(tmp_path):
    out = tmp_path / "rig.npz"
    result = run_cli("rig", "--head", TEMPLATE, "--out", out)
    assert result.returncode == 0, result.stderr
    data = np.load(out)
    assert tuple(data["names"]) == RIG_NAMES
    assert data["neutral"].shape == (5023, 3)
    assert data["basis"].shape == (len(RIG_NAMES), 5023, 3)
    assert np.abs(data["basis"][RIG_NAMES.index("jawOpen")]).max() > 0


@needs_flame
@pytest.mark.parametrize("fps", [30.0, 23.976])
def test_animate_writes_pc2_and_csv(tmp_path, fps):
    audio = _speechlike(tmp_path / "line one é.wav")
    out, table = tmp_path / "take.pc2", tmp_path / "take.csv"
    result = run_cli("animate", "--head", TEMPLATE, "--audio", audio, "--out", out, "--fps", fps,
                     "--curves", table, "--seed", 3, "--style", "smile=0.5")
    assert result.returncode == 0, result.stderr
    frames, start, rate = read_pc2(out)
    assert frames.shape[1:] == (5023, 3) and rate == 1.0
    assert abs(frames.shape[0] - 2.0 * fps) <= 2
    with open(table, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["frame", "time"] and set(rows[0][2:]) <= set(RIG_NAMES)
    assert len(rows) - 1 == frames.shape[0]
    assert np.ptp(frames, axis=0).max() > 1e-4  # something moves


@needs_flame
@pytest.mark.parametrize("case,needle", [
    ("missing_audio", "not found"),
    ("bad_style", "unknown style"),
    ("bad_head", "vertices"),
])
def test_errors_are_one_line(tmp_path, case, needle):
    audio = _speechlike(tmp_path / "a.wav")
    head = TEMPLATE
    args = ["animate", "--head", head, "--audio", audio, "--out", tmp_path / "o.pc2"]
    if case == "missing_audio":
        args[4] = tmp_path / "nope.wav"
    elif case == "bad_style":
        args += ["--style", "sparkle=1"]
    elif case == "bad_head":
        bad = tmp_path / "tri.obj"
        bad.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
        args[2] = bad
    result = run_cli(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "o.pc2").exists()
