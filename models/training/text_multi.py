"""Real sentences in many languages for the multilingual corpus, from Debian's gettext catalogues.

The translated messages (``msgstr``) of the ``.mo`` catalogues under ``/usr/share/locale/<lang>/``
are real sentences written by each language's translators ("the archive is incomplete", "could not
open the file ..."). :func:`build_pool` keeps the ones that read as plain sentences in the
language's script (no format codes, paths, options, digits, acronyms or foreign words) and records
which catalogue each came from; Japanese is converted to hiragana with pykakasi (eSpeak NG reads
kana only). Catalogues of packages whose real recordings are used for evaluation (fillets-ng,
tuxpaint) are skipped. Licences: each catalogue is under its package's licence (mostly GPL/LGPL;
``/usr/share/doc/<package>/copyright``).

The pool depends on which packages are installed, so the corpus stores it (``texts/<lang>.json``)
on its first run and reuses it, which keeps a resumed corpus deterministic.
"""
import glob
import gettext
import json
import os
import re
import unicodedata

from inference.errors import ParleyError

from .languages import language

LOCALE_DIR = "/usr/share/locale"
EXCLUDED_DOMAINS = ("fillets", "tuxpaint")
_BAD = re.compile(r"[%$<>{}\[\]/\\_=@#|`*~^&+0-9]|--|\.\.|https?|\s'|'\s")
_SCRIPTS = {
    "latin": lambda ch: "LATIN" in unicodedata.name(ch, ""),
    "cyrillic": lambda ch: "CYRILLIC" in unicodedata.name(ch, ""),
    "greek": lambda ch: "GREEK" in unicodedata.name(ch, ""),
    "hangul": lambda ch: "HANGUL" in unicodedata.name(ch, ""),
    "devanagari": lambda ch: "DEVANAGARI" in unicodedata.name(ch, ""),
    "kana": lambda ch: "HIRAGANA" in unicodedata.name(ch, "") or "KATAKANA" in unicodedata.name(ch, "")
    or "CJK" in unicodedata.name(ch, ""),
}


def _kana(text):
    try:
        import pykakasi
    except ImportError:
        raise ParleyError("Japanese text needs pykakasi: pip install pykakasi") from None
    if "k" not in _kana.__dict__:
        _kana.k = pykakasi.kakasi()
    hira = "".join(x["hira"] for x in _kana.k.convert(text))
    # pykakasi writes (han)dakuten as spacing marks: make them combining so that NFC composes
    hira = hira.replace("\u309b", "\u3099").replace("\u309c", "\u309a").replace("・", " ")
    return unicodedata.normalize("NFC", hira)


def acceptable(text, script):
    """True if ``text`` reads as a plain sentence in ``script``."""
    t = " ".join(text.split())
    if not t or _BAD.search(t) or "\n" in text:
        return False
    letters = [ch for ch in t if ch.isalpha()]
    if not letters or not all(_SCRIPTS[script](ch) for ch in letters):
        return False
    if script == "kana":
        return 6 <= len(t) <= 60
    words = t.split()
    if not 3 <= len(words) <= 18:
        return False
    if script in ("latin", "cyrillic", "greek"):
        for w in words:
            core = w.strip(".,;:!?()\"'«»„“”¿¡")
            if len(core) > 1 and (core.isupper() or any(c.isupper() for c in core[1:])):
                return False                       # acronyms, CamelCase identifiers
            if "." in core:
                return False
    return True


def catalogue_sentences(code):
    """[(sentence, catalogue name)] of one language, sorted and unique (first catalogue wins)."""
    lang = language(code)
    seen = {}
    for loc in lang.locales:
        for f in sorted(glob.glob(os.path.join(LOCALE_DIR, loc, "LC_MESSAGES", "*.mo"))):
            dom = os.path.basename(f)[:-3]
            if any(x in dom for x in EXCLUDED_DOMAINS):
                continue
            try:
                with open(f, "rb") as fh:
                    cat = gettext.GNUTranslations(fh)._catalog
            except Exception:                      # noqa: BLE001 - a broken catalogue is skipped
                continue
            for key, v in cat.items():
                if not isinstance(v, str) or not key or v == key:
                    continue                       # untranslated entries are English
                if not acceptable(v, lang.script):
                    continue
                t = " ".join(v.split())
                if lang.script == "kana":
                    t = _kana(t)
                seen.setdefault(t, dom)
    return sorted(seen.items())


def build_pool(code, out_dir=None):
    """Sentence pool of a language; stored under ``out_dir/texts`` on first use and reused."""
    path = os.path.join(out_dir, "texts", f"{code}.json") if out_dir else None
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return [tuple(x) for x in json.load(f)]
    pool = catalogue_sentences(code)
    if not pool:
        raise ParleyError(f"no {language(code).name} sentences found under {LOCALE_DIR}/"
                          f"{'|'.join(language(code).locales)}; install packages with translations")
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(pool, f, ensure_ascii=False, indent=0)
        os.replace(tmp, path)
    return pool


def utterance_text(rng, pool):
    """One utterance: one to three pool sentences, joined as a short paragraph."""
    n = int(rng.choice([1, 1, 2, 2, 3]))
    picks = [pool[int(rng.integers(len(pool)))][0] for _ in range(n)]
    out = []
    for s in picks:
        s = s.strip().rstrip(":;,")
        out.append(s if s[-1:] in ".!?。？！" else s + ".")
    return " ".join(out)
