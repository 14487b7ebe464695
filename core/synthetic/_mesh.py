"""Polygon meshes made of smooth patches, the geometry every synthetic design is built from.

A face belongs to a *group* (one smooth patch) and has grid coordinates (i, j) inside it. The
renderer draws a line where two visible faces are not neighbours of the same group, so
silhouettes, creases and occlusions show while the tessellation inside a patch does not.
Faces are oriented: their normal (right-hand rule over the vertex order) points outward.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHADE = 1   # curved patch that gets surface shading strokes
GLASS = 2   # flat glossy patch (screen, crystal, window) that gets oblique reflection strokes
ENV = 4     # environment, drawn in broken lines and not part of the claimed design
DETAIL = 8  # small part on a larger surface (handle, button, panel): drawn with a depth test


@dataclass
class Mesh:
    """Vertices, oriented faces and their smooth groups (see the module docstring)."""

    verts: np.ndarray       # (n, 3) float
    quads: np.ndarray       # (m, 4) int vertex indices; triangles repeat their last vertex
    quad_group: np.ndarray  # (m,) int group of each quad
    quad_ij: np.ndarray     # (m, 2) int grid position of each quad inside its group
    polys: list             # flat faces with more than 4 vertices: int index arrays
    poly_group: np.ndarray  # (p,) int
    wrap: np.ndarray        # (g, 2) int grid period per group (0 = open) along i and j
    flags: np.ndarray       # (g,) int SHADE | GLASS | ENV | DETAIL

    @property
    def n_groups(self) -> int:
        return len(self.flags)

    def transformed(self, matrix=None, offset=(0.0, 0.0, 0.0)) -> "Mesh":
        """Copy with vertices mapped by ``v @ matrix.T + offset``."""
        v = self.verts if matrix is None else self.verts @ np.asarray(matrix, float).T
        if matrix is not None and np.linalg.det(matrix) < 0:   # mirroring flips orientation
            return Mesh(v + offset, self.quads[:, ::-1].copy(), self.quad_group, self.quad_ij,
                        [p[::-1].copy() for p in self.polys], self.poly_group, self.wrap,
                        self.flags)
        return Mesh(v + np.asarray(offset, float), self.quads, self.quad_group, self.quad_ij,
                    self.polys, self.poly_group, self.wrap, self.flags)

    def moved(self, x=0.0, y=0.0, z=0.0) -> "Mesh":
        return self.transformed(None, (x, y, z))

    def rotated(self, axis: str, degrees: float) -> "Mesh":
        return self.transformed(rotation(axis, degrees))

    def with_flags(self, add: int = 0, remove: int = 0) -> "Mesh":
        return Mesh(self.verts, self.quads, self.quad_group, self.quad_ij, self.polys,
                    self.poly_group, self.wrap, (self.flags | add) & ~remove)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.verts.min(0), self.verts.max(0)


def rotation(axis: str, degrees: float) -> np.ndarray:
    """3x3 right-handed rotation about the x, y or z axis."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def merge(*meshes: Mesh) -> Mesh:
    """One mesh holding all parts; parts keep their own groups."""
    meshes = [m for m in meshes if m is not None]
    vo = np.cumsum([0] + [len(m.verts) for m in meshes])
    go = np.cumsum([0] + [m.n_groups for m in meshes])
    polys = [p + vo[k] for k, m in enumerate(meshes) for p in m.polys]
    return Mesh(
        np.concatenate([m.verts for m in meshes]),
        np.concatenate([m.quads + vo[k] for k, m in enumerate(meshes)]),
        np.concatenate([m.quad_group + go[k] for k, m in enumerate(meshes)]),
        np.concatenate([m.quad_ij for m in meshes]),
        polys,
        np.concatenate([m.poly_group + go[k] for k, m in enumerate(meshes)]).astype(int),
        np.concatenate([m.wrap for m in meshes]),
        np.concatenate([m.flags for m in meshes]),
    )


def ring_copies(mesh: Mesh, count: int, axis: str = "y", phase: float = 0.0) -> Mesh:
    """``count`` copies of ``mesh`` turned evenly about an axis through the origin, as one
    mesh (spokes, guard wires, dial marks)."""
    rots = np.stack([rotation(axis, phase + 360.0 * k / count) for k in range(count)])
    nv, ng = len(mesh.verts), mesh.n_groups
    step = np.arange(count)
    return Mesh(np.einsum("kij,nj->kni", rots, mesh.verts).reshape(-1, 3),
                (mesh.quads[None] + nv * step[:, None, None]).reshape(-1, 4),
                (mesh.quad_group[None] + ng * step[:, None]).ravel(),
                np.tile(mesh.quad_ij, (count, 1)),
                [p + nv * k for k in range(count) for p in mesh.polys],
                (mesh.poly_group[None] + ng * step[:, None]).ravel(),
                np.tile(mesh.wrap, (count, 1)), np.tile(mesh.flags, count))


def _runs(crease: np.ndarray, n_faces: int, wrap: bool) -> np.ndarray:
    """Smooth-run index of each face along one grid direction (a crease starts a new run)."""
    run = np.concatenate([[0], np.cumsum(crease[1:n_faces])]).astype(int)
    if wrap and not crease[0]:
        run[run == run[-1]] = 0
    return run


def grid(points, wrap_i=False, wrap_j=False, crease_i=None, crease_j=None, flags=0,
         cap_first=False, cap_last=False) -> Mesh:
    """Quad mesh over a (ni, nj, 3) grid of points; creases split it into smooth groups.

    ``crease_i[k]`` marks a sharp edge along vertex column k; caps close the j = 0 and j = -1
    rings with flat polygons (for rings along i).
    """
    p = np.asarray(points, float)
    ni, nj = p.shape[:2]
    fi, fj = (ni if wrap_i else ni - 1), (nj if wrap_j else nj - 1)
    ci = np.zeros(ni, bool) if crease_i is None else np.asarray(crease_i, bool)
    cj = np.zeros(nj, bool) if crease_j is None else np.asarray(crease_j, bool)
    ii, jj = np.meshgrid(np.arange(fi), np.arange(fj), indexing="ij")
    i1, j1 = (ii + 1) % ni, (jj + 1) % nj
    quads = np.stack([ii * nj + jj, i1 * nj + jj, i1 * nj + j1, ii * nj + j1], -1).reshape(-1, 4)
    ri, rj = _runs(ci, fi, wrap_i), _runs(cj, fj, wrap_j)
    _, group = np.unique(ri[:, None] * (rj.max() + 1) + rj[None, :], return_inverse=True)
    group = group.reshape(-1)
    n_groups = int(group.max()) + 1
    wrap = np.tile([ni if wrap_i else 0, nj if wrap_j else 0], (n_groups, 1))
    polys, poly_group = [], []
    verts = p.reshape(-1, 3)
    for j, nxt in ((0, 1), (nj - 1, nj - 2)):
        if (cap_first if j == 0 else cap_last) and ni > 2:
            idx = np.arange(ni) * nj + j
            away = p[:, j].mean(0) - p[:, nxt].mean(0)
            if _newell(verts[idx]) @ away < 0:
                idx = idx[::-1]
            polys.append(idx)
            poly_group.append(n_groups + len(poly_group))
    flags_all = np.full(n_groups + len(polys), flags, int)
    flags_all[n_groups:] &= ~SHADE
    wrap = np.concatenate([wrap, np.zeros((len(polys), 2), int)])
    return Mesh(verts, quads, group, np.stack([ii, jj], -1).reshape(-1, 2), polys,
                np.array(poly_group, int), wrap, flags_all)


def _newell(v: np.ndarray) -> np.ndarray:
    """Normal of a polygon (area-weighted, robust for non-planar and concave ones)."""
    w = np.roll(v, -1, 0)
    return np.array([((v[:, 1] - w[:, 1]) * (v[:, 2] + w[:, 2])).sum(),
                     ((v[:, 2] - w[:, 2]) * (v[:, 0] + w[:, 0])).sum(),
                     ((v[:, 0] - w[:, 0]) * (v[:, 1] + w[:, 1])).sum()])


def polygon(points3d, normal, flags=0) -> Mesh:
    """A single flat face (any number of vertices) facing ``normal``."""
    v = np.asarray(points3d, float)
    if _newell(v) @ np.asarray(normal, float) < 0:
        v = v[::-1]
    if len(v) <= 4:
        q = np.arange(4) if len(v) == 4 else np.array([0, 1, 2, 2])
        return Mesh(v, q[None], np.zeros(1, int), np.zeros((1, 2), int), [],
                    np.zeros(0, int), np.zeros((1, 2), int), np.array([flags]))
    return Mesh(v, np.zeros((0, 4), int), np.zeros(0, int), np.zeros((0, 2), int),
                [np.arange(len(v))], np.zeros(1, int), np.zeros((1, 2), int), np.array([flags]))


# ---- primitives -------------------------------------------------------------------------

def revolve(profile, segments=48, crease=None, flags=SHADE, loop=False) -> Mesh:
    """Surface of revolution about the y axis of a (r, y) profile with the solid on its left;
    a ``loop`` profile is closed (a ring-shaped solid such as a lampshade wall)."""
    pr = np.asarray(profile, float)
    t = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    pts = np.stack([pr[None, :, 0] * np.sin(t)[:, None],
                    np.broadcast_to(pr[None, :, 1], (segments, len(pr))),
                    pr[None, :, 0] * np.cos(t)[:, None]], -1)
    return grid(pts, wrap_i=True, wrap_j=loop, crease_j=crease, flags=flags)


def loft(rings, heights, crease_i=None, crease_j=None, flags=0, caps=True) -> Mesh:
    """Stack of closed (n, 2) rings in the x-z plane at heights y, e.g. rounded boxes."""
    rings = [np.asarray(r, float) for r in rings]
    if _area(rings[0]) > 0:
        rings = [r[::-1] for r in rings]
        crease_i = None if crease_i is None else np.asarray(crease_i)[::-1]
    pts = np.stack([np.column_stack([r[:, 0], np.full(len(r), h), r[:, 1]])
                    for r, h in zip(rings, heights)], 1)
    return _capped(pts, crease_i, crease_j, flags, caps)


def _capped(pts, crease_i, crease_j, flags, caps) -> Mesh:
    """Ring grid closed at both ends by flat caps, tessellated in rings towards the centre
    (small faces keep the far-to-near painting order right near other parts)."""
    side = grid(pts, wrap_i=True, crease_i=crease_i, crease_j=crease_j, flags=flags)
    if not caps:
        return side
    s = np.array([0.0, 1 / 3, 2 / 3, 1.0])[None, :, None]
    c0, c1 = pts[:, :1].mean(0, keepdims=True), pts[:, -1:].mean(0, keepdims=True)
    flat = flags & ~SHADE
    return merge(grid(c0 + (pts[:, :1] - c0) * s, wrap_i=True, flags=flat), side,
                 grid(c1 + (pts[:, -1:] - c1) * s[:, ::-1], wrap_i=True, flags=flat))


def _area(ring: np.ndarray) -> float:
    """Signed area of a closed 2D outline (positive counter-clockwise in its first two axes)."""
    x, z = ring[:, 0], ring[:, 1]
    return float((x * np.roll(z, -1) - np.roll(x, -1) * z).sum()) / 2


def extrude(outline, depth, bevel=0.0, crease=None, flags=0) -> Mesh:
    """Closed (n, 2) outline in the x-y plane extruded along z, centred, edges bevelled."""
    o = np.asarray(outline, float)
    if _area(o) < 0:   # the x-y outline must run counter-clockwise for outward normals
        o = o[::-1]
        crease = None if crease is None else np.asarray(crease)[::-1]
    d = depth / 2
    if bevel > 0:
        inner = _inset(o, bevel)
        layers = [(inner, -d), (o, -d + bevel), (o, d - bevel), (inner, d)]
        cj = [False, True, True, False]
    else:
        layers, cj = [(o, -d), (o, d)], None
    pts = np.stack([np.column_stack([r, np.full(len(r), z)]) for r, z in layers], 1)
    return _capped(pts, crease, cj, flags, True)


def _inset(o: np.ndarray, dist: float) -> np.ndarray:
    """Outline moved inward by ``dist`` along the vertex bisectors (counter-clockwise)."""
    e0 = o - np.roll(o, 1, 0)
    e1 = np.roll(o, -1, 0) - o
    n0 = np.column_stack([-e0[:, 1], e0[:, 0]]) / (np.linalg.norm(e0, axis=1)[:, None] + 1e-12)
    n1 = np.column_stack([-e1[:, 1], e1[:, 0]]) / (np.linalg.norm(e1, axis=1)[:, None] + 1e-12)
    n = n0 + n1
    n /= np.maximum((n * n1).sum(1, keepdims=True), 0.3)
    return o + dist * n


def box(w, h, d, center=(0.0, 0.0, 0.0), flags=0, cell=0.12, skip=()) -> Mesh:
    """Axis-aligned box, each side its own flat group tessellated into ``cell``-sized quads;
    sides named in ``skip`` ("+x", "-z", ...) are left open."""
    c = np.asarray(center, float)
    e = np.array([w, h, d], float) / 2
    verts, quads, ij = [], [], []
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        nu, nv = (int(np.clip(np.ceil(2 * e[k] / cell), 1, 8)) for k in (u, v))
        ii, jj = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
        cells = np.stack([ii * (nv + 1) + jj, (ii + 1) * (nv + 1) + jj,
                          (ii + 1) * (nv + 1) + jj + 1, ii * (nv + 1) + jj + 1], -1)
        a, b = np.meshgrid(np.linspace(-1, 1, nu + 1), np.linspace(-1, 1, nv + 1),
                           indexing="ij")
        for sign in (1, -1):
            if ("+" if sign > 0 else "-") + "xyz"[axis] in skip:
                continue
            p = np.zeros(a.shape + (3,))
            p[..., axis] = sign * e[axis]
            p[..., u], p[..., v] = a * e[u], b * e[v] * sign   # u x v points along +-axis
            quads.append(cells.reshape(-1, 4) + sum(len(x) for x in verts))
            verts.append((p + c).reshape(-1, 3))
            ij.append(np.stack([ii, jj], -1).reshape(-1, 2))
    sizes = [len(q) for q in quads]
    return Mesh(np.concatenate(verts), np.concatenate(quads),
                np.repeat(np.arange(len(quads)), sizes), np.concatenate(ij), [],
                np.zeros(0, int), np.zeros((len(quads), 2), int), np.full(len(quads), flags))


def rrect(w, d, r, n=5, step=0.15, like=None) -> tuple[np.ndarray, np.ndarray]:
    """Rounded rectangle in the x-z plane: points and crease flags (sharp when r = 0).

    Straight sides get extra points every ``step`` so that no face grows too large for the
    far-to-near painting order; ``like=(w, d)`` takes the point count of that size instead
    (rings of one loft must have equal counts)."""
    lw, ld = like if like is not None else (w, d)
    r = float(np.clip(r, 0, min(w, d) / 2))
    n = n if r > 0 else 1
    ang = np.arange(n) / max(n - 1, 1) * (np.pi / 2) + np.arange(4)[:, None] * (np.pi / 2)
    centres = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * (w / 2 - r, d / 2 - r)
    arcs = centres[:, None] + r * np.stack([np.sin(ang), np.cos(ang)], -1)   # (4, n, 2)
    nxt = np.roll(arcs[:, 0], -1, axis=0)
    pts, crease = [], []
    for k in range(4):
        m = int(np.ceil((ld if k % 2 == 0 else lw) / step)) - 1
        t = (np.arange(1, m + 1) / (m + 1))[:, None]
        pts += [arcs[k], arcs[k, -1] + (nxt[k] - arcs[k, -1]) * t]
        crease += [np.full(n, r <= 0), np.zeros(m, bool)]
    return np.concatenate(pts), np.concatenate(crease)


def superellipse(a, b, power=4.0, n=48) -> np.ndarray:
    """Closed outline between an ellipse (power 2) and a rectangle (large powers)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    s, c = np.sin(t), np.cos(t)
    return np.column_stack([a * np.sign(s) * np.abs(s) ** (2 / power),
                            b * np.sign(c) * np.abs(c) ** (2 / power)])


def rounded_box(w, h, d, corner=0.0, edge=0.0, n=5, flags=0, bottom=0.0) -> Mesh:
    """Box with vertical edges rounded by ``corner`` and top/bottom edges filleted by ``edge``.

    The base sits at y = ``bottom``; a sharp box results when both radii are zero.
    """
    e = min(edge, h / 2.01, corner * 0.9 if corner > 0 else edge)
    if e > 0:
        a = np.linspace(0, np.pi / 2, 4)
        ins = e * (1 - np.sin(a))
        ys = np.concatenate([e * (1 - np.cos(a)), h - e + e * np.cos(a[::-1])])
        insets = np.concatenate([ins, ins[::-1]])
        cj = np.zeros(8, bool)
    else:
        ys, insets, cj = np.array([0.0, h]), np.zeros(2), None
    rings = [rrect(w - 2 * k, d - 2 * k, corner - k, n, like=(w, d))[0] for k in insets]
    crease_i = rrect(w, d, corner, n)[1]
    return loft(rings, ys + bottom, crease_i=crease_i, crease_j=cj, flags=flags)


def tube(path, radius, n_around=14, closed=False, caps=True, flags=SHADE, up=None,
         aspect=1.0, crease=False) -> Mesh:
    """Tube swept along a 3D path; ``radius`` is a scalar or one per point, the cross-section
    is ``aspect`` times wider towards ``up`` (default +z); ``crease`` makes it faceted, with
    flat sides facing ``up``."""
    path = np.asarray(path, float)
    m = len(path)
    rb = np.broadcast_to(np.asarray(radius, float), (m,))
    ra = rb * aspect
    tan = np.roll(path, -1, 0) - np.roll(path, 1, 0) if closed else np.gradient(path, axis=0)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    ref = np.asarray(up if up is not None else (0.0, 0.0, 1.0), float)
    if abs(ref @ tan[0]) > 0.9:
        ref = np.array([0.0, 1.0, 0.0]) if abs(tan[0, 1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    nrm = np.empty_like(path)
    nrm[0] = ref - (ref @ tan[0]) * tan[0]
    for k in range(1, m):   # parallel transport keeps the tube from twisting
        v = nrm[k - 1] - (nrm[k - 1] @ tan[k]) * tan[k]
        nrm[k] = v / np.linalg.norm(v)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    bin_ = np.cross(tan, nrm)
    t = np.linspace(0, 2 * np.pi, n_around, endpoint=False) + (np.pi / n_around if crease else 0)
    pts = (path[None] + np.cos(t)[:, None, None] * (ra[None, :, None] * nrm[None])
           + np.sin(t)[:, None, None] * (rb[None, :, None] * bin_[None]))
    return grid(pts, wrap_i=True, wrap_j=closed, crease_i=np.full(n_around, crease),
                flags=flags & ~SHADE if crease else flags,
                cap_first=caps and not closed, cap_last=caps and not closed)


def torus(big_r, small_r, segments=48, n_around=14, flags=SHADE) -> Mesh:
    """Ring in the x-z plane around the y axis."""
    t = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    path = np.column_stack([big_r * np.sin(t), np.zeros_like(t), big_r * np.cos(t)])
    return tube(path, small_r, n_around, closed=True, flags=flags, up=(0.0, 1.0, 0.0))


# ---- curves -----------------------------------------------------------------------------

def catmull_rom(points, n=8) -> np.ndarray:
    """Smooth curve through 2D or 3D control points (ends included)."""
    p = np.asarray(points, float)
    p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    out = []
    for k in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[k - 1], p[k], p[k + 1], p[k + 2]
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2:-1])
    return np.concatenate(out)


def fillet_path(points, radii, n_arc=5, closed=False) -> tuple[np.ndarray, np.ndarray]:
    """Polyline with corners rounded by ``radii`` (up to ``n_arc`` points per arc, fewer for
    small ones); a sharp corner (radius 0) that turns by more than 20 degrees is flagged as a
    crease. A ``closed`` outline rounds every corner."""
    if closed:
        p = np.asarray(points, float)
        r = np.broadcast_to(np.asarray(radii, float), (len(p),))
        out, crease = fillet_path(np.concatenate([p[-1:], p, p[:1]]), np.r_[0, r, 0], n_arc)
        return out[1:-1], crease[1:-1]
    p = np.asarray(points, float)
    out, crease = [p[0]], [True]
    for k in range(1, len(p) - 1):
        r = radii[k] if np.ndim(radii) else radii
        a, b = p[k - 1] - p[k], p[k + 1] - p[k]
        la, lb = np.linalg.norm(a), np.linalg.norm(b)
        cosang = np.clip(a @ b / (la * lb), -1, 1)
        half = np.arccos(cosang) / 2
        if r <= 0 or half > np.pi / 2 - 1e-3:
            out.append(p[k])
            crease.append(r <= 0 and half < np.radians(80))
            continue
        tlen = min(r / np.tan(half), 0.49 * la, 0.49 * lb)
        s, e = p[k] + a / la * tlen, p[k] + b / lb * tlen
        w = np.linspace(0, 1, int(np.clip(np.ceil(tlen / 0.012), 2, n_arc)))[:, None]
        q = (1 - w) ** 2 * s + 2 * w * (1 - w) * p[k] + w ** 2 * e   # quadratic Bezier arc
        out.extend(q)
        crease.extend([False] * len(w))
    out.append(p[-1])
    crease.append(True)
    return np.array(out), np.array(crease)
