"""Speech in: decode a file (soundfile outside Blender), down-mix, resample to the model's rate.

Numpy only (no scipy): the resampler is a windowed-sinc interpolator evaluated in chunks, so ten
minutes of 48 kHz audio resample in bounded memory. Inside Blender the extension decodes with
``aud`` and hands the samples to :func:`to_mono_16k`.
"""
import os
from fractions import Fraction

import numpy as np

from .errors import AudioError

MODEL_RATE = 16000
MIN_SECONDS = 0.25
SILENCE_PEAK = 1e-3  # -60 dBFS: below this there is no speech to follow
SUPPORTED = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")

_HALF_ZEROS = 12  # zero crossings of the sinc on each side of an output sample


def _kaiser_sinc(x, cutoff):
    """Lowpass interpolation kernel at fractional offsets x (in input samples)."""
    half_width = _HALF_ZEROS / cutoff
    inside = np.abs(x) < half_width
    arg = np.sqrt(np.clip(1.0 - (x / half_width) ** 2, 0.0, 1.0))
    kaiser = np.i0(8.6 * arg) / np.i0(8.6)
    return np.where(inside, cutoff * np.sinc(cutoff * x) * kaiser, 0.0)


def resample(pcm, sr_in, sr_out, chunk=65536):
    """Band-limited resampling of a mono float signal from sr_in to sr_out.

    Polyphase: the output/input ratio is reduced to up/down, so every output sample falls on one
    of ``up`` fractional positions whose kernels are tabulated once; each chunk is then a gather
    and a dot product.
    """
    pcm = np.asarray(pcm, dtype=np.float32)
    if sr_in == sr_out or pcm.size == 0:
        return pcm.copy()
    ratio = Fraction(int(sr_out), int(sr_in)).limit_denominator(4096)
    up, down = ratio.numerator, ratio.denominator
    cutoff = min(1.0, up / down)
    half = int(np.ceil(_HALF_ZEROS / cutoff))
    taps = np.arange(-half + 1, half + 1)
    phases = np.arange(up) / up
    table = _kaiser_sinc(taps[None, :] - phases[:, None], cutoff).astype(np.float32)
    n_out = (pcm.size * up) // down
    padded = np.concatenate([np.zeros(half, np.float32), pcm, np.zeros(half + 1, np.float32)])
    out = np.empty(n_out, np.float32)
    for start in range(0, n_out, chunk):
        n = np.arange(start, min(n_out, start + chunk), dtype=np.int64)
        base, phase = np.divmod(n * down, up)
        window = padded[base[:, None] + (taps + half)[None, :]]
        out[start:start + n.size] = np.einsum("ij,ij->i", window, table[phase])
    return out


def to_mono_16k(pcm, sr, source="audio"):
    """Down-mix [N] or [N, C] samples at any rate to float32 mono at 16 kHz, validating content."""
    pcm = np.asarray(pcm, dtype=np.float32)
    if pcm.ndim == 2:
        pcm = pcm.mean(axis=1)
    if pcm.ndim != 1:
        raise AudioError(f"{source}: expected samples shaped [N] or [N, channels], got {pcm.shape}")
    if not np.all(np.isfinite(pcm)):
        raise AudioError(f"{source} contains NaN or infinite samples; re-export it as 16-bit PCM WAV")
    seconds = pcm.size / float(sr) if sr else 0.0
    if pcm.size == 0:
        raise AudioError(f"{source} has no samples; pick a file with speech in it")
    if seconds < MIN_SECONDS:
        raise AudioError(f"{source} is {seconds:.2f} s long; Parley needs at least {MIN_SECONDS} s of speech")
    peak = float(np.max(np.abs(pcm)))
    if peak < SILENCE_PEAK:
        raise AudioError(f"{source} is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS); "
                         "nothing to lip-sync: check the file or raise its gain")
    return resample(pcm, int(sr), MODEL_RATE)


def check_file(path):
    """Raise AudioError unless path is a non-empty file (what every decoder checks first)."""
    name = os.path.basename(path) or path
    if not os.path.exists(path):
        raise AudioError(f"audio file not found: {path}; check the path")
    if os.path.isdir(path):
        raise AudioError(f"{path} is a folder; pick an audio file (wav, flac, ogg, mp3)")
    if os.path.getsize(path) == 0:
        raise AudioError(f"{name} is empty (0 bytes); re-export the audio")


def _read_pcm16_wav(path):
    """(float32 [N, C], rate) of a whole, plain 16-bit PCM WAV, read by the standard library; None for
    anything else. The samples are exactly soundfile's (int16 / 32768); skipping soundfile's import
    (cffi, libsndfile) saves the command line ~15 ms on the most common input."""
    import wave
    try:
        with wave.open(path, "rb") as handle:
            if handle.getsampwidth() != 2 or handle.getcomptype() != "NONE":
                return None
            channels, rate, frames = handle.getnchannels(), handle.getframerate(), handle.getnframes()
            data = handle.readframes(frames)
    except (wave.Error, EOFError, OSError):  # not RIFF/PCM: soundfile decides (and words any error)
        return None
    if len(data) != frames * channels * 2 or not frames:
        return None
    return np.frombuffer(data, "<i2").reshape(frames, channels).astype(np.float32) * np.float32(1 / 32768), rate


def load_audio(path, sr=MODEL_RATE):
    """Read an audio file (wav, flac, ogg, mp3, aiff; any rate, any channels) as mono float32 at sr."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    check_file(path)
    read = _read_pcm16_wav(path)
    if read is None:
        read = _read_with_soundfile(path, name)
    data, rate = read
    pcm = to_mono_16k(data, rate, source=name)
    return pcm if sr == MODEL_RATE else resample(pcm, MODEL_RATE, sr)


def _read_with_soundfile(path, name):
    try:
        import soundfile
    except ImportError as exc:  # pragma: no cover - soundfile ships with the CLI's requirements
        raise AudioError("the 'soundfile' package is missing; pip install soundfile") from exc
    try:
        return soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError for unreadable data
        ext = os.path.splitext(path)[1].lower()
        hint = "use wav, flac, ogg or mp3" if ext not in SUPPORTED else "the file may be corrupt; re-export it"
        raise AudioError(f"cannot decode {name} as audio ({str(exc).splitlines()[0]}); {hint}") from None
