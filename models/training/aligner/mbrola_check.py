"""Where an MBROLA voice is heard against the ``.pho`` it renders: the check behind ``tts.MBROLA_ONSET_LAG``.

    python -m models.training.aligner.mbrola_check --voices us1,us2,us3 [--utts 200] [--raw]
    python -m models.training.aligner.mbrola_check --database us1,us2,us3,en1,de7

Rendered audio: random sequences (silence, then 3-5 consonant-vowel pairs with phones of 40-160 ms,
flat 120 Hz, then silence) are written as ``.pho`` and rendered by the ``mbrola`` binary. At every
boundary of a kind with a clear acoustic change (:data:`RULES`: silence -> vowel, all energy rises;
vowel -> /s/, 80-900 Hz falls; vowel -> nasal, 1-3 kHz falls; ...) the landmark is the 1 ms frame of
steepest change from 40 ms before the label to 30 ms after the phone's end (at most 90 ms);
lag = landmark - label. Every voice gets the same sequences and the same detector, so the detector's
own bias (+5..+12 ms) is shared: a voice whose database marks its phone boundaries early shows a
lag beyond the others' that grows with the phone's duration. Labels are the ``.pho``'s, moved by
``tts.mbrola_onset_lag`` unless ``--raw``.

Database: an MBROLA database stores each diphone's boundary mark (``halfseg``, samples) and a voicing
flag per analysis frame; ``--database`` reports, over the silence -> vowel diphones, how long after
the mark voicing starts (a second measurement that does not use the renderer at all).
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

from ..tts import MBROLA_DIR, mbrola_onset_lag

BANDS = {"hi": (3000, 8000), "lo": (80, 900), "mid": (1000, 3000), "all": (80, 8000)}
# (class before, class after) -> (band, +1 rises / -1 falls); V vowel, _ silence, else the consonant
RULES = {("_", "V"): ("all", 1), ("_", "s"): ("hi", 1), ("s", "V"): ("lo", 1), ("V", "s"): ("lo", -1),
         ("f", "V"): ("lo", 1), ("V", "f"): ("lo", -1), ("V", "m"): ("mid", -1), ("m", "V"): ("mid", 1),
         ("V", "n"): ("mid", -1), ("n", "V"): ("mid", 1), ("V", "t"): ("all", -1), ("V", "k"): ("all", -1),
         ("V", "_"): ("all", -1)}
CONSONANTS = ("s", "f", "m", "n", "t", "k")
VOWELS = {"us": ("A", "i", "u", "E", "{"), "en1": ("A:", "i:", "u:", "e", "{"), "de": ("a:", "i:", "u:", "E", "a"),
          "sw": ("a", "i:", "u:", "e", "O")}


def vowels_of(voice):
    return VOWELS.get(voice, VOWELS.get(voice[:2], ("a", "i", "u", "e", "o")))


def render(rows, voice):
    """``[(symbol, seconds)]`` -> (float32 audio, sample rate, mbrola's stderr) via the mbrola binary."""
    import soundfile as sf
    vow = set(vowels_of(voice))
    pho = "".join(f"{s} {1000 * d:.0f}" + (" 0 120 100 120" if s in vow else "") + "\n" for s, d in rows)
    with tempfile.TemporaryDirectory(prefix="parley_mbchk") as tmp:
        pf, wf = os.path.join(tmp, "u.pho"), os.path.join(tmp, "u.wav")
        with open(pf, "w") as f:
            f.write(pho)
        r = subprocess.run(["mbrola", "-e", os.path.join(MBROLA_DIR, voice, voice), pf, wf],
                           capture_output=True, check=False)
        if r.returncode != 0 or not os.path.exists(wf):
            raise RuntimeError(f"mbrola failed for {voice}: {r.stderr.decode(errors='replace')[:200]}")
        a, sr = sf.read(wf, dtype="float32")
    return a, sr, r.stderr.decode(errors="replace")


def band_db(audio, sr, lo_hz, hi_hz, win=0.010):
    """Band energy in dB every 1 ms (Hann window ``win``), frame k centred at k ms."""
    n, hop = int(win * sr), sr // 1000
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio, (n // 2, n)), n)[::hop][: len(audio) // hop]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1 / sr)
    return 10 * np.log10(spec[:, (f >= lo_hz) & (f < hi_hz)].sum(1) + 1e-8)


def sequences(n, seed=0):
    """n random ``[(class, seconds)]`` sequences: classes '_', 'V' (a vowel index follows) or a consonant."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        seq = [("_", 0.3)]
        for k in range(int(rng.integers(3, 6))):
            if k > 0 or rng.random() > 0.4:
                seq.append((CONSONANTS[int(rng.integers(len(CONSONANTS)))], float(rng.uniform(0.04, 0.16))))
            seq.append((f"V{int(rng.integers(5))}", float(rng.uniform(0.04, 0.16))))
        out.append(seq + [("_", 0.3)])
    return out


def landmark_lags(voice, seqs, raw=False):
    """-> [(boundary kind, phone duration s, lag s, (sequence, boundary index))] for every ruled
    boundary; sequences needing a diphone the voice lacks are skipped."""
    vow = vowels_of(voice)
    out = []
    for n, seq in enumerate(seqs):
        rows = [(vow[int(c[1])] if c[0] == "V" else c, round(d, 3)) for c, d in seq]
        a, sr, err = render(rows, voice)
        if "unknown" in err:
            continue
        t = np.cumsum([0.0] + [d for _, d in rows])
        phones = [(t[k], t[k + 1], s if s != "_" else "") for k, (s, _) in enumerate(rows)]
        if not raw:
            phones = mbrola_onset_lag(phones, voice)
        env = {b: np.convolve(band_db(a, sr, *hz), np.ones(3) / 3, "same") for b, hz in BANDS.items()}
        for k in range(1, len(seq)):
            kind = (seq[k - 1][0][0], seq[k][0][0])
            if kind not in RULES:
                continue
            band, sign = RULES[kind]
            start, dur = phones[k][0], rows[k][1]
            lo, hi = int(1000 * start) - 40, int(1000 * start) + min(90, int(1000 * dur) + 30)
            d = sign * np.diff(env[band][lo:hi + 1])
            out.append(("".join(kind), dur, (lo + int(np.argmax(d)) + 0.5) / 1000 - start, (n, k)))
    return out


def read_database(voice):
    """-> (rate, frame period, {(left, right): (halfseg, first frame, frames)}, 2-bit frame flags)."""
    b = open(os.path.join(MBROLA_DIR, voice, voice), "rb").read()
    if b[:6] != b"MBROLA":
        raise RuntimeError(f"{voice}: not an MBROLA database")
    n_diph, old = struct.unpack_from("<hH", b, 11)
    i = 15
    n_marks = old
    if old == 0:
        n_marks, = struct.unpack_from("<i", b, i)
        i += 4
    _raw, rate = struct.unpack_from("<ih", b, i)
    period = b[i + 6]
    i += 8

    def name(i):
        j = b.index(b"\0", i)
        return b[i:j].decode("latin-1"), j + 1
    diph, pm, k = {}, 0, 0
    while k < n_diph and pm != n_marks:
        left, i = name(i)
        right, i = name(i)
        half, frames, _stored = struct.unpack_from("<hBB", b, i)
        i += 4
        diph[(left, right)] = (half, pm, frames)
        pm, k = pm + frames, k + 1
    for _ in range(4 * (n_diph - k)):     # the rest are copies: old left, old right, new left, new right
        i = b.index(b"\0", i) + 1
    packed = np.frombuffer(b, np.uint8, (n_marks + 3) // 4, i)
    flags = np.stack([(packed >> (2 * s)) & 3 for s in range(4)], 1).ravel()   # low bits first
    return rate, period, diph, flags


def voicing_after_mark(voice):
    """Seconds from the boundary mark to the first voiced frame, per silence -> vowel diphone."""
    rate, period, diph, flags = read_database(voice)
    vow = set("aeiouAEIOUVy{@29&")
    out = []
    for (left, right), (half, first, frames) in diph.items():
        if left == "_" and right and right[0] in vow:
            voiced = np.nonzero(flags[first:first + frames] & 2)[0]
            if voiced.size:
                out.append(((voiced[0] + 1) * period - half) / rate)   # frame k is centred at (k + 1) x period
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.aligner.mbrola_check",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--voices", default="us1,us2,us3")
    ap.add_argument("--ref", default="us1,us2", help="voices the others' extra lag is measured against")
    ap.add_argument("--utts", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--raw", action="store_true", help="labels straight from the .pho (no onset lag)")
    ap.add_argument("--database", default=None, help="voices: voicing start against the silence-vowel marks")
    a = ap.parse_args(argv)
    if a.database:
        for v in a.database.split(","):
            x = voicing_after_mark(v)
            print(f"{v}: voicing starts {1000 * np.median(x):+.1f} ms after the silence-vowel mark "
                  f"(median of {len(x)})")
        return 0
    seqs = sequences(a.utts, a.seed)
    lags = {v: landmark_lags(v, seqs, a.raw) for v in a.voices.split(",")}
    ref = [v for v in a.ref.split(",") if v in lags]
    for v, rows in lags.items():
        print(summary(v, rows, {r: lags[r] for r in ref if r != v}))
    return 0


def summary(voice, rows, refs):
    """One line: median lag into a phone and into a pause; with reference voices, the lag beyond
    their median at the same boundaries, as a share of the phone's duration and per duration band."""
    into = [x for k, d, x, w in rows if k[1] != "_"]
    pause = [x for k, d, x, w in rows if k[1] == "_"]
    line = (f"{voice}: into a phone {1000 * np.median(into):+.1f} ms (n={len(into)}), into a pause "
            f"{1000 * np.median(pause):+.1f} ms")
    ref = [{w: x for k, d, x, w in r} for r in refs.values()]
    both = [(d, x, w) for k, d, x, w in rows if k[1] != "_" and ref and all(w in r for r in ref)]
    if not both:
        return line
    extra = np.array([x - np.median([r[w] for r in ref]) for d, x, w in both])
    dur = np.array([d for d, x, w in both])
    bands = [(lo, hi, extra[(dur >= lo) & (dur < hi)]) for lo, hi in ((.04, .07), (.07, .10), (.10, .13), (.13, .161))]
    return line + f"; beyond {'+'.join(refs)}: {np.median(extra / dur):.3f} x duration (" + ", ".join(
        f"{1000 * lo:.0f}-{1000 * hi:.0f} ms: {1000 * np.median(x):+.0f}" for lo, hi, x in bands if x.size) + ")"


if __name__ == "__main__":
    sys.exit(main())
