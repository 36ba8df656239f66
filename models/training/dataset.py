"""Corpus shards -> training batches (audio crops with context, target curves, masks, styles).

Shards (DESIGN.md): one ``.npz`` per utterance with ``audio`` float32 16 kHz, ``curves`` [T,K] at
``fps`` in ``names`` order, ``style`` [S] in ``style_names`` order, ``phones`` (start, end, label),
``voice``, optionally ``lang`` (ISO code; shards without one are English). Voices in
``models.training.corpus.HELD_OUT_VOICES``, the multilingual held-out voices (``models.training.languages``,
every voice of its evaluation-only ``UNSEEN_LANGUAGES`` too) and the real-speech dev speakers
(``models.training.realspeech_en.HELD_OUT_VOICES``, and any shard marked ``split = "dev"``) are never loaded for
training (``shard_role``).

Everything is held in memory (a few hours of 16 kHz audio is well under 2 GB). Curves are brought
to 50 fps and ``RIG_NAMES`` order, styles to ``STYLE_NAMES`` order; a per-frame mask marks the
bilabial phones (/p b m/) for the closure loss.
"""
import glob
import inspect
import logging
import os
import re
import zipfile

import numpy as np

from inference.arkit import RIG_NAMES

from .network import FPS, LOWER_NAMES, SAMPLE_RATE, SAMPLES_PER_FRAME
from .metrics import BILABIALS, LABIODENTALS, ROUNDED, SPREAD, vowel_class
from .phonemes import PHONE_INDEX, UnknownPhonemeError, parse_label
from .style_axes import STYLE_AXES, STYLE_NAMES
from .teacher import LEAD_PER_UNIT

log = logging.getLogger("parley.dataset")
# per-frame fields of an item and a batch; LIP_LABELS are the ones that mark the lips' events (not the audio's)
FRAME_LABELS = ("bilabial", "labiodental", "rounded", "phone", "vowel", "shape")
LIP_LABELS = ("bilabial", "labiodental", "rounded", "vowel", "shape")
TIMING = STYLE_NAMES.index("timing")
LOWER_IDX = np.array([RIG_NAMES.index(n) for n in LOWER_NAMES])
FRAMES_PER_TIMING_UNIT = LEAD_PER_UNIT * FPS  # the teacher's lower-face lead per unit of the timing axis, in frames


def held_out_voices():
    """English held-out voices, the multilingual corpus's one voice per language and every voice of the
    evaluation-only languages (``languages.UNSEEN_LANGUAGES``)."""
    try:
        from .corpus import HELD_OUT_VOICES
        from .languages import held_out_voices as multilingual_held_out
        from .languages import unseen_voices
    except Exception as exc:  # corpus.py is written by the corpus owner; refuse to guess silently
        raise RuntimeError(f"models.training.corpus.HELD_OUT_VOICES is unavailable ({exc}); "
                           "cannot tell which voices to keep out of training") from None
    from .realspeech_en import HELD_OUT_VOICES as REAL_HELD_OUT  # the real-speech dev speakers
    return frozenset(str(v) for v in tuple(HELD_OUT_VOICES) + tuple(multilingual_held_out()) + tuple(unseen_voices())
                     + tuple(REAL_HELD_OUT))


def parse_phones(raw):
    """Shard ``phones`` in any of the stored layouts -> list of (start s, end s, LABEL)."""
    if raw is None:
        return []
    arr = np.asarray(raw)
    out = []
    if arr.dtype.names:
        names = arr.dtype.names
        s, e, l = names[0], names[1], names[2]
        for row in arr:
            out.append((float(row[s]), float(row[e]), str(row[l])))
        return out
    for row in arr.reshape(-1, 3) if arr.ndim == 2 or arr.size % 3 == 0 else arr:
        out.append((float(row[0]), float(row[1]), str(row[2])))
    return out


def _label(label):
    return re.sub(r"\d", "", str(label)).upper()


def _span(start, end, n):
    """Frames (50 fps) of a phone from start to end seconds, as a slice clipped to [0, n)."""
    a = int(np.ceil(start * FPS - 1e-6))
    b = int(np.ceil(end * FPS - 1e-6))
    return slice(max(0, a), max(0, min(n, b)))


def bilabial_mask(phones, n, labels=BILABIALS):
    mask = np.zeros(n, np.float32)
    for start, end, label in phones:
        if _label(label) in labels:
            mask[_span(start, end, n)] = 1.0
    return mask


def central_classes(phones, n, classify):
    """Per-frame class ``classify(label)`` (0 for none) over the central half of each phone, 0 elsewhere."""
    out = np.zeros(n, np.int64)
    for start, end, label in phones:
        k = classify(label)
        if k:
            q = 0.25 * (end - start)
            out[_span(start + q, end - q, n)] = k
    return out


def vowel_frames(phones, n):
    """Per-frame vowel height class (``metrics.vowel_class``: 1 close, 2 mid, 3 open) over the central half of
    each vowel, 0 elsewhere: the frames the opening loss compares (evaluate_real measures the same half)."""
    return central_classes(phones, n, vowel_class)


def shape_class(label):
    """1 for a rounded phone (``metrics.ROUNDED``), 2 for a spread vowel (``metrics.SPREAD``), else 0."""
    base = _label(label)
    return 1 if base in ROUNDED else 2 if base in SPREAD else 0


def shape_frames(phones, n):
    """Per-frame lip shape class (:func:`shape_class`) over the central half of each phone: the frames the
    rounding loss compares (evaluate_real's rounding AUC measures mouth width on the same half)."""
    return central_classes(phones, n, shape_class)


def phone_frames(phones, n):
    """Per-frame phone class (index into ``phonemes.PHONES``, -1 where unknown) at 50 fps, for the auxiliary loss."""
    out = np.full(n, -1, np.int64)
    for start, end, label in phones:
        try:
            idx = PHONE_INDEX[parse_label(str(label))[0]]
        except UnknownPhonemeError:
            continue
        out[_span(start, end, n)] = idx
    return out


def resampled_length(frames, fps_in, fps_out=FPS):
    """How many frames ``to_fps`` makes of ``frames`` frames at ``fps_in``."""
    if abs(fps_in - fps_out) < 1e-9:
        return int(frames)
    return int(np.ceil(frames / fps_in * fps_out - 1e-6))


def to_fps(curves, fps_in, fps_out=FPS):
    """Linear resampling of [T,K] curves sampled at k / fps_in onto k / fps_out."""
    if abs(fps_in - fps_out) < 1e-9:
        return curves.astype(np.float32)
    n = resampled_length(curves.shape[0], fps_in, fps_out)
    t_out = np.arange(n) / fps_out
    t_in = np.arange(curves.shape[0]) / fps_in
    return np.stack([np.interp(t_out, t_in, curves[:, k]) for k in range(curves.shape[1])], 1).astype(np.float32)


def load_shard(path):
    with np.load(path, allow_pickle=True) as data:
        sr = int(data["sr"]) if "sr" in data else 16000
        if sr != 16000:
            raise ValueError(f"{path}: sample rate {sr}, expected 16000")
        audio = np.asarray(data["audio"], np.float32).reshape(-1)
        names = [str(n) for n in data["names"]]
        curves = np.asarray(data["curves"], np.float32)
        col = {n: i for i, n in enumerate(names)}
        full = np.zeros((curves.shape[0], len(RIG_NAMES)), np.float32)
        for k, n in enumerate(RIG_NAMES):
            if n in col:
                full[:, k] = curves[:, col[n]]
        full = to_fps(full, float(data["fps"]))
        style_names = [str(n) for n in data["style_names"]] if "style_names" in data else list(STYLE_NAMES)
        raw_style = np.asarray(data["style"], np.float32).reshape(-1)
        scol = {n: i for i, n in enumerate(style_names)}
        style = np.array([raw_style[scol[a.name]] if a.name in scol else a.default for a in STYLE_AXES], np.float32)
        phones = parse_phones(data["phones"] if "phones" in data else None)
        voice = str(data["voice"]) if "voice" in data else "unknown"
        split = str(data["split"]) if "split" in data else "train"
        lang = shard_lang(data["lang"] if "lang" in data else None)
    n = min(full.shape[0], audio.size // SAMPLES_PER_FRAME + 1)
    return dict(audio=audio, curves=np.clip(full[:n], 0.0, 1.0), style=style, bilabial=bilabial_mask(phones, n),
                labiodental=bilabial_mask(phones, n, LABIODENTALS), rounded=bilabial_mask(phones, n, ROUNDED),
                phone=phone_frames(phones, n), vowel=vowel_frames(phones, n), shape=shape_frames(phones, n),
                voice=voice, split=split, lang=lang, path=path)


def shard_lang(value):
    """A shard's ``lang`` field -> ISO code; shards without one (the English TTS corpus) are "en"."""
    code = "" if value is None else str(value).strip()
    return code or "en"


def shard_role(path, voice, split, frames, exclude, val_fraction):
    """The shard's part: "train", "val" or None (never loaded: held-out voices, real-speech dev speakers,
    clips under 20 frames). A stable share ``val_fraction`` of the utterances (by file name) monitors over-fitting."""
    if voice.split("~")[0] in exclude or split == "dev" or frames < 20:
        return None
    h = sum(map(ord, os.path.basename(path))) * 2654435761 % 1000
    return "val" if h < val_fraction * 1000 else "train"


def _npy_shape(archive, name):
    """Shape of member ``name`` of an open .npz, from its .npy header alone."""
    with archive.open(name + ".npy") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return read(f)[0]


def shard_summary(path):
    """What decides whether and how long a shard trains, without reading its audio or curves (their .npy headers
    give the lengths): dict(lang, voice, split, sr, samples, frames) with ``frames`` as ``load_shard`` counts them."""
    with zipfile.ZipFile(path) as archive:
        members = {m[:-4] for m in archive.namelist() if m.endswith(".npy")}

        def small(name, default):
            if name not in members:
                return default
            with archive.open(name + ".npy") as f:
                return np.lib.format.read_array(f, allow_pickle=True)

        samples = int(np.prod(_npy_shape(archive, "audio")))
        curve_frames = int(_npy_shape(archive, "curves")[0])
        fps = float(small("fps", None))
        out = dict(lang=shard_lang(small("lang", None)), voice=str(small("voice", "unknown")),
                   split=str(small("split", "train")), sr=int(small("sr", 16000)), samples=samples)
    out["frames"] = min(resampled_length(curve_frames, fps), samples // SAMPLES_PER_FRAME + 1)
    return out


def language_hours(samples):
    """{code: samples at 16 kHz} -> {code: hours}, codes sorted."""
    return {code: samples[code] / 16000 / 3600 for code in sorted(samples)}


def _shard_paths(root):
    return sorted(glob.glob(os.path.join(root, "**", "*.npz"), recursive=True))


def corpus_languages(roots, exclude=None, val_fraction=0.03):
    """{code: hours} of the audio ``Corpus(roots, exclude, val_fraction)`` trains on, read from shard headers
    (``shard_summary``), so it is cheap even for a large corpus. Raises FileNotFoundError for a missing folder."""
    exclude = held_out_voices() if exclude is None else frozenset(exclude)
    samples, seen = {}, set()
    for root, _weight in (split_root(r) for r in ([roots] if isinstance(roots, (str, os.PathLike)) else roots)):
        if not os.path.isdir(root):
            raise FileNotFoundError(f"corpus folder {root} not found")
        for path in _shard_paths(root):
            if path in seen:
                continue
            seen.add(path)
            try:
                info = shard_summary(path)
            except Exception as exc:  # a broken shard: Corpus skips it too
                log.debug("skip %s: %s", path, exc)
                continue
            if info["sr"] == 16000 and shard_role(path, info["voice"], info["split"], info["frames"], exclude,
                                                  val_fraction) == "train":
                samples[info["lang"]] = samples.get(info["lang"], 0) + info["samples"]
    return language_hours(samples)


def split_root(spec):
    """``PATH`` or ``PATH:WEIGHT`` -> (PATH, WEIGHT): a corpus folder and how much its audio counts when sampling
    (1 = by length like every other folder; 3 = each of its seconds is drawn three times as often)."""
    path, sep, weight = str(spec).rpartition(":")
    if sep and path:
        try:
            return path, float(weight)
        except ValueError:
            pass
    return str(spec), 1.0


def timing_shift(item, f0, f1, rng, curves, lip_labels, style):
    """Move one crop along the timing axis in place, as the teacher would have drawn it.

    The teacher's ``timing`` style is a pure shift of the lower face (``teacher.LEAD_PER_UNIT`` per unit,
    1 unit = 2 frames at 50 fps), so a crop labelled at timing t is, exactly, the crop at t + k / 2 with
    its lower-face curves and lip-event labels read k frames later (k > 0 leads). k is a whole number of
    frames (no interpolation blurs the closures), drawn from -2..2 without 0 while t + k / 2 stays on the
    axis. The audio and the phone classes stay where they are. Frames past the utterance's ends repeat
    its first or last frame (silence)."""
    t = float(style[TIMING])
    ks = [k for k in (-2, -1, 1, 2) if abs(t + k / FRAMES_PER_TIMING_UNIT) <= 1.0 + 1e-6]
    if not ks:
        return
    k = int(rng.choice(ks))
    n = item["curves"].shape[0]
    src = np.clip(np.arange(f0, f1) + k, 0, n - 1)
    curves[:f1 - f0, LOWER_IDX] = item["curves"][src][:, LOWER_IDX]
    for name, row in lip_labels.items():
        if name in item:
            row[:f1 - f0] = item[name][src]
    style[TIMING] = t + k / FRAMES_PER_TIMING_UNIT


class Augmenter:
    """Adapter over models/training/augment.py (whatever its entry point), plus random gain."""

    def __init__(self, profile=None, overrides=None):
        self.fn, self.profile = None, profile
        self.overrides = dict(overrides or {})   # augment.PROFILES probabilities to replace, e.g. {"noise": 0.8}
        try:
            from . import augment as mod
        except Exception as exc:
            log.warning("no models.training.augment (%s): training with gain augmentation only", exc)
            return
        for name in ("augment", "random_augment", "degrade", "apply"):
            fn = getattr(mod, name, None)
            if callable(fn):
                self.fn = fn
                self.params = set(inspect.signature(fn).parameters)
                log.info("augmentation: models.training.augment.%s", name)
                break

    def __call__(self, pcm, rng):
        """Always returns a degraded copy when the augment module exists (the caller decides how often)."""
        if self.fn is not None:
            kwargs = {}
            if "rng" in self.params:
                kwargs["rng"] = rng
            if "sr" in self.params:
                kwargs["sr"] = 16000
            if "p" in self.params:  # the phase-vocoder effects dominate the cost on one core
                kwargs["p"] = {"pitch": 0.06, "formant": 0.06, **self.overrides}
            if self.profile and "profile" in self.params:  # augment.PROFILES: "classic" | "voices"
                kwargs["profile"] = self.profile
            try:
                out = self.fn(pcm, **kwargs)
                out = np.asarray(out[0] if isinstance(out, tuple) else out, np.float32).reshape(-1)
                if out.size == pcm.size:  # length changes would break the alignment with the curves
                    return out
            except Exception as exc:  # never let a bad augmentation stop a run
                log.warning("augment failed (%s); using clean audio", exc)
        gain = 10.0 ** (rng.uniform(-18.0, 6.0) / 20.0)
        pcm = pcm * gain
        peak = np.abs(pcm).max()
        return (pcm / peak * 0.99 if peak > 0.99 else pcm).astype(np.float32)


class Corpus:
    """All usable shards of a corpus folder, refreshed when new shards appear."""

    def __init__(self, roots, exclude=None, val_fraction=0.03, delays=None):
        self.roots = [split_root(r) for r in ([roots] if isinstance(roots, (str, os.PathLike)) else roots)]
        # {folder: seconds its labels run late against the audio}: each crop reads its audio that much earlier
        # (label_delay.py measures it; force-aligned real speech, not exact TTS timings)
        self.delays = {os.path.normpath(k): float(v) for k, v in (delays or {}).items()}
        unknown = set(self.delays) - {os.path.normpath(r) for r, _ in self.roots}
        if unknown:
            raise ValueError(f"--label-delay names {sorted(unknown)}, which is not a --corpus folder")
        self.exclude = held_out_voices() if exclude is None else frozenset(exclude)
        self.val_fraction = val_fraction
        self.items, self.val, self.seen = [], [], set()
        self.degraded = {}  # id(item) -> float16 augmented copy of the whole utterance
        self.retimed = {}   # id(item) -> the item at another tempo (augment_voice.retime_item)
        self.refresh()

    def refresh(self):
        added = 0
        for root, weight in self.roots:
            for path in _shard_paths(root):
                if path in self.seen:
                    continue
                self.seen.add(path)
                try:
                    item = load_shard(path)
                except Exception as exc:  # a shard being written right now, or a broken one
                    log.warning("skip %s: %s", path, exc)
                    self.seen.discard(path)
                    continue
                role = shard_role(path, item["voice"], item["split"], item["curves"].shape[0], self.exclude,
                                  self.val_fraction)
                if role is None:
                    continue  # held-out voices and real-speech dev speakers are never trained on
                item["delay"] = int(round(self.delays.get(os.path.normpath(root), 0.0) * SAMPLE_RATE))
                item["weight"] = weight
                (self.val if role == "val" else self.items).append(item)
                added += 1
        self.weights = np.array([it["curves"].shape[0] * it["weight"] for it in self.items], np.float64)
        self.weights /= max(self.weights.sum(), 1.0)
        return added

    def hours(self):
        return sum(it["audio"].size for it in self.items) / 16000 / 3600

    def languages(self):
        """{code: hours} of the training items (those ``hours()`` counts); ``corpus_languages`` reads the same
        from shard headers."""
        samples = {}
        for it in self.items:
            samples[it["lang"]] = samples.get(it["lang"], 0) + it["audio"].size
        return language_hours(samples)

    def voices(self):
        return sorted({it["voice"] for it in self.items})

    def degraded_audio(self, item, rng, augment, refresh):
        """The utterance through the augmentation chain, re-drawn with probability ``refresh`` per use.

        Augmenting whole utterances and reusing them amortises the costly effects (pitch shifting
        is a phase vocoder) over several crops: on one CPU core this halves the step time.
        """
        key = id(item)
        if key not in self.degraded or rng.random() < refresh:
            self.degraded[key] = augment(item["audio"], rng).astype(np.float16)
        return self.degraded[key]

    def tempo_variant(self, item, rng, refresh):
        """The item at a tempo of 0.8-1.25 (audio through WORLD, curves, masks and phone classes
        re-timed alike), re-drawn with probability ``refresh`` per use like ``degraded_audio``."""
        key = id(item)
        if key not in self.retimed or rng.random() < refresh:
            from .augment_voice import retime_item
            tempo = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
            out = retime_item(item, tempo)
            out["audio"] = out["audio"].astype(np.float16)
            self.retimed[key] = out
        return self.retimed[key]

    def sample(self, rng, batch, frames, context, augment=None, style_frames=150, items=None,
               p_augment=0.6, refresh=0.12, p_tempo=0.0, p_timing=0.0):
        """A batch dict of numpy arrays; see train.py for how each is used. With ``augment``, a
        share ``p_tempo`` of the crops come from a re-timed copy of their utterance, and a share
        ``p_timing`` has its lower face moved along the timing axis (``timing_shift``)."""
        items = self.items if items is None else items
        weights = self.weights if items is self.items else None
        total = frames + 2 * context
        audio = np.zeros((batch, total * SAMPLES_PER_FRAME), np.float32)
        curves = np.zeros((batch, frames, len(RIG_NAMES)), np.float32)
        mask = np.zeros((batch, frames), np.float32)
        labels = {k: np.zeros((batch, frames), np.float32) for k in FRAME_LABELS}
        labels["phone"] = np.full((batch, frames), -1, np.int64)
        labels["vowel"] = np.zeros((batch, frames), np.int64)
        labels["shape"] = np.zeros((batch, frames), np.int64)
        style = np.zeros((batch, len(STYLE_AXES)), np.float32)
        ref = np.zeros((batch, style_frames, len(RIG_NAMES)), np.float32)
        for b in range(batch):
            it = items[rng.choice(len(items), p=weights)]
            if augment is not None and p_tempo > 0 and rng.random() < p_tempo:
                it = self.tempo_variant(it, rng, refresh)
            n = it["curves"].shape[0]
            f0 = int(rng.integers(0, max(1, n - frames + 1)))
            f1 = min(n, f0 + frames)
            curves[b, :f1 - f0] = it["curves"][f0:f1]
            mask[b, :f1 - f0] = 1.0
            for k, arr in labels.items():
                if k in it:
                    arr[b, :f1 - f0] = it[k][f0:f1]
            style[b] = it["style"]
            if augment is not None and p_timing > 0 and rng.random() < p_timing:
                timing_shift(it, f0, f1, rng, curves[b], {k: labels[k][b] for k in LIP_LABELS}, style[b])
            a0 = (f0 - context) * SAMPLES_PER_FRAME - it.get("delay", 0)
            a1 = a0 + total * SAMPLES_PER_FRAME
            wave, scale = it["audio"], 1.0
            if augment is not None:
                if rng.random() < p_augment:
                    wave = self.degraded_audio(it, rng, augment, refresh)
                else:  # clean speech at a random level
                    scale = 10.0 ** (rng.uniform(-15.0, 5.0) / 20.0)
            src = wave[max(0, a0):max(0, min(wave.size, a1))]
            audio[b, max(0, -a0):max(0, -a0) + src.size] = np.clip(src * scale, -1.0, 1.0)
            g0 = int(rng.integers(0, max(1, n - style_frames + 1)))
            ref[b] = it["curves"][(g0 + np.arange(style_frames)) % n]  # short clips loop
        return dict(audio=audio, curves=curves, mask=mask, style=style, ref=ref, **labels)
