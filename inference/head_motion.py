"""Seeded head motion from the speech's prosody: the rigid head rotation of a talking character.

``head_motion(prosody, fps, seed, amount=1.0, style=None) -> [T, 3]`` float32 degrees, columns
``HEAD_COLUMNS = (yaw, pitch, roll)``, in the head's canonical frame (rig_topology: x towards the
character's left, y up, z forward), right-handed about each axis:

- yaw   about +y: positive turns the face towards the character's left;
- pitch about +x: positive tips the chin down (a nod goes positive, a lift negative);
- roll  about +z: positive raises the left ear (tilts the head towards the character's right shoulder).

The rotation of a frame is ``R = R_y(yaw) @ R_x(pitch) @ R_z(roll)`` (``head_rig.rotation_matrix``).

Why procedural and not learned: no captured head motion exists to teach the network, and a layer
driven by prosody is controllable, reproducible per seed, needs no retraining and cannot move the
lips (it never touches the face curves). The layers, each drawn from the seed:

- beats: a nod (chin down and back, 200-400 ms) on stressed syllables, scaled by their prominence;
- pitch-accent lifts: on some accents the head lifts instead; and at the phrase scale (1.5 s) the
  head follows F0, up with high pitch and down with the declination (Munhall et al. 2004, Yehia et
  al. 2002) - slow enough that the nods still dip on the accents themselves;
- phrases: a tilt and a small settle at each phrase end; a new posture eased in as the next phrase starts;
- sway: band-limited (~0.1-0.5 Hz) seeded noise on all three axes, larger while the voice is loud,
  smaller (never still) in pauses;
- breathing: a slow pitch oscillation (3.5-5 s), always on, so silence is never dead still.

Style axes (models/training/style_axes.py) shape it: articulation and anger enlarge the beats,
anger sharpens them, sadness lowers the posture and damps everything, happiness and surprise add
lifts, upper_face scales the activity, smoothness lengthens and smooths every movement.
``amount`` scales the whole rotation; ``amount=0`` returns exact zeros (today's takes).
Memory is flat: each event touches only its own window of frames.
"""
import numpy as np

HEAD_STREAM = 0x4EAD  # separates the head stream from the model's noise and the blinks for one seed
HEAD_COLUMNS = ("yaw", "pitch", "roll")

SWAY_DEG = np.array([2.2, 1.0, 1.0])      # std of the slow sway per axis (yaw, pitch, roll)
SWAY_KNOT_S = 0.6                         # sway knots: smoothed over ~3 knots -> ~0.1-0.5 Hz
POSTURE_DEG = np.array([2.5, 1.2, 1.2])   # std of the posture a phrase settles into
NOD_DEG = 3.5                             # chin-down amplitude of a beat at prominence 1
LIFT_DEG = 1.8                            # chin-up amplitude of an accent lift
F0_DEG_PER_ST = 0.6                       # head up per semitone above the speaker's median F0 (phrase scale)
BEAT_P = 0.32                             # chance that a stressed or accented syllable gets a beat
TILT_DEG = 1.4                            # phrase-final roll tilt
BREATH_DEG = 0.35                         # breathing-scale pitch oscillation
SETTLE_S = 0.8                            # posture transitions take this long


def style_value(style, name):
    """A style axis from a {name: value} dict (0 when absent or style is None)."""
    return float((style or {}).get(name, 0.0))


def _gains(style):
    """The style's effect on the layers as plain factors (see the module docstring)."""
    g = {n: style_value(style, n) for n in ("articulation", "smoothness", "upper_face", "happy", "sad",
                                            "angry", "surprised")}
    activity = (1.0 + 0.3 * g["upper_face"]) * (1.0 - 0.45 * g["sad"]) * (1.0 + 0.15 * g["happy"])
    return {
        "activity": max(activity, 0.1),
        "beat_p": float(np.clip(BEAT_P * (1.0 + 0.3 * g["upper_face"] + 0.2 * g["articulation"] + 0.5 * g["angry"]),
                                0.05, 0.9)),
        "beat": max(0.2, (1.0 + 0.35 * g["articulation"]) * (1.0 + 0.5 * g["angry"])),
        "duration": max(0.5, (1.0 + 0.25 * g["smoothness"]) * (1.0 - 0.3 * g["angry"])),
        "lift_p": float(np.clip(0.3 + 0.3 * g["happy"] + 0.4 * g["surprised"] - 0.2 * g["sad"], 0.05, 0.9)),
        "lift": 1.0 + 0.5 * g["surprised"] + 0.2 * g["happy"],
        "posture_pitch": 4.0 * g["sad"] - 2.0 * g["surprised"],
        "smooth_s": 0.04 * (1.0 + g["smoothness"]),
        "tilt": 1.0 + 0.4 * g["happy"],
    }


def head_motion(prosody, fps, seed, amount=1.0, style=None):
    """[T, 3] float32 degrees (yaw, pitch, roll) for the take whose prosody is given."""
    T = prosody.n_frames
    if float(amount) == 0.0 or T == 0:
        return np.zeros((T, 3), np.float32)
    fps = float(fps)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, HEAD_STREAM]))
    gains = _gains(style)
    t = np.arange(T) / fps
    out = np.zeros((T, 3))
    # the head sways more while the voice is loud than in pauses (a slow envelope: no jitter)
    energy = 0.35 + 0.9 * _smooth(prosody.level, 0.6 * fps)
    out += sway(rng, T, fps) * SWAY_DEG * gains["activity"] * energy[:, None]
    period = rng.uniform(3.5, 5.0)
    out[:, 1] += BREATH_DEG * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    out += _postures(rng, prosody, fps, gains)
    _beats(out, rng, prosody, fps, gains)
    _phrase_ends(out, rng, prosody, fps, gains)
    # the head follows F0 a little: up with high pitch, only while voiced speech goes on
    follow = np.where(prosody.speech, np.clip(prosody.pitch_st, -6, 8), 0.0)
    out[:, 1] -= F0_DEG_PER_ST * gains["activity"] * _smooth(follow, 1.5 * fps)
    out = np.stack([_smooth(out[:, k], gains["smooth_s"] * fps * 2.5) for k in range(3)], 1)
    return (out * float(amount)).astype(np.float32)


def sway(rng, n_frames, fps, knot_s=SWAY_KNOT_S):
    """[n_frames, 3] band-limited noise, unit std per axis: Gaussian knots every ``knot_s``, smoothed
    over ~3 knots and interpolated with Catmull-Rom splines (so no corner ever shows)."""
    n_knots = int(np.ceil(n_frames / fps / knot_s)) + 8
    kernel = np.exp(-0.5 * (np.arange(-4, 5) / 1.5) ** 2)
    kernel /= np.sqrt((kernel ** 2).sum())      # unit std after smoothing
    knots = np.stack([np.convolve(rng.standard_normal(n_knots), kernel, mode="same") for _ in range(3)], 1)
    pos = np.arange(n_frames) / fps / knot_s + 4.0
    i = np.floor(pos).astype(np.int64)
    u = (pos - i)[:, None]
    p0, p1, p2, p3 = knots[i - 1], knots[i], knots[i + 1], knots[np.minimum(i + 2, n_knots - 1)]
    return 0.5 * (2 * p1 + (p2 - p0) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u ** 2
                  + (3 * p1 - p0 - 3 * p2 + p3) * u ** 3)


def bump(out, column, centre_s, length_s, height, fps):
    """Add a raised-cosine pulse (apex ``height`` at ``centre_s``) to out[:, column], in its own window."""
    first = max(0, int(np.ceil((centre_s - length_s / 2) * fps)))
    last = min(out.shape[0], int(np.floor((centre_s + length_s / 2) * fps)) + 1)
    if last <= first:
        return
    u = (np.arange(first, last) / fps - centre_s) / length_s
    out[first:last, column] += height * np.cos(np.pi * np.clip(u, -0.5, 0.5)) ** 2


def _beats(out, rng, prosody, fps, gains):
    """Nods on stressed syllables; some pitch accents lift the head instead."""
    accents = set(prosody.accents.tolist())
    for frame, strength, stressed in zip(prosody.nuclei, prosody.prominence, prosody.stressed):
        is_accent = int(frame) in accents
        if not stressed and not is_accent:
            continue
        if rng.random() > gains["beat_p"]:
            continue
        centre = frame / fps + rng.uniform(-0.03, 0.06)   # the apex sits on or just after the nucleus
        scale = gains["activity"] * (0.5 + float(strength)) * rng.uniform(0.7, 1.2)
        if is_accent and rng.random() < gains["lift_p"]:
            length = rng.uniform(0.35, 0.6) * gains["duration"]
            bump(out, 1, centre, length, -LIFT_DEG * gains["lift"] * scale, fps)
        else:
            length = rng.uniform(0.2, 0.4) * gains["duration"]
            bump(out, 1, centre, length, NOD_DEG * gains["beat"] * scale, fps)
            bump(out, 1, centre + 0.6 * length, 0.8 * length, -0.25 * NOD_DEG * gains["beat"] * scale, fps)
            bump(out, 0, centre, length, rng.normal(0, 0.4) * NOD_DEG * scale, fps)


def _phrase_ends(out, rng, prosody, fps, gains):
    """A roll tilt at each phrase end and a small settle: down after falling pitch, up after rising."""
    for first, end in prosody.phrases:
        tail = slice(max(first, end - int(0.3 * fps)), end)
        voiced = prosody.voiced[tail]
        st = prosody.pitch_st[tail][voiced]
        fall = float(st[0] - st[-1]) if st.size >= 2 else 0.0
        length = rng.uniform(0.6, 1.1) * gains["duration"]
        # the tilt peaks on the phrase's last syllable, the settle lands as the voice stops
        bump(out, 2, end / fps - 0.2, length, rng.choice([-1, 1]) * TILT_DEG * gains["tilt"] * gains["activity"]
             * rng.uniform(0.6, 1.2), fps)
        bump(out, 1, end / fps - 0.05, length, float(np.clip(fall, -3, 3)) * 0.5 * gains["activity"], fps)


def _postures(rng, prosody, fps, gains):
    """[T, 3] a posture per phrase, eased in over SETTLE_S from just after the phrase starts (the
    gesture unit begins slightly after the talk spurt: House, Beskow & Granstrom)."""
    T = prosody.n_frames
    steps = np.zeros((T, 3))
    base = rng.normal(0, 1, 3) * POSTURE_DEG * 0.5
    base[1] += gains["posture_pitch"]
    steps[0] = base
    previous = base
    for start in prosody.phrases[1:, 0] if prosody.phrases.size else ():
        onset = int(start + rng.uniform(0.05, 0.2) * fps)
        if onset >= T:
            continue
        target = rng.normal(0, 1, 3) * POSTURE_DEG * gains["activity"]
        target[1] += gains["posture_pitch"]
        steps[onset] += target - previous
        previous = target
    level = np.cumsum(steps, 0)
    width = max(1, int(round(SETTLE_S * gains["duration"] * fps)))
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(level, ((width, 0), (0, 0)), mode="edge")
    # causal: a new posture starts to ease in at its onset, not before it
    return np.stack([np.convolve(padded[:, k], kernel)[width:width + T] for k in range(3)], 1)


def _smooth(x, frames):
    width = int(round(frames))
    if width < 2:
        return np.asarray(x, np.float64)
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(np.asarray(x, np.float64), width, mode="edge")
    return np.convolve(padded, kernel, mode="same")[width:-width]
