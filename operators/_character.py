"""A whole character from its head: every mesh whose shape keys Generate drives, and how.

Characters are split into meshes (head, teeth, tongue, eyes, lashes, brows, beard), each with its own
shape keys under the same names. Starting from the active object, Parley finds the character's other
meshes through

- the armature that deforms the head (its parent, or the object of its Armature modifier): every mesh
  that armature deforms or parents (Ready Player Me, Character Creator, VRoid, MetaHuman exports);
- the parent chain: every mesh under the head's topmost parent, and the head's own children;
- the head's collection (not the scene's top collection): meshes there that stand alone (no parent,
  no children, no armature of another character), are not a Parley-rigged head of their own, and
  share at least one face shape name with the head;
- meshes added by hand (``Object.parley.character`` points at the head: *Add Selected* in the panel).

Of those, a mesh is driven when it carries ARKit-named keys (any spelling) or Oculus visemes and its
``Object.parley.include`` is ticked (the head itself always is). What each mesh does and which meshes
share an Action is decided without bpy, in ``inference/parts.py``.
"""
from dataclasses import dataclass, field

from ..inference.arkit import RIG_NAMES, spelling_key
from ..inference.parts import RIG, MeshPlan, plan_mesh


# -- Blender side: finding the meshes (bpy objects, no bpy import needed) ---------------------------------------

def armature_of(obj):
    """The armature object deforming ``obj`` (its parent, else its first Armature modifier's), or None."""
    if obj.parent is not None and obj.parent.type == "ARMATURE":
        return obj.parent
    for mod in obj.modifiers if obj.type == "MESH" else ():
        if mod.type == "ARMATURE" and mod.object is not None:
            return mod.object
    return None


def _root(obj):
    while obj.parent is not None:
        obj = obj.parent
    return obj


def _descendants(obj):
    out, todo = [], list(obj.children)
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(child.children)
    return out


def key_names(obj):
    key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
    return key.key_blocks.keys()[1:] if key is not None else []


def _why(obj, other, scene, arm, family, head_names):
    """Why ``other`` belongs to ``obj``'s character, or None."""
    if getattr(other.parley, "character", None) == obj:
        return "added"
    if arm is not None and armature_of(other) == arm:
        return f"armature {arm.name}"
    if other in family:
        return "parented"
    if other.parent is not None or other.children or armature_of(other) is not None:
        return None
    shared = [c for c in obj.users_collection if c != scene.collection and c in other.users_collection]
    if not shared:
        return None
    key = other.data.shape_keys
    if key is not None and "parley_rig" in key.keys():
        return None  # a FLAME head of its own
    names = {spelling_key(n) for n in key_names(other)}
    return f"collection {shared[0].name}" if names & head_names else None


def find(obj, scene):
    """[MeshPlan] of ``obj``'s character, ``obj`` first; each with ``.obj``; unticked meshes included (the panel
    lists them) with ``why`` kept: callers skip plans whose ``obj.parley.include`` is off."""
    head = plan_mesh(obj.name, key_names(obj)) or MeshPlan(obj.name, RIG, {n: n for n in RIG_NAMES})
    head.obj = obj
    head_names = {spelling_key(n) for n in (key_names(obj) or RIG_NAMES)}
    arm = armature_of(obj)
    family = set(_descendants(_root(obj))) | set(_descendants(obj))
    if _root(obj).type == "MESH":
        family.add(_root(obj))
    plans = [head]
    for other in scene.objects:
        if other == obj or other.type != "MESH" or other.data.shape_keys is None:
            continue
        why = _why(obj, other, scene, arm, family, head_names)
        plan = plan_mesh(other.name, key_names(other), why) if why else None
        if plan is not None:
            plan.obj = other
            plans.append(plan)
    return plans


def driven(plans):
    """The plans Generate drives: the head, and every other mesh whose Include box is ticked."""
    return [p for i, p in enumerate(plans) if i == 0 or getattr(p.obj.parley, "include", True)]


@dataclass
class Cast:
    """Everything Generate needs to know about the character before the take runs."""
    plans: list                  # the driven meshes' MeshPlans, the head first
    groups: list                 # [[plan index, ...]] one shared Action each, the head's first
    targets: list                # one ShapeTarget per group (the Action's F-curves)
    rig_source: object           # the head's: (vertices, triangles) to build Parley's rig, a Rig, or None
    caches: list = field(default_factory=list)  # [(plan, Rig, ShapeTarget)] of the other meshes, for their .pc2

    @property
    def head(self):
        return self.plans[0]

    def objects(self, group):
        return [self.plans[i].obj for i in self.groups[group]]


def cast(obj, scene, table_path="", want_cache=False):
    """The character of the active object as Generate will drive it (reads Blender data; main thread)."""
    from ..inference.parts import VISEMES, group_plans, group_target
    from ..inference.visemes import load_viseme_table
    from . import _shapekeys
    plans = driven(find(obj, scene))
    table = load_viseme_table(table_path or None) if any(p.kind == VISEMES for p in plans) else None
    groups = group_plans(plans)
    targets = [group_target([plans[i] for i in members], table) for members in groups]
    head = plans[0]
    if head.kind == RIG:
        rig_source = (_shapekeys.vertices(obj).astype("float64"), _shapekeys.triangles(obj))
    else:
        rig_source = _shapekeys.rig_from_keys(obj, head.target(table).shapes) if want_cache else None
    caches = []
    if want_cache:
        for plan in plans[1:]:
            caches.append((plan, _shapekeys.rig_from_keys(plan.obj, plan.target(table).shapes), plan.target(table)))
    return Cast(plans, groups, targets, rig_source, caches)
