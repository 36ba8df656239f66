"""Shared by demo.py, preview_frames.py, screenshot.py and bench_blender.py (bpy module or Blender):
install the built extension into a throw-away repository, import the FLAME head Z-up (or build the
shipped MakeHuman character), and stage a Workbench camera on its face."""
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLAME = Path(os.environ.get("PARLEY_FLAME_DIR") or REPO / ".." / "shared" / "flame").resolve()
PLATFORM = {"linux": "linux-x64", "win32": "windows-x64"}.get(sys.platform, "macos-arm64")


def isolate_user_folder():
    """Give Blender a throw-away user folder (call before ``import bpy``): installing the extension also
    unpacks its wheels into the user folder's ``extensions/.local``, which must not be the user's own."""
    if "bpy" in sys.modules:
        raise RuntimeError("isolate_user_folder() must run before bpy is imported")
    if not os.environ.get("BLENDER_USER_RESOURCES"):
        import atexit
        folder = tempfile.mkdtemp(prefix="parley-blender-user-")
        os.environ["BLENDER_USER_RESOURCES"] = folder
        atexit.register(shutil.rmtree, folder, True)


def flame_head(name="flame_template.ply"):
    path = FLAME / name
    if not path.is_file():
        raise SystemExit(f"FLAME head {path} not found: put the shared FLAME heads in ../shared/flame "
                         "(or set PARLEY_FLAME_DIR)")
    return path


def flame_head_or_none(name="flame_template.ply"):
    """The FLAME head when ../shared/flame has it, else None after one line saying what is skipped."""
    path = FLAME / name
    if path.is_file():
        return path
    print(f"demo: no FLAME head at {path} (put the FLAME heads in ../shared/flame or set PARLEY_FLAME_DIR "
          "to include it); showing the shipped MakeHuman character only")
    return None


def model_dir_or_none():
    """PARLEY_MODEL_DIR when set (another parley.onnx + parley_style.onnx), else None for models/parley.onnx."""
    folder = os.environ.get("PARLEY_MODEL_DIR")
    if folder:
        return folder
    if (REPO / "models" / "parley.onnx").is_file():
        return None
    raise SystemExit("models/parley.onnx is missing: export the model first, or set PARLEY_MODEL_DIR")


def build_zip(out_dir):
    sys.path.insert(0, str(REPO / "scripts"))
    import build_extension
    try:
        return build_extension.build([PLATFORM], out_dir, model_dir_or_none())[0]
    except build_extension.BuildError as exc:
        raise SystemExit(f"building the extension failed: {exc}")


@contextlib.contextmanager
def installed(zip_path, keep=False):
    """The zip installed with Blender's own installer into a temporary repository, enabled."""
    import bpy
    folder = tempfile.mkdtemp(prefix="parley-repo-")
    repos = bpy.context.preferences.extensions.repos
    repo = repos.new(name="parley_demo", module="parley_demo", custom_directory=folder, source="USER")
    try:
        if bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=repo.module,
                                                    enable_on_install=True) != {"FINISHED"}:
            raise SystemExit(f"installing {zip_path} failed")
        yield f"bl_ext.{repo.module}.parley"
    finally:
        if not keep:
            uninstall(repos, repo)
            shutil.rmtree(folder, ignore_errors=True)


def import_head(path):
    """As an artist would: File > Import > Stanford PLY with FLAME's Y-up turned into Blender's Z-up."""
    import bpy
    bpy.ops.wm.ply_import(filepath=str(path), forward_axis="NEGATIVE_Z", up_axis="Y")
    obj = bpy.context.active_object
    obj.name = "FLAME head"
    return obj


def action_fcurves(action):
    """Every F-curve of an Action, on layered (Blender 4.4+) and legacy actions alike."""
    import bpy
    if bpy.app.version >= (4, 4, 0):
        return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for fc in bag.fcurves]
    return list(action.fcurves)


def scene_fps(scene):
    return scene.render.fps / scene.render.fps_base


def _zup(points):
    """MakeHuman/glTF Y-up (face towards +Z) -> Blender Z-up (face towards -Y), as the glTF importer does."""
    import numpy as np
    points = np.asarray(points, np.float32)
    return np.stack([points[:, 0], -points[:, 2], points[:, 1]], axis=1)


def import_character():
    """The shipped MakeHuman head (assets/makehuman_head) as a game character is split: one object per mesh
    (head, eyes, teeth, tongue, eyelashes), each with its own ARKit/viseme shape keys named as shipped
    (``jawOpen``, ``eyeBlinkLeft``, ``viseme_aa``), parented to the head, in a collection of its own.
    -> (head object, [the other objects])."""
    import bpy
    sys.path.insert(0, str(REPO))
    from inference.character import load_demo_character
    character = load_demo_character()
    collection = bpy.data.collections.new("MakeHuman head")
    bpy.context.scene.collection.children.link(collection)
    objects = []
    for part in character.meshes:
        mesh = bpy.data.meshes.new(part.name)
        mesh.from_pydata(_zup(part.vertices).tolist(), [], part.faces.tolist())
        mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
        mesh.update()
        obj = bpy.data.objects.new(part.name, mesh)
        collection.objects.link(obj)
        obj.shape_key_add(name="Basis", from_mix=False)
        for name, delta in part.deltas.items():
            key = obj.shape_key_add(name=name, from_mix=False)
            key.points.foreach_set("co", _zup(part.vertices + delta).ravel())
            key.value = 0.0  # Blender 5.0 adds new keys at 1.0: the character starts neutral
        objects.append(obj)
    head, others = objects[0], objects[1:]
    for obj in others:
        obj.parent = head
    return head, others


def stage(obj, size=512, fps=30, zoom=1.0):
    """Camera in front of the face (FLAME looks down -Y once imported Z-up), Workbench studio light."""
    import bpy
    import numpy as np
    from mathutils import Vector
    scene = bpy.context.scene
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3) @ np.asarray(obj.matrix_world)[:3, :3].T + np.asarray(obj.matrix_world.translation)
    lo, hi = co.min(0), co.max(0)
    centre = Vector(((lo[0] + hi[0]) / 2, lo[1], lo[2] + 0.45 * (hi[2] - lo[2])))
    height = float(hi[2] - lo[2])
    cam_data = bpy.data.cameras.new("Parley camera")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = 0.75 * height / zoom
    cam = bpy.data.objects.new("Parley camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = centre + Vector((0.0, -3.0 * height, 0.0))
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.fps, scene.render.fps_base = fps, 1.0
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "SINGLE"
    shading.single_color = (0.80, 0.62, 0.52)
    shading.show_cavity = True
    shading.cavity_type = "WORLD"
    scene.display.render_aa = "FXAA"  # the demo renders on CPU (software GL): keep it quick
    if scene.world is None:
        scene.world = bpy.data.worlds.new("World")
    scene.world.color = (0.08, 0.09, 0.11)
    return cam


def video_output(scene, path):
    """H.264 .mp4 with AAC sound from the Sequencer (Blender 4.2 ... 5.0 spellings)."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # 5.0 split images and videos
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    ff = scene.render.ffmpeg
    ff.format, ff.codec = "MPEG4", "H264"
    ff.constant_rate_factor = "MEDIUM"
    ff.audio_codec, ff.audio_channels, ff.audio_mixrate = "AAC", "MONO", 48000
    scene.render.use_sequencer = False  # the sound still muxes; the picture comes from the camera
    scene.render.filepath = str(path)


def uninstall(repos, repo):
    """Blender's own uninstall (it also removes the wheels it unpacked into the user folder), then the repo."""
    import bpy
    try:
        bpy.ops.extensions.package_uninstall(repo_directory=repo.directory, repo_index=list(repos).index(repo),
                                             pkg_id="parley")
    except (RuntimeError, TypeError) as exc:
        print(f"uninstalling parley: {exc}")
    repos.remove(repo)
