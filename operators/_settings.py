"""Every option of ``parley.generate``, declared once: the operator, the sidebar and the batch script read it.

Plain records, importable without bpy (``import operators._settings`` from the repository root), so a
command line can build its options from the same table; ``properties()`` turns them into bpy properties.
A setting the sidebar also shows (``sidebar=True``) becomes a property of ``Scene.parley`` too, and the
operator's ``invoke`` copies it from there when the caller did not set it. Where the sidebar's default
differs from the operator's, ``sidebar_default`` says so, with the reason beside it.
The style sliders are not here: their axes come from the model file (operators/_style.py).
"""
from dataclasses import dataclass

MODES = [("SHAPE_KEYS", "Shape keys", "ARKit shape keys keyed by a new Action"),
         ("MESH_CACHE", "Mesh cache", "a .pc2 file played by a Mesh Cache modifier"),
         ("BOTH", "Both", "shape keys and a mesh cache from the same curves")]
EXISTING = [("STOP", "Stop", "stop and say so when the head already has animation or a Parley cache"),
            ("KEEP", "Keep", "keep it: the old Action goes to a muted NLA track, the old cache modifier is "
                             "disabled"),
            ("REPLACE", "Replace", "the new take replaces it on the head (the old Action stays in the file "
                                   "with a fake user; the old .pc2 stays on disk)")]
DEVICES = [("PREFS", "Preferences", "use the device set in the add-on preferences"),
           ("AUTO", "Auto", "CUDA when onnxruntime has it, else CPU"),
           ("CPU", "CPU", "run the model on the CPU"),
           ("CUDA", "CUDA", "run the model on an NVIDIA GPU (falls back to CPU with a message)")]

_UNSET = object()


@dataclass(frozen=True)
class Setting:
    """One option. kind: "str", "file", "dir", "int", "float", "bool" or "enum" (``items`` as in bpy)."""
    name: str
    kind: str
    label: str
    default: object
    description: str = ""
    items: tuple = ()
    min: float = None
    sidebar: bool = False
    sidebar_default: object = _UNSET

    @property
    def python_type(self):
        """What a command line parses the value as."""
        return {"int": int, "float": float, "bool": bool}.get(self.kind, str)

    @property
    def choices(self):
        return tuple(item[0] for item in self.items)

    def default_for(self, owner):
        """The default on the operator ("operator") or in the sidebar ("sidebar")."""
        if owner == "sidebar" and self.sidebar_default is not _UNSET:
            return self.sidebar_default
        return self.default


SETTINGS = (
    Setting("audio_path", "file", "Audio file", "", "speech to animate (wav, flac, ogg, mp3; any rate)",
            sidebar=True),
    Setting("sound_strip", "str", "Sound strip", "", "a sound strip of the Sequencer to animate instead of a "
            "file (its start is the take's start)", sidebar=True),
    Setting("mode", "enum", "Output", "SHAPE_KEYS", items=tuple(MODES), sidebar=True),
    Setting("viseme_table", "file", "Viseme table", "", "for meshes with Oculus visemes only: a viseme table "
            "(JSON, docs/visemes.md) mapping Parley's curves to visemes; empty: Parley's own "
            "(inference/visemes.json)", sidebar=True),
    Setting("seed", "int", "Seed", 0, "variation of this take", min=0, sidebar=True),
    Setting("start_frame", "int", "Start frame", 1, "frame of the first sound", sidebar=True),
    Setting("fps", "float", "Frame rate", 0.0, "frames per second of the take; 0 uses the scene's", min=0.0),
    # Scripts and batch runs leave the Sequencer alone unless asked; an animator at the sidebar wants to hear
    # the take in sync, so the sidebar ticks it by default.
    Setting("add_sound_to_sequencer", "bool", "Add sound to Sequencer", False, "add the audio as a sound strip at "
            "the start frame so playback is in sync", sidebar=True, sidebar_default=True),
    Setting("push_to_nla", "bool", "Push to NLA", False, "put the new Action on its own NLA track", sidebar=True),
    Setting("existing", "enum", "Existing animation", "STOP", items=tuple(EXISTING), sidebar=True),
    Setting("fit_frame_range", "bool", "Fit frame range", True, "extend the scene's end frame to the take's end"),
    Setting("cache_dir", "dir", "Cache folder", "", "where .pc2 files go; empty: //parley/ next to the .blend",
            sidebar=True),
    Setting("device", "enum", "Device", "PREFS", items=tuple(DEVICES)),
    Setting("threads", "int", "Threads", -1, "model threads; -1 uses the preferences, 0 automatic", min=-1),
    Setting("model_path", "file", "Model", "", "a Parley .onnx; empty uses the preferences"),
    Setting("style_seed", "int", "Style seed", -1, "draw the style from the model's prior with this seed instead "
            "of the style values; -1: use the values", min=-1),
    # Life (issue 12): on by default, so a new take moves the head and the eyes; 0 and 0 give the bare take
    Setting("head_motion", "float", "Head motion", 1.0, "head rotation from the speech's prosody (nods on stressed "
            "syllables, tilts at phrase ends, sway); 0: a still head", min=0.0, sidebar=True),
    Setting("gaze", "float", "Gaze", 1.0, "saccades and fixations replace the model's eyeLook curves, the lids "
            "follow; 0: the model's own eye curves", min=0.0, sidebar=True),
    Setting("look_at", "str", "Look at", "", "an object the eyes look at (saccades around it), followed as it or "
            "the head moves; empty: a listener straight ahead", sidebar=True),
    Setting("head_bone", "str", "Head bone", "", "the head bone of the character's own armature; empty: found by "
            "its name (head, Head, mixamorig:Head, DEF-head, CC_Base_Head, ...)", sidebar=True),
    Setting("listen_audio", "file", "Partner audio", "", "what this character hears from its dialogue partner: it "
            "listens (nods, blinks, no lip motion) while it is silent", sidebar=True),
    Setting("dialogue_object", "str", "Partner", "", "the other character of a dialogue: it speaks the partner audio "
            "and listens to this character's (Generate Dialogue)", sidebar=True),
)
BY_NAME = {s.name: s for s in SETTINGS}
SIDEBAR = tuple(s.name for s in SETTINGS if s.sidebar)


def properties(owner="operator"):
    """{name: bpy property} for the operator ("operator", every setting) or the sidebar ("sidebar")."""
    import bpy  # only here: the table above stays importable without Blender
    props = {}
    for s in SETTINGS:
        if owner == "sidebar" and not s.sidebar:
            continue
        kw = {"name": s.label, "default": s.default_for(owner)}
        if s.description:
            kw["description"] = s.description
        if s.min is not None:
            kw["min"] = s.min
        if s.kind == "enum":
            props[s.name] = bpy.props.EnumProperty(items=list(s.items), **kw)
        elif s.kind in ("str", "file", "dir"):
            subtype = {"file": "FILE_PATH", "dir": "DIR_PATH"}.get(s.kind, "NONE")
            props[s.name] = bpy.props.StringProperty(subtype=subtype, **kw)
        else:
            props[s.name] = {"int": bpy.props.IntProperty, "float": bpy.props.FloatProperty,
                             "bool": bpy.props.BoolProperty}[s.kind](**kw)
    return props
