"""IPA phones as espeak-ng writes them: normalisation, articulatory features, nearest ARPAbet class.

espeak-ng's IPA (``espeak-ng -q --ipa=3``, or the phoneme events of libespeak-ng started with
``espeakINITIALIZE_PHONEME_IPA``) writes one phone as a short string: a base letter plus
diacritics (``r̝``, ``ɑ̃``), a length mark (``aː``), stress marks (``ˈ``, ``ˌ``) and zero-width
joiners or tie bars inside affricates and diphthongs (``t‍s``, ``a‍ʊ``).

:func:`normalise` reduces a phone to the key the acoustic model classifies: stress, length,
tie marks and most diacritics go (length is duration, which the aligner finds anyway);
nasalisation stays (French ``ɑ̃`` and ``a`` sound different). :func:`features` gives every key
an articulatory vector (place, manner, voicing for consonants; height, backness, rounding for
vowels; a multi-letter key averages its letters), so a phone the model never saw scores as its
nearest seen phone (:func:`nearest`). :func:`arpabet` names the nearest ARPAbet class, the label
the corpus shards carry for non-English phones.
"""
import unicodedata

import numpy as np

SIL = "sil"
_DROP = set("ˈˌːˑ‍͜͡ʼ̩̯̪̝̞̠̟̹̜̥̬̤̰̺̻̚ʰʲʷˠˤ̴'-.|_ˀ")   # stress, length, ties, diacritics
_KEEP_COMBINING = {"\u0303": "~", "\u0327": "\u0327"}   # nasalisation -> '~' suffix; cedilla (ç) kept
_ALIASES = {"g": "ɡ", "ɚ": "ɜ", "ɝ": "ɜ", "ε": "ɛ", "ɫ": "l", "ʍ": "w", "ɧ": "ʃ", "ᵻ": "ɨ",
            "ᵿ": "ʊ", "r": "r", "ɾ": "ɾ", "ɹ": "ɹ", "ɐ": "ɐ", "ɒ": "ɒ", "ε̃": "ɛ~"}

# consonants: place (0 bilabial .. 10 glottal), manner, voiced
_PLACE = {"bilabial": 0, "labiodental": 1, "dental": 2, "alveolar": 3, "postalveolar": 4, "retroflex": 5,
          "palatal": 6, "velar": 7, "uvular": 8, "pharyngeal": 9, "glottal": 10}
_MANNER = {"stop": 0, "affricate": 1, "fricative": 2, "nasal": 3, "trill": 4, "tap": 5, "approximant": 6,
           "lateral": 7}
_C = {
    "p": ("bilabial", "stop", 0), "b": ("bilabial", "stop", 1), "m": ("bilabial", "nasal", 1),
    "ɸ": ("bilabial", "fricative", 0), "β": ("bilabial", "fricative", 1), "ʙ": ("bilabial", "trill", 1),
    "f": ("labiodental", "fricative", 0), "v": ("labiodental", "fricative", 1),
    "ɱ": ("labiodental", "nasal", 1), "ʋ": ("labiodental", "approximant", 1),
    "θ": ("dental", "fricative", 0), "ð": ("dental", "fricative", 1),
    "t": ("alveolar", "stop", 0), "d": ("alveolar", "stop", 1), "n": ("alveolar", "nasal", 1),
    "s": ("alveolar", "fricative", 0), "z": ("alveolar", "fricative", 1), "r": ("alveolar", "trill", 1),
    "ɾ": ("alveolar", "tap", 1), "ɹ": ("alveolar", "approximant", 1), "l": ("alveolar", "lateral", 1),
    "ɬ": ("alveolar", "fricative", 0), "ʃ": ("postalveolar", "fricative", 0),
    "ʒ": ("postalveolar", "fricative", 1), "ʂ": ("retroflex", "fricative", 0),
    "ʐ": ("retroflex", "fricative", 1), "ʈ": ("retroflex", "stop", 0), "ɖ": ("retroflex", "stop", 1),
    "ɳ": ("retroflex", "nasal", 1), "ɭ": ("retroflex", "lateral", 1), "ɽ": ("retroflex", "tap", 1),
    "ɻ": ("retroflex", "approximant", 1), "ɕ": ("palatal", "fricative", 0), "ʑ": ("palatal", "fricative", 1),
    "c": ("palatal", "stop", 0), "ɟ": ("palatal", "stop", 1), "ɲ": ("palatal", "nasal", 1),
    "ç": ("palatal", "fricative", 0), "ʝ": ("palatal", "fricative", 1), "j": ("palatal", "approximant", 1),
    "ʎ": ("palatal", "lateral", 1), "k": ("velar", "stop", 0), "ɡ": ("velar", "stop", 1),
    "ŋ": ("velar", "nasal", 1), "x": ("velar", "fricative", 0), "ɣ": ("velar", "fricative", 1),
    "ɰ": ("velar", "approximant", 1), "ʟ": ("velar", "lateral", 1), "w": ("velar", "approximant", 1),
    "ɥ": ("palatal", "approximant", 1), "q": ("uvular", "stop", 0), "ɢ": ("uvular", "stop", 1),
    "ɴ": ("uvular", "nasal", 1), "χ": ("uvular", "fricative", 0), "ʁ": ("uvular", "fricative", 1),
    "ʀ": ("uvular", "trill", 1), "ħ": ("pharyngeal", "fricative", 0), "ʕ": ("pharyngeal", "fricative", 1),
    "h": ("glottal", "fricative", 0), "ɦ": ("glottal", "fricative", 1), "ʔ": ("glottal", "stop", 0),
}
_LABIAL_APPROX = {"w", "ɥ"}                         # rounded lips on top of their tongue place
# vowels: height 0 (close) .. 6 (open), backness 0 (front) .. 2 (back), rounded
_V = {
    "i": (0, 0, 0), "y": (0, 0, 1), "ɨ": (0, 1, 0), "ʉ": (0, 1, 1), "ɯ": (0, 2, 0), "u": (0, 2, 1),
    "ɪ": (1, 0.3, 0), "ʏ": (1, 0.3, 1), "ʊ": (1, 1.7, 1), "e": (2, 0, 0), "ø": (2, 0, 1), "ɘ": (2, 1, 0),
    "ɵ": (2, 1, 1), "ɤ": (2, 2, 0), "o": (2, 2, 1), "ə": (3, 1, 0), "ɛ": (4, 0, 0), "œ": (4, 0, 1),
    "ɜ": (4, 1, 0), "ɞ": (4, 1, 1), "ʌ": (4, 2, 0), "ɔ": (4, 2, 1), "æ": (5, 0, 0), "ɐ": (5, 1, 0),
    "a": (6, 0.5, 0), "ɶ": (6, 0, 1), "ɑ": (6, 2, 0), "ɒ": (6, 2, 1),
}
# ARPAbet classes as IPA (first element for diphthongs; the diphthong itself matched by pair)
ARPA_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "EH": "ɛ", "ER": "ɜ", "IH": "ɪ", "IY": "i", "UH": "ʊ",
    "UW": "u", "AW": "aʊ", "AY": "aɪ", "EY": "eɪ", "OW": "oʊ", "OY": "ɔɪ",
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "dʒ", "K": "k",
    "L": "l", "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}
ARPA_FROM_IPA = {v: k for k, v in ARPA_IPA.items()}
# where the feature distance alone picks a class whose teacher shape is wrong for the lips
ARPA_OVERRIDE = {
    "ə": "AH", "ɐ": "AH", "ɘ": "AH", "ɵ": "UH", "ɤ": "AH", "ɯ": "IH", "ɨ": "IH", "ʉ": "UW", "a": "AA",
    "ɶ": "AO", "œ": "AO", "ø": "OW", "ʏ": "UH", "y": "UW", "e": "EY", "o": "OW", "ɒ": "AO",
    "r": "R", "ɾ": "R", "ɽ": "R", "ɻ": "R", "ʀ": "HH", "ʁ": "HH", "χ": "HH", "x": "HH", "ç": "HH",
    "ħ": "HH", "ʕ": "HH", "ɦ": "HH", "ʔ": "HH", "ɣ": "G", "ɢ": "G", "q": "K", "c": "K", "ɟ": "G",
    "β": "B", "ɸ": "F", "ʋ": "V", "ɲ": "N", "ɳ": "N", "ɴ": "NG", "ʎ": "L", "ɭ": "L", "ʟ": "L",
    "ɬ": "S", "ɕ": "SH", "ʑ": "ZH", "ʂ": "SH", "ʐ": "ZH", "ʈ": "T", "ɖ": "D", "ɰ": "W", "ɥ": "W",
    "ts": "S", "dz": "Z", "pf": "P", "tɕ": "CH", "dʑ": "JH", "tʂ": "CH", "dʐ": "JH", "ʝ": "Y",
    "ɱ": "M", "ʙ": "B",
}


def normalise(phone):
    """espeak-ng IPA phone -> classification key ('' or pause marks -> 'sil')."""
    s = unicodedata.normalize("NFD", str(phone).strip())
    out = []
    for ch in s:
        if ch in _KEEP_COMBINING:
            mark = _KEEP_COMBINING[ch]
            if out and out[-1] != mark:
                out.append(mark)
        elif ch in _DROP or ch.isspace() or ch.isdigit():
            continue
        elif unicodedata.combining(ch):
            continue
        else:
            out.append(_ALIASES.get(ch, ch))
    key = unicodedata.normalize("NFC", "".join(out))
    # collapse a doubled letter (geminate written twice) and keep at most three letters
    letters = [c for c in key if c != "~"]
    if len(letters) == 2 and letters[0] == letters[1]:
        key = letters[0] + ("~" if "~" in key else "")
    return key or SIL


def is_marker(phone):
    """True for an espeak-ng event that is not a sound of its own: a language switch ``(en)`` or a
    lone modifier such as Russian's palatalisation ``ʲ`` (it belongs to the phone before)."""
    p = str(phone).strip()
    return bool(p) and (p.startswith("(") or normalise(p) == SIL)


def letters(key):
    return [c for c in key if c != "~"]


def is_vowel(key):
    ls = letters(key)
    return bool(ls) and all(c in _V for c in ls)


def _letter_vec(c, nasal):
    """[consonant?, place, manner, voiced, height, backness, rounded, nasal] (scaled 0..1)."""
    if c in _V:
        h, b, r = _V[c]
        return np.array([0, 0.6, 1.0, 1, h / 6, b / 2, r, nasal], np.float32)
    if c in _C:
        place, manner, voiced = _C[c]
        r = 1.0 if c in _LABIAL_APPROX else 0.0
        return np.array([1, _PLACE[place] / 10, _MANNER[manner] / 7, voiced, 0.5, 0.5, r,
                         1.0 if manner == "nasal" else nasal], np.float32)
    return None


def features(key):
    """Articulatory vector of a key (None for silence or a key with no known letter)."""
    if key == SIL:
        return None
    nasal = 1.0 if "~" in key else 0.0
    vecs = [v for v in (_letter_vec(c, nasal) for c in letters(key)) if v is not None]
    if not vecs:
        return None
    if len(vecs) > 1 and vecs[0][0] == 1 and vecs[1][0] == 1 and len(vecs) == 2 and \
            _C.get(letters(key)[0], ("", "", 0))[1] == "stop":
        v = vecs[1].copy()                       # affricate: a stop into a fricative
        v[2] = _MANNER["affricate"] / 7
        return v
    return np.mean(vecs, axis=0)


_W = np.array([4.0, 2.0, 1.5, 0.7, 2.5, 1.5, 2.5, 1.0], np.float32)   # feature weights for distances


def distance(a, b):
    fa, fb = features(a), features(b)
    if fa is None or fb is None:
        return 0.0 if (fa is None and fb is None) else 99.0
    return float(np.sum(_W * np.abs(fa - fb)))


def nearest(key, inventory):
    """The inventory key closest to ``key`` in articulation (itself if present)."""
    if key in inventory:
        return key
    best = min(inventory, key=lambda k: (distance(key, k), k))
    return best


_ARPA_ROUND_W = np.array([4.0, 2.0, 1.5, 0.3, 2.0, 1.0, 4.0, 0.2], np.float32)   # lips matter most


def arpabet(phone):
    """Nearest ARPAbet class (no stress digit) of an espeak-ng IPA phone; 'sil' for pauses."""
    key = normalise(phone)
    if key == SIL:
        return SIL
    plain = key.replace("~", "")
    if plain in ARPA_OVERRIDE:
        return ARPA_OVERRIDE[plain]
    if plain in ARPA_FROM_IPA:
        return ARPA_FROM_IPA[plain]
    ls = letters(key)
    if len(ls) >= 2 and all(c in _V for c in ls[:2]):
        # diphthong: best pair match among the ARPAbet diphthongs, else its first vowel
        best, bd = None, 1e9
        for arpa, ipa in ARPA_IPA.items():
            if len(ipa) == 2 and all(c in _V for c in ipa):
                d = _fdist(ls[0], ipa[0]) + _fdist(ls[1], ipa[1])
                if d < bd:
                    best, bd = arpa, d
        if bd < 3.0:
            return best
        key = ls[0]
    f = features(key)
    if f is None:
        return SIL
    best, bd = None, 1e9
    for arpa, ipa in ARPA_IPA.items():
        d = float(np.sum(_ARPA_ROUND_W * np.abs(f - features(ipa))))
        if d < bd:
            best, bd = arpa, d
    return best


def _fdist(a, b):
    fa, fb = features(a), features(b)
    return float(np.sum(_ARPA_ROUND_W * np.abs(fa - fb)))
