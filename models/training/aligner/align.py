"""Forced alignment of a transcript in any language espeak-ng speaks: phones with times.

    python -m models.training.aligner.align --model M --lang cs --audio X.wav --text "Dobrý den"
    python -m models.training.aligner.align --model M --tsv items.tsv --out aligned.jsonl

The transcript becomes espeak-ng's IPA phone sequence for the language (:func:`espeak.phonemize`),
with an optional pause at the start, the end, every word boundary and every pause espeak itself
makes. Each phone is scored on each 10 ms frame by the phone model's log posterior of its class
(its nearest inventory class in articulatory features when the model never saw it), optionally
divided by the class prior (hybrid scaled likelihood). :func:`viterbi` finds the best monotonic
path through the phones with a minimum duration per phone; each phone spans whole frames and a
boundary between frames ``m - 1`` and ``m`` is placed at ``(m - 0.5) * 10 ms``.

TSV columns (header row required): ``audio``, ``lang``, ``text``. Output JSON lines: ``audio``,
``lang``, ``score`` (per speech frame: log posterior of the aligned phone minus the best class's; near 0 is
confident, see :func:`align_audio`),
``phones`` ``[[start_s, end_s, ipa, arpabet], ...]`` (pauses are ``sil``).
"""
import argparse
import csv
import json
import sys
from dataclasses import dataclass

import numpy as np

from inference.errors import ParleyError, run_cli

from . import espeak, ipa
from .model import FRAME_S, load, log_posteriors

SR = 16000
NEG = -1e30


@dataclass
class Token:
    ipa: str            # as espeak wrote it ('' for a pause)
    key: str            # classification key (ipa.normalise), 'sil' for a pause
    optional: bool      # may take no frames at all (pauses)
    min_frames: int


def transcript_tokens(phones, min_phone=2, min_sil=3):
    """espeak phonemize output [(ipa, word, seconds)] -> Tokens with optional pauses between words."""
    toks = []

    def pause():
        if not toks or toks[-1].key != ipa.SIL:
            toks.append(Token("", ipa.SIL, True, min_sil))

    pause()
    prev_word = None
    for p, word, _ in phones:
        if ipa.is_marker(p):
            continue                      # language switch or modifier: part of its neighbour
        if not p:
            pause()
            continue
        if prev_word is not None and word != prev_word:
            pause()
        toks.append(Token(p, ipa.normalise(p), False, min_phone))
        prev_word = word
    pause()
    return toks


def emission_matrix(logp, tokens, inventory, log_prior=None, prior_scale=0.0):
    """[T, K] log posteriors -> [T, P] scores of each token on each frame."""
    speech = [k for k in inventory if k != ipa.SIL]
    index = {k: i for i, k in enumerate(inventory)}
    cols = [index[t.key] if t.key in index else index[ipa.nearest(t.key, speech)] for t in tokens]
    s = logp[:, cols]
    if log_prior is not None and prior_scale:
        s = s - prior_scale * np.asarray(log_prior)[cols][None, :]
    return s


def viterbi(scores, min_frames, optional):
    """Best monotonic segmentation of T frames into the P tokens in order.

    scores [T, P]; min_frames [P] (>= 1); optional [P] bool (token may be skipped).
    Returns (segments, total): segments[p] = (first_frame, end_frame_exclusive) or None if skipped.
    Raises ParleyError when the audio is too short for the compulsory tokens.
    """
    T, P = scores.shape
    d = [max(1, int(m)) for m in min_frames]
    tok_of = np.repeat(np.arange(P), d)                  # expanded state -> token
    first = np.concatenate([[0], np.cumsum(d)[:-1]])
    last = np.cumsum(d) - 1
    S = tok_of.shape[0]
    is_last = np.zeros(S, bool)
    is_last[last] = True
    skip_src = np.full(S, -1)                            # first state of token p <- last of p - 2
    for p in range(2, P):
        if optional[p - 1]:
            skip_src[first[p]] = last[p - 2]
    has_skip = skip_src >= 0
    need = sum(dd for dd, o in zip(d, optional) if not o)
    if T < need:
        raise ParleyError(f"audio of {T} frames is too short for {need} frames of phones; check the transcript")
    delta = np.full(S, NEG)
    delta[first[0]] = scores[0, 0]
    if P > 1 and optional[0]:
        delta[first[1]] = scores[0, 1]
    back = np.zeros((T, S), np.int8)                     # 0 stay, 1 from s - 1, 2 skip
    em_idx = tok_of
    for t in range(1, T):
        stay = np.where(is_last, delta, NEG)
        step = np.concatenate([[NEG], delta[:-1]])
        skip = np.where(has_skip, delta[np.maximum(skip_src, 0)], NEG)
        best = np.maximum(np.maximum(stay, step), skip)
        back[t] = np.where(best == stay, 0, np.where(best == step, 1, 2))
        delta = best + scores[t, em_idx]
    ends = [last[P - 1]] + ([last[P - 2]] if P > 1 and optional[P - 1] else [])
    s = max(ends, key=lambda x: delta[x])
    total = float(delta[s])
    if total <= NEG / 2:
        raise ParleyError("no alignment path: the transcript does not fit the audio")
    states = np.empty(T, np.int64)
    for t in range(T - 1, -1, -1):
        states[t] = s
        b = back[t, s]
        s = s if b == 0 else (s - 1 if b == 1 else skip_src[s])
    toks = tok_of[states]
    segs = [None] * P
    for p in np.unique(toks):
        idx = np.nonzero(toks == p)[0]
        segs[int(p)] = (int(idx[0]), int(idx[-1]) + 1)
    return segs, total


PRIOR_SCALE = 0.5   # chosen on 12 held-out MBROLA utterances x 7 languages (ALIGNER_REPORT.md)


def align_audio(model, audio, phones_or_text, lang=None, prior_scale=PRIOR_SCALE, min_phone=2, min_sil=3):
    """-> (phones [(start_s, end_s, ipa or '')], score). ``phones_or_text``: text (needs lang) or phonemize output.

    ``score``: mean over the speech frames of the path of (log posterior of the aligned phone minus
    the best log posterior of any class on that frame), <= 0. It is what forcing the transcript costs
    against a free phone loop, so channel or voice mismatch, which lowers both, cancels out; a
    transcript that does not match the audio (a different translation, a missing line) costs a lot.
    """
    ph = espeak.phonemize(phones_or_text, lang) if isinstance(phones_or_text, str) else phones_or_text
    tokens = transcript_tokens(ph, min_phone, min_sil)
    logp = log_posteriors(model, audio)
    sc = emission_matrix(logp, tokens, model.inventory, model.log_prior.numpy(), prior_scale)
    segs, _ = viterbi(sc, [t.min_frames for t in tokens], [t.optional for t in tokens])
    free = logp.max(axis=1)          # a free phone loop's score per frame: what the audio sounds like
    raw = emission_matrix(logp, tokens, model.inventory)
    T = logp.shape[0]
    dur = audio.shape[0] / SR
    out, speech = [], []
    for p, (tok, seg) in enumerate(zip(tokens, segs)):
        if seg is None:
            continue
        a, b = seg
        s = 0.0 if a == 0 else (a - 0.5) * FRAME_S
        e = dur if b == T else min(dur, (b - 0.5) * FRAME_S)
        if out and tok.key == ipa.SIL and out[-1][2] == "":
            out[-1] = (out[-1][0], e, "")
        else:
            out.append((s, e, tok.ipa))
        if tok.key != ipa.SIL:
            speech.append(raw[a:b, p] - free[a:b])
    score = float(np.mean(np.concatenate(speech))) if speech else float("-inf")
    return out, score


def load_audio(path):
    import soundfile as sf
    raw = dict(format="RAW", subtype="GSM610", samplerate=8000, channels=1) if path.endswith(".gsm") else {}
    try:  # .gsm: headerless 8 kHz GSM 6.10, as telephone systems (Asterisk) store prompts
        x, sr = sf.read(path, dtype="float32", always_2d=True, **raw)
    except Exception as e:   # noqa: BLE001 - any decoder error is the user's file
        raise ParleyError(f"cannot read audio {path!r} ({e}); use WAV, FLAC or Ogg") from None
    return espeak.resample(x.mean(axis=1), sr, SR)


def with_arpabet(phones):
    return [[round(s, 4), round(e, 4), p if p else "sil", ipa.arpabet(p) if p else "sil"] for s, e, p in phones]


def _align(a):
    """Align one --audio/--text pair to stdout, or a --tsv batch to JSON lines."""
    model = load(a.model)
    if a.tsv:
        with open(a.tsv, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        out = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
        for r in rows:
            phones, score = align_audio(model, load_audio(r["audio"]), r["text"], r["lang"], a.prior_scale)
            out.write(json.dumps({"audio": r["audio"], "lang": r["lang"], "score": round(score, 4),
                                  "phones": with_arpabet(phones)}, ensure_ascii=False) + "\n")
        if a.out:
            out.close()
        return
    if not (a.lang and a.audio and a.text):
        raise ParleyError("give --lang, --audio and --text (or --tsv for a batch)")
    phones, score = align_audio(model, load_audio(a.audio), a.text, a.lang, a.prior_scale)
    print(f"# score {score:.3f}")
    for s, e, p, arpa in with_arpabet(phones):
        print(f"{s:.3f}\t{e:.3f}\t{p}\t{arpa}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.aligner.align", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--lang", help="espeak-ng language code (cs, nl, de, ...)")
    ap.add_argument("--audio")
    ap.add_argument("--text")
    ap.add_argument("--tsv", help="batch: columns audio, lang, text")
    ap.add_argument("--out", help="batch output (JSON lines); default stdout")
    ap.add_argument("--prior-scale", type=float, default=PRIOR_SCALE)
    a = ap.parse_args(argv)
    return run_cli(_align, a)


if __name__ == "__main__":
    sys.exit(main())
