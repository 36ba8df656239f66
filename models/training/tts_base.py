"""What every speech engine of :mod:`models.training.tts` shares: the utterance, the errors, the engine base
class and the helpers that turn an engine's own phone timings into contiguous ARPAbet phones."""
import difflib
from dataclasses import dataclass, field

import numpy as np

from inference.errors import ParleyError

from .phonemes import UnknownPhonemeError, parse_label

SR = 16000


class EngineMissingError(ParleyError):
    pass


class EngineCrashError(EngineMissingError):
    """The engine died on one text (eSpeak NG's Vietnamese on option strings like “-c”): another text may work."""


class VoiceNotInstalledError(ParleyError):
    pass


class EmptyTextError(ParleyError):
    pass


@dataclass
class Utterance:
    audio: np.ndarray            # float32 [N] at 16 kHz
    phones: list                 # [(start_s, end_s, ARPAbet label)]
    engine: str
    voice: str
    text: str
    params: dict = field(default_factory=dict)


def resample(x, sr_in, sr_out=SR):
    if sr_in == sr_out:
        return x.astype(np.float32)
    from math import gcd
    from scipy.signal import resample_poly
    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(x.astype(np.float64), sr_out // g, sr_in // g).astype(np.float32)


def _check_text(text):
    if text is None or not str(text).strip():
        raise EmptyTextError("empty text: give at least one word to synthesise")
    return " ".join(str(text).split())


def _map(table, sym, engine):
    if sym in table:
        return table[sym]
    raise UnknownPhonemeError(f"{engine}: phone symbol {sym!r} has no ARPAbet mapping; add it to the "
                              f"engine's table in models/training/tts.py or tts_festival.py")


def _expand(mapped, start, end):
    """One engine phone -> one or more ARPAbet phones splitting [start, end] (first part longer)."""
    if isinstance(mapped, str):
        return [(start, end, mapped)]
    n = len(mapped)
    w = np.array([1.6] + [1.0] * (n - 1))
    edges = start + (end - start) * np.concatenate([[0], np.cumsum(w) / w.sum()])
    return [(float(edges[i]), float(edges[i + 1]), m) for i, m in enumerate(mapped)]


def merge_silences(phones, min_len=0.0, silence="sil"):
    """Merge adjacent silences (labelled ``silence``) and drop zero-length phones; keeps the list contiguous."""
    out = []
    for s, e, lab in phones:
        if e - s <= 1e-6:
            continue
        if out and lab == silence and out[-1][2] == silence:
            out[-1] = (out[-1][0], e, silence)
        else:
            out.append((s, e, lab))
    return out


def transfer_stress(phones, stressed):
    """Copy stress digits from a stressed ARPAbet sequence onto ``phones`` (aligned by base)."""
    base = [parse_label(p[2])[0] for p in phones]
    sbase = [parse_label(x)[0] for x in stressed]
    sm = difflib.SequenceMatcher(a=base, b=sbase, autojunk=False)
    out = list(phones)
    for a, b, size in sm.get_matching_blocks():
        for k in range(size):
            lab = stressed[b + k]
            if lab[-1:] in "012" and base[a + k] == sbase[b + k]:
                s, e, _ = out[a + k]
                out[a + k] = (s, e, lab)
    return out


class Engine:
    name = "?"

    def available(self):
        raise NotImplementedError

    def voices(self):
        raise NotImplementedError

    def check_voice(self, voice):
        if not self.available():
            raise EngineMissingError(f"{self.missing_message()} (needed for voice {self.name}:{voice})")
        if voice not in self.voices():
            raise VoiceNotInstalledError(
                f"{self.name} voice {voice!r} is not installed; installed: {', '.join(self.voices()) or 'none'}"
                f" ({self.install_hint(voice)})")

    def missing_message(self):
        return f"{self.name} is not installed"

    def install_hint(self, voice):
        return "see models/CORPUS_REPORT.md"
