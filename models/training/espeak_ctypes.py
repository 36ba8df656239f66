"""libespeak-ng through ctypes: the part every caller shares (loading, events, voice, one utterance).

Three callers initialise the library differently (:mod:`models.training.tts` with phoneme mnemonics,
:mod:`models.training.tts_ipa` and :mod:`models.training.aligner.espeak` with IPA events), so the
initialisation options stay with them; the library itself can only be initialised once per process.
"""
import ctypes
import ctypes.util

import numpy as np

EV_WORD, EV_PHONEME = 1, 7
INIT_PHONEME_EVENTS, INIT_PHONEME_IPA = 0x1, 0x2


class Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                 ctypes.POINTER(Event))


def load(options, error):
    """Load and initialise libespeak-ng (synchronous mode, ``options`` = INIT_* bits) -> (lib, sample rate).

    ``error`` is the caller's exception class, raised with what to install when the library is missing.
    """
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise error("espeak-ng is not installed (libespeak-ng not found); "
                    "install it with: apt-get install espeak-ng") from None
    sr = lib.espeak_Initialize(2, 0, None, options)   # 2 = synchronous
    if sr <= 0:
        raise error("libespeak-ng failed to initialise; reinstall espeak-ng-data")
    return lib, sr


class Recorder:
    """Collects what one utterance produces: int16 audio chunks and ``(sample, type, name)`` for every
    phoneme and word event (``name`` decoded with ``encoding``; empty for word events).

    Install with ``lib.espeak_SetSynthCallback(recorder.callback)``; keep the recorder alive as long
    as the library may call it.
    """

    def __init__(self, encoding="utf-8", audio=True):
        self.encoding, self.keep_audio = encoding, audio
        self.chunks, self.events = [], []
        self.callback = SynthCallback(self._on_synth)

    def _on_synth(self, wav, n, ev):
        if n > 0 and self.keep_audio:
            self.chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while ev[i].type != 0:
            e = ev[i]
            if e.type == EV_PHONEME:
                name = bytes(e.id).split(b"\0")[0].decode(self.encoding, "replace")
                self.events.append((int(e.sample), EV_PHONEME, name))
            elif e.type == EV_WORD:
                self.events.append((int(e.sample), EV_WORD, ""))
            i += 1
        return 0

    def phonemes(self):
        """[(sample, name)] of the phoneme events so far."""
        return [(smp, name) for smp, kind, name in self.events if kind == EV_PHONEME]

    def audio(self):
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)


def set_voice(lib, voice, rate=1.0, pitch=0.0, pitch_range=True):
    """Select ``voice`` with ``rate`` (multiplier on 175 wpm) and ``pitch`` (semitone-ish offset on
    espeak's 0..99); False when espeak-ng has no such voice. ``pitch_range`` also widens the range
    with the pitch (tts_ipa leaves it alone for MBROLA voices)."""
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return False
    lib.espeak_SetParameter(1, int(round(175 * rate)), 0)                 # rate (words per minute)
    lib.espeak_SetParameter(3, int(np.clip(50 + 6 * pitch, 0, 99)), 0)   # pitch
    if pitch_range:
        lib.espeak_SetParameter(4, int(np.clip(50 + 3 * pitch, 10, 99)), 0)  # pitch range
    return True


def speak(lib, recorder, text):
    """Synthesise ``text`` (UTF-8) into a cleared ``recorder``; returns its int16 audio."""
    recorder.chunks.clear()
    recorder.events.clear()
    b = text.encode("utf-8")
    lib.espeak_Synth(b, len(b) + 1, 0, 0, 0, 0x1, None, None)            # espeakCHARS_UTF8
    lib.espeak_Synchronize()
    return recorder.audio()
