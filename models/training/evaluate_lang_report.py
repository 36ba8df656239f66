"""Per-language evaluation, render: ``LANG_EVAL_REPORT.md`` from what ``evaluate_lang`` measured."""
import math

from .evaluate_lang import FEW_UTTS, REAL_MIN_CLOSURE, REAL_TARGET_EXCLUDES, SYSTEMS, TARGETS

CHECK_LABEL = {"closure": "closures", "rounding_auc": "rounding AUC", "opening_rank": "opening rank",
               "closure (lowest language)": "closures, lowest language"}


def language_name(code):
    if code == "all":
        return "**all languages**"
    try:
        from .languages import UNSEEN_LANGUAGES, language
        lang = language(code)
        unseen = ", never trained on" if code in UNSEEN_LANGUAGES else ""
        return f"{lang.name} ({code}, {lang.family}{unseen})" if lang else code
    except ImportError:
        return {"en": "English (en)"}.get(code, code)


def fmt(v, kind):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if kind == "pct":
        return f"{100 * v:.0f}%"
    if kind == "ms":
        return f"{v:+.0f}"
    return f"{v:+.2f}" if kind == "rho" else f"{v:.2f}"


def side_by_side(res, key, kind):
    """'Parley / teacher / flap' for one measure."""
    return " / ".join(fmt(res[s][key], kind) if s in res else "n/a" for s in SYSTEMS)


def main_table(results):
    head = ("| language | source | closures | tucks | rounding AUC | opening rank | lag ms (Parley / flap) |"
            " rounding rate |")
    lines = [head, "|" + "---|" * 8]
    for (lang, source), res in results.items():
        lag = " / ".join(fmt(res[s]["lag"], "ms") if s in res else "n/a" for s in ("model", "jaw_flap"))
        lines.append(f"| {language_name(lang)} | {source} | {side_by_side(res, 'closure', 'pct')} | "
                     f"{side_by_side(res, 'tuck', 'pct')} | {side_by_side(res, 'rounding_auc', 'auc')} | "
                     f"{side_by_side(res, 'opening_rank', 'rho')} | {lag} | {side_by_side(res, 'rounding', 'pct')} |")
    return lines


def counts_table(results, info):
    lines = ["| language | source | held-out voices (utterances) | minutes | phone classes from | bilabials | "
             "labiodentals | rounded / unrounded front monophthongs | monophthongs (classes) | open-vowel lip gap "
             "(Parley / teacher / flap) |", "|" + "---|" * 10]
    for (lang, source), res in results.items():
        t = res["teacher"]
        g = info["groups"].get((lang, source))
        if g:
            voices = ", ".join(f"{v} ({n})" for v, n in sorted(g["voices"].items()))
            minutes, via = g["minutes"], g["classes"]
        else:
            voices, via = "(pooled)", "-"
            minutes = sum(x["minutes"] for k, x in info["groups"].items()
                          if k[1] == source and not (source == "real" and k[0] in REAL_TARGET_EXCLUDES))
        lines.append(f"| {language_name(lang)} | {source} | {voices} | {minutes:.1f} | {via} | {t['n_closure']} | "
                     f"{t['n_tuck']} | {t['n_rounded']} / {t['n_unrounded']} | {t['n_vowels']} "
                     f"({t['n_vowel_classes']}) | {side_by_side(res, 'open_gap', 'gap')} |")
    return lines


def verdict_table(verdicts):
    lines = ["| language | source | check | Parley | target | result |", "|---|---|---|---|---|---|"]
    for lang, source, check, v, target, ok in verdicts:
        kind = "pct" if check.startswith("closure") else ("rho" if check == "opening_rank" else "auc")
        lines.append(f"| {language_name(lang) if lang != 'every' else 'every language'} | {source} | "
                     f"{CHECK_LABEL.get(check, check)} | {fmt(v, kind)} | >= {fmt(target, kind)} | "
                     f"{'PASS' if ok else 'FAIL'} |")
    return lines


def excluded(source):
    return f" (without {', '.join(REAL_TARGET_EXCLUDES)})" if source == "real" and REAL_TARGET_EXCLUDES else ""


def caveats(info):
    """Paragraphs (each followed by a blank line) on what limits the numbers."""
    few = [f"{lang}/{src} {g['utts']}" for (lang, src), g in sorted(info["groups"].items()) if g["utts"] < FEW_UTTS]
    lines = []
    if few:
        lines += [f"Few held-out utterances (under {FEW_UTTS}; one interval moves a rate a lot): {', '.join(few)}.", ""]
    if any(src == "real" and lang in REAL_TARGET_EXCLUDES for lang, src in info["groups"]):
        lines += [f"Real speech in {', '.join(REAL_TARGET_EXCLUDES)} is measured for comparison but neither judged "
                  "against the real non-English targets nor pooled into the real row.", ""]
    return lines


def summary(results, verdicts, info):
    parts = []
    for source in ("tts", "real"):
        res = results.get(("all", source), {}).get("model")
        if res:
            langs = sorted({v[0] for v in verdicts if v[1] == source and v[0] != "every"})
            ok = [lang for lang in langs if all(v[-1] for v in verdicts if v[0] == lang and v[1] == source)]
            parts.append(f"{source}, all held-out {source} pooled{excluded(source)}: closures "
                         f"{fmt(res['closure'], 'pct')}, tucks {fmt(res['tuck'], 'pct')}, rounding AUC "
                         f"{fmt(res['rounding_auc'], 'auc')}, opening rank {fmt(res['opening_rank'], 'rho')}, "
                         f"lag {fmt(res['lag'], 'ms')} ms; {len(ok)} of {len(langs)} languages meet every target")
    return f"**Summary** (model {info['version']}): " + ("; ".join(parts) if parts else "no model run") + "."


def write_report(path, results, verdicts, info):
    """Write the markdown report; -> its text."""
    tts, real = TARGETS["tts"], TARGETS["real"]
    lines = [
        "# Parley: per-language lip-sync evaluation", "",
        f"Generated by `models/training/evaluate_lang.py` on {info['date']} in {info['elapsed']:.0f} s (1 CPU thread).",
        "", summary(results, verdicts, info), "", "Reproduce:", "", "```", info["command"], "```", "",
        f"- Model: `{info['model']}` version **{info['version']}** (sha256 {info['sha']}); code at commit "
        f"{info['commit']}.",
        f"- Corpora: {', '.join(f'`{c}`' for c in info['corpora'])}; held-out voices and speakers only (never "
        "trained on); reference = the shard's teacher curves.",
        "- Systems, each cell **Parley / teacher / jaw flap**: Parley = the ONNX model through the runtime "
        "(`inference.animate`, the shard's style, seed 0); teacher = the shard's curves (the ceiling); jaw flap = "
        "RMS envelope -> jawOpen only (`baselines.jaw_flap`).",
        "",
        "Phone classes from each phone's IPA string via panphon features (no per-language lists; ARPAbet labels "
        "where a shard has no `ipa`): bilabial = [+lab +cons -cont -strid] (p b m and their variants; not β ɸ ɱ); "
        "labiodental = [+lab -round] and [+strid] or [-cons] (f v ʋ) or ɱ; monophthong = one [+syl] segment "
        "(diphthongs left out), height close [+hi] / open [+lo] / else mid; rounded [+round]; unrounded front "
        "[-round -back].",
        "",
        "Measures (`models/training/metrics.py` definitions): **closures** = bilabial intervals with a closed frame "
        "(lip gap <= 0.05) and an open one (>= 0.10) within 200 ms; **tucks** = labiodental intervals with "
        "mouthRollLower >= 0.3 and <= 0.15 within 200 ms; **rounding AUC** = P(a rounded monophthong's rounding > "
        "an unrounded front one's), ties half, rounding = mean over the central half of pucker + funnel - lip width "
        "(mean mouthStretch); **opening rank** = as metrics.openness_correlation: mean jawOpen over the central half "
        "of each monophthong, averaged per vowel class (IPA base letter, >= 3 tokens), Spearman against the "
        "classes' height (close 1, mid 2, open 3; ɐ open); **lag** = peak of the pooled lip-curve "
        "cross-correlation with the teacher, + = late (the teacher's own is 0 by construction); **rounding rate** = "
        "metrics.rounding on rounded monophthongs (pucker + funnel >= 0.4 and 0.2 above the utterance median).",
        "", "## Per language", "", *main_table(results), "", *caveats(info),
        "## Tokens scored", "", *counts_table(results, info), "",
        "## Targets (issue 15)", "",
        f"Held-out TTS voices per language: closures >= {100 * tts['closure']:.0f}%, rounding AUC >= "
        f"{tts['rounding_auc']:.2f}, opening rank >= {tts['opening_rank']:.2f}. Real non-English speech: closures "
        f">= {100 * real['closure']:.0f}%, rounding AUC >= {real['rounding_auc']:.2f}, opening rank >= "
        f"{real['opening_rank']:.2f}, no language below {100 * REAL_MIN_CLOSURE:.0f}% closures. A measure without "
        "tokens ('-') fails.", "",
        *(verdict_table(verdicts) if verdicts else ["(no model run)"]), "",
    ]
    text = "\n".join(lines)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return text
