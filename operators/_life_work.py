"""The bpy-free part of a living take, run by ``_job.TakeJob`` on its worker thread.

``LifeInputs`` is what the operator read from Blender (``operators/_life.py``); the functions here
build the head's rig of weights (a FLAME head; kept per geometry for the session), lay head motion,
gaze, listening and dialogue over the take (``inference/life.py``) and bake the head rotation into
the mesh cache when the head has no bone to carry it.
"""
from dataclasses import dataclass, field

import numpy as np

from ..inference.head_rig import build_head_rig
from ..inference.life import HeadFrame, HeadRotationBake, Life, dialogue_samples, life_take, listen_take
from ..inference.prosody import n_frames_for
from ..inference.take import HEAD_ROTATION
from . import _runtime


@dataclass
class LifeInputs:
    life: Life
    head_source: tuple = None    # (vertices, triangles) of a FLAME head: its head rig is built on the job
    bake: bool = False           # bake the head rotation into the .pc2 (no bone carries it)
    plan: object = None          # how the Blender side writes the head rotation (operators/_life.py)
    head_rig: object = None      # filled in by the job (a head_rig.HeadRig) from head_source
    warnings: list = field(default_factory=list)   # what the user should hear (the operator reports them)


def _ready(inputs):
    """The head rig (when the head is FLAME) and the frame a look-at target is seen from."""
    life = inputs.life
    if life.head_source is not None and life.head_rig is None:
        life.head_rig = _runtime.cached_rig(life.head_source, build_head_rig)
    if life.head_rig is not None and life.life.frame is None:
        life.life.frame = HeadFrame.from_head_rig(life.head_rig)
    return life.life


def speech_audio(inputs):
    """The audio the model runs on: the character's own, padded with silence to what it hears."""
    pcm = inputs.pcm16k
    if inputs.life is None or inputs.life.life.heard16k is None:
        return pcm
    n = dialogue_samples(pcm, inputs.life.life.heard16k)
    return pcm if n == pcm.shape[0] else np.concatenate([pcm, np.zeros(n - pcm.shape[0], pcm.dtype)])


def alive(inputs, take, pcm16k, style):
    """The speaking take with the life layers (itself, untouched, when they are all off)."""
    if inputs.life is None or not inputs.life.life.changes_anything:
        return take
    return life_take(take, pcm16k, inputs.seed, style, _ready(inputs))


def listen(inputs, model, style):
    """A listening take (no model run): over the heard audio, else ``life.frames`` of silence."""
    life = _ready(inputs)
    frames = life.frames if life.heard16k is None else n_frames_for(life.heard16k.shape[0], inputs.fps)
    return listen_take(life.heard16k, max(1, frames), inputs.fps, inputs.seed, model.meta.curve_names, style, life)


def bake_hook(inputs, take):
    """decode_to_pc2's vertex_hook that skins each block with the head rotation, or None."""
    life = inputs.life
    if life is None or not life.bake or life.head_rig is None or HEAD_ROTATION not in take.extras:
        return None
    return HeadRotationBake(life.head_rig)
