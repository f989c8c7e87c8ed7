"""Floor, ceiling and stories in a levelled frame (z up): peaks of the height histogram of
up-facing and down-facing surfaces.

A floor is the lowest height where at least ``min_floor_m2`` of up-facing surface lies within a
few centimetres (table tops and seats are higher and smaller), covering a tenth of the walls'
extent at least, with little vertical surface going on below (else the floor is out of view and
that was a seat, a bed or a table); another story is a further floor
peak at least ``story_gap_m`` above, under its own ceiling. A ceiling is the highest down-facing
peak of at least a tenth of its floor's area; scans that stop below the ceiling (ScanNet stops
at about 1.4 m) have none, and the walls then end at the top of what was seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .points import Surfels

BIN_M = 0.01


@dataclass(frozen=True)
class Level:
    """One story: ``floor_z`` (m), ``ceiling_z`` (m, ``None`` when no ceiling was seen),
    ``top_z`` the highest surface seen on this story (m) and the floor area seen (m²)."""

    floor_z: float
    ceiling_z: float | None
    top_z: float
    floor_area_m2: float

    @property
    def height_m(self) -> float:
        """Floor to ceiling, or to the top of what was seen."""
        return (self.ceiling_z if self.ceiling_z is not None else self.top_z) - self.floor_z


def _peaks(z: np.ndarray, w: np.ndarray, min_m2: float) -> list[tuple[float, float]]:
    """(height, area within ±3 cm) of local maxima of the area-weighted height histogram, low to high."""
    if len(z) == 0:
        return []
    lo = np.floor(z.min() / BIN_M) * BIN_M
    idx = ((z - lo) / BIN_M).astype(int)
    hist = np.bincount(idx, w)
    window = np.convolve(hist, np.ones(7), "same")  # area within ±3 bins
    out = []
    for i in np.flatnonzero(window >= min_m2):
        a, b = max(i - 5, 0), min(i + 6, len(window))
        if window[i] == window[a:b].max() and (not out or (lo + i * BIN_M) - out[-1][0] > 0.1):
            sel = np.abs(idx - i) <= 3
            out.append((float(np.average(z[sel], weights=w[sel])), float(window[i])))
    return out


def find_levels(s: Surfels, min_floor_m2: float = 0.5, story_gap_m: float = 2.0) -> list[Level]:
    """The stories of ``s`` (levelled, z up), lowest first; empty when no floor is in view."""
    up = s.normals[:, 2] > 0.9
    down = s.normals[:, 2] < -0.9
    floors = _peaks(s.xyz[up, 2], s.area_m2[up], min_floor_m2)
    if not floors:
        return []
    biggest = max(a for _, a in floors)
    floors = [(z, a) for z, a in floors if a >= 0.25 * biggest]
    vertical = np.abs(s.normals[:, 2]) < 0.3
    rel = s.xyz[:, 2] - floors[0][0]
    below = s.area_m2[vertical & (rel > -0.35) & (rel < -0.05)].sum()
    above = s.area_m2[vertical & (rel > 0.05) & (rel < 0.35)].sum()
    xy = s.xyz[vertical & (rel > 0), :2]
    span = np.ptp(xy, axis=0).prod() if len(xy) else 0.0
    if below > 0.15 * above or floors[0][1] < 0.1 * span:
        return []  # walls go on below it, or it covers a sliver of the room: a seat or a bed, not a floor
    stories: list[tuple[float, float]] = [floors[0]]
    for z, a in floors[1:]:
        if z - stories[-1][0] >= story_gap_m:
            stories.append((z, a))
    ceilings = _peaks(s.xyz[down, 2], s.area_m2[down], 0.25)
    levels = []
    for k, (fz, area) in enumerate(stories):
        upper = stories[k + 1][0] if k + 1 < len(stories) else np.inf
        on = (s.xyz[:, 2] > fz) & (s.xyz[:, 2] < upper - 0.05)
        top = float(np.percentile(s.xyz[on, 2], 99.5)) if on.any() else fz
        mine = [(z, a) for z, a in ceilings if fz + 1.8 < z < upper + 0.05 and a >= 0.1 * area]
        ceiling = mine[-1][0] if mine else None
        levels.append(Level(fz, ceiling, max(top, ceiling or top), area))
    return levels
