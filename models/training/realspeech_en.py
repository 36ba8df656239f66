"""Real English speech (../shared/realspeech/en) aligned and labelled into corpus shards.

    python -m models.training.realspeech_en --out /work/corpus/real_en [--src ../shared/realspeech/en]
                                            [--heldout pm,arctic_aew,...] [--seed 0] [--limit N]

Every clip of ``index.tsv`` is resampled to 16 kHz (soxr), forced-aligned to its transcript with
pocketsphinx (its en-us acoustic model and CMU dictionary; words the dictionary lacks get their
pronunciation from espeak-ng, stress digits come from espeak-ng too, as in the TTS corpus), checked
(:func:`alignment_problem`), and labelled by the teacher with a style drawn as the TTS corpus draws
it (``default_rng([seed, crc32(file)])``: the same clip always gets the same style and seed).

Shards follow the DESIGN.md contract (``audio``, ``sr``, ``phones``, ``curves``, ``names``, ``fps``,
``style``, ``style_names``, ``voice``, ``text``) with ``voice`` = ``real:<speaker>`` and the added
fields ``source`` = "real", ``speaker``, ``lang`` = "en", ``split`` ("train" | "dev"), ``clip`` (the source file) and
``licence``. Alignment restarts pocketsphinx every ``BLOCK`` clips and a resumed run aligns a block with
a missing shard again from its start, so every shard is the same whatever was already there.
Clips under a second (the FSDD digits) are centred in a second of their own noise
floor (:func:`pad_clip`). Shards are named after the clip (``pm_LJ001-0009.npz``), written atomically, and
kept when they exist, so a killed run resumes. ``manifest.json`` lists the train and dev shards,
the held-out speakers, hours per speaker and every clip dropped with the reason.

Held-out speakers (``HELD_OUT_SPEAKERS``: the whole of ``lj``, both ARCTIC speakers and two of the
six FSDD speakers) are the real-speech dev set: ``HELD_OUT_VOICES`` names their voices so that
``models.training.dataset`` never trains on them.
"""
import argparse
import csv
import json
import os
import re
import sys
import time
import zlib

import numpy as np

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError, run_cli

from .corpus import FPS, PHONE_DTYPE, SR, energy_hint, write_shard
from .corpus_stats import pocketsphinx_segments
from .phonemes import PHONES, VOWELS, parse_label
from .style_axes import STYLE_NAMES, sample_style
from .teacher import teach

HELD_OUT_SPEAKERS = ("lj", "arctic_aew", "arctic_axb", "fsdd_nicolas", "fsdd_theo")
HELD_OUT_VOICES = tuple(f"real:{s}" for s in HELD_OUT_SPEAKERS)
DEFAULT_SRC = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                            "realspeech", "en"))
ALIGN_FRAME_S = 0.01          # pocketsphinx frames
# alignment sanity limits (see alignment_problem)
MAX_PHONE_RATE = 22.0         # speech phones per second of speech; fluent English is 10-15
MIN_PHONE_RATE = 3.0
MAX_LOUD_IN_SILENCE = 0.25    # share of the loud frames that the alignment calls silence
MIN_SPEECH_OVER_SILENCE_DB = 3.0
BLOCK = 100                   # clips per fresh aligner (determinism on resuming; see Aligner.reset)
MIN_SECONDS = 1.0             # shorter clips are padded with their own noise floor (pad_clip)


def read_index(src):
    path = os.path.join(src, "index.tsv")
    if not os.path.exists(path):
        raise ParleyError(f"no {path}: pass --src pointing at shared/realspeech/en")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def words_of(text):
    """Transcript -> lower-case words the aligner can look up (punctuation and brackets dropped)."""
    text = text.replace("-", " ").replace("\u2019", "'")
    out = []
    for w in text.lower().split():
        w = re.sub(r"[^a-z']", "", w).strip("'")
        if w:
            out.append(w)
    return out


def load_audio(path):
    """A clip as float32 mono 16 kHz."""
    import soundfile as sf
    import soxr
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = soxr.resample(x, sr, SR, quality="HQ")
    return np.ascontiguousarray(x, np.float32)


class Aligner:
    """pocketsphinx forced alignment with espeak-ng pronunciations for out-of-dictionary words."""

    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise ParleyError("pocketsphinx is not installed; pip install -r requirements-dev.txt") from None
        self._decoder_class = Decoder
        self.added = {}
        self._stress = {}
        self.reset()

    def reset(self):
        """A fresh decoder: pocketsphinx carries state (its cepstral mean, among others) from one
        utterance to the next, so ``build`` starts one per block of clips to stay deterministic."""
        self.decoder = self._decoder_class(samprate=SR, bestpath=False, loglevel="FATAL")
        self.in_decoder = set()

    def stressed(self, text):
        """Stressed ARPAbet for ``text`` (espeak-ng en-us, in a fork as the TTS corpus does it)."""
        if text not in self._stress:
            from . import tts
            tts._espeak_lib()
            self._stress[text] = tts._in_fork(tts._stress_child, text, "en-us")
        return self._stress[text]

    def ensure_words(self, words):
        for w in words:
            if w not in self.in_decoder and self.decoder.lookup_word(w) is None:
                if w not in self.added:
                    phones = [parse_label(p)[0] for p in self.stressed(w)]
                    if not phones:
                        raise ParleyError(f"no pronunciation for {w!r}")
                    self.added[w] = " ".join(phones)
                self.decoder.add_word(w, self.added[w], True)
                self.in_decoder.add(w)

    def align(self, audio, words):
        """[(start_s, end_s, ARPAbet base | 'sil')] covering the audio, or raise."""
        self.ensure_words(words)
        out = [(s * ALIGN_FRAME_S, e * ALIGN_FRAME_S, "sil" if name not in PHONES or name == "SIL" else name)
               for s, e, name in pocketsphinx_segments(self.decoder, audio, " ".join(words))]
        if not out:
            raise ParleyError("pocketsphinx returned no alignment")
        return out


def finish_phones(phones, duration, stressed):
    """Stress digits from espeak, silence to cover [0, duration], silences merged."""
    from .tts import merge_silences, transfer_stress
    phones = transfer_stress(phones, stressed)
    phones = [(s, min(e, duration), lab) for s, e, lab in phones if s < duration]
    if phones[0][0] > 0:
        phones.insert(0, (0.0, phones[0][0], "sil"))
    if phones[-1][1] < duration:
        phones.append((phones[-1][1], duration, "sil"))
    # vowels without stress (espeak disagreed with the dictionary) count as unstressed
    phones = [(s, e, lab + "0" if lab in VOWELS else lab) for s, e, lab in phones]
    return merge_silences(phones)


def frame_db(audio, hop=160):
    n = audio.size // hop
    if n == 0:
        return np.zeros(0)
    r = np.sqrt((audio[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    return 20 * np.log10(r)


def alignment_problem(phones, audio):
    """Why an alignment is implausible (a string), or None. Checks speech rate and energy."""
    speech = [(s, e) for s, e, lab in phones if lab != "sil"]
    if not speech:
        return "no speech phones"
    dur = sum(e - s for s, e in speech)
    rate = len(speech) / max(dur, 1e-6)
    if rate > MAX_PHONE_RATE:
        return f"{rate:.0f} phones/s (squeezed)"
    if rate < MIN_PHONE_RATE:
        return f"{rate:.1f} phones/s (stretched)"
    db = frame_db(audio)
    if db.size == 0:
        return "no audio"
    is_sil = np.zeros(db.size, bool)
    for s, e, lab in phones:
        if lab == "sil":
            is_sil[int(round(s * 100)):int(round(e * 100))] = True
    loud = db > db.max() - 20.0
    if loud.sum() and (loud & is_sil).sum() / loud.sum() > MAX_LOUD_IN_SILENCE:
        return f"{(loud & is_sil).sum() / loud.sum():.0%} of the loud frames aligned to silence"
    if is_sil.sum() >= 30 and (~is_sil).sum():
        gap = np.mean(db[~is_sil]) - np.mean(db[is_sil])
        if gap < MIN_SPEECH_OVER_SILENCE_DB:
            return f"speech only {gap:.1f} dB above the aligned silence"
    return None


def pad_clip(audio, phones, min_s=MIN_SECONDS):
    """Clips shorter than ``min_s`` (FSDD digits) centred in their own noise floor (white noise at
    the RMS of their quietest 20 ms), phones shifted and silences added: the training loop skips
    utterances under 0.4 s and the model wants context around a word. Deterministic."""
    from .tts import merge_silences
    n = int(min_s * SR) - audio.size
    if n <= 0:
        return audio, phones
    frames = audio[: audio.size // 320 * 320].reshape(-1, 320)
    floor = float(np.sqrt((frames.astype(np.float64) ** 2).mean(1)).min()) if len(frames) else 1e-4
    noise = np.random.default_rng(0).normal(0.0, max(floor, 1e-5), n).astype(np.float32)
    lead = n // 2
    pad_s = lead / SR
    out = [(0.0, pad_s, "sil")] + [(s + pad_s, e + pad_s, lab) for s, e, lab in phones]
    out.append((out[-1][1], (audio.size + n) / SR, "sil"))
    return np.r_[noise[:lead], audio, noise[lead:]].astype(np.float32), merge_silences(out)


def clip_seed(seed, name):
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def make_shard(row, src, aligner, seed, heldout):
    """One index row -> (shard dict, None) or (None, reason it was dropped)."""
    audio = load_audio(os.path.join(src, "audio", row["file"]))
    words = words_of(row["text"])
    if not words or audio.size < SR // 10:
        return None, "empty transcript or audio"
    try:
        raw = aligner.align(audio, words)
    except Exception as e:  # pocketsphinx raises RuntimeError when no path reaches the end
        return None, f"alignment failed: {e}"
    duration = audio.size / SR
    phones = finish_phones(raw, duration, aligner.stressed(" ".join(words)))
    why = alignment_problem(phones, audio)
    if why:
        return None, why
    audio, phones = pad_clip(audio, phones)
    duration = audio.size / SR
    rng = clip_seed(seed, row["file"])
    style = sample_style(rng)
    teacher_seed = int(rng.integers(2 ** 31))
    n_frames = int(np.ceil(duration * FPS - 1e-6))
    curves = teach(phones, FPS, style, teacher_seed, duration=duration, energy=energy_hint(audio, n_frames))
    speaker = row["speaker"]
    return {
        "audio": audio, "sr": np.int32(SR),
        "phones": np.array(phones, dtype=PHONE_DTYPE),
        "curves": curves.astype(np.float32), "names": np.array(RIG_NAMES), "fps": np.float32(FPS),
        "style": style.astype(np.float32), "style_names": np.array(STYLE_NAMES),
        "voice": np.array(f"real:{speaker}"), "text": np.array(row["text"]), "engine": np.array("real"),
        "source": np.array("real"), "speaker": np.array(speaker), "lang": np.array("en"),
        "split": np.array("dev" if speaker in heldout else "train"),
        "clip": np.array(row["file"]), "licence": np.array(row.get("licence", "")),
    }, None


def shard_name(row):
    return os.path.splitext(row["file"])[0] + ".npz"


def build(out, src=DEFAULT_SRC, seed=0, heldout=HELD_OUT_SPEAKERS, limit=None, log=print):
    rows = read_index(src)
    if limit:
        rows = rows[:limit]
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if ".npz.tmp" in f:
            os.remove(os.path.join(out, f))
    aligner = Aligner()
    dropped, seconds, splits = [], {}, {"train": [], "dev": []}
    t0, made = time.perf_counter(), 0
    redo = set()      # blocks with a missing shard are aligned again from their start (Aligner.reset)
    for k, row in enumerate(rows):
        if not os.path.exists(os.path.join(out, shard_name(row))):
            redo.add(k // BLOCK)
    for k, row in enumerate(rows):
        name = shard_name(row)
        path = os.path.join(out, name)
        split = "dev" if row["speaker"] in heldout else "train"
        if k // BLOCK in redo:
            if k % BLOCK == 0:
                aligner.reset()
            data, why = make_shard(row, src, aligner, seed, heldout)
            if data is None:
                dropped.append({"file": row["file"], "speaker": row["speaker"], "reason": why})
                continue
            if not os.path.exists(path):
                write_shard(path, data)
                made += 1
        splits[split].append(name)
        seconds[row["speaker"]] = seconds.get(row["speaker"], 0.0) + float(row["seconds"])
        if (k + 1) % 200 == 0:
            log(f"[real_en] {k + 1}/{len(rows)} clips, {made} made, {len(dropped)} dropped, "
                f"{time.perf_counter() - t0:.0f} s", flush=True)
    manifest = {
        "src": os.path.abspath(src), "seed": seed, "fps": FPS, "sr": SR, "lang": "en",
        "held_out_speakers": sorted(s for s in heldout), "held_out_voices": [f"real:{s}" for s in sorted(heldout)],
        "train": splits["train"], "dev": splits["dev"],
        "hours": {"train": sum(v for s, v in seconds.items() if s not in heldout) / 3600,
                  "dev": sum(v for s, v in seconds.items() if s in heldout) / 3600},
        "minutes_per_speaker": {s: v / 60 for s, v in sorted(seconds.items())},
        "dropped": dropped, "added_pronunciations": aligner.added,
        "command": f"python -m models.training.realspeech_en --out {out} --seed {seed}",
    }
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(out, "manifest.json"))
    log(f"[real_en] done: {len(splits['train'])} train + {len(splits['dev'])} dev shards "
        f"({manifest['hours']['train'] * 60:.1f} + {manifest['hours']['dev'] * 60:.1f} min), "
        f"{len(dropped)} dropped, {time.perf_counter() - t0:.0f} s")
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.realspeech_en", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--src", default=DEFAULT_SRC)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout", default=",".join(HELD_OUT_SPEAKERS), help="comma-separated dev speakers")
    ap.add_argument("--limit", type=int, default=None, help="first N clips only (for a quick check)")
    a = ap.parse_args(argv)
    return run_cli(build, a.out, a.src, a.seed, tuple(s for s in a.heldout.split(",") if s), a.limit)


if __name__ == "__main__":
    sys.exit(main())
