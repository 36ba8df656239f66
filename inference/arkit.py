"""ARKit blendshape names: the curve vocabulary shared by the model, the teacher and the rig.

Canonical spelling is Apple's ``ARFaceAnchor.BlendShapeLocation`` raw value (``eyeBlink_L``,
``mouthSmile_R``, ``jawOpen``). ``_L``/``_R`` are the character's own left and right. Other tools
spell the same shapes differently (``eyeBlinkLeft`` in VRM/Ready Player Me, ``EyeBlinkLeft`` in
Live Link Face and Audio2Face); :func:`canonical_name` maps those spellings onto ours so characters
that already carry such shape keys can be driven directly.
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


def _spellings(name):
    """Yield the other common spellings of one canonical name."""
    base, side = (name[:-2], name[-1]) if name[-2:] in ("_L", "_R") else (name, "")
    long_side = {"L": "Left", "R": "Right", "": ""}[side]
    camel = base + long_side
    yield camel
    yield camel[0].upper() + camel[1:]
    yield camel.lower()
    yield name.lower()


_ALIASES = {}
for _n in ARKIT_NAMES:
    _ALIASES[_n] = _n
    for _s in _spellings(_n):
        _ALIASES.setdefault(_s, _n)
        _ALIASES.setdefault(_s.lower(), _n)


def canonical_name(name):
    """Return the canonical ARKit name for any common spelling, or None if it is not an ARKit shape."""
    return _ALIASES.get(name) or _ALIASES.get(name.lower())
