"""One take's heavy, bpy-free work: model -> curves, rig, mesh cache, with progress and cancel.

``TakeJob.run()`` touches no Blender data, so the operator can run it on a worker thread while the
UI stays live (onnxruntime and numpy release the GIL) or call it directly in ``--background``.
Everything it produces is either in memory or in a hidden staging file next to the final .pc2;
the operator moves results into the user's data only when the whole take succeeded.
"""
import os
import threading
import time

import numpy as np

from ..inference.animate import Cancelled, animate
from ..inference.errors import ParleyError
from ..inference.pc2 import PC2Writer
from ..inference.rig import Rig, build_rig
from . import _runtime

DECODE_BLOCK = 256  # frames decoded and written at a time: memory stays flat for any length


class TakeJob:
    """Inputs are plain numpy/str values read from Blender on the main thread before the job starts.

    pcm16k:       float32 mono at 16 kHz (already validated by inference.audio.to_mono_16k)
    fps:          the scene's frame rate
    model:        dict(path=, device=, threads=) for _runtime.get_model
    style:        (named dict, latent or None) or None; style_seed >= 0 draws from the prior instead
    targets:      [(curve name, target key name)]: what each driven shape key follows
    rig_source:   a Rig (from the object's shape keys), or (vertices, triangles) to build one, or None
    cache_path:   staging path of the .pc2 to write (None: no mesh cache)
    """

    def __init__(self, pcm16k, fps, model, style, seed, targets, rig_source=None, cache_path=None,
                 start_frame=1, style_seed=-1):
        self.pcm16k, self.fps, self.model_args = pcm16k, float(fps), dict(model)
        self.style, self.seed, self.style_seed = style, int(seed), int(style_seed)
        self.targets, self.rig_source, self.cache_path = list(targets), rig_source, cache_path
        self.start_frame = float(start_frame)
        self.progress, self.stage = 0.0, "starting"
        self.curves = self.weights = self.rig = None
        self.sampled_style = None
        self.warnings = []
        self.error = None
        self.done = False
        self.seconds = {}
        self.on_progress = None
        self.new_folders = []  # folders the cache would create; removed again when nothing is kept  # callable(stage, fraction) for --background progress lines
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
        clock = time.perf_counter
        t = clock()
        self._set("loading the model", 0.0, 0.05)
        model, warnings = _runtime.get_model(**self.model_args)
        self.warnings.extend(warnings)
        style = self.style
        if isinstance(style, tuple):  # only the axes this model knows (the sliders may come from another model)
            named = {k: v for k, v in style[0].items() if k in model.meta.style_names}
            latent = style[1] if style[1] is not None and len(style[1]) == model.meta.latent_dim else None
            style = (named, latent)
        if self.style_seed >= 0:
            style = model.sample_style(self.style_seed)
            self.sampled_style = style
        self._check()
        self.seconds["model"] = clock() - t
        t = clock()
        animate_to = 0.6 if self.cache_path or isinstance(self.rig_source, tuple) else 1.0
        self.curves = animate(model, self.pcm16k, 16000, self.fps, style=style, seed=self.seed,
                              progress=lambda f: self._set("running the model", 0.05, animate_to, f),
                              should_cancel=self._cancel.is_set)
        column = {n: i for i, n in enumerate(self.curves.names)}
        self.weights = np.zeros((self.curves.num_frames, len(self.targets)), np.float32)
        for k, (curve, _key) in enumerate(self.targets):
            if curve in column:  # a curve this model does not make stays at rest
                self.weights[:, k] = self.curves.values[:, column[curve]]
        np.clip(self.weights, 0.0, 1.0, out=self.weights)  # shape-key sliders and the cache see the same values
        self.seconds["animate"] = clock() - t
        self._check()
        if isinstance(self.rig_source, tuple):
            t = clock()
            self._set("building the rig", animate_to, animate_to + 0.15)
            self.rig = _runtime.cached_rig(self.rig_source, build_rig)
            self.seconds["rig"] = clock() - t
        elif isinstance(self.rig_source, Rig):
            self.rig = self.rig_source
        self._check()
        if self.cache_path:
            t = clock()
            self._write_cache(0.75)
            self.seconds["cache"] = clock() - t
        self._set("done", 1.0, 1.0)

    def cache_weights(self):
        """Weights in the rig's own name order (the cache decodes through the rig)."""
        by_key = {key: k for k, (_curve, key) in enumerate(self.targets)}
        out = np.zeros((self.weights.shape[0], len(self.rig.names)), np.float32)
        for j, name in enumerate(self.rig.names):
            if name in by_key:
                out[:, j] = self.weights[:, by_key[name]]
        return out

    def _write_cache(self, lo):
        if self.rig is None:
            raise ParleyError("no rig to decode the mesh cache from; build the rig first")
        weights = self.cache_weights()
        total = weights.shape[0]
        with PC2Writer(self.cache_path, self.rig.neutral.shape[0], start_frame=self.start_frame,
                       sample_rate=1.0) as cache:
            for start in range(0, total, DECODE_BLOCK):
                self._check()
                cache.write(self.rig.decode(weights[start:start + DECODE_BLOCK]))
                self._set("writing the mesh cache", lo, 1.0, (start + DECODE_BLOCK) / total)

    def discard(self):
        """Remove the staging cache (after a failure, a cancel, or when the commit did not happen)."""
        if self.cache_path and os.path.exists(self.cache_path):
            os.remove(self.cache_path)
        for folder in self.new_folders:  # deepest first
            try:
                os.rmdir(folder)
            except OSError:
                pass
