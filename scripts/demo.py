"""README's demo: the bundled speech clip animated, with the bpy module, on the shipped MakeHuman character
and, where ../shared/flame has it, on the FLAME template.

    python scripts/demo.py [--out out/demo] [--audio assets/demo.wav] [--fps 30] [--size 384] [--no-video]

Builds the extension zip and installs it with Blender's installer into a throw-away repository. Then:

MakeHuman character (assets/makehuman_head, always): builds its six meshes with their ARKit shape keys,
runs ``bpy.ops.parley.generate(mode='SHAPE_KEYS')`` on the head: Parley drives a character's own ARKit
shape keys directly, on every mesh of the character (the teeth, tongue, eyes and eyelashes are parented
to the head), through one shared Action. Writes into --out:
    makehuman_demo.blend     the animated character (shape keys + Action, sound strip)
    makehuman_preview.mp4    a Workbench render of the take with the speech muxed in (H.264 + AAC)

FLAME template (only when ../shared/flame or $PARLEY_FLAME_DIR has it; otherwise one line says so):
imports flame_template.ply Z-up, runs ``generate(mode='BOTH')`` and writes
    parley_demo.blend   the animated scene (shape keys + Action, Mesh Cache modifier, sound strip)
    parley/demo.pc2     the mesh cache the modifier plays
    preview.mp4         its Workbench render
"""
import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_scene  # noqa: E402

REPO = demo_scene.REPO


def take(obj, args, mode):
    import bpy
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    result = bpy.ops.parley.generate(audio_path=str(Path(args.audio).absolute()), mode=mode, seed=args.seed,
                                     start_frame=1, add_sound_to_sequencer=True)
    if result != {"FINISHED"}:
        raise SystemExit(f"generate did not finish on {obj.name}")
    scene = bpy.context.scene
    scene.frame_start = 1
    scene.frame_end = int(obj.data.shape_keys.animation_data.action.frame_range[1])  # the take, no more


def render(args, path):
    import bpy
    if args.no_video:
        return
    scene = bpy.context.scene
    demo_scene.video_output(scene, path)
    started = time.perf_counter()
    bpy.ops.render.render(animation=True)
    print(f"demo: {path} ({scene.frame_end - scene.frame_start + 1} frames in {time.perf_counter() - started:.0f} s)")


def character_demo(args, out):
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True)
    head, others = demo_scene.import_character()
    demo_scene.stage(head, size=args.size, fps=args.fps, zoom=1.3)
    blend = out / "makehuman_demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    take(head, args, "SHAPE_KEYS")
    action = head.data.shape_keys.animation_data.action
    driven = [o.name for o in others if o.data.shape_keys.animation_data is not None
              and o.data.shape_keys.animation_data.action == action]
    print(f"demo: MakeHuman take '{action.name}' on head and {', '.join(driven) or 'no other mesh'}")
    bpy.ops.wm.save_mainfile()
    print(f"demo: {blend}")
    render(args, out / "makehuman_preview.mp4")


def flame_demo(args, out, head_path):
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True)
    obj = demo_scene.import_head(head_path)
    demo_scene.stage(obj, size=args.size, fps=args.fps)
    blend = out / "parley_demo.blend"
    if (out / "parley").is_dir():
        shutil.rmtree(out / "parley")  # a re-run replaces the demo's own outputs, nothing else
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    take(obj, args, "BOTH")
    bpy.ops.wm.save_mainfile()
    print(f"demo: {blend}")
    cache = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
    print(f"demo: {bpy.path.abspath(cache.filepath)}")
    render(args, out / "preview.mp4")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(REPO / "out" / "demo"))
    p.add_argument("--audio", default=str(REPO / "assets" / "demo.wav"))
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-video", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    demo_scene.isolate_user_folder()
    flame = demo_scene.flame_head_or_none()
    t0 = time.perf_counter()
    zip_path = demo_scene.build_zip(out / ".dist")
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 beside the demo
    with demo_scene.installed(zip_path):
        character_demo(args, out)
        if flame is not None:
            flame_demo(args, out, flame)
    shutil.rmtree(out / ".dist", ignore_errors=True)
    print(f"demo: done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
