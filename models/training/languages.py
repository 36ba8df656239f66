"""Languages of the multilingual corpus: family, voices (eSpeak NG + Debian's MBROLA), held-out voice.

Voice ids are ``engine:name`` as in :mod:`models.training.tts`: ``espeak:de+f3`` is eSpeak NG's
German with the ``f3`` variant, ``mbrola:de1`` the MBROLA diphone voice ``de1`` driven by eSpeak
NG's German front end (``mb-de1``). One voice per language is held out for evaluation: an MBROLA
voice where the language has two or more, otherwise an eSpeak variant (the language's only
natural-sounding voice is then kept for training).

``UNSEEN_LANGUAGES`` are for evaluation only (issue 15: "what happens on an unseen language"):
languages in no training set, from families the training set lacks or barely covers, eSpeak NG
voices only. Every one of their voices is held out (``held_out = ALL``): the corpus built with
``--unseen`` marks each shard ``split = "dev"`` and lists every voice as held out, and
``dataset.held_out_voices()`` includes them, so no training run can load them.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str            # BCP-47-ish code stored in shards (``lang``)
    name: str
    family: str
    espeak: tuple        # eSpeak NG voices incl. variants
    mbrola: tuple        # MBROLA voice names (Debian package mbrola-<name>)
    held_out: str        # engine:name, never trained on; ALL: every voice (UNSEEN_LANGUAGES)
    locales: tuple       # /usr/share/locale/<dir> catalogues with text in this language
    script: str          # "latin" | "cyrillic" | "greek" | "hangul" | "devanagari" | "kana"


LANGUAGES = {
    "de": Language("de", "German", "Germanic", ("de", "de+f3", "de+m3"),
                   ("de1", "de2", "de3", "de4", "de5", "de6", "de7"), "mbrola:de6", ("de",), "latin"),
    "nl": Language("nl", "Dutch", "Germanic", ("nl", "nl+f2", "nl+m2"), ("nl2", "nl3"), "mbrola:nl3",
                   ("nl",), "latin"),
    "sv": Language("sv", "Swedish", "Germanic", ("sv", "sv+f4", "sv+m4"), ("sw1", "sw2"), "mbrola:sw2",
                   ("sv",), "latin"),
    "fr": Language("fr", "French", "Romance", ("fr", "fr+f2", "fr-be+m2"), ("fr1", "fr2", "fr4", "fr6"),
                   "mbrola:fr4", ("fr",), "latin"),
    "es": Language("es", "Spanish", "Romance", ("es", "es+f4", "es-419+m3"), ("es1", "es2", "es3", "mx1"),
                   "mbrola:es2", ("es",), "latin"),
    "it": Language("it", "Italian", "Romance", ("it", "it+f3", "it+m2"), ("it1", "it2", "it3", "it4"),
                   "mbrola:it4", ("it",), "latin"),
    "pt": Language("pt", "Portuguese", "Romance", ("pt", "pt-br", "pt-br+f4"), ("pt1", "br1", "br3", "br4"),
                   "mbrola:br3", ("pt", "pt_BR"), "latin"),
    "ro": Language("ro", "Romanian", "Romance", ("ro", "ro+f3", "ro+m3"), ("ro1",), "espeak:ro+f3",
                   ("ro",), "latin"),
    "pl": Language("pl", "Polish", "Slavic", ("pl", "pl+f4", "pl+m2"), ("pl1",), "espeak:pl+f4", ("pl",),
                   "latin"),
    "cs": Language("cs", "Czech", "Slavic", ("cs", "cs+f2", "cs+m4"), ("cz1", "cz2"), "mbrola:cz1", ("cs",),
                   "latin"),
    "ru": Language("ru", "Russian", "Slavic", ("ru", "ru+f3", "ru+m2"), (), "espeak:ru+f3", ("ru",), "cyrillic"),
    "fi": Language("fi", "Finnish", "Uralic", ("fi", "fi+f3", "fi+m3"), (), "espeak:fi+f3", ("fi",), "latin"),
    "hu": Language("hu", "Hungarian", "Uralic", ("hu", "hu+f4", "hu+m2"), ("hu1",), "espeak:hu+f4", ("hu",),
                   "latin"),
    "tr": Language("tr", "Turkish", "Turkic", ("tr", "tr+f3", "tr+m3"), ("tr1", "tr2"), "mbrola:tr2", ("tr",),
                   "latin"),
    "el": Language("el", "Greek", "Hellenic", ("el", "el+f3", "el+m3"), ("gr1", "gr2"), "mbrola:gr2", ("el",),
                   "greek"),
    "ja": Language("ja", "Japanese", "Japonic", ("ja", "ja+f3", "ja+m2"), ("jp2", "jp3"), "mbrola:jp3",
                   ("ja",), "kana"),
    "ko": Language("ko", "Korean", "Koreanic", ("ko", "ko+f3", "ko+m3"), (), "espeak:ko+f3", ("ko",), "hangul"),
    "hi": Language("hi", "Hindi", "Indo-Aryan", ("hi", "hi+f3", "hi+m3"), ("in1", "in2"), "mbrola:in2",
                   ("hi",), "devanagari"),
}
ALL = "*"
# evaluation only: in no training corpus (models.training.corpus --langs ... --unseen)
UNSEEN_LANGUAGES = {
    "uk": Language("uk", "Ukrainian", "Slavic (East)", ("uk", "uk+f3"), (), ALL, ("uk",), "cyrillic"),
    "sk": Language("sk", "Slovak", "Slavic (West)", ("sk", "sk+f3"), (), ALL, ("sk",), "latin"),
    "lt": Language("lt", "Lithuanian", "Baltic", ("lt", "lt+f3"), (), ALL, ("lt",), "latin"),
    "vi": Language("vi", "Vietnamese", "Austroasiatic", ("vi", "vi-vn-x-south+f3"), (), ALL, ("vi",), "latin"),
    "id": Language("id", "Indonesian", "Austronesian", ("id", "id+f3"), (), ALL, ("id",), "latin"),
    "eu": Language("eu", "Basque", "isolate", ("eu", "eu+f3"), (), ALL, ("eu",), "latin"),
}
assert not set(UNSEEN_LANGUAGES) & set(LANGUAGES)
DEFAULT_LANGS = tuple(LANGUAGES)
MBROLA_WEIGHT = 1.4           # natural-sounding voices a bit more often (as the English corpus)
HELD_OUT_SHARE = 0.5


def language(code):
    """The Language of a code, training (LANGUAGES) or evaluation-only (UNSEEN_LANGUAGES); None if neither."""
    return LANGUAGES.get(code) or UNSEEN_LANGUAGES.get(code)


def is_held_out(code, voice):
    lang = language(code)
    return lang.held_out == ALL or voice == lang.held_out


def language_voices(code):
    """All voice ids of a language (installed or not), espeak first, in a fixed order."""
    lang = language(code)
    return [f"espeak:{v}" for v in lang.espeak] + [f"mbrola:{v}" for v in lang.mbrola]


def held_out_voices(codes=DEFAULT_LANGS):
    return [LANGUAGES[c].held_out for c in codes]


def unseen_voices():
    """Every voice of the evaluation-only languages: never trained on."""
    return [v for c in UNSEEN_LANGUAGES for v in language_voices(c)]
