"""Reference systems the motion model is compared against in ``evaluate``.

* ``jaw_flap``: what simple lip-sync add-ons do (Blender's "Bake Sound to F-Curves" on a jaw
  bone or shape key): an RMS envelope follower with attack/release drives jawOpen and nothing
  else, gain-normalised per file and gated near silence.
* ``rhubarb_like``: the teacher driven by phones that pocketsphinx recognises with a phone loop
  (allphone search over its bundled English phonetic language model), *without* a transcript,
  the way Rhubarb Lip Sync's phonetic recogniser works.
* ``ceiling``: the teacher on the true phonemes: the best any audio-driven system can do
  against these labels.

All return float32 [T, 51] in ``RIG_NAMES`` order with T = ceil(duration * fps).
"""
import math
import os

import numpy as np

from inference.arkit import RIG_NAMES

# jaw flap settings (attack/release as in Blender's sound bake, release shortened so the jaw
# can follow syllables; gate and peak normalisation as the add-ons' "threshold" and "gain")
FLAP_HOP_S = 0.005
FLAP_WIN_S = 0.020
FLAP_ATTACK_S = 0.010
FLAP_RELEASE_S = 0.080
FLAP_GATE = 0.10
FLAP_JAW_MAX = 0.60
FLAP_REF_PERCENTILE = 95.0


def num_frames(duration_s, fps):
    return int(math.ceil(duration_s * fps - 1e-6))


def rms_envelope(pcm, sr, hop_s=FLAP_HOP_S, win_s=FLAP_WIN_S):
    """RMS over ``win_s`` windows every ``hop_s`` seconds -> [N] (window centred on k * hop)."""
    pcm = np.asarray(pcm, np.float64).reshape(-1)
    hop = max(1, int(round(hop_s * sr)))
    win = max(hop, int(round(win_s * sr)))
    n = int(math.ceil(pcm.size / hop)) if pcm.size else 0
    padded = np.pad(pcm, (win // 2, win))
    c = np.concatenate([[0.0], np.cumsum(padded * padded)])
    starts = np.arange(n) * hop
    return np.sqrt(np.maximum(c[starts + win] - c[starts], 0.0) / win)


def attack_release(env, dt, attack_s=FLAP_ATTACK_S, release_s=FLAP_RELEASE_S):
    """One-pole envelope follower: fast rise (attack), slow fall (release)."""
    a_up = 1.0 - math.exp(-dt / attack_s)
    a_dn = 1.0 - math.exp(-dt / release_s)
    out = np.empty_like(env)
    y = 0.0
    for i, x in enumerate(env):
        y += (a_up if x > y else a_dn) * (x - y)
        out[i] = y
    return out


def jaw_flap(pcm, sr, fps, duration=None):
    """Audio-envelope jaw flap -> [T, 51] with only jawOpen moving."""
    pcm = np.asarray(pcm, np.float32).reshape(-1)
    duration = pcm.size / sr if duration is None else float(duration)
    T = num_frames(duration, fps)
    out = np.zeros((T, len(RIG_NAMES)), np.float32)
    env = attack_release(rms_envelope(pcm, sr), FLAP_HOP_S)
    if env.size == 0 or T == 0:
        return out
    ref = np.percentile(env, FLAP_REF_PERCENTILE)
    if ref <= 0:
        return out
    level = env / ref
    level = np.where(level < FLAP_GATE, 0.0, (level - FLAP_GATE) / (1.0 - FLAP_GATE))
    t_env = np.arange(env.size) * FLAP_HOP_S
    jaw = np.interp(np.arange(T) / fps, t_env, level)
    out[:, RIG_NAMES.index("jawOpen")] = FLAP_JAW_MAX * np.clip(jaw, 0.0, 1.0)
    return out


class PhoneLoopRecognizer:
    """pocketsphinx phone-loop (allphone) recogniser on 16 kHz mono PCM; no transcript."""

    # CMU's recommended phone-recognition settings (wide beams, low language weight)
    CONFIG = dict(lw=2.0, beam=1e-20, pbeam=1e-20, allphone_ci=True)

    def __init__(self):
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise RuntimeError("pocketsphinx is not installed; pip install pocketsphinx") from e
        model = get_model_path()
        phone_lm = os.path.join(model, "en-us", "en-us-phone.lm.bin")
        if not os.path.exists(phone_lm):
            raise RuntimeError(f"pocketsphinx has no phonetic language model at {phone_lm}")
        self.decoder = Decoder(hmm=os.path.join(model, "en-us", "en-us"), allphone=phone_lm, lm=None,
                               dict=None, loglevel="FATAL", **self.CONFIG)
        self.sample_rate = int(self.decoder.config["samprate"])
        self.frame_rate = int(self.decoder.config["frate"])

    def recognize(self, pcm, sr):
        """PCM -> [(start_s, end_s, ARPAbet label or 'sil')], contiguous, covering the audio."""
        from models.training.phonemes import PHONES

        pcm = np.asarray(pcm, np.float32).reshape(-1)
        if sr != self.sample_rate:
            from inference.audio import to_mono_16k
            pcm = to_mono_16k(pcm, sr)
        raw = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        d = self.decoder
        d.start_utt()
        d.process_raw(raw, full_utt=True)
        d.end_utt()
        known = set(PHONES)
        phones = []
        for seg in d.seg():
            label = seg.word.strip()
            label = label.upper() if label.upper() in known else "sil"
            start = seg.start_frame / self.frame_rate
            end = (seg.end_frame + 1) / self.frame_rate
            if phones and phones[-1][2] == "sil" and label == "sil":
                phones[-1] = (phones[-1][0], end, "sil")
            else:
                phones.append((start, end, label))
        return phones


_RECOGNIZER = None


def recognizer():
    global _RECOGNIZER
    if _RECOGNIZER is None:
        _RECOGNIZER = PhoneLoopRecognizer()
    return _RECOGNIZER


def _teach_fn(teach):
    if teach is None:
        from models.training.teacher import teach
    return teach


def rhubarb_like(pcm, sr, fps, style=None, seed=0, teach=None, duration=None, recognize=None):
    """Teacher on phones recognised without a transcript -> ([T, 51], recognised phones)."""
    teach = _teach_fn(teach)
    duration = np.asarray(pcm).size / sr if duration is None else float(duration)
    phones = (recognize or recognizer().recognize)(pcm, sr)
    phones = [(s, min(e, duration), lab) for s, e, lab in phones if s < duration]
    if not phones:
        phones = [(0.0, duration, "sil")]
    curves = np.asarray(teach(phones, fps, style, seed, duration=duration), np.float32)
    return curves, phones


def ceiling(phones, fps, duration, style=None, seed=0, teach=None):
    """Teacher on the true phonemes -> [T, 51]."""
    return np.asarray(_teach_fn(teach)(list(phones), fps, style, seed, duration=duration), np.float32)
