"""Recognise FLAME topology from structure alone and find the head's canonical frame.

Nothing here knows FLAME vertex indices: the head, the two eyeballs and the two boundary loops
(mouth opening, neck cut) are found from connectivity, and the frame from their geometry.

Canonical frame: origin midway between the eyeball centres, x towards the character's left eye,
y up, z forward (out of the face), unit = millimetre (estimated from the eye distance).
"""
import numpy as np

from .errors import RigError

FLAME_VERTICES = 5023
FLAME_FACES = 9976
HEAD_VERTICES = 3931
EYEBALL_VERTICES = 546
EYE_DISTANCE_MM = 63.0  # adult mean distance between the eyeball centres (interpupillary distance)
# the face's vertical axis leans back from the mouth-to-eyes line by about this much
PROFILE_TILT_DEG = 12.0


def check_topology(vertices, faces):
    """Validate the arrays; return (vertices float64 [V,3], faces int64 [F,3]). Raises RigError."""
    faces = _as_triangles(faces)
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.size == 0 or faces.size == 0:
        raise RigError("mesh is empty; select or export the FLAME head itself, with its faces")
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise RigError(f"vertices must be an [N,3] array, got shape {vertices.shape}")
    bad = ~np.isfinite(vertices).all(1)
    if bad.any():
        raise RigError(f"mesh has {int(bad.sum())} vertices with NaN or infinite coordinates "
                       f"(first: vertex {int(np.argmax(bad))}); fix or re-export the head")
    if len(vertices) != FLAME_VERTICES:
        raise RigError(f"mesh has {len(vertices)} vertices; a FLAME-topology head has {FLAME_VERTICES}. "
                       "Was it subdivided or merged?")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise RigError("mesh has faces that point at missing vertices; re-export the head")
    if len(faces) != FLAME_FACES:
        raise RigError(f"mesh has {len(faces)} triangles; a FLAME-topology head has {FLAME_FACES}. "
                       "Were faces added, deleted or triangulated differently?")
    if (faces[:, 0] == faces[:, 1]).any() or (faces[:, 1] == faces[:, 2]).any() or (faces[:, 0] == faces[:, 2]).any():
        raise RigError("mesh has degenerate triangles (a corner repeated); re-export the unmodified head")
    _check_manifold(faces, len(vertices))
    return vertices, faces


def _as_triangles(faces):
    if isinstance(faces, np.ndarray) and faces.dtype == object:
        sizes = np.array([len(f) for f in faces])
        odd = sizes[sizes != 3]
        raise RigError(f"mesh has {len(odd)} polygons with {int(odd[0])} corners; Parley needs the FLAME "
                       "triangle mesh, not a remeshed or quad version")
    faces = np.asarray(faces)
    if faces.size == 0:
        return np.zeros((0, 3), np.int64)
    if faces.ndim != 2:
        raise RigError(f"faces must be an [F,3] array, got shape {faces.shape}")
    if faces.shape[1] != 3:
        kind = "quads" if faces.shape[1] == 4 else f"{faces.shape[1]}-sided polygons"
        raise RigError(f"mesh is made of {kind}, not triangles; Parley needs the FLAME triangle mesh, "
                       "not a remeshed or quad version")
    if not np.issubdtype(faces.dtype, np.integer):
        if not np.all(np.mod(faces, 1) == 0):
            raise RigError("faces must hold integer vertex indices")
    return faces.astype(np.int64)


def _check_manifold(faces, n):
    half = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = half[:, 0] * n + half[:, 1]
    uniq, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        a, b = divmod(int(uniq[np.argmax(counts > 1)]), n)
        raise RigError(f"mesh is non-manifold or inconsistently oriented at edge {a}-{b}; "
                       "re-export the unmodified head (no merged or flipped faces)")
    undirected = np.sort(half, 1)
    ukey, ucount = np.unique(undirected[:, 0] * n + undirected[:, 1], return_counts=True)
    if (ucount > 2).any():
        a, b = divmod(int(ukey[np.argmax(ucount > 2)]), n)
        raise RigError(f"mesh is non-manifold: edge {a}-{b} is shared by more than two faces; "
                       "re-export the unmodified head")


def components(faces, n):
    """Connected-component label per vertex (labels are the smallest vertex index in the component)."""
    labels = np.arange(n)
    a = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    b = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    while True:
        new = labels.copy()
        np.minimum.at(new, a, labels[b])
        np.minimum.at(new, b, labels[a])
        new = new[new]
        if np.array_equal(new, labels):
            return labels
        labels = new


def boundary_loops(faces, n):
    """Ordered boundary loops (lists of vertex indices), following the faces' winding."""
    half = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = half[:, 0] * n + half[:, 1]
    twin = half[:, 1] * n + half[:, 0]
    border = half[~np.isin(twin, key)]
    nxt = {}
    for a, b in border:
        if a in nxt:
            raise RigError(f"mesh is non-manifold at vertex {a} (two boundary fans meet); re-export the head")
        nxt[int(a)] = int(b)
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            v = nxt.get(v, start)
        loops.append(np.array(loop))
    return loops


def fit_sphere(points):
    """Least-squares sphere: (centre, radius)."""
    A = np.c_[2 * points, np.ones(len(points))]
    b = (points ** 2).sum(1)
    sol = np.linalg.lstsq(A, b, rcond=None)[0]
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


def find_parts(vertices, faces):
    """Head/eyeball components, mouth and neck loops. Raises RigError on any structural mismatch."""
    n = len(vertices)
    labels = components(faces, n)
    roots, counts = np.unique(labels, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    sizes = counts[order].tolist()
    if sizes != [HEAD_VERTICES, EYEBALL_VERTICES, EYEBALL_VERTICES]:
        raise RigError(f"mesh has {len(sizes)} parts of {sizes[:5]} vertices; a FLAME head has 3 "
                       f"({HEAD_VERTICES} head, {EYEBALL_VERTICES} per eyeball). Were parts separated, joined or deleted?")
    head = np.flatnonzero(labels == roots[order[0]])
    eye_sets = sorted((np.flatnonzero(labels == roots[k]) for k in order[1:]), key=lambda s: s[0])
    loops = boundary_loops(faces, n)
    head_loops = [l for l in loops if labels[l[0]] == roots[order[0]]]
    if len(loops) != 2 or len(head_loops) != 2:
        raise RigError(f"mesh has {len(loops)} boundary loops; a FLAME head has 2 (mouth opening and neck). "
                       "Were holes filled or cut?")
    return head, eye_sets, head_loops


def canonical_frame(vertices, eye_sets, loops, faces, head):
    """Frame from eyeball centres, mouth loop and neck loop; checks handedness. Returns a dict."""
    spheres = [fit_sphere(vertices[s]) for s in eye_sets]
    centres = np.array([c for c, _ in spheres])
    eye_mid = centres.mean(0)
    # the mouth loop is the one nearer the eyes
    dist = [np.linalg.norm(vertices[l].mean(0) - eye_mid) for l in loops]
    mouth, neck = (loops[0], loops[1]) if dist[0] < dist[1] else (loops[1], loops[0])
    mouth_c = vertices[mouth].mean(0)
    eye_dist = float(np.linalg.norm(centres[1] - centres[0]))
    if eye_dist <= 0:
        raise RigError("the two eyeballs coincide; this is not a usable FLAME head")
    units_per_mm = eye_dist / EYE_DISTANCE_MM
    across = centres[1] - centres[0]
    across /= np.linalg.norm(across)
    up0 = eye_mid - mouth_c
    up0 -= across * (up0 @ across)
    up0 /= np.linalg.norm(up0)
    # forward: from the bulk of the skull towards the eyes (positions only, so a mirrored head
    # cannot flip it through its face winding)
    fwd0 = eye_mid - vertices[head].mean(0)
    fwd0 -= across * (fwd0 @ across) + up0 * (fwd0 @ up0)
    fwd0 /= np.linalg.norm(fwd0)
    t = np.radians(PROFILE_TILT_DEG)
    up = np.cos(t) * up0 + np.sin(t) * fwd0
    fwd = np.cos(t) * fwd0 - np.sin(t) * up0
    left = np.cross(up, fwd)
    # geometric left eye: the centre with positive x; FLAME stores the left eyeball first
    if (centres[0] - eye_mid) @ left < 0:
        raise RigError("head is mirrored (its left and right eyes are swapped); undo the mirroring "
                       "(negative scale) and apply the transform, then try again")
    R = np.stack([left, up, fwd])  # rows: canonical axes in head coordinates
    frame = {"origin": eye_mid, "R": R, "units_per_mm": units_per_mm}
    canon = to_canonical(vertices, frame)
    # face winding: normals on the head should point away from the inside of the skull
    tri = canon[faces[np.isin(faces[:, 0], head)]]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    centre = np.array([0.0, -20.0, -50.0])
    outward = np.einsum("ij,ij->i", normals, tri.mean(1) - centre)
    if (outward > 0).mean() < 0.5:
        raise RigError("head faces point inwards (mirrored or flipped normals); recalculate normals "
                       "outside or undo the mirroring, then try again")
    frame.update(eye_centres=centres, eye_radius=float(np.mean([r for _, r in spheres])),
                 mouth_loop=mouth, neck_loop=neck)
    return frame


def to_canonical(points, frame):
    return (points - frame["origin"]) @ frame["R"].T / frame["units_per_mm"]


def from_canonical_vectors(vectors, frame):
    """Offsets in canonical mm -> offsets in head coordinates."""
    return (vectors @ frame["R"]) * frame["units_per_mm"]
