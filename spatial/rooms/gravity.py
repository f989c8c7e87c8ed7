"""Which way is up, and which way the walls run: the rotation from the input's frame to a
levelled, Manhattan-aligned working frame.

* Up, when the input does not say (a bare mesh without ``--up``, or a map from tracking without
  an IMU): the dominant surface orientations are found from the area-weighted normals; the one
  closest to the cameras' average up vector (−y of OpenCV cameras, held roughly upright) wins
  when there are cameras, else the one along which the geometry is thinnest (rooms are wider
  than they are tall), its sign given by the up-facing furniture tops (seats, tables, beds) that
  outnumber down-facing surfaces. The answer is refined by the floor's plane fit.
* Manhattan yaw: the peak of the horizontal normals' angles modulo 90°, so that most walls run
  along the working frame's x and y axes (walls at other angles are kept as they are later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scene.shapes import fit_plane
from .points import Surfels


@dataclass(frozen=True)
class UpEstimate:
    """``up`` unit vector in the input frame; ``source`` how it was found; ``confident`` whether
    the evidence was clear (a warning is due otherwise)."""

    up: np.ndarray
    source: str
    confident: bool = True


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation (3x3) taking unit vector ``a`` onto unit vector ``b``."""
    a, b = np.asarray(a, float) / np.linalg.norm(a), np.asarray(b, float) / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1 + 1e-12:  # opposite: turn half way round any axis perpendicular to a
        p = np.eye(3)[np.argmin(np.abs(a))]
        v = np.cross(a, p)
        v /= np.linalg.norm(v)
        return 2 * np.outer(v, v) - np.eye(3)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + K + K @ K / (1 + c)


def _sphere(k: int = 2000) -> np.ndarray:
    """``k`` nearly uniform unit directions (a Fibonacci sphere, ≈4.5° apart for 2000)."""
    i = np.arange(k) + 0.5
    phi, z = np.pi * (1 + 5**0.5) * i, 1 - 2 * i / k
    r = np.sqrt(1 - z * z)
    return np.stack([np.cos(phi) * r, np.sin(phi) * r, z], 1)


def dominant_directions(s: Surfels, min_fraction: float = 0.04, cone_deg: float = 10.0) -> list[np.ndarray]:
    """Unit normal directions (signed) each carrying at least ``min_fraction`` of the area, found
    greedily on a histogram over the sphere: the densest direction (area within ``cone_deg``),
    then the densest one farther than twice that from those kept."""
    from scipy.spatial import cKDTree

    ok = np.linalg.norm(s.normals, axis=1) > 0.5
    n, w = s.normals[ok], s.area_m2[ok]
    total = float(w.sum())
    if total <= 0:
        return []
    dirs = _sphere()
    _, bin_of = cKDTree(dirs).query(n)
    hist = np.bincount(bin_of, w, len(dirs))
    near = (dirs @ dirs.T) > np.cos(np.radians(cone_deg))
    density = near.astype(float) @ hist
    out: list[np.ndarray] = []
    alive = np.ones(len(dirs), bool)
    for _ in range(8):
        best = int(np.argmax(np.where(alive, density, -1.0)))
        if not alive[best] or density[best] < min_fraction * total:
            break
        members = n @ dirs[best] > np.cos(np.radians(cone_deg))
        d = (n[members] * w[members, None]).sum(0)
        d = d / np.linalg.norm(d) if np.linalg.norm(d) > 1e-12 else dirs[best]
        out.append(d)
        alive &= dirs @ d < np.cos(np.radians(2 * cone_deg))
    return out


def estimate_up(s: Surfels, camera_up: np.ndarray | None = None) -> UpEstimate:
    """Up in the frame of ``s``; ``camera_up`` is the cameras' mean up vector (unit) when known."""
    dirs = dominant_directions(s)
    if not dirs:
        return UpEstimate(np.array([0.0, 0.0, 1.0]), "default (no dominant surface orientation)", False)
    if camera_up is not None:
        cos = np.array([d @ camera_up for d in dirs])
        best = int(np.argmax(cos))
        if cos[best] > np.cos(np.radians(35)):
            return UpEstimate(dirs[best], "cameras' up and the surfaces")
    # axes: fold opposite directions together
    axes: list[np.ndarray] = []
    for d in dirs:
        if all(abs(d @ a) < np.cos(np.radians(20)) for a in axes):
            axes.append(d)
    spans = []
    for a in axes:
        h = s.xyz @ a
        lo, hi = _weighted_percentiles(h, s.area_m2, (2, 98))
        spans.append(hi - lo)
    order = np.argsort(spans)
    axis = axes[order[0]]
    confident = len(axes) >= 2 and spans[order[0]] < 0.85 * spans[order[1]]
    # sign: horizontal surfaces away from the extremes face up (tops) more than down (undersides)
    h = s.xyz @ axis
    lo, hi = _weighted_percentiles(h, s.area_m2, (2, 98))
    mid = (h > lo + 0.15 * (hi - lo)) & (h < hi - 0.15 * (hi - lo))
    c = s.normals @ axis
    balance = s.area_m2[mid & (c > 0.9)].sum() - s.area_m2[mid & (c < -0.9)].sum()
    if balance < 0:
        axis = -axis
    confident &= abs(balance) > 0.1 * max(s.area_m2[mid & (np.abs(c) > 0.9)].sum(), 1e-9)
    return UpEstimate(axis, "the geometry (thinnest extent, up-facing surfaces)", confident)


def refine_with_floor(s: Surfels, up: np.ndarray, max_deg: float = 5.0) -> np.ndarray:
    """``up`` replaced by the normal of the plane through the lowest large up-facing surface, when
    that lies within ``max_deg`` of it (a floor levels better than a few noisy normals)."""
    c = s.normals @ up
    h = s.xyz @ up
    cand = c > np.cos(np.radians(max_deg + 5))
    if s.area_m2[cand].sum() < 0.5:
        return up
    lo = _weighted_percentiles(h[cand], s.area_m2[cand], (5,))[0]
    band = cand & (h < lo + 0.05)
    if s.area_m2[band].sum() < 0.5 or np.count_nonzero(band) < 3:
        return up
    n, _ = fit_plane(s.xyz[band], s.area_m2[band])
    n = n if n @ up > 0 else -n
    return n if n @ up > np.cos(np.radians(max_deg)) else up


def manhattan_yaw(s: Surfels) -> float:
    """Yaw (radians, in (−π/4, π/4]) of the dominant wall directions in a z-up frame: rotating by
    its negative puts them along x and y. 0 when there are no vertical surfaces."""
    vertical = np.abs(s.normals[:, 2]) < 0.2
    n, w = s.normals[vertical, :2], s.area_m2[vertical]
    if w.sum() <= 0:
        return 0.0
    ang = np.mod(np.arctan2(n[:, 1], n[:, 0]), np.pi / 2)  # [0, 90°)
    bins = 180  # 0.5°
    hist = np.bincount(np.minimum((ang / (np.pi / 2) * bins).astype(int), bins - 1), w, bins)
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    smooth = np.convolve(np.r_[hist[-6:], hist, hist[:6]], kernel, "same")[6:-6]
    peak = int(np.argmax(smooth))
    # refine: circular mean of the angles within 3° of the peak, on the 4-fold circle
    centre = (peak + 0.5) / bins * np.pi / 2
    d = np.angle(np.exp(4j * (ang - centre))) / 4
    near = np.abs(d) < np.radians(3)
    yaw = centre + float(np.average(d[near], weights=w[near])) if near.any() else centre
    return float(np.angle(np.exp(4j * yaw)) / 4)


def _weighted_percentiles(x: np.ndarray, w: np.ndarray, qs) -> list[float]:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    if len(cw) == 0 or cw[-1] <= 0:
        return [0.0 for _ in qs]
    return [float(x[order][min(np.searchsorted(cw, q / 100 * cw[-1]), len(x) - 1)]) for q in qs]
