"""Speech in any eSpeak NG language with exact IPA phone timings (the multilingual corpus).

espeak    libespeak-ng, initialised (in a forked child) with ``espeakINITIALIZE_PHONEME_IPA`` so
          that its phoneme events carry each phoneme's IPA and the sample where it starts.
mbrola    eSpeak NG writes the MBROLA ``.pho`` (phone + duration in ms) for an ``mb-xx`` voice and
          the ``mbrola`` binary renders exactly that file, as for English. The IPA of each ``.pho``
          line comes from libespeak-ng's IPA phoneme events for the same voice, text, rate and
          pitch: eSpeak emits one event per ``.pho`` line, in order (checked: an utterance where
          the counts differ raises ``PhoneMismatchError``). Where the MBROLA voice renders a
          bilabial stop for a phoneme eSpeak calls a fricative (Spanish ``β`` -> ``b``) the label
          follows what is heard; so do the times of a voice heard later than its .pho
          (``tts.mbrola_onset_lag``: us3, mx1).

Stress comes from ``espeak_TextToPhonemes`` in IPA mode (ˈ ˌ), aligned to the phones by their
segments. Phones are ``(start_s, end_s, ipa)`` with ``""`` for silence; ``UtteranceIPA.stress``
holds 0/1/2 for vowels and None elsewhere.
"""
import ctypes
import difflib
import os
import subprocess
import tempfile
from dataclasses import dataclass, field

import numpy as np

from inference.errors import ParleyError

from . import espeak_ctypes
from . import ipa as I
from . import tts

SR = tts.SR
_IPA_EVENTS = espeak_ctypes.INIT_PHONEME_EVENTS | espeak_ctypes.INIT_PHONEME_IPA
_PHONEME_IPA = 0x02                  # espeak_TextToPhonemes phonememode bit: IPA output
_BILABIAL_PHO = {"p": "p", "b": "b", "m": "m"}


class PhoneMismatchError(ParleyError):
    pass


@dataclass
class UtteranceIPA:
    audio: np.ndarray                # float32 [N] at 16 kHz
    phones: list                     # [(start_s, end_s, ipa)]
    stress: list                     # per phone: 0/1/2 for vowels, None otherwise
    engine: str
    voice: str
    text: str
    params: dict = field(default_factory=dict)


def _clean(sym):
    """An event's IPA without stress/tone/syllable marks; None for language-switch markers."""
    sym = sym.replace("\ufffd", "")
    if sym.startswith("("):
        return None
    return "".join(ch for ch in sym if ch not in I._IGNORED)


_MODIFIERS = set("ʰʲʷˠˤ˞ⁿˡ" + I.COMPRESSED)


def _is_modifier(sym):
    """An event that only modifies the previous phone (Russian ʲ comes as its own event)."""
    import unicodedata
    return all(ch in _MODIFIERS or unicodedata.category(ch).startswith("M") for ch in sym)


def events_to_phones(events, n_samples, sr):
    """IPA phoneme events [(sample, ipa)] -> contiguous [(start_s, end_s, ipa)] ("" = silence)."""
    ev = []
    for smp, sym in sorted(events, key=lambda x: x[0]):
        c = _clean(sym)
        if c is None:
            continue
        if c and _is_modifier(c) and ev:             # ʲ ʷ etc. as their own event: previous phone
            ev[-1] = (ev[-1][0], ev[-1][1] + c)
            continue
        ev.append((smp, c))
    phones = []
    if ev and ev[0][0] > 0:
        phones.append((0.0, ev[0][0] / sr, ""))
    for k, (smp, sym) in enumerate(ev):
        end = ev[k + 1][0] if k + 1 < len(ev) else n_samples
        phones.append((smp / sr, max(end, smp) / sr, sym))
    return merge(phones)


def merge(phones):
    """Drop zero-length phones and merge adjacent silences (``""`` here)."""
    return tts.merge_silences(phones, silence="")


def _stress_tokens(lib, text):
    """[(ipa without marks, stress)] per phoneme from espeak_TextToPhonemes (IPA, '|' separated)."""
    buf = ctypes.create_string_buffer(text.encode("utf-8"))
    ptr = ctypes.c_void_p(ctypes.addressof(buf))
    out = []
    while ptr.value:
        r = lib.espeak_TextToPhonemes(ctypes.byref(ptr), 1, _PHONEME_IPA | (ord("|") << 8))
        if not r:
            break
        for word in r.decode("utf-8", "replace").split():
            stress = None
            for tok in word.split("|"):
                if "ˈ" in tok:
                    stress = 1
                elif "ˌ" in tok:
                    stress = 2
                c = _clean(tok)
                if not c:
                    continue
                arts = I.parse(c) if _parses(c) else []
                if any(a.kind == "vowel" for a in arts):
                    out.append((c, stress or 0))
                    stress = None
                else:
                    out.append((c, None))
    return out


def _parses(c):
    try:
        I.parse(c)
        return True
    except I.UnknownIPAError:
        return False


def transfer_stress(phones, tokens):
    """Stress per phone (aligned by IPA string); vowels without a match get 0, others None."""
    a = [p[2] for p in phones]
    b = [t[0] for t in tokens]
    stress = [None] * len(phones)
    for i, p in enumerate(a):
        if p and _parses(p) and any(x.kind == "vowel" for x in I.parse(p)):
            stress[i] = 0
    for blk in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for k in range(blk.size):
            if stress[blk.a + k] is not None and tokens[blk.b + k][1] is not None:
                stress[blk.a + k] = tokens[blk.b + k][1]
    return stress


def _ipa_child(text, voice, rate, pitch, want_audio=True):
    """Forked child: re-initialise libespeak-ng with IPA events; return (int16 audio, events, sr, stress)."""
    lib = tts._ESPEAK["lib"]
    sr = lib.espeak_Initialize(2, 0, None, _IPA_EVENTS)
    rec = espeak_ctypes.Recorder("utf-8", audio=want_audio)
    lib.espeak_SetSynthCallback(rec.callback)
    if not espeak_ctypes.set_voice(lib, voice, rate, pitch, pitch_range=not voice.startswith("mb-")):
        raise tts.VoiceNotInstalledError(f"espeak-ng could not load voice {voice!r}")
    raw = espeak_ctypes.speak(lib, rec, text)
    events = rec.phonemes()
    return raw, events, sr, _stress_tokens(lib, text)


def espeak_available(voice):
    """True if libespeak-ng can load ``voice`` (checked in a fork, parent state untouched)."""
    try:
        tts._espeak_lib()
    except tts.EngineMissingError:
        return False

    def probe(v):
        return tts._ESPEAK["lib"].espeak_SetVoiceByName(v.encode()) == 0
    return bool(tts._in_fork(probe, voice))


def mbrola_available(voice):
    return tts.MbrolaEngine().available() and os.path.exists(os.path.join(tts.MBROLA_DIR, voice, voice))


def synth_espeak(text, voice, rate=1.0, pitch=0.0):
    text = tts._check_text(text)
    tts._espeak_lib()
    raw, events, sr, toks = tts._in_fork(_ipa_child, text, voice, rate, pitch)
    phones = events_to_phones(events, raw.shape[0], sr)
    audio = tts.resample(raw.astype(np.float32) / 32768.0, sr)
    return UtteranceIPA(audio, phones, transfer_stress(phones, toks), "espeak", voice, text,
                        {"rate": rate, "pitch": pitch})


def _pho(text, voice, rate, pitch):
    speed = int(round(175 * rate))
    pitch_v = int(np.clip(50 + 6 * pitch, 0, 99))
    cmd = ["espeak-ng", "-q", "--pho", "-v", f"mb-{voice}", "-s", str(speed), "-p", str(pitch_v)]
    r = subprocess.run(cmd + ["--", text], capture_output=True, check=False)   # "--": text may start with -
    if r.returncode != 0 or not r.stdout.strip():
        raise tts.VoiceNotInstalledError(f"espeak-ng could not produce MBROLA phonemes for {voice!r}: "
                                         f"{r.stderr.decode(errors='replace').strip()[:200]}")
    return r.stdout


def _render_pho(pho, voice):
    with tempfile.TemporaryDirectory(prefix="parley_mb") as tmp:
        pf, wf = os.path.join(tmp, "u.pho"), os.path.join(tmp, "u.wav")
        with open(pf, "wb") as f:
            f.write(pho)
        r = subprocess.run(["mbrola", "-e", os.path.join(tts.MBROLA_DIR, voice, voice), pf, wf],
                           capture_output=True, check=False)
        if r.returncode != 0 or not os.path.exists(wf):
            raise tts.VoiceNotInstalledError(f"mbrola failed for voice {voice!r}: "
                                             f"{r.stderr.decode(errors='replace').strip()[:200]}")
        import soundfile as sf
        return sf.read(wf, dtype="float32")


def _label(name, syms):
    """IPA label of one event covering ``.pho`` lines ``syms``."""
    if all(x == "_" for x in syms):
        return ""
    if syms[0] in _BILABIAL_PHO and name and _parses(name) and I.parse(name)[0].place == "bilabial" \
            and I.closure_degree(I.parse(name)[0]) < 1.0:
        return _BILABIAL_PHO[syms[0]]              # the voice renders a stop: label what is heard
    if name and _is_modifier(name):                # Polish ɲ + ʲ: the voice says a glide
        return "j" if "ʲ" in name else ("w" if "ʷ" in name else "")
    return name


def name_pho_lines(rows, events, sr):
    """Give the ``.pho`` lines eSpeak's IPA: [(start_s, end_s, ipa)] with the .pho's exact times.

    eSpeak emits one IPA event per phoneme, in the order of the ``.pho``; a voice may render one
    phoneme as two lines (Italian geminate ``T T``, Romanian ``ea`` -> ``E a``), and pauses are
    timed differently in the events. So pause events take the ``_`` lines, and every other event
    takes one line, plus the next ones while that brings the lines' duration closer to the event's.
    """
    lines = [(r[0], float(r[1]) / 1000.0) for r in rows]
    ev = [(smp, _clean(sym)) for smp, sym in sorted(events, key=lambda x: x[0])]
    ev = [(smp, c) for smp, c in ev if c is not None]
    n_speech = sum(1 for _, c in ev if c)
    idx_speech = [k for k, x in enumerate(lines) if x[0] != "_"]
    pos = {k: j for j, k in enumerate(idx_speech)}
    phones, i, t, seen = [], 0, 0.0, 0
    for k, (smp, name) in enumerate(ev):
        j = i
        if name == "":
            while j < len(lines) and lines[j][0] == "_":
                j += 1
        else:
            seen += 1
            while i < len(lines) and lines[i][0] == "_":       # a pause without its own event
                phones.append((t, t + lines[i][1], "")); t += lines[i][1]; i += 1
            if i >= len(lines):
                raise PhoneMismatchError(f"event {name!r} has no .pho line left")
            j = i + 1
            dur = (ev[k + 1][0] - smp) / sr if k + 1 < len(ev) else None
            while j < len(lines) and lines[j][0] != "_" and j in pos:
                left = len(idx_speech) - pos[j] - 1              # speech lines after line j
                if dur is None:
                    ok = left >= 0 and seen == n_speech
                else:
                    d0 = sum(x[1] for x in lines[i:j]); d1 = d0 + lines[j][1]
                    ok = abs(d1 - dur) < abs(d0 - dur) - 0.002 and left >= n_speech - seen
                if not ok:
                    break
                j += 1
        d = sum(x[1] for x in lines[i:j])
        if j > i:
            phones.append((t, t + d, _label(name, [x[0] for x in lines[i:j]])))
        t += d
        i = j
    for sym, d in lines[i:]:
        if sym != "_":
            raise PhoneMismatchError(f".pho line {sym!r} has no IPA event")
        phones.append((t, t + d, "")); t += d
    return merge(phones)


def synth_mbrola(text, voice, rate=1.0, pitch=0.0):
    text = tts._check_text(text)
    if not mbrola_available(voice):
        raise tts.VoiceNotInstalledError(f"MBROLA voice {voice!r} is not installed; install it with: "
                                         f"apt-get install mbrola mbrola-{voice} (Debian contrib/non-free)")
    tts._espeak_lib()
    pho = _pho(text, voice, rate, pitch)
    rows = [ln.split() for ln in pho.decode().splitlines() if ln.strip() and not ln.startswith(";")]
    _, events, _, toks = tts._in_fork(_ipa_child, text, f"mb-{voice}", rate, pitch, False)
    raw, sr = _render_pho(pho, voice)
    phones = tts.mbrola_onset_lag(name_pho_lines(rows, events, sr), voice)   # where the voice is heard
    return UtteranceIPA(tts.resample(raw, sr), phones, transfer_stress(phones, toks), "mbrola", voice, text,
                        {"rate": rate, "pitch": pitch})


def synthesize(text, voice_id, rate=1.0, pitch=0.0):
    """``espeak:de+f3`` or ``mbrola:de1`` -> UtteranceIPA at 16 kHz with exact IPA timings."""
    if ":" not in voice_id:
        raise tts.VoiceNotInstalledError(f"voice id {voice_id!r} must look like espeak:LANG or mbrola:NAME")
    eng, name = voice_id.split(":", 1)
    if eng == "espeak":
        return synth_espeak(text, name, rate, pitch)
    if eng == "mbrola":
        return synth_mbrola(text, name, rate, pitch)
    raise tts.EngineMissingError(f"engine {eng!r} has no IPA timings; use espeak: or mbrola: voices")
