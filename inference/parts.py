"""Which of a character's meshes drive which shape keys, and which meshes share an Action (no bpy).

``plan_mesh(name, key_names)`` says what Generate does to one mesh's shape keys:

- ARKit keys (any spelling): each follows its curve. Visemes beside them stay at rest (the ARKit shapes
  already make the mouth; visemes on top would say every sound twice).
- only Oculus visemes (or VRM/VRoid vowels): driven through ``inference/visemes.py``'s mapping.
- ``tongueOut`` stays at rest everywhere (docs/visemes.md: the model has no tongue curve).

``group_plans(plans)`` puts meshes whose keys are spelled alike into one shared Action, so editing
``jawOpen`` once moves the head and the teeth together (docs/interfaces.md says why).
The Blender side (finding the meshes from the active object) is ``operators/_character.py``.
"""
from dataclasses import dataclass
from functools import lru_cache

from .arkit import RIG_NAMES, match_names, spelling_key
from .take import ShapeTarget
from .visemes import find_visemes

ARKIT, VISEMES, RIG = "ARKIT", "VISEMES", "RIG"


@dataclass
class MeshPlan:
    """What Generate does to one mesh's shape keys (no bpy: built from the names alone)."""
    name: str
    kind: str                    # ARKIT (its own ARKit keys), VISEMES (mapped), RIG (Parley's rig keys, built)
    found: dict                  # {curve or viseme name: the mesh's key name} that will be driven
    at_rest: tuple = ()          # recognised keys left at rest (visemes beside ARKit keys, tongueOut)
    why: str = "active"          # how it was found
    obj: object = None           # the Blender object (bpy side only)

    def target(self, table=None):
        """The ShapeTarget of this mesh's own keys (``table``: the VisemeTable, for VISEMES)."""
        if self.kind == VISEMES:
            return ShapeTarget.visemes(self.found, table)
        return ShapeTarget(tuple(self.found.values()), tuple(self.found))

    def channels(self):
        """{key name: what drives it}: the F-curves this mesh needs in a shared Action."""
        return {key: (self.kind == VISEMES, source) for source, key in self.found.items()}

    def summary(self):
        """One short line for the panel."""
        if self.kind == RIG:
            return "Parley's rig (51 ARKit keys, built by Generate)"
        if self.kind == VISEMES:
            text = f"{len(self.found)} visemes through Parley's mapping"
        else:
            text = f"{len(self.found)} ARKit keys"
        rest = [n for n in self.at_rest if n != "tongueOut"]
        if rest:
            text += f"; its {len(rest)} visemes stay at rest"
        return text


def plan_mesh(name, key_names, why="active"):
    """-> MeshPlan, or None when no key of ``key_names`` (the Basis excluded) is a face shape Parley drives."""
    arkit, visemes, tongue = _recognise(tuple(key_names))
    if arkit:
        return MeshPlan(name, ARKIT, dict(arkit), tuple(visemes.values()) + tongue, why)
    if visemes:
        return MeshPlan(name, VISEMES, dict(visemes), tongue, why)
    return None


@lru_cache(maxsize=512)
def _recognise(key_names):
    """(ARKit {curve: key}, visemes {viseme: key}, tongueOut keys) of a tuple of key names; cached, since the
    panel asks on every redraw."""
    return (match_names(key_names, RIG_NAMES), find_visemes(key_names),
            tuple(k for k in key_names if spelling_key(k) == "tongueout"))


def group_plans(plans):
    """Which meshes share an Action: [[plan index, ...], ...], the first plan's group first.

    A mesh joins a group when it drives the same kind of keys (ARKit or visemes), spells each shape the
    group already drives the same way, and sharing hides nothing: no key of any member would be driven
    that its own plan leaves at rest, and the other way round (a member's ``at_rest`` visemes never get
    the group's viseme curves).
    """
    groups = []  # (kind, {key name: source}, [indices])
    for i, plan in enumerate(plans):
        mine = plan.channels()
        for kind, channels, members in groups:
            if kind == _action_kind(plan) and _compatible(channels, mine, [plans[m] for m in members], plan):
                channels.update(mine)
                members.append(i)
                break
        else:
            groups.append((_action_kind(plan), dict(mine), [i]))
    return [members for _kind, _channels, members in groups]


def _action_kind(plan):
    return VISEMES if plan.kind == VISEMES else ARKIT


def _compatible(channels, mine, members, plan):
    by_source = {source: key for key, source in channels.items()}
    for key, source in mine.items():
        if channels.get(key, source) != source or by_source.get(source, key) != key:
            return False  # the same shape spelled differently, or one name for two shapes
    for member in members + [plan]:  # keys a member leaves at rest must not appear in the shared Action
        rest = set(member.at_rest)
        if rest & (set(channels) | set(mine)):
            return False
    return True


def group_target(plans, table=None):
    """One ShapeTarget over the union of the plans' keys (the shared Action's F-curves), first plan first."""
    found = {}
    for plan in plans:
        for source, key in plan.found.items():
            found.setdefault(source, key)
    return MeshPlan("", plans[0].kind, found).target(table)
