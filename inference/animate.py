"""Speech -> curves: ``animate(model, pcm, sr, fps, style, seed)``.

PCM at any rate (and [N] or [N, channels]) is brought to 16 kHz mono (``audio.to_mono_16k``),
run through the ONNX graph at its internal 50 fps, then converted to the requested frame rate
(any rate, 23.976 and 29.97 included) keeping closures shorter than a frame (``curves``).

Long audio runs in chunks of ``CHUNK_SECONDS`` with ``context`` frames of audio either side
(at least the graph's receptive field, from its metadata). The graph has no statistics over time,
so each kept frame sees exactly the audio it would see in one pass: joins are seamless (equal to a
single pass to float rounding) and memory stays bounded (10 minutes of audio stay well under
500 MB). Noise is drawn once for the whole take from the seed, and sliced per chunk at
noise-step boundaries, so the same audio, style and seed give bit-identical curves.
"""
import math

import numpy as np

from .blinks import add_blinks
from .curves import Curves, resample_curves
from .errors import ModelError, ParleyError

CHUNK_SECONDS = 30.0
NOISE_STREAM = 0x0A11CE  # separates the noise stream from the style prior's stream for one seed


class Cancelled(ParleyError):
    """Raised when ``should_cancel()`` returned True; nothing was produced."""


def _axis_value(model, style_vec, name):
    names = [axis.name for axis in model.meta.style_axes]
    return float(style_vec[names.index(name)]) if name in names else 0.0


def resolve_style(model, style):
    """None | {name: value} | (named dict, latent) | [S] vector -> float32 [S]."""
    if style is None or isinstance(style, dict):
        return model.style_vector(style)
    if isinstance(style, tuple) and len(style) == 2 and isinstance(style[0], dict):
        return model.style_vector(style[0], style[1])
    vector = np.asarray(style, np.float32).reshape(-1)
    named, latent = model.style_from_vector(vector)
    return model.style_vector(named, latent)


def seed_noise(seed, steps, dim):
    """[steps, dim] float32 N(0, 1) for a seed (numpy's PCG64, reproducible across platforms)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, NOISE_STREAM]))
    return rng.standard_normal((steps, dim)).astype(np.float32)


def model_frames(meta, n_samples):
    """Frames the graph returns for n_samples of 16 kHz audio: ceil((1 + N // hop) / (spf / hop))."""
    frontend = meta.raw.get("frontend")
    hop = 160
    if frontend:
        import json
        hop = int(json.loads(frontend).get("hop", 160))
    stride = meta.samples_per_frame // hop
    return -(-(1 + n_samples // hop) // stride)


def run_model(model, audio16k, style_vec, seed=0, progress=None, should_cancel=None, chunk_seconds=CHUNK_SECONDS):
    """16 kHz mono audio -> [T, K] curves at the model's fps, chunked with context."""
    meta = model.meta
    spf, step = meta.samples_per_frame, meta.noise_step
    total = model_frames(meta, audio16k.size)
    context = (int(math.ceil(meta.receptive_field_s * meta.fps / step)) + 1) * step
    core = max(step, int(round(chunk_seconds * meta.fps / step)) * step)
    noise = seed_noise(seed, -(-total // step) + 2, meta.noise_dim)
    out = np.empty((total, len(meta.curve_names)), np.float32)
    starts = list(range(0, total, core)) if total > core + 2 * context else [0]
    for i, f0 in enumerate(starts):
        if should_cancel is not None and should_cancel():
            raise Cancelled("generation cancelled; nothing was changed")
        f1 = total if len(starts) == 1 else min(total, f0 + core)
        fa = max(0, f0 - context)
        fb = f1 + context
        segment = audio16k[fa * spf:] if fb >= total else audio16k[fa * spf:fb * spf]
        frames = model_frames(meta, segment.size)
        n0 = fa // step
        values = model.run(segment, style_vec, noise[n0:n0 + -(-frames // step)])
        out[f0:f1] = values[f0 - fa:f1 - fa]
        if progress is not None:
            progress((i + 1) / len(starts))
    return out


def animate(model, pcm, sr, fps, style=None, seed=0, progress=None, should_cancel=None, chunk_seconds=CHUNK_SECONDS):
    """PCM [N] or [N, C] at sr -> Curves at fps (frame k at k / fps, round(duration * fps) frames)."""
    from .audio import to_mono_16k

    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise ModelError(f"frame rate '{fps}' is not a number") from None
    if not math.isfinite(fps) or fps <= 0:
        raise ModelError(f"frame rate must be positive, got {fps}")
    if not sr or sr <= 0:
        raise ModelError(f"sample rate must be positive, got {sr}")
    pcm = np.asarray(pcm)
    duration = pcm.shape[0] / float(sr)
    audio = to_mono_16k(pcm, int(round(sr)))
    if model.meta.sample_rate != 16000:
        raise ModelError(f"model expects {model.meta.sample_rate} Hz audio; this runtime feeds 16 kHz: update Parley")
    style_vec = resolve_style(model, style)
    values = run_model(model, audio, style_vec, seed, progress, should_cancel, chunk_seconds)
    if model.meta.runtime_blinks:
        add_blinks(values, list(model.meta.curve_names), model.meta.fps, audio, seed,
                   _axis_value(model, style_vec, "upper_face"))
    n_out = max(1, int(round(duration * fps)))
    return Curves(model.meta.curve_names, fps, resample_curves(values, model.meta.fps, fps, model.meta.curve_names, n_out))
