"""The style axes the sliders show, read once per registration from the model's metadata.

Operator and PropertyGroup properties must exist when their classes register, while the axes live
in the model file (models/training/style_axes.py writes them into its metadata). ``layout()`` reads
them with the light protobuf reader; the classes that need them are built by functions here, so a
model with other axes gets other sliders after Blender restarts (or Parley is re-enabled).
"""
import bpy

from . import _modelmeta, _runtime

_LAYOUT = {}


def layout(refresh=False):
    """-> (axes [StyleAxis], latent_dim, problem or '')."""
    if refresh or not _LAYOUT:
        prefs = _runtime.preferences()
        path = bpy.path.abspath((prefs.model_path if prefs else "") or _runtime.default_model_path())
        axes, latent, languages, problem = _modelmeta.style_layout(path)
        _LAYOUT.update(axes=axes, latent=latent, languages=languages, problem=problem)
    return _LAYOUT["axes"], _LAYOUT["latent"], _LAYOUT["problem"]


def trained_languages():
    """Sorted ISO codes the current model says it was trained on ([] when it does not say), from the same cached
    read of its metadata as the axes."""
    layout()
    return list(_LAYOUT["languages"])


def forget():
    _LAYOUT.clear()


def label(axis_name):
    return axis_name.replace("_", " ").capitalize()


def axis_properties(prefix=""):
    """{property name: FloatProperty} for every named axis (+ the latent vector) of the current model."""
    axes, latent, _problem = layout()
    props = {}
    for axis in axes:
        props[prefix + axis.name] = bpy.props.FloatProperty(
            name=label(axis.name), description=axis.doc or axis.name, min=axis.lo, max=axis.hi,
            default=axis.clamp(axis.default), subtype="FACTOR" if axis.lo == 0.0 else "NONE")
    if latent:
        props[prefix + "latent"] = bpy.props.FloatVectorProperty(
            name="Latent", size=min(latent, 32), default=[0.0] * min(latent, 32), soft_min=-3.0, soft_max=3.0,
            description="free style dimensions learned by the model (set by Sample style and Mimic)")
    return props


def values(owner, prefix=""):
    """(named dict, latent list or None) from an object holding axis_properties(prefix)."""
    axes, latent, _problem = layout()
    named = {a.name: float(getattr(owner, prefix + a.name)) for a in axes if hasattr(owner, prefix + a.name)}
    lat = list(getattr(owner, prefix + "latent")) if latent and hasattr(owner, prefix + "latent") else None
    return named, lat


def store(owner, named, latent=None, prefix=""):
    """Write named values (and the latent) back onto an owner of axis_properties(prefix)."""
    for name, value in named.items():
        if hasattr(owner, prefix + name):
            setattr(owner, prefix + name, float(value))
    if latent is not None and hasattr(owner, prefix + "latent"):
        vec = getattr(owner, prefix + "latent")
        n = min(len(vec), len(latent))
        vec[:n] = [float(v) for v in latent[:n]]


def adopt(operator, owner, named, latent, warnings):
    """Store a style found by Sample style or Mimic, pass on the model's warnings, and return it in words."""
    store(owner, named, latent)
    for line in warnings:
        operator.report({"WARNING"}, line)
    return ", ".join(f"{k} {v:+.2f}" for k, v in named.items() if abs(v) >= 0.05) or "neutral"
