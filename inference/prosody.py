"""Prosody of a take, per frame: what the head, eyes and listening layers move with.

``prosody(audio16k, fps) -> Prosody``: loudness, voicing and F0, speech/pause segmentation into
phrases, syllable nuclei with a prominence score, stressed syllables, pitch accents and phrase ends,
all on the take's own frame grid (frame k is the instant k / fps, any rate, 29.97 included).

numpy only (Blender ships numpy; the extension ships no scipy). Pitch is a YIN-style tracker
(cumulative-mean-normalised difference function, de Cheveigné & Kawahara 2002) on audio
decimated to 4 kHz: every frame's difference function comes from one small FFT, so 60 s of speech
takes a few milliseconds. Audio is read in blocks of ``BLOCK_FRAMES`` frames, so memory stays flat
for any take length.

Silence, noise-only and unvoiced audio give an empty structure (no phrases, no nuclei), never an
error: the layers built on it then only breathe and sway.
"""
from dataclasses import dataclass

import numpy as np

from .blinks import MIN_PAUSE_S

SR = 16000
DECIMATE = 4                 # pitch runs at 4 kHz: plenty for 60-400 Hz voices
PITCH_SR = SR // DECIMATE
F0_MIN, F0_MAX = 60.0, 400.0
YIN_WINDOW_S = 0.025         # integration window of the difference function
YIN_THRESHOLD = 0.2          # first dip of the normalised difference under this is the period
VOICED_MAX_APERIODICITY = 0.35
LOUDNESS_WINDOW_S = 0.032
SILENCE_DB = -30.0           # speech: within 30 dB of the take's loud frames (as blinks.pause_starts)
FLOOR_DBFS = -60.0           # anything quieter than this is silence whatever the take's level
MIN_SPEECH_S = 0.08          # shorter bursts are clicks, not speech
NUCLEUS_GAP_S = 0.12         # syllables are at least this far apart (<= ~8 syllables/s)
NUCLEUS_PROMINENCE_DB = 2.0  # a nucleus stands this far above the dips either side
BLOCK_FRAMES = 2048          # frames analysed per block (flat memory)


@dataclass
class Prosody:
    """Per-frame prosody of a take at ``fps``; event fields hold frame indices (int64)."""
    fps: float
    loudness_db: np.ndarray   # [T] float32 dB RMS (dBFS) over 32 ms centred on the frame
    level: np.ndarray         # [T] float32 loudness in [0, 1]: 0 = 30 dB under the loud frames, 1 = loud
    voiced: np.ndarray        # [T] bool
    f0: np.ndarray            # [T] float32 Hz, 0 where unvoiced
    pitch_st: np.ndarray      # [T] float32 semitones re the take's median F0, held through gaps, 0 before any voicing
    speech: np.ndarray        # [T] bool: inside a phrase
    phrases: np.ndarray       # [P, 2] int64 (first, end) frames, end exclusive, pauses >= MIN_PAUSE_S between
    nuclei: np.ndarray        # [N] int64 syllable nuclei (loudness peaks inside phrases)
    prominence: np.ndarray    # [N] float32 in [0, 1]: loudness + pitch prominence within the phrase
    stressed: np.ndarray      # [N] bool: the phrase's prominent syllables
    accents: np.ndarray       # [A] int64 pitch accents (nuclei with a local F0 peak >= 1.5 st above the phrase line)

    @property
    def n_frames(self):
        return int(self.loudness_db.shape[0])

    @property
    def phrase_ends(self):
        return self.phrases[:, 1] if self.phrases.size else np.zeros(0, np.int64)


def n_frames_for(n_samples, fps):
    """Frames of a take: round(duration * fps), at least 1 (the runtime's own rule)."""
    return max(1, int(round(n_samples / SR * fps)))


def prosody(audio16k, fps, n_frames=None):
    """16 kHz mono audio [N] -> :class:`Prosody` at ``fps`` (``n_frames`` defaults to round(N/16000*fps))."""
    audio = np.asarray(audio16k, np.float32).reshape(-1)
    fps = float(fps)
    T = n_frames_for(audio.size, fps) if n_frames is None else int(n_frames)
    loud = np.empty(T, np.float32)
    f0 = np.zeros(T, np.float32)
    aperiodic = np.ones(T, np.float32)
    for f0_, f1_ in ((a, min(T, a + BLOCK_FRAMES)) for a in range(0, T, BLOCK_FRAMES)):
        centres = np.arange(f0_, f1_) / fps
        loud[f0_:f1_] = _loudness(audio, centres)
        heard = np.flatnonzero(loud[f0_:f1_] > FLOOR_DBFS)   # silence needs no period search
        f0[f0_ + heard], aperiodic[f0_ + heard] = _pitch(audio, centres[heard])
    ref = float(np.percentile(loud, 95)) if T else 0.0
    level = np.clip((loud - (ref + SILENCE_DB)) / -SILENCE_DB, 0.0, 1.0).astype(np.float32)
    audible = (loud > ref + SILENCE_DB) & (loud > FLOOR_DBFS)
    voiced = audible & (f0 > 0) & (aperiodic < VOICED_MAX_APERIODICITY)
    f0 = np.where(voiced, _median3(np.where(voiced, f0, 0.0)), 0.0).astype(np.float32)
    voiced &= f0 > 0
    phrases = _phrases(audible, fps)
    speech = np.zeros(T, bool)
    for a, b in phrases:
        speech[a:b] = True
    pitch_st = _semitones(f0, voiced)
    nuclei, prom, stressed, accents = _syllables(loud, pitch_st, voiced, phrases, fps)
    return Prosody(fps, loud, level, voiced, f0, pitch_st, speech, phrases, nuclei, prom, stressed, accents)


def _frames(signal, centres_samples, length):
    """[len(centres), length] windows of ``signal`` centred on the given sample positions (zero padded)."""
    starts = np.round(centres_samples).astype(np.int64) - length // 2
    pad_lo = max(0, -int(starts.min()))
    pad_hi = max(0, int(starts.max()) + length - signal.size)
    padded = np.pad(signal, (pad_lo, pad_hi))
    return padded[(starts + pad_lo)[:, None] + np.arange(length)]


def _loudness(audio, centres):
    """dB RMS over LOUDNESS_WINDOW_S centred on each time, from a running sum of 1 ms energies
    (window edges land on whole milliseconds: +-0.5 ms on a 32 ms window)."""
    block = SR // 1000
    length = int(LOUDNESS_WINDOW_S * 1000)
    starts = np.round(centres * 1000).astype(np.int64) - length // 2
    first, last = max(0, int(starts[0])), min(audio.size // block, int(starts[-1]) + length)
    x = audio[first * block:max(first, last) * block].reshape(-1, block)
    energy = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    cs = np.r_[0.0, np.cumsum(energy)]
    lo = np.clip(starts - first, 0, energy.size)
    hi = np.clip(starts + length - first, 0, energy.size)
    return (10.0 * np.log10((cs[hi] - cs[lo]) / (length * block) + 1e-10)).astype(np.float32)


def _decimated(audio, first, last):
    """audio[first:last] (16 kHz sample indices, may run past the ends) at 4 kHz, low-passed ~1 kHz:
    a DECIMATE-sample box sum (anti-alias) and a short Hann-windowed sinc (removes the formants that
    fool a period detector)."""
    a, b = max(0, first), min(audio.size, last)
    x = np.zeros((last - first) // DECIMATE * DECIMATE, np.float32)
    if b > a:
        x[a - first:b - first] = audio[a:min(b, first + x.size)]
    x = x.reshape(-1, DECIMATE) @ np.ones(DECIMATE, np.float32)
    return np.convolve(x, _HALF_BAND, mode="same")


# a half-band low-pass at 4 kHz (cut ~1 kHz): every other tap of a windowed sinc is zero
_n = np.arange(-5, 6)
_HALF_BAND = (np.sinc(2 * 1000.0 / PITCH_SR * _n) * np.hanning(13)[1:-1])
_HALF_BAND = (_HALF_BAND / _HALF_BAND.sum()).astype(np.float32)


def _pitch(audio, centres):
    """YIN on 4 kHz audio: (f0 Hz or 0, aperiodicity = min normalised difference) per centre."""
    if centres.size == 0:
        return np.zeros(0, np.float32), np.ones(0, np.float32)
    W = int(YIN_WINDOW_S * PITCH_SR)
    tau_min, tau_max = int(PITCH_SR / F0_MAX), int(np.ceil(PITCH_SR / F0_MIN))
    L = W + tau_max
    margin = L * DECIMATE
    first = int(np.floor(centres[0] * SR)) - margin
    last = int(np.ceil(centres[-1] * SR)) + margin
    x = _decimated(audio, first, last)
    frames = _frames(x, (centres * SR - first) / DECIMATE, L)
    frames = frames - frames[:, :W].mean(1, keepdims=True)
    # sum_j x_j x_{j+tau} (j < W) for every lag: one einsum over a strided view, no copies
    shifted = np.lib.stride_tricks.sliding_window_view(frames, W, axis=1)[:, :tau_max + 1]
    r = np.einsum("tkw,tw->tk", shifted, frames[:, :W]).astype(np.float64)
    sq = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames.astype(np.float64) ** 2, 1)], 1)
    taus = np.arange(tau_max + 1)
    e_tau = sq[:, taus + W] - sq[:, taus]                               # energy of x[tau:tau+W]
    d = np.maximum(sq[:, [W]] + e_tau - 2 * r, 0.0)
    cum = np.cumsum(d[:, 1:], 1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    band = cmnd[:, tau_min:tau_max]
    dip = (band[:, 1:-1] < band[:, :-2]) & (band[:, 1:-1] <= band[:, 2:]) & (band[:, 1:-1] < YIN_THRESHOLD)
    has = dip.any(1)
    tau = np.where(has, np.argmax(dip, 1) + 1, np.argmin(band, 1)) + tau_min
    tau = np.clip(tau, tau_min + 1, tau_max - 1)
    rows = np.arange(len(frames))
    a, b, c = cmnd[rows, tau - 1], cmnd[rows, tau], cmnd[rows, tau + 1]
    shift = np.clip(0.5 * (a - c) / np.where(np.abs(a - 2 * b + c) > 1e-12, a - 2 * b + c, 1.0), -1, 1)
    periodic = np.where(has, b, np.min(band, 1))
    energy = sq[:, W]
    f0 = np.where(energy > 1e-9, PITCH_SR / (tau + shift), 0.0)
    return f0.astype(np.float32), np.where(energy > 1e-9, periodic, 1.0).astype(np.float32)


def _median3(x):
    """3-frame median that leaves lone voiced frames alone but removes single-frame octave jumps."""
    if x.size < 3:
        return x
    stack = np.stack([np.r_[x[0], x[:-1]], x, np.r_[x[1:], x[-1]]])
    med = np.median(stack, 0)
    return np.where(med > 0, med, x)


def _phrases(audible, fps):
    """[P, 2] (first, end) of audible stretches, bridging pauses shorter than MIN_PAUSE_S."""
    edges = np.diff(np.r_[0, audible.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return np.zeros((0, 2), np.int64)
    keep_gap = (starts[1:] - ends[:-1]) / fps >= MIN_PAUSE_S
    starts = np.r_[starts[0], starts[1:][keep_gap]]
    ends = np.r_[ends[:-1][keep_gap], ends[-1]]
    long_enough = (ends - starts) / fps >= MIN_SPEECH_S
    return np.stack([starts[long_enough], ends[long_enough]], 1).astype(np.int64).reshape(-1, 2)


def _semitones(f0, voiced):
    """Semitones re the take's median F0, held (last value) through unvoiced gaps."""
    out = np.zeros(f0.size, np.float32)
    if not voiced.any():
        return out
    st = 12.0 * np.log2(np.maximum(f0, 1.0) / np.median(f0[voiced]))
    idx = np.where(voiced, np.arange(f0.size), 0)
    np.maximum.accumulate(idx, out=idx)
    held = st[idx]
    held[:np.argmax(voiced)] = 0.0
    return held.astype(np.float32)


def _smooth(x, frames):
    width = max(1, int(round(frames)))
    if width < 2:
        return x
    kernel = np.hanning(width + 2)[1:-1]
    return np.convolve(x, kernel / kernel.sum(), mode="same")


def _syllables(loud, pitch_st, voiced, phrases, fps):
    """Nuclei = prominent peaks of the smoothed loudness inside phrases; prominence mixes
    loudness over the phrase's median with F0 over the phrase's trend line (semitones)."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, bool), np.zeros(0, np.int64))
    if not phrases.size:
        return empty
    env = _smooth(loud.astype(np.float64), 0.06 * fps)
    gap = max(1, int(round(NUCLEUS_GAP_S * fps)))
    reach = max(2, int(round(0.15 * fps)))
    padded = np.pad(env, reach, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    left_min = windows[:, :reach + 1].min(1)
    right_min = windows[:, reach:].min(1)
    peak = (env >= windows.max(1)) | ((env > np.r_[env[0], env[:-1]]) & (env >= np.r_[env[1:], env[-1]]))
    drop = env - np.maximum(left_min, right_min)
    pitch_reach = max(1, int(round(0.08 * fps)))
    masked = np.pad(np.where(voiced, pitch_st, -np.inf), pitch_reach, constant_values=-np.inf)
    local_max = np.lib.stride_tricks.sliding_window_view(masked, 2 * pitch_reach + 1).max(1)
    nuclei, prom, stressed, accents = [], [], [], []
    for a, b in phrases:
        cand = a + np.flatnonzero(peak[a:b] & (drop[a:b] >= NUCLEUS_PROMINENCE_DB))
        cand = _thin(cand, env, gap)
        if cand.size == 0:
            continue
        loud_rel = env[cand] - np.median(env[a:b])
        pitch_rel = _pitch_over_trend(pitch_st, voiced, a, b, cand, local_max)
        score = np.clip(loud_rel / 8.0, -1, 1) + np.clip(pitch_rel / 4.0, -1, 1)
        p = np.clip(0.5 + 0.35 * score, 0.0, 1.0)
        rank = np.argsort(np.argsort(-score))
        n_stress = max(1, int(round(0.3 * cand.size)))
        stressed.append((rank < n_stress) & (p > 0.45))
        accents.append(cand[(pitch_rel >= 1.5) & voiced[cand]])
        nuclei.append(cand)
        prom.append(p)
    if not nuclei:
        return empty
    return (np.concatenate(nuclei).astype(np.int64), np.concatenate(prom).astype(np.float32),
            np.concatenate(stressed), np.concatenate(accents).astype(np.int64))


def _thin(cand, env, gap):
    """Keep the louder of two candidates closer than ``gap`` frames."""
    if cand.size < 2:
        return cand
    taken = np.zeros(int(cand.max()) + gap + 1, bool)      # frames within ``gap`` of a kept one
    kept = []
    for i in cand[np.argsort(-env[cand], kind="stable")]:
        if not taken[i]:
            kept.append(i)
            taken[max(0, i - gap + 1):i + gap] = True
    return np.sort(np.array(kept, np.int64))


def _pitch_over_trend(pitch_st, voiced, a, b, cand, local_max):
    """Local F0 peak (max over +-80 ms, voiced frames) above the phrase's declination line, semitones."""
    v = voiced[a:b]
    if v.sum() < 3:
        return np.zeros(cand.size)
    x = np.arange(a, b)[v].astype(np.float64)
    y = pitch_st[a:b][v].astype(np.float64)
    xm, ym = x.mean(), y.mean()
    slope = ((x - xm) * (y - ym)).sum() / max(((x - xm) ** 2).sum(), 1e-12)
    peak = local_max[cand]
    return np.where(np.isfinite(peak), peak - (ym + slope * (cand - xm)), 0.0)
