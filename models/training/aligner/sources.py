"""Where real speech comes from: each Debian source's items (audio file, transcript, language, speaker,
licence, dev or train), for ``realspeech`` to align into corpus shards.

Fish Fillets NG (``fillets-ng-data-cs``/``-nl``, GPL-2): voice-acted dialogue; the line's text is the
``dialogStr`` of its ``dialogId`` in ``dialogs_<lang>.lua`` (package ``fillets-ng-data``), the character
is the id's middle field (``let-m-divna``: ``m``, the small fish). Tux Paint (``tuxpaint-stamps-default``,
GPL-2): ``<stamp>_desc_<lang>.ogg`` spoken descriptions, text the ``<lang>.utf8=`` line of ``<stamp>.txt``
(the current translation, which may differ from what was said: such items mostly fail the score check and
are dropped). Asterisk core sounds (``asterisk-core-sounds-{en,es,fr,it,ru}-wav``, CC-BY-SA-3.0, Russian
CC-BY-3.0): a PBX's voice prompts read by one professional voice per package (8 kHz telephone audio), text
the ``id: text`` line of ``core-sounds-<lang>.txt`` (package ``asterisk-core-sounds-<lang>``); lines that
name a tone or carry a translator's note (brackets, parentheses) are left out. Three Asterisk prompt packages
(:data:`ASTERISK_UNSEEN`) are never trained on.
"""
import glob
import gzip
import os
import re
import zlib

from .data import _clean

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
# how a source that holds out sentences of its voices (not whole voices) picks them, for its manifest
DEV_RULE = {"tuxpaint": f"stamp categories {', '.join(HELD_OUT['tuxpaint_categories'])} (split field 'dev')",
            "asterisk": "prompts whose id's crc32 is 0 mod 8 (split field 'dev')"}


def debian_packages():
    """Every Debian package the sources read (``apt-get download`` + ``dpkg -x`` into the raw root)."""
    fillets = ["fillets-ng-data"] + [f"fillets-ng-data-{lang}" for lang in TRAIN_CHARACTERS]
    asterisk = [f"asterisk-core-sounds-{lang}{kind}" for lang in ASTERISK_VOICES for kind in ("", "-wav")]
    return fillets + ["tuxpaint-stamps-default"] + asterisk + [v[2] for v in ASTERISK_UNSEEN.values()]


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
