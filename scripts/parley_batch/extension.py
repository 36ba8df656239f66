"""Loading the extension into this Blender and turning --style/--option into bpy.ops.parley.generate arguments."""
import hashlib
import os
import sys
from pathlib import Path

from .plan import PREFIX, UsageError, sha256_file

REPO = Path(__file__).resolve().parents[2]


def bpy_module_mode():
    import bpy
    return not bpy.app.binary_path


def operator_available():
    import bpy
    try:
        bpy.ops.parley.generate.get_rna_type()
        return True
    except (KeyError, AttributeError):
        return False


def enabled_package():
    """The package that registered bpy.ops.parley.generate (bl_ext.<repo>.parley, or parley)."""
    import bpy
    cls = getattr(bpy.types, "PARLEY_OT_generate", None)
    module = getattr(cls, "__module__", "") or ""
    head, sep, _ = module.partition(".parley.")
    if sep:
        return head + ".parley"
    return module if module.endswith("parley") else "parley"


def load_extension(folder=None):
    """Make bpy.ops.parley.generate available; -> a description of where it came from."""
    import addon_utils
    import bpy
    if folder is None:
        if operator_available():
            return {"kind": "enabled", "module": enabled_package()}
        for mod in addon_utils.modules(refresh=False):
            if mod.__name__.startswith("bl_ext.") and mod.__name__.endswith(".parley"):
                addon_utils.enable(mod.__name__, default_set=True)
                if operator_available():
                    bpy.context.preferences.use_preferences_save = False
                    return {"kind": "installed", "module": mod.__name__}
        folder = REPO
    import importlib.util
    folder = Path(folder).resolve()
    init = folder / "__init__.py"
    if not init.is_file():
        raise UsageError(f"no Parley extension: none installed and no {init}; install the extension zip "
                         "or pass --extension DIR")
    if "parley" not in sys.modules:
        spec = importlib.util.spec_from_file_location("parley", init, submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["parley"] = module
        spec.loader.exec_module(module)
        module.__time__ = os.path.getmtime(init)  # addon_utils reloads modules whose mtime it has not seen
    addon_utils.enable("parley", default_set=True)
    bpy.context.preferences.use_preferences_save = False  # never write the user's preferences from a batch
    if not operator_available():
        raise UsageError(f"the extension in {folder} registered no bpy.ops.parley.generate; see the messages above")
    return {"kind": "path", "path": str(folder), "module": "parley"}


def extension_identity(source):
    """Version and model hash of the loaded extension, so outputs are redone when either changes."""
    module = sys.modules.get(source.get("module", "parley"))
    folder = Path(module.__file__).parent if module and getattr(module, "__file__", None) else None
    ident = {}
    if folder:
        manifest = folder / "blender_manifest.toml"
        if manifest.is_file():
            ident["manifest"] = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
        for model in sorted((folder / "models").glob("*.onnx")):
            ident[model.name] = sha256_file(model).hexdigest()[:16]
    return ident


def head_hash(obj):
    import numpy as np
    co = np.empty(len(obj.data.vertices) * 3, dtype=np.float32)
    obj.data.vertices.foreach_get("co", co)
    return hashlib.sha256(co.tobytes() + np.asarray(obj.matrix_world, dtype=np.float32).tobytes()).hexdigest()[:16]


def operator_properties():
    import bpy
    rna = bpy.ops.parley.generate.get_rna_type()
    return {p.identifier: p for p in rna.properties if p.identifier != "rna_type"}


def coerce(prop, text, flag):
    kind = prop.type
    try:
        if kind == "BOOLEAN":
            if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            return text.lower() in ("1", "true", "yes", "on")
        if kind == "INT":
            return int(text)
        if kind == "FLOAT":
            return float(text)
        if kind == "ENUM":
            names = [i.identifier for i in prop.enum_items]
            value = text.upper() if text.upper() in names else text
            if value not in names:
                raise ValueError
            return value
        return text
    except ValueError:
        raise UsageError(f"{flag} {prop.identifier}={text}: not a valid {kind.lower()}") from None


def generate_kwargs(style, options):
    """Map --style and --option onto the operator's properties (a style axis NAME is NAME or style_NAME)."""
    props = operator_properties()
    kwargs = {}
    axes = sorted(n[6:] if n.startswith("style_") else n for n in props
                  if n.startswith("style_") or props[n].type == "FLOAT")
    for name, text in style.items():
        ident = f"style_{name}" if f"style_{name}" in props else name
        if ident not in props:
            raise UsageError(f"unknown style axis {name!r}; the operator has: {', '.join(axes)}")
        kwargs[ident] = coerce(props[ident], text, "--style")
    for name, text in options.items():
        if name not in props:
            raise UsageError(f"bpy.ops.parley.generate has no property {name!r}; it has: {', '.join(sorted(props))}")
        kwargs[name] = coerce(props[name], text, "--option")
    return kwargs



def own_armature(obj):
    """The character's own armature (an Armature modifier's object or an armature parent; not one Parley built)."""
    owner = "parley_head_of"  # = operators._head_bone.OWNER
    for mod in obj.modifiers:
        if mod.type == "ARMATURE" and mod.object is not None and owner not in mod.object.keys():
            return mod.object
    parent = obj.parent
    return parent if parent is not None and parent.type == "ARMATURE" and owner not in parent.keys() else None


def life_kwargs(kwargs, mode, obj):
    """Head motion in a batch: a file's part keeps the face's Action only, so a head that turns through a bone's
    Action (a FLAME head in shapekeys/both, a character's own head bone in every mode) gets head_motion=0 with a
    line, and an explicit head_motion > 0 is refused. A FLAME head in mode cache has it baked into the .pc2."""
    if "head_motion" not in operator_properties():
        return kwargs
    arm = own_armature(obj)
    if mode == "cache" and arm is None and not kwargs.get("head_bone"):
        return kwargs
    where = f"{arm.name}'s head bone" if arm is not None else "its bone"
    if "head_motion" not in kwargs:
        kwargs["head_motion"] = 0.0
        print(f"{PREFIX} mode {mode}: head motion off ({where}'s Action does not travel in the part files"
              + ("" if arm is not None or kwargs.get("head_bone") else "; --mode cache bakes it into the .pc2") + ")")
    elif kwargs["head_motion"] > 0:
        fix = "--mode cache, or " if arm is None and not kwargs.get("head_bone") else ""
        raise UsageError(f"--option head_motion={kwargs['head_motion']:g}: a batch keeps the face's Action only, "
                         f"not {where}'s; use {fix}head_motion=0")
    return kwargs
