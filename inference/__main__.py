"""Command line: ``python -m inference rig|animate`` (see DESIGN.md for the contract).

Every failure exits non-zero with one line on stderr saying what was wrong and what to do.
"""
import argparse
import gc
import os
import sys
import time

from .errors import ParleyError, run_cli


def _parse_styles(pairs):
    styles = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep:
            raise ParleyError(f"--style expects NAME=VALUE, got '{pair}'")
        try:
            styles[name.strip()] = float(value)
        except ValueError:
            raise ParleyError(f"--style {name}: '{value}' is not a number") from None
    return styles


def _load_mesh(path):
    from .meshio import load_mesh
    return load_mesh(path)


def _rig_of(vertices, faces, cache=False):
    from .rig import build_rig
    if cache:  # rebuilt only when the head or the rig code changed (inference/rig_cache.py)
        from .rig_cache import cached_build_rig
        return cached_build_rig(vertices, faces)[0]
    return build_rig(vertices, faces)


def _head_rig_of(vertices, faces, cache=False):
    from .head_rig import build_head_rig
    if cache:
        from .rig_cache import cached_build_head_rig
        return cached_build_head_rig(vertices, faces)[0]
    return build_head_rig(vertices, faces)


def cmd_rig(args):
    rig = _rig_of(*_load_mesh(args.head))
    rig.save(args.out)
    print(f"rig: {len(rig.names)} shapes + {len(rig.corrective_names)} correctives on "
          f"{rig.neutral.shape[0]} vertices -> {args.out}", file=sys.stderr)


def cmd_animate(args):
    from .audio import load_audio, MODEL_RATE
    from .animate import animate
    from .model import load_model
    from .take import Take, decode_to_pc2
    from .curves import Curves

    if args.fps <= 0:
        raise ParleyError(f"--fps must be positive, got {args.fps}")
    started = time.perf_counter()
    mesh = _load_mesh(args.head)  # read once: the face rig and the head-motion rig both come from it
    rig = _rig_of(*mesh, cache=not args.no_rig_cache)
    model = load_model(args.model, device=args.device, threads=args.threads)
    styles = _parse_styles(args.style)
    unknown = sorted(set(styles) - {a.name for a in model.meta.style_axes})
    if unknown:
        names = ", ".join(a.name for a in model.meta.style_axes)
        raise ParleyError(f"unknown style '{unknown[0]}'; choose from: {names}")
    pcm = load_audio(args.audio)
    curves = animate(model, pcm, MODEL_RATE, args.fps, style=styles or None, seed=args.seed)
    take, hook = Take.from_curves(curves), None
    if args.head_motion or args.gaze:  # the life layers (inference/life.py); 0 and 0: the bare take
        from .life import HeadFrame, HeadRotationBake, Life, add_life
        head = _head_rig_of(*mesh, cache=not args.no_rig_cache)
        life = Life(args.head_motion, args.gaze, frame=HeadFrame.from_head_rig(head))
        take = add_life(take, pcm, args.seed, styles, life)
        hook = HeadRotationBake(head) if args.head_motion else None
    if args.curves:
        Curves(take.names, take.fps, take.curves).write_csv(args.curves)
    frames = decode_to_pc2(rig, take, args.out, start_frame=args.start_frame, vertex_hook=hook)
    print(f"animate: {frames} frames at {args.fps:g} fps "
          f"({pcm.size / MODEL_RATE:.2f} s of audio) in {time.perf_counter() - started:.2f} s -> {args.out}",
          file=sys.stderr)


def build_parser():
    from .take import GAZE_DEFAULT, HEAD_MOTION_DEFAULT
    parser = argparse.ArgumentParser(prog="python -m inference", description="Parley's bpy-free core.")
    sub = parser.add_subparsers(dest="command", required=True)
    rig = sub.add_parser("rig", help="build the ARKit rig of a FLAME-topology head")
    rig.add_argument("--head", required=True, help="head mesh (.obj or .ply)")
    rig.add_argument("--out", required=True, help="RIG.npz to write")
    rig.set_defaults(func=cmd_rig)
    anim = sub.add_parser("animate", help="animate a head from speech into a .pc2 mesh cache")
    anim.add_argument("--head", required=True, help="head mesh (.obj or .ply)")
    anim.add_argument("--audio", required=True, help="speech (wav, flac, ogg, mp3; any rate)")
    anim.add_argument("--out", required=True, help=".pc2 to write")
    anim.add_argument("--fps", type=float, default=30.0)
    anim.add_argument("--curves", help="also write the curves as CSV")
    anim.add_argument("--seed", type=int, default=0)
    anim.add_argument("--style", action="append", metavar="NAME=VALUE", help="style slider, repeatable")
    anim.add_argument("--start-frame", type=float, default=0.0)
    anim.add_argument("--model", help="custom .onnx model (default: the shipped one)")
    anim.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    anim.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: automatic)")
    anim.add_argument("--head-motion", type=float, default=HEAD_MOTION_DEFAULT, metavar="AMOUNT",
                      help=f"head motion from the speech, baked into the .pc2 (0: none; default {HEAD_MOTION_DEFAULT:g})")
    anim.add_argument("--gaze", type=float, default=GAZE_DEFAULT, metavar="AMOUNT",
                      help=f"saccades and fixations on the eyeLook curves (0: the model's own; default {GAZE_DEFAULT:g})")
    anim.add_argument("--no-rig-cache", action="store_true", help="rebuild the rigs, do not read or write the cache")
    anim.set_defaults(func=cmd_animate)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    for attr in ("out", "curves"):
        path = getattr(args, attr, None)
        if path and os.path.isdir(path):
            print(f"error: --{attr} {path} is a folder; give a file path", file=sys.stderr)
            return 2
    try:
        return run_cli(args.func, args)
    except MemoryError:
        print("error: out of memory; split the audio into shorter files", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130


def run_as_command():
    """``python -m inference``: one short process, so start-up and exit are a fair part of its time.

    OpenBLAS's idle threads sleep at once instead of spinning on sched_yield for ~0.1 s after every product
    (set before numpy loads, unless the environment says otherwise): the rig's products are many and short,
    and a spinning BLAS thread takes the core the .pc2 writer needs. The thread count, and so every
    rounding, stays as it was: a bare take is byte for byte what it was. The cyclic garbage collector is
    off for the run and the objects left at the end are frozen: the process frees them when it exits,
    without the collector's final passes over every one of them (tens of ms)."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # 2**4 cycles (OpenBLAS's minimum)
    gc.disable()
    try:
        return main()
    finally:
        gc.freeze()


if __name__ == "__main__":
    sys.exit(run_as_command())
