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
from ..inference.errors import ParleyError
from . import _audio, _character, _life, _meshcache, _runtime, _settings, _style, _target
from ._blender import register_built_classes_factory, scene_fps
from ._commit import PreparedTake, Rollback, write_action, write_cache, write_extras
from ._job import TakeInputs, TakeJob


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
            elif name in _settings.SIDEBAR:
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
        path, strip, pcm, duration, stem = self._speech(context)
        start = int(strip.frame_start) if strip is not None else int(self.start_frame)
        fps = float(self.fps) if self.fps > 0 else scene_fps(context.scene)
        character = _character.cast(obj, context.scene, self.viseme_table, want_cache)
        for plan in character.plans:  # Existing animation holds per mesh
            self._refuse_existing(plan.obj, want_keys, want_cache)
        life = _life.request(self, context, obj, want_keys, want_cache, max(1, round(duration * fps)), fps, start,
                             listen_only=pcm is None)
        staging = final = where = None
        new_folders, more = [], []
        if want_cache:
            folder, where = _meshcache.cache_folder(self.cache_dir)
            _meshcache.check_writable(folder)
            final = _meshcache.unique_path(folder, stem)
            staging = _meshcache.staging_path(final)
            new_folders = _meshcache.missing_folders(folder)
            for plan, rig, target in character.caches:  # one .pc2 per other mesh: "<audio> <mesh>.pc2"
                other = _meshcache.unique_path(folder, f"{stem} {plan.obj.name}")
                more.append((plan.obj, _meshcache.staging_path(other), other, rig, target))
        inputs = TakeInputs(pcm, fps, _runtime.model_settings(context, self.device, self.threads, self.model_path),
                            character.targets[0], style=_style.values(self, "style_"), seed=self.seed,
                            style_seed=self.style_seed, rig_source=character.rig_source, cache_path=staging,
                            start_frame=start, new_folders=new_folders, others=tuple(character.targets[1:]),
                            more_caches=tuple((rig, target, staged) for _o, staged, _f, rig, target in more),
                            life=life)
        return PreparedTake(obj=obj, path=path, strip=strip, stem=stem, start=start, fps=fps, duration=duration,
                            job=TakeJob(inputs), want_keys=want_keys, want_cache=want_cache,
                            build_keys=want_keys and character.head.kind == _character.RIG, final=final,
                            where=where, character=character, caches=[m[:3] for m in more])

    def _speech(self, context):
        """-> (audio path, strip or None, pcm 16 kHz, seconds, name of the take); a listener has pcm None."""
        path, strip = _audio.resolve_source(context, self.audio_path, self.sound_strip)
        pcm, duration = _audio.load_speech(path)
        return path, strip, pcm, duration, os.path.splitext(os.path.basename(path))[0]

    def _refuse_existing(self, obj, want_keys, want_cache):
        """With Existing animation = Stop, say what is in the way before any work."""
        if self.existing != "STOP":
            return
        key = obj.data.shape_keys
        ad = key.animation_data if key is not None else None
        if want_keys and not self.push_to_nla and ad is not None and ad.action is not None:
            raise ParleyError(f"{obj.name}'s shape keys already play the Action '{ad.action.name}'; set Existing "
                              "animation to Keep or Replace, or tick Push to NLA")
        old_mods = _meshcache.parley_modifiers(obj) if want_cache else []
        if old_mods:
            raise ParleyError(f"{obj.name} already has a Parley mesh cache ('{old_mods[-1].name}'); set Existing "
                              "animation to Keep or Replace")

    # -- writing the result ----------------------------------------------------------------
    def _commit(self, context, take):
        """Action, mesh cache, extras: all of them, or (rolled back) none."""
        rollback = Rollback()
        try:
            messages = self._write(context, take, rollback)
        except Exception:
            rollback.run()
            take.job.discard()
            raise
        secs = time.perf_counter() - take.started
        for line in take.job.warnings:
            self.report({"WARNING"}, line)
        self.report({"INFO"}, f"Parley: {take.job.weights.shape[0]} frames ({take.duration:.1f} s at {take.fps:g} "
                              f"fps) from frame {take.start} in {secs:.1f} s: " + "; ".join(messages))
        return {"FINISHED"}

    def _write(self, context, take, rollback):
        """The take's write steps, each undone by ``rollback`` if a later one fails; -> what was made, in words."""
        messages = []
        if take.want_keys:
            messages.append(write_action(take, self.push_to_nla, self.existing, rollback))
        if take.want_cache:
            messages.append(write_cache(take, self.existing, rollback))
        messages += _life.commit(take, self.existing, self.push_to_nla, rollback)
        messages += write_extras(context.scene, take, self.add_sound_to_sequencer, self.fit_frame_range,
                                 self.seed, rollback)
        return messages

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


def make_operator():
    """The operator class, with one style_<axis> property per axis of the installed model."""
    props = _settings.properties("operator")
    props.update(_style.axis_properties("style_"))
    return type("PARLEY_OT_generate", (GenerateMixin, bpy.types.Operator), {"__annotations__": props})


register, unregister = register_built_classes_factory(lambda: (make_operator(),))
