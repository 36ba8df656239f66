"""Statistics of a generated corpus, and the pocketsphinx alignment error against exact timings.

    python -m models.training.corpus_stats CORPUS_DIR [--md OUT.md] [--json OUT.json]
                                           [--align N]   # N utterances per engine (pocketsphinx)

Reports hours per voice and engine, phoneme and diphone coverage, generation speed (from the
manifest), teacher sanity checks over the whole corpus (every /p b m/ sealed, blink rate), the
style distribution, and, with ``--align``, how far pocketsphinx forced alignment lands from the
engines' exact phone boundaries (what an engine without timings would cost us).
"""
import argparse
import difflib
import json
import os
import sys
from collections import Counter, defaultdict

import numpy as np

from .corpus import HELD_OUT_VOICES, load_shard
from .phonemes import PHONES, SILENCE, parse_label
from .teacher import LEAD_PER_UNIT
from .text_gen import TextGenerator, coverage


def scan(corpus_dir):
    man_path = os.path.join(corpus_dir, "manifest.json")
    manifest = json.load(open(man_path)) if os.path.exists(man_path) else {}
    files = manifest.get("shards") or sorted(f for f in os.listdir(corpus_dir) if f.endswith(".npz"))
    per_voice = defaultdict(float)
    per_engine = defaultdict(float)
    utts_voice = Counter()
    phone_lists = []
    closures = [0, 0]
    blinks, minutes = 0, 0.0
    jaw = defaultdict(list)
    styles = []
    for f in files:
        d = load_shard(os.path.join(corpus_dir, f))
        dur = d["audio"].shape[0] / d["sr"]
        per_voice[d["voice"]] += dur
        per_engine[d.get("engine", d["voice"].split(":")[0])] += dur
        utts_voice[d["voice"]] += 1
        phone_lists.append(d["phones"])
        styles.append(d["style"])
        names = [str(n) for n in d["names"]]
        c = d["curves"]
        ix = {n: i for i, n in enumerate(names)}
        fps = d["fps"]
        sn = [str(n) for n in d["style_names"]]
        lead = LEAD_PER_UNIT * float(d["style"][sn.index("timing")])   # the lower face leads by this
        for s, e, lab in d["phones"]:
            if parse_label(lab)[0] in ("P", "B", "M"):
                k0, k1 = int(np.ceil((s - lead) * fps - 1e-9)), int(np.floor((e - lead) * fps + 1e-9))
                ks = np.arange(max(k0, 0), min(k1, c.shape[0] - 1) + 1)
                if ks.size == 0:
                    continue
                closures[1] += 1
                sealed = (c[ks, ix["mouthClose"]] >= c[ks, ix["jawOpen"]] - 1e-6) & (c[ks, ix["mouthPress_L"]] > 0.2)
                closures[0] += bool(sealed.any())
        b = c[:, ix["eyeBlink_L"]] > 0.05
        blinks += int((np.diff(b.astype(int)) == 1).sum())
        minutes += dur / 60
        jaw[d.get("engine", "?")].append(float(c[:, ix["jawOpen"]].mean()))
    cov = coverage(phone_lists)
    styles = np.array(styles)
    return {
        "manifest": manifest, "utterances": len(files), "hours": sum(per_voice.values()) / 3600,
        "hours_per_voice": {k: v / 3600 for k, v in sorted(per_voice.items())},
        "utterances_per_voice": dict(utts_voice),
        "hours_per_engine": {k: v / 3600 for k, v in sorted(per_engine.items())},
        "phone_counts": cov["phone_counts"], "phone_coverage": cov["phone_coverage"],
        "diphone_coverage": cov["diphone_coverage"], "diphones_seen": len(cov["diphone_counts"]),
        "missing_phones": cov["missing_phones"],
        "bilabials_sealed": closures[0] / max(closures[1], 1), "bilabials": closures[1],
        "blinks_per_minute": blinks / max(minutes, 1e-9),
        "mean_jaw_per_engine": {k: float(np.mean(v)) for k, v in jaw.items()},
        "style_mean": styles.mean(axis=0).tolist() if len(styles) else [],
        "style_std": styles.std(axis=0).tolist() if len(styles) else [],
    }


# ---------------------------------------------------------------------------------------------
def _decoder():
    from pocketsphinx import Decoder
    return Decoder(samprate=16000, bestpath=False, loglevel="ERROR")


def pocketsphinx_segments(decoder, audio, text):
    """Forced-align ``text`` (words the decoder knows) to 16 kHz ``audio``:
    [(start_frame, end_frame, PHONE)] in pocketsphinx's 10 ms frames, names upper-case."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
    decoder.set_align_text(text)
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    decoder.set_alignment()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return [(ph.start, ph.start + ph.duration, ph.name.upper()) for word in decoder.get_alignment() for ph in word]


def align_pocketsphinx(decoder, audio, text):
    """Forced-align ``text`` to 16 kHz ``audio``: [(start_s, end_s, ARPAbet base)] (10 ms frames)."""
    return [(s / 100.0, e / 100.0, "sil" if name == "SIL" else name)
            for s, e, name in pocketsphinx_segments(decoder, audio, text)]


def boundary_errors(ref, hyp):
    """Start-time differences (s) of phones matched in order by label (silences excluded)."""
    r = [(s, parse_label(lab)[0]) for s, e, lab in ref if parse_label(lab)[0] != SILENCE]
    h = [(s, lab) for s, e, lab in hyp if lab != "sil" and lab in PHONES]
    sm = difflib.SequenceMatcher(a=[x[1] for x in r], b=[x[1] for x in h], autojunk=False)
    err = []
    for a, b, n in sm.get_matching_blocks():
        for k in range(n):
            err.append(h[b + k][0] - r[a + k][0])
    return err, len(r)


def alignment_study(n=40, voices=("espeak:en-us", "mbrola:us1", "festival:kal_diphone"), seed=123):
    """Synthesise n digit-free utterances per voice, align with pocketsphinx, compare boundaries."""
    from . import tts
    dec = _decoder()
    gen = TextGenerator(np.random.default_rng(seed))
    texts = []
    while len(texts) < n:
        t = gen.sentence()
        words = [w.strip(".,?!").lower() for w in t.replace("-", " ").split()]
        if any(ch.isdigit() for ch in t) or any(dec.lookup_word(w) is None for w in words if w):
            continue
        texts.append(t)
    out = {}
    for v in voices:
        eng, name = tts.split_voice(v)
        if not eng.available() or name not in eng.voices():
            continue
        errs, matched, total = [], 0, 0
        for t in texts:
            u = tts.synthesize(t, v)
            clean = " ".join(w.strip(".,?!").lower() for w in t.replace("-", " ").split())
            try:
                hyp = align_pocketsphinx(dec, u.audio, clean)
            except Exception:       # alignment failure counts as unmatched
                continue
            e, nref = boundary_errors(u.phones, hyp)
            errs += e
            matched += len(e)
            total += nref
        a = np.abs(np.array(errs)) * 1000
        out[v] = {"utterances": len(texts), "phones_matched": matched / max(total, 1),
                  "mean_abs_ms": float(a.mean()) if a.size else None,
                  "median_abs_ms": float(np.median(a)) if a.size else None,
                  "within_20ms": float((a <= 20).mean()) if a.size else None,
                  "within_50ms": float((a <= 50).mean()) if a.size else None,
                  "mean_signed_ms": float(np.mean(errs) * 1000) if errs else None}
    return out


def markdown(st, align=None):
    L = []
    m = st["manifest"]
    L.append(f"- utterances: **{st['utterances']}**, audio: **{st['hours']:.2f} h**, "
             f"voices: **{len(st['hours_per_voice'])}**, engines: **{len(st['hours_per_engine'])}**")
    if m.get("generation_rt_per_core"):
        L.append(f"- generation speed: **{m['generation_rt_per_core']:.0f}x real time per core** "
                 f"(audio seconds per second of worker wall time, including TTS, teacher and writing)")
    L.append(f"- phoneme coverage: **{st['phone_coverage'] * 100:.0f} %** of the 39 ARPAbet phonemes "
             f"(missing: {', '.join(st['missing_phones']) or 'none'}); diphone coverage: "
             f"**{st['diphone_coverage'] * 100:.1f} %** of the 39x39 pairs ({st['diphones_seen']} distinct "
             f"pairs incl. silence)")
    L.append(f"- teacher check over the corpus: {st['bilabials_sealed'] * 100:.2f} % of {st['bilabials']} "
             f"/p b m/ sealed inside their interval (shifted by the style's timing lead); {st['blinks_per_minute']:.1f} blinks per minute")
    L.append("")
    L.append("| voice | engine | hours | utterances | use |")
    L.append("|---|---|---:|---:|---|")
    for v, h in st["hours_per_voice"].items():
        L.append(f"| `{v}` | {v.split(':')[0]} | {h:.3f} | {st['utterances_per_voice'][v]} | "
                 f"{'**held out**' if v in HELD_OUT_VOICES else 'train'} |")
    L.append("")
    L.append("| engine | hours | mean jawOpen |")
    L.append("|---|---:|---:|")
    for e, h in st["hours_per_engine"].items():
        L.append(f"| {e} | {h:.2f} | {st['mean_jaw_per_engine'].get(e, float('nan')):.3f} |")
    L.append("")
    pc = st["phone_counts"]
    tot = sum(v for k, v in pc.items() if k != SILENCE)
    row = ", ".join(f"{p} {pc.get(p, 0) / tot * 100:.1f}" for p in PHONES if p != SILENCE)
    L.append(f"Phoneme frequencies (% of phones): {row}.")
    if align:
        L.append("")
        L.append("| pocketsphinx vs exact timings | utterances | phones matched | mean abs error | median | within 20 ms | within 50 ms | mean signed |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for v, a in align.items():
            if a["mean_abs_ms"] is None:
                continue
            L.append(f"| `{v}` | {a['utterances']} | {a['phones_matched'] * 100:.0f} % | {a['mean_abs_ms']:.1f} ms | "
                     f"{a['median_abs_ms']:.1f} ms | {a['within_20ms'] * 100:.0f} % | {a['within_50ms'] * 100:.0f} % | "
                     f"{a['mean_signed_ms']:+.1f} ms |")
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.corpus_stats")
    ap.add_argument("corpus")
    ap.add_argument("--md", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--align", type=int, default=0, help="utterances per engine for the pocketsphinx study")
    a = ap.parse_args(argv)
    st = scan(a.corpus)
    al = alignment_study(a.align) if a.align else None
    md = markdown(st, al)
    print(md)
    if a.md:
        open(a.md, "w").write(md)
    if a.json:
        json.dump({**{k: v for k, v in st.items() if k != "manifest"}, "alignment": al}, open(a.json, "w"),
                  indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
