"""Speech engines for the corpus: text -> 16 kHz audio + ARPAbet phone timings.

Every engine returns exact timings from the synthesiser itself (no forced alignment needed):

espeak-ng   libespeak-ng through ctypes; phoneme events carry the sample position of each phoneme.
            Stress comes from ``espeak_TextToPhonemes`` on the same text, aligned to the events.
mbrola      espeak-ng writes the MBROLA ``.pho`` (phone + duration in ms), the ``mbrola`` binary
            renders exactly that file, so durations are exact; a voice whose database marks phone
            boundaries early (us3, mx1) is heard later than its .pho, and :func:`mbrola_onset_lag` moves
            its phones there.
festival    a Festival process synthesises the text and saves its ``Segment`` relation (phone,
            end time, syllable stress) next to the waveform (:mod:`models.training.tts_festival`).

Voice ids are ``engine:name`` (``espeak:en-us+f3``, ``mbrola:us1``, ``festival:kal_diphone``).
Every engine's phone set is mapped to ARPAbet here; an unmapped symbol raises
``UnknownPhonemeError`` naming the engine and symbol. Missing engines/voices raise
``EngineMissingError`` / ``VoiceNotInstalledError`` with the apt package to install.
"""
import ctypes
import os
import shutil
import subprocess
import tempfile

import numpy as np

from . import espeak_ctypes
from .phonemes import parse_label

# shared by every engine (models/training/tts_base.py), re-exported: callers use tts.SR, tts.resample, the errors
from .tts_base import (SR, EmptyTextError, Engine, EngineCrashError, EngineMissingError,  # noqa: F401
                       Utterance, VoiceNotInstalledError, _check_text, _expand, _map, merge_silences, resample,
                       transfer_stress)
from .tts_festival import FestivalEngine

# --------------------------------------------------------------------------------------------
# espeak-ng phoneme mnemonics (English) -> ARPAbet
ESPEAK_MAP = {
    "@": "AH0", "@-": "AH0", "@2": "AH0", "@5": "AH0", "@#": "AH0", "@L": ("AH0", "L"), "@r": "ER0",
    "3": "ER0", "3:": "ER", "3:r": "ER", "a": "AE", "a#": "AH", "a2": "AE", "aa": "AE", "A:": "AA",
    "A@": ("AA", "R"), "A#": "AA", "Ar": ("AA", "R"), "aI": "AY", "aI@": ("AY", "ER0"), "aI3": ("AY", "ER0"),
    "aU": "AW", "aU@": ("AW", "ER0"), "e": "EH", "e@": ("EH", "R"), "E": "EH", "E2": "EH", "E#": "EH",
    "eI": "EY", "i": "IY", "i:": "IY", "i@": ("IH", "R"), "i@3": ("IY", "ER0"), "I": "IH", "I#": "IH",
    "I2": "IH", "IR": ("IH", "R"), "0": "AA", "0#": "AA", "O": "AO", "O:": "AO", "O@": ("AO", "R"),
    "o@": ("AO", "R"), "OI": "OY", "oU": "OW", "oU#": "OW", "o": "OW", "u:": "UW", "u@": ("UH", "R"),
    "U": "UH", "U@": ("UH", "R"), "V": "AH", "Vr": ("AH", "R"), "u": "UW", "y": "UW", "eI@": ("EY", "ER0"),
    "b": "B", "d": "D", "D": "DH", "dZ": "JH", "f": "F", "g": "G", "h": "HH", "j": "Y", "k": "K",
    "l": "L", "l/": "L", "l#": "L", "L": "L", "m": "M", "m-": "M", "n": "N", "n-": "N", "N": "NG",
    "p": "P", "r": "R", "r-": "R", "R": "R", "s": "S", "S": "SH", "t": "T", "t#": "T", "d#": "D",
    "t2": "T", "d2": "D", "tS": "CH", "T": "TH", "v": "V", "w": "W", "W": "W", "z": "Z", "z#": "Z",
    "Z": "ZH", "x": "HH", "?": "HH", "C": "HH", "n2": "N", "r/": "R", "I2#": "IH", "@3": "ER0",
    "_": "sil", "_:": "sil", "_!": "sil", "_^_": "sil", "||": "sil", "|": "sil", "": "sil", "_|": "sil",
    "O2": "AO", "w#": "W", "aI2": "AY", "VR": ("AH", "R"), "t[": "T", "d[": "D", "n[": "N",
    ";": None,  # palatalisation modifier: belongs to the previous phone
}

# events ---------------------------------------------------------------------------------------
_ESPEAK = {}


def _espeak_lib():
    if "lib" in _ESPEAK:
        return _ESPEAK["lib"]
    lib, sr = espeak_ctypes.load(espeak_ctypes.INIT_PHONEME_EVENTS, EngineMissingError)
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    rec = espeak_ctypes.Recorder("ascii")
    lib.espeak_SetSynthCallback(rec.callback)
    _ESPEAK.update(lib=lib, sr=sr, rec=rec, voice=None)
    return lib


def espeak_stress(text):
    """Stressed ARPAbet sequence for ``text`` from espeak_TextToPhonemes (current voice)."""
    lib = _espeak_lib()
    buf = ctypes.create_string_buffer(text.encode("utf-8"))
    ptr = ctypes.c_void_p(ctypes.addressof(buf))
    seq = []
    while ptr.value:
        r = lib.espeak_TextToPhonemes(ctypes.byref(ptr), 1, ord("|") << 8)  # UTF-8 input
        if not r:
            break
        for word in r.decode("ascii", "replace").split():
            for tok in word.split("|"):
                stress = None
                while tok[:1] in ("'", ","):
                    stress = 1 if tok[0] == "'" else 2
                    tok = tok[1:]
                if tok not in ESPEAK_MAP or ESPEAK_MAP[tok] is None:
                    continue
                m = ESPEAK_MAP[tok]
                m = (m,) if isinstance(m, str) else m
                for j, lab in enumerate(m):
                    b = parse_label(lab)[0]
                    if lab == "sil":
                        continue
                    from .phonemes import VOWELS
                    if b in VOWELS:
                        digit = lab[-1] if lab[-1:] in "012" else ("0" if stress is None or j > 0 else str(stress))
                        lab = b + digit
                    seq.append(lab)
    return seq


def _espeak_child(text, voice, rate, pitch):
    """Runs in a forked child: synthesise with libespeak-ng, return (int16 audio, events, stress)."""
    lib = _ESPEAK["lib"]
    rec = _ESPEAK["rec"]
    if not espeak_ctypes.set_voice(lib, voice, rate, pitch):
        raise VoiceNotInstalledError(f"espeak-ng could not load voice {voice!r}")
    raw = espeak_ctypes.speak(lib, rec, text)
    return raw, rec.phonemes(), espeak_stress(text)


def _stress_child(text, voice):
    _ESPEAK["lib"].espeak_SetVoiceByName(voice.encode())
    return espeak_stress(text)


def _in_fork(fn, *args):
    """Run ``fn(*args)`` in a forked child and return its result (or re-raise its error).

    libespeak-ng keeps a sample or two of synthesis state from one utterance to the next and
    cannot be re-initialised in-process, so every utterance runs in a fresh fork of a process
    that only ever initialised it: shards never depend on what was synthesised before them.
    Its breathy voices (``+f3`` and others) draw their noise from the C library's ``rand()``, whose
    state a fork inherits: the child reseeds it with 1, the C default, so a shard is the same
    whatever the parent process (or a library thread in it) drew before.
    """
    import pickle
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # child
        os.close(r)
        try:
            try:
                ctypes.CDLL(None).srand(1)
                payload = pickle.dumps(("ok", fn(*args)))
            except BaseException as e:             # noqa: BLE001 - shipped to the parent
                payload = pickle.dumps(("err", e))
            with os.fdopen(w, "wb") as f:
                f.write(payload)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        raise EngineCrashError("espeak-ng crashed while synthesising; check the espeak-ng install")
    kind, val = pickle.loads(data)
    if kind == "err":
        raise val
    return val


class EspeakEngine(Engine):
    name = "espeak"
    VOICES = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-us+f3", "en+f4", "en-029",
              "en-gb-x-gbclan", "en-us+m3", "en-gb-x-gbcwmd+f2", "en-us-nyc")

    def available(self):
        try:
            _espeak_lib()
            return True
        except EngineMissingError:
            return False

    def missing_message(self):
        return "espeak-ng is not installed; install it with: apt-get install espeak-ng"

    def voices(self):
        return self.VOICES if self.available() else ()

    def install_hint(self, voice):
        return "espeak-ng voices are named language[+variant]"

    def synth(self, text, voice, rate=1.0, pitch=0.0):
        """rate: multiplier on 175 wpm; pitch: semitone-ish offset mapped onto espeak's 0..100."""
        text = _check_text(text)
        self.check_voice(voice)
        _espeak_lib()
        raw, events, stressed = _in_fork(_espeak_child, text, voice, rate, pitch)
        sr = _ESPEAK["sr"]
        n = raw.shape[0]
        ev = [(smp, sym) for smp, sym in sorted(events) if _map(ESPEAK_MAP, sym, "espeak-ng") is not None]
        phones = []
        if ev and ev[0][0] > 0:
            phones.append((0.0, ev[0][0] / sr, "sil"))
        for k, (smp, sym) in enumerate(ev):
            end = ev[k + 1][0] if k + 1 < len(ev) else n
            phones += _expand(_map(ESPEAK_MAP, sym, "espeak-ng"), smp / sr, max(end, smp) / sr)
        phones = transfer_stress(merge_silences(phones), stressed)
        audio = resample(raw.astype(np.float32) / 32768.0, sr)
        return Utterance(audio, phones, self.name, voice, text, {"rate": rate, "pitch": pitch})


# --------------------------------------------------------------------------------------------
# MBROLA (SAMPA phone sets of us1/us2/us3 and en1) -> ARPAbet
MBROLA_MAP = {
    "_": "sil", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "t_h": "T", "p_h": "P",
    "k_h": "K", "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH",
    "h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R", "w": "W", "j": "Y", "tS": "CH",
    "dZ": "JH", "r=": "ER", "3`": "ER", "@`": "ER0", "i": "IY", "i:": "IY", "I": "IH", "E": "EH",
    "e": "EH", "{": "AE", "A": "AA", "A:": "AA", "Q": "AA", "V": "AH", "O": "AO", "O:": "AO",
    "U": "UH", "u": "UW", "u:": "UW", "3:": "ER", "@": "AH0", "EI": "EY", "eI": "EY", "AI": "AY",
    "aI": "AY", "OI": "OY", "@U": "OW", "oU": "OW", "aU": "AW", "I@": ("IH", "R"), "e@": ("EH", "R"),
    "U@": ("UH", "R"), "l=": ("AH0", "L"), "n=": ("AH0", "N"), "m=": ("AH0", "M"), "?": "HH",
    "x": "HH", "4": "T", "D_0": "DH", "r\\": "R", "R": "R", "o": "OW", "a": "AE", "aa": "AA",
    "O2": "AO", "5": "L",
}
MBROLA_ESPEAK_VOICE = {"us1": "mb-us1", "us2": "mb-us2", "us3": "mb-us3", "en1": "mb-en1"}
MBROLA_DIR = "/usr/share/mbrola"
# MBROLA voices whose diphone database puts the phone boundary (each diphone's "halfseg" mark) well
# before the acoustic change: MBROLA stretches the part of the diphone after the mark over the next
# phone's duration, so that phone is heard starting this share of its .pho duration late (every other
# voice: 0). Measured on the rendered audio against voices of the same language (same .pho, acoustic
# landmarks; boundaries into a pause are on time): us3 0.230-0.241 x duration beyond us1/us2, mx1
# 0.228-0.231 beyond es1/es2 (13 ms at 40-70 ms phones, 32 ms at 130-160 ms); and in the databases:
# voicing starts 48 ms (us3), 43 ms (mx1) after the silence-vowel mark, 5-15 ms in us1 us2 en1 es1
# es2. See models/ALIGNER_REPORT.md and models/training/aligner/mbrola_check.py.
MBROLA_ONSET_LAG = {"us3": 0.23, "mx1": 0.23}


def mbrola_onset_lag(phones, voice, pause=""):
    """Phones ``[(start_s, end_s, label, ...)]`` on the ``.pho``'s times -> on the audio's, for MBROLA
    ``voice`` (``us3`` or ``mb-us3``): every non-pause phone starts ``MBROLA_ONSET_LAG`` x its duration
    later and the phone before it ends there (a pause ``pause`` fills a gap at the start); boundaries
    into a pause and the last end stay. Other voices: unchanged."""
    lag = MBROLA_ONSET_LAG.get(voice[3:] if voice.startswith("mb-") else voice, 0.0)
    out = [list(p) for p in phones]
    if not lag:
        return [tuple(p) for p in out]
    for k, p in enumerate(out):
        if p[2] != pause and p[1] > p[0]:
            p[0] += lag * (p[1] - p[0])
            if k > 0:
                out[k - 1][1] = p[0]
    if out and out[0][0] > 0:
        out.insert(0, [0.0, out[0][0], pause] + [-1] * (len(out[0]) - 3))
    return [tuple(p) for p in out]


class MbrolaEngine(Engine):
    name = "mbrola"

    def available(self):
        return shutil.which("mbrola") is not None and shutil.which("espeak-ng") is not None

    def missing_message(self):
        return ("MBROLA is not installed; install it with: apt-get install espeak-ng mbrola mbrola-us1 "
                "(Debian contrib/non-free)")

    def voices(self):
        if not self.available():
            return ()
        return tuple(v for v in MBROLA_ESPEAK_VOICE if os.path.exists(os.path.join(MBROLA_DIR, v, v)))

    def install_hint(self, voice):
        return f"install it with: apt-get install mbrola-{voice}"

    def synth(self, text, voice, rate=1.0, pitch=0.0):
        text = _check_text(text)
        self.check_voice(voice)
        speed = int(round(175 * rate))
        pitch_v = int(np.clip(50 + 6 * pitch, 0, 99))
        pho = subprocess.run(["espeak-ng", "-q", "--pho", "-v", MBROLA_ESPEAK_VOICE[voice], "-s", str(speed),
                              "-p", str(pitch_v), text], capture_output=True, check=False)
        if pho.returncode != 0 or not pho.stdout.strip():
            raise VoiceNotInstalledError(f"espeak-ng could not produce MBROLA phonemes for {voice!r}: "
                                         f"{pho.stderr.decode(errors='replace').strip()[:200]}")
        lines = [ln.split() for ln in pho.stdout.decode().splitlines() if ln.strip() and not ln.startswith(";")]
        rows, t = [], 0.0
        for ln in lines:
            dur = float(ln[1]) / 1000.0
            rows.append((t, t + dur, ln[0]))
            t += dur
        phones = []
        for s, e, sym in mbrola_onset_lag(rows, voice, pause="_"):
            phones += _expand(_map(MBROLA_MAP, sym, f"mbrola {voice}"), s, e)
        with tempfile.TemporaryDirectory(prefix="parley_mb") as tmp:
            pf, wf = os.path.join(tmp, "u.pho"), os.path.join(tmp, "u.wav")
            with open(pf, "wb") as f:
                f.write(pho.stdout)
            r = subprocess.run(["mbrola", "-e", os.path.join(MBROLA_DIR, voice, voice), pf, wf],
                               capture_output=True, check=False)
            if r.returncode != 0 or not os.path.exists(wf):
                raise VoiceNotInstalledError(f"mbrola failed for voice {voice!r}: "
                                             f"{r.stderr.decode(errors='replace').strip()[:200]}")
            import soundfile as sf
            raw, sr = sf.read(wf, dtype="float32")
        phones = merge_silences(phones)
        # stress from espeak's lexicon for the same text
        try:
            _espeak_lib()
            phones = transfer_stress(phones, _in_fork(_stress_child, text, "en-us" if voice.startswith("us") else "en"))
        except EngineMissingError:
            pass
        audio = resample(raw, sr)
        return Utterance(audio, phones, self.name, voice, text, {"rate": rate, "pitch": pitch})



ENGINES = {"espeak": EspeakEngine(), "mbrola": MbrolaEngine(), "festival": FestivalEngine()}


def split_voice(voice_id):
    if ":" not in voice_id:
        raise VoiceNotInstalledError(f"voice id {voice_id!r} must look like engine:name "
                                     f"(engines: {', '.join(ENGINES)})")
    eng, name = voice_id.split(":", 1)
    if eng not in ENGINES:
        raise EngineMissingError(f"unknown engine {eng!r} in voice {voice_id!r}; engines: {', '.join(ENGINES)}")
    return ENGINES[eng], name


def synthesize(text, voice_id, rate=1.0, pitch=0.0):
    """Synthesise ``text`` with ``voice_id`` ('engine:name'); returns an Utterance at 16 kHz."""
    engine, name = split_voice(voice_id)
    return engine.synth(text, name, rate=rate, pitch=pitch)


def installed_voices():
    return [f"{k}:{v}" for k, e in ENGINES.items() for v in e.voices()]
