"""Devices and lights: tablets, speakers, watches, flashlights, lamps (y up, front +z)."""
from __future__ import annotations

import numpy as np

from ._design import Design, detail, ground, lathe, pick, turned
from ._mesh import (ENV, GLASS, box, catmull_rom, fillet_path, loft, merge, revolve,
                    ring_copies, rounded_box, torus, tube)


def _facing_front(mesh):
    """A part built along +y (lathe, rounded box) turned to face +z."""
    return mesh.rotated("x", 90)


def tablet(rng) -> Design:
    aspect = rng.uniform(1.3, 1.65)
    long = rng.uniform(1.0, 1.4)
    w, h = (long, long / aspect) if rng.random() < 0.5 else (long / aspect, long)
    t = rng.uniform(0.025, 0.05)
    rc = rng.uniform(0.02, 0.12)
    body = _facing_front(rounded_box(w, t, h, corner=rc, edge=rng.uniform(0.0, t * 0.45)))
    body = body.moved(z=-t)
    b = rng.uniform(0.025, 0.09)
    chin = b * rng.uniform(1.0, 1.8) if rng.random() < 0.4 else b
    sw, sh = w - 2 * b, h - b - chin
    screen = _facing_front(rounded_box(sw, 0.004, sh, corner=max(rc - b, 0.004), n=4,
                                       flags=GLASS)).moved(y=(chin - b) / 2)
    parts = [body, detail(screen)]
    top = h / 2 - b / 2
    if rng.random() < 0.8:   # front camera
        parts.append(detail(_facing_front(lathe([(0, 0), (0.012, 0), (0.012, 0.004),
                                                  (0, 0.004)], [0, 0, 0, 0], 16))
                            .moved(y=top)))
    if chin > b * 1.3 and rng.random() < 0.7:   # home button
        parts.append(detail(_facing_front(lathe([(0, 0), (chin * 0.3, 0), (chin * 0.3, 0.003),
                                                  (0, 0.002)], [0, 0, 0, 0], 24))
                            .moved(y=-h / 2 + chin / 2)))
    for k in range(int(rng.integers(1, 4))):   # side buttons on the top edge
        bl = rng.uniform(0.05, 0.12)
        parts.append(detail(rounded_box(bl, 0.008, t * 0.4, corner=0.004)
                            .moved(x=w / 2 - 0.15 - k * (bl + 0.04), y=h / 2 - 0.004,
                                   z=-t / 2)))
    if rng.random() < 0.7:   # rear camera bump
        cb = rng.uniform(0.06, 0.16)
        parts.append(detail(rounded_box(cb, 0.008, cb, corner=cb * rng.uniform(0.1, 0.5))
                            .rotated("x", -90).moved(x=-w / 2 + cb, y=h / 2 - cb, z=-t)))
    mesh = merge(*parts)
    return Design(mesh, None, ("Tablet computer", "Electronic tablet", "Portable computer",
                               "Tablet"))


def _driver(r, depth=0.03):
    """Loudspeaker cone with trim ring and dust cap, built facing +y on y = 0."""
    return lathe([(0, 0.0), (r * 1.12, 0.0), (r * 1.1, depth), (r, depth),
                  (r * 0.9, depth * 1.3), (r * 0.82, depth * 0.95), (r * 0.3, depth * 0.5),
                  (r * 0.28, depth * 0.75), (0, depth * 0.9)], 0, 40)


def speaker(rng) -> Design:
    kind = pick(rng, ["box", "box", "cylinder", "pill"])
    parts = []
    if kind == "box":
        w, h, d = rng.uniform(0.4, 0.7), rng.uniform(0.6, 1.2), rng.uniform(0.4, 0.7)
        rc = rng.uniform(0.0, 0.08)
        parts.append(rounded_box(w, h, d, corner=rc, edge=rng.uniform(0, 0.03), bottom=0.04))
        n = int(rng.integers(1, 4))
        rs = sorted(rng.uniform(0.08, w * 0.38, n), reverse=True)
        y = 0.04 + h * 0.1
        for k, r in enumerate(rs):
            y += r * 1.15
            if y + r > h:
                break
            parts.append(detail(_facing_front(_driver(r)).moved(y=y, z=d / 2)))
            y += r * 1.15
        if rng.random() < 0.5:   # bass port
            parts.append(detail(_facing_front(torus(0.04, 0.012, 24, 8)).moved(
                x=w * 0.25, y=0.04 + h * 0.08, z=d / 2)))
        for sx in (1, -1):   # feet
            for sz in (1, -1):
                parts.append(lathe([(0, 0), (0.04, 0), (0.04, 0.04), (0, 0.04)],
                                   [0, 0.01, 0, 0], 16).moved(sx * w * 0.35, 0, sz * d * 0.35))
        titles = ("Loudspeaker", "Speaker", "Speaker enclosure")
    elif kind == "cylinder":
        r, h = rng.uniform(0.25, 0.4), rng.uniform(0.6, 1.2)
        band = sorted(rng.uniform(0.1, 0.9, 2) * h)
        top_r = rng.uniform(0.02, 0.1)
        parts.append(lathe([(0, 0), (r * 0.9, 0), (r, 0.04), (r, band[0]),
                            (r - 0.01, band[0] + 0.01),
                            (r - 0.01, band[1] - 0.01), (r, band[1]), (r, h - top_r),
                            (r - top_r, h), (0, h)], [0, 0.03, 0, 0, 0, 0, 0, top_r, 0, 0], 48))
        ring = rng.uniform(0.4, 0.8) * r
        parts.append(detail(torus(ring, 0.012, 40, 8).moved(y=h)))
        for k in range(int(rng.integers(0, 5))):
            a = 2 * np.pi * k / 4
            parts.append(detail(lathe([(0, 0), (0.03, 0), (0.03, 0.01), (0, 0.01)], [0] * 4, 16)
                                .moved(0.5 * ring * np.sin(a), h, 0.5 * ring * np.cos(a))))
        titles = ("Smart speaker", "Speaker", "Wireless speaker")
    else:
        r, L = rng.uniform(0.2, 0.3), rng.uniform(0.9, 1.5)
        end = rng.uniform(0.05, r * 0.8)
        body = lathe([(0, 0), (r - end, 0), (r, end), (r, L - end), (r - end, L), (0, L)],
                     [0, end * 0.9, 0, 0, end * 0.9, 0], 48)
        parts.append(turned(body, "z", -90).moved(x=-L / 2, y=r))
        for sx in (1, -1):   # end caps as raised rings
            parts.append(detail(torus(r * 0.6, 0.015, 40, 8).rotated("z", 90)
                                .moved(x=sx * L / 2, y=r)))
        if rng.random() < 0.6:
            path = [(-L * 0.3, 2 * r - 0.02, 0), (-L * 0.25, 2 * r + 0.12, 0),
                    (L * 0.25, 2 * r + 0.12, 0), (L * 0.3, 2 * r - 0.02, 0)]
            p2, _ = fillet_path(np.array(path)[:, :2], [0, 0.08, 0.08, 0], 6)
            parts.append(tube(np.column_stack([p2, np.zeros(len(p2))]), 0.015, 8, aspect=2.0))
        titles = ("Portable speaker", "Wireless speaker", "Speaker")
    mesh = merge(*parts)
    return Design(mesh, ground(mesh), titles)


def watch(rng) -> Design:
    square = rng.random() < 0.35
    R = 0.5
    tc = rng.uniform(0.14, 0.26)
    parts = []
    if square:
        w, h = rng.uniform(0.8, 0.95), rng.uniform(0.95, 1.2)
        rc = rng.uniform(0.1, 0.3)
        parts.append(_facing_front(rounded_box(w, tc, h, corner=rc, edge=tc * 0.4)))
        b = rng.uniform(0.05, 0.1)
        parts.append(detail(_facing_front(rounded_box(w - 2 * b, 0.004, h - 2 * b,
                                                      corner=max(rc - b, 0.02), flags=GLASS))
                            .moved(z=tc)))
        half_h, lug_x = h / 2, w * 0.3
        titles = ("Smart watch", "Wristwatch", "Watch")
    else:
        bz = rng.uniform(0.0, 0.06)
        rd = R * rng.uniform(0.78, 0.9)
        z = tc * 0.85   # the dial, seen through the bezel opening
        prof = [(0, 0), (R * 0.8, 0), (R, tc * 0.3), (R, tc * 0.75), (R * 0.97, tc),
                (rd + 0.02, tc + bz), (rd, tc + bz), (rd, z)]
        parts.append(_facing_front(lathe(prof, [0, 0.05, 0.04, 0.02, 0.01, 0.005, 0, 0], 56)))
        dial = revolve([(rd * k / 3, z) for k in (3, 2, 1, 0)], 56, flags=GLASS)
        parts.append(_facing_front(dial))
        marks = pick(rng, [[(4, 0.16, 0.02)], [(12, 0.1, 0.012), (4, 0.16, 0.02)],
                           [(60, 0.05, 0.008), (12, 0.14, 0.016)]])
        for n, ln, wd in marks:   # hour and minute marks around the dial
            mark = box(wd, rd * ln, 0.012, (0, rd * (0.88 - ln / 2), z), cell=1.0)
            parts.append(detail(ring_copies(mark, n, "z")))
        for ang, ln, wd in ((rng.uniform(0, 360), rd * 0.55, 0.025),
                            (rng.uniform(0, 360), rd * 0.8, 0.015)):
            hand = _facing_front(rounded_box(wd, 0.005, ln, corner=wd * 0.45))
            a, r = np.radians(ang), ln * 0.4   # the hand's middle, off the centre
            parts.append(detail(turned(hand, "z", -ang).moved(r * np.sin(a), r * np.cos(a),
                                                               z + 0.008)))
        parts.append(detail(_facing_front(lathe([(0, 0), (0.03, 0), (0.03, 0.012), (0, 0.012)],
                                                [0] * 4, 16)).moved(z=z + 0.01)))
        half_h, lug_x = R * 0.88, R * 0.45
        titles = ("Watch", "Wristwatch", "Watch case")
    # crown at three o'clock: a ribbed knob along +x
    ribs = int(rng.integers(12, 24))
    t = np.linspace(0, 2 * np.pi, 2 * ribs, endpoint=False)
    rr = np.where(np.arange(2 * ribs) % 2 == 0, 0.06, 0.052)
    ring = np.column_stack([rr * np.sin(t), rr * np.cos(t)])
    crown = loft([ring, ring], [0, rng.uniform(0.06, 0.1)], crease_i=np.ones(2 * ribs, bool))
    x_edge = (w / 2 if square else R) - 0.02
    parts.append(turned(crown, "z", -90).moved(x=x_edge, z=tc * 0.5))
    ll, lw = rng.uniform(0.06, 0.14), rng.uniform(0.06, 0.12)
    for sy in (1, -1):
        for sx in (1, -1):
            lug = rounded_box(lw, tc * 0.55, ll + 0.1, corner=0.02, edge=0.01)
            parts.append(_facing_front(lug).moved(sx * lug_x, sy * (half_h + ll / 2 - 0.05), 0.0))
    env = None
    if rng.random() < 0.8:   # the strap, shown in broken lines
        sw = 2 * lug_x - lw
        straps = []
        for sy in (1, -1):
            y0 = half_h + ll - 0.05
            path = catmull_rom([(0, sy * y0, tc * 0.3), (0, sy * (y0 + 0.35), tc * 0.1),
                                (0, sy * (y0 + 0.6), -0.25), (0, sy * (y0 + 0.7), -0.6)], 6)
            straps.append(tube(path, 0.03, 8, aspect=sw / 0.06, up=(1, 0, 0), flags=ENV))
        env = merge(*straps)
    mesh = merge(*parts)
    return Design(mesh, env, titles)


def flashlight(rng) -> Design:
    L = rng.uniform(1.2, 2.0)
    r = rng.uniform(0.1, 0.15)
    head = r * rng.uniform(1.05, 1.8)
    yb = L * rng.uniform(0.55, 0.75)
    yh = yb + rng.uniform(0.1, 0.3) * (L - yb)
    pts, rad = [(0, 0), (r * 0.85, 0), (r, 0.06)], [0, 0.03, 0]
    for k in range(int(rng.integers(0, 6))):   # grip grooves
        y = 0.15 + k * 0.08
        if y + 0.05 > yb:
            break
        pts += [(r, y), (r * 0.93, y + 0.02), (r, y + 0.04)]
        rad += [0, 0, 0]
    pts += [(r, yb)]
    rad += [rng.uniform(0, 0.1)]
    pts += [(head, yh), (head, L - 0.05), (head * 1.03, L - 0.04), (head * 1.03, L),
            (head * 0.85, L), (head * 0.85, L - 0.03)]
    rad += [rng.uniform(0, 0.08), 0, 0, 0.01, 0, 0]
    body = lathe(pts, rad, 40)   # open at the front, where the lens sits in the bezel
    lens = revolve([(head * 0.85 * k / 3, L - 0.03) for k in (3, 2, 1, 0)], 40, flags=GLASS)
    parts = [body, lens]
    if rng.random() < 0.8:   # switch on the side
        bs = rng.uniform(0.03, 0.06)
        yb_ = rng.uniform(0.5, 0.9) * yb
        sw = lathe([(0, 0), (bs, 0), (bs, 0.02), (bs * 0.6, 0.035), (0, 0.035)],
                   [0, 0, 0.01, 0.01, 0], 20)
        parts.append(detail(turned(sw, "z", 90).moved(x=-(r - 0.012), y=yb_)))
    if rng.random() < 0.5:   # lanyard ring at the tail
        parts.append(torus(r * 0.4, 0.012, 24, 8).rotated("x", 90).moved(y=-r * 0.3))
    mesh = turned(merge(*parts), "z", -90).moved(x=-L / 2, y=head)
    return Design(mesh, ground(mesh, 0.15), ("Flashlight", "LED flashlight",
                                             "Portable flashlight", "Torch"))


def _shade(rng, rb, rt, hs, style):
    """Lampshade: thin ring-shaped wall from bottom radius ``rb`` to top radius ``rt``."""
    t = 0.012
    if style == "bell":
        outer = catmull_rom([(rb, 0), (rb * 0.75 + rt * 0.25 - 0.04, hs * 0.35), (rt, hs)], 6)
    else:
        outer = np.array([(rb, 0.0), (rt, hs)])
    inner = outer[::-1] - (t, 0)
    prof = np.concatenate([outer, inner])
    crease = np.zeros(len(prof), bool)
    crease[[0, len(outer) - 1, len(outer), len(prof) - 1]] = True
    return revolve(prof, 48, crease=crease, loop=True)


def lamp(rng) -> Design:
    kind = pick(rng, ["table", "table", "floor", "desk"])
    if kind == "desk":
        return _desk_lamp(rng)
    hs_total = rng.uniform(1.0, 1.4) if kind == "table" else rng.uniform(2.6, 3.4)
    rb = rng.uniform(0.18, 0.3) * (1.4 if kind == "floor" else 1.0)
    hb = rng.uniform(0.03, 0.12)
    base_style = pick(rng, ["disc", "dome", "square", "urn"])
    if base_style == "square":
        base = rounded_box(2 * rb, hb, 2 * rb, corner=rng.uniform(0, 0.05), edge=0.01)
    elif base_style == "urn" and kind == "table":
        hb = rng.uniform(0.3, 0.5)
        base = lathe(list(catmull_rom([(rb * 0.6, 0), (rb, hb * 0.4), (rb * 0.5, hb * 0.85),
                                       (0.05, hb)], 5)) + [(0, hb)], 0, 48)
        base = merge(base, lathe([(0, 0), (rb * 0.6, 0), (rb * 0.6, 0.001), (0, 0.001)],
                                 [0] * 4, 48))
    else:
        dome = rng.uniform(0.0, 0.1) if base_style == "dome" else 0.0
        base = lathe([(0, 0), (rb, 0), (rb, hb * 0.5), (rb * 0.5, hb + dome), (0, hb + dome)],
                     [0, 0.01, hb * 0.3, 0.04, 0], 48)
    rs = rng.uniform(0.015, 0.035) * (1.3 if kind == "floor" else 1.0)
    ys = hs_total * rng.uniform(0.55, 0.7)
    if rng.random() < 0.4 and kind == "table":   # turned column
        ys_ = np.linspace(hb, ys, 6)
        rr = rs * np.array([1.6, 2.4, 1.2, 2.0, 1.0, 1.2])
        stem = lathe([(0, hb)] + list(catmull_rom(np.column_stack([rr, ys_]), 4)) + [(0, ys)],
                     0, 32)
    else:
        stem = lathe([(0, hb), (rs, hb), (rs, ys), (0, ys)], [0, 0, 0, 0], 24)
    style = pick(rng, ["drum", "cone", "bell", "cone"])
    hsh = rng.uniform(0.3, 0.55) * (1.2 if kind == "floor" else 1.0)
    sb = rng.uniform(0.25, 0.45) * (1.3 if kind == "floor" else 1.0)
    st = sb * (1.0 if style == "drum" else rng.uniform(0.45, 0.8))
    y0 = ys - hsh * rng.uniform(0.3, 0.6)
    parts = [base, stem, _shade(rng, sb, st, hsh, style).moved(y=y0)]
    parts.append(lathe([(0, ys - 0.02), (0.05, ys), (0.06, ys + 0.08), (0.04, ys + 0.14),
                        (0, ys + 0.15)], [0, 0, 0.03, 0.02, 0], 24))   # bulb
    if rng.random() < 0.6:   # finial over the shade
        yf = y0 + hsh
        parts.append(lathe([(0, ys), (0.008, ys), (0.008, yf), (0.03, yf + 0.01),
                            (0.02, yf + 0.05), (0, yf + 0.06)], [0, 0, 0, 0.01, 0.01, 0], 20))
    titles = ("Table lamp", "Lamp", "Bedside lamp") if kind == "table" else \
        ("Floor lamp", "Standing lamp", "Lamp")
    mesh = merge(*parts)
    return Design(mesh, ground(mesh, 0.2), titles)


def _desk_lamp(rng) -> Design:
    rb, hb = rng.uniform(0.15, 0.25), rng.uniform(0.04, 0.1)
    if rng.random() < 0.5:
        base = lathe([(0, 0), (rb, 0), (rb, hb), (0, hb)], [0, 0.01, hb * 0.4, 0], 40)
    else:
        base = rounded_box(2 * rb, hb, 1.4 * rb, corner=0.04, edge=0.01)
    a1, a2 = rng.uniform(10, 35), rng.uniform(60, 110)
    l1, l2 = rng.uniform(0.45, 0.7), rng.uniform(0.4, 0.6)
    r = rng.uniform(0.015, 0.03)
    j0 = np.array([0.0, hb + 0.03, 0.0])
    j1 = j0 + l1 * np.array([np.sin(np.radians(a1)), np.cos(np.radians(a1)), 0])
    j2 = j1 + l2 * np.array([np.sin(np.radians(a2)), np.cos(np.radians(a2)), 0])
    parts = [base, tube([j0 - (0, 0.03, 0), j0, j1], r, 12), tube([j1, j2], r, 12)]
    for j in (j0, j1):   # hinges
        parts.append(lathe([(0, -0.03), (0.04, -0.03), (0.04, 0.03), (0, 0.03)], [0] * 4, 20)
                     .rotated("x", 90).moved(*j))
    hr, hh = rng.uniform(0.1, 0.18), rng.uniform(0.12, 0.25)
    head = _shade(rng, hr, hr * 0.45, hh, pick(rng, ["cone", "bell"]))
    tilt = rng.uniform(0, 30)
    rt = hr * 0.45
    cap = lathe([(0, hh), (rt + 0.01, hh), (rt * 0.7, hh + 0.04), (0, hh + 0.05)],
                [0, 0, 0.02, 0], 24)
    parts.append(turned(merge(head, cap).moved(y=-hh * 0.8), "z", tilt).moved(*j2))
    parts.append(lathe([(0, 0), (0.05, 0), (0.05, 0.06), (0, 0.08)], [0, 0, 0.02, 0], 20)
                 .moved(*j2))
    mesh = merge(*parts)
    return Design(mesh, ground(mesh, 0.2), ("Desk lamp", "Task lamp", "Lamp"))
