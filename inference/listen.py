"""Listening and dialogue: a character that is not speaking, over silence or over another's voice.

Pure functions on arrays; the runtime decides what audio each character hears.

- :func:`listen_head` ``(heard, fps, seed, amount, style, idle=True) -> [T, 3]`` degrees (the head
  layer's convention, :mod:`head_motion`): attentive nods at the speaker's phrase ends and pauses,
  0.2-1 s after the phrase ends (backchannels follow the end of the speaker's unit: Dittmann &
  Llewellyn 1968; Ward & Tsukahara 2000), sometimes a double nod whose second cycle is smaller
  (Mori, Den & Jokinen 2025); small "synchrony" nods in phase with the speaker's stressed syllables
  (Hadar et al. 1985); over silence, occasional spontaneous nods. ``idle=True`` adds the sway and
  breathing of :mod:`head_motion` (a lone listener); ``idle=False`` gives only the listening nods,
  to add onto a speaker's own head track in a dialogue.
- :func:`listen_curves` ``(heard, fps, seed, names, style) -> [T, K]``: the face of a listener:
  blinks (``blinks.blink_curve``, pulled to the speaker's pauses), small smiles after the speaker's
  phrases when the style smiles (``smile`` or ``happy`` > 0), every other lip and jaw curve exactly
  0 (at rest). Gaze goes on top with ``gaze.gaze(..., listening=True)``.
- :func:`plan_dialogue` ``(prosody_a, prosody_b, fps) -> DialoguePlan``: who speaks per frame and,
  for each character, a listening weight (0 on its own turns, 1 on the other's, eased over
  ``CROSSFADE_S``); :func:`compose` blends one character's speech take (the model on its own audio)
  with its listening take by that weight.

``heard`` is a :class:`prosody.Prosody` of what the character hears (the other's audio; silence
for a lone listener).
"""
from dataclasses import dataclass

import numpy as np

from .blinks import blink_curve
from .head_motion import BREATH_DEG, SWAY_DEG, bump, style_value, sway

LISTEN_STREAM = 0x115E
NOD_DEG = 3.0                # an attentive nod's chin-down amplitude
NOD_P = 0.65                 # chance of a nod after a phrase end
SYNC_P = 0.3                 # chance of a small nod with a stressed syllable of the speaker
IDLE_NODS_PER_MIN = 5.0      # spontaneous nods of a listener who hears nothing
SMILE_MAX = 0.25             # peak mouthSmile of a listener's smile at full smile style
CROSSFADE_S = 0.3
TURN_GAP_S = 1.2             # a speaker's own pauses shorter than this stay inside its turn
LIP_PREFIXES = ("mouth", "jaw", "cheekPuff", "tongue")


def _rng(seed):
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, LISTEN_STREAM]))


def _warmth(style):
    return float(np.clip(max(style_value(style, "smile"), 0.0) + style_value(style, "happy"), 0.0, 1.0))


def nod_times(heard, fps, rng, style=None):
    """(times s, amplitudes deg, cycles) of the attentive nods for what the listener hears."""
    attention = 1.0 + 0.3 * style_value(style, "upper_face") - 0.3 * style_value(style, "sad")
    times, amps, cycles = [], [], []
    for end in heard.phrase_ends:
        if rng.random() < NOD_P * attention:
            times.append(end / fps + rng.uniform(0.2, 1.0))
            amps.append(NOD_DEG * rng.uniform(0.6, 1.3) * attention)
            cycles.append(2 if rng.random() < 0.35 else 1)
    for frame in heard.nuclei[heard.stressed]:
        if rng.random() < SYNC_P * attention:
            times.append(frame / fps + rng.uniform(0.0, 0.1))
            amps.append(NOD_DEG * rng.uniform(0.15, 0.35))
            cycles.append(1)
    duration = heard.n_frames / fps
    rate = IDLE_NODS_PER_MIN / 60.0 * (0.3 if heard.phrases.size else 1.0) * attention
    t = rng.exponential(1.0 / rate) if rate > 0 else duration
    while t < duration:
        if not heard.speech[min(int(t * fps), heard.n_frames - 1)]:
            times.append(t)
            amps.append(NOD_DEG * rng.uniform(0.4, 0.9))
            cycles.append(1)
        t += rng.exponential(1.0 / rate)
    order = np.argsort(times, kind="stable")
    return np.asarray(times)[order], np.asarray(amps)[order], np.asarray(cycles, np.int64)[order]


def listen_head(heard, fps, seed, amount=1.0, style=None, idle=True):
    """[T, 3] float32 degrees (yaw, pitch, roll) of a listener hearing ``heard``."""
    T = heard.n_frames
    if float(amount) == 0.0 or T == 0:
        return np.zeros((T, 3), np.float32)
    fps = float(fps)
    rng = _rng(seed)
    out = np.zeros((T, 3))
    times, amps, cycles = nod_times(heard, fps, rng, style)
    for t0, amp, n in zip(times, amps, cycles):
        length = rng.uniform(0.3, 0.45)
        for c in range(n):   # a double nod: the second cycle is smaller
            bump(out, 1, t0 + c * 0.8 * length, length, amp * (0.6 ** c), fps)
        bump(out, 2, t0, 2 * length, rng.normal(0, 0.25) * amp, fps)
    if idle:
        calm = 0.6 * (1.0 - 0.3 * style_value(style, "sad"))
        out += sway(rng, T, fps) * SWAY_DEG * calm
        t = np.arange(T) / fps
        out[:, 1] += BREATH_DEG * np.sin(2 * np.pi * t / rng.uniform(3.5, 5.0) + rng.uniform(0, 2 * np.pi))
    return (out * float(amount)).astype(np.float32)


def listen_curves(heard, fps, seed, names, style=None):
    """[T, K] float32 face curves of a listener: blinks, small smiles, lips and jaw exactly at rest."""
    T, fps = heard.n_frames, float(fps)
    names = list(names)
    values = np.zeros((T, len(names)), np.float32)
    rng = _rng(seed)
    upper = style_value(style, "upper_face")
    ends = heard.phrase_ends / fps
    pauses = ends[ends < T / fps]
    blink = blink_curve(T, fps, seed, upper, pauses)
    for side in ("L", "R"):
        if f"eyeBlink_{side}" in names:
            values[:, names.index(f"eyeBlink_{side}")] = blink
    warmth = _warmth(style)
    if warmth > 0.0:
        smile = np.zeros((T, 1))
        for end in ends:
            if rng.random() < 0.5 + 0.4 * warmth:
                bump(smile, 0, end + rng.uniform(0.3, 0.9), rng.uniform(1.2, 2.5), SMILE_MAX * warmth, fps)
        # a faint resting smile under the bumps; overlapping bumps never pass SMILE_MAX
        smile = np.clip(smile[:, 0] + 0.3 * SMILE_MAX * warmth, 0.0, SMILE_MAX * warmth)
        for side in ("L", "R"):
            if f"mouthSmile_{side}" in names:
                values[:, names.index(f"mouthSmile_{side}")] = smile
    return values


def lip_columns(names):
    """Indices of the curves that move the lips and jaw."""
    return [i for i, n in enumerate(names) if n.startswith(LIP_PREFIXES)]


@dataclass
class DialoguePlan:
    who: np.ndarray         # [T] int8: 0 nobody, 1 A, 2 B, 3 both
    listen_a: np.ndarray    # [T] float32 in [0, 1]: A's listening weight (1 = listening take)
    listen_b: np.ndarray


def _turns(own, other, fps):
    """Own speech with its own pauses shorter than TURN_GAP_S filled, unless the other speaks in them."""
    turn = own.copy()
    edges = np.diff(np.r_[0, own.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for e, s in zip(ends[:-1], starts[1:]):
        if (s - e) / fps < TURN_GAP_S and not other[e:s].any():
            turn[e:s] = True
    return turn


def _ease(mask, fps):
    width = max(1, int(round(CROSSFADE_S * fps)))
    if width < 2:
        return mask.astype(np.float32)
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(mask.astype(np.float64), width, mode="edge")
    return np.clip(np.convolve(padded, kernel, mode="same")[width:-width], 0, 1).astype(np.float32)


def plan_dialogue(prosody_a, prosody_b, fps):
    """Who speaks when, and each character's listening weight (frames of the longer track)."""
    T = max(prosody_a.n_frames, prosody_b.n_frames)
    a = np.zeros(T, bool)
    b = np.zeros(T, bool)
    a[:prosody_a.n_frames] = prosody_a.speech
    b[:prosody_b.n_frames] = prosody_b.speech
    who = (a.astype(np.int8) + 2 * b.astype(np.int8)).astype(np.int8)
    turn_a, turn_b = _turns(a, b, fps), _turns(b, a, fps)
    return DialoguePlan(who, _ease(~turn_a, fps), _ease(~turn_b, fps))


def compose(speech_values, listen_values, weight, speech_head=None, listen_nods=None):
    """One character's take: curves (1 - w) * speech + w * listening per frame; head = its own
    ``head_motion`` (which already sways and breathes through its silences) + w * ``listen_nods``
    (``listen_head(..., idle=False)`` on the other's audio). Returns (values [T, K], head [T, 3] or None)."""
    w = np.asarray(weight, np.float32)[:, None]
    values = ((1.0 - w) * speech_values + w * listen_values).astype(np.float32)
    values[w[:, 0] == 0.0] = speech_values[w[:, 0] == 0.0]        # own turns stay bit for bit
    head = None
    if speech_head is not None:
        head = speech_head if listen_nods is None else (speech_head + w * listen_nods)
        head = np.asarray(head, np.float32)
    return values, head
