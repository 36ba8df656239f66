"""PointCache2 (.pc2) streaming writer and reader.

Layout: 12-byte signature ``POINTCACHE2\\0``, int32 version (1), int32 vertex count, float32
start frame, float32 sample rate (frames between samples), int32 sample count, then float32 xyz
per vertex per sample, little-endian. Blender's Mesh Cache modifier reads it directly.

The writer streams blocks of frames to a temporary file next to the target and renames it into
place only when closed without error, so a failed or cancelled run never leaves a half-written
cache and never clobbers a good one. Each block is handed to the disk as soon as it is written, and
the blocks already on disk leave the page cache (``posix_fadvise(DONTNEED)`` over what is written so
far, where the OS has it: it starts the writeback of what is dirty and drops only what is clean): a
cache of 100 MB streams through a few blocks' worth of memory that the kernel reuses instead of taking
fresh pages for all of it (the slow part of a large write on a virtual machine), and the final rename
over an existing file (which on ext4 first starts the writeback of the whole new file) finds the work
done. A reader of the finished file reads it from disk the first time.
"""
import os
import struct
import tempfile

import numpy as np

from .errors import ParleyError

_SIGNATURE = b"POINTCACHE2\0"
_HEADER = struct.Struct("<12siiffi")
_ADVISE = getattr(os, "posix_fadvise", None)  # Linux and most Unixes; not macOS or Windows


class PC2Writer:
    def __init__(self, path, num_vertices, start_frame=0.0, sample_rate=1.0):
        self.path = os.fspath(path)
        self.num_vertices = int(num_vertices)
        self.start_frame = float(start_frame)
        self.sample_rate = float(sample_rate)
        self.samples = 0
        self._file = None
        self._tmp = None
        self._advise = _ADVISE is not None

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=".parley-", suffix=".pc2.part", dir=folder)
        except OSError as exc:
            raise ParleyError(f"cannot write the mesh cache into {folder} ({exc.strerror}); "
                              "choose a writable output folder") from None
        self._file = os.fdopen(fd, "wb")
        self._file.write(_HEADER.pack(_SIGNATURE, 1, self.num_vertices, self.start_frame, self.sample_rate, 0))
        return self

    def write(self, frames):
        frames = np.asarray(frames, dtype="<f4")
        if frames.ndim != 3 or frames.shape[1:] != (self.num_vertices, 3):
            raise ValueError(f"expected frames [T, {self.num_vertices}, 3], got {frames.shape}")
        self._file.write(memoryview(np.ascontiguousarray(frames)).cast("B"))  # no copy of the block
        self.samples += frames.shape[0]
        if self._advise:
            self._file.flush()
            try:
                _ADVISE(self._file.fileno(), 0, self._file.tell(), os.POSIX_FADV_DONTNEED)
            except OSError:  # only a hint: a file system that refuses it just gets the usual writeback
                self._advise = False

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._file.seek(0)
                self._file.write(_HEADER.pack(_SIGNATURE, 1, self.num_vertices, self.start_frame,
                                              self.sample_rate, self.samples))
            self._file.close()
            if exc_type is None:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp makes it owner-only; a cache is an ordinary file
                os.replace(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.remove(self._tmp)
        return False


def write_pc2(path, frames, start_frame=0.0, sample_rate=1.0):
    frames = np.asarray(frames)
    with PC2Writer(path, frames.shape[1], start_frame, sample_rate) as writer:
        writer.write(frames)


def read_pc2(path):
    """Return (frames float32 [T, V, 3], start_frame, sample_rate)."""
    with open(path, "rb") as handle:
        header = handle.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise ParleyError(f"{path} is too short to be a .pc2 file")
        signature, version, num_vertices, start, rate, samples = _HEADER.unpack(header)
        if signature != _SIGNATURE:
            raise ParleyError(f"{path} is not a PointCache2 file (bad signature)")
        data = np.fromfile(handle, dtype="<f4", count=samples * num_vertices * 3)
    if data.size != samples * num_vertices * 3:
        raise ParleyError(f"{path} is truncated: header says {samples} samples")
    return data.reshape(samples, num_vertices, 3), start, rate
