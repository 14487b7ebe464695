"""Vessels: mugs and cups, bottles, vases and planters, kettles (y up, front towards +z)."""
from __future__ import annotations

import numpy as np

from ._design import Design, detail, ground, lathe, pick
from ._mesh import catmull_rom, fillet_path, loft, merge, rrect, superellipse, tube


def _vessel(wall, t, floor, rim_r=0.0, floor_r=0.0, base_r=0.0, foot=0.0, segments=44):
    """Open thick-walled vessel from its outer wall (r, y) points, base first."""
    wall = np.asarray(wall, float)
    rb = wall[0, 0]
    if foot > 0:   # recessed base inside a foot ring
        pts, rad = [(0.0, foot), (rb * 0.8, foot), (rb * 0.86, 0.0)], [0, 0, 0]
    else:
        pts, rad = [(0.0, 0.0)], [0]
    pts += list(wall)
    rad += [base_r] + [0] * (len(wall) - 2) + [rim_r]
    inner = wall[::-1] - (t, 0)
    inner = inner[inner[:, 1] > floor + 0.03]
    r_floor = np.interp(floor, wall[:, 1], wall[:, 0]) - t   # inner wall meets the floor
    pts += list(inner) + [(r_floor, floor), (0.0, floor)]
    rad += [rim_r] + [0] * (len(inner) - 1) + [floor_r, 0]
    return lathe(pts, rad, segments)


def mug(rng) -> Design:
    kind = pick(rng, ["mug", "mug", "cup", "tumbler"])
    if kind == "cup":
        h, rb, rt = rng.uniform(0.45, 0.65), rng.uniform(0.22, 0.3), rng.uniform(0.42, 0.55)
    else:
        h, rb = rng.uniform(0.8, 1.25), rng.uniform(0.28, 0.42)
        rt = rb * rng.uniform(0.85, 1.3)
    t = rng.uniform(0.025, 0.05)
    mid = (rb + rt) / 2 + rng.uniform(-0.04, 0.1)
    wall = catmull_rom([(rb, 0.0), (mid, h * rng.uniform(0.35, 0.6)), (rt, h)], 7)
    foot = rng.uniform(0.015, 0.05) if rng.random() < 0.6 else 0.0
    body = _vessel(wall, t, rng.uniform(0.05, 0.1), rim_r=t * rng.uniform(0.3, 0.5),
                   floor_r=rng.uniform(0.02, 0.08), base_r=rng.uniform(0, 0.04), foot=foot)
    parts, titles = [body], ("Drinking mug", "Mug", "Coffee mug", "Beverage mug")
    if kind != "tumbler":
        def r_at(y):
            return np.interp(y, wall[:, 1], wall[:, 0]) - t * 0.5
        y0, y1 = h * rng.uniform(0.15, 0.35), h * rng.uniform(0.7, 0.88)
        reach = rng.uniform(0.18, 0.34) * (0.7 if kind == "cup" else 1.0)
        style = pick(rng, ["C", "D", "ear"])
        if style == "C":
            a = np.linspace(np.pi / 2, -np.pi / 2, 20)
            xs = np.interp(a, [-np.pi / 2, np.pi / 2], [r_at(y0), r_at(y1)])
            path = np.column_stack([xs + reach * np.cos(a),
                                    (y0 + y1) / 2 + (y1 - y0) / 2 * np.sin(a), np.zeros_like(a)])
        else:
            sag = rng.uniform(0.0, 0.15) * (y1 - y0)
            corners = [(r_at(y1), y1), (r_at(y1) + reach, y1 + sag * (style == "ear")),
                       (r_at(y0) + reach * (0.6 if style == "ear" else 1.0), y0 - sag),
                       (r_at(y0), y0)]
            p2, _ = fillet_path(corners, [0, reach * 0.45, reach * 0.45, 0], 8)
            path = np.column_stack([p2, np.zeros(len(p2))])
        path[0, 0] -= t
        path[-1, 0] -= t
        width, thick = rng.uniform(0.035, 0.08), rng.uniform(0.022, 0.04)
        parts.append(detail(tube(path, thick, 12, aspect=width / thick)))
        titles = titles if kind == "mug" else ("Cup", "Tea cup", "Coffee cup")
        if kind == "cup" and rng.random() < 0.5:
            rs = rt * rng.uniform(1.5, 1.9)
            saucer = lathe([(0, 0), (rs * 0.45, 0), (rs * 0.5, 0.02), (rs, 0.07), (rs, 0.085),
                            (rs * 0.5, 0.04), (0, 0.04)], [0, 0, 0.03, 0.01, 0.01, 0.02, 0], 56)
            parts = [p.moved(y=0.04) for p in parts] + [saucer]
            titles = ("Cup and saucer", "Tea cup with saucer")
    else:
        titles = ("Tumbler", "Drinking cup", "Drinking vessel")
    mesh = merge(*parts)
    return Design(mesh, ground(mesh), titles)


def bottle(rng) -> Design:
    h = rng.uniform(1.6, 2.6)
    R = rng.uniform(0.3, 0.5)
    rn = rng.uniform(0.1, 0.16)
    ys = h * rng.uniform(0.5, 0.72)          # shoulder start
    yn = ys + rng.uniform(0.2, 0.45) * (h - ys) + 0.15
    top = h
    neck_style = pick(rng, ["smooth", "cone", "step"])
    parts = []
    square = rng.random() < 0.3
    if square:
        w, d = 2 * R, 2 * R * rng.uniform(0.55, 1.0)
        rc = rng.uniform(0.03, 0.3) * min(w, d)
        ring = rrect(w, d, rc, 5)
        sh = np.linspace(0, 1, 6)
        rings = [ring[0] * s for s in [0.94, 1.0, 1.0] + list(1 - 0.55 * sh[1:] ** 2)]
        heights = [0.0, 0.03, ys] + list(ys + (yn - ys) * 0.6 * sh[1:])
        parts.append(loft(rings, heights, crease_i=ring[1],
                          crease_j=[False, False, True] + [False] * 5))
        yb = heights[-1]
        rb = min(0.9 * np.abs(rings[-1]).max(0).min(), rn * 1.6)   # collar within the top
        rn = min(rn, rb * 0.8)
        parts.append(lathe([(0, yb), (rb, yb), (rn, yb + 0.06), (rn, top - 0.15),
                            (rn - 0.02, top - 0.15), (0, top - 0.15)], [0, 0, 0.03, 0, 0, 0], 40))
    else:
        pts, rad = [(0, 0.04), (R * 0.75, 0.0), (R, 0.0)], [0, 0, rng.uniform(0.0, 0.06)]

        def add(points, r=0.0):
            pts.extend(points)
            rad.extend([r] * len(points))
        if rng.random() < 0.35:   # waisted body
            add(catmull_rom([(R, 0.12 * h), (R * rng.uniform(0.75, 0.9), ys * 0.55), (R, ys)], 6))
        else:
            add([(R, ys * 0.25)])
            n_groove = int(rng.integers(0, 4))
            for k in range(n_groove):
                yg = ys * (0.35 + 0.5 * (k + 0.5) / n_groove)
                add([(R, yg - 0.03), (R - 0.025, yg), (R, yg + 0.03)])
            add([(R, ys)])
        if neck_style == "smooth":
            add(catmull_rom([(R, ys), ((R + rn) / 2 + 0.08, (ys + yn) / 2), (rn, yn)], 8)[1:])
        elif neck_style == "cone":
            add([(rn, yn)])
        else:
            mid_r = rng.uniform(rn + 0.05, R - 0.05)
            add([(mid_r, ys + 0.04), (mid_r, yn - 0.08), (rn, yn)])
        rad[-1] = 0.04
        bead = rng.uniform(0.0, 0.03)   # finish: a bead below the lip, then the bore
        add([(rn, top - 0.12), (rn + bead, top - 0.1), (rn + bead, top - 0.07), (rn, top - 0.06),
             (rn, top), (rn - 0.02, top), (rn - 0.02, top - 0.15), (0, top - 0.15)])
        parts.append(lathe(pts, rad, 48))
    titles = ("Bottle", "Beverage bottle", "Water bottle", "Bottle for beverages")
    if rng.random() < 0.6:
        rc, hc = rn + 0.02, rng.uniform(0.12, 0.3)
        ribs = int(rng.integers(0, 2)) * int(rng.integers(24, 40))
        if ribs:
            t = np.linspace(0, 2 * np.pi, 2 * ribs, endpoint=False)
            r = np.where(np.arange(2 * ribs) % 2 == 0, rc, rc - 0.008)
            ring = np.column_stack([r * np.sin(t), r * np.cos(t)])
            parts.append(loft([ring, ring], [top - 0.14, top - 0.14 + hc],
                              crease_i=np.ones(2 * ribs, bool)))
        else:
            parts.append(lathe([(0, top - 0.14), (rc, top - 0.14), (rc, top - 0.14 + hc),
                                (0, top - 0.14 + hc)], [0, 0, rng.uniform(0, 0.03), 0], 48))
        titles = titles + ("Bottle with cap",)
    mesh = merge(*parts)
    return Design(mesh, ground(mesh), titles)


def vase(rng) -> Design:
    h = rng.uniform(1.0, 2.2)
    n = int(rng.integers(3, 6))
    ys = np.linspace(0, h, n + 1)
    base = rng.uniform(0.2, 0.4)
    rs = [base] + list(rng.uniform(0.15, 0.6, n - 1)) + [rng.uniform(0.12, 0.45)]
    wall = catmull_rom(np.column_stack([rs, ys]), 6)
    wall[:, 0] = np.maximum(wall[:, 0], 0.08)
    t = rng.uniform(0.025, 0.045)
    planter = rng.random() < 0.3
    if planter:
        rt = rng.uniform(0.45, 0.6)
        h = rng.uniform(0.6, 1.0)
        band = rng.uniform(0.06, 0.15) * h
        wall = np.array([(rt * rng.uniform(0.6, 0.8), 0.0), (rt, h - band), (rt + 0.04, h - band),
                         (rt + 0.04, h)])
        titles = ("Planter", "Flower pot", "Plant pot")
    else:
        titles = ("Vase", "Flower vase", "Decorative vase")
    power = 2.0 if rng.random() < 0.65 else rng.uniform(3.0, 6.0)
    floor = rng.uniform(0.05, 0.12)
    if power == 2.0:
        parts = [_vessel(wall, t, floor, rim_r=t * 0.45, floor_r=0.04,
                         base_r=rng.uniform(0, 0.05),
                         foot=rng.uniform(0.0, 0.05) if rng.random() < 0.4 else 0.0)]
    else:   # squared cross-section: superellipse rings scaled by the profile
        outer = [superellipse(r, r, power, 48) for r in wall[:, 0]]
        inner = [superellipse(r - t, r - t, power, 48) for r in wall[::-1, 0]]
        parts = [loft(outer + inner, list(wall[:, 1]) + list(np.maximum(wall[::-1, 1], floor)))]
    if not planter and rng.random() < 0.3:
        yh = h * rng.uniform(0.55, 0.8)
        r_at = np.interp(yh, wall[:, 1], wall[:, 0])
        for sx in (1, -1):
            a = np.linspace(0.5 * np.pi, -0.5 * np.pi, 14)
            path = np.column_stack([sx * (r_at - t + 0.12 * np.cos(a)), yh + 0.1 * np.sin(a),
                                    np.zeros_like(a)])
            parts.append(detail(tube(path, 0.025, 10)))
        titles = ("Vase with handles", "Urn")
    if planter and rng.random() < 0.5:
        rs_ = wall[0, 0] * 1.35
        parts = [p.moved(y=0.05) for p in parts]
        parts.append(lathe([(0, 0), (rs_, 0), (rs_ + 0.03, 0.08), (rs_ - 0.01, 0.08),
                            (rs_ - 0.02, 0.03), (0, 0.03)], [0, 0.02, 0, 0, 0.01, 0], 48))
        titles = ("Planter with saucer", "Flower pot")
    mesh = merge(*parts)
    return Design(mesh, ground(mesh), titles)


def kettle(rng) -> Design:
    R = rng.uniform(0.45, 0.65)
    h = rng.uniform(0.55, 0.95)
    ro = rng.uniform(0.16, 0.28)
    belly = rng.uniform(0.3, 0.6)
    prof = [(0.0, 0.0), (R * rng.uniform(0.8, 0.95), 0.0)]
    prof += list(catmull_rom([(R * 0.95, 0.03), (R, h * belly),
                              (R * rng.uniform(0.7, 0.95), h * 0.85),
                              (ro + 0.05, h)], 6))
    prof += [(ro, h), (ro, h - 0.05), (0.0, h - 0.05)]
    body = lathe(prof, np.r_[0, 0.05, np.zeros(len(prof) - 2)], 48)
    dome = rng.uniform(0.04, 0.15)
    knob = pick(rng, ["ball", "cyl", "ring"])
    lid_pts = [(0, h - 0.02), (ro + 0.02, h - 0.02), (ro + 0.02, h + 0.01),
               (ro * 0.5, h + dome), (0.06, h + dome)]
    lid_r = [0, 0, 0.01, 0.05, 0]
    if knob == "ball":
        lid_pts += [(0.05, h + dome + 0.02), (0.07, h + dome + 0.06), (0.0, h + dome + 0.1)]
    else:
        lid_pts += [(0.04, h + dome + 0.05), (0.08, h + dome + 0.06), (0.08, h + dome + 0.09),
                    (0.0, h + dome + 0.09)]
    lid_r += [0] * (len(lid_pts) - len(lid_r))
    parts = [body, lathe(lid_pts, lid_r, 48)]
    # spout: tapering tube from the lower body out and up towards -x
    sy = h * rng.uniform(0.25, 0.45)
    tip = (-R - rng.uniform(0.3, 0.5), h * rng.uniform(0.75, 1.05), 0.0)
    path = catmull_rom([(-R * 0.6, sy, 0.0), (-R * 1.05, sy + 0.08, 0.0),
                        (-R - 0.2, (sy + tip[1]) / 2 + 0.05, 0.0), tip], 6)
    rad = np.linspace(rng.uniform(0.09, 0.13), rng.uniform(0.03, 0.05), len(path))
    parts.append(detail(tube(path, rad, 14, caps=False)))
    if rng.random() < 0.5:   # arched handle over the lid
        hh = rng.uniform(0.25, 0.45)
        span = rng.uniform(0.3, 0.45)
        p2, _ = fillet_path([(-span, h * 0.9), (-span * 0.9, h + hh), (span * 0.9, h + hh),
                             (span, h * 0.9)], [0, 0.15, 0.15, 0], 8)
        parts.append(tube(np.column_stack([p2, np.zeros(len(p2))]), 0.035, 12, aspect=1.4))
        for sx in (-1, 1):
            post = tube([(sx * span, h * 0.8, 0), (sx * span, h * 0.95, 0)], 0.04, 10)
            parts.append(detail(post))
    else:   # side handle
        p2, _ = fillet_path([(R * 0.75, h * 0.85), (R + 0.35, h * 0.9), (R + 0.3, h * 0.25),
                             (R * 0.95, h * 0.2)], [0, 0.15, 0.12, 0], 8)
        grip = tube(np.column_stack([p2, np.zeros(len(p2))]), 0.04, 12, aspect=1.5)
        parts.append(detail(grip))
    mesh = merge(*parts)
    return Design(mesh, ground(mesh), ("Tea kettle", "Kettle", "Stovetop kettle", "Water kettle"))

