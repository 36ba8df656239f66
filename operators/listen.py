"""``parley.listen`` and ``parley.dialogue``: characters that listen, alone or in a two-person dialogue.

Both take every option of ``parley.generate`` (the same settings table) and write the same way
(one undo step, rolled back as a whole on failure).

- ``parley.listen`` animates the active character listening, with no model run and so no lip
  motion: over its partner's audio (``listen_audio``: attentive nods after the phrases, small smiles
  when the style smiles, blinks at the pauses) or, without one, idle over ``start_frame`` ..
  ``frame_end`` (0: the scene's end): breathing, blinks, small head motion, spontaneous nods.
- ``parley.dialogue`` animates two characters at once: the active one speaks ``audio_path`` (or the
  sound strip) and listens to ``listen_audio``; the partner (``dialogue_object``) speaks
  ``listen_audio`` and listens to the active one's audio, with seed + 1 so the two never move alike.
  Without a Look at object each looks at the other.
"""
import contextlib
import os

import bpy

from ..inference.errors import ParleyError
from . import _audio, _settings, _style, _target
from ._blender import register_built_classes_factory, scene_fps
from ._commit import Rollback
from .generate import GenerateMixin


class ListenMixin(GenerateMixin):
    bl_idname = "parley.listen"
    bl_label = "Listen"
    bl_description = ("Animate the active character listening (blinks, breathing, nods; no lip motion): to its "
                      "partner's audio, or over the frame range")

    def _speech(self, context):
        if self.listen_audio:
            path = _audio.resolve_source(context, self.listen_audio, "")[0]
            duration = _audio.load_speech(path)[1]
            return path, None, None, duration, os.path.splitext(os.path.basename(path))[0] + " listening"
        end = self.frame_end or context.scene.frame_end
        if end < self.start_frame:
            raise ParleyError(f"nothing to listen over: the end frame {end} is before the start frame "
                              f"{self.start_frame}")
        fps = float(self.fps) if self.fps > 0 else scene_fps(context.scene)
        self.add_sound_to_sequencer = False   # there is no sound to add
        return None, None, None, (end - self.start_frame + 1) / fps, "listening"


class DialogueMixin(GenerateMixin):
    bl_idname = "parley.dialogue"
    bl_label = "Generate Dialogue"
    bl_description = ("Animate two characters talking: the active one speaks its audio and listens to the "
                      "partner's; the partner speaks its audio and listens to the active one's")

    def invoke(self, context, event):
        self._copy_sidebar(context)
        return self.execute(context)

    def execute(self, context):
        takes = []
        try:
            obj, partner = context.active_object, self._partner(context)
            takes.append(self._prepare_as(context, obj, partner))
            with self._swapped(takes[0].path, obj, partner):
                with context.temp_override(active_object=partner, object=partner):
                    takes.append(self._prepare_as(bpy.context, partner, obj))
            for take in takes:
                take.job.run()
            return self._commit_all(context, takes)
        except Exception as exc:
            for take in takes[:-1]:
                take.job.discard()
            return self._fail(takes[-1] if takes else None, exc)

    def _partner(self, context):
        obj = context.active_object
        partner = bpy.data.objects.get(self.dialogue_object) if self.dialogue_object else None
        if partner is None:
            raise ParleyError("Dialogue: pick the partner character" + (
                f" (there is no object '{self.dialogue_object}')" if self.dialogue_object else ""))
        if partner == obj:
            raise ParleyError("Dialogue: the partner is the active character; pick the other one")
        ok, why = _target.usable(partner)
        if not ok:
            raise ParleyError(f"Dialogue partner {partner.name}: {why}")
        if not self.listen_audio:
            raise ParleyError("Dialogue: pick the partner's audio")
        return partner

    def _prepare_as(self, context, obj, other):
        look = self.look_at
        if not look:
            self.look_at = other.name
        try:
            return self._prepare(context)
        finally:
            self.look_at = look

    @contextlib.contextmanager
    def _swapped(self, own_path, obj, partner):
        """The partner's side: it speaks the partner audio and hears the active character's."""
        saved = {n: getattr(self, n) for n in ("audio_path", "sound_strip", "listen_audio", "seed", "head_bone")}
        self.audio_path, self.sound_strip, self.listen_audio = self.listen_audio, "", own_path
        self.seed, self.head_bone = self.seed + 1, ""
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    def _commit_all(self, context, takes):
        rollback = Rollback()
        messages = []
        try:
            for take in takes:
                seed = self.seed + (take is not takes[0])
                with _seed(self, seed):
                    messages.append(f"{take.obj.name}: " + "; ".join(self._write(context, take, rollback)))
        except Exception:
            rollback.run()
            for take in takes:
                take.job.discard()
            raise
        for take in takes:
            for line in take.job.warnings:
                self.report({"WARNING"}, line)
        self.report({"INFO"}, "Parley dialogue: " + " | ".join(messages))
        return {"FINISHED"}


@contextlib.contextmanager
def _seed(op, seed):
    saved = op.seed
    op.seed = seed
    try:
        yield
    finally:
        op.seed = saved


def _operator(mixin, name, extra=None):
    props = _settings.properties("operator")
    props.update(_style.axis_properties("style_"))
    props.update(extra or {})
    return type(name, (mixin, bpy.types.Operator), {"__annotations__": props})


def _classes():
    frame_end = bpy.props.IntProperty(name="End frame", default=0, min=0,
                                      description="last frame of an idle listen without audio; 0: the scene's end")
    return (_operator(ListenMixin, "PARLEY_OT_listen", {"frame_end": frame_end}),
            _operator(DialogueMixin, "PARLEY_OT_dialogue"))


register, unregister = register_built_classes_factory(_classes)
