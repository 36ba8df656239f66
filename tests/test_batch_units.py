"""bpy-free parts of scripts/batch.py (scripts/parley_batch/plan.py): discovery, keys, sidecars, slicing, the summary
table."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from parley_batch import plan as batch  # noqa: E402


def test_discover_folders_files_and_problems(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("x.wav", "y.FLAC", "notes.txt", ".hidden.wav"):
        (tmp_path / "a" / name).write_bytes(b"data")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.mp3").write_bytes(b"data")
    (tmp_path / "take.doc").write_bytes(b"data")
    inputs, ignored = batch.discover([tmp_path / "a", tmp_path / "b" / "x.mp3", tmp_path / "gone.wav",
                                      tmp_path / "take.doc", tmp_path / "a" / "x.wav"])
    names = [name for name, _, _ in inputs]
    assert names == sorted(names)
    assert names == ["gone", "take", "x.mp3", "x.wav", "y"]  # two x's keep their extensions; the repeat is dropped
    problems = {name: problem for name, _, problem in inputs}
    assert "not found" in problems["gone"] and "not an audio file" in problems["take"]
    assert problems["x.wav"] is None and problems["y"] is None
    assert [p.name for p in ignored] == ["notes.txt"]


def test_two_different_files_with_one_name_fail_instead_of_overwriting(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.wav").write_bytes(folder.encode())
    inputs, _ = batch.discover([tmp_path / "a", tmp_path / "b"])
    assert [(name, problem) for name, _, problem in inputs if problem is None] == [("x.wav", None)]
    clash = [problem for name, _, problem in inputs if problem]
    assert len(inputs) == 2 and "same file name" in clash[0]


def test_key_changes_with_audio_and_settings(tmp_path):
    f = tmp_path / "a.wav"
    f.write_bytes(b"one")
    k = batch.file_key(f, {"seed": 1})
    assert k == batch.file_key(f, {"seed": 1})
    assert k != batch.file_key(f, {"seed": 2})
    f.write_bytes(b"two")
    assert k != batch.file_key(f, {"seed": 1})


def test_sidecar_is_trusted_only_with_matching_key_and_sizes(tmp_path):
    (tmp_path / ".parley_parts").mkdir()
    part = tmp_path / ".parley_parts" / "a.blend"
    part.write_bytes(b"x" * 10)
    batch.write_json_atomic(tmp_path / ".parley_parts" / "a.json",
                            {"key": "k", "outputs": {".parley_parts/a.blend": 10}, "frames": 3})
    assert batch.up_to_date(tmp_path, "a", "k")["frames"] == 3
    assert batch.up_to_date(tmp_path, "a", "other") is None
    part.write_bytes(b"x" * 9)  # truncated output
    assert batch.up_to_date(tmp_path, "a", "k") is None
    part.unlink()
    assert batch.up_to_date(tmp_path, "a", "k") is None
    assert not list(tmp_path.rglob("*.tmp"))


def test_partition_balances_and_keeps_every_file_once():
    entries = [{"name": f"f{i:02d}", "size": size} for i, size in enumerate([9, 1, 1, 1, 8, 2, 3, 3, 7])]
    slices = batch.partition(entries, 3)
    flat = [e["name"] for s in slices for e in s]
    assert sorted(flat) == sorted(e["name"] for e in entries)
    loads = [sum(e["size"] for e in s) for s in slices]
    assert max(loads) - min(loads) <= 2
    assert all([e["name"] for e in s] == sorted(e["name"] for e in s) for s in slices)
    assert batch.partition(entries, 3) == slices  # deterministic
    assert len(batch.partition(entries[:2], 5)) == 2  # no empty workers


def test_summary_table_lists_every_file():
    rows = [{"file": "a.wav", "status": "ok", "duration": 3.25, "frames": 98, "seconds": 1.5},
            {"file": "b.wav", "status": "FAILED", "message": "b.wav is silent: nothing to animate"},
            {"file": "c.wav", "status": "up to date", "duration": 2.0, "frames": 60, "seconds": 0.0}]
    table = batch.summary_table(rows, Path("/out")).splitlines()
    assert table[0].split() == ["file", "duration", "frames", "seconds", "status"]
    assert table[1].split()[:5] == ["a.wav", "3.25", "s", "98", "1.50"]
    assert "FAILED: b.wav is silent" in table[2]
    assert table[-1].startswith("3 files: 1 animated, 1 up to date, 1 failed")


def test_arguments():
    args = batch.parse_args(["--object", "h", "--audio", "a", "b", "--out", "o", "--style", "smile=1",
                             "jaw=0.5", "--style", "x=2", "--jobs", "2"])
    assert args.audio == ["a", "b"] and args.style == ["smile=1", "jaw=0.5", "x=2"] and args.jobs == 2
    assert batch.pairs(args.style, "--style") == {"smile": "1", "jaw": "0.5", "x": "2"}
    assert batch.script_argv(["blender", "-b", "s.blend", "--python", "batch.py", "--", "--jobs", "2"]) == ["--jobs", "2"]


def test_dialogue_partner_line_is_the_file_of_the_same_name(tmp_path):
    (tmp_path / "line_01.flac").write_bytes(b"data")
    (tmp_path / "line_02.WAV").write_bytes(b"data")
    assert batch.partner_line(tmp_path, "line_01") == tmp_path / "line_01.flac"
    assert batch.partner_line(tmp_path, "line_02") == tmp_path / "line_02.WAV"
    assert batch.partner_line(tmp_path, "line_03") is None
    (tmp_path / "line_01.wav").write_bytes(b"data")  # two of one name: the .wav first, whatever the order on disk
    assert batch.partner_line(tmp_path, "line_01") == tmp_path / "line_01.wav"


def test_dialogue_spec(tmp_path):
    assert batch.dialogue_spec(None) is None
    assert batch.dialogue_spec(f"ben:{tmp_path}") == ("ben", tmp_path)
    for bad, says in (("ben", "takes OTHER_OBJECT:AUDIO_DIR"), (f":{tmp_path}", "takes OTHER_OBJECT:AUDIO_DIR"),
                      ("ben:", "takes OTHER_OBJECT:AUDIO_DIR"), (f"ben:{tmp_path / 'gone'}", "is not a folder")):
        with pytest.raises(batch.UsageError, match=says):
            batch.dialogue_spec(bad)
    args = batch.parse_args(["--object", "h", "--audio", "a", "--out", "o", "--dialogue", "ben:lines"])
    assert args.dialogue == "ben:lines"
