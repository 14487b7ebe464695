"""What a family builder returns, plus part helpers shared by the family modules."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._mesh import DETAIL, ENV, SHADE, Mesh, fillet_path, merge, polygon, revolve, rotation


@dataclass
class Design:
    """One procedural product: the claimed article, optional environment, fitting titles."""

    mesh: Mesh
    env: Mesh | None = None          # drawn in broken lines when the patent shows it
    titles: tuple[str, ...] = ()     # variant-specific titles (else the family's)


def lathe(points, radii, segments=48, flags=SHADE, n_arc=5) -> Mesh:
    """Surface of revolution of a filleted (r, y) polyline; see ``fillet_path``."""
    prof, crease = fillet_path(points, radii, n_arc)
    return revolve(prof, segments, crease=crease, flags=flags)


def detail(*parts: Mesh) -> Mesh:
    """Small parts mounted on a larger surface, drawn with a per-pixel depth test."""
    return merge(*parts).with_flags(add=DETAIL)


def turned(mesh: Mesh, axis: str, degrees: float, pivot=(0.0, 0.0, 0.0)) -> Mesh:
    """``mesh`` rotated about an axis through ``pivot``."""
    r = rotation(axis, degrees)
    p = np.asarray(pivot, float)
    return mesh.transformed(r, p - r @ p)


def ground(mesh: Mesh, pad: float = 0.3) -> Mesh:
    """The surface the article stands on, as an environment rectangle under it."""
    lo, hi = mesh.bounds()
    c, half = (lo + hi) / 2, (hi - lo) / 2 * (1 + pad) + pad * 0.1 * (hi - lo).max()
    pts = [(c[0] + sx * half[0], lo[1], c[2] + sz * half[2])
           for sx, sz in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return polygon(pts, (0, 1, 0), flags=ENV)


def pick(rng: np.random.Generator, options):
    """A random element of a sequence (keeps numpy scalars out of the geometry)."""
    return options[int(rng.integers(len(options)))]
