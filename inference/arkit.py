"""ARKit blendshape names: the curve vocabulary shared by the model, the teacher and the rig.

Canonical spelling is Apple's ``ARFaceAnchor.BlendShapeLocation`` raw value (``eyeBlink_L``,
``mouthSmile_R``, ``jawOpen``). ``_L``/``_R`` are the character's own left and right. Other tools
spell the same shapes differently (``eyeBlinkLeft`` in VRM/Ready Player Me, ``EyeBlinkLeft`` in
Live Link Face and Audio2Face, ``eye_blink_left`` elsewhere); :func:`canonical_name` maps those
spellings onto ours, and :func:`match_names` finds a vocabulary in a mesh's shape-key names, so
characters that already carry such shape keys can be driven directly.
"""

ARKIT_NAMES = (
    "browDown_L", "browDown_R", "browInnerUp", "browOuterUp_L", "browOuterUp_R",
    "cheekPuff", "cheekSquint_L", "cheekSquint_R",
    "eyeBlink_L", "eyeBlink_R", "eyeLookDown_L", "eyeLookDown_R", "eyeLookIn_L", "eyeLookIn_R",
    "eyeLookOut_L", "eyeLookOut_R", "eyeLookUp_L", "eyeLookUp_R",
    "eyeSquint_L", "eyeSquint_R", "eyeWide_L", "eyeWide_R",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimple_L", "mouthDimple_R", "mouthFrown_L", "mouthFrown_R",
    "mouthFunnel", "mouthLeft", "mouthLowerDown_L", "mouthLowerDown_R",
    "mouthPress_L", "mouthPress_R", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmile_L", "mouthSmile_R", "mouthStretch_L", "mouthStretch_R",
    "mouthUpperUp_L", "mouthUpperUp_R", "noseSneer_L", "noseSneer_R",
    "tongueOut",
)

# FLAME has no tongue, so the rig and the model speak the 51 others, in this order.
RIG_NAMES = tuple(n for n in ARKIT_NAMES if n != "tongueOut")

# Shapes whose short peaks carry meaning (a lip closure of 40 ms must survive resampling to 24 fps).
CLOSURE_NAMES = ("mouthClose", "mouthPress_L", "mouthPress_R", "mouthRollLower", "mouthRollUpper",
                 "eyeBlink_L", "eyeBlink_R")


_SEPARATORS = "_-. "


def spelling_key(name):
    """One key for every common spelling of a shape name, so spellings compare equal.

    ``eyeBlink_L``, ``eyeBlinkLeft``, ``EyeBlinkLeft``, ``eye_blink_left``, ``eyeBlink.L``, ``eyeBlinkL``
    and ``face:eyeBlinkLeft`` (a Maya namespace) all give ``eyeblinkleft``. Works for any vocabulary
    (viseme names too), not only ARKit's.
    """
    name = str(name).strip().rsplit(":", 1)[-1]
    if len(name) >= 2 and name[-1] in "LRlr" and name[-2] in _SEPARATORS:
        name = name[:-2] + ("left" if name[-1] in "Ll" else "right")
    elif len(name) >= 2 and name[-1] in "LR" and name[-2].islower():  # eyeBlinkL
        name = name[:-1] + ("left" if name[-1] == "L" else "right")
    return "".join(c for c in name.lower() if c not in _SEPARATORS)


_BY_KEY = {spelling_key(n): n for n in ARKIT_NAMES}


def canonical_name(name):
    """Return the canonical ARKit name for any common spelling, or None if it is not an ARKit shape."""
    return _BY_KEY.get(spelling_key(name))


def match_names(available, wanted=RIG_NAMES):
    """{wanted name: available name} for every wanted name some available name spells (first one wins).

    ``available``: e.g. a mesh's shape-key names; ``wanted``: the vocabulary to find in them (the
    rig's ARKit names by default). The result follows the order of ``wanted``.
    """
    by_key = {spelling_key(w): w for w in wanted}
    found = {}
    for name in available:
        w = by_key.get(spelling_key(name))
        if w is not None and w not in found:
            found[w] = name
    return {w: found[w] for w in wanted if w in found}
