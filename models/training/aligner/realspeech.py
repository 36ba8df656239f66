"""Real speech (Fish Fillets NG dialogue, Tux Paint stamp descriptions, Asterisk telephone prompts) aligned into corpus shards.

    python -m models.training.aligner.realspeech --model /work/aligner/phonenet.pt --out /work/corpus \
        [--raw /work/realspeech_raw/root] [--sources fillets_cs,fillets_nl,tuxpaint,asterisk] [--limit N]

Items (:func:`fillets_items`, :func:`tuxpaint_items`): audio file, transcript, language, speaker,
licence. Fish Fillets NG (``fillets-ng-data-cs``/``-nl``, GPL-2): voice-acted dialogue; the line's
text is the ``dialogStr`` of its ``dialogId`` in ``dialogs_<lang>.lua`` (package ``fillets-ng-data``),
the character is the id's middle field (``let-m-divna``: ``m``, the small fish). Tux Paint
(``tuxpaint-stamps-default``, GPL-2): ``<stamp>_desc_<lang>.ogg`` spoken descriptions, text the
``<lang>.utf8=`` line of ``<stamp>.txt`` (the current translation, which may differ from what
was said: such items mostly fail the score check and are dropped). Asterisk core sounds
(``asterisk-core-sounds-{en,es,fr,it,ru}-wav``, CC-BY-SA-3.0, Russian CC-BY-3.0): a PBX's voice prompts read
by one professional voice per package (8 kHz telephone audio), text the ``id: text`` line of
``core-sounds-<lang>.txt`` (package ``asterisk-core-sounds-<lang>``); lines that name a tone or carry a
translator's note (brackets, parentheses) are left out.

Each item is aligned by the aligner (align.py) from its text; items whose alignment score (mean
log posterior per speech frame against a free phone loop, :func:`align.align_audio`) is below
``--min-score`` or whose phone rate is implausible are dropped and listed with the reason. Shards follow DESIGN.md with the fields of the real English
corpus (``voice`` = ``real:<speaker>``, ``source`` = "real", ``speaker``, ``lang``, ``split``, ``clip``,
``licence``) plus ``ipa`` (per phone) and ``align_score``; ``phones`` labels are the nearest
ARPAbet class of each IPA phone (:func:`ipa.arpabet`), and ``curves`` come from the teacher, with a
style drawn as the TTS corpus draws it: the IPA teacher (``models.training.teacher_ipa``) when this
checkout has it, else ``models.training.teacher.teach`` on the ARPAbet labels; the shard's ``teacher``
field says which, and ``--relabel`` re-teaches existing shards (e.g. after the IPA teacher lands).
Held-out (dev) speakers: :data:`TRAIN_CHARACTERS` (Fillets), :data:`HELD_OUT` (Tux Paint); each output
folder has a manifest.json listing train and dev shards, seconds per speaker and every dropped item.
"""
import argparse
import glob
import json
import os
import re
import sys
import time
import zlib

import numpy as np

from inference.arkit import RIG_NAMES
from inference.errors import ParleyError, run_cli

from . import ipa
from .align import align_audio, load_audio
from .data import RAW, _clean
from .model import load

FILLETS = "usr/share/games/fillets-ng"
TUX = "usr/share/tuxpaint/stamps"
GPL = "GPL-2.0-or-later (Debian package {pkg})"
TUX_LANGS = ("fr", "ru", "ro", "ca", "bg", "es", "be", "el", "da", "lt", "nl", "ml")
ASTERISK = "usr/share/asterisk/sounds"
ASTERISK_VOICES = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison", "fr": "fr_CA_f_June",
                   "it": "it_IT_m_Carlo", "ru": "ru_RU_f_IvrvoiceRU"}
ASTERISK_LICENCE = {"ru": "CC-BY-3.0"}  # the others CC-BY-SA-3.0 (debian/copyright of asterisk-core-sounds)
# Three more voices read (older translations of) the same prompts: never trained, a real-speech dev set of
# unseen voices. Text is the core set's line for the prompt id, which these voices may have read from another
# translation: their items must score STRICT_SCORE or better. (folder, file extension, package, licence, speaker)
ASTERISK_UNSEEN = {"it": ("it_IT_f_Menardi", ".wav", "asterisk-prompt-it-menardi-wav", "CC-BY-SA-3.0 IT", "it_menardi"),
                   "fr": ("fr", ".gsm", "asterisk-prompt-fr-armelle", "BSD-style (Michel Gutierrez)", "fr_armelle"),
                   "es": ("es", ".gsm", "asterisk-prompt-es-co", "GPL-2", "es_co")}
STRICT_SCORE = -2.5
# where each source's shards go (one folder per source, so each has its own manifest)
FOLDERS = {"fillets_cs": "real_cs", "fillets_nl": "real_nl", "tuxpaint": "real_xx", "asterisk": "real_tel",
           "asterisk_unseen": "real_teldev"}
# dev (held-out) speakers. Czech Fillets: every character but the two fish (statue, parrot, vikings,
# robodog, ...: other voices), about 17 min. Dutch Fillets voices only the two fish, so its dev set
# is the small fish (a whole unseen voice, 44 min). Tux Paint: each language has one narrator, so its
# dev set is the stamps of two categories (same voice, unseen sentences). Asterisk: one voice per
# language too, so its dev set is the prompts whose id hashes to 0 mod 8 (the same ids in every language).
TRAIN_CHARACTERS = {"cs": ("small_fish", "big_fish"), "nl": ("big_fish",)}
HELD_OUT = {"tuxpaint_categories": ("vehicles", "food")}
MIN_SCORE = -3.0   # real speech scores -1 to -2.5; below -3 the transcript rarely matches (ALIGNER_REPORT.md)
MAX_PHONE_RATE, MIN_PHONE_RATE = 25.0, 4.0


def _dialogs(raw, lang):
    """{(level, dialogId): (text, character)} over every level's dialogs_<lang>.lua (ids repeat across levels)."""
    out = {}
    pat = re.compile(r'dialogId\("([^"]+)",\s*"([^"]*)",\s*"(?:[^"\\]|\\.)*"\)\s*dialogStr\("((?:[^"\\]|\\.)*)"\)')
    for f in sorted(glob.glob(os.path.join(raw, FILLETS, "script", "*", f"dialogs_{lang}.lua"))):
        level = os.path.basename(os.path.dirname(f))
        with open(f, encoding="utf-8", errors="replace") as fh:
            for m in pat.finditer(fh.read()):
                out[(level, m.group(1))] = (m.group(3), character(m.group(1), m.group(2)))
    return out


def character(did, font):
    """Who speaks a line: the font names the character (small/big fish, parrot, viking1, ...)."""
    f = font.replace("font_", "")
    if f in ("small", "big"):
        return f + "_fish"
    if f:
        return f
    parts = did.split("-")
    return parts[1] if len(parts) >= 3 and parts[1].isalpha() else "unknown"


def fillets_items(raw, lang):
    lines = _dialogs(raw, lang)
    by_id = {}
    for (level, did), v in lines.items():
        by_id.setdefault(did, []).append(v)
    items = []
    for path in sorted(glob.glob(os.path.join(raw, FILLETS, "sound", "*", lang, "*.ogg"))):
        did = os.path.basename(path)[:-4]
        level = os.path.basename(os.path.dirname(os.path.dirname(path)))
        hit = lines.get((level, did)) or (by_id[did][0] if len(by_id.get(did, ())) == 1 else None)
        if hit is None:
            continue
        text, char = hit
        items.append(dict(audio=path, text=_clean(text.replace("\\n", " ")), lang=lang,
                          speaker=f"fillets_{lang}_{char}", source=f"fillets_{lang}",
                          licence=GPL.format(pkg=f"fillets-ng-data-{lang}"),
                          dev=char not in TRAIN_CHARACTERS[lang], name=f"fillets_{lang}_{level}_{did}"))
    return items


def tuxpaint_items(raw, langs=TUX_LANGS):
    items = []
    for lang in langs:
        key = f"{lang}.utf8="
        for path in sorted(glob.glob(os.path.join(raw, TUX, "**", f"*_desc_{lang}.ogg"), recursive=True)):
            txt = path[:-len(f"_desc_{lang}.ogg")] + ".txt"
            if not os.path.exists(txt):
                continue
            with open(txt, encoding="utf-8", errors="replace") as fh:
                rows = [r[len(key):] for r in fh.read().splitlines() if r.startswith(key)]
            if not rows or not _clean(rows[0]):
                continue
            rel = os.path.relpath(path, os.path.join(raw, TUX))
            category = rel.split(os.sep)[0]
            items.append(dict(audio=path, text=_clean(rows[0]), lang=lang, speaker=f"tuxpaint_{lang}",
                              source="tuxpaint", licence=GPL.format(pkg="tuxpaint-stamps-default"),
                              dev=category in HELD_OUT["tuxpaint_categories"],
                              name="tuxpaint_" + re.sub(r"[^A-Za-z0-9_]+", "_", rel[:-4])))
    return items


def _asterisk_dev(prompt_id):
    return zlib.crc32(prompt_id.encode()) % 8 == 0


def asterisk_prompts(raw, lang):
    """[(prompt id, text)] of ``core-sounds-<lang>.txt``, without tone names and translator's notes."""
    import gzip
    txt = os.path.join(raw, "usr/share/doc", f"asterisk-core-sounds-{lang}", f"core-sounds-{lang}.txt.gz")
    if not os.path.exists(txt):
        return []
    with gzip.open(txt, "rt", encoding="utf-8-sig", errors="replace") as fh:
        rows = fh.read().splitlines()
    out = []
    for row in rows:
        pid, sep, text = row.partition(":")
        if sep and not row.startswith(";") and text.strip() and not re.search(r"[\[\]()<>]", text):
            out.append((pid.strip(), _clean(text)))
    return out


def asterisk_items(raw, langs=tuple(ASTERISK_VOICES), unseen=False):
    """The core voices (train, with every eighth prompt held out), or with ``unseen`` the
    :data:`ASTERISK_UNSEEN` voices (all dev, :data:`STRICT_SCORE`)."""
    items = []
    for lang in langs:
        if unseen:
            if lang not in ASTERISK_UNSEEN:
                continue
            voice, ext, pkg, licence, tag = ASTERISK_UNSEEN[lang]
        else:
            voice, ext, pkg, tag = ASTERISK_VOICES[lang], ".wav", f"asterisk-core-sounds-{lang}-wav", lang
            licence = ASTERISK_LICENCE.get(lang, "CC-BY-SA-3.0")
        for pid, text in asterisk_prompts(raw, lang):
            path = os.path.join(raw, ASTERISK, voice, pid + ext)
            if not os.path.exists(path):
                continue
            item = dict(audio=path, text=text, lang=lang, speaker=f"asterisk_{tag if unseen else voice}",
                        source="asterisk_unseen" if unseen else "asterisk", licence=f"{licence} (Debian package {pkg})",
                        dev=unseen or _asterisk_dev(pid), name=f"asterisk_{tag}_" + re.sub(r"[^A-Za-z0-9_]+", "_", pid))
            if unseen:
                item["min_score"] = STRICT_SCORE
            items.append(item)
    return items


def items_for(raw, src):
    """The items of one source (``fillets_cs``, ``fillets_nl``, ``tuxpaint``, ``asterisk``)."""
    if src.startswith("fillets"):
        return fillets_items(raw, src.split("_")[1])
    if src.startswith("asterisk"):
        return asterisk_items(raw, unseen=src == "asterisk_unseen")
    return tuxpaint_items(raw)


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
        held = sorted({it["speaker"] for it in items if it["dev"]}) if src in ("fillets_cs", "fillets_nl",
                                                                                "asterisk_unseen") else []
        manifest = {
            "source": src, "raw": raw, "seed": seed, "fps": 50, "sr": 16000, "min_score": min_score,
            "aligner": os.path.basename(model_path), "items": len(items),
            "held_out_speakers": held, "held_out_voices": [f"real:{s}" for s in held],
            "held_out_rule": ("speakers " + ", ".join(held)) if held else
            f"stamp categories {', '.join(HELD_OUT['tuxpaint_categories'])} (split field 'dev')" if src == "tuxpaint"
            else "prompts whose id's crc32 is 0 mod 8 (split field 'dev')",
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
