"""PointCache2 writer/reader: format, streaming, atomicity."""
import struct

import numpy as np
import pytest

from inference.pc2 import PC2Writer, read_pc2, write_pc2


def test_roundtrip_and_header(tmp_path):
    frames = np.random.default_rng(0).normal(size=(7, 5, 3)).astype(np.float32)
    path = tmp_path / "a.pc2"
    with PC2Writer(path, 5, start_frame=3.0, sample_rate=1.0) as w:
        w.write(frames[:4])
        w.write(frames[4:])
    raw = path.read_bytes()
    assert raw[:12] == b"POINTCACHE2\0"
    assert struct.unpack("<iiffi", raw[12:32]) == (1, 5, 3.0, 1.0, 7)
    assert len(raw) == 32 + 7 * 5 * 3 * 4
    back, start, rate = read_pc2(path)
    np.testing.assert_array_equal(back, frames)
    assert (start, rate) == (3.0, 1.0)


def test_failure_keeps_previous_file_and_leaves_no_part(tmp_path):
    path = tmp_path / "a.pc2"
    write_pc2(path, np.zeros((2, 4, 3), np.float32))
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with PC2Writer(path, 4) as w:
            w.write(np.ones((1, 4, 3), np.float32))
            raise RuntimeError("cancelled")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.pc2"]


def test_shape_mismatch_rejected(tmp_path):
    with pytest.raises(ValueError):
        with PC2Writer(tmp_path / "b.pc2", 4) as w:
            w.write(np.zeros((1, 5, 3), np.float32))
    assert not (tmp_path / "b.pc2").exists()
