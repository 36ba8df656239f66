"""Parley's operators, one per module; registered in this order, unregistered in reverse."""
import importlib

_MODULES = ("build_rig", "generate", "sample_style", "mimic", "presets", "character", "listen")


def _modules():
    return [importlib.import_module(f".{name}", __package__) for name in _MODULES]


def register():
    for module in _modules():
        module.register()


def unregister():
    from . import _runtime, _style
    for module in reversed(_modules()):
        module.unregister()
    _runtime.clear()
    _style.forget()
