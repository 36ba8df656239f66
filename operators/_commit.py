"""Writing a finished take into the user's data, in three named steps: the Action, the mesh cache, the extras.

Each step records how to put back what it changed (``Rollback``, with the named undo functions below);
if a later step fails, the operator runs them newest first and the file is as it was before the take.
"""
import os
import time
import traceback
from dataclasses import dataclass, field

import bpy

from . import _meshcache, _shapekeys


@dataclass
class PreparedTake:
    """What ``parley.generate`` read from Blender before the work, the job doing it, and where results go."""
    obj: object                 # the head
    path: str                   # the audio file
    strip: object               # the sound strip it came from, or None
    stem: str                   # the audio's name: names the Action and the .pc2
    start: int                  # frame of the first sound
    fps: float
    duration: float             # seconds of audio
    job: object                 # the _job.TakeJob
    want_keys: bool
    want_cache: bool
    build_keys: bool = False    # add Parley's rig keys first (a FLAME head without them)
    final: str = None           # the .pc2 the staging file becomes
    where: str = None           # the cache folder, in words
    started: float = field(default_factory=time.perf_counter)
    character: object = None    # the _character.Cast: the meshes driven and their shared Actions
    caches: list = field(default_factory=list)  # [(object, staging .pc2, final .pc2)] of the other meshes


class Rollback:
    """Named undo steps, run newest first when a later write fails."""

    def __init__(self):
        self._steps = []

    def add(self, step, *args):
        self._steps.append((step, args))

    def run(self):
        for step, args in reversed(self._steps):
            try:
                step(*args)
            except Exception:  # keep undoing the rest; the console shows what could not be put back
                traceback.print_exc()


# -- undo steps -------------------------------------------------------------------------------

def remove_shape_keys(obj, names):
    for name in reversed(names):
        key = obj.data.shape_keys  # None again once the Basis is gone
        if key is not None and name in key.key_blocks:
            obj.shape_key_remove(key.key_blocks[name])


def clear_animation_data(key):
    key.animation_data_clear()


def remove_action(action):
    bpy.data.actions.remove(action)


def remove_track(anim_data, track):
    anim_data.nla_tracks.remove(track)


def set_fake_user(action, value):
    action.use_fake_user = value


def remove_file(path):
    if os.path.exists(path):
        os.remove(path)


def reset_cache_modifier(mod, filepath, frame_start):
    mod.filepath, mod.frame_start = filepath, frame_start


def show_modifier(mod, viewport, render):
    mod.show_viewport, mod.show_render = viewport, render


def remove_modifier(obj, mod):
    obj.modifiers.remove(mod)


def remove_strip(scene, strip):
    seq = scene.sequence_editor
    (seq.strips if hasattr(seq, "strips") else seq.sequences).remove(strip)


def set_frame_end(scene, frame):
    scene.frame_end = frame


# -- the steps ----------------------------------------------------------------------------------

def write_action(take, push_to_nla, existing, rollback):
    """Shape keys (Parley's rig when asked) and one new Action per group of meshes that share one, each keyed
    from the take and played on every mesh of its group; -> what was made, in words."""
    obj, job = take.obj, take.job
    if take.build_keys:
        rollback.add(remove_shape_keys, obj, _shapekeys.create_rig_keys(obj, job.rig))
    groups = take.character.groups if take.character is not None else [[0]]
    targets = [job.inputs.target, *job.inputs.others]
    said = []
    for g, weights in enumerate([job.weights, *job.other_weights]):
        objects = take.character.objects(g) if take.character is not None else [obj]
        keys = [o.data.shape_keys for o in objects]
        action, slot = _shapekeys.new_action(take.stem, keys[0])  # one slot for every Key of the group (4.4+)
        rollback.add(remove_action, action)
        _shapekeys.key_fcurves(action, slot, targets[g].shapes, weights, take.start)
        tracks = [play_action(key, action, slot, take.start, push_to_nla, existing, rollback) for key in keys]
        where = f" on NLA track '{tracks[0]}'" if push_to_nla else ""
        others = [o.name for o in objects if o != obj]
        said.append(f"Action '{action.name}'{where}" + (f" ({', '.join(o.name for o in objects)})"
                                                         if others else ""))
    return "; ".join(said)


def play_action(key, action, slot, start, push_to_nla, existing, rollback):
    """The Key plays the new Action (the old one kept, replaced or left playing under an NLA track, as asked);
    -> the NLA track's name when pushed, else None."""
    if key.animation_data is None:
        key.animation_data_create()
        rollback.add(clear_animation_data, key)
    ad = key.animation_data
    if push_to_nla:
        track = _shapekeys.push_to_nla(ad, action, slot, f"Parley {action.name}", start)
        rollback.add(remove_track, ad, track)
        return track.name
    old, old_slot = ad.action, getattr(ad, "action_slot", None)
    if old is not None and existing == "KEEP":
        kept = _shapekeys.push_to_nla(ad, old, old_slot, f"Kept {old.name}", old.frame_range[0], mute=True)
        rollback.add(remove_track, ad, kept)
    elif old is not None:  # REPLACE: the old Action stays in the file
        rollback.add(set_fake_user, old, old.use_fake_user)
        old.use_fake_user = True
    rollback.add(_shapekeys.assign, ad, old, old_slot)
    _shapekeys.assign(ad, action, slot)
    return None


def write_cache(take, existing, rollback):
    """The staging .pc2 files become the final ones, each played by a Mesh Cache modifier on its mesh (the head,
    then the character's other meshes); -> what was made, in words."""
    caches = [(take.obj, take.job.inputs.cache_path, take.final), *take.caches]
    for obj, staging, final in caches:
        write_one_cache(obj, staging, final, take.start, existing, rollback)
    more = f" and {len(caches) - 1} more for {', '.join(c[0].name for c in caches[1:])}" if len(caches) > 1 else ""
    return f"mesh cache {take.final}{more} ({take.where})"


def write_one_cache(obj, staging, final, start, existing, rollback):
    os.replace(staging, final)
    _meshcache.normal_permissions(final)
    rollback.add(remove_file, final)
    old_mods = _meshcache.parley_modifiers(obj)
    if old_mods and existing == "REPLACE":
        mod = old_mods[-1]
        rollback.add(reset_cache_modifier, mod, mod.filepath, mod.frame_start)
        _meshcache.configure(mod, final, start)
    else:
        for old_mod in old_mods:
            rollback.add(show_modifier, old_mod, old_mod.show_viewport, old_mod.show_render)
            old_mod.show_viewport = old_mod.show_render = False
        mod = _meshcache.add_modifier(obj, final, start)
        rollback.add(remove_modifier, obj, mod)
        if hasattr(obj.modifiers, "move") and len(obj.modifiers) > 1:
            obj.modifiers.move(len(obj.modifiers) - 1, 0)  # before subdivision, the armature and friends


def write_extras(scene, take, add_sound, fit_frame_range, seed, rollback):
    """The sound strip, the scene's end frame, the head's last take; -> what was made, in words."""
    messages = []
    if add_sound and take.strip is None:
        try:
            strip = add_sound_strip(scene, take.path, take.start)
        except RuntimeError as exc:  # a Blender built without audio (Audaspace) cannot hold sound strips
            take.job.warnings.append(f"the sound strip was not added ({str(exc).replace('Error: ', '').strip()})")
            strip = None
        if strip is not None:
            rollback.add(remove_strip, scene, strip)
            messages.append(f"sound strip '{strip.name}'")
    end = take.start + take.job.weights.shape[0] - 1
    if fit_frame_range and scene.frame_end < end:
        rollback.add(set_frame_end, scene, scene.frame_end)
        scene.frame_end = end
    take.obj.parley.last_take = take.stem
    take.obj.parley.last_seed = seed
    return messages


def add_sound_strip(scene, path, start):
    """A sound strip for the take (None when the same file already sits at that frame)."""
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
    return strips.new_sound(os.path.basename(path), path, channel, start)
