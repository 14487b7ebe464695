"""Wheels, faucets, fans and toy vehicles (y up, front towards +z)."""
from __future__ import annotations

import numpy as np

from ._design import Design, detail, ground, lathe, pick, turned
from ._mesh import (ENV, GLASS, extrude, fillet_path, loft, merge, revolve, ring_copies,
                    rounded_box, superellipse, torus, tube)


def wheel(rng) -> Design:
    R, W = 1.0, rng.uniform(0.35, 0.6)
    fl, t = rng.uniform(0.04, 0.08), 0.04
    drop = rng.uniform(0.0, 0.08)
    rim = revolve([(R + fl, -W / 2), (R + fl, -W / 2 + 0.03), (R, -W / 2 + 0.07),
                   (R - drop, -W * 0.1), (R - drop, W * 0.1), (R, W / 2 - 0.07),
                   (R + fl, W / 2 - 0.03), (R + fl, W / 2), (R - t, W / 2), (R - t, -W / 2)],
                  56, crease=[True] * 10, loop=True)
    zf = W / 2 - rng.uniform(0.02, 0.12)           # outer face of the spokes
    ts = rng.uniform(0.06, 0.12)                   # spoke thickness
    rh = rng.uniform(0.18, 0.3)
    hub = lathe([(0, zf - ts), (rh, zf - ts), (rh, zf), (rh * 0.55, zf + 0.03), (0, zf + 0.03)],
                [0, 0, rng.uniform(0, 0.04), 0, 0], 48)
    parts = [rim, hub]
    n = int(rng.integers(3, 11))
    style = pick(rng, ["bar", "split", "tapered", "dish"])
    r_in = R - t + 0.01
    if style == "dish":
        parts.append(revolve([(rh * 0.9, zf - ts * 0.5), (r_in, zf - ts * 1.5),
                              (r_in, zf - ts * 0.5), (rh * 0.9, zf + 0.01)], 56,
                             crease=[True] * 4, loop=True))
        rr = (rh + r_in) / 2
        y = np.interp(rr, [rh * 0.9, r_in], [zf + 0.01, zf - ts * 0.5])
        vent = torus(0.09 * (r_in - rh), 0.012, 24, 6).moved(y=y, z=rr)
        parts.append(detail(ring_copies(vent, n, phase=180.0 / n)))
    else:
        w_in = rng.uniform(0.08, 0.16)
        w_out = w_in * (rng.uniform(0.6, 1.6) if style == "tapered" else 1.0)
        outline = np.array([(-w_in / 2, rh * 0.8), (w_in / 2, rh * 0.8), (w_out / 2, r_in),
                            (-w_out / 2, r_in)])
        legs = [(0.0, outline)] if style != "split" else [
            (d, outline * (0.55, 1) + (d * w_in * 0.6, 0)) for d in (-1, 1)]
        bevel = rng.uniform(0, 0.3) * min(w_in, w_out) * 0.5
        spoke = merge(*[extrude(ol, ts, bevel=bevel * 0.5) for _, ol in legs])   # in x-y
        spokes = ring_copies(spoke.moved(z=zf - ts / 2), n, "z")
        parts.append(spokes.rotated("x", -90))               # back into the lathe frame
    bolt = lathe([(0, 0), (0.035, 0), (0.035, 0.02), (0.02, 0.03), (0, 0.03)],
                 [0, 0, 0.005, 0, 0], 12).moved(z=0.65 * rh)
    parts.append(detail(ring_copies(bolt, pick(rng, [4, 5, 5, 6]))).moved(y=zf + 0.005))
    mesh = merge(*parts).rotated("x", 90)            # axis along z, face towards the viewer
    env = None
    if rng.random() < 0.6:   # tire in broken lines
        th = rng.uniform(0.25, 0.45)
        tire = revolve(fillet_path([(R + fl * 0.3, -W / 2 - 0.04), (R + th, -W / 2 - 0.06),
                                    (R + th, W / 2 + 0.06), (R + fl * 0.3, W / 2 + 0.04)],
                                   [0, 0.12, 0.12, 0], 6)[0], 56, flags=ENV)
        env = tire.rotated("x", 90)
    return Design(mesh, env, ("Vehicle wheel", "Wheel", "Automobile wheel", "Wheel rim"))


def faucet(rng) -> Design:
    rb, hb = rng.uniform(0.12, 0.22), rng.uniform(0.02, 0.06)
    if rng.random() < 0.6:
        base = lathe([(0, 0), (rb, 0), (rb, hb), (0, hb)], [0, 0, hb * 0.5, 0], 48)
    else:
        base = rounded_box(2 * rb, hb, 1.2 * rb, corner=rng.uniform(0.01, 0.08), edge=0.01)
    rc = rng.uniform(0.05, 0.09)
    hc = rng.uniform(0.25, 0.6)
    taper = rng.uniform(0.75, 1.1)
    body = lathe([(0, hb), (rc, hb), (rc * taper, hc), (0, hc)], [0, 0, 0.02, 0], 40)
    parts = [base, body]
    style = pick(rng, ["gooseneck", "straight", "angular"])
    rs = rng.uniform(0.025, 0.045)
    if style == "gooseneck":
        rise, reach = rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.55)
        drop = rng.uniform(0.12, 0.3)
        p2, _ = fillet_path([(0, hc - 0.05), (0, hc + rise), (reach, hc + rise),
                             (reach, hc + rise - drop)],
                            [0, reach * 0.45, min(reach, drop) * 0.5, 0], 10)
    elif style == "straight":
        y0, reach = hc * rng.uniform(0.6, 0.85), rng.uniform(0.3, 0.5)
        p2, _ = fillet_path([(0, y0), (reach, y0 + rng.uniform(-0.02, 0.08)),
                             (reach + 0.04, y0 - 0.06)], [0, 0.04, 0], 6)
    else:
        y0, reach = hc, rng.uniform(0.3, 0.5)
        p2, _ = fillet_path([(0, y0 - 0.05), (0, y0 + 0.1), (reach, y0 + 0.1),
                             (reach, y0 - 0.02)], [0, 0.03, 0.03, 0], 4)
    path = np.column_stack([np.zeros(len(p2)), p2[:, 1], p2[:, 0]])
    square = style == "angular"
    parts.append(tube(path, rs * (1.25 if square else 1.0), 4 if square else 14,
                      crease=square, up=(1, 0, 0)))
    tip, tan = path[-1], path[-1] - path[-2]
    tan /= np.linalg.norm(tan)
    if tan[1] < -0.7:   # aerator on a downward tip
        parts.append(lathe([(0, 0), (rs * 1.1, 0), (rs * 1.1, 0.05), (0, 0.05)], [0] * 4, 20)
                     .moved(*(tip - (0, 0.04, 0))))
    handle = pick(rng, ["lever", "side", "cross"])
    if handle == "lever":
        ll = rng.uniform(0.15, 0.3)
        lever = rounded_box(0.035, 0.03, ll, corner=0.012, edge=0.008)
        tilt = rng.uniform(0, 25)
        parts.append(turned(lever.moved(z=-ll / 2), "x", -tilt).moved(y=hc + 0.01))
        parts.append(lathe([(0, hc - 0.02), (rc * 0.8, hc - 0.02), (rc * 0.8, hc + 0.03),
                            (0, hc + 0.04)], [0, 0, 0.01, 0], 24))
    elif handle == "side":
        knob = lathe([(0, 0), (0.03, 0), (0.035, 0.08), (0.05, 0.1), (0.05, 0.14), (0, 0.15)],
                     [0, 0, 0.01, 0.02, 0.02, 0], 20)
        parts.append(turned(knob, "z", -90).moved(x=rc * taper * 0.8, y=hc * 0.7))
    else:
        for sx in (1, -1):   # widespread valves with cross handles
            x = sx * rng.uniform(0.3, 0.4)
            parts.append(lathe([(0, 0), (0.05, 0), (0.05, 0.02), (0.035, 0.04), (0.03, 0.12),
                                (0, 0.12)], [0, 0, 0.01, 0, 0.01, 0], 24).moved(x=x))
            for a in range(4):
                arm = tube([(0, 0.11, 0), (0.09, 0.13, 0)], 0.012, 8)
                parts.append(turned(arm, "y", 90 * a + 45).moved(x=x))
    mesh = merge(*parts)
    titles = ("Faucet", "Kitchen faucet", "Lavatory faucet", "Bathroom faucet")
    env = None
    if rng.random() < 0.6:   # the sink deck in broken lines
        lo, hi = mesh.bounds()
        env = rounded_box(hi[0] - lo[0] + 0.6, 0.05, hi[2] - lo[2] + 0.5, corner=0.08,
                          flags=ENV).moved(x=(hi[0] + lo[0]) / 2, y=-0.05,
                                           z=(hi[2] + lo[2]) / 2)
    return Design(mesh, env, titles)


def fan(rng) -> Design:
    if rng.random() < 0.3:
        return _tower_fan(rng)
    R = rng.uniform(0.35, 0.55)
    gd = rng.uniform(0.12, 0.25)
    yc = R + rng.uniform(0.25, 0.6)
    parts = []
    nw = int(rng.integers(10, 22))
    bulge = rng.uniform(0.03, 0.1)
    for side in (1, -1):
        ring = torus(R * (1.0 if side > 0 else 0.95), 0.012, 48, 6).rotated("x", 90)
        parts.append(ring.moved(z=side * gd / 2))
        rb = R * 0.18
        rr = np.linspace(rb, R, 7)
        z = side * (gd / 2 + bulge * (1 - ((rr - rb) / (R - rb)) ** 2))
        wire = tube(np.column_stack([np.zeros_like(rr), rr, z]), 0.007, 5, caps=False)
        parts.append(ring_copies(wire, nw, "z"))
        badge = lathe([(0, 0), (rb, 0), (rb, 0.02), (0, 0.03)], [0, 0, 0.01, 0], 32)
        parts.append(badge.rotated("x", 90 * side).moved(z=side * (gd / 2 + bulge)))
    nb = int(rng.integers(3, 6))
    blade = superellipse(R * 0.22, R * 0.42, 2.2, 20) + (0, R * 0.45)
    for k in range(nb):
        b = extrude(blade, 0.01)
        b = turned(b, "y", rng.uniform(20, 35), (0, R * 0.45, 0))
        parts.append(turned(b, "z", 360 * k / nb))
    parts.append(lathe([(0, -0.02), (R * 0.16, 0), (R * 0.16, 0.05), (0, 0.06)],
                       [0, 0, 0.02, 0], 32).rotated("x", 90))
    motor = lathe([(0, 0), (R * 0.3, 0), (R * 0.32, R * 0.3), (R * 0.2, R * 0.55), (0, R * 0.6)],
                  [0, R * 0.05, R * 0.2, R * 0.1, 0], 40)
    parts.append(motor.rotated("x", -90).moved(z=-gd / 2))
    fan_head = merge(*parts).moved(y=yc)
    rb_, hb_ = rng.uniform(0.25, 0.4), rng.uniform(0.04, 0.1)
    stand = [lathe([(0, 0), (rb_, 0), (rb_, hb_), (rb_ * 0.4, hb_ * 1.5), (0, hb_ * 1.5)],
                   [0, 0.01, hb_ * 0.5, 0.03, 0], 40).moved(z=-gd / 2 - R * 0.3),
             tube([(0, hb_, -gd / 2 - R * 0.3), (0, yc - R * 0.2, -gd / 2 - R * 0.3)],
                  rng.uniform(0.02, 0.04), 16)]
    mesh = merge(fan_head, *stand)
    return Design(mesh, ground(mesh, 0.1), ("Electric fan", "Desk fan", "Fan"))


def _tower_fan(rng) -> Design:
    h = rng.uniform(1.4, 2.4)
    a, b = rng.uniform(0.15, 0.25), rng.uniform(0.13, 0.2)
    p = rng.uniform(2.2, 4.0)
    ys = np.linspace(0.08, h, 6)
    sc = 1 - rng.uniform(0, 0.15) * np.sin(np.linspace(0, np.pi, 6))
    rings = [superellipse(a * s, b * s, p, 40) for s in sc]
    body = loft(rings, ys)
    base = lathe([(0, 0), (a * 1.6, 0), (a * 1.6, 0.05), (a * 1.2, 0.08), (0, 0.08)],
                 [0, 0.01, 0.02, 0.02, 0], 48)
    gh = (h - 0.08) * rng.uniform(0.6, 0.8)
    g0 = 0.08 + (h - 0.08 - gh) * 0.4
    gw = a * rng.uniform(0.8, 1.2)
    grille = [rounded_box(gw, gh, 0.01, corner=gw * 0.3, n=4).moved(y=g0, z=b)]
    n = int(rng.integers(8, 20))
    for k in range(n):
        y = g0 + gh * (k + 0.5) / n
        grille.append(rounded_box(gw * 0.8, gh / n * 0.3, 0.012, corner=0.004, n=3)
                      .moved(y=y, z=b + 0.006))
    parts = [base, body, detail(*grille)]
    for k in range(int(rng.integers(2, 5))):   # buttons on top
        parts.append(detail(lathe([(0, 0), (0.02, 0), (0.02, 0.01), (0, 0.012)], [0] * 4, 16)
                            .moved(x=(k - 1.5) * 0.05, y=h - 0.01)))
    mesh = merge(*parts)
    return Design(mesh, ground(mesh, 0.2), ("Tower fan", "Fan", "Electric fan"))


def toy_vehicle(rng) -> Design:
    kind = pick(rng, ["car", "car", "truck", "bus"])
    L = 1.0
    W = rng.uniform(0.38, 0.5)
    rw = rng.uniform(0.09, 0.14)
    y0 = rw * rng.uniform(0.5, 0.9)
    belt = y0 + rng.uniform(0.12, 0.2)
    roof = belt + rng.uniform(0.12, 0.22)
    if kind == "car":
        hood, trunk = rng.uniform(0.18, 0.3), rng.uniform(0.1, 0.25)
        ws = rng.uniform(0.08, 0.18)
        body = [(-L / 2, y0), (L / 2, y0), (L / 2, belt - 0.03), (L / 2 - hood, belt),
                (L / 2 - hood - ws, roof), (-L / 2 + trunk + ws * 0.7, roof),
                (-L / 2 + trunk, belt), (-L / 2, belt - 0.02)]
        cabin = [(L / 2 - hood - 0.02, belt + 0.01), (L / 2 - hood - ws + 0.02, roof - 0.02),
                 (-L / 2 + trunk + ws * 0.7 - 0.01, roof - 0.02), (-L / 2 + trunk + 0.04,
                                                                   belt + 0.01)]
        titles = ("Toy car", "Toy vehicle", "Toy automobile")
    elif kind == "truck":
        cab = rng.uniform(0.28, 0.4)
        body = [(-L / 2, y0), (L / 2, y0), (L / 2, belt), (L / 2 - 0.06, roof),
                (L / 2 - cab, roof), (L / 2 - cab, belt), (-L / 2, belt)]
        cabin = [(L / 2 - 0.07, belt + 0.01), (L / 2 - 0.1, roof - 0.03),
                 (L / 2 - cab + 0.03, roof - 0.03), (L / 2 - cab + 0.03, belt + 0.01)]
        titles = ("Toy truck", "Toy vehicle", "Toy pickup truck")
    else:
        roof = belt + rng.uniform(0.18, 0.28)
        body = [(-L / 2, y0), (L / 2, y0), (L / 2, roof - 0.05), (L / 2 - 0.05, roof),
                (-L / 2, roof)]
        cabin = [(L / 2 - 0.08, belt), (L / 2 - 0.08, roof - 0.04), (-L / 2 + 0.06, roof - 0.04),
                 (-L / 2 + 0.06, belt)]
        titles = ("Toy bus", "Toy vehicle", "Toy coach")
    rad = rng.uniform(0.01, 0.05)
    outline, crease = fillet_path(body, rad, 4, closed=True)
    parts = [extrude(outline, W, bevel=rng.uniform(0.005, 0.03), crease=crease)]
    win, wcrease = fillet_path(cabin, 0.015, 3, closed=True)
    for sz in (1, -1):   # side windows: thin panes on the body sides
        pane = extrude(win, 0.004, crease=wcrease, flags=GLASS)
        parts.append(detail(pane.moved(z=sz * (W / 2 + 0.002))))
    wb = L / 2 - rng.uniform(0.15, 0.25)
    axles = [wb, -wb] + ([-wb + 2.4 * rw] if kind == "truck" and rng.random() < 0.5 else [])
    tire_w = rng.uniform(0.07, 0.12)
    for x in axles:
        for sz in (1, -1):
            tire = lathe([(rw * 0.6, -tire_w / 2), (rw, -tire_w / 2), (rw, tire_w / 2),
                          (rw * 0.6, tire_w / 2)], [0, rw * 0.3, rw * 0.3, 0], 24)
            hub = lathe([(0, -tire_w / 2 + 0.005), (rw * 0.6, -tire_w / 2 + 0.005),
                         (rw * 0.6, tire_w / 2 - 0.005), (rw * 0.3, tire_w / 2),
                         (0, tire_w / 2)], [0, 0, 0, 0, 0], 24)
            wheel = merge(tire, hub).rotated("x", 90 * sz)
            parts.append(detail(wheel.moved(x, rw, sz * (W / 2 - tire_w * 0.25))))
    for sz in (1, -1):   # headlights
        parts.append(detail(lathe([(0, 0), (0.03, 0), (0.03, 0.01), (0, 0.012)], [0] * 4, 16)
                            .rotated("z", -90).moved(L / 2 - 0.005, (y0 + belt) / 2,
                                                     sz * W * 0.3)))
    mesh = turned(merge(*parts), "y", -90)   # the vehicle's front faces +z
    return Design(mesh, ground(mesh, 0.15), titles)
