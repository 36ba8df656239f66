"""The teacher's named style axes, their ranges, defaults and the prior the corpus samples from.

Every axis is a plain number an animator can read: 0 is a neutral speaker, the ends of the range
are the extremes the teacher can produce. The model learns these names (plus free latent
dimensions) so its sliders mean what they say.
"""
import numpy as np

from inference.style import StyleAxis

STYLE_AXES = (
    StyleAxis("articulation", -1.0, 1.0, 0.0, "mumbled (-1) to hyper-articulated (+1)"),
    StyleAxis("jaw_lips", -1.0, 1.0, 0.0, "lip-driven (-1) to jaw-driven (+1) speech (JALI's JA/LI)"),
    StyleAxis("smile", -1.0, 1.0, 0.0, "frown bias (-1) to smile bias (+1)"),
    StyleAxis("asymmetry", -1.0, 1.0, 0.0, "mouth pulled to the character's right (-1) or left (+1)"),
    StyleAxis("timing", -1.0, 1.0, 0.0, "motion lags (-1) or leads (+1) the audio, 40 ms per unit"),
    StyleAxis("smoothness", -1.0, 1.0, 0.0, "crisp (-1) to smooth, lazy transitions (+1)"),
    StyleAxis("upper_face", -1.0, 1.0, 0.0, "still (-1) to animated brows and frequent blinks (+1)"),
    StyleAxis("happy", 0.0, 1.0, 0.0, "happiness intensity"),
    StyleAxis("sad", 0.0, 1.0, 0.0, "sadness intensity"),
    StyleAxis("angry", 0.0, 1.0, 0.0, "anger intensity"),
    StyleAxis("surprised", 0.0, 1.0, 0.0, "surprise intensity"),
)
STYLE_NAMES = tuple(a.name for a in STYLE_AXES)
EMOTIONS = ("happy", "sad", "angry", "surprised")


def sample_style(rng):
    """Draw one speaker style from the corpus prior: [S] float32 in STYLE_NAMES order.

    Continuous axes are normal around 0 (std 0.45, clipped to range); at most one emotion is
    active at a time (60% of speakers are neutral) with a uniform intensity.
    """
    values = {}
    for axis in STYLE_AXES:
        if axis.name in EMOTIONS:
            values[axis.name] = 0.0
        else:
            values[axis.name] = axis.clamp(rng.normal(0.0, 0.45))
    if rng.random() < 0.4:
        values[EMOTIONS[rng.integers(len(EMOTIONS))]] = float(rng.uniform(0.2, 1.0))
    return np.array([values[n] for n in STYLE_NAMES], dtype=np.float32)
