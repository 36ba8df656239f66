"""``parley.generate``: speech -> a take on the active head (shape keys + Action, mesh cache, or both).

The operator is the scripting API (DESIGN.md): every sidebar option is a property. ``execute`` runs
synchronously with plain progress lines (``blender --background``, the bpy module, scripts);
``invoke`` (the sidebar button) copies the sidebar's settings into unset properties and runs the
same work on a thread, with a progress bar and Esc to cancel. Nothing in the user's data changes
until the take succeeded; then everything is written in one go (one undo step), and rolled back if
that write fails.
"""
import os
import sys
import time
import traceback

import bpy

from ..inference.animate import Cancelled
from ..inference.arkit import RIG_NAMES
from ..inference.errors import ParleyError
from . import _audio, _meshcache, _runtime, _shapekeys, _style, _target
from ._job import TakeJob

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


def scene_fps(scene):
    return scene.render.fps / scene.render.fps_base


class Take:
    """What prepare() read from Blender, the job, and what commit() needs."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class GenerateMixin:
    bl_idname = "parley.generate"
    bl_label = "Generate"
    bl_description = "Animate the active head from speech"
    bl_options = {"REGISTER", "UNDO"}

    _timer = None
    _take = None

    @classmethod
    def poll(cls, context):
        ok, why = _target.usable(context.active_object)
        if not ok:
            cls.poll_message_set(why)
        return ok

    # -- reading the request ---------------------------------------------------------------
    def _copy_sidebar(self, context):
        """Unset properties take the sidebar's values (scene.parley)."""
        settings = getattr(context.scene, "parley", None)
        if settings is None:
            return
        for name in self.properties.bl_rna.properties.keys():
            if name == "rna_type" or self.properties.is_property_set(name):
                continue
            if name.startswith("style_") and name != "style_seed":
                axis = name[len("style_"):]
                if hasattr(settings.style, axis):
                    value = getattr(settings.style, axis)
                    setattr(self, name, value[:] if axis == "latent" else value)
            elif hasattr(settings, name):
                setattr(self, name, getattr(settings, name))
        if settings.source == "STRIP" and not self.properties.is_property_set("audio_path"):
            self.audio_path = ""
        elif not self.properties.is_property_set("sound_strip"):
            self.sound_strip = ""

    def _prepare(self, context):
        obj = context.active_object
        ok, why = _target.usable(obj)
        if not ok:
            raise ParleyError(why)
        want_keys = self.mode in ("SHAPE_KEYS", "BOTH")
        want_cache = self.mode in ("MESH_CACHE", "BOTH")
        path, strip = _audio.resolve_source(context, self.audio_path, self.sound_strip)
        pcm, duration = _audio.load_speech(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        start = int(strip.frame_start) if strip is not None else int(self.start_frame)
        fps = float(self.fps) if self.fps > 0 else scene_fps(context.scene)

        key = obj.data.shape_keys
        ad = key.animation_data if key is not None else None
        if want_keys and not self.push_to_nla and ad is not None and ad.action is not None and self.existing == "STOP":
            raise ParleyError(f"{obj.name}'s shape keys already play the Action '{ad.action.name}'; set Existing "
                              "animation to Keep or Replace, or tick Push to NLA")
        old_mods = _meshcache.parley_modifiers(obj) if want_cache else []
        if old_mods and self.existing == "STOP":
            raise ParleyError(f"{obj.name} already has a Parley mesh cache ('{old_mods[-1].name}'); set Existing "
                              "animation to Keep or Replace")

        keys = _target.arkit_keys(obj)
        rig_source = None
        if keys:
            targets = [(n, keys[n]) for n in RIG_NAMES if n in keys]
            if want_cache:
                rig_source = _shapekeys.rig_from_keys(obj, {n: k for n, k in targets})
        else:
            targets = [(n, n) for n in RIG_NAMES]
            rig_source = (_shapekeys.vertices(obj).astype("float64"), _shapekeys.triangles(obj))

        final = staging = where = None
        new_folders = []
        if want_cache:
            folder, where = _meshcache.cache_folder(self.cache_dir)
            _meshcache.check_writable(folder)
            final = _meshcache.unique_path(folder, stem)
            staging = _meshcache.staging_path(final)
            new_folders = _meshcache.missing_folders(folder)

        named, latent = _style.values(self, "style_")
        job = TakeJob(pcm, fps, _runtime.model_settings(context, self.device, self.threads, self.model_path),
                      (named, latent), self.seed, targets, rig_source, staging, start, self.style_seed)
        job.new_folders = new_folders
        return Take(obj=obj, path=path, strip=strip, stem=stem, start=start, fps=fps, duration=duration,
                    want_keys=want_keys, want_cache=want_cache, final=final, where=where, job=job,
                    build_keys=want_keys and not keys, started=time.perf_counter())

    # -- writing the result ----------------------------------------------------------------
    def _commit(self, context, take):
        job, obj = take.job, take.obj
        undo = []  # callables that put things back if a later step fails
        try:
            messages = []
            if take.want_keys:
                if take.build_keys:
                    added = _shapekeys.create_rig_keys(obj, job.rig)
                    undo.append(lambda: [obj.shape_key_remove(obj.data.shape_keys.key_blocks[n])
                                         for n in reversed(added) if obj.data.shape_keys
                                         and n in obj.data.shape_keys.key_blocks])
                key = obj.data.shape_keys
                had_ad = key.animation_data is not None
                ad = key.animation_data_create()
                if not had_ad:
                    undo.append(key.animation_data_clear)
                action, slot = _shapekeys.new_action(take.stem, key, [k for _c, k in job.targets], job.weights,
                                                     take.start)
                undo.append(lambda: bpy.data.actions.remove(action))
                old, old_slot = ad.action, getattr(ad, "action_slot", None)
                if self.push_to_nla:
                    track = _shapekeys.push_to_nla(ad, action, slot, f"Parley {action.name}", take.start)
                    undo.append(lambda: ad.nla_tracks.remove(track))
                    messages.append(f"Action '{action.name}' on NLA track '{track.name}'")
                else:
                    if old is not None and self.existing == "KEEP":
                        kept = _shapekeys.push_to_nla(ad, old, old_slot, f"Kept {old.name}",
                                                      old.frame_range[0], mute=True)
                        undo.append(lambda: ad.nla_tracks.remove(kept))
                    elif old is not None:
                        old.use_fake_user = True
                    undo.append(lambda: _shapekeys.assign(ad, old, old_slot))
                    _shapekeys.assign(ad, action, slot)
                    messages.append(f"Action '{action.name}'")
            if take.want_cache:
                os.replace(job.cache_path, take.final)
                _meshcache.normal_permissions(take.final)
                undo.append(lambda: os.path.exists(take.final) and os.remove(take.final))
                old_mods = _meshcache.parley_modifiers(obj)
                if old_mods and self.existing == "REPLACE":
                    mod = old_mods[-1]
                    before = (mod.filepath, mod.frame_start)
                    _meshcache.configure(mod, take.final, take.start)
                    undo.append(lambda: setattr(mod, "filepath", before[0]) or setattr(mod, "frame_start", before[1]))
                else:
                    for old_mod in old_mods:
                        old_mod.show_viewport = old_mod.show_render = False
                    mod = _meshcache.add_modifier(obj, take.final, take.start)
                    undo.append(lambda: obj.modifiers.remove(mod))
                    if hasattr(obj.modifiers, "move") and len(obj.modifiers) > 1:
                        obj.modifiers.move(len(obj.modifiers) - 1, 0)  # before subdivision and friends
                messages.append(f"mesh cache {take.final} ({take.where})")
            if self.add_sound_to_sequencer and take.strip is None:
                try:
                    strip = _add_sound(context.scene, take.path, take.start)
                except RuntimeError as exc:  # a Blender built without audio (Audaspace) cannot hold sound strips
                    job.warnings.append(f"the sound strip was not added ({str(exc).replace('Error: ', '').strip()})")
                    strip = None
                if strip is not None:
                    messages.append(f"sound strip '{strip.name}'")
            if self.fit_frame_range:
                end = take.start + job.weights.shape[0] - 1
                scene = context.scene
                if scene.frame_end < end:
                    scene.frame_end = end
            obj.parley.last_take = take.stem
            obj.parley.last_seed = self.seed
        except Exception:
            for step in reversed(undo):
                try:
                    step()
                except Exception:
                    traceback.print_exc()
            job.discard()
            raise
        frames = job.weights.shape[0]
        secs = time.perf_counter() - take.started
        for line in job.warnings:
            self.report({"WARNING"}, line)
        self.report({"INFO"}, f"Parley: {frames} frames ({take.duration:.1f} s at {take.fps:g} fps) from "
                              f"frame {take.start} in {secs:.1f} s: " + "; ".join(messages))
        return {"FINISHED"}

    def _fail(self, take, exc):
        if take is not None:
            take.job.discard()
        if isinstance(exc, (ParleyError, Cancelled)):
            self.report({"ERROR"} if not isinstance(exc, Cancelled) else {"WARNING"}, str(exc))
        elif isinstance(exc, MemoryError):
            self.report({"ERROR"}, "out of memory; split the audio into shorter files")
        else:
            traceback.print_exception(type(exc), exc, exc.__traceback__)
            self.report({"ERROR"}, f"Parley failed unexpectedly ({type(exc).__name__}: {exc}); nothing was changed. "
                                   "Please report this with the console output")
        return {"CANCELLED"}

    # -- synchronous: scripts, --background, the bpy module ----------------------------------
    def execute(self, context):
        take = None
        try:
            take = self._prepare(context)
            printer = _ProgressPrinter(take.stem)
            job = take.job
            job.on_progress = printer
            job.run()
            printer.done(job.seconds)
            return self._commit(context, take)
        except Exception as exc:
            return self._fail(take, exc)

    # -- interactive: thread + timer + Esc -----------------------------------------------------
    def invoke(self, context, event):
        self._copy_sidebar(context)
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            self._take = self._prepare(context)
        except Exception as exc:
            return self._fail(None, exc)
        self._take.job.start_thread()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        self._status(context)
        return {"RUNNING_MODAL"}

    def _status(self, context):
        job = self._take.job
        text = f"Parley: {job.stage} {int(job.progress * 100)}% - Esc to cancel"
        if context.workspace is not None:
            context.workspace.status_text_set(text)
        context.window_manager.progress_update(int(job.progress * 100))

    def _end_modal(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)

    def modal(self, context, event):
        job = self._take.job
        if event.type == "ESC" and event.value == "PRESS" and not job.done:
            job.cancel()
        if event.type in _NAVIGATION:  # looking around is fine; editing the head mid-take is not
            return {"PASS_THROUGH"}
        if event.type != "TIMER" and not job.cancelled():
            return {"RUNNING_MODAL"}
        if not job.done:
            self._status(context)
            return {"PASS_THROUGH"} if event.type == "TIMER" else {"RUNNING_MODAL"}
        job.join()
        self._end_modal(context)
        if job.error is not None:
            return self._fail(self._take, job.error)
        try:
            return self._commit(context, self._take)
        except Exception as exc:
            return self._fail(self._take, exc)

    def cancel(self, context):  # Blender closes the window or file mid-take
        if self._take is not None:
            self._take.job.cancel()
            self._take.job.join(10.0)
            self._take.job.discard()
            self._end_modal(context)


_NAVIGATION = {"MIDDLEMOUSE", "WHEELUPMOUSE", "WHEELDOWNMOUSE", "WHEELINMOUSE", "WHEELOUTMOUSE", "TRACKPADPAN",
               "TRACKPADZOOM", "MOUSEROTATE", "MOUSEMOVE", "INBETWEEN_MOUSEMOVE", "NDOF_MOTION"}


class _ProgressPrinter:
    """Plain progress lines for --background: one per stage and every 10%."""

    def __init__(self, name):
        self.name, self.last = name, (None, -1)

    def __call__(self, stage, fraction):
        if stage == "done":
            return
        tenth = int(fraction * 10)
        if (stage, tenth) != self.last and (stage != self.last[0] or tenth > self.last[1]):
            self.last = (stage, tenth)
            print(f"parley: {self.name}: {stage} {tenth * 10}%", file=sys.stdout, flush=True)

    def done(self, seconds):
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
        print(f"parley: {self.name}: done ({parts})", flush=True)


def _add_sound(scene, path, start):
    """A sound strip for the take (skipped when the same file already sits at that frame)."""
    if scene.sequence_editor is None:
        scene.sequence_editor_create()
    seq = scene.sequence_editor
    strips = seq.strips if hasattr(seq, "strips") else seq.sequences
    every = seq.strips_all if hasattr(seq, "strips_all") else seq.sequences_all
    for s in every:
        if s.type == "SOUND" and int(s.frame_start) == start and \
                os.path.normpath(bpy.path.abspath(s.sound.filepath)) == os.path.normpath(path):
            return None
    used = {s.channel for s in every}
    channel = next(c for c in range(1, 129) if c not in used)
    strip = strips.new_sound(os.path.basename(path), path, channel, start)
    return strip


def make_operator():
    """The operator class, with one style_<axis> property per axis of the installed model."""
    props = {
        "audio_path": bpy.props.StringProperty(name="Audio file", subtype="FILE_PATH",
                                               description="speech to animate (wav, flac, ogg, mp3; any rate)"),
        "sound_strip": bpy.props.StringProperty(name="Sound strip", description="a sound strip of the Sequencer "
                                                "to animate instead of a file (its start is the take's start)"),
        "mode": bpy.props.EnumProperty(name="Output", items=MODES, default="SHAPE_KEYS"),
        "seed": bpy.props.IntProperty(name="Seed", default=0, min=0, description="variation of this take"),
        "start_frame": bpy.props.IntProperty(name="Start frame", default=1, description="frame of the first sound"),
        "fps": bpy.props.FloatProperty(name="Frame rate", default=0.0, min=0.0,
                                       description="frames per second of the take; 0 uses the scene's"),
        "add_sound_to_sequencer": bpy.props.BoolProperty(name="Add sound to Sequencer", default=False,
                                                         description="add the audio as a sound strip at the "
                                                                     "start frame so playback is in sync"),
        "push_to_nla": bpy.props.BoolProperty(name="Push to NLA", default=False,
                                              description="put the new Action on its own NLA track"),
        "existing": bpy.props.EnumProperty(name="Existing animation", items=EXISTING, default="STOP"),
        "fit_frame_range": bpy.props.BoolProperty(name="Fit frame range", default=True,
                                                  description="extend the scene's end frame to the take's end"),
        "cache_dir": bpy.props.StringProperty(name="Cache folder", subtype="DIR_PATH",
                                              description="where .pc2 files go; empty: //parley/ next to the .blend"),
        "device": bpy.props.EnumProperty(name="Device", items=DEVICES, default="PREFS"),
        "threads": bpy.props.IntProperty(name="Threads", default=-1, min=-1,
                                         description="model threads; -1 uses the preferences, 0 automatic"),
        "model_path": bpy.props.StringProperty(name="Model", subtype="FILE_PATH",
                                               description="a Parley .onnx; empty uses the preferences"),
        "style_seed": bpy.props.IntProperty(name="Style seed", default=-1, min=-1,
                                            description="draw the style from the model's prior with this seed "
                                                        "instead of the style values; -1: use the values"),
    }
    props.update(_style.axis_properties("style_"))
    return type("PARLEY_OT_generate", (GenerateMixin, bpy.types.Operator), {"__annotations__": props})


classes = ()


def register():
    global classes
    classes = (make_operator(),)
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    global classes
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
    classes = ()
