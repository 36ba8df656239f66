"""A screenshot of the real Blender UI: the Parley tab open on the FLAME head after Generate.

    python scripts/screenshot.py [--out out/screens] [--audio assets/demo.wav]

Runs Debian's Blender 4.3 from the chroot (scripts/setup_blender_chroot.sh) under Xvfb with a
throw-away user folder: builds the extension zip, installs it with ``blender --command extension
install-file``, then starts the UI with this script, which (inside Blender) imports the head Z-up,
presses Generate the way the button does (``INVOKE_DEFAULT``: modal, progress, Esc), waits for the
take, moves to the frame of the widest jaw opening and saves ``parley_ui.png`` (plus
``parley_ui_running.png`` taken while the take was being computed, when it was slow enough to catch).
The images show a FLAME head: they stay in out/ and are never committed.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def outside(args):
    sys.path.insert(0, str(REPO / "scripts"))
    import demo_scene
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="parley-shot-"))
    zip_path = demo_scene.build_zip(work / "dist")
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(work / "user"))
    chroot = ["bash", str(REPO / "scripts" / "chroot_blender.sh")]
    run = subprocess.run(chroot + ["--command", "extension", "install-file", "-r", "user_default", "-e",
                                   str(zip_path)], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"installing the extension failed: {run.stdout[-2000:]}{run.stderr[-2000:]}")
    head = demo_scene.flame_head()
    blend = work / "shot.blend"  # opening a file keeps the splash screen away
    expr = f"import bpy; bpy.ops.wm.read_homefile(); bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})"
    subprocess.run(chroot + ["-b", "--python-expr", expr], env=env, capture_output=True, check=True)
    cmd = chroot + ["--run", "xvfb-run", "-a", "-s", f"-screen 0 {args.width}x{args.height}x24",
                    "blender", "--window-geometry", "0", "0", str(args.width), str(args.height),
                    "--no-window-focus", str(blend), "--python", str(Path(__file__).resolve()), "--",
                    "--inside", "--out", str(out), "--audio", str(Path(args.audio).absolute()),
                    "--head", str(head), "--work", str(work)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    log = run.stdout + run.stderr
    (out / "screenshot.log").write_text(log)
    shots = sorted(out.glob("parley_ui*.png"))
    if run.returncode != 0 or not (out / "parley_ui.png").is_file():
        raise SystemExit(f"no screenshot (exit {run.returncode}); see {out / 'screenshot.log'}")
    for line in log.splitlines():
        if line.startswith(("screenshot:", "Info: Parley", "Warning", "Error")):
            print(line)
    print("\n".join(f"screenshot: {p}" for p in shots))
    import shutil
    shutil.rmtree(work, ignore_errors=True)
    return 0


def inside(args):
    """In Blender's UI: set up, press Generate, wait for the modal take, screenshot, quit."""
    import bpy

    state = {"t": 0, "phase": "setup", "shot_running": False}
    out = Path(args.out)

    def tick():
        state["t"] += 1
        try:
            window, area, region, sidebar = view3d()
            if state["phase"] == "setup":
                state["obj"] = setup(args)
                state["phase"] = "tab"
            elif state["phase"] == "tab":
                sidebar.active_panel_category = "Parley"
                area.tag_redraw()
                state["phase"] = "generate"
            elif state["phase"] == "generate":
                with bpy.context.temp_override(window=window, area=area, region=sidebar):
                    result = bpy.ops.parley.generate("INVOKE_DEFAULT")
                print(f"screenshot: generate invoked -> {result}", flush=True)
                state["phase"] = "wait"
            elif state["phase"] == "wait":
                key = state["obj"].data.shape_keys
                done = key is not None and key.animation_data is not None and key.animation_data.action is not None
                if not done and not state["shot_running"]:
                    grab(window, out / "parley_ui_running.png")
                    state["shot_running"] = True
                if done:
                    action = key.animation_data.action
                    jaw = next(fc for fc in _fcurves(action) if "jawOpen" in fc.data_path)
                    frames = [kp.co for kp in jaw.keyframe_points]
                    frame = int(max(frames, key=lambda co: co[1])[0])
                    bpy.context.scene.frame_set(frame)
                    print(f"screenshot: take done, showing frame {frame} (widest jaw)", flush=True)
                    state["phase"] = "shoot"
                elif state["t"] > 600:
                    print("screenshot: the take did not finish in time", flush=True)
                    bpy.ops.wm.quit_blender()
            elif state["phase"] == "shoot":
                area.tag_redraw()
                state["phase"] = "shoot2"
            elif state["phase"] == "shoot2":
                grab(window, out / "parley_ui.png")
                print(f"screenshot: sidebar tab {sidebar.active_panel_category}", flush=True)
                bpy.ops.wm.quit_blender()
                return None
        except Exception:
            import traceback
            traceback.print_exc()
            bpy.ops.wm.quit_blender()
            return None
        return 0.5

    bpy.app.timers.register(tick, first_interval=2.0)


def view3d():
    """The largest 3D view of the first window: (window, area, its main region, its sidebar)."""
    import bpy
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    region = next(r for r in area.regions if r.type == "WINDOW")
    sidebar = next(r for r in area.regions if r.type == "UI")
    return window, area, region, sidebar


def setup(args):
    """A fresh scene with the FLAME head, saved in --work, Parley's settings, the view from the front."""
    import bpy
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    bpy.ops.wm.ply_import(filepath=args.head, forward_axis="NEGATIVE_Z", up_axis="Y")
    obj = bpy.context.active_object
    obj.name = "FLAME head"
    bpy.ops.wm.save_as_mainfile(filepath=str(Path(args.work) / "shot.blend"))
    scene = bpy.context.scene
    scene.render.fps = 30
    scene.parley.audio_path = args.audio
    scene.parley.mode = "BOTH"
    window, area, region, sidebar = view3d()
    space = area.spaces.active
    space.show_region_ui = True
    space.shading.type = "SOLID"
    space.overlay.show_floor = space.overlay.show_axis_x = space.overlay.show_axis_y = False
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.view3d.view_axis(type="FRONT")
        bpy.ops.view3d.view_selected()
    return obj


def grab(window, path):
    """The X screen as the user sees it (ImageMagick's import; Blender's own screenshot reads the GL front
    buffer, which is black under Xvfb's software GL)."""
    import shutil
    import bpy
    if shutil.which("import"):
        subprocess.run(["import", "-window", "root", str(path)], check=False, timeout=60)
    if not Path(path).is_file():
        with bpy.context.temp_override(window=window):
            bpy.ops.screen.screenshot(filepath=str(path))


def _fcurves(action):
    import bpy
    if bpy.app.version >= (4, 4, 0):
        return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for fc in bag.fcurves]
    return list(action.fcurves)


def main():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(REPO / "out" / "screens"))
    p.add_argument("--audio", default=str(REPO / "assets" / "demo.wav"))
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1150)
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--head", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.inside:
        inside(args)
        return None
    return outside(args)


if __name__ == "__main__":
    code = main()
    if code is not None:
        sys.exit(code)
