"""Preferences, the PropertyGroups behind the sidebar, and the sidebar's panels (in that order)."""
import importlib

_MODULES = ("preferences", "properties", "sidebar")


def _modules():
    return [importlib.import_module(f".{name}", __package__) for name in _MODULES]


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
