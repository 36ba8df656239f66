"""Finding a character's head bone by its name (bpy-free: plain strings in, a name out).

Rigs spell the head bone many ways: Rigify (``DEF-head``, ``ORG-head``, ``head``), Mixamo
(``mixamorig:Head``, any namespace), Character Creator (``CC_Base_Head``), Advanced Skeleton
(``Head_M``), Auto-Rig Pro (``head.x``, ``c_head.x``), 3ds Max Biped (``Bip01 Head``), VRM/VRoid
(``J_Bip_C_Head``), Unreal's mannequin (``head``). A bone picked in the panel always wins.
"""
import re

# best first: a deforming bone over a control, a plain name over a prefixed one
HEAD_BONE_NAMES = ("head", "DEF-head", "mixamorig:Head", "CC_Base_Head", "Head_M", "head.x", "Bip01 Head",
                   "Bip01_Head", "J_Bip_C_Head", "c_head.x", "ORG-head", "Head_jnt", "head_jnt")
_SKIP = re.compile(r"(end|top|tip|nub|target|ik|mch|twk|eye|jaw|neck|look|null)", re.I)


def _key(name):
    """Case, separators and a namespace do not matter: 'mixamorig:Head' ~ 'Head' ~ 'HEAD' ~ 'head.x'."""
    tail = name.split(":")[-1].split("|")[-1]
    return re.sub(r"[^a-z0-9]", "", tail.lower())


def find_head_bone(bone_names, picked=""):
    """The head bone among ``bone_names``: ``picked`` when it is one of them, else the best common name,
    else a bone whose name ends in 'head' (``DEF_Head``, ``rig_head``...), else None."""
    names = list(bone_names)
    if picked:
        return picked if picked in names else None
    exact = set(names)
    for name in HEAD_BONE_NAMES:
        if name in exact:
            return name
    by_key = {}
    for name in names:
        by_key.setdefault(_key(name), name)
    for name in HEAD_BONE_NAMES:
        if _key(name) in by_key:
            return by_key[_key(name)]
    loose = [n for n in names if _key(n).endswith("head") and not _SKIP.search(_key(n)[:-4])]
    return min(loose, key=len) if loose else None
