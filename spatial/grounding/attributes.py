"""Measured attributes of one room element, from its box and the reconstruction's points in it.

Everything is in the room's world frame (z up, metres). Points are the scene's coloured surface
samples (mesh vertices or cloud points); an object's points are those inside its box grown by
``margin_m`` and above the floor's contact band, so the floor and the wall behind do not colour
a chair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.room import RoomElement

from .colors import dominant_colors, mean_lightness

FOOTPRINT_SHAPES = ("round", "rectangular", "L-shaped", "irregular")


@dataclass(frozen=True)
class Attributes:
    """``colors``: colour names with their share of the element's surface, most common first;
    ``lightness``: median L* (0–100); ``size_m``: (width, depth, height); ``volume_m3``;
    ``bottom_m``/``top_m``: heights of its lowest and highest point above the floor;
    ``footprint_shape``: one of :data:`FOOTPRINT_SHAPES` (objects with enough points, else
    "rectangular" from the box); ``front_xy``: unit world x–y direction the object faces (its
    local −y, RoomPlan's front), ``None`` for surfaces; ``wood_tone``: a brown share ≥ 0.3 (the
    one material cue colour gives); ``points``: how many surface points were measured."""

    colors: tuple[tuple[str, float], ...]
    lightness: float
    size_m: tuple[float, float, float]
    volume_m3: float
    bottom_m: float
    top_m: float
    footprint_shape: str
    front_xy: tuple[float, float] | None
    wood_tone: bool
    points: int

    def to_dict(self) -> dict:
        return {
            "colors": [[n, s] for n, s in self.colors], "lightness": round(self.lightness, 1),
            "size_m": [round(v, 3) for v in self.size_m], "volume_m3": round(self.volume_m3, 4),
            "bottom_m": round(self.bottom_m, 3), "top_m": round(self.top_m, 3),
            "footprint_shape": self.footprint_shape,
            "front_xy": None if self.front_xy is None else [round(v, 3) for v in self.front_xy],
            "wood_tone": self.wood_tone, "points": self.points,
        }


def points_in_box(xyz: np.ndarray, element: RoomElement, margin_m: float = 0.03) -> np.ndarray:
    """Boolean mask of (N, 3) world points inside ``element``'s box grown by ``margin_m``."""
    T = element.T_world_element
    local = (xyz - T[:3, 3]) @ T[:3, :3]
    half = np.asarray(element.dimensions_m) / 2 + margin_m
    return np.all(np.abs(local) <= half, axis=1)


def footprint_shape(local_xy: np.ndarray, width_m: float, depth_m: float, cell_m: float = 0.04) -> str:
    """Shape of a top view from points in the object's own x–y frame (centred on the box).

    Occupancy on a grid of ``cell_m``: "round" when the cells outside the inscribed ellipse (the
    box's corners) stay nearly empty while the ellipse is well filled; "L-shaped" when one
    quadrant of the box is nearly empty and the other three are filled; "rectangular" when the
    box is evenly filled; else "irregular". Fewer than 40 occupied cells: "rectangular"."""
    nx, ny = max(int(np.ceil(width_m / cell_m)), 1), max(int(np.ceil(depth_m / cell_m)), 1)
    ix = np.clip(((local_xy[:, 0] / max(width_m, 1e-6) + 0.5) * nx).astype(int), 0, nx - 1)
    iy = np.clip(((local_xy[:, 1] / max(depth_m, 1e-6) + 0.5) * ny).astype(int), 0, ny - 1)
    occ = np.zeros((nx, ny), bool)
    occ[ix, iy] = True
    if occ.sum() < 40 or min(nx, ny) < 6:
        return "rectangular"
    u = (np.arange(nx) + 0.5) / nx * 2 - 1
    v = (np.arange(ny) + 0.5) / ny * 2 - 1
    r2 = u[:, None] ** 2 + v[None, :] ** 2
    inside, corners = r2 <= 0.8, r2 > 1.15
    fill_in, fill_corner = occ[inside].mean(), occ[corners].mean() if corners.any() else 1.0
    quads = [occ[: nx // 2, : ny // 2], occ[nx // 2:, : ny // 2], occ[: nx // 2, ny // 2:], occ[nx // 2:, ny // 2:]]
    q = sorted(float(a.mean()) for a in quads)
    if fill_in > 0.6 and fill_corner < 0.25 and min(nx, ny) / max(nx, ny) > 0.6:
        return "round"
    if q[0] < 0.2 and q[1] > 0.55:
        return "L-shaped"
    if occ.mean() > 0.6 and fill_corner > 0.45:
        return "rectangular"
    return "irregular"


def measure(element: RoomElement, xyz: np.ndarray, rgb: np.ndarray | None, floor_z: float, gain: float,
            exclude: np.ndarray | None = None) -> Attributes:
    """Attributes of ``element`` from world points ``xyz`` (N, 3) with colours ``rgb`` (N, 3)
    uint8 (or ``None``); ``floor_z`` the height of the floor under it; ``gain`` the scene's
    exposure gain (:func:`spatial.grounding.colors.exposure_gain`); ``exclude`` marks points
    that belong to structure (walls, floor) and must not colour an object."""
    w, d, h = element.dimensions_m
    T = element.T_world_element
    zc = float(T[2, 3])
    sel = points_in_box(xyz, element) if len(xyz) else np.zeros(0, bool)
    solid = element.is_object and d >= 0.05  # not a panel on a wall, which lies in the wall's points
    if solid:
        sel &= xyz[:, 2] > floor_z + 0.03
        if exclude is not None:
            sel &= ~exclude
    p = xyz[sel]
    colors = dominant_colors(rgb[sel], gain) if rgb is not None and sel.any() else []
    light = mean_lightness(rgb[sel], gain) if rgb is not None and sel.any() else 50.0
    bottom = (float(p[:, 2].min()) if len(p) >= 20 and solid else zc - h / 2) - floor_z
    top = (float(p[:, 2].max()) if len(p) >= 20 and solid else zc + h / 2) - floor_z
    shape, front = "rectangular", None
    if solid:
        local = (p - T[:3, 3]) @ T[:3, :3]
        upper = local[local[:, 2] >= np.percentile(local[:, 2], 40)] if len(local) else local
        shape = footprint_shape(upper[:, :2], w, d)
        f = -T[:2, 1]
        front = (float(f[0]), float(f[1])) if np.linalg.norm(f) > 1e-6 else None
    brown = dict(colors).get("brown", 0.0)
    return Attributes(tuple(colors), light, (w, d, h), float(w * d * h), bottom, top, shape, front,
                      bool(brown >= 0.3), int(sel.sum()))
