"""Furniture: chairs, stools and benches, tables, cabinets (y up, front towards +z)."""
from __future__ import annotations

import numpy as np

from ._design import Design, detail, ground, lathe, pick, turned
from ._mesh import box, loft, merge, rounded_box, rrect, superellipse, torus, tube


def _leg(rng, style, length, w, taper):
    """A vertical leg standing on y = 0: square, tapered square, round or turned."""
    if style == "square":
        return rounded_box(w, length, w, corner=w * 0.15 * rng.integers(0, 2))
    if style == "tapered":
        ring_top, crease = rrect(w, w, 0, 2)
        return loft([ring_top * taper, ring_top], [0.0, length], crease_i=crease)
    if style == "round":
        return lathe([(0, 0), (w / 2 * taper, 0), (w / 2, length), (0, length)], [0, 0, 0, 0], 20)
    ys = np.linspace(0, length, 7)   # turned leg: beads and a swelling
    rs = w / 2 * np.array([taper, 0.9, 1.1, 0.8, 1.0, 0.75, 1.05])
    return lathe([(0, 0)] + list(zip(rs, ys)) + [(0, length)], [0] * 9, 20)


def _legs(rng, positions, height, w, splay, style, taper):
    """Legs at (x, z) positions hanging from ``height``, splayed outward by ``splay`` deg."""
    out = []
    for x, z in positions:
        leg = _leg(rng, style, height, w, taper).moved(x, 0, z)
        top = (x, height, z)
        if splay:
            leg = turned(leg, "z", np.sign(x) * splay, top)
            leg = turned(leg, "x", -np.sign(z) * splay, top)
        out.append(leg)
    return out


def chair(rng) -> Design:
    w, d = rng.uniform(0.42, 0.56), rng.uniform(0.4, 0.52)
    sh, st = rng.uniform(0.42, 0.48), rng.uniform(0.03, 0.08)
    lw = rng.uniform(0.03, 0.05)
    style = pick(rng, ["square", "tapered", "round", "turned"])
    splay = rng.uniform(0, 6) if rng.random() < 0.5 else 0.0
    seat = rounded_box(w, st, d, corner=rng.uniform(0, 0.06), edge=rng.uniform(0, 0.015),
                       bottom=sh - st)
    ix, iz = w / 2 - lw * 0.8, d / 2 - lw * 0.8
    parts = [seat] + _legs(rng, [(ix, iz), (-ix, iz)], sh - st, lw, splay, style,
                           rng.uniform(0.6, 1.0))
    bh = rng.uniform(0.35, 0.5)
    tilt = rng.uniform(3, 14)
    back_style = pick(rng, ["panel", "slats", "rails", "frame"])
    post = lw * rng.uniform(0.8, 1.0)
    pivot = (0, sh, -iz)
    for sx in (1, -1):   # rear legs run up into the back posts
        p = box(post, sh + bh, post, (sx * ix, (sh + bh) / 2, -iz))
        parts.append(turned(p, "x", -tilt * 0.5, pivot))
    back = []
    if back_style == "panel":
        back.append(rounded_box(w * 0.98, bh * rng.uniform(0.5, 0.9), rng.uniform(0.02, 0.04),
                                corner=0.01, edge=0.005, bottom=sh + bh * 0.08)
                    .moved(z=-iz - post * 0.8))
    elif back_style == "slats":
        n = int(rng.integers(3, 7))
        sw = (2 * ix - post) / n * rng.uniform(0.35, 0.7)
        for k in range(n):
            x = -ix + post / 2 + (k + 0.5) * (2 * ix - post) / n
            back.append(box(sw, bh * 0.8, 0.015, (x, sh + bh * 0.5, -iz)))
        back.append(box(2 * ix, bh * 0.15, post * 0.9, (0, sh + bh * 0.93, -iz)))
    else:
        n = 2 if back_style == "frame" else int(rng.integers(2, 5))
        for k in range(n):
            y = sh + bh * (0.95 - k * (0.7 / max(n - 1, 1)))
            rh = bh * (0.18 if k == 0 else 0.07)
            back.append(box(2 * ix, rh, post * 0.7, (0, y - rh / 2, -iz)))
    parts += [turned(b, "x", -tilt * 0.5, pivot) for b in back]
    titles = ("Chair", "Dining chair", "Side chair")
    if rng.random() < 0.35:   # armrests on front posts
        ah = rng.uniform(0.18, 0.25)
        for sx in (1, -1):
            parts.append(box(post, ah, post, (sx * ix, sh + ah / 2, iz * 0.6)))
            parts.append(rounded_box(post * 1.6, 0.03, d * 0.95, corner=0.012)
                         .moved(sx * ix, sh + ah, -0.02))
        titles = ("Armchair", "Chair with armrests")
    if rng.random() < 0.4:   # stretchers between the legs
        y = rng.uniform(0.1, 0.2)
        for sx in (1, -1):
            parts.append(box(lw * 0.5, lw * 0.5, 2 * iz, (sx * ix, y, 0)))
        parts.append(box(2 * ix, lw * 0.5, lw * 0.5, (0, y, iz * rng.choice([1, -1]))))
    mesh = merge(*parts)
    return Design(mesh, ground(mesh, 0.15), titles)


def stool(rng) -> Design:
    bench = rng.random() < 0.3
    if bench:
        h = rng.uniform(0.4, 0.48)
        w, d = rng.uniform(0.9, 1.6), rng.uniform(0.3, 0.42)
        st = rng.uniform(0.04, 0.08)
        seat = rounded_box(w, st, d, corner=rng.uniform(0, 0.08), edge=rng.uniform(0, 0.02),
                           bottom=h - st)
        parts = [seat]
        if rng.random() < 0.5:   # slab ends
            for sx in (1, -1):
                parts.append(box(st, h - st, d * 0.85, (sx * (w / 2 - rng.uniform(0.05, 0.2)),
                                                        (h - st) / 2, 0)))
        else:
            lw = rng.uniform(0.035, 0.05)
            ix, iz = w / 2 - rng.uniform(0.05, 0.15), d / 2 - lw
            parts += _legs(rng, [(ix, iz), (-ix, iz), (ix, -iz), (-ix, -iz)], h - st, lw,
                           rng.uniform(0, 8), pick(rng, ["square", "tapered", "round"]),
                           rng.uniform(0.6, 1.0))
        mesh = merge(*parts)
        return Design(mesh, ground(mesh, 0.15), ("Bench", "Seating bench"))
    tall = rng.random() < 0.5
    h = rng.uniform(0.65, 0.8) if tall else rng.uniform(0.35, 0.5)
    r = rng.uniform(0.16, 0.22)
    st = rng.uniform(0.03, 0.07)
    if rng.random() < 0.65:
        dish = rng.uniform(0.0, 0.02)
        seat = lathe([(0, h - st), (r * 0.9, h - st), (r, h - st * 0.4), (r, h),
                      (r * 0.7, h + dish),
                      (0, h - dish)], [0, 0, st * 0.4, st * 0.3, 0.05, 0], 48)
    else:
        seat = rounded_box(2 * r, st, 2 * r, corner=rng.uniform(0.01, 0.1), edge=0.01,
                           bottom=h - st)
    n = int(rng.integers(3, 5))
    lw = rng.uniform(0.025, 0.04)
    splay = rng.uniform(4, 12)
    angles = np.radians(np.arange(n) * 360 / n + (45 if n == 4 else 0))
    parts = [seat]
    style = pick(rng, ["round", "square", "tapered"])
    rl = r * 0.75
    for a in angles:
        leg = _leg(rng, style, h - st, lw, 0.8).moved(rl * np.sin(a), 0, rl * np.cos(a))
        top = (rl * np.sin(a), h - st, rl * np.cos(a))
        parts.append(leg.transformed(_splay(a, splay), _splay_offset(a, splay, top)))
    if rng.random() < 0.6:   # footrest ring or rungs
        y = h * rng.uniform(0.25, 0.4)
        reach = rl + (h - st - y) * np.tan(np.radians(splay))
        if rng.random() < 0.5:
            parts.append(torus(reach, lw * 0.4, 40, 10).moved(y=y))
        else:
            for k in range(n):
                a0, a1 = angles[k], angles[(k + 1) % n]
                p0 = (reach * np.sin(a0), y, reach * np.cos(a0))
                p1 = (reach * np.sin(a1), y, reach * np.cos(a1))
                parts.append(tube([p0, p1], lw * 0.35, 8))
    mesh = merge(*parts)
    titles = ("Bar stool", "Counter stool") if tall else ("Stool", "Footstool", "Seat")
    return Design(mesh, ground(mesh, 0.15), titles)


def _splay(angle, degrees):
    """Rotation tilting a leg outward along the horizontal direction ``angle``."""
    axis = np.array([-np.cos(angle), 0.0, np.sin(angle)])
    t = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def _splay_offset(angle, degrees, pivot):
    r = _splay(angle, degrees)
    p = np.asarray(pivot, float)
    return p - r @ p


def table(rng) -> Design:
    kind = pick(rng, ["dining", "coffee", "side"])
    h = {"dining": (0.72, 0.77), "coffee": (0.35, 0.46), "side": (0.5, 0.62)}[kind]
    h = rng.uniform(*h)
    shape = pick(rng, ["rect", "round", "oval", "rrect"])
    w = rng.uniform(1.2, 2.0) if kind == "dining" else rng.uniform(0.5, 1.2)
    d = w * (1.0 if shape == "round" else rng.uniform(0.45, 0.8))
    tt = rng.uniform(0.025, 0.06)
    e = rng.uniform(0, tt * 0.45)
    if shape in ("round", "oval"):
        ring = superellipse(w / 2, d / 2, 2.0 if rng.random() < 0.7 else 2.6, 64)
        crease = None
    else:
        ring, crease = rrect(w, d, 0 if shape == "rect" else rng.uniform(0.03, 0.2), 5)
    scale = [1 - 2 * e / w, 1, 1, 1 - 2 * e / w] if e > 0 else [1, 1]
    ys = [h - tt, h - tt + e, h - e, h] if e > 0 else [h - tt, h]
    parts = [loft([ring * s for s in scale], ys, crease_i=crease,
                  crease_j=[True] * len(ys))]
    base = pick(rng, ["legs", "legs", "pedestal", "trestle"])
    lw = rng.uniform(0.035, 0.07)
    if base == "legs":
        inset = rng.uniform(0.04, 0.15)
        if shape in ("round", "oval"):
            pos = [(s * w / 2 * 0.6, t * d / 2 * 0.6) for s in (1, -1) for t in (1, -1)]
        else:
            pos = [(s * (w / 2 - inset), t * (d / 2 - inset)) for s in (1, -1) for t in (1, -1)]
        parts += _legs(rng, pos, h - tt, lw, rng.uniform(0, 7) * (rng.random() < 0.4),
                       pick(rng, ["square", "tapered", "round", "turned"]), rng.uniform(0.5, 1))
        if rng.random() < 0.5:   # apron
            ah = rng.uniform(0.06, 0.12)
            ax, az = abs(pos[0][0]), abs(pos[0][1])
            for sz in (1, -1):
                parts.append(box(2 * ax, ah, 0.02, (0, h - tt - ah / 2, sz * az)))
            for sx in (1, -1):
                parts.append(box(0.02, ah, 2 * az, (sx * ax, h - tt - ah / 2, 0)))
        if kind != "dining" and rng.random() < 0.4:   # lower shelf
            ax, az = abs(pos[0][0]), abs(pos[0][1])
            parts.append(box(2 * ax + lw, 0.025, 2 * az + lw, (0, h * 0.25, 0)))
    elif base == "pedestal":
        rc = rng.uniform(0.04, 0.1)
        rb = rng.uniform(0.25, 0.45) * min(w, d)
        parts.append(lathe([(0, 0), (rb, 0), (rb, 0.03), (rc * 1.3, 0.08), (rc, h * 0.5),
                            (rc * rng.uniform(1.0, 1.6), h - tt), (0, h - tt)],
                           [0, 0, 0.02, 0.05, 0.1, 0, 0], 48))
    else:
        for sx in (1, -1):
            x = sx * (w / 2 - rng.uniform(0.1, 0.25))
            parts.append(box(lw, h - tt - 0.04, d * 0.15, (x, (h - tt) / 2 + 0.02, 0)))
            parts.append(rounded_box(lw * 1.5, 0.04, d * 0.8, corner=0.015).moved(x=x))
            parts.append(box(lw * 1.2, 0.04, d * 0.7, (x, h - tt - 0.02, 0)))
        parts.append(box(w - 0.4, 0.06, 0.04, (0, h * 0.35, 0)))
    titles = {"dining": ("Table", "Dining table", "Kitchen table"),
              "coffee": ("Coffee table", "Cocktail table", "Table"),
              "side": ("Side table", "End table", "Table")}[kind]
    mesh = merge(*parts)
    return Design(mesh, ground(mesh, 0.12), titles)


def cabinet(rng) -> Design:
    kind = pick(rng, ["sideboard", "tall", "chest", "night"])
    w, h, d = {"sideboard": (rng.uniform(1.3, 2.0), rng.uniform(0.6, 0.85), 0.45),
               "tall": (rng.uniform(0.6, 1.0), rng.uniform(1.5, 2.0), 0.45),
               "chest": (rng.uniform(0.7, 1.1), rng.uniform(0.8, 1.2), 0.5),
               "night": (rng.uniform(0.4, 0.55), rng.uniform(0.5, 0.65), 0.4)}[kind]
    d *= rng.uniform(0.85, 1.15)
    lift = rng.uniform(0.08, 0.2) if rng.random() < 0.6 else rng.uniform(0.0, 0.06)
    legs = lift > 0.07
    body_h = h - lift
    over = rng.uniform(0.0, 0.03)
    parts = [box(w, body_h, d, (0, lift + body_h / 2, 0), skip=("+y",) if over > 0.005 else ())]
    if over > 0.005:
        parts.append(rounded_box(w + 2 * over, 0.03, d + over, edge=0.006)
                     .moved(y=h - 0.005, z=over / 2))
    if legs:
        lw = rng.uniform(0.03, 0.05)
        pos = [(s * (w / 2 - lw), t * (d / 2 - lw)) for s in (1, -1) for t in (1, -1)]
        parts += _legs(rng, pos, lift, lw, rng.uniform(0, 10),
                       pick(rng, ["tapered", "round", "square"]), rng.uniform(0.5, 0.9))
    elif lift > 0.01:
        parts.append(box(w - 0.06, lift, d - 0.06, (0, lift / 2, -0.01)))
    # front: columns of doors or drawer stacks
    ncol = 1 if kind in ("tall", "night", "chest") else int(rng.integers(2, 5))
    gap, fz = 0.008, d / 2 + 0.009   # fronts stand proud of the carcass
    colw = (w - 0.04) / ncol
    handle = pick(rng, ["bar", "knob", "none", "slot"])
    all_drawers = kind == "chest" or (kind == "night" and rng.random() < 0.5)
    for c in range(ncol):
        x0 = -w / 2 + 0.02 + c * colw
        nd = int(rng.integers(2, 6)) if all_drawers else pick(rng, [1, 1, 2, 3])
        if kind == "tall" and not all_drawers:
            nd = pick(rng, [1, 2])
        ys = lift + 0.02 + np.linspace(0, body_h - 0.04, nd + 1)
        for k in range(nd):
            fw, fh = colw - gap, ys[k + 1] - ys[k] - gap
            cx, cy = x0 + colw / 2, (ys[k] + ys[k + 1]) / 2
            parts.append(detail(box(fw, fh, 0.018, (cx, cy, fz), cell=1.0)))
            drawer = nd > 1 and fh < 0.45
            if handle == "bar":
                hl = min(fw * 0.5, 0.2) if drawer else min(fh * 0.4, 0.25)
                path = [(cx - hl / 2, cy, fz + 0.01), (cx - hl / 2, cy, fz + 0.04),
                        (cx + hl / 2, cy, fz + 0.04), (cx + hl / 2, cy, fz + 0.01)]
                if not drawer:
                    side = 1 if c % 2 else -1
                    hx = cx - side * (fw / 2 - 0.05)
                    path = [(hx, cy - hl / 2, fz + 0.01), (hx, cy - hl / 2, fz + 0.04),
                            (hx, cy + hl / 2, fz + 0.04), (hx, cy + hl / 2, fz + 0.01)]
                parts.append(detail(tube(path, 0.007, 8, caps=False)))
            elif handle == "knob":
                kx = cx if drawer else cx - (1 if c % 2 else -1) * (fw / 2 - 0.05)
                parts.append(detail(lathe([(0, 0), (0.01, 0), (0.012, 0.02), (0.02, 0.035),
                                           (0, 0.04)], [0, 0, 0.005, 0.01, 0], 16)
                                    .rotated("x", 90).moved(kx, cy, fz + 0.009)))
            elif handle == "slot":
                parts.append(detail(box(min(fw * 0.4, 0.15), 0.012, 0.004,
                                        (cx, ys[k + 1] - 0.03, fz + 0.01), cell=1.0)))
    titles = {"sideboard": ("Sideboard", "Cabinet", "Credenza"),
              "tall": ("Cabinet", "Storage cabinet", "Wardrobe"),
              "chest": ("Chest of drawers", "Dresser", "Cabinet"),
              "night": ("Nightstand", "Bedside cabinet", "Cabinet")}[kind]
    if all_drawers and kind == "night":
        titles = ("Nightstand", "Bedside table with drawers")
    mesh = merge(*parts)
    return Design(mesh, ground(mesh, 0.12), titles)

