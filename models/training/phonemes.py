"""ARPAbet inventory, phoneme classes and articulatory (viseme) targets for the teacher.

Labels are CMUdict ARPAbet (``AA``..``ZH``) with an optional stress digit on vowels (``AH0``,
``IY1``), plus ``sil`` for silence/pauses. Parsing is case-insensitive; anything else raises
:class:`UnknownPhonemeError` (a :class:`inference.errors.ParleyError`) naming the symbol.

Targets are ARKit curve values at full articulation (style ``articulation = 0`` uses them as is).
``mouthClose`` is never a static target: the teacher derives it during lip closures so that it
cancels whatever the jaw and the other lip shapes open (ARKit semantics: ``mouthClose`` brings
the lips together while the jaw stays open).
"""
from inference.errors import ParleyError


class UnknownPhonemeError(ParleyError):
    """A phoneme symbol that is not ARPAbet (or not mapped from an engine's phone set)."""


VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R",
              "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH")
SILENCE = "sil"
PHONES = VOWELS + CONSONANTS + (SILENCE,)
PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}

# Classes an animator would name.
BILABIAL = ("P", "B", "M")
LABIODENTAL = ("F", "V")
ROUNDED = ("W", "UW", "OW", "UH", "OY", "AO")  # OY/AO start rounded; AW/OW end rounded
LIP_ROUNDING_TARGETS = ("W", "UW", "OW", "UH")  # always reach their rounding
OPEN = ("AA", "AE", "AH", "AO", "AW", "AY")
SPREAD = ("IY", "IH", "EH", "EY")
DENTAL = ("TH", "DH")
POSTALVEOLAR = ("SH", "CH", "JH", "ZH")
ALVEOLAR = ("T", "D", "N", "S", "Z", "L")
VELAR = ("K", "G", "NG")
LIP_CRITICAL = BILABIAL + LABIODENTAL + LIP_ROUNDING_TARGETS

# Viseme groups (Preston Blair / JALI style) for coverage statistics and plots.
VISEME = {
    "P": "MBP", "B": "MBP", "M": "MBP", "F": "FV", "V": "FV", "TH": "TH", "DH": "TH",
    "W": "WQ", "UW": "U", "OW": "O", "UH": "U", "AO": "O", "OY": "O",
    "AA": "AI", "AE": "AI", "AH": "AI", "AW": "AI", "AY": "AI",
    "EH": "E", "EY": "E", "IH": "E", "IY": "E", "ER": "R", "R": "R", "L": "L",
    "SH": "SH", "CH": "SH", "JH": "SH", "ZH": "SH",
    "S": "etc", "Z": "etc", "T": "etc", "D": "etc", "N": "etc", "K": "etc", "G": "etc",
    "NG": "etc", "HH": "etc", "Y": "etc", SILENCE: "rest",
}

# Diphthongs are animated as two targets: (first, second, fraction of the interval for the first).
DIPHTHONGS = {"AW": ("AA", "UH", 0.55), "AY": ("AA", "IY", 0.55), "EY": ("EH", "IY", 0.5),
              "OW": ("AO", "UW", 0.45), "OY": ("AO", "IY", 0.55)}

_SIL_ALIASES = {"sil", "sp", "pau", "spn", "_", ""}


def parse_label(label):
    """Return ``(base, stress)`` for one label: ``'AH0' -> ('AH', 0)``, ``'sil' -> ('sil', None)``.

    Raises UnknownPhonemeError for anything that is not ARPAbet.
    """
    if not isinstance(label, str):
        raise UnknownPhonemeError(f"phoneme label {label!r} is not a string; use ARPAbet such as 'AH0' or 'sil'")
    s = label.strip()
    if s.lower() in _SIL_ALIASES:
        return SILENCE, None
    stress = None
    if s and s[-1] in "012":
        stress, s = int(s[-1]), s[:-1]
    base = s.upper()
    if base not in PHONE_INDEX or base == SILENCE.upper():
        raise UnknownPhonemeError(
            f"unknown phoneme symbol {label!r}; use ARPAbet (AA..ZH with optional stress digit 0/1/2) or 'sil'")
    if stress is not None and base not in VOWELS:
        raise UnknownPhonemeError(f"phoneme {label!r} has a stress digit but {base} is not a vowel")
    return base, stress


def normalise(phones):
    """Validate a phone list [(start, end, label)] -> list of (start, end, base, stress), sorted by start."""
    out = []
    for item in phones:
        try:
            start, end, label = item
        except (TypeError, ValueError):
            raise UnknownPhonemeError(f"phone entry {item!r} is not (start_s, end_s, label)") from None
        base, stress = parse_label(str(label) if not isinstance(label, bytes) else label.decode())
        start, end = float(start), float(end)
        if not end >= start:
            raise UnknownPhonemeError(f"phone {label!r} ends ({end:.3f}s) before it starts ({start:.3f}s)")
        out.append((start, end, base, stress))
    out.sort(key=lambda x: x[0])
    return out


# --------------------------------------------------------------------------------------------
# Articulatory targets. Values are per-curve weights at full articulation. Curves not named are 0.
# Symmetric names (mouthStretch, mouthSmile, mouthUpperUp, mouthLowerDown, mouthPress) expand
# to _L and _R.
_T = {
    # vowels: jaw openness ranked aa > ae > ah/ao > eh > ih > iy ...
    "AA": dict(jawOpen=0.62, mouthLowerDown=0.22, mouthUpperUp=0.08),
    "AE": dict(jawOpen=0.52, mouthLowerDown=0.28, mouthUpperUp=0.14, mouthStretch=0.22),
    "AH": dict(jawOpen=0.42, mouthLowerDown=0.14, mouthUpperUp=0.05),
    "AO": dict(jawOpen=0.42, mouthFunnel=0.38, mouthPucker=0.12, mouthLowerDown=0.08),
    "EH": dict(jawOpen=0.32, mouthStretch=0.28, mouthLowerDown=0.14, mouthUpperUp=0.06),
    "ER": dict(jawOpen=0.20, mouthFunnel=0.32, mouthPucker=0.18, mouthShrugUpper=0.12),
    "IH": dict(jawOpen=0.22, mouthStretch=0.32, mouthSmile=0.10),
    "IY": dict(jawOpen=0.13, mouthStretch=0.42, mouthSmile=0.16, mouthUpperUp=0.05),
    "UH": dict(jawOpen=0.20, mouthFunnel=0.32, mouthPucker=0.40),
    "UW": dict(jawOpen=0.12, mouthPucker=0.78, mouthFunnel=0.42, jawForward=0.06),
    # consonants
    "P": dict(jawOpen=0.04, mouthPress=0.50, mouthRollUpper=0.08, mouthRollLower=0.08),
    "B": dict(jawOpen=0.04, mouthPress=0.42, mouthRollUpper=0.06, mouthRollLower=0.06),
    "M": dict(jawOpen=0.04, mouthPress=0.32, mouthRollUpper=0.05, mouthRollLower=0.05),
    "F": dict(jawOpen=0.08, mouthRollLower=0.62, mouthUpperUp=0.20, mouthShrugUpper=0.08),
    "V": dict(jawOpen=0.08, mouthRollLower=0.58, mouthUpperUp=0.18, mouthShrugUpper=0.08),
    "TH": dict(jawOpen=0.14, mouthLowerDown=0.14, mouthUpperUp=0.06),
    "DH": dict(jawOpen=0.13, mouthLowerDown=0.12, mouthUpperUp=0.05),
    "W": dict(jawOpen=0.08, mouthPucker=0.82, mouthFunnel=0.40),
    "R": dict(jawOpen=0.12, mouthPucker=0.36, mouthFunnel=0.26),
    "L": dict(jawOpen=0.22, mouthLowerDown=0.08),
    "SH": dict(jawOpen=0.10, mouthFunnel=0.55, mouthPucker=0.26, mouthUpperUp=0.16, mouthLowerDown=0.10),
    "ZH": dict(jawOpen=0.10, mouthFunnel=0.52, mouthPucker=0.24, mouthUpperUp=0.14, mouthLowerDown=0.10),
    "CH": dict(jawOpen=0.09, mouthFunnel=0.50, mouthPucker=0.26, mouthUpperUp=0.16, mouthLowerDown=0.08),
    "JH": dict(jawOpen=0.09, mouthFunnel=0.48, mouthPucker=0.24, mouthUpperUp=0.14, mouthLowerDown=0.08),
    "S": dict(jawOpen=0.06, mouthStretch=0.22, mouthUpperUp=0.06),
    "Z": dict(jawOpen=0.06, mouthStretch=0.20, mouthUpperUp=0.05),
    "T": dict(jawOpen=0.12, mouthStretch=0.06),
    "D": dict(jawOpen=0.12, mouthStretch=0.05),
    "N": dict(jawOpen=0.11, mouthStretch=0.04),
    "K": dict(jawOpen=0.17),
    "G": dict(jawOpen=0.17),
    "NG": dict(jawOpen=0.16),
    "HH": dict(jawOpen=0.20),
    "Y": dict(jawOpen=0.10, mouthStretch=0.30, mouthSmile=0.10),
    SILENCE: dict(jawOpen=0.03),
}
for _d, (_a, _b, _f) in DIPHTHONGS.items():
    _T[_d] = _T[_a]  # the first target; the teacher inserts the second
_T["OY"] = _T["AO"]

SYMMETRIC = ("mouthStretch", "mouthSmile", "mouthUpperUp", "mouthLowerDown", "mouthPress",
             "mouthDimple", "mouthFrown", "browDown", "browOuterUp", "cheekSquint", "eyeSquint",
             "eyeWide", "noseSneer", "eyeBlink")


def expand(d):
    """Expand symmetric names (``mouthSmile`` -> ``mouthSmile_L``, ``mouthSmile_R``)."""
    out = {}
    for k, v in d.items():
        if k in SYMMETRIC:
            out[k + "_L"] = v
            out[k + "_R"] = v
        else:
            out[k] = v
    return out


TARGETS = {p: expand(d) for p, d in _T.items()}

# Dominance (Cohen-Massaro): per phone and articulator group, strength alpha and the rate theta
# (1/s) of its fall-off before (anticipation) and after (carry-over) the segment. Groups:
#   jaw   jawOpen, jawForward
#   round mouthFunnel, mouthPucker
#   lips  everything else on the lower face
GROUPS = ("jaw", "round", "lips")


def _dom(p):
    if p == SILENCE:
        return dict(jaw=(0.6, 20, 20), round=(0.6, 20, 20), lips=(0.6, 20, 20))
    if p in ("UW", "OW", "UH", "W", "OY", "AO"):
        # rounding reaches across consonants: strong and slow-falling in anticipation
        return dict(jaw=(0.9, 14, 16), round=(1.0, 7.0, 10.0), lips=(0.8, 14, 16))
    if p == "ER" or p == "R":
        return dict(jaw=(0.6, 14, 16), round=(0.8, 9, 12), lips=(0.6, 14, 16))
    if p in VOWELS:
        return dict(jaw=(1.0, 12, 14), round=(0.9, 14, 16), lips=(0.9, 12, 14))
    if p in BILABIAL:
        return dict(jaw=(0.5, 20, 22), round=(0.08, 25, 25), lips=(1.0, 20, 22))
    if p in LABIODENTAL:
        return dict(jaw=(0.6, 20, 22), round=(0.08, 25, 25), lips=(1.0, 18, 22))
    if p in POSTALVEOLAR:
        return dict(jaw=(0.7, 18, 20), round=(0.9, 12, 15), lips=(0.8, 16, 20))
    if p in DENTAL or p in ("S", "Z"):
        return dict(jaw=(0.7, 20, 22), round=(0.08, 25, 25), lips=(0.5, 20, 22))
    if p == "L" or p == "Y":
        return dict(jaw=(0.35, 18, 20), round=(0.10, 25, 25), lips=(0.5, 18, 20))
    if p == "HH":
        return dict(jaw=(0.05, 25, 25), round=(0.02, 25, 25), lips=(0.05, 25, 25))
    # T D N K G NG: tongue articulations, transparent to the lips
    return dict(jaw=(0.25, 20, 22), round=(0.05, 25, 25), lips=(0.15, 20, 22))


DOMINANCE = {p: _dom(p) for p in PHONES}
