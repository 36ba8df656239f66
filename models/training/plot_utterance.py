"""Figure of one corpus utterance: waveform, phonemes and the key teacher curves.

    python -m models.training.plot_utterance SHARD.npz OUT.png [--start S --end E]
"""
import argparse
import sys

import numpy as np

KEY_CURVES = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower", "eyeBlink_L")


def plot(shard, out, start=None, end=None, dpi=72):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .corpus import load_shard
    d = load_shard(shard) if isinstance(shard, str) else shard
    sr, fps = d["sr"], d["fps"]
    audio, curves, names = d["audio"], d["curves"], [str(n) for n in d["names"]]
    dur = audio.shape[0] / sr
    s0 = 0.0 if start is None else start
    s1 = dur if end is None else min(end, dur)
    fig, axes = plt.subplots(len(KEY_CURVES) + 2, 1, figsize=(11, 1.0 * (len(KEY_CURVES) + 2) + 0.6),
                             sharex=True, gridspec_kw={"height_ratios": [1.3, 0.6] + [1] * len(KEY_CURVES)})
    ta = np.arange(audio.shape[0]) / sr
    m = (ta >= s0) & (ta <= s1)
    axes[0].plot(ta[m][::4], audio[m][::4], lw=0.4, color="0.25")
    axes[0].set_ylabel("audio", rotation=0, ha="right", fontsize=8)
    axes[0].set_yticks([])
    title = f"{d['voice']}  |  {d['text'][:110]}"
    axes[0].set_title(title, fontsize=8, loc="left")
    ax = axes[1]
    ax.set_ylim(0, 1); ax.set_yticks([])
    ax.set_ylabel("phones", rotation=0, ha="right", fontsize=8)
    for s, e, lab in d["phones"]:
        if e < s0 or s > s1:
            continue
        base = lab.rstrip("012")
        col = {"P": "C3", "B": "C3", "M": "C3", "F": "C2", "V": "C2", "W": "C0", "UW": "C0", "OW": "C0",
               "UH": "C0"}.get(base, "0.85" if base != "sil" else "white")
        ax.axvspan(s, e, color=col, alpha=0.35, lw=0)
        ax.axvline(s, color="0.6", lw=0.3)
        if base != "sil":
            ax.text(0.5 * (s + e), 0.5, base, ha="center", va="center", fontsize=6)
    tc = np.arange(curves.shape[0]) / fps
    mc = (tc >= s0) & (tc <= s1)
    for k, name in enumerate(KEY_CURVES):
        a = axes[k + 2]
        a.plot(tc[mc], curves[mc, names.index(name)], lw=1.0, color="C%d" % (k % 10))
        a.set_ylim(-0.02, 1.02)
        a.set_yticks([0, 1])
        a.tick_params(labelsize=6)
        a.set_ylabel(name, rotation=0, ha="right", fontsize=8)
        for s, e, lab in d["phones"]:
            if lab.rstrip("012") in ("P", "B", "M") and s1 >= s >= s0:
                a.axvspan(s, e, color="C3", alpha=0.12, lw=0)
    axes[-1].set_xlabel("time (s)  — red bands: /p b m/, green: /f v/, blue: rounded", fontsize=8)
    axes[-1].set_xlim(s0, s1)
    fig.tight_layout(h_pad=0.1)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.plot_utterance")
    ap.add_argument("shard")
    ap.add_argument("out")
    ap.add_argument("--start", type=float, default=None)
    ap.add_argument("--end", type=float, default=None)
    ap.add_argument("--dpi", type=int, default=72)
    a = ap.parse_args(argv)
    plot(a.shard, a.out, a.start, a.end, a.dpi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
