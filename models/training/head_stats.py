"""Head-motion statistics of the prosody-driven head layer on held-out real speech, and the speed of
all the living-face layers together. Writes benchmarks/head_motion.md.

    .venv/bin/python -m models.training.head_stats [--out benchmarks/head_motion.md] [--seeds 6]

Speech: the English sentence clips of ../shared/realspeech/en (LJ Speech, P. Matthes reading LJ
prompts, CMU ARCTIC aew/axb; not the spoken digits) and assets/demo.wav. The clips of one speaker
are joined into a monologue with 0.4-0.9 s pauses (at most MAX_SPEAKER_S per speaker), run through
``prosody`` and ``head_motion`` for several seeds at 30 fps, and measured:

- rotation: std and 5-95 % range per axis (degrees);
- angular speed |d(yaw, pitch, roll)/dt| (deg/s): mean and 95th percentile;
- nods per minute of speech: chin-down apexes of the pitch track that stand >= 1 deg above the
  lowest pitch on both sides within 0.4 s (a down-and-back movement, not a slow drift), at least
  0.25 s apart, during or just after speech;
- correlation (Pearson, frame level, over the take) of the angular speed with loudness, and of the
  head's elevation (-pitch) with F0 (semitones, voiced frames).
"""
import argparse
import csv
import time
from pathlib import Path

import numpy as np

from inference.gaze import apply_gaze, gaze
from inference.head_motion import head_motion
from inference.listen import listen_curves, listen_head
from inference.prosody import prosody
from inference.arkit import RIG_NAMES

ROOT = Path(__file__).resolve().parents[2]
SPEECH = ROOT.parent / "shared" / "realspeech" / "en"
FPS = 30.0
MAX_SPEAKER_S = 240.0
SPEAKERS = ("lj", "pm", "arctic_aew", "arctic_axb")
STYLES = {"neutral": None, "happy": {"happy": 1.0}, "sad": {"sad": 1.0}, "angry": {"angry": 1.0},
          "surprised": {"surprised": 1.0}, "smooth": {"smoothness": 1.0}, "still upper face": {"upper_face": -1.0}}


def _load(path):
    import soundfile as sf
    from inference.audio import to_mono_16k
    pcm, sr = sf.read(str(path), dtype="float32")
    return to_mono_16k(pcm, sr)


def monologues(rng):
    """{speaker: 16 kHz audio}: each speaker's clips joined with short pauses."""
    takes = {}
    with open(SPEECH / "index.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for speaker in SPEAKERS:
        parts, total = [], 0.0
        for row in rows:
            if row["speaker"] != speaker or total > MAX_SPEAKER_S:
                continue
            audio = _load(SPEECH / "audio" / row["file"])
            parts += [audio, np.zeros(int(rng.uniform(0.4, 0.9) * 16000), np.float32)]
            total += audio.size / 16000
        if parts:
            takes[speaker] = np.concatenate(parts)
    takes["demo"] = _load(ROOT / "assets" / "demo.wav")
    return takes


def measure(ypr, p, fps):
    """The statistics of one head track [T, 3] against its prosody."""
    speed = np.linalg.norm(np.diff(ypr, axis=0), axis=1) * fps
    pitch = ypr[:, 1].astype(np.float64)
    reach = int(round(0.4 * fps))
    padded = np.pad(pitch, reach, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    prominence = pitch - np.maximum(windows[:, :reach + 1].min(1), windows[:, reach:].min(1))
    apex = np.flatnonzero((pitch[1:-1] > pitch[:-2]) & (pitch[1:-1] >= pitch[2:]) & (prominence[1:-1] >= 1.0)) + 1
    kept = []
    for a in apex:
        if not kept or a - kept[-1] >= 0.25 * fps:
            kept.append(a)
    speech_min = max(p.speech.sum() / fps / 60.0, 1e-9)
    nods = sum(bool(p.speech[max(0, a - int(0.3 * fps)):a + 1].any()) for a in kept) / speech_min
    v = p.voiced
    return {
        "std": ypr.std(0),
        "range": np.percentile(ypr, 95, 0) - np.percentile(ypr, 5, 0),
        "speed_mean": speed.mean(), "speed_p95": np.percentile(speed, 95),
        "nods_per_min": nods,
        "r_speed_loudness": np.corrcoef(speed, p.level[1:])[0, 1],
        "r_speed_loudness_1s": _block_r(speed, p.level[1:], int(fps)),
        "r_elevation_f0": np.corrcoef(-ypr[v, 1], p.pitch_st[v])[0, 1] if v.sum() > 10 else np.nan,
        "r_elevation_f0_phrase": _phrase_r(-ypr[:, 1], p.pitch_st, v, fps),
    }


def _block_r(a, b, n):
    """Correlation of n-frame means (how much the head moves in a second vs how loud that second is)."""
    blocks = a.size // n
    return np.corrcoef(a[:blocks * n].reshape(blocks, n).mean(1), b[:blocks * n].reshape(blocks, n).mean(1))[0, 1]


def _phrase_r(elevation, pitch_st, voiced, fps):
    """Correlation of 0.5 s means over voiced frames (the phrase-scale relation, beats averaged out)."""
    n = int(0.5 * fps)
    blocks = voiced.size // n
    vv = voiced[:blocks * n].reshape(blocks, n)
    keep = vv.sum(1) >= n // 2
    e = np.where(vv, elevation[:blocks * n].reshape(blocks, n), 0).sum(1)[keep] / vv.sum(1)[keep]
    f = np.where(vv, pitch_st[:blocks * n].reshape(blocks, n), 0).sum(1)[keep] / vv.sum(1)[keep]
    return np.corrcoef(e, f)[0, 1] if keep.sum() > 5 else np.nan


def pooled(rows):
    keys = rows[0].keys()
    return {k: np.mean([r[k] for r in rows], axis=0) for k in keys}


def timing(audio60):
    """ms (best of 5) for 60 s of audio: prosody, head, gaze (+curves), listening head and face."""
    names = list(RIG_NAMES)
    values = np.zeros((int(60 * FPS), len(names)), np.float32)
    parts = {}

    def run():
        t0 = time.perf_counter()
        p = prosody(audio60, FPS)
        t1 = time.perf_counter()
        head_motion(p, FPS, 1)
        t2 = time.perf_counter()
        apply_gaze(values, names, gaze(p, FPS, 1))
        t3 = time.perf_counter()
        listen_head(p, FPS, 1)
        listen_curves(p, FPS, 1, names, {"happy": 0.5})
        t4 = time.perf_counter()
        return {"prosody": t1 - t0, "head_motion": t2 - t1, "gaze + curves": t3 - t2, "listen": t4 - t3,
                "all": t4 - t0}
    runs = [run() for _ in range(5)]
    for k in runs[0]:
        parts[k] = 1000 * min(r[k] for r in runs)
    return parts


LITERATURE = """
## Against published findings

What the search of public pages for this work could confirm (abstracts and excerpts; the papers'
numeric tables were not reachable, so no number below is copied from a table):

| finding | source | this layer |
|---|---|---|
| head movement correlates strongly with the voice's F0 and amplitude | Munhall, Jones, Callan, Kuratate & Vatikiotis-Bateson 2004, *Psychol. Sci.* 15(2):133-137 (abstract); Tiede, Chen & Whalen 2022, *JASA* 151:A43 (spontaneous monologues, abstract) | r(elevation, F0) and r(speed, loudness) above are positive for every speaker with more than 10 s of speech |
| neutral and emotional speech differ in head-motion activation, range and velocity | Busso, Deng, Grimm, Neumann & Narayanan 2007, *IEEE TASLP* 15(3):1075-1086 (abstract) | style table: sad halves the speed and lowers the head, angry raises the p95 speed, happy enlarges the range |
| head movements of speakers fall into kinematic classes tied to stress and junctures | Hadar, Steiner, Grant & Rose 1983, *Hum. Mov. Sci.* 2:35-46 (abstract) | beats on stressed/accented syllables, tilts and posture shifts at phrase boundaries |
| beat nods align with the stressed/accented syllable and begin slightly before it; gesture units begin slightly after the talk spurt | House, Beskow & Granstrom, seminar abstract "From head nods to gesture units" (CNRS RISC, 2016) | nod apex at the nucleus -30..+60 ms (onset before it); new posture eased in 50-200 ms after the phrase starts |
| head movements start slightly before the speech they go with, delays within +-1 s | Paggio 2016, NOMCO first-encounter dialogues, *LECP* 105:12 | as above |
| listeners make narrow movements in phase with the speaker's stressed syllables and wide ones in the speaker's pauses | Hadar, Steiner & Rose 1985, *J. Nonverbal Behav.* 9(4):214-228 (abstract) | `inference/listen.py`: synchrony nods on stressed syllables, attentive nods 0.2-1 s after phrase ends |

Numeric bands used to tune the defaults (engineering targets from the author's reading of the
motion-capture literature, *not* verified against the papers' tables in this work; the issue's
check against captured head motion is what settles them): rotation std 1.5-5 deg per axis with
5-95 % ranges under ~15 deg; mean angular speed 5-15 deg/s; beat nods on a minority of the
accented syllables (~20-40 a minute of speech); head elevation vs F0 correlation positive, ~0.3-0.7
(Yehia, Kuratate & Vatikiotis-Bateson 2002, *J. Phonetics* 30:555-568, report F0 recoverable from
head motion with r about 0.7: recalled, not re-read here). The check of the pooled row:
"""
# (label, key, axis or None, low, high): the engineering bands of LITERATURE
BANDS = (("rotation std yaw (deg)", "std", 0, 1.5, 5.0), ("rotation std pitch (deg)", "std", 1, 1.5, 5.0),
         ("rotation std roll (deg)", "std", 2, 1.0, 5.0), ("5-95% range, largest axis (deg)", "range", None, 3.0, 15.0),
         ("mean angular speed (deg/s)", "speed_mean", None, 5.0, 15.0), ("nods per minute of speech", "nods_per_min", None, 20.0, 40.0),
         ("r(elevation, F0), 0.5 s", "r_elevation_f0_phrase", None, 0.3, 0.7),
         ("r(speed, loudness), frame", "r_speed_loudness", None, 0.0, 1.0))


def band_check(m):
    lines = ["", "| metric | pooled | band | inside |", "|---|---|---|---|"]
    for label, key, axis, lo, hi in BANDS:
        value = float(np.max(m[key]) if key == "range" else (m[key][axis] if axis is not None else m[key]))
        lines.append(f"| {label} | {value:.2f} | {lo:g}-{hi:g} | {'yes' if lo <= value <= hi else 'NO'} |")
    return lines


def report(out, seeds):
    rng = np.random.default_rng(0)
    takes = monologues(rng)
    lines = ["# Head motion: statistics on held-out speech", "",
             f"Generated by `.venv/bin/python -m models.training.head_stats --seeds {seeds}` "
             "(models/training/head_stats.py; numbers below are its output).", "",
             f"Layer: `inference/head_motion.py` at default settings (amount 1, neutral style), {FPS:g} fps, "
             f"seeds 0-{seeds - 1}; speech: the English sentence clips of ../shared/realspeech/en joined per "
             "speaker into a monologue with 0.4-0.9 s pauses, plus assets/demo.wav.", "",
             "| speaker | speech s | std yaw / pitch / roll (deg) | 5-95% range yaw / pitch / roll (deg) | "
             "speed mean / p95 (deg/s) | nods/min | r(speed, loudness) frame / 1 s | r(elevation, F0) frame / 0.5 s |",
             "|---|---|---|---|---|---|---|---|"]
    every = []
    for speaker, audio in takes.items():
        p = prosody(audio, FPS)
        rows = [measure(head_motion(p, FPS, s), p, FPS) for s in range(seeds)]
        every += rows
        lines.append(_row(speaker, audio.size / 16000, pooled(rows)))
    overall = pooled(every)
    lines.append(_row("**all**", sum(a.size for a in takes.values()) / 16000, overall))
    lines += ["", "Style sliders (speaker pm, same seeds):", "",
              "| style | std yaw / pitch / roll | mean pitch (deg, + chin down) | speed mean / p95 | nods/min |",
              "|---|---|---|---|---|"]
    p = prosody(takes["pm"], FPS)
    for name, style in STYLES.items():
        tracks = [head_motion(p, FPS, s, style=style) for s in range(seeds)]
        m = pooled([measure(t, p, FPS) for t in tracks])
        lines.append(f"| {name} | {_triple(m['std'])} | {np.mean([t[:, 1].mean() for t in tracks]):+.1f} | "
                     f"{m['speed_mean']:.1f} / {m['speed_p95']:.1f} | {m['nods_per_min']:.0f} |")
    audio60 = np.resize(takes["pm"], 60 * 16000)
    ms = timing(audio60)
    lines += ["", "Speed, 60 s of speech at 30 fps, best of 5 on the 2-core build machine (shared with other jobs):", "",
              "| layer | ms |", "|---|---|"] + [f"| {k} | {v:.1f} |" for k, v in ms.items()]
    lines.append(LITERATURE)
    lines += band_check(overall)
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _triple(x):
    return " / ".join(f"{v:.1f}" for v in x)


def _row(name, seconds, m):
    return (f"| {name} | {seconds:.0f} | {_triple(m['std'])} | {_triple(m['range'])} | "
            f"{m['speed_mean']:.1f} / {m['speed_p95']:.1f} | {m['nods_per_min']:.0f} | "
            f"{m['r_speed_loudness']:.2f} / {m['r_speed_loudness_1s']:.2f} | {m['r_elevation_f0']:.2f} / {m['r_elevation_f0_phrase']:.2f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "head_motion.md"))
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args(argv)
    report(args.out, args.seeds)


if __name__ == "__main__":
    main()
