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


@needs_flame
def test_head_motion_and_gaze_zero_give_todays_take_and_the_default_bakes_the_head(tmp_path):
    """--head-motion 0 --gaze 0: the .pc2 and CSV of the bare take path (animate -> decode_to_pc2) bit for bit;
    the default turns the head in the .pc2 with the neck boundary held still and the lips of the bare take."""
    from inference.animate import animate
    from inference.audio import MODEL_RATE, load_audio
    from inference.head_rig import build_head_rig
    from inference.listen import lip_columns
    from inference.meshio import load_mesh
    from inference.model import load_model
    from inference.rig import build_rig
    from inference.take import Take, decode_to_pc2

    audio = _speechlike(tmp_path / "a.wav", seconds=3.0)
    bare, alive = tmp_path / "bare.pc2", tmp_path / "alive.pc2"
    common = ["animate", "--head", TEMPLATE, "--audio", audio, "--seed", 5, "--style", "smile=0.3"]
    result = run_cli(*common, "--out", bare, "--curves", tmp_path / "bare.csv", "--head-motion", 0, "--gaze", 0)
    assert result.returncode == 0, result.stderr
    result = run_cli(*common, "--out", alive, "--curves", tmp_path / "alive.csv")
    assert result.returncode == 0, result.stderr

    v, f = load_mesh(TEMPLATE)
    curves = animate(load_model(), load_audio(audio), MODEL_RATE, 30.0, style={"smile": 0.3}, seed=5)
    decode_to_pc2(build_rig(v, f), Take.from_curves(curves), tmp_path / "today.pc2")
    curves.write_csv(tmp_path / "today.csv")
    assert bare.read_bytes() == (tmp_path / "today.pc2").read_bytes()
    assert (tmp_path / "bare.csv").read_bytes() == (tmp_path / "today.csv").read_bytes()

    still, moving = read_pc2(bare)[0], read_pc2(alive)[0]
    neck = build_head_rig(v, f).neck_loop
    size = np.ptp(v, axis=0).max()
    np.testing.assert_allclose(moving[:, neck], still[:, neck], atol=1e-6 * size)
    assert np.abs(moving - still).max() > 5e-3 * size            # the head turns
    rows = [np.loadtxt(tmp_path / name, delimiter=",", skiprows=1) for name in ("bare.csv", "alive.csv")]
    header = (tmp_path / "bare.csv").read_text().splitlines()[0].split(",")[2:]
    lips = [2 + i for i in lip_columns(header)]
    np.testing.assert_array_equal(rows[0][:, lips], rows[1][:, lips])


@needs_flame
def test_the_parser_and_a_bare_take_from_the_cache_import_only_what_they_use(tmp_path):
    """Start-up is part of the CLI's speed: the parser needs no life layers; a bare take whose rig comes from
    the cache needs neither the life layers nor the rig builder's modules."""
    audio = _speechlike(tmp_path / "a.wav", seconds=1.0)
    args = ["animate", "--head", str(TEMPLATE), "--audio", str(audio), "--out", str(tmp_path / "o.pc2"),
            "--head-motion", "0", "--gaze", "0"]
    report = "print(sorted(m for m in sys.modules if m.startswith(('inference.', 'scipy', 'librosa', 'torch'))))"
    parser_only = subprocess.run([sys.executable, "-c", "import sys; from inference.__main__ import build_parser; "
                                  f"build_parser().parse_args({args!r}); {report}"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert parser_only.returncode == 0, parser_only.stderr
    assert "inference.life" not in parser_only.stdout and "scipy" not in parser_only.stdout
    assert run_cli(*args).returncode == 0  # fills the rig cache
    bare = subprocess.run([sys.executable, "-c", f"import sys; from inference.__main__ import main; main({args!r}); "
                           f"{report}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bare.returncode == 0, bare.stderr
    for module in ("inference.life", "inference.listen", "inference.rig_shapes", "inference.rig_face",
                   "inference.rig_topology", "scipy", "librosa", "torch"):
        assert f"'{module}" not in bare.stdout, module
    assert "'inference.rig'" in bare.stdout
