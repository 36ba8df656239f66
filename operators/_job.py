"""One take's heavy, bpy-free work: model -> curves, rig, mesh cache, with progress and cancel.

``TakeJob.run()`` touches no Blender data, so the operator can run it on a worker thread while the
UI stays live (onnxruntime and numpy release the GIL) or call it directly in ``--background``.
Everything it produces is either in memory or in a hidden staging file next to the final .pc2;
the operator moves results into the user's data only when the whole take succeeded.
"""
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..inference.animate import Cancelled, animate
from ..inference.errors import ParleyError
from ..inference.rig import Rig, build_rig
from ..inference.take import ShapeTarget, Take, decode_to_pc2
from . import _life_work, _runtime


@dataclass
class TakeInputs:
    """What the job needs: plain numpy/str values read from Blender on the main thread before it starts."""
    pcm16k: np.ndarray           # float32 mono at 16 kHz (already validated by inference.audio.to_mono_16k)
    fps: float                   # frames per second of the take
    model: dict                  # path=, device=, threads= for _runtime.get_model
    target: ShapeTarget          # the shape keys the take drives and the curves they follow
    style: tuple = None          # (named dict, latent or None) or None
    seed: int = 0
    style_seed: int = -1         # >= 0: draw the style from the model's prior instead of ``style``
    rig_source: object = None    # a Rig (the object's shape keys), (vertices, triangles) to build one, or None
    cache_path: str = None       # staging path of the .pc2 to write; None: no mesh cache
    start_frame: float = 1.0
    new_folders: list = field(default_factory=list)  # folders the cache creates; removed again when nothing is kept
    others: tuple = ()           # ShapeTargets of the character's other Actions (operators/_character.py)
    more_caches: tuple = ()      # (Rig, ShapeTarget, staging path) per other mesh of the character
    life: object = None          # _life_work.LifeInputs (head motion, gaze, listening), or None: the bare take


class TakeJob:
    """Runs one take from ``TakeInputs``; afterwards ``take``, ``weights`` (in ``inputs.target.shapes``
    order) and ``rig`` hold the results, ``warnings`` what the user should hear, ``seconds`` the timings."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.progress, self.stage = 0.0, "starting"
        self.take = self.weights = self.rig = None
        self.other_weights = []  # one [T, J] per ``inputs.others``
        self.sampled_style = None
        self.warnings = []
        self.error = None
        self.done = False
        self.seconds = {}
        self.on_progress = None  # callable(stage, fraction) for --background progress lines
        self._cancel = threading.Event()
        self._thread = None

    # -- control ---------------------------------------------------------------------------
    def cancel(self):
        self._cancel.set()

    def cancelled(self):
        return self._cancel.is_set()

    def start_thread(self):
        self._thread = threading.Thread(target=self._run_catching, name="parley-take", daemon=True)
        self._thread.start()

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _run_catching(self):
        try:
            self.run()
        except BaseException as exc:  # handed to the main thread, which reports it in the user's words
            self.error = exc
        finally:
            self.done = True

    def _set(self, stage, lo, hi, fraction=0.0):
        self.stage = stage
        self.progress = lo + (hi - lo) * max(0.0, min(1.0, fraction))
        if self.on_progress is not None:
            self.on_progress(stage, self.progress)

    def _check(self):
        if self._cancel.is_set():
            raise Cancelled("generation cancelled; nothing was changed")

    # -- work ------------------------------------------------------------------------------
    def run(self):
        inputs, clock = self.inputs, time.perf_counter
        t = clock()
        self._set("loading the model", 0.0, 0.05)
        model, style = self._model_and_style()
        self._check()
        self.seconds["model"] = clock() - t
        t = clock()
        animate_to = 0.6 if inputs.cache_path or isinstance(inputs.rig_source, tuple) else 1.0
        if inputs.life is not None and inputs.life.life.listen_only:
            self.take = _life_work.listen(inputs, model, style)
        else:
            pcm = _life_work.speech_audio(inputs)
            curves = animate(model, pcm, 16000, inputs.fps, style=style, seed=inputs.seed,
                             progress=lambda f: self._set("running the model", 0.05, animate_to, f),
                             should_cancel=self._cancel.is_set)
            self.take = _life_work.alive(inputs, Take.from_curves(curves), pcm, style)
        self.weights = inputs.target.weights(self.take)  # what the shape keys are keyed with
        self.other_weights = [target.weights(self.take) for target in inputs.others]
        self.seconds["animate"] = clock() - t
        self._check()
        if isinstance(inputs.rig_source, tuple):
            t = clock()
            self._set("building the rig", animate_to, animate_to + 0.15)
            self.rig = _runtime.cached_rig(inputs.rig_source, build_rig)
            self.seconds["rig"] = clock() - t
        elif isinstance(inputs.rig_source, Rig):
            self.rig = inputs.rig_source
        self._check()
        if inputs.cache_path:
            t = clock()
            self._write_cache(0.75)
            self.seconds["cache"] = clock() - t
        self._set("done", 1.0, 1.0)

    def _model_and_style(self):
        """The model, and the style to run it with: only the axes this model knows (the sliders may come from
        another model), or a draw from its prior."""
        model, warnings = _runtime.get_model(**self.inputs.model)
        self.warnings.extend(warnings)
        style = self.inputs.style
        if isinstance(style, tuple):
            named = {k: v for k, v in style[0].items() if k in model.meta.style_names}
            latent = style[1] if style[1] is not None and len(style[1]) == model.meta.latent_dim else None
            style = (named, latent)
        if self.inputs.style_seed >= 0:
            style = model.sample_style(self.inputs.style_seed)
            self.sampled_style = style
        return model, style

    def _write_cache(self, lo):
        if self.rig is None:
            raise ParleyError("no rig to decode the mesh cache from; build the rig first")
        jobs = ((self.rig, self.inputs.target, self.inputs.cache_path),) + tuple(self.inputs.more_caches)
        step = (1.0 - lo) / len(jobs)
        for n, (rig, target, path) in enumerate(jobs):  # the head's, then each other mesh's .pc2
            a = lo + n * step
            # the head rotation is baked into the head's own cache only: a character with other meshes has its
            # own armature, whose head bone turns them all (operators/_head_bone.py)
            hook = _life_work.bake_hook(self.inputs, self.take) if n == 0 else None
            decode_to_pc2(rig, self.take, path, target, start_frame=self.inputs.start_frame,
                          cancel=self._cancel.is_set, vertex_hook=hook,
                          progress=lambda f, a=a: self._set("writing the mesh cache", a, a + step, f))

    def discard(self):
        """Remove the staging cache (after a failure, a cancel, or when the commit did not happen)."""
        for path in (self.inputs.cache_path, *(c[2] for c in self.inputs.more_caches)):
            if path and os.path.exists(path):
                os.remove(path)
        for folder in self.inputs.new_folders:  # deepest first
            try:
                os.rmdir(folder)
            except OSError:
                pass
