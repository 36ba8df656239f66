"""Training and test speech for the aligner: espeak-ng voices of many languages with exact IPA timings.

    python -m models.training.aligner.data --out /work/aligner/synth --minutes 6 [--langs de,fr,...]

Text: the translated stamp descriptions of Tux Paint (``tuxpaint-stamps-default``, ~70 languages)
and the subtitles of Fish Fillets NG (``fillets-ng-data``, 11 languages), read from the unpacked
Debian packages under ``--raw`` (see ``../shared/realspeech/README.md``). A tenth of each
language's lines (by a hash of the line) is test text, never synthesised for training.
Voices: ``LANG+VARIANT``; the variant :data:`HELD_OUT_VARIANT` is kept out of training, and the
test pack of each language is that voice speaking test text. ``--engine mbrola``: the language's
MBROLA voices (:data:`MBROLA_VOICES`, the last one held out) into ``train_mb/`` and ``test_mb/``.

One pack per language and split, ``<out>/<split>/<lang>.npz``: ``audio`` int16 (all utterances
end to end), ``offsets`` [U+1] samples, ``ph_start``/``ph_end`` seconds from the utterance start,
``ph_ipa``, ``ph_utt`` [P], ``voice``/``text``/``rate``/``pitch`` [U]. Resumable per pack.
"""
import argparse
import glob
import hashlib
import os
import re
import sys
import time

import numpy as np

from . import espeak

RAW = "/work/realspeech_raw/root"
LANGS = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "cs", "sv", "ro", "ru", "fi", "hu", "tr", "el",
         "ca", "bg", "da")
TRAIN_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f5", "klatt", "klatt2",
                  "klatt3", "klatt4", "Andy", "Annie", "adam", "david", "edward", "linda", "max", "michel",
                  "paul", "quincy", "rob", "steph", "belinda", "john", "iven", "grandma")
HELD_OUT_VARIANT = "f4"
# MBROLA voices (Debian mbrola-*; diphones of real recordings) driven by espeak-ng, per language; the
# LAST of each list with two or more is held out (its test pack is <out>/test_mb/<lang>.npz)
MBROLA_VOICES = {"en": ("us1", "us2", "en1", "us3"), "de": ("de1", "de2", "de3", "de4", "de5", "de6", "de7"),
                 "fr": ("fr1", "fr2", "fr4", "fr6"), "es": ("es1", "es2", "mx1", "es3"),
                 "it": ("it1", "it2", "it3", "it4"), "nl": ("nl2", "nl3"), "pt": ("pt1", "br1", "br3", "br4"),
                 "pl": ("pl1",), "cs": ("cz1", "cz2"), "sv": ("sw1", "sw2"), "ro": ("ro1",), "hu": ("hu1",),
                 "tr": ("tr1", "tr2"), "el": ("gr1", "gr2")}
MBROLA_DIR = "/usr/share/mbrola"


def mbrola_voices(lang, split):
    """Installed MBROLA voices (espeak-ng names ``mb-xx1``) of a language for 'train' or 'test'."""
    vs = [v for v in MBROLA_VOICES.get(lang, ()) if os.path.exists(os.path.join(MBROLA_DIR, v, v))]
    if split == "test":
        return ["mb-" + vs[-1]] if len(MBROLA_VOICES.get(lang, ())) > 1 and vs and \
            vs[-1] == MBROLA_VOICES[lang][-1] else []
    held = MBROLA_VOICES[lang][-1] if len(MBROLA_VOICES.get(lang, ())) > 1 else None
    return ["mb-" + v for v in vs if v != held]


def voice_name(lang, variant):
    return f"{lang}+{variant}" if variant else lang


def is_test_text(line):
    return int(hashlib.md5(line.encode("utf-8")).hexdigest(), 16) % 10 == 0


def _clean(line):
    line = re.sub(r"[«»“”„\"*_#<>\[\]{}]", " ", line)
    return " ".join(line.split())


def tuxpaint_lines(lang, raw=RAW):
    out = []
    key = f"{lang}.utf8="
    for f in sorted(glob.glob(os.path.join(raw, "usr/share/tuxpaint/stamps/**/*.txt"), recursive=True)):
        with open(f, encoding="utf-8", errors="replace") as fh:
            rows = fh.read().splitlines()
        if lang == "en" and rows and "=" not in rows[0]:
            out.append(rows[0])
        out += [r[len(key):] for r in rows if r.startswith(key)]
    return out


_DIALOG_STR = re.compile(r'dialogStr\("((?:[^"\\]|\\.)*)"\)')
_DIALOG_ID = re.compile(r'dialogId\("([^"]+)",\s*"[^"]*",\s*"((?:[^"\\]|\\.)*)"\)')


def fillets_lines(lang, raw=RAW):
    out = []
    for f in sorted(glob.glob(os.path.join(raw, "usr/share/games/fillets-ng/script/*/dialogs_*.lua"))):
        name = os.path.basename(f)
        with open(f, encoding="utf-8", errors="replace") as fh:
            s = fh.read()
        if lang == "en" and name == "dialogs_en.lua":
            out += [m.group(2) for m in _DIALOG_ID.finditer(s)]
        elif name == f"dialogs_{lang}.lua":
            out += [m.group(1) for m in _DIALOG_STR.finditer(s)]
    return out


def text_pool(lang, split, raw=RAW):
    """Distinct cleaned lines of a language for 'train' or 'test', in a fixed order."""
    seen, out = set(), []
    for line in tuxpaint_lines(lang, raw) + fillets_lines(lang, raw):
        line = _clean(line.replace("\\n", " ").replace('\\"', " "))
        if not (3 <= len(line) <= 220) or line in seen or not re.search(r"\w\w", line):
            continue
        seen.add(line)
        if is_test_text(line) == (split == "test"):
            out.append(line)
    if not out:
        raise espeak.EspeakError(f"no {split} text for language {lang!r} under {raw}; unpack "
                                 f"tuxpaint-stamps-default and fillets-ng-data there")
    return out


def make_pack(lang, split, seconds, seed=0, raw=RAW, engine="espeak"):
    """``engine`` 'espeak' (voice variants) or 'mbrola' (the language's MBROLA voices)."""
    rng = np.random.default_rng([seed, sum(map(ord, lang)), 0 if split == "train" else 1]
                                + ([] if engine == "espeak" else [1]))
    lines = text_pool(lang, split, raw)
    if engine == "espeak":
        voices = [voice_name(lang, HELD_OUT_VARIANT)] if split == "test" else \
            [voice_name(lang, v) for v in TRAIN_VARIANTS]
    else:
        voices = mbrola_voices(lang, split)
    if not voices:
        return None
    order = rng.permutation(len(lines))
    audio, offsets, ps, pe, pi, pu, names, texts, rates, pitches = [], [0], [], [], [], [], [], [], [], []
    total, k, failed = 0.0, 0, 0
    while total < seconds and k < 4 * len(lines):
        text = lines[order[k % len(lines)]]
        k += 1
        voice = voices[int(rng.integers(len(voices)))]
        rate = float(np.exp(rng.uniform(np.log(0.75), np.log(1.45))))
        pitch = float(rng.uniform(-5, 5))
        try:
            a, phones = espeak.synth(text, voice, rate, pitch)
        except espeak.EspeakError:
            failed += 1
            if failed > 100 and failed > 2 * len(texts):   # a voice that mostly fails (MBROLA gaps)
                break
            continue
        if a.shape[0] < 0.3 * espeak.SR or len(phones) < 3:
            continue
        gain = 10 ** (rng.uniform(-20, -1) / 20) / max(1e-4, float(np.abs(a).max()))
        audio.append(np.clip(a * gain * 32767, -32768, 32767).astype(np.int16))
        offsets.append(offsets[-1] + a.shape[0])
        u = len(texts)
        for s, e, p in phones:
            ps.append(s)
            pe.append(e)
            pi.append(p)
            pu.append(u)
        names.append(voice)
        texts.append(text)
        rates.append(rate)
        pitches.append(pitch)
        total += a.shape[0] / espeak.SR
    if not texts:
        return None
    return dict(audio=np.concatenate(audio), offsets=np.array(offsets, np.int64),
                ph_start=np.array(ps, np.float32), ph_end=np.array(pe, np.float32), ph_ipa=np.array(pi),
                ph_utt=np.array(pu, np.int32), voice=np.array(names), text=np.array(texts),
                rate=np.array(rates, np.float32), pitch=np.array(pitches, np.float32), lang=np.array(lang))


def load_pack(path):
    """-> list of utterances {audio float32, phones [(s, e, ipa)], voice, text, lang}."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    utts = []
    for u in range(len(d["text"])):
        a = d["audio"][d["offsets"][u]:d["offsets"][u + 1]].astype(np.float32) / 32768.0
        sel = np.nonzero(d["ph_utt"] == u)[0]
        phones = [(float(d["ph_start"][i]), float(d["ph_end"][i]), str(d["ph_ipa"][i])) for i in sel]
        utts.append(dict(audio=a, phones=phones, voice=str(d["voice"][u]), text=str(d["text"][u]),
                         lang=str(d["lang"])))
    return utts


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.aligner.data", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=6.0, help="training minutes per language")
    ap.add_argument("--test-minutes", type=float, default=1.5)
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--raw", default=RAW)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=("espeak", "mbrola"), default="espeak",
                    help="mbrola: packs go to train_mb/ and test_mb/")
    a = ap.parse_args(argv)
    suffix = "_mb" if a.engine == "mbrola" else ""
    for split, minutes in (("test", a.test_minutes), ("train", a.minutes)):
        os.makedirs(os.path.join(a.out, split + suffix), exist_ok=True)
        for lang in [x.strip() for x in a.langs.split(",") if x.strip()]:
            path = os.path.join(a.out, split + suffix, f"{lang}.npz")
            if os.path.exists(path):
                continue
            t0 = time.time()
            try:
                pack = make_pack(lang, split, minutes * 60, a.seed, a.raw, a.engine)
            except espeak.EspeakError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            if pack is None:
                continue
            tmp = path + ".tmp.npz"
            np.savez(tmp, **pack)
            os.replace(tmp, path)
            print(f"[aligner-data] {split} {lang}: {len(pack['text'])} utterances, "
                  f"{pack['audio'].shape[0] / espeak.SR / 60:.1f} min in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
