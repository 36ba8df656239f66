"""main: open the scene, load the extension, plan the files, prepare the scene once, then run_and_merge."""
import os
import socket
import sys
import time
import traceback
from pathlib import Path

from .extension import (bpy_module_mode, extension_identity, generate_kwargs, head_hash, life_kwargs, load_extension,
                        operator_properties)
from .merge import BatchRun, run_and_merge
from .plan import (AUDIO_EXTENSIONS, PREFIX, WORK, UsageError, audio_duration, dialogue_spec, discover, file_key,
                   pairs, parse_args, partner_line, script_argv, sha256_file, up_to_date)
from .scene import ensure_rig, has_animation
from .workers import worker_main


def open_scene(args, out):
    """Open --scene (or use Blender's open file); -> its path. Refuses an --out that would replace it."""
    import bpy
    if args.scene:
        if not Path(args.scene).is_file():
            raise UsageError(f"scene {args.scene} not found")
        bpy.ops.wm.open_mainfile(filepath=str(Path(args.scene).absolute()))
    elif bpy_module_mode() or not bpy.data.filepath:
        raise UsageError("no scene: pass --scene SCENE.blend (or open one: blender --background SCENE.blend ...)")
    scene_path = Path(bpy.data.filepath)
    if (out / f"{scene_path.stem}.blend").resolve() == scene_path.resolve():
        raise UsageError(f"--out {args.out} holds the scene itself: the output would replace {scene_path.name}; "
                         "choose another output folder")
    return scene_path


def head_object(name, scene_path):
    import bpy
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "MESH":
        meshes = ", ".join(sorted(o.name for o in bpy.data.objects if o.type == "MESH")) or "none"
        raise UsageError(f"no mesh object named {name!r} in {scene_path.name}; meshes: {meshes}")
    return obj


def operator_kwargs(args, obj, style, options):
    kwargs = life_kwargs(generate_kwargs(style, options), args.mode, obj)
    if has_animation(obj) and "existing" in operator_properties() and "existing" not in kwargs:
        # the operator's default (STOP) would refuse every file; each take is made beside the old animation
        kwargs["existing"] = "KEEP"
        print(f"{PREFIX} {args.object} already has animation: it stays, and each take is made with existing=KEEP")
    return kwargs


def dialogue_partner(spec, obj, kwargs):
    """--dialogue OTHER:AUDIO_DIR -> the folder of OTHER's lines (None without it); sets look_at=OTHER unless given."""
    import bpy
    parsed = dialogue_spec(spec)
    if parsed is None:
        return None
    other, folder = parsed
    if bpy.data.objects.get(other) is None:
        raise UsageError(f"--dialogue: no object named {other!r} in the scene")
    if other == obj.name:
        raise UsageError(f"--dialogue: {other} is the head itself; name the other character")
    if "listen_audio" not in operator_properties():
        raise UsageError("--dialogue: this extension's bpy.ops.parley.generate has no listen_audio; update Parley")
    if "listen_audio" in kwargs:
        raise UsageError("--dialogue gives each file its own listen_audio: drop --option listen_audio")
    kwargs.setdefault("look_at", other)
    return folder


def listen_fields(partner, path, settings):
    """-> (the settings a file's key covers, its row's extra fields), or a message when OTHER has no such line."""
    if partner is None:
        return settings, {}
    line = partner_line(partner, path.stem)
    if line is None:
        return f"--dialogue: no line named {path.stem} in {partner}", None
    return {**settings, "listen": sha256_file(line).hexdigest()}, {"listen_audio": str(line)}


def plan_files(args, out, settings, partner=None):
    """-> (inputs, ignored, rows, todo): rows holds the files that failed already or are up to date;
    partner: the folder of a dialogue partner's lines (each file listens to the one of its name)."""
    inputs, ignored = discover(args.audio)
    if not inputs:
        raise UsageError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {' '.join(args.audio)}")
    rows, todo = {}, []
    for name, path, problem in inputs:
        row = {"name": name, "file": str(path), "path": str(path)}
        if problem:
            rows[name] = {**row, "status": "FAILED", "message": problem}
            continue
        keyed, extra = listen_fields(partner, path, settings)
        if extra is None:
            rows[name] = {**row, "status": "FAILED", "message": keyed}
            continue
        row.update(key=file_key(path, keyed), size=path.stat().st_size, **extra)
        known = None if args.force else up_to_date(out, name, row["key"])
        if known:
            rows[name] = {**row, **{k: known.get(k) for k in ("duration", "frames")},
                          "status": "up to date", "seconds": 0.0}
        else:
            todo.append({**row, "duration": audio_duration(path)})
    for p in ignored:
        print(f"{PREFIX} ignored {p.name}: not an audio file Parley reads")
    print(f"{PREFIX} {len(inputs)} files: {len(todo)} to animate, "
          f"{sum(r['status'] == 'up to date' for r in rows.values())} up to date, jobs={args.jobs}")
    return inputs, ignored, rows, todo


def main(argv, started=None):
    """-> the exit code; started: when the process started (the summary's timing)."""
    args = parse_args(script_argv(argv))
    if args.worker:
        return worker_main(args.worker)
    import bpy
    style, options = pairs(args.style, "--style"), pairs(args.option, "--option")  # checked before the scene opens
    out = Path(args.out).expanduser().absolute()
    scene_path = open_scene(args, out)
    source = load_extension(args.extension)
    timing = {"script_start": started or time.time(), "extension_loaded": time.time()}
    obj = head_object(args.object, scene_path)
    kwargs = operator_kwargs(args, obj, style, options)
    partner = dialogue_partner(args.dialogue, obj, kwargs)
    scene = bpy.context.scene
    if args.fps:
        scene.render.fps = max(1, round(args.fps))
        scene.render.fps_base = scene.render.fps / args.fps
    start_frame = scene.frame_start if args.start_frame is None else args.start_frame
    settings = {"object": args.object, "mode": args.mode, "seed": args.seed, "start_frame": start_frame,
                "fps": scene.render.fps / scene.render.fps_base, "kwargs": kwargs, "head": head_hash(obj),
                "extension": extension_identity(source), "blender": bpy.app.version_string}
    inputs, ignored, rows, todo = plan_files(args, out, settings, partner)

    out.mkdir(parents=True, exist_ok=True)
    ensure_rig(obj, args.mode)
    run_id = f"{socket.gethostname()}-{os.getpid()}"  # farm tasks may share --out: nothing shared is written
    prepared = out / f"{WORK}-{run_id}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(prepared))  # from here on '//' is the output folder
    run = BatchRun(object_name=args.object, mode=args.mode, seed=args.seed, jobs=args.jobs, merge=not args.no_merge,
                   start_frame=start_frame, kwargs=kwargs, settings=settings, source=source, out=out,
                   scene_path=scene_path, prepared=prepared, run_id=run_id, inputs=inputs, ignored=ignored,
                   rows=rows, todo=todo, timing=timing)
    try:
        return run_and_merge(run)
    finally:
        if prepared.exists():
            prepared.unlink()


def entry_point(argv=None, started=None):
    try:
        code = main(sys.argv if argv is None else argv, started)
    except UsageError as exc:
        print(f"{PREFIX} error: {exc}", file=sys.stderr)
        code = 2
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception:
        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.exit(code)
