"""Phone-boundary error of the aligner on held-out synthetic speech with exact timings, per language.

    python -m models.training.aligner.evaluate --model M --data /work/aligner/synth/test \
        [--langs de,fr] [--max-utts 40] [--pocketsphinx] [--md table.md]

Test packs (data.py) are the held-out voice (``LANG+f4``) speaking held-out text. Each utterance
is aligned from its TEXT (espeak-ng's phonemizer, as for real speech; in the voice's own variety for
the MBROLA voices of US English, Brazilian Portuguese and Mexican Spanish), not from the true phone
list; predicted and true speech phones are matched in order by class key (difflib), and every
matched phone contributes its start boundary, plus its end boundary when a pause follows it.
Reported: median and 90th percentile of |predicted - true| in ms, the share within 20 ms, and the
share of true phones matched. ``--pocketsphinx`` adds, for English, pocketsphinx's forced
alignment of the same utterances (words in its dictionary only), scored the same way on ARPAbet
phone starts (the metric of models/CORPUS_REPORT.md), next to this aligner's on those utterances.
"""
import argparse
import difflib
import glob
import os
import sys
import time

import numpy as np

from . import data as adata
from . import ipa
from .align import PRIOR_SCALE, align_audio
from .model import load


def boundary_pairs(truth, pred):
    """Matched boundaries [(true_s, pred_s)] and the share of true speech phones matched."""
    def speech(ph):
        out = []
        ph = [x for x in ph if not ipa.is_marker(x[2])]
        for k, (s, e, p) in enumerate(ph):
            if p:
                pause_after = k + 1 < len(ph) and not ph[k + 1][2]
                out.append((ipa.normalise(p), s, e, pause_after))
        return out
    t, h = speech(truth), speech(pred)
    sm = difflib.SequenceMatcher(a=[x[0] for x in t], b=[x[0] for x in h], autojunk=False)
    pairs, seen = [], set()
    for a, b, n in sm.get_matching_blocks():
        for k in range(n):
            tt, hh = t[a + k], h[b + k]
            for ts, hs in [(tt[1], hh[1])] + ([(tt[2], hh[2])] if tt[3] else []):
                key = round(ts, 4)
                if key not in seen:
                    seen.add(key)
                    pairs.append((ts, hs))
    return pairs, sum(n for _, _, n in sm.get_matching_blocks()) / max(1, len(t))


def summarise(errs_ms, matched):
    a = np.abs(np.asarray(errs_ms, np.float64))
    return {"boundaries": int(a.size), "median_ms": float(np.median(a)) if a.size else None,
            "p90_ms": float(np.percentile(a, 90)) if a.size else None,
            "within_20ms": float((a <= 20).mean()) if a.size else None,
            "median_signed_ms": float(np.median(errs_ms)) if a.size else None,
            "matched": float(np.mean(matched)) if matched else None}


# MBROLA voices that speak a regional variety: their transcript is phonemized in it
DIALECT = {"mb-us": "en-us", "mb-br": "pt-br", "mb-mx": "es-419"}


def transcript_lang(voice, lang):
    return next((d for pre, d in DIALECT.items() if voice.startswith(pre)), lang)


def evaluate_pack(model, path, max_utts=None, prior_scale=PRIOR_SCALE, min_phone=2):
    utts = adata.load_pack(path)[:max_utts]
    errs, matched, scores = [], [], []
    for u in utts:
        pred, score = align_audio(model, u["audio"], u["text"], transcript_lang(u["voice"], u["lang"]),
                                  prior_scale, min_phone)
        pairs, m = boundary_pairs(u["phones"], pred)
        errs += [(h - t) * 1000 for t, h in pairs]
        matched.append(m)
        scores.append(score)
    r = summarise(errs, matched)
    r.update(utterances=len(utts), mean_signed_ms=float(np.mean(errs)) if errs else None,
             score=float(np.median(scores)), voice=utts[0]["voice"] if utts else None)
    return r


def pocketsphinx_compare(model, path, max_utts=None, prior_scale=PRIOR_SCALE):
    """English only: pocketsphinx vs this aligner on ARPAbet phone starts, same utterances."""
    from ..corpus_stats import _decoder, align_pocketsphinx
    dec = _decoder()
    out = {"pocketsphinx": [], "parley": []}
    n = 0
    for u in adata.load_pack(path)[:max_utts]:
        words = [w.strip(".,?!;:()'").lower() for w in u["text"].replace("-", " ").split()]
        if not words or any(not w or dec.lookup_word(w) is None for w in words):
            continue
        ref = [(s, ipa.arpabet(p)) for s, e, p in u["phones"] if p]
        try:
            ps = align_pocketsphinx(dec, u["audio"], " ".join(words))
        except Exception:   # noqa: BLE001 - a failed alignment scores nothing
            continue
        ours, _ = align_audio(model, u["audio"], u["text"], transcript_lang(u["voice"], "en"), prior_scale)
        n += 1
        for name, hyp in (("pocketsphinx", [(s, lab) for s, e, lab in ps if lab != "sil"]),
                          ("parley", [(s, ipa.arpabet(p)) for s, e, p in ours if p])):
            sm = difflib.SequenceMatcher(a=[x[1] for x in ref], b=[x[1] for x in hyp], autojunk=False)
            for a, b, k in sm.get_matching_blocks():
                out[name] += [(hyp[b + j][0] - ref[a + j][0]) * 1000 for j in range(k)]
    return {k: dict(summarise(v, [1.0]), utterances=n) for k, v in out.items()}


def markdown(results, cmd, ps=None):
    L = [f"Command: `{cmd}`", "",
         "| language | held-out voice | utterances | boundaries | median error | 90th pct | within 20 ms | "
         "phones matched | mean signed | median score |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (lang, _), r in results.items():
        L.append(f"| {lang} | `{r['voice']}` | {r['utterances']} | {r['boundaries']} | {r['median_ms']:.1f} ms | "
                 f"{r['p90_ms']:.1f} ms | {100 * r['within_20ms']:.0f} % | {100 * r['matched']:.0f} % | "
                 f"{r['mean_signed_ms']:+.1f} ms | {r['score']:.2f} |")
    if ps:
        L += ["", "| English, same utterances, ARPAbet phone starts | utterances | boundaries | median | "
                  "90th pct | within 20 ms | median signed |", "|---|---:|---:|---:|---:|---:|---:|"]
        for k, r in ps.items():
            L.append(f"| {k} | {r['utterances']} | {r['boundaries']} | {r['median_ms']:.1f} ms | "
                     f"{r['p90_ms']:.1f} ms | {100 * r['within_20ms']:.0f} % | {r['median_signed_ms']:+.1f} ms |")
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.aligner.evaluate",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, action="append", help="folder of test packs; repeatable")
    ap.add_argument("--langs", default=None)
    ap.add_argument("--max-utts", type=int, default=None)
    ap.add_argument("--prior-scale", type=float, default=PRIOR_SCALE)
    ap.add_argument("--min-phone", type=int, default=2)
    ap.add_argument("--pocketsphinx", action="store_true")
    ap.add_argument("--md", default=None)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    model = load(a.model)
    results = {}
    for folder in a.data:
        packs = sorted(glob.glob(os.path.join(folder, "*.npz")))
        for path in packs:
            lang = os.path.basename(path)[:-4]
            if a.langs and lang not in a.langs.split(","):
                continue
            t0 = time.time()
            results[(lang, os.path.basename(folder.rstrip("/")))] = r = evaluate_pack(
                model, path, a.max_utts, a.prior_scale, a.min_phone)
            print(f"[aligner-eval] {lang} {r['voice']}: median {r['median_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms, "
                  f"matched {100 * r['matched']:.0f} % ({time.time() - t0:.0f} s)", flush=True)
    results = dict(sorted(results.items()))
    en = os.path.join(a.data[0], "en.npz")
    ps = pocketsphinx_compare(model, en, a.max_utts, a.prior_scale) if a.pocketsphinx and os.path.exists(en) else None
    cmd = "python -m models.training.aligner.evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
    md = markdown(results, cmd, ps)
    print(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
