"""Workbench stills of the demo take at /p/, /uw/, /aa/ and /f/, picked from the phone timing and the curves.

    python scripts/preview_frames.py [--blend out/demo/parley_demo.blend] [--phones assets/demo_phones.json]
                                     [--out out/demo/frames]

For each phone the synthesiser reported (assets/demo_phones.json), the candidate frames are those
inside the phone (one frame of slack either side); the still is the candidate where the phone's
own curves peak: /p/ mouthClose + mouthPress (lips sealed), /uw/ mouthFunnel + mouthPucker (rounded),
/aa/ jawOpen, /f/ mouthRollLower (lower lip tucked under the teeth). A rest frame before the speech
is rendered too. Writes one PNG per phone, a labelled sheet (frames.png) and frames.json with the
times, frames and curve values.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_scene  # noqa: E402

REPO = demo_scene.REPO
TARGETS = {
    "P": ("lips closed", ("mouthClose", "mouthPress_L", "mouthPress_R")),
    "UW": ("rounded", ("mouthFunnel", "mouthPucker")),
    "AA": ("jaw open", ("jawOpen",)),
    "F": ("lower lip tucked", ("mouthRollLower",)),
}


def key_curves(obj):
    """{canonical ARKit name: F-curve} of the head's take (``mouthPressLeft`` on a character is mouthPress_L)."""
    sys.path.insert(0, str(REPO))
    from inference.arkit import canonical_name
    curves = demo_scene.action_fcurves(obj.data.shape_keys.animation_data.action)
    named = {fc.data_path[len('key_blocks["'):-len('"].value')]: fc for fc in curves}
    return {canonical_name(n) or n: fc for n, fc in named.items()}


def pick_frames(phones, curves, fps, start):
    picks = {}
    for label, (_what, names) in TARGETS.items():
        best = None
        for a, b, phone in phones:
            if phone.rstrip("012") != label:
                continue
            first = int(np.floor(a * fps)) - 1 + start
            last = int(np.ceil(b * fps)) + 1 + start
            for f in range(first, last + 1):
                score = sum(curves[n].evaluate(f) for n in names if n in curves)
                if best is None or score > best["score"]:
                    best = {"frame": f, "score": float(score), "phone": [a, b, phone]}
        if best is None:
            raise SystemExit(f"the clip has no /{label.lower()}/")
        picks[label] = best
    first_phone = min(a for a, _b, p in phones if p != "sil")
    picks["rest"] = {"frame": start, "score": 0.0, "phone": [0.0, first_phone, "sil"]}
    return picks


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--blend", default=str(REPO / "out" / "demo" / "parley_demo.blend"))
    p.add_argument("--phones", default=str(REPO / "assets" / "demo_phones.json"))
    p.add_argument("--out", default=str(REPO / "out" / "demo" / "frames"))
    p.add_argument("--zoom", type=float, default=1.6, help="closer on the mouth than the preview video")
    p.add_argument("--poses", action="store_true",
                   help="render the rig's own target shapes for the three phones instead of the take (rig check)")
    args = p.parse_args(argv)
    demo_scene.isolate_user_folder()
    import bpy
    bpy.ops.wm.open_mainfile(filepath=str(Path(args.blend).absolute()))
    scene = bpy.context.scene
    animated = [o for o in scene.objects if o.type == "MESH" and o.data.shape_keys is not None
                and o.data.shape_keys.animation_data is not None and o.data.shape_keys.animation_data.action]
    obj = max(animated, key=lambda o: len(o.data.vertices))  # the head, not its teeth or eyes
    curves = key_curves(obj)
    fps = demo_scene.scene_fps(scene)
    start = int(min(fc.range()[0] for fc in curves.values()))
    phones = json.loads(Path(args.phones).read_text())["phones"]
    picks = pick_frames(phones, curves, fps, start)
    cam = scene.camera
    cam.data.ortho_scale /= args.zoom
    cam.location.z -= 0.12 * cam.data.ortho_scale * args.zoom  # centre on the mouth
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    scene.render.image_settings.file_format = "PNG"
    if hasattr(scene.render.image_settings, "media_type"):
        scene.render.image_settings.media_type = "IMAGE"
        scene.render.image_settings.file_format = "PNG"
    if args.poses:
        return render_poses(obj, scene, out)
    report = {}
    for label, pick in picks.items():
        scene.frame_set(pick["frame"])
        path = out / f"{label.lower()}.png"
        scene.render.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        values = {n: round(float(fc.evaluate(pick["frame"])), 3) for n, fc in curves.items()
                  if n in ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthPress_L", "mouthRollLower")}
        report[label] = {**pick, "png": path.name, "curves": values}
        print(f"frames: /{label.lower()}/ frame {pick['frame']} (phone {pick['phone']}): {values}")
    (out / "frames.json").write_text(json.dumps(report, indent=1))
    sheet(out, report)
    return 0


POSES = {"rest": {}, "P": {"jawOpen": 0.15, "mouthClose": 0.15, "mouthPress_L": 0.5, "mouthPress_R": 0.5},
         "UW": {"jawOpen": 0.1, "mouthFunnel": 0.35, "mouthPucker": 0.6}, "AA": {"jawOpen": 0.75}}


def render_poses(obj, scene, out):
    """Set the shape keys by hand (no take) and render: shows what the rig can do at each phone."""
    import bpy
    key = obj.data.shape_keys
    key.animation_data.action = None
    for mod in obj.modifiers:
        if mod.type == "MESH_CACHE":
            mod.show_render = mod.show_viewport = False
    report = {}
    for label, values in POSES.items():
        for kb in key.key_blocks[1:]:
            kb.value = values.get(kb.name, 0.0) if not kb.name.endswith(("_sq", "_jawOpen")) else kb.value
        scene.frame_set(scene.frame_start)
        path = out / f"pose_{label.lower()}.png"
        scene.render.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        report[label] = {"frame": "pose", "png": path.name, "curves": values}
    (out / "poses.json").write_text(json.dumps(report, indent=1))
    sheet(out, report, name="poses.png")
    return 0


def sheet(out, report, name="frames.png"):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("frames: matplotlib missing, no sheet (the PNGs are there)")
        return
    order = [k for k in ("rest", *TARGETS) if k in report]
    fig, axes = plt.subplots(1, len(order), figsize=(4 * len(order), 4.4))
    for ax, label in zip(axes, order):
        r = report[label]
        ax.imshow(plt.imread(out / r["png"]))
        what = TARGETS[label][0] if label in TARGETS else "before speech"
        ax.set_title(f"/{label.lower()}/ {what}\nframe {r['frame']}", fontsize=11)
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(out / name, dpi=80)
    print(f"frames: {out / name}")


if __name__ == "__main__":
    sys.exit(main())
