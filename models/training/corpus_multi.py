"""Multilingual synthetic corpus: eSpeak NG + MBROLA speech in many languages, IPA-teacher labels.

    python -m models.training.corpus --langs de,fr,es,... --hours 2.5 --out /path/multi --seed 2

Each utterance draws its language (equal shares), a voice of that language (MBROLA voices a bit
more often, the held-out voice at half weight), one to three real sentences of that language
(:mod:`models.training.text_multi`), rate, pitch, level, padding, style and teacher seed from
``default_rng([seed, i])``. The engines report exact IPA timings (:mod:`models.training.tts_ipa`);
:func:`models.training.teacher_ipa.teach_ipa` turns them into curves.

Shards keep the corpus contract (DESIGN.md) - ``phones`` are (start, end, ARPAbet label), the
nearest ARPAbet class of each IPA phone with a stress digit on vowels - and add ``ipa`` (the IPA of
each phone, "" for silence), ``lang``, ``source`` ("tts") and ``speaker`` (the voice id).
Deterministic and resumable exactly like :mod:`models.training.corpus` (same writer and stopping
rule); the manifest also lists languages, families, held-out voices and text sources.

With ``--unseen`` it builds an evaluation-only corpus of ``languages.UNSEEN_LANGUAGES`` (in no
training set) into its own folder: every shard carries ``split = "dev"`` (``dataset.Corpus`` never
trains on it) and the manifest lists every voice as held out.

    python -m models.training.corpus --langs uk,sk,lt,vi,id,eu --unseen --hours 0.15 --out /path/unseen --seed 3

With ``--held-out-voices`` it builds an evaluation-only corpus of training languages spoken by their held-out
voice only (``languages.Language.held_out``, never trained on), every shard ``split = "dev"``: a larger test set
per language than the few held-out utterances of the training corpus (half weight of one voice among many).

    python -m models.training.corpus --langs de,fr,... --held-out-voices --hours 1.5 --out /path/multi_dev --seed 5
"""
import json
import os
import time

import numpy as np

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError

from . import corpus as C
from . import languages as LG
from . import ipa, text_multi, tts, tts_ipa
from .style_axes import STYLE_NAMES, sample_style
from .teacher_ipa import arpabet_timeline, teach_ipa

MAX_TRIES = 6                 # texts tried for an utterance before giving up (PhoneMismatch, empty, crash)


def installed_voices(code):
    out = []
    for v in LG.language_voices(code):
        eng, name = v.split(":", 1)
        ok = tts_ipa.espeak_available(name) if eng == "espeak" else tts_ipa.mbrola_available(name)
        if ok:
            out.append(v)
    return out


def plan(langs, unseen=False, held_out_only=False):
    """{lang: [voices]} of installed voices; raises if a language has none or its held-out is missing.

    ``unseen``: the languages must be evaluation-only ones (``languages.UNSEEN_LANGUAGES``); without
    it they must be training ones, so an unseen language never lands in a training corpus.
    ``held_out_only``: each language's held-out voice alone (its every voice for an unseen language)."""
    table, other = (LG.UNSEEN_LANGUAGES, LG.LANGUAGES) if unseen else (LG.LANGUAGES, LG.UNSEEN_LANGUAGES)
    out = {}
    for code in langs:
        if code not in table:
            hint = ("it is a training language; drop --unseen" if unseen else
                    "it is evaluation-only; build it with --unseen into its own folder") if code in other else ""
            raise ParleyError(f"unknown language {code!r}{' (' + hint + ')' if hint else ''}; "
                              f"known: {', '.join(table)}")
        lang = table[code]
        vs = installed_voices(code)
        if not vs:
            raise ParleyError(f"no voice installed for {lang.name}; install espeak-ng")
        if lang.held_out != LG.ALL and lang.held_out not in vs:
            raise ParleyError(f"held-out voice {lang.held_out} of {code} is not installed; "
                              f"install mbrola-{lang.held_out.split(':')[1]} (Debian non-free)")
        out[code] = vs if not held_out_only or lang.held_out == LG.ALL else [lang.held_out]
    return out


def voice_weights(code, voices):
    w = np.array([(LG.MBROLA_WEIGHT if v.startswith("mbrola:") else 1.0)
                  * (LG.HELD_OUT_SHARE if LG.is_held_out(code, v) else 1.0) for v in voices])
    return w / w.sum()


def _phone_arrays(phones, stress):
    """ARPAbet labels (with stress digits on vowels) and IPA strings of the phones."""
    timeline = arpabet_timeline([(s, e, p, st) for (s, e, p), st in zip(phones, stress)])
    labels = []
    for (s, e, base, st) in timeline:
        labels.append(base + (str(st) if st is not None else ""))
    return labels


def make_utterance(seed, i, voices_by_lang, pools, dev=False):
    """Shard dict of utterance i (deterministic in seed, i, the voice plan and the text pools).
    ``dev``: mark it evaluation-only (``split = "dev"``), as every shard of an unseen language is."""
    rng = np.random.default_rng([seed, i])
    langs = sorted(voices_by_lang)
    code = langs[int(rng.integers(len(langs)))]
    voices = voices_by_lang[code]
    voice = voices[int(rng.choice(len(voices), p=voice_weights(code, voices)))]
    rate = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    pitch = float(rng.uniform(-4.0, 4.0))
    peak_db = float(rng.uniform(-22.0, -1.0))
    style = sample_style(rng)
    teacher_seed = int(rng.integers(2 ** 31))
    lead = int(rng.uniform(0.0, 0.25) * C.SR)
    tail = int(rng.uniform(0.1, 0.4) * C.SR)
    utt, last = None, None
    for _ in range(MAX_TRIES):
        text = text_multi.utterance_text(rng, pools[code])
        try:
            utt = tts_ipa.synthesize(text, voice, rate=rate, pitch=pitch)
        except (tts_ipa.PhoneMismatchError, ipa.UnknownIPAError, tts.EngineCrashError) as e:
            last = e
            continue
        try:
            [ipa.parse(p[2]) for p in utt.phones]
        except ipa.UnknownIPAError as e:
            last, utt = e, None
            continue
        if utt.phones and any(p[2] for p in utt.phones):
            break
        utt = None
    if utt is None:
        raise ParleyError(f"utterance {i} ({voice}): no text synthesised cleanly ({last})")
    audio = utt.audio.astype(np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (10 ** (peak_db / 20.0) / peak)
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(tail, np.float32)])
    off = lead / C.SR
    end = audio.shape[0] / C.SR
    phones = [(0.0, off, "")] if lead else []
    stress = [None] if lead else []
    phones += [(s + off, e + off, p) for s, e, p in utt.phones]
    stress += list(utt.stress)
    if phones[-1][1] < end:
        phones.append((phones[-1][1], end, "")); stress.append(None)
    merged, mstress = [], []
    for ph, st in zip(phones, stress):                # contiguous, silences merged
        if ph[1] - ph[0] <= 1e-6:
            continue
        if merged and ph[2] == "" and merged[-1][2] == "":
            merged[-1] = (merged[-1][0], ph[1], "")
            continue
        merged.append(ph); mstress.append(st)
    n_frames = int(np.ceil(end * C.FPS - 1e-6))
    curves = teach_ipa([(s, e, p, st) for (s, e, p), st in zip(merged, mstress)], C.FPS, style, teacher_seed,
                       duration=end, energy=C.energy_hint(audio, n_frames))
    labels = _phone_arrays(merged, mstress)
    split = {"split": np.array("dev")} if dev or code in LG.UNSEEN_LANGUAGES else {}   # evaluation only
    return {**split,
        "audio": audio, "sr": np.int32(C.SR),
        "phones": np.array([(s, e, lab) for (s, e, _), lab in zip(merged, labels)], dtype=C.PHONE_DTYPE),
        "ipa": np.array([p for _, _, p in merged], dtype=str),
        "curves": curves.astype(np.float32), "names": np.array(RIG_NAMES), "fps": np.float32(C.FPS),
        "style": style.astype(np.float32), "style_names": np.array(STYLE_NAMES),
        "voice": np.array(voice), "speaker": np.array(voice), "text": np.array(utt.text),
        "engine": np.array(utt.engine), "lang": np.array(code), "source": np.array("tts"),
        "rate": np.float32(rate), "pitch": np.float32(pitch),
    }


def _work(args):
    seed, i, plan_, pools, out, dev = args
    path = C.shard_path(out, i)
    if os.path.exists(path):
        try:
            return i, C.shard_duration(path), True, 0.0
        except Exception:                          # noqa: BLE001 - unreadable leftover: regenerate
            os.remove(path)
    t0 = time.perf_counter()
    data = make_utterance(seed, i, plan_, pools, dev)
    C.write_shard(path, data)
    return i, data["audio"].shape[0] / C.SR, False, time.perf_counter() - t0


def generate(hours, out, seed=2, langs=LG.DEFAULT_LANGS, log=print, unseen=False, held_out_only=False):
    """Write shards until the audio reaches ``hours``; resumable; returns the manifest.
    ``unseen``: an evaluation-only corpus of ``languages.UNSEEN_LANGUAGES`` (every shard dev).
    ``held_out_only``: an evaluation-only corpus of each language's held-out voice (every shard dev)."""
    if hours <= 0:
        raise ParleyError(f"--hours must be positive, got {hours}")
    plan_ = plan(langs, unseen, held_out_only)
    dev = unseen or held_out_only
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if ".npz.tmp" in f:
            os.remove(os.path.join(out, f))
    pools = {c: text_multi.build_pool(c, out) for c in plan_}
    log(f"[corpus] {hours} h into {out}, seed {seed}, {len(plan_)} languages: " + "; ".join(
        f"{c}: {', '.join(v)}" for c, v in plan_.items()), flush=True)
    target, total, made_audio, made_cpu = hours * 3600.0, 0.0, 0.0, 0.0
    durations, i, t_start = {}, 0, time.perf_counter()
    while total < target:
        i_, dur, skipped, cpu = _work((seed, i, plan_, pools, out, dev))
        durations[i] = dur
        total += dur
        if not skipped:
            made_audio += dur; made_cpu += cpu
        if i % 50 == 49:
            wall = time.perf_counter() - t_start
            rt = made_audio / wall if wall > 0 else 0.0
            eta = (target - total) / max(rt, 1e-9) if made_audio else float("nan")
            log(f"[corpus] {i + 1} utterances, {total / 3600:.3f}/{hours} h, {rt:.0f}x real time, "
                f"eta {eta / 60:.1f} min", flush=True)
        i += 1
    stop_at = i - 1
    for f in os.listdir(out):
        if f.endswith(".npz") and f[:-4].isdigit() and int(f[:-4]) > stop_at:
            os.remove(os.path.join(out, f))
    manifest = {
        **({"evaluation_only": True} if dev else {}),
        "seed": seed, "hours_requested": hours, "hours": total / 3600.0, "fps": C.FPS, "sr": C.SR,
        "languages": {c: {"name": LG.language(c).name, "family": LG.language(c).family, "voices": v,
                          "held_out_voice": LG.language(c).held_out,
                          "text_catalogues": sorted({d for _, d in pools[c]})} for c, v in plan_.items()},
        "voices": [v for vs in plan_.values() for v in vs],
        "held_out_voices": [v for c, vs in plan_.items() for v in vs if LG.is_held_out(c, v)],
        "shards": [os.path.basename(C.shard_path(out, k)) for k in range(stop_at + 1)],
        "durations": [durations[k] for k in range(stop_at + 1)],
        "generation_rt_per_core": (made_audio / made_cpu) if made_cpu else None,
        "command": f"python -m models.training.corpus --langs {','.join(plan_)}{' --unseen' if unseen else ''}"
                   f"{' --held-out-voices' if held_out_only else ''} "
                   f"--hours {hours} --out {out} --seed {seed}",
    }
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    os.replace(tmp, os.path.join(out, "manifest.json"))
    log(f"[corpus] done: {stop_at + 1} shards, {total / 3600:.3f} h")
    return manifest
