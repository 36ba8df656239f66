"""libespeak-ng with IPA phoneme events: synthetic speech with exact phone timings, and the phonemizer.

``espeak_Initialize`` is called with ``espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA``,
so every phoneme event carries the phone in IPA (``'t‍s'``, ``'aː'``; an empty name is a pause) and
the sample where the synthesiser starts it. Word events mark word starts. The same call serves
two purposes:

* :func:`synth` — audio (16 kHz) and ``[(start_s, end_s, ipa)]`` with exact timings (training data),
  for espeak-ng's own voices and for MBROLA voices (``mb-de1``: espeak-ng computes every phone's
  duration and MBROLA renders exactly those, so the events stay exact; ``mb-us3``'s and ``mb-mx1``'s databases mark
  its phone boundaries early, so its phones are moved to where they are heard: ``tts.mbrola_onset_lag``);
* :func:`phonemize` — the phone sequence of a transcript in a language, each phone with its word
  index and espeak's own duration (the aligner's transcript side, for any language espeak-ng speaks).

This process must not also synthesise through ``models.training.tts`` (it initialises the same library
without IPA events). One process, one initialisation; not thread-safe.
"""
import numpy as np

from inference.errors import ParleyError

from .. import espeak_ctypes
from ..tts import mbrola_onset_lag, resample

SR = 16000


class EspeakError(ParleyError):
    pass


_STATE = {}


def _lib():
    if "lib" in _STATE:
        return _STATE["lib"]
    lib, sr = espeak_ctypes.load(espeak_ctypes.INIT_PHONEME_EVENTS | espeak_ctypes.INIT_PHONEME_IPA, EspeakError)
    rec = espeak_ctypes.Recorder("utf-8")
    lib.espeak_SetSynthCallback(rec.callback)
    _STATE.update(lib=lib, sr=sr, rec=rec)
    return lib


def _run(text, voice, rate=1.0, pitch=0.0):
    """Synthesise in a fork (``tts._in_fork``); returns (int16 audio at espeak's rate, events [(sample, kind, ipa)],
    sr). The library keeps the alphabet of its first initialisation for the whole process, and the English
    corpus forks from the same process with eSpeak mnemonics: this process itself never initialises it."""
    from ..tts import _in_fork
    return _in_fork(_run_here, text, voice, rate, pitch)


def _run_here(text, voice, rate=1.0, pitch=0.0):
    text = " ".join(str(text).split())
    if not text:
        raise EspeakError("empty text: give at least one word")
    lib = _lib()
    if not espeak_ctypes.set_voice(lib, voice, rate, pitch):
        raise EspeakError(f"espeak-ng has no voice {voice!r}; list them with: espeak-ng --voices")
    rec = _STATE["rec"]
    raw = espeak_ctypes.speak(lib, rec, text)
    events = [(smp, "p" if kind == espeak_ctypes.EV_PHONEME else "w", name) for smp, kind, name in rec.events]
    # an MBROLA voice renders at its own rate (often 16 kHz), not the one espeak_Initialize reported
    sr = lib.espeak_ng_GetSampleRate() if hasattr(lib, "espeak_ng_GetSampleRate") else _STATE["sr"]
    return raw, events, int(sr)


def _pho_starts(text, voice, rate):
    """Start times (s) of the non-pause phones MBROLA renders, from ``espeak-ng --pho`` (same text,
    voice and rate: the library renders exactly this .pho from sample 0)."""
    import subprocess
    r = subprocess.run(["espeak-ng", "-q", "--pho", "-v", voice, "-s", str(int(round(175 * rate)))],
                       input=" ".join(text.split()).encode("utf-8"), capture_output=True, check=False)
    t, out = 0.0, []
    for ln in r.stdout.decode("utf-8", "replace").splitlines():
        f = ln.split()
        if len(f) < 2 or ln.startswith(";"):
            continue
        if f[0] != "_":
            out.append(t)
        t += float(f[1]) / 1000.0
    return np.array(out)


def mbrola_shift(events, pho_starts, sr, tol=0.012):
    """Put libespeak-ng's events onto the audio MBROLA rendered (the ``.pho`` durations).

    MBROLA renders the .pho from its first line, without espeak's leading pause, so the events run
    late by about a constant. The constant is not simply the first event's time: a phone with no IPA
    event (German's glottal stop ``?`` before a vowel-initial word) may come first, and pauses inside
    the sentence drift it by a few ms. So: the starting offset is the one that puts the most event
    starts on a .pho phone start; then, in order, each event snaps to the nearest later .pho start
    within ``tol`` of where the running offset puts it (updating the offset). Fewer than 80 % of the
    events snapping raises EspeakError (the utterance is not used).
    """
    ev = [(smp / sr, kind, name) for smp, kind, name in events]
    starts = np.array([t for t, kind, name in ev if kind == "p" and name.strip()])
    if starts.size == 0 or pho_starts.size == 0:
        raise EspeakError("MBROLA produced no phones")

    def hits(c):
        return int(np.sum(np.min(np.abs((starts - c)[:, None] - pho_starts[None, :]), axis=1) <= 0.002))
    off = max(sorted({round(e - p, 5) for e in starts[:3] for p in pho_starts[:4]}), key=hits)
    out, j, snapped = [], 0, 0
    for t, kind, name in ev:
        if kind == "p" and name.strip():
            d = np.abs(pho_starts[j:] - (t - off))
            k = int(np.argmin(d)) if d.size else -1
            if k >= 0 and d[k] <= tol:
                j += k
                off = t - pho_starts[j]
                j += 1
                snapped += 1
        out.append((max(0, int(round((t - off) * sr))), kind, name))
    if snapped < 0.8 * starts.size:
        raise EspeakError(f"MBROLA timings disagree with the phoneme events ({snapped}/{starts.size})")
    return out


def events_to_phones(events, n_samples, sr):
    """Phoneme events -> contiguous [(start_s, end_s, ipa, word)] covering [0, n_samples / sr].

    A pause (empty name) becomes ``''``; adjacent pauses merge; a leading gap is a pause. ``word``
    counts word events seen before the phone (-1 for pauses).
    """
    out, word = [], -1
    evs = sorted(events, key=lambda e: (e[0], 0 if e[1] == "w" else 1))
    ph = []
    for smp, kind, name in evs:
        if kind == "w":
            word += 1
        else:
            ph.append((min(smp, n_samples), name.strip(), word))
    if not ph:
        return [(0.0, n_samples / sr, "", -1)]
    if ph[0][0] > 0:
        ph.insert(0, (0, "", -1))
    for k, (smp, name, w) in enumerate(ph):
        end = ph[k + 1][0] if k + 1 < len(ph) else n_samples
        if end <= smp:
            continue
        w = w if name else -1
        if out and name == "" and out[-1][2] == "":
            out[-1] = (out[-1][0], end / sr, "", -1)
        else:
            out.append((smp / sr, end / sr, name, w))
    if out and out[-1][1] < n_samples / sr:
        s, _, n, w = out[-1]
        out[-1] = (s, n_samples / sr, n, w)
    return out


def _run_checked(text, voice, rate, pitch):
    """_run for an MBROLA voice, refusing utterances where MBROLA lacked a diphone: it renders
    silence in its place (``Warning: x-y unknown, replaced with _-_`` on stderr), so the phone
    labels would no longer match the audio."""
    import os
    import tempfile
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            out = _run(text, voice, rate, pitch)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        err = tmp.read().decode("utf-8", "replace")
    if "unknown" in err:
        raise EspeakError(f"MBROLA voice {voice} lacks diphones for {text[:40]!r}")
    raw, events, sr = out
    return raw, mbrola_shift(events, _pho_starts(text, voice, rate), sr), sr


def synth(text, voice, rate=1.0, pitch=0.0):
    """-> (audio float32 16 kHz, [(start_s, end_s, ipa)]) with ``''`` for pauses."""
    run = _run_checked if voice.startswith("mb-") else _run
    raw, events, sr = run(text, voice, rate, pitch)
    phones = events_to_phones(events, raw.shape[0], sr)
    if voice.startswith("mb-"):
        phones = mbrola_onset_lag(phones, voice)       # .pho times -> where the voice is heard
    audio = resample(raw.astype(np.float32) / 32768.0, sr)
    return audio, [(s, e, p) for s, e, p, _ in phones]


def phonemize(text, lang):
    """Transcript -> [(ipa, word, espeak_seconds)] in ``lang`` (pauses as ``''`` with word -1)."""
    raw, events, sr = _run(text, lang)
    return [(p, w, e - s) for s, e, p, w in events_to_phones(events, raw.shape[0], sr)]
