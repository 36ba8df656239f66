"""Per-language statistics of the multilingual corpus (``corpus_multi``).

    python -m models.training.corpus_stats_multi CORPUS_DIR [--md OUT.md] [--json OUT.json]

Per language: hours, utterances, voices (held-out marked), distinct IPA phones, coverage of the 39
ARPAbet classes by the phones' nearest-class labels, and the teacher's own lip events scored on
those labels with ``metrics`` (closures on /p b m/, tucks on /f v/, rounding on /w uw ow/): the
labels are only useful to the aux loss and the old metrics if the teacher's curves honour them.
"""
import argparse
import json
import os
import sys
from collections import Counter, defaultdict

from . import metrics as M
from .corpus import load_shard
from .languages import language
from .phonemes import PHONES, SILENCE, parse_label


def scan(corpus_dir):
    manifest = json.load(open(os.path.join(corpus_dir, "manifest.json"), encoding="utf-8"))
    held = set(manifest.get("held_out_voices", []))
    st = defaultdict(lambda: {"hours": 0.0, "utts": 0, "voices": Counter(), "ipa": Counter(), "arpa": Counter(),
                              "closure": [0, 0], "tuck": [0, 0], "round": [0, 0], "voice_hours": Counter()})
    for f in manifest["shards"]:
        d = load_shard(os.path.join(corpus_dir, f))
        lang = str(d["lang"])
        s = st[lang]
        dur = d["audio"].shape[0] / d["sr"]
        s["hours"] += dur / 3600
        s["utts"] += 1
        s["voices"][d["voice"]] += 1
        s["voice_hours"][d["voice"]] += dur / 3600
        s["ipa"].update(str(x) for x in d["ipa"] if str(x))
        s["arpa"].update(parse_label(lab)[0] for _, _, lab in d["phones"])
        names = [str(n) for n in d["names"]]
        for key, fn in (("closure", M.bilabial_closure), ("tuck", M.labiodental_tuck), ("round", M.rounding)):
            h, n = fn(d["curves"], names, d["fps"], d["phones"])
            s[key][0] += h
            s[key][1] += n
    return manifest, held, st


def _pct(hn):
    return f"{100.0 * hn[0] / hn[1]:.1f} %" if hn[1] else "–"


def markdown(manifest, held, st):
    classes = [p for p in PHONES if p != SILENCE]
    lines = ["| language | family | hours | utterances | voices (held out in bold) | IPA phones | ARPAbet classes "
             "| teacher closures | tucks | rounding |", "|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    tot_h = tot_u = 0
    fams = set()
    for code in sorted(st, key=lambda c: (language(c).family, c)):
        s = st[code]
        lang = language(code)
        fams.add(lang.family)
        tot_h += s["hours"]; tot_u += s["utts"]
        vs = ", ".join((f"**`{v}`**" if v in held else f"`{v}`") for v in sorted(s["voices"]))
        cov = sum(1 for p in classes if s["arpa"][p])
        lines.append(f"| {lang.name} (`{code}`) | {lang.family} | {s['hours']:.3f} | {s['utts']} | {vs} | "
                     f"{len(s['ipa'])} | {cov}/39 | {_pct(s['closure'])} | {_pct(s['tuck'])} | {_pct(s['round'])} |")
    lines.append(f"| **all** | {len(fams)} families | {tot_h:.3f} | {tot_u} | {len(manifest['voices'])} voices "
                 f"| {len(set().union(*[s['ipa'] for s in st.values()]))} | | | | |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.corpus_stats_multi")
    ap.add_argument("corpus")
    ap.add_argument("--md", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    manifest, held, st = scan(a.corpus)
    md = markdown(manifest, held, st)
    print(md)
    if a.md:
        with open(a.md, "w", encoding="utf-8") as f:
            f.write(md + "\n")
    if a.json:
        out = {c: {"hours": s["hours"], "utterances": s["utts"], "voices": dict(s["voices"]),
                   "voice_hours": dict(s["voice_hours"]), "ipa_phones": dict(s["ipa"]),
                   "arpabet": dict(s["arpa"]), "closure": s["closure"], "tuck": s["tuck"], "rounding": s["round"]}
               for c, s in st.items()}
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
