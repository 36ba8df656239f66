"""Evaluation, judge: the targets and rules that turn the computed metrics into PASS/FAIL rows."""
import math

from . import metrics as M
from .evaluate_compute import CONDITIONS, SLIDER_ROWS

# (key, header, higher is better, format)
LIP_METRICS = (
    ("l1_lip", "L1 lips", False, "{:.4f}"),
    ("bilabial", "bilabial closure", True, "{:.1%}"),
    ("tuck", "/f v/ tuck", True, "{:.1%}"),
    ("rounding", "rounding", True, "{:.1%}"),
    ("openness", "openness rho", True, "{:+.2f}"),
    ("abs_lag", "abs lag ms", False, "{:.1f}"),
    ("jitter_dev", "jitter vs teacher", False, "{:.2f}"),
)
TARGETS = {"bilabial": 0.90, "rounding": 0.85, "openness": 0.70, "abs_lag": 20.0}
DEGRADE_MAX_LOSS = 0.15
SLIDER_MIN_EFFECT = 0.25


def slider_ok(sweep, system, increasing):
    """(monotonic and large enough, end-to-end change as a multiple of the teacher's)."""
    v, t = sweep[system], sweep["teacher"]
    effect = (v[-1] - v[0]) / (t[-1] - t[0]) if t[-1] != t[0] else float("nan")
    return bool(M.monotonic(v, increasing=increasing) and effect >= SLIDER_MIN_EFFECT), effect



def fmt(key, v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    spec = {k: f for k, _, _, f in LIP_METRICS}.get(key, "{:.1%}" if key == "false" else "{:.3f}")
    return spec.format(v)


def better(key, a, b):
    hib = {k: h for k, _, h, _ in LIP_METRICS}[key]
    if any(isinstance(x, float) and math.isnan(x) for x in (a, b)):
        return False
    return a > b if hib else a < b


def relative_loss(clean, degraded, higher_is_better):
    """How much worse ``degraded`` is than ``clean``, as a fraction of |clean| (inf from 0, nan-safe)."""
    worse = (clean - degraded) if higher_is_better else (degraded - clean)
    if not (math.isfinite(clean) and math.isfinite(degraded)):
        return float("inf")
    if worse <= 0:
        return worse / abs(clean) if clean else 0.0
    return worse / abs(clean) if clean else float("inf")


def target_rows(res):
    rows = []
    clean = res.get(("model", "clean"))
    if clean is None:
        return rows
    for key, th in TARGETS.items():
        v = clean[key]
        ok = (v >= th) if key != "abs_lag" else (v <= th)
        rows.append((f"{key} {'>=' if key != 'abs_lag' else '<='} {fmt(key, th)} (clean)", fmt(key, v), ok))
    for key, header, _, _ in LIP_METRICS:
        worse = [s for s in ("jaw_flap", "rhubarb_like") if not better(key, clean[key], res[(s, "clean")][key])]
        rows.append((f"better than both baselines: {header} (clean)",
                     f"{fmt(key, clean[key])} vs {fmt(key, res[('jaw_flap', 'clean')][key])} / "
                     f"{fmt(key, res[('rhubarb_like', 'clean')][key])}", not worse))
    for cond in CONDITIONS[1:]:
        deg = res.get(("model", cond))
        if deg is None:
            continue
        for key, header, hib, _ in LIP_METRICS:
            c, g = clean[key], deg[key]
            if key == "abs_lag":
                ok, shown = g <= TARGETS["abs_lag"], f"{g:.1f} ms (clean {c:.1f})"
            elif key == "jitter_dev":              # near 0 when good: compare the raw jitter instead
                c, g = clean["jitter"], deg["jitter"]
                loss = relative_loss(c, g, False)
                ok, shown = loss <= DEGRADE_MAX_LOSS, f"jitter {g:.2f} /s^2 (clean {c:.2f}, {loss:+.0%})"
            elif hib and not c > 0:                # nothing to lose: not a pass
                ok, shown = False, f"{fmt(key, g)} (clean {fmt(key, c)}: nothing to keep)"
            else:
                loss = relative_loss(c, g, hib)
                ok, shown = loss <= DEGRADE_MAX_LOSS, f"{fmt(key, g)} (clean {fmt(key, c)}, loss {loss:+.0%})"
            name = f"{cond}: |lag| <= 20 ms" if key == "abs_lag" else f"{cond}: {header} loses <= 15%"
            rows.append((name, shown, bool(ok)))
    return rows


SEED_MAX_LIP_RANGE = 0.05      # lip rates may move at most 5 points across seeds
SEED_MIN_UPPER = 0.25          # upper-face spread at least a quarter of the teacher's


def style_verdicts(div, sweeps):
    """[(check, value, ok)] for the model's seeds and sliders (empty without a model)."""
    rows = []
    if "model" in div:
        m, t = div["model"], div["teacher"]
        ratio = m["upper_spread"] / t["upper_spread"] if t["upper_spread"] else float("nan")
        rows.append(("seeds: upper face differs between takes (spread >= 25% of the teacher's)",
                     f"{m['upper_spread']:.4f} (x{ratio:.2f} of the teacher's)", ratio >= SEED_MIN_UPPER))
        worst = max(m["bilabial_range"], m["rounding_range"])
        rows.append(("seeds: lips stay faithful (bilabial and rounding rates move <= 5 points)",
                     f"{m['bilabial_range']:.1%} / {m['rounding_range']:.1%}; lip spread {m['lip_spread']:.4f}",
                     worst <= SEED_MAX_LIP_RANGE))
    for row, sw in sweeps.items():
        if "model" in sw:
            ok, effect = slider_ok(sw, "model", SLIDER_ROWS[row][2])
            rows.append((f"slider {row}: {SLIDER_ROWS[row][1]} moves monotonically", f"x{effect:.2f} of the teacher's change", ok))
    return rows


