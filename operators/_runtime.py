"""Settings that come from the add-on preferences, and one cached motion model per configuration.

Loading the ONNX session costs a fraction of a second and some memory, so the loaded model is kept
between takes (keyed by path, device and threads) and dropped on unregister.
"""
import logging
import os
import threading
import warnings

from ..inference.errors import ModelError

ROOT_PACKAGE = __package__.rpartition(".")[0]  # "bl_ext.<repo>.parley" installed, "parley" from a folder
_MODELS = {}
_LOCK = threading.Lock()


def default_model_path():
    from ..inference.model import DEFAULT_PATH
    return str(DEFAULT_PATH)


def preferences(context=None):
    """The add-on preferences, or None when the add-on is not enabled through Blender (plain bpy use)."""
    import bpy
    context = context or bpy.context
    addon = context.preferences.addons.get(ROOT_PACKAGE)
    return addon.preferences if addon else None


def model_settings(context, device="PREFS", threads=-1, model_path=""):
    """dict(path, device, threads) after applying the operator's overrides over the preferences."""
    prefs = preferences(context)
    if device == "PREFS":
        device = prefs.device if prefs else "CPU"
    if threads < 0:
        threads = prefs.threads if prefs else 0
    if not model_path:
        model_path = (prefs.model_path if prefs else "") or default_model_path()
    import bpy
    return {"path": os.path.normpath(bpy.path.abspath(model_path)), "device": device.lower(),
            "threads": int(threads)}


def get_model(path, device="cpu", threads=0):
    """(MotionModel, [warning lines]); raises ModelError in the user's words."""
    from ..inference.model import load_model
    key = (path, device, int(threads))
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key], []
        caught = []
        handler = _ListHandler(caught)
        log = logging.getLogger("parley.model")
        log.addHandler(handler)
        try:
            with warnings.catch_warnings(record=True) as raised:
                warnings.simplefilter("always")
                try:
                    model = load_model(path, device=device, threads=threads)
                except ModelError:
                    raise
                except Exception as exc:  # onnxruntime's own errors, said once and plainly
                    raise ModelError(f"cannot load the motion model {path} ({str(exc).splitlines()[0][:160]}); "
                                     "reinstall Parley or pick another model in the preferences") from None
        finally:
            log.removeHandler(handler)
        lines = [str(w.message) for w in raised] or caught
        _MODELS.clear()  # one model at a time: switching devices or files frees the old session
        _MODELS[key] = model
        return model, list(dict.fromkeys(lines))


_RIGS = {}   # build function -> {geometry digest: what it built}


def cached_rig(source, build):
    """``build(vertices, triangles)`` of ``source``, run once per build and distinct geometry this session
    (a few geometries kept per build: the ARKit rig of ``_job`` and the head rig of ``_life_work``)."""
    import hashlib
    vertices, triangles = source
    digest = hashlib.sha1(vertices.tobytes() + triangles.tobytes()).hexdigest()
    with _LOCK:
        rig = _RIGS.get(build, {}).get(digest)
    if rig is None:
        rig = build(vertices, triangles)
        with _LOCK:
            rigs = _RIGS.setdefault(build, {})
            while len(rigs) >= 4:
                rigs.pop(next(iter(rigs)))
            rigs[digest] = rig
    return rig


def clear():
    with _LOCK:
        _MODELS.clear()
        _RIGS.clear()


class _ListHandler(logging.Handler):
    def __init__(self, sink):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record):
        self.sink.append(record.getMessage())
