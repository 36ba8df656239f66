"""Errors the user can fix. ``str(error)`` is one line: what was wrong and what to do."""


class ParleyError(Exception):
    """Base for every user-facing failure; the CLI prints it and exits 2, operators report it."""


class RigError(ParleyError):
    pass


class AudioError(ParleyError):
    pass


class ModelError(ParleyError):
    pass
