"""Real speech (Fish Fillets NG dialogue, Tux Paint stamp descriptions, Asterisk telephone prompts) aligned into corpus shards.

    python -m models.training.aligner.realspeech --model /work/aligner/phonenet.pt --out /work/corpus \
        [--raw /work/realspeech_raw/root] [--sources fillets_cs,fillets_nl,tuxpaint,asterisk,asterisk_unseen] [--limit N]

Items come from ``sources`` (:func:`sources.items_for`: audio file, transcript, language, speaker, licence,
dev or train; which package each source reads and how its text is found).

Each item is aligned by the aligner (align.py) from its text; items whose alignment score (mean
log posterior per speech frame against a free phone loop, :func:`align.align_audio`) is below
``--min-score`` or whose phone rate is implausible are dropped and listed with the reason. Shards follow DESIGN.md with the fields of the real English
corpus (``voice`` = ``real:<speaker>``, ``source`` = "real", ``speaker``, ``lang``, ``split``, ``clip``,
``licence``) plus ``ipa`` (per phone) and ``align_score``; ``phones`` labels are the nearest
ARPAbet class of each IPA phone (:func:`ipa.arpabet`), and ``curves`` come from the teacher, with a
style drawn as the TTS corpus draws it: the IPA teacher (``models.training.teacher_ipa``) when this
checkout has it, else ``models.training.teacher.teach`` on the ARPAbet labels; the shard's ``teacher``
field says which, and ``--relabel`` re-teaches existing shards (e.g. after the IPA teacher lands).
Held-out (dev) speakers: see ``sources`` (Fillets' minor characters, two Tux Paint categories, every eighth
Asterisk prompt, the never-trained Asterisk voices); each output
folder has a manifest.json listing train and dev shards, seconds per speaker and every dropped item.
"""
import argparse
import glob
import json
import os
import sys
import time
import zlib

import numpy as np

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError, run_cli

from . import ipa
from .align import align_audio, load_audio
from .data import RAW
from .model import load
from .sources import DEV_RULE, FOLDERS, items_for

MIN_SCORE = -3.0   # real speech scores -1 to -2.5; below -3 the transcript rarely matches (ALIGNER_REPORT.md)
MAX_PHONE_RATE, MIN_PHONE_RATE = 25.0, 4.0


def _real_shards(out_root):
    return sorted(p for f in FOLDERS.values() for p in glob.glob(os.path.join(out_root, f, "*.npz")))


def trim_silence(audio, phones, keep=0.15):
    """Cut long leading/trailing pauses down to ``keep`` seconds (game clips have padding)."""
    sr = 16000
    if len(phones) < 2:
        return audio, phones
    a = max(0.0, phones[0][1] - keep) if not phones[0][2] else 0.0
    b = min(audio.shape[0] / sr, phones[-1][0] + keep) if not phones[-1][2] else audio.shape[0] / sr
    out = [(max(0.0, s - a), min(b, e) - a, p) for s, e, p in phones if e > a and s < b]
    return audio[int(round(a * sr)):int(round(b * sr))], out


def check(phones, score, min_score):
    speech = [(s, e) for s, e, p in phones if p]
    if not speech:
        return "no speech phones"
    if score < min_score:
        return f"score {score:.2f} < {min_score}"
    dur = sum(e - s for s, e in speech)
    rate = len(speech) / max(dur, 1e-3)
    if not MIN_PHONE_RATE <= rate <= MAX_PHONE_RATE:
        return f"phone rate {rate:.1f}/s"
    return None


def teach_curves(name, audio, phones, seed):
    """(curves [T, 51], style, teacher name) for a clip: the language-independent IPA teacher
    (``models.training.teacher_ipa``) when this checkout has it, else the ARPAbet teacher on the
    nearest ARPAbet classes. Style and teacher seed come from ``default_rng([seed, crc32(name)])``."""
    from ..corpus import FPS, energy_hint
    from ..style_axes import sample_style
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    style = sample_style(rng)
    teacher_seed = int(rng.integers(2 ** 31))
    dur = audio.shape[0] / 16000
    energy = energy_hint(audio, int(np.ceil(dur * FPS - 1e-6)))
    try:
        from ..teacher_ipa import teach_ipa
    except ImportError:
        from ..teacher import teach
        arpa = [(s, e, ipa.arpabet(p) if p else "sil") for s, e, p in phones]
        return teach(arpa, FPS, style, teacher_seed, duration=dur, energy=energy), style, "teacher_arpabet"
    tl = [(s, e, p if p else "sil", None) for s, e, p in phones]
    return teach_ipa(tl, FPS, style, teacher_seed, duration=dur, energy=energy), style, "teacher_ipa"


def make_shard(item, audio, phones, score, seed):
    from ..corpus import FPS, PHONE_DTYPE
    from ..style_axes import STYLE_NAMES
    curves, style, teacher = teach_curves(item["name"], audio, phones, seed)
    arpa = [(s, e, ipa.arpabet(p) if p else "sil") for s, e, p in phones]
    return {
        "audio": audio.astype(np.float32), "sr": np.int32(16000),
        "phones": np.array(arpa, dtype=PHONE_DTYPE), "curves": curves.astype(np.float32),
        "names": np.array(RIG_NAMES), "fps": np.float32(FPS), "style": style.astype(np.float32),
        "style_names": np.array(STYLE_NAMES), "voice": np.array(f"real:{item['speaker']}"),
        "text": np.array(item["text"]), "engine": np.array("real"), "source": np.array("real"),
        "speaker": np.array(item["speaker"]), "lang": np.array(item["lang"]),
        "split": np.array("dev" if item["dev"] else "train"), "clip": np.array(item["audio"]),
        "licence": np.array(item["licence"]), "ipa": np.array([p if p else "sil" for _, _, p in phones]),
        "align_score": np.float32(score), "teacher": np.array(teacher),
    }


def relabel(out_root, seed=0, log=print):
    """Re-teach the curves of every shard under the :data:`FOLDERS` from its phones and ``ipa``
    (same style and seed), e.g. once ``models.training.teacher_ipa`` is in this checkout."""
    from ..corpus import write_shard
    from ..ipa import UnknownIPAError
    n, kept = 0, 0
    for path in _real_shards(out_root):
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        phones = [(float(s), float(e), "" if p == "sil" else str(p)) for (s, e, _), p in zip(d["phones"], d["ipa"])]
        name = os.path.basename(path)[:-4]
        try:
            curves, style, teacher = teach_curves(name, d["audio"], phones, seed)
        except UnknownIPAError as exc:  # a symbol the IPA teacher cannot read: the shard keeps its labels
            log(f"[realspeech] {name}: kept its labels ({exc})")
            kept += 1
            continue
        d.update(curves=curves.astype(np.float32), style=style.astype(np.float32), teacher=np.array(teacher))
        write_shard(path, d)
        n += 1
    log(f"[realspeech] relabelled {n} shards; {kept} kept their labels")
    return n


def build(model_path, out_root, raw=RAW, sources=("fillets_cs", "fillets_nl", "tuxpaint"), seed=0,
          min_score=MIN_SCORE, limit=None, log=print):
    """Align and write shards into the :data:`FOLDERS` (fillets_cs -> real_cs, ..., asterisk -> real_tel)."""
    from ..corpus import write_shard
    from ..ipa import UnknownIPAError
    unknown = [s for s in sources if s not in FOLDERS]
    if unknown:
        raise ParleyError(f"unknown source {unknown[0]!r}; give some of {', '.join(FOLDERS)}")
    model = load(model_path)
    summary = {}
    for src in sources:
        items = items_for(raw, src)
        if not items:
            raise ParleyError(f"no items for {src} under {raw}; unpack the Debian packages there "
                              f"(see ../shared/realspeech/README.md)")
        items = items[:limit] if limit else items
        out = os.path.join(out_root, FOLDERS[src])
        os.makedirs(out, exist_ok=True)
        kept, dropped, secs, t0 = {"train": [], "dev": []}, [], {}, time.time()
        for k, it in enumerate(items):
            path = os.path.join(out, it["name"] + ".npz")
            split = "dev" if it["dev"] else "train"
            if os.path.exists(path):
                with np.load(path) as z:
                    d = z["audio"].shape[0] / 16000
                kept[split].append(os.path.basename(path))
                secs[(it["lang"], it["speaker"], split)] = secs.get((it["lang"], it["speaker"], split), 0) + d
                continue
            try:
                audio = load_audio(it["audio"])
                phones, score = align_audio(model, audio, it["text"], it["lang"])
            except ParleyError as e:
                dropped.append((it["name"], str(e)))
                continue
            why = check(phones, score, max(min_score, it.get("min_score", min_score)))
            if why:
                dropped.append((it["name"], why))
                continue
            audio, phones = trim_silence(audio, phones)
            try:
                shard = make_shard(it, audio, phones, score, seed)
            except UnknownIPAError as e:  # e.g. espeak's language-switch mark in a foreign word
                dropped.append((it["name"], str(e)))
                continue
            write_shard(path, shard)
            kept[split].append(os.path.basename(path))
            key = (it["lang"], it["speaker"], split)
            secs[key] = secs.get(key, 0) + audio.shape[0] / 16000
            if k % 100 == 0:
                log(f"[realspeech] {src} {k}/{len(items)} kept {len(kept['train']) + len(kept['dev'])} "
                    f"dropped {len(dropped)} ({time.time() - t0:.0f} s)", flush=True)
        # whole voices held out: speakers with dev items and no train items
        held = sorted({it["speaker"] for it in items if it["dev"]} - {it["speaker"] for it in items if not it["dev"]})
        manifest = {
            "source": src, "raw": raw, "seed": seed, "fps": 50, "sr": 16000, "min_score": min_score,
            "aligner": os.path.basename(model_path), "items": len(items),
            "held_out_speakers": held, "held_out_voices": [f"real:{s}" for s in held],
            "held_out_rule": ("speakers " + ", ".join(held)) if held else DEV_RULE[src],
            "train": sorted(kept["train"]), "dev": sorted(kept["dev"]),
            "seconds": {f"{l}/{s}/{sp}": round(v, 1) for (l, s, sp), v in sorted(secs.items())},
            "dropped": [{"item": n, "why": w} for n, w in dropped],
            "command": "python -m models.training.aligner.realspeech --model " + model_path + f" --out {out_root}",
        }
        with open(os.path.join(out, "manifest.json.tmp"), "w") as f:
            json.dump(manifest, f, indent=1, ensure_ascii=False)
        os.replace(os.path.join(out, "manifest.json.tmp"), os.path.join(out, "manifest.json"))
        summary[src] = manifest
        log(f"[realspeech] {src}: {len(kept['train'])} train + {len(kept['dev'])} dev shards, "
            f"{sum(secs.values()) / 3600:.2f} h, dropped {len(dropped)} of {len(items)}")
    return summary


def summary_markdown(out_root):
    """Per-language table (train/dev minutes, speakers, dropped) from the manifests under out_root."""
    rows = []
    for folder in FOLDERS.values():
        path = os.path.join(out_root, folder, "manifest.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            m = json.load(f)
        per = {}
        for key, sec in m["seconds"].items():
            lang, spk, split = key.split("/")
            d = per.setdefault(lang, {"train": 0.0, "dev": 0.0, "spk": set(), "dev_spk": set()})
            d[split] += sec
            (d["dev_spk"] if split == "dev" else d["spk"]).add(spk)
        drops = {}
        for d in m["dropped"]:
            lang = d["item"].split("_")[1] if folder != "real_xx" else d["item"].rsplit("_", 1)[-1]
            drops[lang] = drops.get(lang, 0) + 1
        for lang, d in sorted(per.items()):
            dev = ", ".join(sorted(d["dev_spk"] - d["spk"])) or m["held_out_rule"]
            rows.append(f"| `{folder}` | {lang} | {d['train'] / 60:.1f} | {d['dev'] / 60:.1f} | "
                        f"{len(d['spk'] | d['dev_spk'])} | {dev} | {drops.get(lang, 0)} |")
    head = ["| folder | lang | train min | dev min | speakers | dev (held out) | items dropped |",
            "|---|---|---:|---:|---:|---|---:|"]
    return "\n".join(head + rows) + "\n"


def loudness_check(out_root, every=4):
    """Sanity of real alignments without true timings: per language, the level (dB below the clip's
    95th percentile) in the middle third of aligned bilabials (P B M) and vowels, and the share of
    (bilabial, vowel) pairs where the vowel is louder. Markdown table rows."""
    from ..phonemes import VOWELS
    res = {}
    for path in _real_shards(out_root)[::every]:
        with np.load(path, allow_pickle=False) as z:
            a, ph, lang = z["audio"], z["phones"], str(z["lang"])
        db = 10 * np.log10(np.convolve(a.astype(np.float64) ** 2, np.ones(160) / 160, mode="same") + 1e-10)
        db -= np.percentile(db, 95)
        r = res.setdefault(lang, {"b": [], "v": [], "n": 0})
        r["n"] += 1
        for s, e, lab in ph:
            seg = db[int(s * 16000):int(e * 16000)]
            if seg.shape[0] >= 160:
                mid = float(seg[seg.shape[0] // 3: 2 * seg.shape[0] // 3].mean())
                if lab in ("P", "B", "M"):
                    r["b"].append(mid)
                elif lab.rstrip("012") in VOWELS:
                    r["v"].append(mid)
    rows = ["| lang | clips | bilabial | vowel | P(vowel louder than bilabial) |", "|---|---:|---:|---:|---:|"]
    for lang, r in sorted(res.items()):
        b, v = np.array(r["b"]), np.array(r["v"])
        if b.size >= 5 and v.size:
            auc = float(np.mean(v[None, :] > b[:, None]))
            rows.append(f"| {lang} | {r['n']} | {np.median(b):.1f} dB | {np.median(v):.1f} dB | {auc:.2f} |")
    return "\n".join(rows) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.aligner.realspeech",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True, help="corpus root: writes " + ", ".join(FOLDERS.values()) + " under it")
    ap.add_argument("--raw", default=RAW)
    ap.add_argument("--sources", default=",".join(FOLDERS))
    ap.add_argument("--min-score", type=float, default=MIN_SCORE)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--summary", action="store_true", help="only print the table of what --out holds")
    ap.add_argument("--relabel", action="store_true", help="only re-teach the curves of the shards under --out")
    ap.add_argument("--check", action="store_true", help="only print the loudness check of the shards under --out")
    a = ap.parse_args(argv)
    if a.summary:
        print(summary_markdown(a.out))
        return 0
    if a.check:
        print(loudness_check(a.out))
        return 0
    if a.relabel:
        relabel(a.out, a.seed)
        return 0
    import torch
    torch.set_num_threads(1)
    return run_cli(build, a.model, a.out, a.raw, tuple(a.sources.split(",")), a.seed, a.min_score, a.limit)


if __name__ == "__main__":
    sys.exit(main())
