"""Seeded blinks for a take: the part of the upper face that the audio cannot predict.

The network learns blink *rate* poorly: blinks are short, rare and unrelated to the sound, so a
regression loss makes "never blink" its best guess (see models/MODEL_CARD.md, Limits). The runtime
therefore lays blinks over the model's eyelid curves with the same process the teacher labels the
corpus with: a refractory Poisson process of 10-20 blinks a minute (scaled by the ``upper_face``
style axis), most of them pulled to the start of pauses found in the audio, both eyes together,
each 100-300 ms long. The seed draws it, so takes differ while the lips stay untouched.
"""
import numpy as np

BLINK_STREAM = 0xB1B1  # separates the blink stream from the model's noise stream for one seed
MIN_PAUSE_S = 0.18     # a quieter stretch at least this long counts as a pause
REFRACTORY_S = 0.45    # no blink starts within this time of the previous one


def pause_starts(audio16k, fps):
    """Start times (s) of pauses: stretches of >= MIN_PAUSE_S more than 30 dB under the loud frames."""
    hop = int(round(16000 / fps))
    n = audio16k.shape[0] // hop
    if n == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(audio16k[:n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    quiet = 20 * np.log10(rms) < 20 * np.log10(np.percentile(rms, 95) + 1e-12) - 30.0
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long_enough = (ends - starts) / fps >= MIN_PAUSE_S
    return starts[long_enough] / fps


def blink_curve(n_frames, fps, seed, upper_face=0.0, pauses=()):
    """[n_frames] eyelid closure in [0, 1] at fps for one seed."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, BLINK_STREAM]))
    duration = n_frames / fps
    activity = 0.25 + 0.75 * (float(upper_face) + 1.0) / 2.0
    rate = (16.0 + 5.0 * float(upper_face)) / 60.0          # 11..21 a minute across the axis
    times, t = [], rng.exponential(1.0 / rate) * rng.random()
    while t < duration:
        times.append(t)
        t += 0.5 + rng.exponential(max(1.0 / rate - 0.5, 0.2))
    pauses = np.asarray(pauses, dtype=np.float64)
    if pauses.size:
        for j, x in enumerate(times):
            near = pauses[np.abs(pauses - x) < 1.5]
            if near.size and rng.random() < 0.45 + 0.3 * activity:
                times[j] = float(near[np.argmin(np.abs(near - x))] + rng.uniform(0.0, 0.12))
    kept = []
    for x in sorted(times):
        if not kept or x - kept[-1] > REFRACTORY_S:
            kept.append(x)
    curve = np.zeros(n_frames)
    if not kept:
        return curve.astype(np.float32)
    start = np.array(kept)
    length = rng.uniform(0.10, 0.30, start.size)
    closing = 0.38 * length                                  # lids close faster than they open
    peak = rng.uniform(0.85, 1.0, start.size)
    for t0, length_s, closing_s, height in zip(start, length, closing, peak):
        # each blink touches only its own 100-300 ms: memory stays flat for any take length
        first, last = int(np.ceil(t0 * fps)), min(n_frames, int(np.floor((t0 + length_s) * fps)) + 1)
        rel = np.arange(first, last) / fps - t0
        shape = np.where(rel < closing_s, np.sin(0.5 * np.pi * np.clip(rel / closing_s, 0, 1)),
                         np.cos(0.5 * np.pi * np.clip((rel - closing_s) / (length_s - closing_s), 0, 1)))
        curve[first:last] = np.maximum(curve[first:last], shape * height)
    return curve.astype(np.float32)


def add_blinks(values, names, fps, audio16k, seed, upper_face=0.0):
    """Lay seeded blinks over the eyeBlink curves of values [T, K] (in place; max with the model's)."""
    columns = [names.index(n) for n in ("eyeBlink_L", "eyeBlink_R") if n in names]
    if not columns:
        return values
    blink = blink_curve(values.shape[0], fps, seed, upper_face, pause_starts(audio16k, fps))
    for c in columns:
        values[:, c] = np.maximum(values[:, c], blink)
    return values
