"""Synthetic speech-like audio for the prosody, head, gaze and listen tests (numpy only).

``speechlike(rng, ...)`` builds phrases of voiced "syllables": harmonic tones (1/k harmonics, a
vowel-like spectrum) with a raised-cosine envelope, 4-5 syllables a second, a falling pitch line per
phrase, and every ``accent_every``-th syllable an accent: 9 dB louder and 4 semitones higher.
Phrases are separated by silent pauses. Returns the audio and the times (s) of every syllable
centre, of the accented ones, and of the phrase ends.
"""
import numpy as np

SR = 16000


def harmonic_tone(f0, seconds, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(np.full(t.size, f0) if np.isscalar(f0) else f0) / sr
    return sum(np.sin(k * phase) / k for k in range(1, 12))


def speechlike(rng, phrases=4, syllables=8, accent_every=4, pause_s=0.6, base_f0=120.0, lead_s=0.5):
    chunks = [np.zeros(int(lead_s * SR))]
    t = lead_s
    centres, accents, ends = [], [], []
    for _ in range(phrases):
        for k in range(syllables):
            length = rng.uniform(0.18, 0.24)
            accent = (k % accent_every) == 1
            f0 = base_f0 * 2 ** ((-2.0 * k / syllables + (4.0 if accent else 0.0)) / 12)
            env = np.sin(np.pi * np.arange(int(length * SR)) / (length * SR)) ** 2
            amp = 0.05 * (10 ** (9 / 20) if accent else 1.0)
            chunks.append(amp * env * harmonic_tone(f0, length))
            centres.append(t + length / 2)
            if accent:
                accents.append(t + length / 2)
            t += length
            gap = rng.uniform(0.03, 0.06)
            chunks.append(np.zeros(int(gap * SR)))
            t += gap
        ends.append(t)
        chunks.append(np.zeros(int(pause_s * SR)))
        t += pause_s
    audio = np.concatenate(chunks).astype(np.float32)
    return audio, np.array(centres), np.array(accents), np.array(ends)
