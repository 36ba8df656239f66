"""Parley batch: animate a folder of speech with ``bpy.ops.parley.generate``, from a real Blender or bpy.

    blender --background SCENE.blend --python scripts/batch.py -- --object HEAD --audio PATH_OR_DIR [...] \
        --out DIR [--mode shapekeys|cache|both] [--style NAME=VALUE ...] [--seed N] [--fps F] [--jobs J]
    python scripts/batch.py --scene SCENE.blend --object HEAD --audio PATH_OR_DIR [...] --out DIR [...]

Output in DIR, all named after the audio files:
    <scene>.blend         the scene with one Action per audio file (fake user; the first one assigned)
    parley/<name>.pc2     mesh caches (modes cache/both), where a .blend in DIR looks for ``//parley/``
    .parley_parts/        per file: <name>.blend (its Action) and <name>.json (sidecar, written last)
    parley_batch.json     the summary of the last run, written last
    .parley_work/         worker jobs and logs, kept only when a file failed
Exit code: 0 when every file succeeded or was up to date, 1 when any failed, 2 for bad arguments.

The operator is the API: each file is one ``bpy.ops.parley.generate(audio_path=..., mode=..., seed=...,
start_frame=..., <style axes>=..., <--option NAME=VALUE>...)`` on HEAD in a scene prepared once (rig
built, saved as DIR/.parley_work-<host>-<pid>.blend so ``//`` is DIR). Its Action is written to its own part file
and removed again, so every file starts from the same state: results do not depend on the order or on
how files are spread over workers. ``--jobs J`` splits the files into J slices: this process animates one,
J-1 worker processes (each its own Blender, or Python with bpy) the others; the parent then
appends the parts in sorted name order.

Resuming: a file is skipped when its sidecar holds the same key (SHA-256 of the audio bytes and every
setting, the head's geometry and the extension's version and model) and its outputs are all there.
A failed file leaves no outputs (stale ones from earlier runs are removed too) and never stops others.

The extension: an installed one (``bl_ext.<repo>.parley``, enabled if it is not), else ``--extension
DIR``, else this repository. A folder is loaded as the package ``parley`` straight from its
``__init__.py`` (no copy, no symlink) and enabled with ``addon_utils`` so its preferences exist.
"""
import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

SCRIPT_START = time.time()
REPO = Path(__file__).resolve().parents[1]
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")  # = inference.audio.SUPPORTED
MODES = {"shapekeys": "SHAPE_KEYS", "cache": "MESH_CACHE", "both": "BOTH"}
PARTS, WORK, MANIFEST = ".parley_parts", ".parley_work", "parley_batch.json"
PREFIX = "parley-batch:"


class UsageError(Exception):
    """Bad arguments or scene: exit 2 before any file is touched."""


class FileFailed(Exception):
    """One file failed (the operator's message); the batch goes on with the others."""


def script_argv(argv):
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="batch.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", help="the .blend to open (needed with the bpy module; default: Blender's open file)")
    p.add_argument("--object", help="the head object's name")
    p.add_argument("--audio", nargs="+", default=[], help="audio files and/or folders (not recursive)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--mode", choices=sorted(MODES), default="shapekeys")
    p.add_argument("--style", nargs="+", action="extend", default=[], metavar="NAME=VALUE")
    p.add_argument("--option", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="any other property of bpy.ops.parley.generate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dialogue", metavar="OTHER:AUDIO_DIR",
                   help="dialogue: each file's character also listens to OTHER's line of the same name in AUDIO_DIR "
                        "(nods, blinks, no lip motion while OTHER speaks) and looks at OTHER; run again with the "
                        "roles swapped for OTHER's side")
    p.add_argument("--fps", type=float, help="scene frame rate (default: the scene's)")
    p.add_argument("--start-frame", type=int, help="first frame of each take (default: the scene's start)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes, each with its own Blender")
    p.add_argument("--extension", help="load the extension from this folder instead")
    p.add_argument("--force", action="store_true", help="redo files even when their outputs are up to date")
    p.add_argument("--no-merge", action="store_true",
                   help="only per-file outputs (parts, .pc2, sidecars): for farm tasks sharing one --out; "
                        "a last run without it merges them (every file is then up to date)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.worker:
        missing = [f"--{n}" for n in ("object", "audio", "out") if not getattr(args, n)]
        if missing:
            p.error("missing " + ", ".join(missing))
        if args.jobs < 1:
            p.error("--jobs must be at least 1")
    return args


def pairs(items, flag):
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{flag} takes NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


# ---------------------------------------------------------------- files, keys, sidecars (no bpy)

def discover(paths):
    """-> (inputs, ignored): inputs are (name, path, problem-or-None) sorted by name."""
    found, ignored = [], []
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or not child.is_file():
                    continue
                if child.suffix.lower() in AUDIO_EXTENSIONS:
                    found.append((child, None))
                else:
                    ignored.append(child)
        elif not path.exists():
            found.append((path, "file not found; check the path"))
        elif path.suffix.lower() not in AUDIO_EXTENSIONS:
            found.append((path, f"not an audio file Parley reads ({path.suffix or 'no extension'}); "
                                f"use {', '.join(AUDIO_EXTENSIONS)}"))
        else:
            found.append((path, None))
    stems = {}
    for path, _ in found:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    inputs, seen = [], {}
    for path, problem in found:
        name = path.stem if stems[path.stem] == 1 else path.name
        if seen.get(name) == path.resolve():  # the same file given twice
            continue
        if name in seen:  # outputs are named after files: two different a.wav cannot both be "a"
            name = str(path)
            problem = problem or "another input has the same file name; rename one of them"
        seen[name] = path.resolve()
        inputs.append((name, path, problem))
    return sorted(inputs), ignored


def sha256_file(path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def file_key(path, settings):
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    return sha256_file(path, h).hexdigest()


def write_json_atomic(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def outputs_of(out, name, mode):
    paths = {"part": out / PARTS / f"{name}.blend"}
    if mode in ("cache", "both"):
        paths["pc2"] = out / "parley" / f"{name}.pc2"
    return paths


def up_to_date(out, name, key):
    sidecar = out / PARTS / f"{name}.json"
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    for rel, size in data.get("outputs", {}).items():
        p = out / rel
        if not p.is_file() or p.stat().st_size != size:
            return None
    return data


def remove_outputs(out, name, mode):
    for p in [out / PARTS / f"{name}.json", *outputs_of(out, name, "both").values()]:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def audio_duration(path):
    """Seconds, or None; aud where Blender has it (Debian's build has not), else soundfile, else wave."""
    try:
        import aud
        sound = aud.Sound(str(path))
        return sound.length / sound.specs[0]
    except Exception:
        pass
    try:
        import soundfile
        return soundfile.info(str(path)).duration
    except Exception:
        pass
    try:
        import wave
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    except Exception:
        return None


def summary_table(rows, out):
    lines = [f"{'file':<32} {'duration':>9} {'frames':>7} {'seconds':>8}  status"]
    for r in rows:
        dur = f"{r['duration']:.2f} s" if r.get("duration") is not None else "-"
        frames = str(r["frames"]) if r.get("frames") is not None else "-"
        secs = f"{r['seconds']:.2f}" if r.get("seconds") is not None else "-"
        status = r["status"] + (f": {r['message']}" if r.get("message") else "")
        lines.append(f"{r['file']:<32} {dur:>9} {frames:>7} {secs:>8}  {status}")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "up to date", "FAILED")}
    lines.append(f"{len(rows)} files: {counts['ok']} animated, {counts['up to date']} up to date, "
                 f"{counts['FAILED']} failed; output in {out}")
    return "\n".join(lines)


def partition(entries, jobs):
    """Longest-first over the least-loaded worker (by file size); each slice keeps name order."""
    bins = [[] for _ in range(jobs)]
    load = [0] * jobs
    for e in sorted(entries, key=lambda e: (-e["size"], e["name"])):
        k = load.index(min(load))
        bins[k].append(e)
        load[k] += e["size"]
    return [sorted(b, key=lambda e: e["name"]) for b in bins if b]


# ---------------------------------------------------------------- Blender side

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


def life_kwargs(kwargs, mode):
    """Head motion in a batch: baked into the .pc2 in mode cache; the part files of the other modes carry the
    face's Action only, not the head bone's, so there it is off unless asked for (and then refused)."""
    props = operator_properties()
    if "head_motion" not in props or mode == "cache":
        return kwargs
    if "head_motion" not in kwargs:
        kwargs["head_motion"] = 0.0
        print(f"{PREFIX} mode {mode}: head motion off (its bone's Action does not travel in the part files; "
              "--mode cache bakes it into the .pc2)")
    elif kwargs["head_motion"] > 0:
        raise UsageError(f"--option head_motion needs --mode cache in a batch (mode {mode} keeps the face's Action "
                         "only); or set head_motion=0")
    return kwargs


def dialogue_partner(spec, kwargs):
    """--dialogue OTHER:AUDIO_DIR -> (folder of OTHER's lines); sets look_at=OTHER unless given."""
    import bpy
    other, sep, folder = (spec or "").partition(":")
    if not spec:
        return None
    if not sep or not other or not folder:
        raise UsageError(f"--dialogue takes OTHER_OBJECT:AUDIO_DIR, got {spec!r}")
    if bpy.data.objects.get(other) is None:
        raise UsageError(f"--dialogue: no object named {other!r} in the scene")
    if not Path(folder).is_dir():
        raise UsageError(f"--dialogue: {folder} is not a folder")
    kwargs.setdefault("look_at", other)
    return Path(folder).expanduser().absolute()


def partner_line(folder, name):
    """OTHER's audio of the same name (any supported extension), or None."""
    for ext in AUDIO_EXTENSIONS:
        for candidate in (folder / f"{name}{ext}", folder / f"{name}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


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


def has_rig(obj):
    return bool(obj.data.shape_keys and len(obj.data.shape_keys.key_blocks) > 1)


def ensure_rig(obj, mode):
    """Build the rig once in the prepared scene, so workers and the final .blend share it."""
    import bpy
    if mode == "cache" or has_rig(obj):
        return
    for name in ("build_rig", "rig_build", "rebuild_rig"):
        op = getattr(bpy.ops.parley, name)
        try:
            op.get_rna_type()
        except (KeyError, AttributeError):
            continue
        with bpy.context.temp_override(active_object=obj, object=obj, selected_objects=[obj]):
            op()
        return


class SceneState:
    """What generate may add to the prepared scene, so each file starts from the same state."""

    def __init__(self, obj):
        import bpy
        self.obj, self.scene = obj, bpy.context.scene
        self.actions = set(bpy.data.actions)
        self.sounds = set(bpy.data.sounds)
        self.modifiers = [m.name for m in obj.modifiers]
        self.shown = {m.name: (m.show_viewport, m.show_render) for m in obj.modifiers}  # existing=KEEP hides old caches
        key = obj.data.shape_keys
        self.values = {kb.name: kb.value for kb in key.key_blocks} if key else {}
        # bpy hands out a new wrapper per access, so owners are keyed by role, not by id()
        self.anim = {"object": self._anim_state(obj), "key": self._anim_state(key) if key else None}
        self.frames = (self.scene.frame_start, self.scene.frame_end)
        seq = self.scene.sequence_editor
        self.strips = set(self._strips(seq)) if seq else set()

    @staticmethod
    def _strips(seq):
        return seq.strips_all if hasattr(seq, "strips_all") else seq.sequences_all  # 4.4 renamed them

    @staticmethod
    def _anim_state(owner):
        ad = owner.animation_data
        if ad is None:
            return None
        return {"action": ad.action, "slot": getattr(ad, "action_slot", None),
                "tracks": {t.name for t in ad.nla_tracks}}

    def _restore_anim(self, owner, role):
        """Put back the action and NLA tracks; drivers (the rig's correctives) are left alone."""
        ad = owner.animation_data
        if ad is None:
            return
        before = self.anim.get(role) or {"action": None, "slot": None, "tracks": set()}
        for track in [t for t in ad.nla_tracks if t.name not in before["tracks"]]:
            ad.nla_tracks.remove(track)
        ad.action = before["action"]
        if before["slot"] is not None and hasattr(ad, "action_slot"):
            ad.action_slot = before["slot"]

    def new_actions(self):
        import bpy
        return [a for a in bpy.data.actions if a not in self.actions]

    def new_modifiers(self):
        return [m for m in self.obj.modifiers if m.name not in self.modifiers]

    def restore(self):
        import bpy
        for m in self.new_modifiers():
            self.obj.modifiers.remove(m)
        for m in self.obj.modifiers:
            m.show_viewport, m.show_render = self.shown.get(m.name, (m.show_viewport, m.show_render))
        key = self.obj.data.shape_keys
        self._restore_anim(self.obj, "object")
        if key is not None:
            self._restore_anim(key, "key")
        for a in self.new_actions():
            bpy.data.actions.remove(a)
        if key:
            for kb in key.key_blocks:
                kb.value = self.values.get(kb.name, 0.0)
        seq = self.scene.sequence_editor
        if seq:
            strips = seq.strips if hasattr(seq, "strips") else seq.sequences
            for s in [s for s in self._strips(seq) if s not in self.strips]:
                strips.remove(s)
        for s in [s for s in bpy.data.sounds if s not in self.sounds]:
            bpy.data.sounds.remove(s)
        self.scene.frame_start, self.scene.frame_end = self.frames


MODIFIER_SETTINGS = ("cache_format", "time_mode", "play_mode", "frame_start", "frame_scale", "forward_axis",
                     "up_axis", "flip_axis", "deform_mode", "interpolation", "factor", "eval_frame",
                     "eval_time", "eval_factor")


def plain(value):
    """An RNA value as JSON: enum flags (sets) and arrays become lists."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value if isinstance(value, (str, int, float, bool)) else list(value)


def pc2_frames(path):
    import struct
    with open(path, "rb") as f:
        return struct.unpack("<12siiffi", f.read(32))[5]


def animate_one(job, entry, kwargs):
    """One file: generate, keep its Action in a part file and its .pc2, restore the scene. -> result."""
    import bpy
    out, name, mode = Path(job["out"]), entry["name"], job["mode"]
    obj = bpy.data.objects[job["object"]]
    targets = outputs_of(out, name, mode)
    remove_outputs(out, name, mode)
    result = {"name": name, "file": entry["file"], "status": "FAILED", "duration": entry.get("duration")}
    state = SceneState(obj)
    t0 = time.perf_counter()
    try:
        for o in bpy.context.view_layer.objects:
            o.select_set(o == obj)
        bpy.context.view_layer.objects.active = obj
        try:
            extra = {"listen_audio": entry["listen_audio"]} if entry.get("listen_audio") else {}
            ret = bpy.ops.parley.generate(audio_path=entry["path"], mode=MODES[mode], seed=job["seed"],
                                          start_frame=job["start_frame"], **kwargs, **extra)
        except RuntimeError as exc:  # the operator's self.report({'ERROR'}, ...) arrives here
            raise FileFailed(str(exc).replace("Error: ", "", 1).strip().splitlines()[0]) from None
        if "FINISHED" not in ret:
            raise FileFailed(f"the operator returned {sorted(ret)}")
        sidecar = {"key": entry["key"], "file": entry["file"], "outputs": {}}
        if mode in ("shapekeys", "both"):
            actions = state.new_actions()
            if len(actions) != 1:
                raise FileFailed(f"expected one new Action, the operator made {len(actions)}")
            action = actions[0]
            action.name = name
            action.use_fake_user = True
            start, end = action.frame_range
            result["frames"] = int(round(end - start)) + 1
            targets["part"].parent.mkdir(parents=True, exist_ok=True)
            tmp = targets["part"].with_name(f".{name}.blend.tmp")
            bpy.data.libraries.write(str(tmp), {action}, fake_user=True)
        else:  # cache only: an empty part keeps the bookkeeping uniform
            targets["part"].parent.mkdir(parents=True, exist_ok=True)
            tmp = targets["part"].with_name(f".{name}.blend.tmp")
            bpy.data.libraries.write(str(tmp), set())
        if "pc2" in targets:
            caches = [m for m in state.new_modifiers() if m.type == "MESH_CACHE"]
            if not caches:
                raise FileFailed("the operator added no Mesh Cache modifier")
            made = Path(bpy.path.abspath(caches[0].filepath)).resolve()
            if not made.is_file():
                raise FileFailed(f"the operator's cache {made} is missing")
            targets["pc2"].parent.mkdir(parents=True, exist_ok=True)
            if made != targets["pc2"].resolve():
                os.replace(made, targets["pc2"])
            result["frames"] = result.get("frames") or pc2_frames(targets["pc2"])
            sidecar["modifier"] = {k: plain(getattr(caches[0], k)) for k in MODIFIER_SETTINGS if hasattr(caches[0], k)}
        os.replace(tmp, targets["part"])
        for p in targets.values():
            sidecar["outputs"][p.relative_to(out).as_posix()] = p.stat().st_size
        if result["duration"] is None and result.get("frames"):  # no decoder here for this format: the take's length
            render = bpy.context.scene.render
            result["duration"] = result["frames"] / (render.fps / render.fps_base)
        result.update(status="ok", seconds=time.perf_counter() - t0, frames=result.get("frames"))
        sidecar.update({k: result.get(k) for k in ("duration", "frames", "seconds")})
        write_json_atomic(out / PARTS / f"{name}.json", sidecar)  # last: the file counts as done from here on
    except Exception as exc:
        message = str(exc) if isinstance(exc, FileFailed) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, FileFailed):
            traceback.print_exc()
        result.update(message=message.splitlines()[0] if message else type(exc).__name__,
                      seconds=time.perf_counter() - t0)
        remove_outputs(out, name, mode)
        for leftover in (out / PARTS).glob(f".{name}.blend.tmp"):
            leftover.unlink()
    finally:
        state.restore()
    return result


def run_entries(job, entries, report):
    """Animate entries in this process; report(result) after each."""
    kwargs = job["kwargs"]
    for entry in entries:
        result = animate_one(job, entry, kwargs)
        report(result)


def worker_main(job_path):
    """A worker process: open the prepared scene, load the extension, animate its slice."""
    import bpy
    job = json.loads(Path(job_path).read_text())
    results = Path(job["results"])

    def emit(record):
        with open(results, "a") as f:
            f.write(json.dumps(record) + "\n")

    if bpy_module_mode() or Path(bpy.data.filepath or "").resolve() != Path(job["scene"]).resolve():
        bpy.ops.wm.open_mainfile(filepath=job["scene"])
    src = job["extension"]
    load_extension(src.get("path")) if src["kind"] == "path" else load_extension()
    # No thread cap per worker: onnxruntime's results move in the last bits with its thread count, and
    # --jobs must not change results; every worker runs the model as the preferences say.
    emit({"event": "ready", "t": time.time()})
    run_entries(job, job["entries"], lambda r: emit({"event": "result", **r}))
    return 0


def worker_command(job_path, scene):
    import bpy
    if bpy_module_mode():
        return [sys.executable, str(Path(__file__).resolve()), "--worker", str(job_path)]
    return [bpy.app.binary_path, "--background", str(scene), "--python-exit-code", "1",
            "--python", str(Path(__file__).resolve()), "--", "--worker", str(job_path)]


def run_workers(job, entries, jobs, report, timing):
    """J slices: this process animates the first itself, J-1 worker processes (each its own Blender) the
    others, so one Blender start is saved. Workers report through one JSON-lines file each."""
    work = Path(job["work"])
    work.mkdir(parents=True, exist_ok=True)
    slices = partition(entries, jobs)
    procs = []
    for k, chunk in enumerate(slices[1:], start=1):
        results = work / f"worker{k}.jsonl"
        results.write_text("")
        job_path = work / f"worker{k}.json"
        write_json_atomic(job_path, {**job, "entries": chunk, "results": str(results)})
        log = open(work / f"worker{k}.log", "w")
        spawn = time.time()
        proc = subprocess.Popen(worker_command(job_path, job["scene"]), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        procs.append({"proc": proc, "log": log, "results": results, "offset": 0, "chunk": chunk,
                      "done": set(), "spawn": spawn, "ready": None, "k": k})
    try:
        for entry in slices[0]:
            report(animate_one(job, entry, job["kwargs"]))
            poll_workers(job, procs, report, timing)  # the others' progress between our own files
        while procs:
            poll_workers(job, procs, report, timing)
            time.sleep(0.05)
    except BaseException:  # Ctrl-C or a crash here: no orphaned Blenders keep writing into --out
        for w in procs:
            w["proc"].kill()
            w["proc"].wait()
        raise


def poll_workers(job, procs, report, timing):
    """Read what the workers reported since last time; a worker gone early fails its remaining files."""
    for w in list(procs):
        finished = w["proc"].poll() is not None
        with open(w["results"]) as f:
            f.seek(w["offset"])
            text = f.read()
        complete = text[:text.rfind("\n") + 1]
        w["offset"] += len(complete.encode())
        for line in complete.splitlines():
            record = json.loads(line)
            if record.pop("event") == "ready":
                w["ready"] = record["t"]
            else:
                w["done"].add(record["name"])
                report(record)
        if finished:
            w["log"].close()
            code = w["proc"].returncode
            for entry in w["chunk"]:
                if entry["name"] not in w["done"]:
                    remove_outputs(Path(job["out"]), entry["name"], job["mode"])
                    report({"name": entry["name"], "file": entry["file"], "status": "FAILED",
                            "duration": entry.get("duration"),
                            "message": f"worker {w['k']} exited with code {code} first; see {w['log'].name}"})
            timing["workers"].append({"spawn": w["spawn"], "ready": w["ready"], "exit": time.time(),
                                      "files": len(w["chunk"]), "code": code})
            procs.remove(w)


def has_animation(obj):
    key = obj.data.shape_keys
    action = key.animation_data.action if key is not None and key.animation_data is not None else None
    return action is not None or any(m.type == "MESH_CACHE" for m in obj.modifiers)


def assemble(job, done, obj):
    """Append every part in sorted name order; the first take is assigned so the .blend plays."""
    import bpy
    out = Path(job["out"])
    first = None
    for row in sorted(done, key=lambda r: r["name"]):
        part = out / PARTS / f"{row['name']}.blend"
        with bpy.data.libraries.load(str(part), link=False) as (src, dst):
            dst.actions = list(src.actions)
        for action in dst.actions:
            if action is not None:
                action.use_fake_user = True
                first = first or (action, row)
        if first is None:
            first = (None, row)
    if first is None:
        return
    action, row = first
    key = obj.data.shape_keys
    if key is not None and key.animation_data is not None and key.animation_data.action is not None:
        return  # the head's own animation stays as it was; the takes wait in the file (fake users)
    if action is not None and key is not None:
        key = obj.data.shape_keys
        key.animation_data_create().action = action
        if hasattr(key.animation_data, "action_slot") and key.animation_data.action_slot is None and action.slots:
            key.animation_data.action_slot = action.slots[0]
    settings = json.loads((out / PARTS / f"{row['name']}.json").read_text()).get("modifier")
    if settings:
        mod = obj.modifiers.new("Parley cache", "MESH_CACHE")
        for k, v in settings.items():
            try:
                setattr(mod, k, set(v) if isinstance(v, list) and mod.bl_rna.properties[k].is_enum_flag else v)
            except (AttributeError, TypeError, ValueError):
                pass  # a setting this Blender does not have
        mod.filepath = f"//parley/{row['name']}.pc2"


def main(argv):
    args = parse_args(script_argv(argv))
    if args.worker:
        return worker_main(args.worker)
    import bpy
    style, options = pairs(args.style, "--style"), pairs(args.option, "--option")
    out = Path(args.out).expanduser().absolute()
    if args.scene:
        if not Path(args.scene).is_file():
            raise UsageError(f"scene {args.scene} not found")
        bpy.ops.wm.open_mainfile(filepath=str(Path(args.scene).absolute()))
    elif bpy_module_mode() or not bpy.data.filepath:
        raise UsageError("no scene: pass --scene SCENE.blend (or open one: blender --background SCENE.blend ...)")
    scene_path = Path(bpy.data.filepath)
    if (out / f"{scene_path.stem}.blend").resolve() == scene_path.resolve():
        raise UsageError(f"--out {args.out} holds the scene itself: the output would replace {scene_path.name}; "
                         "choose another output folder")
    source = load_extension(args.extension)
    extension_loaded = time.time()
    obj = bpy.data.objects.get(args.object)
    if obj is None or obj.type != "MESH":
        meshes = ", ".join(sorted(o.name for o in bpy.data.objects if o.type == "MESH")) or "none"
        raise UsageError(f"no mesh object named {args.object!r} in {scene_path.name}; meshes: {meshes}")
    kwargs = life_kwargs(generate_kwargs(style, options), args.mode)
    partner = dialogue_partner(args.dialogue, kwargs)
    if has_animation(obj) and "existing" in operator_properties() and "existing" not in kwargs:
        # the operator's default (STOP) would refuse every file; each take is made beside the old animation
        kwargs["existing"] = "KEEP"
        print(f"{PREFIX} {args.object} already has animation: it stays, and each take is made with existing=KEEP")
    scene = bpy.context.scene
    if args.fps:
        scene.render.fps = max(1, round(args.fps))
        scene.render.fps_base = scene.render.fps / args.fps
    start_frame = scene.frame_start if args.start_frame is None else args.start_frame
    settings = {"object": args.object, "mode": args.mode, "seed": args.seed, "start_frame": start_frame,
                "fps": scene.render.fps / scene.render.fps_base, "kwargs": kwargs, "head": head_hash(obj),
                "extension": extension_identity(source), "blender": bpy.app.version_string}
    inputs, ignored = discover(args.audio)
    if not inputs:
        raise UsageError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {' '.join(args.audio)}")
    rows, todo = {}, []
    for name, path, problem in inputs:
        row = {"name": name, "file": str(path), "path": str(path)}
        if problem:
            rows[name] = {**row, "status": "FAILED", "message": problem}
            continue
        line = partner_line(partner, name) if partner else None
        if partner and line is None:
            rows[name] = {**row, "status": "FAILED", "message": f"--dialogue: no line named {name} in {partner}"}
            continue
        keyed = {**settings, "listen": sha256_file(line).hexdigest()} if line else settings
        row.update(key=file_key(path, keyed), size=path.stat().st_size, listen_audio=str(line) if line else None)
        known = None if args.force else up_to_date(out, name, row["key"])
        if known:
            rows[name] = {**row, **{k: known.get(k) for k in ("duration", "frames")},
                          "status": "up to date", "seconds": 0.0}
        else:
            todo.append({**row, "duration": audio_duration(path)})
    for p in ignored:
        print(f"{PREFIX} ignored {p.name}: not an audio file Parley reads")
    print(f"{PREFIX} {len(inputs)} files: {len(todo)} to animate, "
          f"{sum(r['status'] == 'up to date' for r in rows.values())} up to date, jobs={args.jobs}")

    out.mkdir(parents=True, exist_ok=True)
    ensure_rig(obj, args.mode)
    run_id = f"{socket.gethostname()}-{os.getpid()}"  # farm tasks may share --out: nothing shared is written
    prepared = out / f"{WORK}-{run_id}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(prepared))  # from here on '//' is the output folder
    try:
        return run_and_merge(args, inputs, ignored, rows, todo, settings, source, out, obj, scene_path, run_id,
                             prepared, extension_loaded, kwargs, start_frame)
    finally:
        if prepared.exists():
            prepared.unlink()


def run_and_merge(args, inputs, ignored, rows, todo, settings, source, out, obj, scene_path, run_id, prepared,
                  extension_loaded, kwargs, start_frame):
    """Animate what is not up to date (here and/or in workers), merge, report; -> the exit code."""
    import bpy
    timing = {"script_start": SCRIPT_START, "extension_loaded": extension_loaded, "ready": time.time(),
              "workers": []}
    job = {"out": str(out), "object": args.object, "mode": args.mode, "seed": args.seed,
           "start_frame": start_frame, "kwargs": kwargs, "scene": str(prepared), "extension": source,
           "work": str(out / WORK / run_id)}
    counter = [0]

    def report(result):
        counter[0] += 1
        result.pop("key", None)
        rows[result["name"]] = result
        tail = f"ok {result['seconds']:.2f} s" if result["status"] == "ok" else f"FAILED: {result.get('message')}"
        print(f"{PREFIX} [{counter[0]}/{len(todo)}] {Path(result['file']).name}: {tail}", flush=True)

    t_anim = time.time()
    if args.jobs == 1 or len(todo) <= 1:
        run_entries(job, todo, report)
    else:
        if args.mode != "cache" and not has_rig(obj):
            # no rig operator ran: the first file builds the rig here, and the workers start from it
            run_entries(job, todo[:1], report)
            todo_workers = todo[1:]
            bpy.ops.wm.save_as_mainfile(filepath=str(prepared))
        else:
            todo_workers = todo
        run_workers(job, todo_workers, min(args.jobs, len(todo_workers)), report, timing)
    timing["animate_end"] = time.time()
    timing["animate_wall"] = timing["animate_end"] - t_anim

    final = out / f"{scene_path.stem}.blend"
    if not args.no_merge:
        obj = bpy.data.objects[args.object]
        assemble(job, [r for r in rows.values() if r["status"] in ("ok", "up to date")], obj)
        tmp = out / f".{scene_path.stem}-{run_id}.blend.tmp"
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True)
        os.replace(tmp, final)
    timing["end"] = time.time()
    ordered = [rows[name] for name, _, _ in inputs]
    for r in ordered:
        r.pop("path", None)
        r.pop("size", None)
        r["file"] = Path(r["file"]).name
    print(summary_table(ordered, out))
    failed = any(r["status"] == "FAILED" for r in ordered)
    work = Path(job["work"])
    if not failed and work.is_dir():  # worker logs stay when something failed
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
        if not any(work.parent.iterdir()):
            work.parent.rmdir()
    if not args.no_merge:
        write_json_atomic(out / MANIFEST, {"settings": settings, "files": ordered, "timing": timing,
                                           "extension_source": source,
                                           "blend": final.name, "ignored": [p.name for p in ignored]})
    return 1 if failed else 0


def entry_point():
    try:
        code = main(sys.argv)
    except UsageError as exc:
        print(f"{PREFIX} error: {exc}", file=sys.stderr)
        code = 2
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception:
        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
