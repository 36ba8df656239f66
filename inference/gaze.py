"""Seeded eye gaze: fixations and saccades with human timing, thinking aversion, lids that follow.

``gaze(prosody, fps, seed, amount=1.0, style=None, target=None, listening=False) -> Gaze``

Angles are eye-in-head, degrees, in the head's canonical frame (rig_topology), with the head
layer's signs: ``yaw`` > 0 looks towards the character's left, ``pitch`` > 0 looks down. Both eyes
share one direction (no vergence: conversation distance).

Timing, from the eye-movement literature:

- fixations last a heavy-tailed (log-normal) 200 ms - 1 s, median ~0.4 s while speaking, longer
  while listening (the listener looks at the speaker about twice as much as the reverse: Argyle &
  Cook 1976, Kendon 1967);
- each saccade follows the main sequence: duration = 2.2 ms/deg x amplitude + 21 ms (Carpenter
  1988; used by Lee, Badler & Badler 2002, "Eyes alive"), a minimum-jerk profile in between;
- between saccades, micro-saccades of 0.1-0.5 deg about once a second (Martinez-Conde et al. 2004);
- thinking: at the start of a phrase after a pause the speaker looks away (up or down and to the
  side, 6-15 deg), then back (Kendon 1967: utterances often begin with the speaker looking away);
- while on the listener, the eyes scan the face: eyes and mouth, a few degrees apart.

``target`` is an optional direction in head space (x left, y up, z forward): a [3] vector or [T, 3]
per frame (a moving object); fixations and aversions are placed around it, clipped to the eyes'
comfortable range (+-30 deg across, +-25 deg up/down). Without one the eyes address a listener
straight ahead.

``gaze_curves`` turns the angles into ARKit eyeLook* curves (In/Out mirrored between the eyes) plus
a lid term: the upper lid drops a little when looking down and lifts when looking up.
``apply_gaze`` combines them with a take's curves: the layer *replaces* the model's eyeLook curves
(blended by ``amount``; the model's own gaze is seed noise from its teacher, not audio, so nothing
the audio said is lost, and adding the two would double the wandering and miss the target);
the lid term is *added* to eyeBlink/eyeWide. ``amount=0`` leaves the curves bit for bit.
"""
from dataclasses import dataclass

import numpy as np

GAZE_STREAM = 0x6A2E
SACCADE_MS_PER_DEG = 2.2       # main sequence, duration = 2.2 ms/deg * amplitude + 21 ms
SACCADE_MS_BASE = 21.0
FIXATION_MEDIAN_S = 0.42       # while speaking; listening fixations are 1.4x longer
FIXATION_SIGMA = 0.5           # log-normal spread: 5-95% ~ 0.19-0.95 s
MIN_FIXATION_S = 0.12
YAW_LIMIT, PITCH_LIMIT = 30.0, 25.0
# rig_face.py: eyeLook shapes turn the eyeball by 0.45 rad (In/Out/Down) and 0.40 rad (Up) at weight 1
LOOK_RANGE_DEG = {"Out": np.degrees(0.45), "In": np.degrees(0.45), "Down": np.degrees(0.45),
                  "Up": np.degrees(0.40)}
LID_DROP = 0.12                # eyeBlink added at a full look down
LID_LIFT = 0.10                # eyeWide added at a full look up
FACE_POINTS = np.array([[1.8, 0.0], [-1.8, 0.0], [0.0, 4.5]])   # listener's eyes and mouth (yaw, pitch)
FACE_WEIGHTS = np.array([0.38, 0.38, 0.24])
KIND_SHIFT, KIND_AVERSION, KIND_MICRO = 0, 1, 2


@dataclass
class Gaze:
    yaw: np.ndarray        # [T] float32 degrees, + towards the character's left
    pitch: np.ndarray      # [T] float32 degrees, + down
    saccades: np.ndarray   # [S, 4] float64: start s, duration s, amplitude deg, kind (0 shift, 1 aversion, 2 micro)


def saccade_duration_s(amplitude_deg):
    return (SACCADE_MS_PER_DEG * np.asarray(amplitude_deg) + SACCADE_MS_BASE) / 1000.0


def target_angles(target, n_frames):
    """Head-space direction(s) -> (yaw [T], pitch [T]) degrees (yaw + left, pitch + down)."""
    if target is None:
        return np.zeros(n_frames), np.zeros(n_frames)
    v = np.asarray(target, np.float64)
    v = np.broadcast_to(v.reshape(-1, 3), (n_frames, 3)) if v.ndim == 1 or v.shape[0] == 1 else v
    if v.shape != (n_frames, 3):
        raise ValueError(f"target must be a [3] vector or [{n_frames}, 3] per frame, got {np.shape(target)}")
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    yaw = np.degrees(np.arctan2(v[:, 0], v[:, 2]))
    pitch = -np.degrees(np.arcsin(np.clip(v[:, 1], -1, 1)))
    return yaw, pitch


def _style(style):
    get = lambda n: float((style or {}).get(n, 0.0))  # noqa: E731
    return {"pace": 1.0 - 0.25 * get("upper_face") + 0.3 * get("angry") + 0.2 * get("sad"),
            "away": float(np.clip(0.2 + 0.15 * get("sad") - 0.1 * get("happy") + 0.1 * get("upper_face"), 0.02, 0.6)),
            "down_bias": 0.4 + 0.4 * get("sad") - 0.2 * get("surprised")}


def _aversion_starts(prosody, fps, rng, listening):
    """Times (s) a thinking look-away starts: at phrase starts after a pause of >= 0.4 s (or the take start)."""
    if listening or not prosody.phrases.size:
        return np.zeros(0)
    starts = prosody.phrases[:, 0] / fps
    pauses = np.r_[starts[0], starts[1:] - prosody.phrases[:-1, 1] / fps]
    chosen = starts[(pauses >= 0.4) & (rng.random(starts.size) < 0.75)]
    return np.maximum(0.0, chosen - rng.uniform(0.0, 0.3, chosen.size))


def _face_point(rng, current):
    """A point of the listener's face to look at next, never the one already fixated."""
    weights = FACE_WEIGHTS.copy()
    if current is not None:
        weights[np.linalg.norm(FACE_POINTS - current, axis=1) < 0.5] = 0.0
    return FACE_POINTS[rng.choice(len(FACE_POINTS), p=weights / weights.sum())]


def _plan(duration, rng, prosody, fps, listening, style):
    """Fixation targets as an event list [(start s, yaw offset, pitch offset, kind)]."""
    s = _style(style)
    median = FIXATION_MEDIAN_S * s["pace"] * (1.4 if listening else 1.0)
    away_p = s["away"] * (0.4 if listening else 1.0)
    aversions = list(_aversion_starts(prosody, fps, rng, listening))
    events, t = [], 0.0
    point = _face_point(rng, None)
    events.append((0.0, point[0], point[1], KIND_SHIFT))
    while t < duration:
        hold = max(MIN_FIXATION_S, median * np.exp(FIXATION_SIGMA * rng.standard_normal()))
        if aversions and aversions[0] < t + hold:
            t = max(aversions.pop(0), t + MIN_FIXATION_S)
            side = rng.choice([-1.0, 1.0])
            vertical = 1.0 if rng.random() < s["down_bias"] else -1.0
            amp = rng.uniform(6.0, 15.0)
            angle = rng.uniform(0.3, 1.0)
            events.append((t, side * amp * np.cos(angle), vertical * amp * np.sin(angle), KIND_AVERSION))
            t += rng.uniform(0.6, 1.4)
            point = _face_point(rng, None)
            events.append((t, point[0], point[1], KIND_SHIFT))
            continue
        # micro-saccades inside a long fixation: tiny jumps around the fixated point
        for m in np.arange(t + rng.uniform(0.2, 0.5), t + hold - 0.15, rng.uniform(0.4, 0.9)):
            jitter = rng.normal(0, 0.25, 2)
            events.append((m, point[0] + jitter[0], point[1] + jitter[1], KIND_MICRO))
        t += hold
        if rng.random() < away_p:
            amp = rng.lognormal(np.log(7.0), 0.4)
            direction = rng.uniform(0, 2 * np.pi)
            point = np.array([amp * np.cos(direction), 0.6 * amp * np.sin(direction)])
        else:
            point = _face_point(rng, point)
        events.append((t, point[0], point[1], KIND_SHIFT))
    return [e for e in events if e[0] < duration]


def gaze(prosody, fps, seed, amount=1.0, style=None, target=None, listening=False):
    """Eye-in-head angles per frame for a take (see the module docstring)."""
    T = prosody.n_frames
    fps = float(fps)
    base_yaw, base_pitch = target_angles(target, T)
    if float(amount) == 0.0 or T == 0:
        z = np.zeros(T, np.float32)
        return Gaze(z, z.copy(), np.zeros((0, 4)))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, GAZE_STREAM]))
    events = np.array(_plan(T / fps, rng, prosody, fps, listening, style), np.float64).reshape(-1, 4)
    start, goal = events[:, 0], events[:, 1:3]
    prev = np.vstack([goal[:1], goal[:-1]])
    amplitude = np.linalg.norm(goal - prev, axis=1)
    length = saccade_duration_s(amplitude)
    length[0] = 0.0
    t = np.arange(T) / fps
    k = np.searchsorted(start, t, side="right") - 1
    u = np.clip((t - start[k]) / np.maximum(length[k], 1e-9), 0.0, 1.0)
    u = u * u * u * (10 - 15 * u + 6 * u * u)                       # minimum jerk
    offset = prev[k] + (goal[k] - prev[k]) * u[:, None]
    yaw = np.clip(base_yaw + offset[:, 0], -YAW_LIMIT, YAW_LIMIT) * float(amount)
    pitch = np.clip(base_pitch + offset[:, 1], -PITCH_LIMIT, PITCH_LIMIT) * float(amount)
    saccades = np.c_[start, length, amplitude, events[:, 3]][1:]
    return Gaze(yaw.astype(np.float32), pitch.astype(np.float32), saccades)


def gaze_curves(yaw, pitch):
    """ARKit eyeLook curves and the lid term for eye-in-head angles (degrees). Returns {name: [T]}.

    The character's left eye looks *out* (temporal) when the gaze goes to the character's left;
    the right eye looks *in* (nasal) then: In/Out are mirrored between the eyes."""
    yaw = np.asarray(yaw, np.float64)
    pitch = np.asarray(pitch, np.float64)
    left = np.clip(yaw, 0, None)
    right = np.clip(-yaw, 0, None)
    down = np.clip(pitch, 0, None) / LOOK_RANGE_DEG["Down"]
    up = np.clip(-pitch, 0, None) / LOOK_RANGE_DEG["Up"]
    c = {
        "eyeLookOut_L": left / LOOK_RANGE_DEG["Out"], "eyeLookIn_R": left / LOOK_RANGE_DEG["In"],
        "eyeLookIn_L": right / LOOK_RANGE_DEG["In"], "eyeLookOut_R": right / LOOK_RANGE_DEG["Out"],
        "eyeLookDown_L": down, "eyeLookDown_R": down, "eyeLookUp_L": up, "eyeLookUp_R": up,
        "eyeBlink_L": LID_DROP * down, "eyeBlink_R": LID_DROP * down,
        "eyeWide_L": LID_LIFT * up, "eyeWide_R": LID_LIFT * up,
    }
    return {n: np.clip(v, 0.0, 1.0).astype(np.float32) for n, v in c.items()}


LID_NAMES = ("eyeBlink_L", "eyeBlink_R", "eyeWide_L", "eyeWide_R")


def apply_gaze(values, names, g, amount=1.0):
    """Lay a :class:`Gaze` over curves ``values`` [T, K] in ``names`` order (in place; returns values).

    eyeLook*: (1 - amount) * model + amount * layer (the layer already carries ``amount`` in its
    angles, so the blend only fades the model's own gaze out). Lids: added, clipped to [0, 1]."""
    amount = float(amount)
    if amount == 0.0:
        return values
    curves = gaze_curves(g.yaw, g.pitch)
    for name, curve in curves.items():
        if name not in names:
            continue
        c = names.index(name)
        if name in LID_NAMES:
            values[:, c] = np.clip(values[:, c] + curve, 0.0, 1.0)
        else:
            values[:, c] = (1.0 - min(amount, 1.0)) * values[:, c] + curve
    return values
