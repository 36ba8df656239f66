"""Build Parley's extension zips with Blender's own extension builder, one per platform.

    python scripts/build_extension.py [--platforms linux-x64 ...] [--model-dir DIR] [--out dist]

1. Fetches unmodified PyPI wheels of onnxruntime for CPython 3.11 (Blender 4.2-5.0) and 3.13
   (Blender 5.1+, Debian's 4.3) on each platform into ``wheels/`` (``pip download --only-binary``),
   reusing what is already there. onnxruntime is the only wheel: its other declared requirements
   (coloredlogs, flatbuffers, packaging, protobuf, sympy) serve its tooling, not InferenceSession
   (tests/blender checks the installed extension runs with only Blender's numpy), and numpy ships
   with Blender.
2. Rewrites the ``wheels`` and ``platforms`` lists of ``blender_manifest.toml``.
3. Stages the files the manifest keeps into ``build/stage`` (``--model-dir`` swaps in another
   parley.onnx + parley_style.onnx there, for tests before the real model is exported), runs
   ``blender_ext.py build --split-platforms`` and ``validate`` on every zip, and fails when a zip
   is 60 MB or more.

blender_ext.py comes from the ``bpy`` module of this Python (bpy/<ver>/scripts/addons_core/bl_pkg/cli)
or ``--blender-ext PATH``. Exit code 0 on success; one line on stderr otherwise.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ONNXRUNTIME = "onnxruntime==1.23.2"  # the last release with wheels for every platform below (macOS x64 ended here)
PYTHONS = ("3.11", "3.13")
PLATFORMS = {  # Blender platform -> pip --platform tags (newest first; pip accepts older wheels for them)
    "linux-x64": ["manylinux_2_28_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_14_0_arm64"],
    "macos-x64": ["macosx_14_0_x86_64"],
}
WHEEL_TAG = {  # how a wheel file name shows each platform
    "linux-x64": "manylinux", "windows-x64": "win_amd64", "macos-arm64": "arm64", "macos-x64": "macosx_.*_x86_64",
}
MAX_ZIP_BYTES = 60 * 1000 * 1000
STAGE_SKIP = {".git", ".chroot", ".venv", ".venv42", "runs", "corpus", "dist", "build", "out", ".pytest_cache",
              "__pycache__", "wheels"}


class BuildError(Exception):
    pass


def find_blender_ext():
    try:
        import importlib.util
        spec = importlib.util.find_spec("bpy")
    except (ImportError, ValueError):
        spec = None
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    for root in roots:
        hits = sorted(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if hits:
            return hits[-1]
    raise BuildError("Blender's blender_ext.py not found: pip install bpy, or pass --blender-ext PATH")


def wheel_platform(name):
    for platform, pattern in WHEEL_TAG.items():
        if re.search(pattern, name):
            return platform
    return None


def fetch_wheels(platforms, folder):
    """-> sorted wheel paths (relative to the repo) for each python x platform; downloads what is missing."""
    folder.mkdir(exist_ok=True)
    name, _, version = ONNXRUNTIME.partition("==")
    found = []
    for platform in platforms:
        for py in PYTHONS:
            tag = "cp" + py.replace(".", "")
            have = [p for p in folder.glob(f"{name}-{version}-{tag}-{tag}-*.whl") if wheel_platform(p.name) == platform]
            if not have:
                cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                       "--only-binary=:all:", "--no-deps", "--implementation", "cp", "--python-version", py,
                       "-d", str(folder), ONNXRUNTIME]
                for plat in PLATFORMS[platform]:
                    cmd[cmd.index("-d"):cmd.index("-d")] = ["--platform", plat]
                print(f"build: fetching {ONNXRUNTIME} for {platform} / Python {py}", flush=True)
                run = subprocess.run(cmd, capture_output=True, text=True)
                if run.returncode != 0:
                    last = (run.stderr.strip().splitlines() or ["pip failed"])[-1]
                    raise BuildError(f"cannot download {ONNXRUNTIME} for {platform}/Python {py}: {last}")
                have = [p for p in folder.glob(f"{name}-{version}-{tag}-{tag}-*.whl")
                        if wheel_platform(p.name) == platform]
                if not have:
                    raise BuildError(f"pip gave no {ONNXRUNTIME} wheel for {platform}/Python {py}")
            found.append(sorted(have)[-1])
    return sorted(found)


def write_manifest(path, wheels, platforms):
    text = path.read_text()
    listing = "wheels = [\n" + "".join(f'  "./wheels/{w.name}",\n' for w in wheels) + "]"
    plats = "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]"
    text, n = re.subn(r"(?ms)^wheels = \[.*?^\]", listing, text)
    if n != 1:
        raise BuildError(f"{path.name} has no 'wheels = [...]' list to rewrite")
    if re.search(r"(?m)^platforms = \[.*\]$", text):
        text = re.sub(r"(?m)^platforms = \[.*\]$", plats, text)
    else:
        text = text.replace(listing, plats + "\n" + listing)
    path.write_text(text)


def stage(stage_dir, wheels, platforms, model_dir):
    if stage_dir.exists():
        shutil.rmtree(stage_dir)

    def ignore(folder, names):
        top = Path(folder).resolve() == REPO
        return [n for n in names if n == "__pycache__" or (top and n in STAGE_SKIP)]

    shutil.copytree(REPO, stage_dir, ignore=ignore)
    (stage_dir / "wheels").mkdir()
    for w in wheels:
        try:
            os.link(w, stage_dir / "wheels" / w.name)
        except OSError:
            shutil.copy2(w, stage_dir / "wheels" / w.name)
    write_manifest(stage_dir / "blender_manifest.toml", wheels, platforms)
    models = stage_dir / "models"
    if model_dir:
        for name in ("parley.onnx", "parley_style.onnx"):
            src = Path(model_dir) / name
            if not src.is_file():
                raise BuildError(f"--model-dir {model_dir} has no {name}")
            shutil.copy2(src, models / name)
    if not (models / "parley.onnx").is_file():
        raise BuildError("models/parley.onnx is missing: export the model first "
                         "(python -m models.training.export ...) or pass --model-dir")


def blender_ext(tool, *args):
    run = subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True)
    if run.returncode != 0:
        text = (run.stdout + run.stderr).strip().splitlines()
        raise BuildError(f"blender_ext {args[0]} failed: {' / '.join(text[-3:]) if text else run.returncode}")
    return run.stdout


def build(platforms, out, model_dir=None, tool=None):
    tool = Path(tool) if tool else find_blender_ext()
    wheels = fetch_wheels(platforms, REPO / "wheels")
    if set(platforms) == set(PLATFORMS):  # the committed manifest lists every platform's wheels
        write_manifest(REPO / "blender_manifest.toml", wheels, list(PLATFORMS))
    stage_dir = REPO / "build" / "stage"
    stage(stage_dir, wheels, platforms, model_dir)
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("parley-*.zip"):
        old.unlink()
    print(blender_ext(tool, "build", "--source-dir", str(stage_dir), "--output-dir", str(out),
                      "--split-platforms").strip(), flush=True)
    zips = sorted(out.glob("parley-*.zip"))
    if len(zips) != len(platforms):
        raise BuildError(f"expected {len(platforms)} zips in {out}, found {len(zips)}")
    for z in zips:
        blender_ext(tool, "validate", str(z))
        size = z.stat().st_size
        print(f"build: {z.name}: {size / 1e6:.1f} MB, valid", flush=True)
        if size >= MAX_ZIP_BYTES:
            raise BuildError(f"{z.name} is {size / 1e6:.1f} MB; the limit is {MAX_ZIP_BYTES / 1e6:.0f} MB")
    return zips


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--platforms", nargs="+", choices=sorted(PLATFORMS), default=list(PLATFORMS))
    p.add_argument("--out", default=str(REPO / "dist"))
    p.add_argument("--model-dir", help="take parley.onnx and parley_style.onnx from here instead of models/")
    p.add_argument("--blender-ext", help="path of Blender's blender_ext.py")
    args = p.parse_args(argv)
    try:
        build(args.platforms, args.out, args.model_dir, args.blender_ext)
    except BuildError as exc:
        print(f"build_extension: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
