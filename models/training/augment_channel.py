"""Channel augmentation from libraries: real room acoustics, speech codecs, bandwidth.

    room      a shoebox room from pyroomacoustics (image sources to order 12 + ray-traced tail,
              random size 3x3x2.4 to 12x9x4.5 m, RT60 0.15-1.0 s, random source and microphone
              at 0.3-4 m): a bank of ``BANK_SIZE`` impulse responses is computed once per machine
              (cached under ``cache_dir()``) and each call picks one. The direct path is moved to
              sample 0, so the timing of the speech against the curves does not change.
    codec     a round trip through a lossy codec by libsndfile (soundfile): MP3, Ogg Opus, Ogg
              Vorbis at a random compression level, or GSM 06.10 at 8 kHz (a telephone line).
              libsndfile removes the encoders' delay (tested: same length, no lag).
    bandwidth a round trip through a lower sample rate (soxr): 8, 11.025 or 12 kHz.

Every effect returns float32 of the input's length and keeps its timing. Training-only.
"""
import io
import os

import numpy as np

SR = 16000
BANK_SIZE = 48
BANK_SEED = 20240
BANK_VERSION = 1
_BANK = {}
CODECS = ("mp3", "opus", "vorbis", "gsm")


def cache_dir():
    return os.environ.get("PARLEY_AUG_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "parley"))


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def draw_room(rng):
    """Room size (m), RT60 (s), source and microphone positions for one impulse response."""
    dims = np.array([rng.uniform(3.0, 12.0), rng.uniform(3.0, 9.0), rng.uniform(2.4, 4.5)])
    rt60 = float(rng.uniform(0.15, 1.0))
    for _ in range(100):
        src = dims * rng.uniform(0.15, 0.85, 3)
        src[2] = rng.uniform(1.1, min(1.9, dims[2] - 0.3))
        direction = rng.normal(size=3)
        direction[2] *= 0.3
        mic = src + direction / np.linalg.norm(direction) * rng.uniform(0.3, 4.0)
        if np.all(mic > 0.2) and np.all(mic < dims - 0.2):
            return dims, rt60, src, mic
    return dims, rt60, dims * 0.3, dims * 0.6


def impulse_response(dims, rt60, src, mic, sr=SR):
    """pyroomacoustics RIR with the direct path at sample 0, unit energy of the direct sound."""
    import pyroomacoustics as pra
    e_abs, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=sr, materials=pra.Material(e_abs), max_order=min(max_order, 12),
                       air_absorption=True, ray_tracing=True)
    room.set_ray_tracing(receiver_radius=0.5, n_rays=2000, energy_thres=1e-5)
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    h = np.asarray(room.rir[0][0], np.float64)
    direct = int(round(np.linalg.norm(np.asarray(src) - np.asarray(mic)) / room.c * sr)) \
        + pra.constants.get("frac_delay_length") // 2
    lo = max(0, min(direct, h.size - 1) - 8)
    h = h[lo + int(np.argmax(np.abs(h[lo:direct + 8]))):]     # the direct path's peak
    return (h / (abs(h[0]) + 1e-12)).astype(np.float32)


def rir_bank():
    """[BANK_SIZE] impulse responses and their RT60s (computed once, then read from the cache)."""
    if "rirs" in _BANK:
        return _BANK["rirs"], _BANK["rt60"]
    path = os.path.join(cache_dir(), f"rir_bank_v{BANK_VERSION}_{BANK_SIZE}_{BANK_SEED}.npz")
    try:
        with np.load(path) as z:
            rirs = [z[f"h{i}"] for i in range(BANK_SIZE)]
            rt = z["rt60"]
    except (OSError, KeyError, ValueError):
        rng = np.random.default_rng(BANK_SEED)
        rooms = [draw_room(rng) for _ in range(BANK_SIZE)]
        rirs = [impulse_response(*r) for r in rooms]
        rt = np.array([r[1] for r in rooms])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + f".tmp{os.getpid()}.npz"
        np.savez(tmp, rt60=rt, **{f"h{i}": h for i, h in enumerate(rirs)})
        os.replace(tmp, path)
    _BANK.update(rirs=rirs, rt60=rt)
    return rirs, rt


def room(x, rng, index=None):
    """Speech in a room from the bank (``index`` or a random one); same length, timing and RMS."""
    from scipy import signal
    x = np.asarray(x, np.float32)
    rirs, _ = rir_bank()
    h = rirs[int(rng.integers(len(rirs))) if index is None else index]
    y = signal.fftconvolve(x, h, mode="full")[: x.size]
    return (y * (_rms(x) / (_rms(y) + 1e-12))).astype(np.float32)


def _resample(x, sr_in, sr_out):
    import soxr
    return soxr.resample(np.asarray(x, np.float32), sr_in, sr_out, quality="HQ")


def _fit(y, n):
    y = np.asarray(y, np.float32).reshape(-1)
    return y[:n] if y.size >= n else np.pad(y, (0, n - y.size))


def codec(x, rng, kind=None, level=None):
    """Round trip through ``kind`` (``CODECS``; random when None) at compression ``level`` in
    [0, 1] (libsndfile's: higher = lower bitrate; random 0.4-0.95 when None)."""
    import soundfile as sf
    x = np.asarray(x, np.float32)
    kind = kind or str(rng.choice(CODECS))
    level = float(rng.uniform(0.4, 0.95)) if level is None else float(level)
    peak = float(np.abs(x).max()) + 1e-9
    scale = 0.9 / peak if peak > 0.9 else 1.0           # the encoders clip at full scale
    buf = io.BytesIO()
    if kind == "gsm":
        sf.write(buf, np.clip(_resample(x * scale, SR, 8000), -1, 1), 8000, format="WAV", subtype="GSM610")
    else:
        fmt, sub = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS"), "vorbis": ("OGG", "VORBIS")}[kind]
        sf.write(buf, x * scale, SR, format=fmt, subtype=sub, compression_level=level)
    buf.seek(0)
    y, sr = sf.read(buf, dtype="float32", always_2d=False)
    if sr != SR:
        y = _resample(y, sr, SR)
    return _fit(y / scale, x.size)


def bandwidth(x, sr_low):
    """Round trip through ``sr_low`` Hz (soxr's anti-aliasing): everything above sr_low / 2 is lost."""
    x = np.asarray(x, np.float32)
    return _fit(_resample(_resample(x, SR, sr_low), sr_low, SR), x.size)
