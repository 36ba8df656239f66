"""Synthetic training corpus: TTS speech labelled by the teacher, one .npz shard per utterance.

    python -m models.training.corpus --hours 3 --out /path/corpus --seed 0 [--workers 1]
                                     [--voices engine:name,...] [--fps 50]
    python -m models.training.corpus --langs de,fr,... --hours 2.5 --out /path/multi --seed 2
                                     (multilingual: models/training/corpus_multi.py)
    python -m models.training.corpus --langs uk,sk,lt,vi,id,eu --unseen --hours 0.15 --out /path/unseen --seed 3
                                     (evaluation only: languages.UNSEEN_LANGUAGES, every shard dev)

Shard ``NNNNNNN.npz`` (DESIGN.md): ``audio`` float32 [N] at 16 kHz, ``sr``, ``phones`` structured
array (start s, end s, ARPAbet label), ``curves`` float32 [T, 51], ``names`` (RIG_NAMES), ``fps``,
``style`` float32 [S], ``style_names``, ``voice`` (``engine:name``), ``text``, plus ``engine``.

Deterministic for a seed and a voice list: utterance i draws everything (voice, text, rate, pitch,
loudness, style, teacher seed) from ``default_rng([seed, i])``. Resumable: shards that exist are
kept; each shard is written to a temp file and renamed, so a killed run leaves no half shard.
Generation stops at the first index where the cumulative audio reaches ``--hours``; a
``manifest.json`` lists the shards when the run completes.
Held-out voices (``HELD_OUT_VOICES``) are in the corpus at a reduced share; the training loop must
leave them out and use them for evaluation.
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import zipfile

import numpy as np

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError, run_cli

from . import tts
from .style_axes import STYLE_NAMES, sample_style
from .teacher import teach
from .text_gen import TextGenerator

FPS = 50
SR = tts.SR
# every voice the full corpus uses (engine:name). Order matters for determinism.
DEFAULT_VOICES = (
    "espeak:en-us", "espeak:en", "espeak:en-gb-scotland", "espeak:en-us+f3", "espeak:en+f4",
    "espeak:en-029", "espeak:en-gb-x-gbclan", "espeak:en-us+m3", "espeak:en-us-nyc",
    "espeak:en-gb-x-rp",
    "mbrola:us1", "mbrola:us2", "mbrola:en1", "mbrola:us3",
    "festival:kal_diphone", "festival:cmu_us_slt_arctic_hts", "festival:ked_diphone",
)
# never train on these: one voice per engine, kept for evaluation
HELD_OUT_VOICES = ("espeak:en-gb-x-rp", "mbrola:us3", "festival:ked_diphone")
HELD_OUT_SHARE = 0.5          # relative sampling weight of a held-out voice
ENGINE_WEIGHT = {"espeak": 1.0, "mbrola": 1.4, "festival": 1.6}   # natural voices a bit more often
PHONE_DTYPE = np.dtype([("start", "<f4"), ("end", "<f4"), ("label", "<U4")])


def voice_weights(voices):
    w = np.array([ENGINE_WEIGHT.get(v.split(":")[0], 1.0) * (HELD_OUT_SHARE if v in HELD_OUT_VOICES else 1.0)
                  for v in voices])
    return w / w.sum()


def check_voices(voices):
    """Raise a clear ParleyError if any voice's engine or the voice itself is missing."""
    if not voices:
        raise ParleyError("no voices to synthesise with; install espeak-ng (apt-get install espeak-ng)")
    for v in voices:
        engine, name = tts.split_voice(v)
        engine.check_voice(name)


def available_default_voices():
    out = []
    for v in DEFAULT_VOICES:
        engine, name = tts.split_voice(v)
        if engine.available() and name in engine.voices():
            out.append(v)
    return out


def energy_hint(audio, n_frames, sr=SR, fps=FPS):
    """Per-frame loudness 0..1 (RMS in dB, top 40 dB of the utterance) for the teacher's brows."""
    hop = sr // fps
    n = n_frames * hop
    x = np.zeros(n, np.float32)
    x[:min(n, audio.shape[0])] = audio[:n]
    rms = np.sqrt((x.reshape(n_frames, hop) ** 2).mean(axis=1) + 1e-10)
    db = 20 * np.log10(rms)
    return np.clip((db - (db.max() - 40.0)) / 40.0, 0.0, 1.0)


def make_utterance(seed, i, voices):
    """Everything for utterance i: returns the shard dict (deterministic in seed, i, voices)."""
    rng = np.random.default_rng([seed, i])
    voice = voices[int(rng.choice(len(voices), p=voice_weights(voices)))]
    text = TextGenerator(rng).utterance()
    rate = float(np.exp(rng.uniform(np.log(0.78), np.log(1.3))))
    pitch = float(rng.uniform(-4.0, 4.0))
    peak_db = float(rng.uniform(-22.0, -1.0))
    style = sample_style(rng)
    teacher_seed = int(rng.integers(2 ** 31))
    utt = tts.synthesize(text, voice, rate=rate, pitch=pitch)
    audio = utt.audio.astype(np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (10 ** (peak_db / 20.0) / peak)
    # pad a little silence so closures at the end have room
    lead = int(rng.uniform(0.0, 0.25) * SR)
    tail = int(rng.uniform(0.1, 0.4) * SR)
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(tail, np.float32)])
    off = lead / SR
    phones = [(0.0, off, "sil")] if lead else []
    phones += [(s + off, e + off, lab) for s, e, lab in utt.phones]
    end = audio.shape[0] / SR
    if phones[-1][1] < end:
        phones.append((phones[-1][1], end, "sil"))
    phones = tts.merge_silences(phones)
    n_frames = int(np.ceil(end * FPS - 1e-6))
    curves = teach(phones, FPS, style, teacher_seed, duration=end, energy=energy_hint(audio, n_frames))
    return {
        "audio": audio.astype(np.float32),
        "sr": np.int32(SR),
        "phones": np.array([(s, e, lab) for s, e, lab in phones], dtype=PHONE_DTYPE),
        "curves": curves.astype(np.float32),
        "names": np.array(RIG_NAMES),
        "fps": np.float32(FPS),
        "style": style.astype(np.float32),
        "style_names": np.array(STYLE_NAMES),
        "voice": np.array(voice),
        "text": np.array(utt.text),
        "engine": np.array(utt.engine),
        "rate": np.float32(rate),
        "pitch": np.float32(pitch),
    }


def shard_path(out, i):
    return os.path.join(out, f"{i:07d}.npz")


def write_shard(path, data):
    """Atomic: write to a temp file in the same folder, then rename."""
    tmp = path + f".tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def shard_duration(path):
    """Audio seconds of a shard from the .npy header alone (cheap, for resuming)."""
    with zipfile.ZipFile(path) as z:
        with z.open("audio.npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)  # public API (numpy 2.4 dropped the private one)
            shape, _, _ = read_header(f)
    return shape[0] / SR


def _work(args):
    seed, i, voices, out = args
    path = shard_path(out, i)
    if os.path.exists(path):
        try:
            return i, shard_duration(path), True, 0.0
        except Exception:
            os.remove(path)            # unreadable leftover: regenerate
    t0 = time.perf_counter()
    data = make_utterance(seed, i, voices)
    write_shard(path, data)
    return i, data["audio"].shape[0] / SR, False, time.perf_counter() - t0


def load_shard(path):
    """Read a shard into a dict of plain Python/numpy values."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    for k in ("voice", "text", "engine"):
        if k in d:
            d[k] = str(d[k])
    d["sr"] = int(d["sr"])
    d["fps"] = float(d["fps"])
    d["phones"] = [(float(s), float(e), str(lab)) for s, e, lab in d["phones"]]
    return d


def generate(hours, out, seed=0, workers=1, voices=None, log=print):
    voices = list(voices) if voices else available_default_voices()
    check_voices(voices)
    if hours <= 0:
        raise ParleyError(f"--hours must be positive, got {hours}")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):                      # leftovers of a killed run
        if ".npz.tmp" in f:
            os.remove(os.path.join(out, f))
    target = hours * 3600.0
    log(f"[corpus] {hours} h into {out}, seed {seed}, {workers} worker(s), {len(voices)} voices: "
        f"{', '.join(voices)}")
    total, made_audio, made_cpu, n_done = 0.0, 0.0, 0.0, 0
    durations, stop_at = {}, None
    t_start = time.perf_counter()
    batch = max(8, 8 * workers)
    pool = mp.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        i0 = 0
        while stop_at is None:
            jobs = [(seed, i, voices, out) for i in range(i0, i0 + batch)]
            results = pool.map(_work, jobs) if pool else [_work(j) for j in jobs]
            for i, dur, skipped, cpu in results:
                if stop_at is not None:
                    break
                durations[i] = dur
                total += dur
                n_done += 1
                if not skipped:
                    made_audio += dur
                    made_cpu += cpu
                if total >= target:
                    stop_at = i
            i0 += batch
            wall = time.perf_counter() - t_start
            rt = made_audio / wall if wall > 0 else 0.0
            rt_core = made_audio / made_cpu if made_cpu > 0 else 0.0
            eta = (target - total) / max(rt, 1e-9) if made_audio else float("nan")
            log(f"[corpus] {n_done} utterances, {total / 3600:.3f}/{hours} h, {rt:.0f}x real time "
                f"({rt_core:.0f}x per core), eta {eta / 60:.1f} min", flush=True)
    finally:
        if pool:
            pool.close()
            pool.join()
    # drop shards past the stopping point (made by the last batch), so the set is deterministic
    for f in os.listdir(out):
        if f.endswith(".npz") and f[:-4].isdigit() and int(f[:-4]) > stop_at:
            os.remove(os.path.join(out, f))
    manifest = {
        "seed": seed, "hours_requested": hours, "hours": total / 3600.0, "fps": FPS, "sr": SR,
        "voices": voices, "held_out_voices": [v for v in HELD_OUT_VOICES if v in voices],
        "shards": [os.path.basename(shard_path(out, i)) for i in range(stop_at + 1)],
        "durations": [durations[i] for i in range(stop_at + 1)],
        "generation_rt_per_core": (made_audio / made_cpu) if made_cpu else None,
        "command": f"python -m models.training.corpus --hours {hours} --out {out} --seed {seed} --workers {workers}",
    }
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(out, "manifest.json"))
    log(f"[corpus] done: {stop_at + 1} shards, {total / 3600:.3f} h")
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.corpus", description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--voices", default=None, help="comma-separated engine:name list (default: all installed "
                                                   "of DEFAULT_VOICES)")
    ap.add_argument("--langs", default=None, help="comma-separated language codes (de,fr,...): build the "
                                                  "multilingual corpus (models/training/corpus_multi.py)")
    ap.add_argument("--unseen", action="store_true", help="with --langs: an evaluation-only corpus of "
                                                          "languages.UNSEEN_LANGUAGES (every shard split=dev)")
    ap.add_argument("--held-out-voices", action="store_true", help="with --langs: an evaluation-only corpus of each "
                                                                   "language's held-out voice (every shard split=dev)")
    a = ap.parse_args(argv)
    voices = [v.strip() for v in a.voices.split(",") if v.strip()] if a.voices else None
    if a.unseen and not a.langs:
        print("error: --unseen needs --langs (e.g. --langs uk,sk,lt,vi,id,eu)", file=sys.stderr)
        return 2
    if a.held_out_voices and not a.langs:
        print("error: --held-out-voices needs --langs (e.g. --langs de,fr,es)", file=sys.stderr)
        return 2
    if a.langs:
        from . import corpus_multi
        langs = [x.strip() for x in a.langs.split(",") if x.strip()]
        return run_cli(corpus_multi.generate, a.hours, a.out, a.seed, langs, print, a.unseen, a.held_out_voices)
    return run_cli(generate, a.hours, a.out, a.seed, max(1, a.workers), voices)


if __name__ == "__main__":
    sys.exit(main())
