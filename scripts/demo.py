"""README's demo: the bundled speech clip animated on the FLAME template, with the bpy module.

    python scripts/demo.py [--out out/demo] [--audio assets/demo.wav] [--fps 30] [--size 512] [--no-video]

Builds the extension zip, installs it with Blender's installer into a throw-away repository, imports
../shared/flame/flame_template.ply Z-up, runs ``bpy.ops.parley.generate(mode='BOTH')`` with the sound
added to the Sequencer, and writes into --out:
    parley_demo.blend   the animated scene (shape keys + Action, Mesh Cache modifier, sound strip)
    parley/demo.pc2     the mesh cache the modifier plays
    preview.mp4         a Workbench render of the take with the speech muxed in (H.264 + AAC)
"""
import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_scene  # noqa: E402

REPO = demo_scene.REPO


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
    head = demo_scene.flame_head()
    t0 = time.perf_counter()
    zip_path = demo_scene.build_zip(out / ".dist")
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 beside the demo
    with demo_scene.installed(zip_path):
        obj = demo_scene.import_head(head)
        scene = bpy.context.scene
        demo_scene.stage(obj, size=args.size, fps=args.fps)
        blend = out / "parley_demo.blend"
        if (out / "parley").is_dir():
            shutil.rmtree(out / "parley")  # a re-run replaces the demo's own outputs, nothing else
        bpy.ops.wm.save_as_mainfile(filepath=str(blend))
        bpy.context.view_layer.objects.active = obj
        result = bpy.ops.parley.generate(audio_path=str(Path(args.audio).absolute()), mode="BOTH", seed=args.seed,
                                         start_frame=1, add_sound_to_sequencer=True)
        if result != {"FINISHED"}:
            raise SystemExit("generate did not finish")
        scene.frame_start = 1
        scene.frame_end = int(obj.data.shape_keys.animation_data.action.frame_range[1])  # the take, no more
        bpy.ops.wm.save_mainfile()
        print(f"demo: {blend}")
        cache = next(m for m in obj.modifiers if m.type == "MESH_CACHE")
        print(f"demo: {bpy.path.abspath(cache.filepath)}")
        if not args.no_video:
            video = out / "preview.mp4"
            demo_scene.video_output(scene, video)
            t = time.perf_counter()
            bpy.ops.render.render(animation=True)
            print(f"demo: {video} ({scene.frame_end - scene.frame_start + 1} frames in "
                  f"{time.perf_counter() - t:.0f} s)")
    shutil.rmtree(out / ".dist", ignore_errors=True)
    print(f"demo: done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
