"""Parley's ARKit curves -> Oculus viseme weights, for characters that carry only visemes (no bpy, no scipy).

The 15 Oculus visemes (``viseme_sil, PP, FF, TH, DD, kk, CH, SS, nn, RR, aa, E, I, O, U``) are whole
mouth shapes; Parley speaks in 51 ARKit curves. The mapping lives in a table,
``inference/visemes.json`` (override it with ``load_viseme_table(path)``), made by
``scripts/fit_visemes.py`` from the shipped MakeHuman character, which carries both sets of shapes
on one mesh:

``recipes``
    each viseme as a non-negative mix of the 28 mouth curves (jaw*, mouth*, cheekPuff), the mix whose
    ARKit shapes best reproduce that viseme's own vertices on the MakeHuman mouth (bounded least
    squares, weights in [0, 1]); ``fit_r2`` says how well (docs/visemes.md). Edit a recipe to say
    what a viseme of *your* character looks like in ARKit terms.
``metric``
    the 28x28 Gram matrix of the MakeHuman mouth's ARKit shapes (sum over mouth vertices of
    ``delta_a . delta_b``, metres squared): how far, and how alike, the curves move the mouth.

Per frame, with ``c`` the mouth curves and ``M`` the recipes as columns, the viseme weights are

    v = argmin (c - M v)^T metric (c - M v) + ridge * |v|^2   subject to  v >= 0,  sum(v) <= 1
    viseme_sil = 1 - sum(v)

i.e. the blend of visemes whose face is nearest, on the reference mouth, to the face the curves
make; the rest of the blend is the neutral face (silence). The constraint keeps the weights in
[0, 1] and summing to 1 with ``viseme_sil``, as Oculus-style viseme rigs expect. It is solved by a
fixed number of accelerated projected-gradient steps over all frames at once (numpy only): the same
curves always give the same weights.
"""
import json
from pathlib import Path

import numpy as np

from .arkit import match_names, spelling_key
from .errors import ParleyError

VISEMES = ("viseme_sil", "viseme_PP", "viseme_FF", "viseme_TH", "viseme_DD", "viseme_kk", "viseme_CH",
           "viseme_SS", "viseme_nn", "viseme_RR", "viseme_aa", "viseme_E", "viseme_I", "viseme_O", "viseme_U")
DEFAULT_TABLE = Path(__file__).with_name("visemes.json")
# Other vocabularies' mouth shapes that are one of the visemes: VRM 1.0 presets (aa ih ou ee oh), VRM 0.x and
# VRoid blend shapes (A I U E O, Fcl_MTH_A ...). Used only on meshes without Oculus names.
VOWEL_ALIASES = {"viseme_aa": ("aa", "a", "fclmtha", "mtha"), "viseme_I": ("ih", "i", "fclmthi", "mthi"),
                 "viseme_U": ("ou", "u", "fclmthu", "mthu"), "viseme_E": ("ee", "e", "fclmthe", "mthe"),
                 "viseme_O": ("oh", "o", "fclmtho", "mtho")}
ITERATIONS = 150  # within 0.002 of the converged weights on speech; 60 s at 30 fps in ~0.1 s


class VisemeTable:
    """The recipes as a matrix [K, J] over ``curves`` and the metric [K, K]; J = the 14 visemes but sil."""

    def __init__(self, curves, recipes, metric, ridge=1e-3, source=""):
        self.curves = tuple(curves)
        self.visemes = tuple(v for v in VISEMES if v != "viseme_sil")
        self.recipes = {v: dict(recipes.get(v, {})) for v in self.visemes}
        self.source = str(source)
        index = {c: k for k, c in enumerate(self.curves)}
        self.matrix = np.zeros((len(self.curves), len(self.visemes)))
        for j, viseme in enumerate(self.visemes):
            for curve, weight in self.recipes[viseme].items():
                if curve not in index:
                    raise ParleyError(f"viseme table {source}: {viseme} uses '{curve}', which is not one of "
                                      f"its curves; fix the recipe or add the curve to 'curves'")
                self.matrix[index[curve], j] = float(weight)
        self.metric = np.asarray(metric, float).reshape(len(self.curves), len(self.curves))
        scale = np.trace(self.metric) / len(self.curves)  # the metric's units drop out of the ridge
        self.metric = self.metric / scale
        self.ridge = float(ridge)
        self._hessian = self.matrix.T @ self.metric @ self.matrix + self.ridge * np.eye(len(self.visemes))
        self._step = 1.0 / np.linalg.eigvalsh(self._hessian).max()

    def weights(self, curves, names):
        """[T, 15] weights in VISEMES order for curves [T, N] named ``names`` (unknown names are ignored)."""
        values = np.asarray(curves, float)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ParleyError(f"curves must be [frames, {len(names)}], got {values.shape}")
        column = {n: i for i, n in enumerate(names)}
        c = np.zeros((values.shape[0], len(self.curves)))
        for k, curve in enumerate(self.curves):
            if curve in column:
                c[:, k] = values[:, column[curve]]
        linear = c @ self.metric @ self.matrix  # [T, J]: the gradient's constant part
        v = np.zeros_like(linear)
        momentum, t = v.copy(), 1.0
        for _ in range(ITERATIONS):  # FISTA, projected onto {v >= 0, sum v <= 1}
            nxt = _project_capped_simplex(momentum - self._step * (momentum @ self._hessian - linear))
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            momentum = nxt + ((t - 1.0) / t_next) * (nxt - v)
            v, t = nxt, t_next
        silence = np.clip(1.0 - v.sum(axis=1, keepdims=True), 0.0, 1.0)
        return np.concatenate([silence, v], axis=1).astype(np.float32)


def _project_capped_simplex(x):
    """Euclidean projection of each row onto {v >= 0, sum(v) <= 1}."""
    clipped = np.maximum(x, 0.0)
    over = clipped.sum(axis=1) > 1.0
    if not over.any():
        return clipped
    rows = x[over]
    sorted_desc = -np.sort(-rows, axis=1)
    cumulative = np.cumsum(sorted_desc, axis=1) - 1.0
    ks = np.arange(1, rows.shape[1] + 1)
    count = (sorted_desc - cumulative / ks > 0).sum(axis=1)
    theta = cumulative[np.arange(rows.shape[0]), count - 1] / count
    clipped[over] = np.maximum(rows - theta[:, None], 0.0)
    return clipped


def find_visemes(shape_names):
    """{viseme name (VISEMES order): the shape name that spells it} among ``shape_names``.

    Oculus names in any common spelling (``viseme_PP``, ``Viseme_PP``, ``visemePP``); a mesh with none of
    them but two or more VRM/VRoid vowels (``aa``/``A``/``Fcl_MTH_A``, ...) gets those as aa, I, U, E, O.
    """
    names = list(shape_names)
    found = match_names(names, VISEMES)
    if not found:
        alias = {a: v for v, spellings in VOWEL_ALIASES.items() for a in spellings}
        for name in names:
            v = alias.get(spelling_key(name))
            if v is not None and v not in found:
                found[v] = name
        if len(found) < 2:
            found = {}
    return {v: found[v] for v in VISEMES if v in found}


def load_viseme_table(path=None):
    """Read a viseme table (default: the shipped inference/visemes.json). Raises ParleyError with one line."""
    path = Path(path) if path else DEFAULT_TABLE
    try:
        data = json.loads(path.read_text())
        return VisemeTable(data["curves"], data["recipes"], data["metric"], data.get("ridge", 1e-3), source=path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParleyError(f"cannot read the viseme table {path} ({exc}); fix it or delete it to use "
                          "Parley's own") from None


def curves_to_visemes(curves, names, table=None):
    """[T, 15] Oculus viseme weights (VISEMES order) for Parley curves [T, N] named ``names``."""
    return (table or load_viseme_table()).weights(curves, names)
