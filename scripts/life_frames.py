"""Workbench stills of the life layers on the FLAME template: a nod (side view), a gaze shift (eyes, front),
a listening stretch (front), each with the frames either side, as PNGs and one labelled sheet.

    python scripts/life_frames.py [--out /work/notes/frames_f] [--seed 3]

Generates assets/demo.wav on the FLAME head (shape keys: head bone + gaze on the eyeLook keys), picks
the frame where the head bone's pitch peaks (chin down) and the frame 0.3 s before it, the largest
jump of the eyeLook curves, and renders them; then Listen over the same audio on the same head
(another take) and renders three frames after the first phrase end. Needs ../shared/flame.
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_scene  # noqa: E402

REPO = demo_scene.REPO


def curve(action, path, index=0):
    fc = next(f for f in demo_scene.action_fcurves(action) if f.data_path == path and f.array_index == index)
    co = np.empty(len(fc.keyframe_points) * 2, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def render(scene, path):
    import bpy
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return path.name


def side_camera(scene, cam, obj):
    """A second camera looking at the head's left side (pitch shows best from there), centred on the head."""
    import bpy
    from mathutils import Vector
    data = cam.data.copy()
    data.ortho_scale = cam.data.ortho_scale * 1.3
    side = bpy.data.objects.new("side camera", data)
    scene.collection.objects.link(side)
    corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
    centre = sum(corners, Vector()) / 8.0
    side.location = Vector((centre.x + 3.0, centre.y, cam.location.z - 0.1 * data.ortho_scale))
    side.rotation_euler = (math.pi / 2, 0.0, math.pi / 2)
    return side


def paint_pupils(obj):
    """FLAME eyeballs are plain spheres: a dark cap where each looks (its front at rest) shows the gaze."""
    sys.path.insert(0, str(REPO))
    from inference.head_rig import build_head_rig
    from inference.rig_topology import find_parts
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3).astype(np.float64)
    tris = np.empty(len(obj.data.polygons) * 3, np.int64)
    obj.data.polygons.foreach_get("vertices", tris)
    tris = tris.reshape(-1, 3)
    forward = build_head_rig(co, tris).axes[2]
    _, eyes, _ = find_parts(co, tris)
    colour = np.tile([0.80, 0.62, 0.52, 1.0], (len(co), 1))
    for eye in eyes:
        rel = co[eye] - co[eye].mean(0)
        radius = np.linalg.norm(rel, axis=1).max()
        ahead = rel @ forward / radius
        colour[eye] = [0.92, 0.92, 0.90, 1.0]
        colour[eye[ahead > 0.80]] = [0.25, 0.45, 0.60, 1.0]
        colour[eye[ahead > 0.93]] = [0.02, 0.02, 0.02, 1.0]
    attr = obj.data.color_attributes.new("eyes", "FLOAT_COLOR", "POINT")
    attr.data.foreach_set("color", colour.astype(np.float32).ravel())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="/work/notes/frames_f")
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    demo_scene.isolate_user_folder()
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    zip_path = demo_scene.build_zip(out / "dist")
    report = {}
    with demo_scene.installed(zip_path):
        obj = demo_scene.import_head(demo_scene.flame_head())
        scene = bpy.context.scene
        front = demo_scene.stage(obj, size=480)
        paint_pupils(obj)
        scene.display.shading.color_type = "VERTEX"
        side = side_camera(scene, front, obj)
        scene.render.image_settings.file_format = "PNG"
        bpy.ops.wm.save_as_mainfile(filepath=str(out / "life.blend"))
        audio = str(REPO / "assets" / "demo.wav")
        assert bpy.ops.parley.generate(audio_path=audio, mode="SHAPE_KEYS", seed=args.seed) == {"FINISHED"}
        arm = bpy.data.objects[f"{obj.name} head"]
        arm.hide_render = True
        pitch = curve(arm.animation_data.action, 'pose.bones["head"].rotation_euler', 0)
        apex = int(pitch[np.argmax(pitch[:, 1]), 0])
        before = max(1, apex - 9)
        scene.camera = side
        for label, frame in (("nod_before", before), ("nod_apex", apex)):
            scene.frame_set(frame)
            report[label] = {"frame": frame, "pitch_deg": round(math.degrees(pitch[frame - 1, 1]), 2),
                             "png": render(scene, out / f"{label}.png")}
        key = obj.data.shape_keys
        look = {n: curve(key.animation_data.action, f'key_blocks["{n}"].value')[:, 1]
                for n in ("eyeLookOut_L", "eyeLookIn_L", "eyeLookUp_L", "eyeLookDown_L")}
        yaw = look["eyeLookOut_L"] - look["eyeLookIn_L"]
        jump = int(np.argmax(np.abs(np.diff(yaw)))) + 1
        scene.camera = front
        front.data.ortho_scale *= 0.55
        front.location.z += 0.02
        for label, frame in (("gaze_before", jump - 2), ("gaze_after", jump + 3)):
            scene.frame_set(frame)
            report[label] = {"frame": frame, "eye_yaw_curve": round(float(yaw[frame - 1]), 3),
                             "png": render(scene, out / f"{label}.png")}
        front.data.ortho_scale /= 0.55
        front.location.z -= 0.02
        key.animation_data.action = None
        arm.animation_data.action = None
        assert bpy.ops.parley.listen(mode="SHAPE_KEYS", listen_audio=audio, seed=args.seed, existing="REPLACE",
                                     start_frame=1) == {"FINISHED"}
        lpitch = curve(arm.animation_data.action, 'pose.bones["head"].rotation_euler', 0)
        nod = int(lpitch[np.argmax(lpitch[:, 1]), 0])
        for label, frame in (("listen_before", max(1, nod - 12)), ("listen_nod", nod), ("listen_after", nod + 12)):
            for camera, view in ((front, "front"), (side, "side")):
                scene.camera = camera
                scene.frame_set(frame)
                report[f"{label}_{view}"] = {"frame": frame, "pitch_deg": round(math.degrees(
                    lpitch[min(frame, len(lpitch)) - 1, 1]), 2), "png": render(scene, out / f"{label}_{view}.png")}
        jaw = curve(key.animation_data.action, 'key_blocks["jawOpen"].value')[:, 1]
        report["listen_jaw_max"] = float(jaw.max())
    (out / "frames.json").write_text(json.dumps(report, indent=1))
    sheet(out, report)
    print(json.dumps(report, indent=1))
    return 0


def sheet(out, report):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [["nod_before", "nod_apex"], ["gaze_before", "gaze_after"],
            ["listen_before_side", "listen_nod_side", "listen_after_side"],
            ["listen_before_front", "listen_nod_front", "listen_after_front"]]
    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 16))
    for r, row in enumerate(rows):
        for c in range(3):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(row):
                item = report[row[c]]
                ax.imshow(plt.imread(out / item["png"]))
                extra = ", ".join(f"{k} {v}" for k, v in item.items() if k not in ("png", "frame"))
                ax.set_title(f"{row[c]} f{item['frame']}\n{extra}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "life_sheet.png", dpi=70)


if __name__ == "__main__":
    sys.exit(main())
