"""Planning a batch without bpy: arguments, the audio files, their keys and sidecars, the worker slices."""
import argparse
import hashlib
import json
import os
from pathlib import Path

DESCRIPTION = "Parley batch: animate a folder of speech with ``bpy.ops.parley.generate``, from a real Blender or bpy."
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")  # = inference.audio.SUPPORTED
MODES = {"shapekeys": "SHAPE_KEYS", "cache": "MESH_CACHE", "both": "BOTH"}
PARTS, WORK, MANIFEST = ".parley_parts", ".parley_work", "parley_batch.json"
PREFIX = "parley-batch:"


class UsageError(Exception):
    """Bad arguments or scene: exit 2 before any file is touched."""


class FileFailed(Exception):
    """One file failed (the operator's message); the batch goes on with the others."""


def script_argv(argv):
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="batch.py", description=DESCRIPTION)
    p.add_argument("--scene", help="the .blend to open (needed with the bpy module; default: Blender's open file)")
    p.add_argument("--object", help="the head object's name")
    p.add_argument("--audio", nargs="+", default=[], help="audio files and/or folders (not recursive)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--mode", choices=sorted(MODES), default="shapekeys")
    p.add_argument("--style", nargs="+", action="extend", default=[], metavar="NAME=VALUE")
    p.add_argument("--option", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="any other property of bpy.ops.parley.generate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dialogue", metavar="OTHER:AUDIO_DIR",
                   help="dialogue: each file's character also listens to OTHER's line of the same name in AUDIO_DIR "
                        "(nods, blinks, no lip motion while OTHER speaks) and looks at OTHER; run again with the "
                        "roles swapped for OTHER's side")
    p.add_argument("--fps", type=float, help="scene frame rate (default: the scene's)")
    p.add_argument("--start-frame", type=int, help="first frame of each take (default: the scene's start)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes, each with its own Blender")
    p.add_argument("--extension", help="load the extension from this folder instead")
    p.add_argument("--force", action="store_true", help="redo files even when their outputs are up to date")
    p.add_argument("--no-merge", action="store_true",
                   help="only per-file outputs (parts, .pc2, sidecars): for farm tasks sharing one --out; "
                        "a last run without it merges them (every file is then up to date)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.worker:
        missing = [f"--{n}" for n in ("object", "audio", "out") if not getattr(args, n)]
        if missing:
            p.error("missing " + ", ".join(missing))
        if args.jobs < 1:
            p.error("--jobs must be at least 1")
    return args


def pairs(items, flag):
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{flag} takes NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def dialogue_spec(spec):
    """--dialogue OTHER:AUDIO_DIR -> (OTHER, the folder), or None without it."""
    if not spec:
        return None
    other, sep, folder = spec.partition(":")
    if not sep or not other or not folder:
        raise UsageError(f"--dialogue takes OTHER_OBJECT:AUDIO_DIR, got {spec!r}")
    path = Path(folder).expanduser().absolute()
    if not path.is_dir():
        raise UsageError(f"--dialogue: {folder} is not a folder")
    return other, path


def partner_line(folder, name):
    """OTHER's audio of the same name (any supported extension, any case; .wav before .flac ... when there are
    several), or None."""
    found = [c for c in folder.iterdir() if c.stem == name and c.suffix.lower() in AUDIO_EXTENSIONS and c.is_file()]
    found.sort(key=lambda c: (AUDIO_EXTENSIONS.index(c.suffix.lower()), c.name))
    return found[0] if found else None


def discover(paths):
    """-> (inputs, ignored): inputs are (name, path, problem-or-None) sorted by name."""
    found, ignored = [], []
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or not child.is_file():
                    continue
                if child.suffix.lower() in AUDIO_EXTENSIONS:
                    found.append((child, None))
                else:
                    ignored.append(child)
        elif not path.exists():
            found.append((path, "file not found; check the path"))
        elif path.suffix.lower() not in AUDIO_EXTENSIONS:
            found.append((path, f"not an audio file Parley reads ({path.suffix or 'no extension'}); "
                                f"use {', '.join(AUDIO_EXTENSIONS)}"))
        else:
            found.append((path, None))
    stems = {}
    for path, _ in found:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    inputs, seen = [], {}
    for path, problem in found:
        name = path.stem if stems[path.stem] == 1 else path.name
        if seen.get(name) == path.resolve():  # the same file given twice
            continue
        if name in seen:  # outputs are named after files: two different a.wav cannot both be "a"
            name = str(path)
            problem = problem or "another input has the same file name; rename one of them"
        seen[name] = path.resolve()
        inputs.append((name, path, problem))
    return sorted(inputs), ignored


def sha256_file(path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def file_key(path, settings):
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    return sha256_file(path, h).hexdigest()


def write_json_atomic(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def outputs_of(out, name, mode):
    paths = {"part": out / PARTS / f"{name}.blend"}
    if mode in ("cache", "both"):
        paths["pc2"] = out / "parley" / f"{name}.pc2"
    return paths


def up_to_date(out, name, key):
    sidecar = out / PARTS / f"{name}.json"
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    for rel, size in data.get("outputs", {}).items():
        p = out / rel
        if not p.is_file() or p.stat().st_size != size:
            return None
    return data


def remove_outputs(out, name, mode):
    for p in [out / PARTS / f"{name}.json", *outputs_of(out, name, "both").values()]:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def audio_duration(path):
    """Seconds, or None; aud where Blender has it (Debian's build has not), else soundfile, else wave."""
    try:
        import aud
        sound = aud.Sound(str(path))
        return sound.length / sound.specs[0]
    except Exception:
        pass
    try:
        import soundfile
        return soundfile.info(str(path)).duration
    except Exception:
        pass
    try:
        import wave
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    except Exception:
        return None


def summary_table(rows, out):
    lines = [f"{'file':<32} {'duration':>9} {'frames':>7} {'seconds':>8}  status"]
    for r in rows:
        dur = f"{r['duration']:.2f} s" if r.get("duration") is not None else "-"
        frames = str(r["frames"]) if r.get("frames") is not None else "-"
        secs = f"{r['seconds']:.2f}" if r.get("seconds") is not None else "-"
        status = r["status"] + (f": {r['message']}" if r.get("message") else "")
        lines.append(f"{r['file']:<32} {dur:>9} {frames:>7} {secs:>8}  {status}")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "up to date", "FAILED")}
    lines.append(f"{len(rows)} files: {counts['ok']} animated, {counts['up to date']} up to date, "
                 f"{counts['FAILED']} failed; output in {out}")
    return "\n".join(lines)


def partition(entries, jobs):
    """Longest-first over the least-loaded worker (by file size); each slice keeps name order."""
    bins = [[] for _ in range(jobs)]
    load = [0] * jobs
    for e in sorted(entries, key=lambda e: (-e["size"], e["name"])):
        k = load.index(min(load))
        bins[k].append(e)
        load[k] += e["size"]
    return [sorted(b, key=lambda e: e["name"]) for b in bins if b]

