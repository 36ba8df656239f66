"""Contact sheet of a head's rig: every shape at weight 1, front and three-quarter views, one PNG.

    python scripts/contact_sheet.py --head HEAD.(obj|ply) --out SHEET.png [--only NAME ...]

Runs with the ``bpy`` module (Workbench engine). Each shape is its own object in a grid, so the
whole sheet is two renders (front, three-quarter) stacked into one image. The first cell is the
neutral head. Never commit sheets of FLAME heads (see ../shared/flame/NOTICE.md).
"""
import argparse
import math
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import bpy  # noqa: E402

from inference.meshio import load_mesh  # noqa: E402
from inference.rig import build_rig  # noqa: E402

FACE_BOX = ((-80.0, 80.0), (-140.0, 45.0))  # canonical mm kept in each cell: the face
COLUMNS = 8


def canonical(points, meta):
    return (points - np.array(meta["origin"])) @ np.array(meta["axes"]).T / meta["units_per_mm"]


def add_head(name, verts_mm, faces, location, yaw):
    """One head object in Blender's Z-up: canonical (x left, y up, z forward) -> (x, -z, y), a proper rotation (no mirroring): the
    character's left is on the right of the image, as when facing them."""
    mesh = bpy.data.meshes.new(name)
    v = np.c_[verts_mm[:, 0], -verts_mm[:, 2], verts_mm[:, 1]]  # a rotation: faces -Y, the camera
    mesh.vertices.add(len(v))
    mesh.vertices.foreach_set("co", v.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, np.int32))
    mesh.update()
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.rotation_euler = (0.0, 0.0, yaw)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def add_label(text, location, size):
    curve = bpy.data.curves.new(text, "FONT")
    curve.body = text
    curve.size = 13.0
    curve.align_x = "CENTER"
    obj = bpy.data.objects.new(text + "_label", curve)
    obj.location = location
    obj.rotation_euler = (math.pi / 2, 0, 0)
    bpy.context.scene.collection.objects.link(obj)


def render(path, width, height, ortho_scale, centre):
    scene = bpy.context.scene
    cam_data = bpy.data.cameras.new("cam")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = ortho_scale
    cam_data.clip_end = 10000
    cam = bpy.data.objects.new("cam", cam_data)
    cam.location = (centre[0], -2000.0, centre[1])
    cam.rotation_euler = (math.pi / 2, 0, 0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "SINGLE"
    scene.display.shading.single_color = (0.8, 0.72, 0.66)
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.filepath = path
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--head", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", nargs="*", help="render only these shapes")
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--cell-px", type=int, default=300)
    parser.add_argument("--box", type=float, nargs=4, metavar=("X0", "X1", "Y0", "Y1"),
                        help="canonical mm to show per cell (default: the face); e.g. 0 60 -20 25 for the left eye")
    args = parser.parse_args(argv)

    vertices, faces = load_mesh(args.head)
    rig = build_rig(vertices, faces)
    names = list(args.only) if args.only else list(rig.names)
    curves = np.zeros((len(names) + 1, len(rig.names)), np.float32)
    for row, name in enumerate(names, 1):
        curves[row, rig.names.index(name)] = args.weight
    frames = rig.decode(curves)
    labels = ["neutral"] + names
    neutral_mm = canonical(rig.neutral.astype(np.float64), rig.meta)
    (x0, x1), (y0, y1) = FACE_BOX if not args.box else (args.box[:2], args.box[2:])
    cell = 1.1 * max(x1 - x0, y1 - y0)
    centre_xy = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    keep = (neutral_mm[:, 0] > x0) & (neutral_mm[:, 0] < x1) & (neutral_mm[:, 1] > y0) & (neutral_mm[:, 1] < y1) \
        & (neutral_mm[:, 2] > -60.0)  # the face, not the back of the skull behind it
    faces = faces[keep[faces].all(1)]

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rows = math.ceil(len(labels) / COLUMNS)
    cols = min(COLUMNS, len(labels))
    images = []
    with tempfile.TemporaryDirectory() as tmp:
        for view, yaw in (("front", 0.0), ("three_quarter", math.radians(-35))):
            for obj in list(bpy.data.objects):
                bpy.data.objects.remove(obj)
            for i, label in enumerate(labels):
                cx, cz = (i % COLUMNS) * cell, -(i // COLUMNS) * cell
                pts = canonical(frames[i].astype(np.float64), rig.meta)
                pts[:, :2] -= centre_xy
                add_head(label, pts, faces, (cx, 0.0, cz), yaw)
                add_label(label, (cx, -150.0, cz - 0.47 * cell), 0.07 * cell)
            width, height = cols * args.cell_px, rows * args.cell_px
            centre = ((cols - 1) * cell / 2, -(rows - 1) * cell / 2)
            path = os.path.join(tmp, view + ".png")
            render(path, width, height, max(cols, rows * width / height) * cell, centre)
            image = bpy.data.images.load(path)
            pixels = np.array(image.pixels[:], np.float32).reshape(height, width, 4)
            images.append(pixels)
        sheet = np.concatenate([images[1], images[0]], 0)  # bottom-up rows: front ends on top
        out = bpy.data.images.new("sheet", sheet.shape[1], sheet.shape[0], alpha=True)
        out.pixels.foreach_set(sheet.ravel())
        out.filepath_raw = os.path.abspath(args.out)
        out.file_format = "PNG"
        out.save()
    print(f"contact sheet: {len(labels)} cells x 2 views -> {args.out}")


if __name__ == "__main__":
    main()
