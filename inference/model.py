"""Load the ONNX motion model and its metadata; style vectors, the style prior and Mimic.

``load_model()`` opens ``models/parley.onnx`` (shipped next to this package) with explicit
onnxruntime providers: CPU by default, CUDA when asked (falls back to CPU with a warning when
onnxruntime has no CUDA provider here). Everything the runtime needs (rates, curve names, style
axes, the prior, the noise layout) comes from the graph's ``metadata_props``.
"""
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError
from .style import StyleAxis

log = logging.getLogger("parley.model")

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "models" / "parley.onnx"
MIN_MIMIC_SECONDS = 1.0


@dataclass
class ModelMeta:
    sample_rate: int
    fps: float
    curve_names: tuple
    style_axes: list
    latent_dim: int
    prior: dict
    version: str
    providers: tuple = ()
    noise_dim: int = 8
    noise_step: int = 10
    samples_per_frame: int = 320
    receptive_field_s: float = 1.0
    upper_face_curves: tuple = ()
    style_encoder: str = ""
    runtime_blinks: bool = True   # the runtime lays seeded blinks over the eyelids (models whose net does not blink)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def style_dim(self):
        return len(self.style_axes) + self.latent_dim

    @property
    def style_names(self):
        return tuple(a.name for a in self.style_axes)


def _meta_from_props(props, providers):
    def get(key, conv=str):
        if key not in props:
            raise ModelError(f"the motion model lacks metadata '{key}'; it is not a Parley model: reinstall Parley")
        value = props[key]
        return conv(value)

    js = json.loads
    try:
        return ModelMeta(
            sample_rate=get("sample_rate", int), fps=get("fps", float),
            curve_names=tuple(get("curve_names", js)),
            style_axes=[StyleAxis.from_dict(d) for d in get("style_axes", js)],
            latent_dim=get("latent_dim", int),
            prior={k: (np.asarray(v, np.float64) if isinstance(v, list) else v) for k, v in get("prior", js).items()},
            version=get("version"), providers=tuple(providers),
            noise_dim=get("noise_dim", int), noise_step=get("noise_step", int),
            samples_per_frame=get("samples_per_frame", int), receptive_field_s=get("receptive_field_s", float),
            upper_face_curves=tuple(get("upper_face_curves", js)), style_encoder=props.get("style_encoder", ""),
            runtime_blinks=props.get("runtime_blinks", "1") != "0",
            raw=dict(props))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the motion model's metadata is unreadable ({exc}); reinstall Parley") from None


def _providers(device):
    import onnxruntime as ort

    available = ort.get_available_providers()
    device = (device or "cpu").lower()
    if device not in ("cpu", "cuda", "auto"):
        raise ModelError(f"unknown device '{device}'; use cpu, cuda or auto")
    if device in ("cuda", "auto") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], device == "cuda"
    if device == "cuda":
        msg = ("CUDA was requested but this onnxruntime has no CUDA provider "
               f"(available: {', '.join(available)}); running on the CPU instead")
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
        log.warning(msg)
    return ["CPUExecutionProvider"], False


def _session(path, providers, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(0, int(threads or 0))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # pool threads sleep instead of spinning between the graph's ops: a spinning pool on a machine whose
    # other cores are busy (a render, a training job, Blender's own threads) halves the speed of a run
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(os.fspath(path), options, providers=providers)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or ["unknown error"])[0][:200]
        raise ModelError(f"cannot load the motion model {path} ({first}); the file is damaged: "
                         "reinstall Parley or pass a valid .onnx") from None


@dataclass
class MotionModel:
    session: object
    meta: ModelMeta
    path: str = ""
    style_session: object = None
    threads: int = 0

    # -- style -------------------------------------------------------------------------------
    def style_vector(self, values=None, latent=None):
        """float32 [S]: named axes (defaults where not given, clamped to range) + latent (zeros by default)."""
        axes = self.meta.style_axes
        values = dict(values or {})
        names = {a.name for a in axes}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ModelError(f"unknown style '{unknown[0]}'; choose from: {', '.join(a.name for a in axes)}")
        named = []
        for axis in axes:
            try:
                v = float(values.get(axis.name, axis.default))
            except (TypeError, ValueError):
                raise ModelError(f"style {axis.name}: '{values[axis.name]}' is not a number") from None
            if not np.isfinite(v):
                raise ModelError(f"style {axis.name} is {v}; give a number between {axis.lo} and {axis.hi}")
            named.append(axis.clamp(v))
        lat = np.zeros(self.meta.latent_dim, np.float32) if latent is None else np.asarray(latent, np.float32).reshape(-1)
        if lat.size != self.meta.latent_dim:
            raise ModelError(f"style latent has {lat.size} values; this model expects {self.meta.latent_dim}")
        return np.concatenate([np.asarray(named, np.float32), lat]).astype(np.float32)

    def style_from_vector(self, vector):
        """(dict of named values, latent) from a full [S] vector."""
        vector = np.asarray(vector, np.float32).reshape(-1)
        if vector.size != self.meta.style_dim:
            raise ModelError(f"style vector has {vector.size} values; this model expects {self.meta.style_dim}")
        n = len(self.meta.style_axes)
        return {a.name: float(vector[i]) for i, a in enumerate(self.meta.style_axes)}, vector[n:].copy()

    def sample_style(self, seed):
        """Draw a plausible speaker from the learned prior: (dict named values, latent [L]); same seed, same draw."""
        prior = self.meta.prior
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x5E7E]))
        weights = np.asarray(prior["weights"], np.float64)
        means = np.asarray(prior["means"], np.float64)
        covs = np.asarray(prior["covariances"], np.float64)
        j = int(rng.choice(len(weights), p=weights / weights.sum()))
        chol = np.linalg.cholesky(covs[j] + 1e-9 * np.eye(covs.shape[1]))
        x = means[j] + chol @ rng.standard_normal(means.shape[1])
        vector = self.style_vector(
            {a.name: float(x[i]) for i, a in enumerate(self.meta.style_axes)}, x[len(self.meta.style_axes):])
        return self.style_from_vector(vector)

    def mimic(self, curves, fps=None, names=None):
        """Style vector [S] of a reference animation: ARKit curves [T,K] (or a Curves) at fps, a few seconds or more."""
        from .arkit import canonical_name
        from .curves import Curves, resample_curves

        if isinstance(curves, Curves):
            names, fps, values = curves.names, curves.fps if fps is None else fps, curves.values
        else:
            values = np.asarray(curves, np.float32)
        names = tuple(names) if names is not None else self.meta.curve_names
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ModelError(f"reference curves are shaped {values.shape}; expected [frames, {len(names)}]")
        if not fps or fps <= 0:
            raise ModelError("reference curves need a positive frame rate")
        if values.shape[0] / fps < MIN_MIMIC_SECONDS:
            raise ModelError(f"the reference animation is {values.shape[0] / fps:.2f} s long; Mimic needs at least "
                             f"{MIN_MIMIC_SECONDS:g} s (a few seconds of speech works best)")
        column = {canonical_name(n) or n: i for i, n in enumerate(names)}
        ordered = np.zeros((values.shape[0], len(self.meta.curve_names)), np.float32)
        found = 0
        for k, n in enumerate(self.meta.curve_names):
            if n in column:
                ordered[:, k] = values[:, column[n]]
                found += 1
        if found == 0:
            raise ModelError("the reference animation has no ARKit-named curves; name them like jawOpen, eyeBlink_L")
        ordered = np.nan_to_num(np.clip(ordered, 0.0, 1.0))
        target_fps = float(self.meta.raw.get("style_encoder_fps", self.meta.fps))
        n_out = max(2, int(round(ordered.shape[0] * target_fps / fps)))
        at_model = resample_curves(ordered, fps, target_fps, self.meta.curve_names, n_out, closure_names=())
        session = self._style_session()
        out = session.run(None, {"curves": at_model[None].astype(np.float32)})[0][0]
        named, latent = self.style_from_vector(out)
        return self.style_vector(named, latent)

    def _style_session(self):
        if self.style_session is None:
            name = self.meta.style_encoder or "parley_style.onnx"
            path = Path(self.path).parent / name
            if not path.exists():
                raise ModelError(f"the Mimic style encoder {path} is missing; reinstall Parley")
            self.style_session = _session(path, list(self.meta.providers) or ["CPUExecutionProvider"], self.threads)
        return self.style_session

    # -- raw inference -------------------------------------------------------------------------
    def run(self, audio, style, noise):
        """One graph call: audio [N] float32 16 kHz, style [S], noise [Tn,Z] -> curves [T,K] at meta.fps."""
        feed = {"audio": np.ascontiguousarray(audio, np.float32).reshape(1, -1),
                "style": np.ascontiguousarray(style, np.float32).reshape(1, -1),
                "noise": np.ascontiguousarray(noise, np.float32).reshape(1, -1, self.meta.noise_dim)}
        return self.session.run(["curves"], feed)[0][0]


def load_model(path=None, device="cpu", threads=0):
    """Open the motion model (default: the shipped models/parley.onnx) -> MotionModel."""
    path = Path(path) if path else DEFAULT_PATH
    if not path.exists():
        raise ModelError(f"motion model not found: {path}; reinstall Parley or pass the path of a parley .onnx")
    if path.is_dir():
        raise ModelError(f"{path} is a folder; pass the path of a parley .onnx file")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError("onnxruntime is not installed; pip install onnxruntime (or reinstall the extension)") from None
    providers, strict_cuda = _providers(device)
    session = _session(path, providers, threads)
    actual = tuple(session.get_providers())
    if strict_cuda and "CUDAExecutionProvider" not in actual:
        msg = "CUDA was requested but onnxruntime could not start it (check the CUDA/cuDNN libraries); running on the CPU"
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        log.warning(msg)
    props = session.get_modelmeta().custom_metadata_map
    meta = _meta_from_props(props, actual)
    names = [i.name for i in session.get_inputs()]
    if names[:3] != ["audio", "style", "noise"] and set(names) != {"audio", "style", "noise"}:
        raise ModelError(f"{path.name} has inputs {names}, not a Parley motion model; reinstall Parley")
    return MotionModel(session=session, meta=meta, path=str(path), threads=int(threads or 0))
