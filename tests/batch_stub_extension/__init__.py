"""A stand-in for Parley's extension with the same operator contract, for testing scripts/batch.py.

``parley.generate(audio_path, mode, seed, start_frame, smile, head_motion, listen_audio, look_at)`` on the
active mesh: reads a .wav with the standard library, refuses missing, unreadable and silent audio the way the
real operator does (report ERROR + CANCELLED), keys jawOpen from the loudness per frame (plus seeded noise)
into a new Action, and/or writes ``//parley/<stem>.pc2`` with a Mesh Cache modifier. Like the real one,
head motion (on by default) with shape keys makes a second Action (the real one's is on a head bone), and a
heard line (``listen_audio``) makes the take as long as the longer line, lips still past its own; the Action
records what it heard and looked at (custom properties ``heard``, ``look_at``). Fast and deterministic, so
the batch tests check orchestration (failures, merging, resuming) in seconds; tests/test_batch_real.py
runs the real extension.
"""
import os
import struct
import wave

import bpy
import numpy as np

KEYS = ("jawOpen", "mouthSmile_L")


def read_wav(path):
    with wave.open(path) as w:
        rate, width, channels, n = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        raise ValueError("stub reads 16-bit wav only")
    pcm = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).mean(axis=1) / 32768.0
    return pcm, rate


def ensure_keys(obj):
    mesh = obj.data
    if not mesh.shape_keys:
        obj.shape_key_add(name="Basis", from_mix=False)
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    for i, name in enumerate(KEYS):
        if name not in mesh.shape_keys.key_blocks:
            kb = obj.shape_key_add(name=name, from_mix=False)
            moved = co.copy()
            moved[:, 2 - i] += np.where(co[:, 2] < 0, -0.1, 0.02) * (i + 1)
            kb.data.foreach_set("co", moved.ravel())
    if "jawOpen_sq" not in mesh.shape_keys.key_blocks:  # a corrective driven like the real rig's
        kb = obj.shape_key_add(name="jawOpen_sq", from_mix=False)
        moved = co.copy()
        moved[:, 1] += np.where(co[:, 2] < 0, 0.05, 0.0)
        kb.data.foreach_set("co", moved.ravel())
        fcurve = kb.driver_add("value")
        fcurve.driver.type = "SCRIPTED"
        var = fcurve.driver.variables.new()
        var.name = "w"
        var.targets[0].id_type = "KEY"
        var.targets[0].id = mesh.shape_keys
        var.targets[0].data_path = 'key_blocks["jawOpen"].value'
        fcurve.driver.expression = "w * w"
    return co


class PARLEY_OT_generate(bpy.types.Operator):
    bl_idname = "parley.generate"
    bl_label = "Generate (stub)"
    bl_options = {"REGISTER", "UNDO"}

    audio_path: bpy.props.StringProperty(subtype="FILE_PATH")
    mode: bpy.props.EnumProperty(items=[(m, m, "") for m in ("SHAPE_KEYS", "MESH_CACHE", "BOTH")])
    seed: bpy.props.IntProperty(default=0)
    start_frame: bpy.props.IntProperty(default=1)
    style_smile: bpy.props.FloatProperty(default=0.0, min=-1.0, max=1.0)
    head_motion: bpy.props.FloatProperty(default=1.0, min=0.0, max=2.0)
    listen_audio: bpy.props.StringProperty(subtype="FILE_PATH")
    look_at: bpy.props.StringProperty()

    def execute(self, context):
        obj = context.active_object
        if obj is None or obj.type != "MESH":
            self.report({"ERROR"}, "no mesh selected: select the head")
            return {"CANCELLED"}
        path = bpy.path.abspath(self.audio_path)
        if os.environ.get("PARLEY_STUB_CRASH_ON") and os.environ["PARLEY_STUB_CRASH_ON"] in path:
            os._exit(9)  # what a crashing Blender looks like to the batch: the process is gone
        if not os.path.isfile(path):
            self.report({"ERROR"}, f"audio file not found: {path}")
            return {"CANCELLED"}
        try:
            pcm, rate = read_wav(path)
        except Exception as exc:
            self.report({"ERROR"}, f"cannot read {os.path.basename(path)} ({exc}); use a wav, flac, ogg or mp3 file")
            return {"CANCELLED"}
        if pcm.size == 0 or np.abs(pcm).max() < 1e-3:
            self.report({"ERROR"}, f"{os.path.basename(path)} is silent: nothing to animate")
            return {"CANCELLED"}
        if self.look_at and self.look_at not in bpy.data.objects:
            self.report({"ERROR"}, f"Look at: there is no object '{self.look_at}'; pick one or clear the field")
            return {"CANCELLED"}
        fps = context.scene.render.fps / context.scene.render.fps_base
        own = max(1, int(np.ceil(len(pcm) / rate * fps)))
        heard = len(read_wav(bpy.path.abspath(self.listen_audio))[0]) if self.listen_audio else 0
        frames = max(own, int(np.ceil(heard / rate * fps)))
        if frames > own:  # the heard line is longer: the take goes on, silent
            pcm = np.concatenate([pcm, np.zeros(int(np.ceil(frames * rate / fps)) - len(pcm))])
        edges = np.linspace(0, len(pcm), frames + 1).astype(int)
        loud = np.array([np.sqrt(np.mean(pcm[a:b] ** 2)) if b > a else 0.0 for a, b in zip(edges, edges[1:])])
        rng = np.random.default_rng(self.seed)
        weights = np.stack([np.clip(loud * 4 + 0.05 * rng.standard_normal(frames), 0, 1),
                            np.clip(self.style_smile + 0.02 * rng.standard_normal(frames), 0, 1)], 1)
        weights[own:, 0] = 0.0  # listening: lips still
        stem = os.path.splitext(os.path.basename(path))[0]
        co = ensure_keys(obj)
        key = obj.data.shape_keys
        if self.mode in ("SHAPE_KEYS", "BOTH"):
            key.animation_data_create()
            action = bpy.data.actions.new(f"parley_{stem}")
            key.animation_data.action = action
            for k, name in enumerate(KEYS):
                kb = key.key_blocks[name]
                for f in range(frames):
                    kb.value = float(weights[f, k])
                    kb.keyframe_insert("value", frame=self.start_frame + f)
            action["heard"] = os.path.basename(self.listen_audio)
            action["look_at"] = self.look_at
            if self.head_motion > 0:
                head = bpy.data.actions.new(f"parley_{stem} head")  # the real one keys it on a head bone
                head.use_fake_user = True
        if self.mode in ("MESH_CACHE", "BOTH"):
            if not bpy.data.filepath:
                self.report({"ERROR"}, "save the .blend first: the cache goes to //parley/")
                return {"CANCELLED"}
            offsets = []
            for name in KEYS:
                d = np.empty(len(co) * 3, dtype=np.float32)
                key.key_blocks[name].data.foreach_get("co", d)
                offsets.append(d.reshape(-1, 3) - co)
            positions = co[None] + np.einsum("tk,kvc->tvc", weights, np.stack(offsets)).astype(np.float32)
            folder = bpy.path.abspath("//parley/")
            os.makedirs(folder, exist_ok=True)
            target = os.path.join(folder, stem + ".pc2")
            with open(target + ".tmp", "wb") as f:
                f.write(struct.pack("<12siiffi", b"POINTCACHE2\0", 1, len(co), float(self.start_frame), 1.0, frames))
                f.write(positions.astype("<f4").tobytes())
            os.replace(target + ".tmp", target)
            mod = obj.modifiers.new("Parley cache", "MESH_CACHE")
            mod.cache_format = "PC2"
            mod.filepath = f"//parley/{stem}.pc2"
            mod.frame_start = self.start_frame
        return {"FINISHED"}


def register():
    bpy.utils.register_class(PARLEY_OT_generate)


def unregister():
    bpy.utils.unregister_class(PARLEY_OT_generate)
