"""Errors the user can fix. ``str(error)`` is one line: what was wrong and what to do."""
import sys


class ParleyError(Exception):
    """Base for every user-facing failure; the CLI prints it and exits 2, operators report it."""


class RigError(ParleyError):
    pass


class AudioError(ParleyError):
    pass


class ModelError(ParleyError):
    pass


def run_cli(work, *args):
    """Run ``work(*args)`` as a command-line step -> exit code: 0 when it returns, 2 with one line
    ``error: ...`` on stderr when it raises a ParleyError (anything else still raises)."""
    try:
        work(*args)
    except ParleyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
