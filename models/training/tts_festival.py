"""The Festival engine of :mod:`models.training.tts`: text -> 16 kHz audio + ARPAbet phones with stress.

A Festival process synthesises the text and saves its ``Segment`` relation (phone, end time, syllable stress)
next to the waveform; its radio/mrpa phone set is mapped to ARPAbet here. One persistent ``festival --pipe``
process per voice, with its parameters set again for every utterance. Use it through ``tts.synthesize``
(``festival:kal_diphone``).
"""
import os
import shutil
import subprocess
import tempfile

import numpy as np

from .phonemes import VOWELS, parse_label
from .tts_base import SR, Engine, Utterance, VoiceNotInstalledError, _check_text, _expand, _map, merge_silences, resample

_VOWEL_SET = set(VOWELS)

# Festival (radio/mrpa phone sets) -> ARPAbet
FESTIVAL_MAP = {
    "pau": "sil", "h#": "sil", "brth": "sil", "aa": "AA", "ae": "AE", "ah": "AH", "ao": "AO", "aw": "AW",
    "ax": "AH0", "axr": "ER0", "ay": "AY", "b": "B", "ch": "CH", "d": "D", "dh": "DH", "dx": "T",
    "eh": "EH", "el": ("AH0", "L"), "em": ("AH0", "M"), "en": ("AH0", "N"), "er": "ER", "ey": "EY",
    "f": "F", "g": "G", "hh": "HH", "hv": "HH", "ih": "IH", "iy": "IY", "jh": "JH", "k": "K", "l": "L",
    "m": "M", "n": "N", "nx": "NG", "ng": "NG", "ow": "OW", "oy": "OY", "p": "P", "r": "R", "s": "S",
    "sh": "SH", "t": "T", "th": "TH", "uh": "UH", "uw": "UW", "v": "V", "w": "W", "y": "Y", "z": "Z",
    "zh": "ZH", "ix": "IH0", "ux": "UW", "q": "HH",
}
FESTIVAL_VOICES = {"kal_diphone": "english/kal_diphone", "ked_diphone": "english/ked_diphone",
                   "cmu_us_slt_arctic_hts": "us/cmu_us_slt_arctic_hts"}
FESTIVAL_PACKAGES = {"kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k",
                     "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}
FESTIVAL_DIR = "/usr/share/festival/voices"

_FEST_SCM = """(voice_{voice})
(Parameter.set 'Duration_Stretch {stretch})
{pitch}
(set! utt (Utterance Text "{text}"))
(utt.synth utt)
(utt.save.wave utt "{wav}" 'riff)
(set! fd (fopen "{seg}" "w"))
(mapcar (lambda (s) (format fd "%s %s %s\\n" (item.name s) (item.feat s "end")
  (item.feat s "R:SylStructure.parent.stress"))) (utt.relation.items utt 'Segment))
(fclose fd)
"""


class FestivalEngine(Engine):
    """One persistent ``festival --pipe`` process per voice (loading a voice costs ~0.2 s)."""
    name = "festival"

    def __init__(self):
        self._procs = {}
        self._n = 0

    def _process(self, voice):
        key = (os.getpid(), voice)
        p = self._procs.get(key)
        if p is None or p.poll() is not None:
            p = subprocess.Popen(["festival", "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, text=True)
            self._procs[key] = p
            self._send(p, f"(voice_{voice})", tempfile.gettempdir())
        return p

    def _send(self, p, script, tmp, timeout=120.0):
        import time
        self._n += 1
        marker = os.path.join(tmp, f"parley_fest_{os.getpid()}_{self._n}.done")
        p.stdin.write(script + f'\n(fclose (fopen "{marker}" "w"))\n')
        p.stdin.flush()
        t0 = time.monotonic()
        while not os.path.exists(marker):
            if p.poll() is not None:
                raise VoiceNotInstalledError("festival exited while synthesising; run festival by hand to see why")
            if time.monotonic() - t0 > timeout:
                p.kill()
                raise VoiceNotInstalledError("festival did not answer within 120 s")
            time.sleep(0.002)
        os.remove(marker)

    def _run(self, voice, script, tmp):
        self._send(self._process(voice), script, tmp)

    def available(self):
        return shutil.which("festival") is not None

    def missing_message(self):
        return "Festival is not installed; install it with: apt-get install festival festvox-kallpc16k"

    def voices(self):
        if not self.available():
            return ()
        return tuple(v for v, d in FESTIVAL_VOICES.items() if os.path.isdir(os.path.join(FESTIVAL_DIR, d)))

    def install_hint(self, voice):
        return f"install it with: apt-get install {FESTIVAL_PACKAGES.get(voice, 'festvox-<voice>')}"

    def synth(self, text, voice, rate=1.0, pitch=0.0):
        text = _check_text(text)
        self.check_voice(voice)
        safe = text.replace("\\", " ").replace('"', "'")
        pitch_cmd = ""
        if voice.endswith("_diphone"):
            f0 = 105.0 * 2 ** (pitch / 12.0)
            pitch_cmd = (f"(set! int_lr_params '((target_f0_mean {f0:.1f}) (target_f0_std {0.14 * f0:.1f}) "
                         "(model_f0_mean 170) (model_f0_std 34)))")
        with tempfile.TemporaryDirectory(prefix="parley_fest") as tmp:
            wav, seg = os.path.join(tmp, "u.wav"), os.path.join(tmp, "u.seg")
            script = _FEST_SCM.format(voice=voice, stretch=f"{1.0 / rate:.3f}", pitch=pitch_cmd,
                                      text=safe, wav=wav, seg=seg)
            self._run(voice, script.split("\n", 1)[1], tmp)
            if not os.path.exists(seg) or not os.path.exists(wav):
                raise VoiceNotInstalledError(f"festival produced no audio for voice {voice!r} and text {text[:40]!r}")
            import soundfile as sf
            raw, sr = sf.read(wav, dtype="float32")
            rows = [ln.split() for ln in open(seg).read().splitlines() if ln.strip()]
        phones, t = [], 0.0
        for name, end, stress in rows:
            end = float(end)
            m = _map(FESTIVAL_MAP, name, f"festival {voice}")
            if isinstance(m, str) and m != "sil" and parse_label(m)[0] in _VOWEL_SET and m[-1] not in "012":
                m = m + ("1" if stress == "1" else "0")
            phones += _expand(m, t, max(end, t))
            t = max(end, t)
        dur = raw.shape[0] / sr
        if t < dur - 1e-3:
            phones.append((t, dur, "sil"))
        phones = merge_silences(phones)
        audio = resample(raw, sr)
        if not voice.endswith("_diphone"):
            # HTS voices ignore Duration_Stretch and the diphone F0 model: change tempo with a
            # phase vocoder (timings scale exactly) and pitch with the augmentation pitch shifter
            from . import augment
            if abs(rate - 1.0) > 1e-3:
                n_out = int(round(audio.shape[0] / rate))
                audio = augment._fit(augment._stretch(audio.astype(np.float64), rate), n_out).astype(np.float32)
                scale = n_out / SR / dur
                phones = [(s * scale, e * scale, lab) for s, e, lab in phones]
            if abs(pitch) > 1e-3:
                audio = augment.pitch_shift(audio, pitch)
        return Utterance(audio, phones, self.name, voice, text, {"rate": rate, "pitch": pitch})
