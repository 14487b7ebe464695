"""Hidden-line rendering of a mesh as a patent drawing view.

Visible faces are painted far-to-near (PIL polygons, C speed) into an integer face-id buffer;
a line is drawn wherever two neighbouring pixels show faces that are not grid neighbours in
the same smooth group. That yields silhouettes, creases and occlusion edges with hidden lines
removed, while the tessellation inside a smooth patch stays invisible. Shading strokes are
drawn only where their own patch is visible; environment edges are drawn broken (dashed).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ._mesh import DETAIL, ENV, GLASS, SHADE, Mesh, _newell

VIEWS = ("perspective", "front", "rear", "left", "right", "top", "bottom")

# forward (looking direction) and up vector of the six orthographic views; the design's front
# faces +z, so the front view looks along -z and the top view has the front at the bottom.
_ORTHO = {
    "front": ((0, 0, -1), (0, 1, 0)),
    "rear": ((0, 0, 1), (0, 1, 0)),
    "left": ((1, 0, 0), (0, 1, 0)),
    "right": ((-1, 0, 0), (0, 1, 0)),
    "top": ((0, -1, 0), (0, 0, -1)),
    "bottom": ((0, 1, 0), (0, 0, 1)),
}


@dataclass(frozen=True)
class Camera:
    """Orthographic (eye is None) or perspective camera plus the fit to pixel coordinates."""

    right: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    eye: np.ndarray | None = None
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)

    def _screen(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = pts - self.eye if self.eye is not None else pts
        x, y, z = rel @ self.right, rel @ self.up, rel @ self.forward
        if self.eye is not None:
            x, y = x / z, y / z
        return np.column_stack([x, -y]), z

    def project(self, pts) -> np.ndarray:
        """Pixel coordinates (x, y) of 3D points."""
        xy, _ = self._screen(np.asarray(pts, float).reshape(-1, 3))
        return xy * self.scale + self.offset

    def facing(self, normals: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Cosine between each normal and the direction towards the viewer."""
        if self.eye is None:
            return normals @ -self.forward
        to_eye = self.eye - centers
        return (normals * to_eye).sum(1) / (np.linalg.norm(to_eye, axis=1) + 1e-12)


def camera(view: str, mesh: Mesh, size: int, margin: float = 0.06, azimuth: float = 35.0,
           elevation: float = 24.0, distance: float = 3.4) -> Camera:
    """Camera for a named view, fitted so the whole mesh fills ``size`` px less the margin.

    The perspective view looks from the front, ``azimuth`` degrees to the right (negative:
    left) and ``elevation`` degrees above, from ``distance`` times the bounding radius.
    """
    lo, hi = mesh.bounds()
    if view == "perspective":
        az, el = np.radians(azimuth), np.radians(elevation)
        to_eye = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
        fwd, eye = -to_eye, (lo + hi) / 2 + to_eye * distance * np.linalg.norm(hi - lo) / 2
        up = np.array([0.0, 1.0, 0.0])
    else:
        fwd, up = (np.array(v, float) for v in _ORTHO[view])
        eye = None
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    cam = Camera(right, np.cross(right, fwd), fwd, eye)
    xy, _ = cam._screen(mesh.verts)
    mn, mx = xy.min(0), xy.max(0)
    scale = size * (1 - 2 * margin) / max(float((mx - mn).max()), 1e-9)
    off = size / 2 - (mn + mx) / 2 * scale
    return Camera(cam.right, cam.up, cam.forward, eye, scale, (float(off[0]), float(off[1])))


@dataclass
class _Faces:
    """Per-face arrays of a mesh, built once and reused for every view."""

    group: np.ndarray     # by face id: 0 = background (-1), faces from 1
    key: np.ndarray       # by face id: group + 1 << 32 | i << 16 | j (background: 0)
    wrap: np.ndarray      # by face id: grid periods of its group, i << 16 | j (0 = open)
    kind: np.ndarray      # by face id: 1 touches a pole of a surface of revolution,
                          # 2 its group is planar (cannot hide parts of itself)
    normal: np.ndarray    # by face index (id - 1), unit
    center: np.ndarray
    stroke: np.ndarray    # quads that may carry a shading stroke along their i-edge


def _faces(mesh: Mesh) -> _Faces:
    """The per-face arrays of ``mesh``, cached on it."""
    cached = getattr(mesh, "_faces_cache", None)
    if cached is not None:
        return cached
    v, q = mesh.verts, mesh.quads
    qn = np.cross(v[q[:, 2]] - v[q[:, 0]], v[q[:, 3]] - v[q[:, 1]])
    qc = v[q].mean(1)
    pn = [_newell(v[p]) for p in mesh.polys]
    normal = np.concatenate([qn, np.reshape(pn, (-1, 3))])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    center = np.concatenate([qc, np.reshape([v[p].mean(0) for p in mesh.polys], (-1, 3))])
    npoly = len(mesh.polys)
    group = np.concatenate([[-1], mesh.quad_group, mesh.poly_group]).astype(np.int64)
    fi = np.concatenate([[0], mesh.quad_ij[:, 0], np.zeros(npoly, int)]).astype(np.int64)
    fj = np.concatenate([[0], mesh.quad_ij[:, 1], np.zeros(npoly, int)]).astype(np.int64)
    # shading stroke candidates: faces of SHADE groups that curve across i (not flat parts)
    order = np.lexsort((mesh.quad_ij[:, 0], mesh.quad_ij[:, 1], mesh.quad_group))
    a, b = order[:-1], order[1:]
    pair = ((mesh.quad_group[a] == mesh.quad_group[b])
            & (mesh.quad_ij[a, 1] == mesh.quad_ij[b, 1])
            & ((normal[a] * normal[b]).sum(1) < 0.999))
    curved = np.zeros(len(q), bool)
    curved[a[pair]] = curved[b[pair]] = True
    stroke = np.flatnonzero(curved & ((mesh.flags[mesh.quad_group] & SHADE) > 0))
    pv = v[q]
    collapsed = (np.abs(pv - np.roll(pv, -1, 1)).max(2) < 1e-9).any(1)
    pole = np.concatenate([[False], collapsed, np.zeros(npoly, bool)])
    g = group[1:]
    mean = np.zeros((mesh.n_groups, 3))
    np.add.at(mean, g, normal)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True) + 1e-12
    off = ((normal * mean[g]).sum(1) < 0.9999) & (np.abs(normal).sum(1) > 0)
    flat = np.r_[False, ~np.isin(g, g[off])]
    key = ((group + 1) << 32) | (fi << 16) | fj
    wrap = np.r_[0, (mesh.wrap[g, 0] << 16) | mesh.wrap[g, 1]]
    kind = pole.astype(np.int64) | (flat.astype(np.int64) << 1)
    out = _Faces(group, key, wrap, kind, normal, center, stroke)
    mesh._faces_cache = out
    return out


def _smooth(fc: _Faces, fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """Whether face ids ``fa`` and ``fb`` are near neighbours (two grid steps: thin faces
    rasterize unevenly) inside one smooth group."""
    ka, kb = fc.key[fa], fc.key[fb]
    same = (ka >> 32) == (kb >> 32)
    di = np.abs(((ka >> 16) & 0xFFFF) - ((kb >> 16) & 0xFFFF))
    dj = np.abs((ka & 0xFFFF) - (kb & 0xFFFF))
    wi, wj = fc.wrap[fa] >> 16, fc.wrap[fa] & 0xFFFF
    di = np.minimum(di, np.where(wi > 0, wi - di, di))
    dj = np.minimum(dj, np.where(wj > 0, wj - dj, dj))
    pole = ((fc.kind[fa] | fc.kind[fb]) & 1) > 0
    flat = (fc.kind[fa] & 2) > 0
    near = (((di <= 2) | pole) & (dj <= 2)) | flat
    return same & near


def _thicken(mask: np.ndarray, width: int) -> np.ndarray:
    """Dilate a thin line mask by a ``width`` x ``width`` square (separable: rows, then
    columns), working on the mask's bounding box."""
    if width <= 1 or not mask.any():
        return mask
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    h, w = mask.shape
    lo, hi = -(width // 2), (width - 1) // 2
    y0, y1 = max(rows[0] + lo, 0), min(rows[-1] + hi + 1, h)
    x0, x1 = max(cols[0] + lo, 0), min(cols[-1] + hi + 1, w)
    sub = mask[y0:y1, x0:x1]
    across = sub.copy()
    for d in range(lo, hi + 1):
        if d < 0:
            across[:, :d] |= sub[:, -d:]
        elif d > 0:
            across[:, d:] |= sub[:, :-d]
    out = across.copy()
    for d in range(lo, hi + 1):
        if d < 0:
            out[:d] |= across[-d:]
        elif d > 0:
            out[d:] |= across[:-d]
    res = np.zeros_like(mask)
    res[y0:y1, x0:x1] = out
    return res


def _dashes(mask: np.ndarray, period: int, on: int) -> np.ndarray:
    """Break a thin line mask into dashes, measured along x or y by the local direction."""
    k = 2
    flat = np.flatnonzero(mask)
    ys, xs = np.divmod(flat, mask.shape[1])
    pad = np.pad(mask, k + 1)
    horiz, vert = pad[:, 1:] & pad[:, :-1], pad[1:] & pad[:-1]
    h = np.zeros(len(flat), np.int32)
    v = np.zeros(len(flat), np.int32)
    for dy in range(-k, k + 1):   # neighbour pairs in a (2k+1)^2 window around each pixel
        for dx in range(-k, k + 1):
            h += horiz[ys + k + 1 + dy, xs + k + 1 + dx]
            v += vert[ys + k + 1 + dy, xs + k + 1 + dx]
    along = np.where(h >= v, xs, ys)
    out = np.zeros(mask.size, bool)
    out[flat[along % period < on]] = True
    return out.reshape(mask.shape)


def render(mesh: Mesh, view: str, size: int = 1024, *, line_width: int | None = None,
           shading: bool = True, margin: float = 0.06, azimuth: float = 35.0,
           elevation: float = 24.0, distance: float = 3.4) -> np.ndarray:
    """One view of ``mesh`` as uint8 line art (0 = ink, 255 = paper), ``size`` px square."""
    cam = camera(view, mesh, size, margin, azimuth, elevation, distance)
    lw = line_width or max(1, round(size / 380))
    fc = _faces(mesh)
    xy = cam.project(mesh.verts)
    _, depth_v = cam._screen(mesh.verts)
    depth = np.concatenate([depth_v[mesh.quads].mean(1),
                            [depth_v[p].mean() for p in mesh.polys]])
    visible = np.flatnonzero(cam.facing(fc.normal, fc.center) > 1e-6)
    order = visible[np.argsort(-depth[visible], kind="stable")]
    face_flags = mesh.flags[fc.group[1:]]
    order = order[np.argsort((face_flags[order] & ENV) == 0, kind="stable")]   # env behind
    detail = (face_flags[order] & DETAIL) > 0
    if len(fc.group) > 65536:
        raise ValueError("mesh too large for a 16-bit face-id buffer")
    ids = _paint(mesh, xy, order[~detail], size)
    ids = _fill_pinholes(ids, size)
    if detail.any():   # details go on a second layer, merged by a per-pixel depth test
        near = -depth_v if cam.eye is None else 1 / depth_v
        ids = _add_details(ids, order[detail], mesh, xy, near, size)

    env = np.r_[True, (mesh.flags[fc.group[1:]] & ENV) > 0]
    fdepth = np.r_[np.inf, depth]
    solid = np.zeros(size * size, bool)
    broken = np.zeros(size * size, bool)
    for step in (1, size):   # horizontal and vertical neighbours, as flat indices
        k = np.flatnonzero(ids[:-step] != ids[step:])
        if step == 1:
            k = k[k % size != size - 1]
        fa, fb = ids[k], ids[k + step]
        line = ~_smooth(fc, fa, fb)
        k, fa, fb = k[line], fa[line], fb[line]
        pix = k + step * (fdepth[fb] < fdepth[fa])   # the line sits on the nearer face
        is_env = env[fa] & env[fb]
        solid[pix[~is_env]] = True
        broken[pix[is_env]] = True

    ink = _thicken(solid.reshape(size, size), lw)
    if broken.any():
        ink |= _thicken(_dashes(broken.reshape(size, size), 6 * lw, 4 * lw), max(1, lw - 1))
    if shading:
        ink |= _thicken(_strokes(mesh, fc, cam, ids, visible, size), max(1, lw - 1))
    return (~ink).view(np.uint8) * np.uint8(255)


_local = threading.local()


def _canvas(size: int) -> Image.Image:
    """A cleared 16-bit canvas, reused per thread (a fresh one costs page faults)."""
    img = getattr(_local, "canvas", None)
    if img is None or img.size != (size, size):
        img = _local.canvas = Image.new("I;16", (size, size), 0)
    else:
        img.paste(0, (0, 0, size, size))
    return img


def _paint(mesh: Mesh, xy: np.ndarray, order: np.ndarray, size: int) -> np.ndarray:
    """Flat uint16 buffer of face ids (0 = none), faces painted in the given order."""
    img = _canvas(size)
    fill_polygon = ImageDraw.Draw(img).draw.draw_polygon   # core call: ink = the face id
    m = len(mesh.quads)
    quads = order[order < m]
    coords = iter(xy[mesh.quads[quads]].reshape(-1, 8).tolist())
    for f in order.tolist():
        fill_polygon(next(coords) if f < m else xy[mesh.polys[f - m]].ravel().tolist(), f + 1, 1)
    return np.frombuffer(img.tobytes(), np.uint16)


def _fill_pinholes(ids: np.ndarray, size: int) -> np.ndarray:
    """Background pixels enclosed by faces on all four sides (the polygon filler can miss a
    pixel where many thin triangles meet) take their left neighbour's id."""
    k = np.flatnonzero((ids[1:-1] == 0) & (ids[:-2] != 0) & (ids[2:] != 0)) + 1
    k = k[(k >= size) & (k < ids.size - size)]
    k = k[(ids[k - size] != 0) & (ids[k + size] != 0)]
    if len(k) == 0:
        return ids
    out = ids.copy()
    out[k] = ids[k - 1]
    return out


def _planes(mesh: Mesh, xy: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Per face (a, b, c) with nearness = a x + b y + c over the face's pixels (nearness is
    -depth for orthographic and 1/depth for perspective views, linear on screen in both)."""
    q = mesh.quads
    tri = np.concatenate([q[:, :3], np.array([p[[0, len(p) // 3, 2 * len(p) // 3]]
                                              for p in mesh.polys], int).reshape(-1, 3)])
    alt = np.concatenate([q[:, [0, 2, 3]], tri[len(q):]])
    def area(t):
        d1, d2 = xy[t[:, 1]] - xy[t[:, 0]], xy[t[:, 2]] - xy[t[:, 0]]
        return d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    tri = np.where((np.abs(area(alt)) > np.abs(area(tri)))[:, None], alt, tri)
    (x0, y0), (x1, y1), (x2, y2) = (xy[tri[:, k]].T for k in range(3))
    n0, n1, n2 = (near[tri[:, k]] for k in range(3))
    det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    ok = np.abs(det) > 1e-9
    det = np.where(ok, det, 1.0)
    a = np.where(ok, ((n1 - n0) * (y2 - y0) - (n2 - n0) * (y1 - y0)) / det, 0.0)
    b = np.where(ok, ((x1 - x0) * (n2 - n0) - (x2 - x0) * (n1 - n0)) / det, 0.0)
    return np.column_stack([a, b, n0 - a * x0 - b * y0])


def _add_details(base: np.ndarray, faces: np.ndarray, mesh: Mesh, xy: np.ndarray,
                 near: np.ndarray, size: int) -> np.ndarray:
    """Detail faces painted on a second layer and merged into ``base`` keeping the nearer
    face per pixel.

    Each detail vertex is tested against the base face under it. Faces entirely behind the
    base are dropped (they would hide other details on the layer); faces whose vertices are
    all in front of base faces (or, for small faces, over blank paper) are taken whole; only
    the remaining faces' pixels get the per-pixel plane test (most details sit on a surface
    in view)."""
    pa, pb, pc = _planes(mesh, xy, near).T.copy()
    tol = 1e-4 * (near.max() - near.min())
    m = len(mesh.quads)
    is_quad = faces < m
    tested = np.r_[faces[is_quad], faces[~is_quad]]   # quads first: vertices in blocks of 4
    polys = [mesh.polys[f - m] for f in faces[~is_quad].tolist()]
    counts = np.r_[np.full(int(is_quad.sum()), 4), [len(p) for p in polys]].astype(int)
    v = np.concatenate([mesh.quads[faces[is_quad]].ravel()] + polys)
    px = np.clip(np.rint(xy[v]).astype(int), 0, size - 1)
    under = base[px[:, 1] * size + px[:, 0]].astype(np.int64) - 1
    known = (under >= 0) & ((mesh.flags[_faces(mesh).group[under + 1]] & ENV) == 0)
    front = near[v] >= pa[under] * px[:, 0] + pb[under] * px[:, 1] + pc[under] - tol
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    hidden = np.zeros(m + len(mesh.polys) + 1, bool)
    whole = np.zeros(m + len(mesh.polys) + 1, bool)
    hidden[tested + 1] = np.logical_and.reduceat(known & ~front, starts)
    extent = (np.maximum.reduceat(px, starts) - np.minimum.reduceat(px, starts)).max(1)
    on_paper = (under < 0) & (np.repeat(extent, counts) < size / 40)   # small, nothing under
    whole[tested + 1] = np.logical_and.reduceat((known & front) | on_paper, starts)
    faces = faces[~hidden[faces + 1]]   # still far to near
    if len(faces) == 0:
        return base
    top = _paint(mesh, xy, faces, size)
    (x0, y0), (x1, y1) = px.min(0), px.max(0) + 2   # the details' box, with rounding slack
    out = base.reshape(size, size).copy()
    sub_top = top.reshape(size, size)[y0:y1, x0:x1]
    sub = out[y0:y1, x0:x1]
    easy = whole[sub_top]
    sub[easy] = sub_top[easy]
    ys, xs = np.divmod(np.flatnonzero((sub_top > 0) & ~easy), x1 - x0)
    new = sub_top[ys, xs].astype(np.int64) - 1
    xs, ys = xs + x0, ys + y0
    cur = base.reshape(size, size)[ys, xs].astype(np.int64) - 1
    win = (cur < 0) | (pa[new] * xs + pb[new] * ys + pc[new]
                       >= pa[cur] * xs + pb[cur] * ys + pc[cur] - tol)
    out[ys[win], xs[win]] = new[win] + 1
    return out.ravel()


def _strokes(mesh: Mesh, fc: _Faces, cam: Camera, ids: np.ndarray, visible: np.ndarray,
             size: int) -> np.ndarray:
    """Thin mask of shading strokes near the contour of curved patches and of oblique
    reflection strokes on glass, each kept only where its own patch is visible."""
    lines, faces = [], []   # glass strokes carry -(group + 1) instead of a face id
    sf = fc.stroke
    if len(sf):
        nrm = fc.normal[sf]
        cos = cam.facing(nrm, fc.center[sf])
        hi = np.where(nrm @ cam.right > 0, 0.55, 0.3)
        sf = sf[(cos > 0.03) & (cos < hi)]
        a = cam.project(mesh.verts[mesh.quads[sf, 0]])
        b = cam.project(mesh.verts[mesh.quads[sf, 3]])
        ns = cam.project(fc.center[sf] + fc.normal[sf] * 1e-3) - cam.project(fc.center[sf])
        along = np.abs(((b - a) * ns).sum(1)) / (np.linalg.norm(b - a, axis=1)
                                                  * np.linalg.norm(ns, axis=1) + 1e-12)
        keep = along < 0.5   # strokes run along the nearby contour, not across it
        sf, a, b = sf[keep], a[keep], b[keep]
        n = np.ceil(np.linalg.norm(b - a, axis=1) / 0.7).astype(int) + 1
        seg = np.repeat(np.arange(len(sf)), n)
        t = (np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n - 1, n).clip(1)
        lines.append(a[seg] + (b[seg] - a[seg]) * t[:, None])
        faces.append(sf[seg] + 1)
    glass = np.flatnonzero(mesh.flags & GLASS)
    vis_glass = np.intersect1d(glass, fc.group[visible + 1])
    if len(vis_glass):
        m = len(mesh.quads)
        quad_pts = cam.project(mesh.verts[mesh.quads.ravel()]).reshape(-1, 4, 2)
    for g in vis_glass:
        members = np.flatnonzero(fc.group[1:] == g)
        pts = np.concatenate([quad_pts[members[members < m]].reshape(-1, 2)]
                             + [cam.project(mesh.verts[mesh.polys[f - m]])
                                for f in members[members >= m]])
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        for frac in (0.16, 0.24, 0.30):   # three parallel 45-degree strokes near a corner
            c = x0 + y0 + 1.2 * frac * (x1 - x0 + y1 - y0)
            xa, xb = max(x0, c - y1), min(x1, c - y0)
            if xb - xa > 2:
                x = np.arange(xa + 0.2 * (xb - xa), xb - 0.2 * (xb - xa), 0.7)
                lines.append(np.column_stack([x, c - x]))
                faces.append(np.full(len(x), -g - 1))
    out = np.zeros(size * size, bool)
    if lines:
        p = np.rint(np.concatenate(lines)).astype(int)
        f = np.concatenate(faces)
        ok = (p >= 0).all(1) & (p < size).all(1)
        flat, f = p[ok, 1] * size + p[ok, 0], f[ok]
        seen = ids[flat]
        on_glass = fc.group[seen] == -f - 1
        f = np.maximum(f, 0)
        shown = np.where(f == 0, on_glass, (seen == f) | _smooth(fc, seen, f))
        out[flat[shown]] = True
    return out.reshape(size, size)
