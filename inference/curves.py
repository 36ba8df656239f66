"""Curves: named per-frame values, frame-rate conversion that keeps short closures, CSV output.

Frame ``k`` of a take at ``fps`` samples time ``k / fps``. Converting rates interpolates every
curve linearly, except the closure curves (``arkit.CLOSURE_NAMES``: lip closures, presses, blinks)
when going to a lower rate: there each output frame takes the maximum of the source over its own
interval ``[t - 0.5/fps, t + 0.5/fps]``, so a 40 ms /p/ closure still reaches its full value at
24 fps even when no output frame lands inside it.
"""
import csv
import os
from dataclasses import dataclass

import numpy as np

from .arkit import CLOSURE_NAMES


@dataclass
class Curves:
    names: tuple
    fps: float
    values: np.ndarray  # float32 [T, K]

    def __post_init__(self):
        self.names = tuple(self.names)
        self.values = np.asarray(self.values, dtype=np.float32)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise ValueError(f"values {self.values.shape} do not match {len(self.names)} names")

    @property
    def num_frames(self):
        return int(self.values.shape[0])

    @property
    def duration(self):
        return self.num_frames / float(self.fps)

    def column(self, name):
        return self.values[:, self.names.index(name)]

    def times(self):
        return np.arange(self.num_frames) / float(self.fps)

    def resampled(self, fps, num_frames=None):
        """These curves at another frame rate (see the module doc for closures)."""
        values = resample_curves(self.values, self.fps, fps, self.names, num_frames)
        return Curves(self.names, float(fps), values)

    def write_csv(self, path):
        """CSV with header ``frame,time,<names>``; written to a temp file and renamed into place."""
        path = os.fspath(path)
        tmp = path + ".part"
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["frame", "time", *self.names])
            for k, row in enumerate(self.values):
                writer.writerow([k, f"{k / self.fps:.6f}", *(f"{v:.5f}" for v in row)])
        os.replace(tmp, path)
        return path


def resample_curves(values, fps_in, fps_out, names, num_frames=None, closure_names=CLOSURE_NAMES):
    """[T_in, K] at fps_in -> [T_out, K] at fps_out; T_out = round(T_in * fps_out / fps_in) by default."""
    values = np.asarray(values, dtype=np.float32)
    fps_in, fps_out = float(fps_in), float(fps_out)
    if fps_out <= 0:
        raise ValueError(f"fps must be positive, got {fps_out}")
    t_in_n = values.shape[0]
    if num_frames is None:
        num_frames = max(1, int(round(t_in_n * fps_out / fps_in)))
    if t_in_n == 0:
        return np.zeros((num_frames, values.shape[1]), np.float32)
    if fps_in == fps_out and num_frames == t_in_n:
        return values.copy()
    t_out = np.arange(num_frames, dtype=np.float64) / fps_out
    pos = np.clip(t_out * fps_in, 0.0, t_in_n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, t_in_n - 1)
    frac = (pos - lo)[:, None].astype(np.float32)
    out = values[lo] * (1.0 - frac) + values[hi] * frac
    closures = [k for k, n in enumerate(names) if n in closure_names]
    if closures and fps_out < fps_in:
        half = 0.5 / fps_out
        first = np.clip(np.ceil((t_out - half) * fps_in - 1e-9), 0, t_in_n - 1).astype(np.int64)
        last = np.clip(np.floor((t_out + half) * fps_in + 1e-9), 0, t_in_n - 1).astype(np.int64)
        sub = values[:, closures]
        peak = out[:, closures].copy()
        width = int((last - first).max()) + 1
        for offset in range(width):
            idx = np.minimum(first + offset, last)
            np.maximum(peak, sub[idx], out=peak)
        out[:, closures] = peak
    return out.astype(np.float32)
