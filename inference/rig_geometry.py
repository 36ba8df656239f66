"""Mesh operators for the rig, numpy only: cotangent Laplacian, lumped mass, graph geodesics and
harmonic / biharmonic interpolation restricted to the region that moves.

The sparse matrices live as coordinate lists (rows, cols, vals); a solve gathers the block of the
free vertices into a dense matrix and calls ``np.linalg.solve`` once with every right-hand side,
which is fast because the regions that move are a few hundred to ~1500 vertices.
"""
import heapq

import numpy as np


class MeshOps:
    """Operators on one connected surface (the head) given in canonical millimetres."""

    def __init__(self, points, faces):
        self.points = points
        self.n = len(points)
        self.faces = faces
        i, j, k = faces.T
        p = points
        cot = []
        for a, b, c in ((i, j, k), (j, k, i), (k, i, j)):
            # angle at a, opposite edge b-c
            u, v = p[b] - p[a], p[c] - p[a]
            cross = np.linalg.norm(np.cross(u, v), axis=1)
            cot.append((np.einsum("ij,ij->i", u, v) / np.maximum(cross, 1e-12), b, c))
        rows = np.concatenate([np.concatenate([b, c]) for _, b, c in cot])
        cols = np.concatenate([np.concatenate([c, b]) for _, b, c in cot])
        vals = np.concatenate([np.concatenate([w, w]) for w, _, _ in cot]) * 0.5
        key = rows * self.n + cols
        uniq, inv = np.unique(key, return_inverse=True)
        w = np.bincount(inv, vals)
        # clamp: FLAME has slivers whose negative cotangents would make the operator indefinite
        w = np.maximum(w, 1e-2 * np.median(w))
        self.edge_i, self.edge_j = np.divmod(uniq, self.n)
        self.edge_w = w
        self.edge_len = np.linalg.norm(p[self.edge_i] - p[self.edge_j], axis=1)
        area = 0.5 * np.linalg.norm(np.cross(p[j] - p[i], p[k] - p[i]), axis=1)
        self.mass = np.bincount(faces.ravel(), np.repeat(area / 3, 3), self.n)
        self.mass = np.maximum(self.mass, 1e-6 * self.mass.mean())
        self.diag = np.bincount(self.edge_i, w, self.n)
        order = np.argsort(self.edge_i, kind="stable")
        self.adj_ptr = np.r_[0, np.cumsum(np.bincount(self.edge_i, minlength=self.n))]
        self.adj_j = self.edge_j[order]
        self.adj_len = self.edge_len[order]
        self._bilap = None

    # ---- distances -------------------------------------------------------------------------
    def geodesic(self, sources, limit=np.inf):
        """Dijkstra edge-path distances (mm) from a set of vertices; inf beyond ``limit``."""
        dist = np.full(self.n, np.inf)
        heap = [(0.0, int(s)) for s in np.atleast_1d(sources)]
        for _, s in heap:
            dist[s] = 0.0
        heapq.heapify(heap)
        ptr, adj, length = self.adj_ptr, self.adj_j, self.adj_len
        while heap:
            d, v = heapq.heappop(heap)
            if d > dist[v] or d > limit:
                continue
            for e in range(ptr[v], ptr[v + 1]):
                nd = d + length[e]
                u = adj[e]
                if nd < dist[u]:
                    dist[u] = nd
                    heapq.heappush(heap, (nd, u))
        dist[dist > limit] = np.inf
        return dist

    def ring(self, vertices, steps=1):
        """Vertices within ``steps`` edges of the given set (including the set)."""
        mask = np.zeros(self.n, bool)
        mask[vertices] = True
        for _ in range(steps):
            grow = mask.copy()
            grow[self.edge_j[mask[self.edge_i]]] = True
            mask = grow
        return np.flatnonzero(mask)

    # ---- interpolation ---------------------------------------------------------------------
    def _bilaplacian(self):
        """Coordinate list of L M^-1 L (rows, cols, vals)."""
        if self._bilap is None:
            n = self.n
            rows = np.r_[self.edge_i, np.arange(n)]
            cols = np.r_[self.edge_j, np.arange(n)]
            vals = np.r_[-self.edge_w, self.diag]
            order = np.argsort(rows, kind="stable")
            rows, cols, vals = rows[order], cols[order], vals[order]
            ptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
            deg = np.diff(ptr)
            # all pairs (a, b) of entries in the same row k: Q[a, b] += L[k,a] L[k,b] / m_k
            k = np.repeat(np.arange(n), deg * deg)
            start = np.repeat(ptr[:-1], deg * deg)
            local = np.arange(k.size) - np.repeat(np.r_[0, np.cumsum(deg * deg)][:-1], deg * deg)
            d = np.repeat(deg, deg * deg)
            a = start + local // d
            b = start + local % d
            self._bilap = (cols[a], cols[b], vals[a] * vals[b] / self.mass[k])
        return self._bilap

    def _laplacian(self):
        return (np.r_[self.edge_i, np.arange(self.n)], np.r_[self.edge_j, np.arange(self.n)],
                np.r_[-self.edge_w, self.diag])

    def interpolate(self, free, known_values, order=2):
        """Fill ``free`` vertices with the harmonic (order 1) or biharmonic (order 2) interpolant.

        ``known_values`` [n, m]: values on every vertex that is not free (handles and the fixed
        rest, usually 0). Returns a full [n, m] array. All m columns are solved in one call.
        """
        rows, cols, vals = self._bilaplacian() if order == 2 else self._laplacian()
        free = np.asarray(free)
        local = np.full(self.n, -1)
        local[free] = np.arange(free.size)
        values = np.array(known_values, dtype=np.float64)
        if free.size == 0:
            return values
        values[free] = 0.0
        sel = local[rows] >= 0
        r, c, w = local[rows[sel]], cols[sel], vals[sel]
        inside = local[c] >= 0
        nf = free.size
        A = np.bincount(r[inside] * nf + local[c[inside]], w[inside], nf * nf).reshape(nf, nf)
        rhs = np.zeros((nf, values.shape[1]))
        np.add.at(rhs, r[~inside], -w[~inside, None] * values[c[~inside]])
        values[free] = np.linalg.solve(A, rhs)
        return values


def smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def rotation(axis, angle):
    """Rotation matrix about a unit axis (Rodrigues)."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def arc_fields(points, pivot, axis, angle, weights=None):
    """Rotation of ``points`` about ``pivot`` split into a linear part and a quadratic corrective.

    Returns (B, C) with points + w B + w^2 C == rotated points at w = 1, tangent to the arc at
    w = 0 and matching its curvature to second order in between. ``weights`` scales both per vertex.
    """
    rel = points - pivot
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    B = angle * np.cross(axis, rel)
    C = rel @ rotation(axis, angle).T - rel - B
    if weights is not None:
        B, C = B * weights[:, None], C * weights[:, None]
    return B, C
