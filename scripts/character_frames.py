"""Stills of whole characters at chosen phones of the demo sentence, to look at (Workbench, bpy module).

    python scripts/character_frames.py --out DIR [--size 512]

Installs the built extension, runs Generate (shape keys) on the head of
- the shipped MakeHuman character (assets/makehuman_head): /p/, /uw/, /aa/, face and mouth close-up;
- the Ready Player Me test avatar (../shared/characters/rpm/brunette-t.glb, when present): /aa/ with its
  teeth, face and mouth close-up;
and renders each at the frame inside the phone (assets/demo_phones.json) where the phone's gesture peaks
(/p/: lips pressed and closed, /uw/: pucker + funnel, /aa/: jaw open). Each MakeHuman mesh gets its own
flat colour (teeth white, tongue red, eyes pale blue) so the inside of the mouth reads; the avatar shows
its own textures. Prints one line per PNG with
the frame and the curve values there.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_scene  # noqa: E402

REPO = demo_scene.REPO
RPM = (REPO / ".." / "shared" / "characters" / "rpm" / "brunette-t.glb").resolve()
PHONES = {"p": ("P", ("mouthClose", "mouthPressLeft", "mouthPressRight")),
          "uw": ("UW1", ("mouthPucker", "mouthFunnel")),
          "aa": ("AA1", ("jawOpen",))}
COLOURS = {"teeth": (0.95, 0.93, 0.85, 1), "tongue": (0.75, 0.25, 0.3, 1), "lash": (0.1, 0.08, 0.07, 1),
           "eye": (0.8, 0.88, 0.95, 1), "hair": (0.25, 0.15, 0.1, 1)}  # first match wins: lashes before eyes


def colour(obj):
    name = obj.name.lower()
    for part, rgba in COLOURS.items():
        if part in name:
            return rgba
    return (0.80, 0.62, 0.52, 1)


def peak_frame(action, phone, names, fps):
    """The frame inside any instance of ``phone`` where the sum of ``names`` is largest."""
    phones = json.loads((REPO / "assets" / "demo_phones.json").read_text())["phones"]
    curves = {fc.data_path[len('key_blocks["'):-len('"].value')]: fc for fc in demo_scene.action_fcurves(action)}
    best, frame = -1.0, None
    for start, end, label in phones:
        if label != phone:
            continue
        for f in range(1 + int(start * fps + 0.5), 1 + int(end * fps + 0.5) + 1):
            score = sum(curves[n].evaluate(f) for n in names if n in curves)
            if score > best:
                best, frame = score, f
    return frame, {n: round(curves[n].evaluate(frame), 2) for n in ("jawOpen", *names) if n in curves}


def lips(obj):
    """World position of the mouth: the centre of the vertices the head's pucker/funnel key moves most."""
    import numpy as np
    key = obj.data.shape_keys
    name = next(n for n in ("mouthPucker", "mouthFunnel", "jawOpen") if n in key.key_blocks)
    n = len(obj.data.vertices) * 3
    rest, moved = np.empty(n, np.float32), np.empty(n, np.float32)
    key.reference_key.data.foreach_get("co", rest)
    key.key_blocks[name].data.foreach_get("co", moved)
    rest, size = rest.reshape(-1, 3), np.linalg.norm((moved - rest).reshape(-1, 3), axis=1)
    centre = rest[size > 0.5 * size.max()].mean(axis=0)
    return np.asarray(obj.matrix_world) @ np.append(centre, 1.0)


def shoot(path, obj, zoom, size, colours="OBJECT"):
    import bpy
    for o in [o for o in bpy.data.objects if o.type == "CAMERA"]:
        bpy.data.objects.remove(o)
    cam = demo_scene.stage(obj, size=size, fps=30, zoom=zoom)
    if zoom > 2:  # a close-up of the mouth
        mouth = lips(obj)
        cam.location.x, cam.location.z = float(mouth[0]), float(mouth[2])
    shading = bpy.context.scene.display.shading
    shading.color_type = colours
    scene = bpy.context.scene
    scene.render.image_settings.file_format = "PNG"
    if hasattr(scene.render.image_settings, "media_type"):
        scene.render.image_settings.media_type = "IMAGE"
        scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)


def generate(head):
    import bpy
    bpy.context.view_layer.objects.active = head
    head.select_set(True)
    result = bpy.ops.parley.generate(audio_path=str(REPO / "assets" / "demo.wav"), mode="SHAPE_KEYS", seed=0,
                                     start_frame=1)
    assert result == {"FINISHED"}, result
    return head.data.shape_keys.animation_data.action


def makehuman(out, size):
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.render.fps = 30
    head, others = demo_scene.import_character()
    for obj in (head, *others):
        obj.color = colour(obj)
    action = generate(head)
    for name, (phone, names) in PHONES.items():
        frame, values = peak_frame(action, phone, names, 30)
        bpy.context.scene.frame_set(frame)
        for suffix, zoom in (("face", 1.3), ("mouth", 3.5)):
            path = out / f"makehuman_{name}_{suffix}.png"
            shoot(path, head, zoom, size)
            print(f"frames: {path.name}: frame {frame} {values}")


def rpm(out, size):
    import bpy
    if not RPM.is_file():
        print(f"frames: no Ready Player Me avatar at {RPM}; skipped")
        return
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.render.fps = 30
    bpy.ops.import_scene.gltf(filepath=str(RPM))
    for obj in bpy.data.objects:
        obj.color = colour(obj)
    head = bpy.data.objects["Wolf3D_Head"]
    action = generate(head)
    frame, values = peak_frame(action, "AA1", ("jawOpen",), 30)
    bpy.context.scene.frame_set(frame)
    for suffix, zoom in (("face", 1.2), ("mouth", 3.5)):
        path = out / f"rpm_aa_{suffix}.png"
        shoot(path, head, zoom, size, colours="TEXTURE")  # the avatar's own textures: teeth, gums, lips
        print(f"frames: {path.name}: frame {frame} {values}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=512)
    args = p.parse_args(argv)
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    demo_scene.isolate_user_folder()
    zip_path = demo_scene.build_zip(out / ".dist")
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with demo_scene.installed(zip_path):
        makehuman(out, args.size)
        rpm(out, args.size)
    import shutil
    shutil.rmtree(out / ".dist", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
