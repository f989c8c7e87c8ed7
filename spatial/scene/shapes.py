"""Shared geometric helpers (DESIGN.md rule 11: one helper per geometric operation): planes,
polygons and gravity-aligned boxes, numpy only. Units are metres; 2D helpers work in a z-up
world's x–y plane."""

from __future__ import annotations

import numpy as np


def fit_plane(points: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Least-squares plane ``n · p + offset = 0`` through (N, 3) ``points``: (unit normal, offset)."""
    p = np.asarray(points, float)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, float)
    c = np.average(p, axis=0, weights=w)
    _, _, vt = np.linalg.svd((p - c) * np.sqrt(w)[:, None], full_matrices=False)
    n = vt[-1]
    return n, -float(n @ c)


def fit_line(xy: np.ndarray, weights: np.ndarray | None = None, like: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Weighted total-least-squares line ``n · p = offset`` through (N, 2) ``xy``: (unit normal,
    offset), the normal turned to agree with ``like`` when given."""
    p = np.asarray(xy, float)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, float)
    c = np.average(p, axis=0, weights=w)
    d = p - c
    _, vecs = np.linalg.eigh((d * w[:, None]).T @ d)
    n = vecs[:, 0]
    if like is not None and n @ like < 0:
        n = -n
    return n, float(n @ c)


def signed_area(poly) -> float:
    """Area of a simple polygon (K, 2), positive when counter-clockwise."""
    p = np.asarray(poly, float).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(x @ np.roll(y, -1) - y @ np.roll(x, -1))


def polygon_area(poly) -> float:
    """Absolute area of a simple polygon (K, 2), shoelace formula."""
    p = np.asarray(poly, float).reshape(-1, 2)
    return abs(signed_area(p)) if len(p) >= 3 else 0.0


def points_in_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule: whether each point of ``xy`` (N, 2) lies inside ``poly`` (K, 2)."""
    xy, poly = np.asarray(xy, float).reshape(-1, 2), np.asarray(poly, float).reshape(-1, 2)
    a, b = poly, np.roll(poly, -1, axis=0)
    x, y = xy[:, :1], xy[:, 1:]
    straddles = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return (np.count_nonzero(straddles & (x < x_cross), axis=1) % 2) == 1


def box_point_distance(points: np.ndarray, T_world_box: np.ndarray, dims_m) -> np.ndarray:
    """Euclidean distance (metres) of each of (N, 3) ``points`` to the solid box of size
    ``dims_m`` (along its local x, y, z) at ``T_world_box``; 0 inside."""
    T = np.asarray(T_world_box, float)
    local = (np.asarray(points, float) - T[:3, 3]) @ T[:3, :3]
    excess = np.maximum(np.abs(local) - np.asarray(dims_m, float) / 2, 0.0)
    return np.linalg.norm(excess, axis=1)


def box_footprint(T_world_box: np.ndarray, dims_m) -> np.ndarray:
    """(4, 2) counter-clockwise xy corners of a gravity-aligned box (local z along world z)."""
    T = np.asarray(T_world_box, float)
    if abs(T[2, 2]) < np.cos(np.radians(1.0)):
        raise ValueError("box_footprint needs a box whose local z is vertical")
    hx, hy = float(dims_m[0]) / 2, float(dims_m[1]) / 2
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    xy = local @ T[:2, :2].T + T[:2, 3]
    return xy if signed_area(xy) > 0 else xy[::-1]


def convex_clip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection (L, 2) of two convex polygons (Sutherland–Hodgman; any winding)."""
    out = np.asarray(a, float)
    clip = np.asarray(b, float)
    if signed_area(clip) < 0:
        clip = clip[::-1]
    for p, q in zip(clip, np.roll(clip, -1, axis=0)):
        if len(out) == 0:
            break
        edge = q - p
        side = edge[0] * (out[:, 1] - p[1]) - edge[1] * (out[:, 0] - p[0])  # ≥ 0: inside (left)
        nxt = []
        for k in range(len(out)):
            cur, prev = out[k], out[k - 1]
            s_cur, s_prev = side[k], side[k - 1]
            if (s_cur >= 0) != (s_prev >= 0):
                nxt.append(prev + (cur - prev) * (s_prev / (s_prev - s_cur)))
            if s_cur >= 0:
                nxt.append(cur)
        out = np.array(nxt).reshape(-1, 2)
    return out


def box_iou_3d(Ta: np.ndarray, dims_a, Tb: np.ndarray, dims_b) -> float:
    """IoU of two gravity-aligned oriented boxes: footprint intersection × height overlap over the
    union of their volumes (0 when either has no volume)."""
    va, vb = float(np.prod(dims_a)), float(np.prod(dims_b))
    if va <= 0 or vb <= 0:
        return 0.0
    inter2 = polygon_area(convex_clip(box_footprint(Ta, dims_a), box_footprint(Tb, dims_b)))
    za = (Ta[2, 3] - dims_a[2] / 2, Ta[2, 3] + dims_a[2] / 2)
    zb = (Tb[2, 3] - dims_b[2] / 2, Tb[2, 3] + dims_b[2] / 2)
    inter = inter2 * max(min(za[1], zb[1]) - max(za[0], zb[0]), 0.0)
    return inter / (va + vb - inter)
