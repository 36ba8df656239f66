"""Speaker augmentation with the WORLD vocoder (pyworld): vocal-tract length, pitch, tempo.

One analysis (DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity, 10 ms frames) and one
synthesis per call, whatever is changed:

    vtln      the spectral envelope's frequency axis warped by ``alpha`` (0.85-1.2; > 1 = a shorter
              vocal tract: formants up, as from a man's voice towards a woman's or a child's),
              piecewise linear so that the band edge stays put (``warp_envelope``)
    pitch     F0 times 2^(semitones / 12), its excursions around the utterance's median scaled by
              ``f0_range`` (flatter or livelier intonation)
    tempo     frames re-timed by ``tempo`` (> 1 = faster, shorter); pitch and formants kept. The
              audio's length changes: :func:`retime_phones` and ``augment.resample_curves`` re-time
              the shard's phones and curves by the same factor, and :func:`retime_item` does it for
              a training item.

With ``tempo == 1`` the output has exactly the input's length and timing (WORLD frame i covers
i * 10 ms in both). Training-only: pyworld is a dev requirement, never shipped.

One WORLD pass costs ~200 ms of CPU per 4 s of speech, too much to run on every training crop
(a step is ~550 ms), so the bulk of the new voices are written offline, once, as shards:

    python -m models.training.augment_voice --corpus /work/corpus/full --corpus /work/corpus/real_en \
        --out /work/corpus/world --hours 1 [--seed 0]

Each variant is a training shard (never a held-out voice's) through :func:`voice` with random
``draw`` parameters and, half of the time, a tempo of 0.8-1.25; its phones are re-timed and the
teacher re-run on them with the shard's style; ``voice`` becomes ``<voice>~world`` and ``augment``
records the parameters (JSON). Resumable like the corpus.
"""
import importlib.metadata
import sys
import types

import numpy as np

SR = 16000
FRAME_MS = 10.0
ALPHA_RANGE = (0.85, 1.2)
WARP_EDGE = 0.85          # the warp is linear up to this fraction of the band, then meets Nyquist


def _pyworld():
    """pyworld 0.3.5 reads its version through pkg_resources, which setuptools >= 81 no longer has:
    give it importlib.metadata's answer instead of pinning an old setuptools for everyone."""
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            shim.get_distribution = lambda name: types.SimpleNamespace(version=importlib.metadata.version(name))
            sys.modules["pkg_resources"] = shim
    try:
        import pyworld
    except ImportError:
        raise RuntimeError("pyworld is not installed; pip install -r requirements-dev.txt") from None
    return pyworld


def analyze(x, sr=SR, frame_ms=FRAME_MS):
    """(f0 [F], envelope [F, B], aperiodicity [F, B]) of mono float audio, WORLD's defaults."""
    pw = _pyworld()
    x = np.ascontiguousarray(x, np.float64)
    f0, t = pw.dio(x, sr, frame_period=frame_ms, f0_floor=60.0, f0_ceil=700.0, speed=3)  # 2x faster, same voicing
    f0 = pw.stonemask(x, f0, t, sr)
    sp = pw.cheaptrick(x, f0, t, sr)
    ap = pw.d4c(x, f0, t, sr)
    return f0, sp, ap


def warp_envelope(sp, alpha, edge=WARP_EDGE):
    """Spectral envelopes [F, B] with frequencies scaled by ``alpha`` below ``edge`` of the band
    (the value at f comes from f / alpha), and linearly joined to the band edge above it."""
    B = sp.shape[1]
    f = np.linspace(0.0, 1.0, B)
    knee_out = edge * min(1.0, alpha)            # where the scaled part ends in the output
    src = np.where(f <= knee_out, f / alpha,
                   knee_out / alpha + (f - knee_out) * (1.0 - knee_out / alpha) / (1.0 - knee_out))
    pos = np.clip(src, 0.0, 1.0) * (B - 1)
    i = np.minimum(pos.astype(int), B - 2)
    w = pos - i
    return np.ascontiguousarray((1 - w) * sp[:, i] + w * sp[:, i + 1])


def retime_frames(a, tempo):
    """Frame sequence [F, ...] re-sampled at i * tempo (linear), for ``tempo`` x faster speech."""
    F = a.shape[0]
    n = max(1, int(round(F / tempo)))
    src = np.clip(np.arange(n) * tempo, 0, F - 1)
    i = np.minimum(src.astype(int), F - 2) if F > 1 else np.zeros(n, int)
    w = (src - i) if F > 1 else np.zeros(n)
    w = w.reshape((-1,) + (1,) * (a.ndim - 1))
    j = np.minimum(i + 1, F - 1)
    return (1 - w) * a[i] + w * a[j]


def voice(x, alpha=1.0, semitones=0.0, tempo=1.0, f0_range=1.0, sr=SR, analysis=None):
    """WORLD resynthesis of ``x`` with another vocal tract, pitch and tempo (see the module doc).

    Returns float32 audio of ``round(len(x) / tempo)`` samples with the input's RMS."""
    x = np.asarray(x, np.float32)
    f0, sp, ap = analysis if analysis is not None else analyze(x, sr)
    voiced = f0 > 0
    if voiced.any():
        med = np.median(f0[voiced])
        logf = np.log(np.where(voiced, f0, med) / med) * f0_range
        f0 = np.where(voiced, med * 2 ** (semitones / 12.0) * np.exp(logf), 0.0)
    if abs(alpha - 1.0) > 1e-6:
        sp = warp_envelope(sp, alpha)
    if abs(tempo - 1.0) > 1e-6:
        v = retime_frames(voiced.astype(np.float64), tempo) > 0.5   # no F0 glides into unvoiced frames
        f0 = np.where(v, retime_frames(np.where(voiced, f0, 0.0), tempo), 0.0)
        # envelopes interpolate in the log domain; aperiodicity linearly
        sp = np.exp(retime_frames(np.log(np.maximum(sp, 1e-16)), tempo))
        ap = retime_frames(ap, tempo)
    pw = _pyworld()
    y = pw.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), sr, FRAME_MS)
    n = int(round(x.size / tempo))
    y = y[:n] if y.size >= n else np.pad(y, (0, n - y.size))
    rms_x = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))
    rms_y = float(np.sqrt(np.mean(np.square(y)) + 1e-12))
    return (y * (rms_x / rms_y)).astype(np.float32)


def draw(rng, tempo=True):
    """Random speaker parameters: alpha, semitones, f0_range and (when asked) tempo."""
    p = {"alpha": float(np.exp(rng.uniform(np.log(ALPHA_RANGE[0]), np.log(ALPHA_RANGE[1])))),
         "semitones": float(rng.uniform(-5.0, 5.0)),
         "f0_range": float(np.exp(rng.uniform(np.log(0.6), np.log(1.5))))}
    if tempo:
        p["tempo"] = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    return p


def retime_phones(phones, tempo):
    """Phone list [(start, end, label)] for audio ``tempo`` x faster."""
    return [(s / tempo, e / tempo, lab) for s, e, lab in phones]


def retime_item(item, tempo, sr=SR, analysis=None):
    """A training item of ``models.training.dataset`` (audio, curves at 50 fps, per-frame masks and
    phone classes) at another tempo: WORLD re-times the audio, the curves are interpolated and the
    per-frame labels taken from the nearest source frame, so every field stays aligned."""
    from .augment import resample_curves
    out = dict(item)
    out["audio"] = voice(item["audio"], tempo=tempo, sr=sr, analysis=analysis)
    out["curves"] = resample_curves(item["curves"], tempo)
    n = out["curves"].shape[0]
    src = np.minimum(np.round(np.arange(n) * tempo).astype(int), item["curves"].shape[0] - 1)
    from .dataset import FRAME_LABELS
    for key in FRAME_LABELS:
        if key in item:
            out[key] = np.asarray(item[key])[src]
    n = min(n, out["audio"].size // 320 + 1)
    for key in ("curves",) + FRAME_LABELS:
        if key in out:
            out[key] = out[key][:n]
    out["tempo"] = tempo
    out["delay"] = int(round(item.get("delay", 0) / tempo))  # dataset.Corpus: a label delay in samples
    return out


# ------------------------------------------------------------------ offline variants
def variant_shard(src, rng):
    """A new shard from shard dict ``src`` (``corpus.load_shard``): another speaker (and, half the
    time, another tempo) through WORLD; the teacher re-run on the re-timed phones with the shard's
    style, so the curves are the teacher's at that speaking rate, not stretched ones."""
    import json
    from .corpus import FPS, PHONE_DTYPE, energy_hint
    from .teacher import teach
    p = draw(rng, tempo=bool(rng.random() < 0.5))
    tempo = p.get("tempo", 1.0)
    audio = voice(src["audio"], **p)
    phones = retime_phones(src["phones"], tempo)
    end = audio.size / SR
    phones[-1] = (phones[-1][0], max(end, phones[-1][0]), phones[-1][2])
    n = int(np.ceil(end * FPS - 1e-6))
    curves = teach(phones, FPS, src["style"], int(rng.integers(2 ** 31)), duration=end,
                   energy=energy_hint(audio, n))
    out = {k: v for k, v in src.items() if k not in ("audio", "phones", "curves")}
    out.update(audio=audio, phones=np.array(phones, dtype=PHONE_DTYPE), curves=curves.astype(np.float32),
               voice=np.array(f"{src['voice']}~world"), augment=np.array(json.dumps(p)))
    return {k: (np.array(v) if isinstance(v, str) else v) for k, v in out.items()}


def write_variants(corpora, out, hours, seed=0, log=print):
    """``hours`` of WORLD variants of the training shards of ``corpora`` into ``out`` (resumable)."""
    import glob
    import json
    import os
    from .corpus import load_shard, shard_duration, write_shard
    from .dataset import held_out_voices
    held = held_out_voices()
    paths = []
    for root in corpora:
        for path in sorted(glob.glob(os.path.join(root, "*.npz"))):
            with np.load(path) as z:
                if str(z["voice"]) not in held and "~world" not in str(z["voice"]):
                    paths.append(path)
    if not paths:
        raise SystemExit(f"no training shards under {', '.join(corpora)}")
    os.makedirs(out, exist_ok=True)
    total, i, made = 0.0, 0, []
    while total < hours * 3600:
        name = os.path.join(out, f"w{i:07d}.npz")
        if not os.path.exists(name):
            rng = np.random.default_rng([seed, i])
            src = load_shard(paths[int(rng.integers(len(paths)))])
            write_shard(name, variant_shard(src, rng))
        total += shard_duration(name)
        made.append(os.path.basename(name))
        i += 1
        if i % 100 == 0:
            log(f"[world] {i} variants, {total / 3600:.3f}/{hours} h", flush=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"sources": list(corpora), "seed": seed, "hours": total / 3600, "shards": made}, f, indent=1)
    log(f"[world] done: {len(made)} variants, {total / 3600:.3f} h in {out}")


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m models.training.augment_voice",
                                 description="write WORLD speaker/tempo variants of a corpus as new shards")
    ap.add_argument("--corpus", action="append", required=True, help="source shard folder (repeatable)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hours", type=float, required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    write_variants(a.corpus, a.out, a.hours, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
