"""Scene state and one file's animation: each file starts from the prepared scene and leaves its Action in a
part file, its .pc2 under parley/ and its sidecar last."""
import os
import time
import traceback
from pathlib import Path

from .plan import MODES, PARTS, FileFailed, outputs_of, remove_outputs, write_json_atomic


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


def write_part(state, name, mode, part, result):
    """The take's Action (none in cache mode: an empty part keeps the bookkeeping uniform) into a temporary
    part file; -> its path, renamed to ``part`` once every output is there."""
    import bpy
    part.parent.mkdir(parents=True, exist_ok=True)
    tmp = part.with_name(f".{name}.blend.tmp")
    if mode not in ("shapekeys", "both"):
        bpy.data.libraries.write(str(tmp), set())
        return tmp
    actions = state.new_actions()
    if len(actions) != 1:
        raise FileFailed(f"expected one new Action, the operator made {len(actions)}")
    action = actions[0]
    action.name = name
    action.use_fake_user = True
    start, end = action.frame_range
    result["frames"] = int(round(end - start)) + 1
    bpy.data.libraries.write(str(tmp), {action}, fake_user=True)
    return tmp


def keep_cache(state, pc2, result):
    """Move the operator's .pc2 to ``pc2``; -> its Mesh Cache modifier's settings, for the merged .blend."""
    import bpy
    caches = [m for m in state.new_modifiers() if m.type == "MESH_CACHE"]
    if not caches:
        raise FileFailed("the operator added no Mesh Cache modifier")
    made = Path(bpy.path.abspath(caches[0].filepath)).resolve()
    if not made.is_file():
        raise FileFailed(f"the operator's cache {made} is missing")
    pc2.parent.mkdir(parents=True, exist_ok=True)
    if made != pc2.resolve():
        os.replace(made, pc2)
    result["frames"] = result.get("frames") or pc2_frames(pc2)
    return {k: plain(getattr(caches[0], k)) for k in MODIFIER_SETTINGS if hasattr(caches[0], k)}


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
        heard = {"listen_audio": entry["listen_audio"]} if entry.get("listen_audio") else {}  # --dialogue
        try:
            ret = bpy.ops.parley.generate(audio_path=entry["path"], mode=MODES[mode], seed=job["seed"],
                                          start_frame=job["start_frame"], **kwargs, **heard)
        except RuntimeError as exc:  # the operator's self.report({'ERROR'}, ...) arrives here
            raise FileFailed(str(exc).replace("Error: ", "", 1).strip().splitlines()[0]) from None
        if "FINISHED" not in ret:
            raise FileFailed(f"the operator returned {sorted(ret)}")
        sidecar = {"key": entry["key"], "file": entry["file"], "outputs": {}}
        tmp = write_part(state, name, mode, targets["part"], result)
        if "pc2" in targets:
            sidecar["modifier"] = keep_cache(state, targets["pc2"], result)
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


def has_animation(obj):
    key = obj.data.shape_keys
    action = key.animation_data.action if key is not None and key.animation_data is not None else None
    return action is not None or any(m.type == "MESH_CACHE" for m in obj.modifiers)

