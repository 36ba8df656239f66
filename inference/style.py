"""Style axes: the named, continuous controls a take is conditioned on.

The training side (models/training/style_axes.py) defines the axes and writes them into the ONNX
metadata; the runtime reads them back from there, so sliders always match the shipped model.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class StyleAxis:
    name: str
    lo: float
    hi: float
    default: float
    doc: str = ""

    def clamp(self, value):
        return min(self.hi, max(self.lo, float(value)))

    def to_dict(self):
        return {"name": self.name, "lo": self.lo, "hi": self.hi, "default": self.default, "doc": self.doc}

    @classmethod
    def from_dict(cls, d):
        return cls(str(d["name"]), float(d["lo"]), float(d["hi"]), float(d["default"]), str(d.get("doc", "")))
