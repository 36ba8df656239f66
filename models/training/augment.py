"""On-the-fly audio augmentation for training (numpy + scipy only).

Every effect keeps the length (and so the alignment with the curves) except :func:`speed`, which
returns the factor so the caller can resample the curves with :func:`resample_curves`.

    noise       white / pink / brown / speech-shaped noise at a given SNR (dB)
    reverb      synthetic room impulse response (early reflections + exponential tail, RT60)
    pitch_shift pitch and formants together (resample + phase-vocoder time stretch back)
    formant_shift spectral-envelope warp with the pitch kept (cepstral envelope)
    eq          random parametric EQ; ``telephone`` (300-3400 Hz band, 8 kHz, mu-law);
                ``cheap_mic`` (thin low end, resonance, early roll-off)
    gain        loudness in dB;  clip   hard or soft clipping at a level
    speed       tempo change (changes length: returns the factor)

Library effects (training-only dev requirements) in ``augment_voice`` (pyworld: vocal-tract length,
pitch, intonation range, tempo) and ``augment_channel`` (pyroomacoustics rooms, MP3 / Opus /
Vorbis / GSM codecs through libsndfile, bandwidth through soxr).

``augment(x, rng, p=None, profile="voices")`` draws a random chain (each effect with its own
probability) and returns ``(y, info)``; ``profile="classic"`` is the chain models up to 3.1 were
trained with (``CLASSIC_P``), ``"voices"`` (``VOICES_P``) adds the library effects; ``p`` overrides
single probabilities. The chain keeps the length; tempo changes the length and so lives in
``augment_voice.retime_item``. ``python -m models.training.augment SHARD.npz OUTDIR`` writes
listenable examples; ``--bench`` prints the CPU milliseconds per 4 s crop of every effect.
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy import signal

SR = 16000


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def colored_noise(n, rng, color="white", sr=SR):
    """Unit-RMS noise with spectrum ~ 1/f^beta (white 0, pink 1, brown 2) or speech-shaped."""
    if n == 0:
        return np.zeros(0, np.float32)
    spec = rng.normal(size=n // 2 + 1) + 1j * rng.normal(size=n // 2 + 1)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    f[0] = f[1] if n > 1 else 1.0
    if color == "white":
        shape = np.ones_like(f)
    elif color == "pink":
        shape = 1.0 / np.sqrt(f)
    elif color == "brown":
        shape = 1.0 / f
    elif color == "speech":   # long-term speech spectrum: peak around 500 Hz, -6 dB/oct above
        shape = (f / 500.0) / (1.0 + (f / 500.0) ** 2)
    else:
        raise ValueError(f"unknown noise colour {color!r}")
    y = np.fft.irfft(spec * shape, n)
    return (y / (_rms(y) + 1e-12)).astype(np.float32)


def noise(x, rng, snr_db=20.0, color="white"):
    """Add noise at ``snr_db`` relative to the signal's RMS (speech parts only, silence excluded)."""
    x = np.asarray(x, np.float32)
    frames = x[: x.size // 320 * 320].reshape(-1, 320) if x.size >= 320 else x.reshape(1, -1)
    e = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    active = e[e > 0.1 * e.max()] if e.max() > 0 else e
    sig = float(np.sqrt(np.mean(active ** 2))) if active.size else 0.0
    nz = colored_noise(x.size, rng, color)
    return (x + nz * sig * 10 ** (-snr_db / 20.0)).astype(np.float32)


def room_impulse(rng, rt60=0.4, sr=SR, drr_db=None):
    """Synthetic RIR: direct path, a few early reflections, exponentially decaying diffuse tail."""
    n = max(int(rt60 * sr * 1.2), 64)
    t = np.arange(n) / sr
    tail = rng.normal(size=n) * np.exp(-6.9078 * t / rt60)        # -60 dB at rt60
    tail[: int(0.003 * sr)] = 0.0
    # gentle high-frequency damping of the tail
    b, a = signal.butter(1, min(0.99, 6000 / (sr / 2)))
    tail = signal.lfilter(b, a, tail)
    h = tail / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    if drr_db is None:
        drr_db = rng.uniform(-3.0, 12.0)
    h *= 10 ** (-drr_db / 20.0)
    for _ in range(int(rng.integers(3, 8))):
        k = int(rng.uniform(0.002, 0.03) * sr)
        if k < n:
            h[k] += rng.uniform(-0.5, 0.5)
    h[0] = 1.0
    return h.astype(np.float32)


def reverb(x, rng, rt60=0.4):
    """Convolve with a synthetic room; same length, RMS preserved."""
    x = np.asarray(x, np.float32)
    y = signal.fftconvolve(x, room_impulse(rng, rt60), mode="full")[: x.size]
    return (y * (_rms(x) / (_rms(y) + 1e-12))).astype(np.float32)


def _stretch(x, rate, n_fft=512, hop=128):
    """Phase-vocoder time stretch by ``rate`` (>1 = shorter)."""
    f, t, Z = signal.stft(x, nperseg=n_fft, noverlap=n_fft - hop, boundary="even", padded=True)
    steps = np.arange(0, Z.shape[1] - 1, rate)
    omega = 2 * np.pi * hop * np.arange(Z.shape[0]) / n_fft
    i = steps.astype(int)
    frac = (steps - i)[None, :]
    mag = (1 - frac) * np.abs(Z[:, i]) + frac * np.abs(Z[:, i + 1])
    dphi = np.angle(Z[:, i + 1]) - np.angle(Z[:, i]) - omega[:, None]
    dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
    adv = omega[:, None] + dphi
    phase = np.angle(Z[:, :1]) + np.concatenate([np.zeros((Z.shape[0], 1)), np.cumsum(adv, axis=1)[:, :-1]], axis=1)
    out = mag * np.exp(1j * phase)
    _, y = signal.istft(out, nperseg=n_fft, noverlap=n_fft - hop, boundary=True)
    return y


def _fit(y, n):
    if y.size >= n:
        return y[:n]
    return np.concatenate([y, np.zeros(n - y.size, y.dtype)])


def pitch_shift(x, semitones):
    """Shift pitch and formants by ``semitones`` keeping the length."""
    x = np.asarray(x, np.float32)
    if abs(semitones) < 1e-3:
        return x.copy()
    r = 2 ** (semitones / 12.0)
    up, down = _ratio(r)
    shifted = signal.resample_poly(x.astype(np.float64), down, up)   # shorter by r, pitch up by r
    y = _stretch(shifted, shifted.size / x.size)             # back to the original length
    y = _fit(y, x.size)
    return (y * (_rms(x) / (_rms(y) + 1e-12))).astype(np.float32)


def _ratio(r, denom=64):
    from fractions import Fraction
    fr = Fraction(r).limit_denominator(denom)
    return fr.numerator, fr.denominator


def formant_shift(x, ratio, n_fft=512, hop=128, n_ceps=30):
    """Warp the spectral envelope by ``ratio`` (>1: smaller vocal tract) keeping the pitch."""
    x = np.asarray(x, np.float32)
    if abs(ratio - 1.0) < 1e-3:
        return x.copy()
    f, t, Z = signal.stft(x, nperseg=n_fft, noverlap=n_fft - hop)
    mag = np.abs(Z) + 1e-8
    logm = np.log(mag)
    ceps = np.fft.irfft(logm, axis=0)
    ceps[n_ceps:-n_ceps] = 0.0
    env = np.fft.rfft(ceps, axis=0).real[: mag.shape[0]]
    bins = np.arange(mag.shape[0])
    src = np.clip(bins / ratio, 0, mag.shape[0] - 1)
    env_w = np.stack([np.interp(src, bins, env[:, k]) for k in range(env.shape[1])], axis=1)
    Zw = Z * np.exp(env_w - env)
    _, y = signal.istft(Zw, nperseg=n_fft, noverlap=n_fft - hop)
    y = _fit(y, x.size)
    return (y * (_rms(x) / (_rms(y) + 1e-12))).astype(np.float32)


def _peaking(f0, gain_db, q, sr=SR):
    a = 10 ** (gain_db / 40.0)
    w = 2 * np.pi * f0 / sr
    alpha = np.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
    return signal.tf2sos(b / den[0], den / den[0])


def eq(x, rng, kind="random"):
    """``random`` parametric EQ, ``telephone`` band-limiting, or a ``cheap_mic``."""
    x = np.asarray(x, np.float64)
    if kind == "telephone":
        sos = signal.butter(6, [300, 3400], btype="bandpass", fs=SR, output="sos")
        y = signal.sosfiltfilt(sos, x)
        y8 = signal.resample_poly(y, 1, 2)                      # through an 8 kHz channel
        peak = np.abs(y8).max() + 1e-9
        mu = 255.0
        q = np.sign(y8 / peak) * np.log1p(mu * np.abs(y8 / peak)) / np.log1p(mu)
        q = np.round(q * 127) / 127                            # 8-bit mu-law
        y8 = np.sign(q) * (np.expm1(np.abs(q) * np.log1p(mu)) / mu) * peak
        y = _fit(signal.resample_poly(y8, 2, 1), x.size)
        y = signal.sosfiltfilt(sos, y)
    elif kind == "cheap_mic":
        hp = signal.butter(2, rng.uniform(150, 400), btype="highpass", fs=SR, output="sos")
        lp = signal.butter(4, rng.uniform(4500, 7500), btype="lowpass", fs=SR, output="sos")
        y = signal.sosfilt(lp, signal.sosfilt(hp, x))
        y = signal.sosfilt(_peaking(rng.uniform(1500, 4000), rng.uniform(4, 9), rng.uniform(1, 3)), y)
    elif kind == "random":
        y = x
        for _ in range(int(rng.integers(1, 4))):
            y = signal.sosfilt(_peaking(np.exp(rng.uniform(np.log(100), np.log(6000))),
                                        rng.uniform(-8, 8), rng.uniform(0.5, 3)), y)
    else:
        raise ValueError(f"unknown eq kind {kind!r}")
    y = y * (_rms(x) / (_rms(y) + 1e-12))
    return y.astype(np.float32)


def gain(x, db):
    return (np.asarray(x, np.float32) * 10 ** (db / 20.0)).astype(np.float32)


def clip(x, level=0.5, soft=False):
    """Clip at ``level`` times the peak (hard) or through tanh (soft)."""
    x = np.asarray(x, np.float32)
    peak = float(np.abs(x).max()) + 1e-9
    thr = level * peak
    if soft:
        return (thr * np.tanh(x / thr)).astype(np.float32)
    return np.clip(x, -thr, thr).astype(np.float32)


def speed(x, factor):
    """Tempo and pitch change by ``factor`` (>1 faster/shorter). Returns (y, factor)."""
    up, down = _ratio(1.0 / factor, 100)
    return signal.resample_poly(np.asarray(x, np.float64), up, down).astype(np.float32), down / up


def resample_curves(curves, factor):
    """Curves [T, K] for audio sped up by ``factor`` (linear interpolation in time)."""
    T = curves.shape[0]
    n = max(1, int(round(T / factor)))
    src = np.clip(np.arange(n) * factor, 0, T - 1)
    i = np.floor(src).astype(int)
    j = np.minimum(i + 1, T - 1)
    f = (src - i)[:, None]
    return ((1 - f) * curves[i] + f * curves[j]).astype(np.float32)


CLASSIC_P = {"eq": 0.4, "reverb": 0.35, "pitch": 0.25, "formant": 0.2, "noise": 0.65, "clip": 0.08,
             "gain": 0.8, "voice": 0.0, "room": 0.0, "codec": 0.0, "bandwidth": 0.0}
DEFAULT_P = CLASSIC_P
# the WORLD voice change replaces the phase-vocoder pitch/formant shifts (same job, better sound);
# at ~200 ms per 4 s it runs on few crops (most new voices are written offline: augment_voice);
# a library room replaces most synthetic reverbs. Costs: --bench.
VOICES_P = dict(CLASSIC_P, pitch=0.0, formant=0.0, voice=0.1, reverb=0.1, room=0.3, codec=0.2, bandwidth=0.1)
PROFILES = {"classic": CLASSIC_P, "voices": VOICES_P}


def _library_effects(y, rng, p, info):
    """The speaker and room effects from augment_voice / augment_channel (voice, then room)."""
    if rng.random() < p["voice"]:
        from . import augment_voice as V
        v = V.draw(rng, tempo=False)
        info.update({f"voice_{k}": val for k, val in v.items()})
        y = V.voice(y, **v)
    if rng.random() < p["room"]:
        from . import augment_channel as C
        info["room"] = int(rng.integers(C.BANK_SIZE))
        y = C.room(y, rng, index=info["room"])
    return y


def _codec_effects(y, rng, p, info):
    if rng.random() < p["bandwidth"]:
        from . import augment_channel as C
        info["bandwidth"] = int(rng.choice([8000, 11025, 12000]))
        y = C.bandwidth(y, info["bandwidth"])
    if rng.random() < p["codec"]:
        from . import augment_channel as C
        info["codec"] = str(rng.choice(C.CODECS))
        info["codec_level"] = float(rng.uniform(0.4, 0.95))
        y = C.codec(y, rng, info["codec"], info["codec_level"])
    return y


def augment(x, rng, p=None, profile="voices"):
    """Random chain of length-preserving effects. Returns (y float32, info dict of what was applied)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown augmentation profile {profile!r}; use {', '.join(PROFILES)}")
    p = dict(PROFILES[profile], **(p or {}))
    y = np.asarray(x, np.float32)
    info = {}
    y = _library_effects(y, rng, p, info)
    if rng.random() < p["pitch"]:
        info["pitch"] = float(rng.uniform(-3, 3))
        y = pitch_shift(y, info["pitch"])
    if rng.random() < p["formant"]:
        info["formant"] = float(np.exp(rng.uniform(np.log(0.85), np.log(1.18))))
        y = formant_shift(y, info["formant"])
    if rng.random() < p["reverb"]:
        info["reverb_rt60"] = float(rng.uniform(0.15, 0.9))
        y = reverb(y, rng, info["reverb_rt60"])
    if rng.random() < p["eq"]:
        info["eq"] = str(rng.choice(["random", "random", "telephone", "cheap_mic"]))
        y = eq(y, rng, info["eq"])
    if rng.random() < p["noise"]:
        # weighted towards 5-20 dB (a laptop mic in a room): model 2.1 lost 29 % of its bilabial closures at 10 dB
        info["noise_snr"] = float(rng.choice([0.0, 5.0, 5.0, 10.0, 10.0, 15.0, 20.0, 30.0]) + rng.uniform(0, 5))
        info["noise_color"] = str(rng.choice(["white", "white", "pink", "brown", "speech"]))
        y = noise(y, rng, info["noise_snr"], info["noise_color"])
    y = _codec_effects(y, rng, p, info)
    if rng.random() < p["clip"]:
        info["clip"] = float(rng.uniform(0.2, 0.7))
        y = clip(y, info["clip"], soft=bool(rng.random() < 0.5))
    # TTS pauses are digital silence: always lay a faint noise floor so silence is not a shortcut
    info["floor_dbfs"] = float(rng.uniform(-85, -55))
    y = y + colored_noise(y.size, rng, "pink") * 10 ** (info["floor_dbfs"] / 20.0)
    if rng.random() < p["gain"]:
        info["gain_db"] = float(rng.uniform(-18, 6))
        y = gain(y, info["gain_db"])
    return np.clip(y, -1.0, 1.0).astype(np.float32), info


def bench(x, seconds=4.0, repeats=3):
    """CPU milliseconds per ``seconds`` crop of ``x`` for each effect and for the two chains."""
    import time
    from . import augment_channel as C
    from . import augment_voice as V
    n = int(seconds * SR)
    x = np.resize(np.asarray(x, np.float32), n)
    C.rir_bank()                                   # built once per machine, not per crop
    rng = np.random.default_rng(0)
    effects = {
        "noise": lambda: noise(x, rng, 10.0, "pink"), "reverb (synthetic)": lambda: reverb(x, rng, 0.5),
        "pitch_shift (vocoder)": lambda: pitch_shift(x, 3.0), "formant_shift (cepstral)": lambda: formant_shift(x, 1.1),
        "eq telephone": lambda: eq(x, rng, "telephone"), "world voice (vtln+pitch)": lambda: V.voice(x, 1.1, 3.0),
        "world tempo 1.2": lambda: V.voice(x, tempo=1.2), "room (pyroomacoustics)": lambda: C.room(x, rng),
        "codec mp3": lambda: C.codec(x, rng, "mp3", 0.8), "codec opus": lambda: C.codec(x, rng, "opus", 0.8),
        "codec vorbis": lambda: C.codec(x, rng, "vorbis", 0.8), "codec gsm": lambda: C.codec(x, rng, "gsm"),
        "bandwidth 8 kHz": lambda: C.bandwidth(x, 8000),
        "chain classic (mean)": lambda: augment(x, rng, profile="classic"),
        "chain voices (mean)": lambda: augment(x, rng, profile="voices"),
    }
    out = {}
    for name, fn in effects.items():
        reps = repeats * (16 if "chain" in name else 1)   # chains vary: average many draws
        t0 = time.process_time()
        for _ in range(reps):
            fn()
        out[name] = (time.process_time() - t0) / reps * 1000.0
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.augment",
                                 description="write listenable augmentation examples of one shard")
    ap.add_argument("shard")
    ap.add_argument("out", nargs="?", default=None)
    ap.add_argument("--n", type=int, default=6, help="random chains to write besides the single effects")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench", action="store_true", help="CPU ms per 4 s crop of each effect (no files)")
    a = ap.parse_args(argv)
    import soundfile as sf
    with np.load(a.shard) as z:
        x = z["audio"].astype(np.float32)
    if a.bench:
        for name, ms in bench(x).items():
            print(f"{name:28s} {ms:7.1f} ms CPU per 4 s crop")
        return 0
    if a.out is None:
        ap.error("OUTDIR is required unless --bench")
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    from . import augment_channel as C
    from . import augment_voice as V
    singles = {
        "world_vtln_0.87": V.voice(x, alpha=0.87), "world_vtln_1.18": V.voice(x, alpha=1.18),
        "world_pitch_+4st_flat": V.voice(x, semitones=4, f0_range=0.6), "world_tempo_1.2": V.voice(x, tempo=1.2),
        "room_0": C.room(x, rng, 0), "room_7": C.room(x, rng, 7), "mp3": C.codec(x, rng, "mp3", 0.9),
        "opus": C.codec(x, rng, "opus", 0.9), "gsm_8k": C.codec(x, rng, "gsm"), "bandwidth_8k": C.bandwidth(x, 8000),
        "original": x, "noise_white_10dB": noise(x, rng, 10, "white"), "noise_pink_0dB": noise(x, rng, 0, "pink"),
        "noise_speech_20dB": noise(x, rng, 20, "speech"), "reverb_0.3s": reverb(x, rng, 0.3),
        "reverb_0.9s": reverb(x, rng, 0.9), "pitch_+3st": pitch_shift(x, 3), "pitch_-3st": pitch_shift(x, -3),
        "formant_1.15": formant_shift(x, 1.15), "formant_0.87": formant_shift(x, 0.87),
        "telephone": eq(x, rng, "telephone"), "cheap_mic": eq(x, rng, "cheap_mic"), "eq_random": eq(x, rng),
        "clip_hard_0.3": clip(x, 0.3), "gain_-15dB": gain(x, -15), "speed_1.2": speed(x, 1.2)[0],
    }
    log = {}
    for name, y in singles.items():
        sf.write(os.path.join(a.out, f"{name}.wav"), np.clip(y, -1, 1), SR)
    for k in range(a.n):
        y, info = augment(x, rng)
        sf.write(os.path.join(a.out, f"chain_{k}.wav"), y, SR)
        log[f"chain_{k}"] = info
    with open(os.path.join(a.out, "chains.json"), "w") as f:
        json.dump(log, f, indent=1)
    print(f"wrote {len(singles) + a.n} files to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
