"""Wall faces: vertical planar surfaces that bound a room, told apart from the clutter in front of
them.

In a levelled frame (z up), vertical surfels are grouped by the direction of their normal (peaks
of the angle histogram, any angle: walls that are not at 90° keep theirs) and, per direction, by
their offset along it (peaks of the offset histogram); each plane is refined by a weighted line
fit and cut into pieces along its length where it has gaps. A piece is a wall face when it is tall
enough and it is the *outermost* surface facing that way: behind it (away from the room) no other
surface faces the same way before a surface facing back, which is the other side of a wall. That
test is what keeps cupboards, headboards, whiteboards on stands, television panels and open door
leaves out of the walls: each has a wall facing the same way behind it (seen above, beside or
through it), whereas the back of a partition faces the other room.

Face conventions: ``normal`` (2D, unit) points into the room; the face is the line
``normal · p = offset``; ``direction`` = (normal_y, −normal_x) so that the room is on the left
when walking from ``t0`` to ``t1`` (positions ``p(t) = offset·normal + t·direction``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..scene.shapes import fit_line
from .levels import Level
from .points import Surfels


@dataclass(frozen=True)
class WallFace:
    """One side of a wall seen from a room: the line ``normal · p = offset`` (metres, 2D, levelled
    frame) between ``t0`` and ``t1`` along ``direction``, seen between heights ``z0`` and ``z1``,
    ``area_m2`` of surface from the surfels ``members``."""

    normal: np.ndarray
    offset: float
    t0: float
    t1: float
    z0: float
    z1: float
    area_m2: float
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    @property
    def direction(self) -> np.ndarray:
        return np.array([self.normal[1], -self.normal[0]])

    @property
    def length_m(self) -> float:
        return self.t1 - self.t0

    def point(self, t: float) -> np.ndarray:
        return self.offset * self.normal + t * self.direction

    @property
    def endpoints(self) -> tuple[np.ndarray, np.ndarray]:
        return self.point(self.t0), self.point(self.t1)

    @property
    def angle(self) -> float:
        """Angle of the normal, radians."""
        return float(np.arctan2(self.normal[1], self.normal[0]))


@dataclass(frozen=True)
class WallSettings:
    """Thresholds of wall finding (metres, m², degrees); the defaults suit 1-2 cm reconstructions."""

    min_direction_m2: float = 0.3  # surface needed for a normal direction to be considered
    direction_tolerance_deg: float = 10.0
    min_plane_m2: float = 0.15  # surface needed for a plane along one direction
    plane_tolerance_m: float = 0.035  # half-width of a plane's inlier slab
    piece_gap_m: float = 0.3  # a gap this long splits a plane into pieces
    min_length_m: float = 0.3
    min_height_fraction: float = 0.5  # of the story's height (floor to ceiling or top seen)
    max_height_needed_m: float = 1.2  # ... but never more than this
    behind_max_m: float = 3.0  # how far behind a piece to look for what it stands in front of


def _vertical(s: Surfels, level: Level) -> np.ndarray:
    z = s.xyz[:, 2]
    return (np.abs(s.normals[:, 2]) < 0.3) & (z > level.floor_z + 0.03) & (z < level.top_z + 0.05)


def _angle_peaks(angles: np.ndarray, w: np.ndarray, min_m2: float) -> list[float]:
    """Peaks (radians) of the circular area-weighted histogram of ``angles`` at 1°."""
    bins = 360
    idx = np.mod(np.round(np.degrees(angles)).astype(int), bins)
    hist = np.bincount(idx, w, bins)
    window = sum(np.roll(hist, k) for k in range(-5, 6))  # area within ±5°
    smooth = sum(np.roll(hist, k) * np.exp(-0.5 * (k / 1.5) ** 2) for k in range(-4, 5))
    peaks = []
    for i in np.flatnonzero(window >= min_m2):
        if smooth[i] >= max(smooth[(i + k) % bins] for k in range(-6, 7)):
            sel = np.abs(np.angle(np.exp(1j * (angles - np.radians(i))))) <= np.radians(4)
            peaks.append(float(np.angle(np.average(np.exp(1j * angles[sel]), weights=w[sel]))))
    return peaks


def _offset_peaks(rho: np.ndarray, w: np.ndarray, min_m2: float, bin_m: float = 0.01) -> list[float]:
    lo = rho.min()
    idx = ((rho - lo) / bin_m).astype(int)
    hist = np.bincount(idx, w)
    window = np.convolve(hist, np.ones(5), "same")
    peaks = []
    for i in np.flatnonzero(window >= min_m2):
        a, b = max(i - 4, 0), min(i + 5, len(window))
        if window[i] == window[a:b].max() and (not peaks or lo + i * bin_m - peaks[-1] > 0.05):
            peaks.append(float(lo + (i + 0.5) * bin_m))
    return peaks


def _pieces(t: np.ndarray, gap_m: float, bin_m: float = 0.05) -> list[tuple[float, float]]:
    """Runs of occupied ``bin_m`` bins of ``t`` with gaps shorter than ``gap_m``."""
    lo = np.floor(t.min() / bin_m)
    occ = np.unique(np.floor(t / bin_m) - lo)
    runs, start, prev = [], occ[0], occ[0]
    for b in occ[1:]:
        if (b - prev - 1) * bin_m > gap_m:
            runs.append((start, prev))
            start = b
        prev = b
    runs.append((start, prev))
    return [((a + lo) * bin_m, (b + lo + 1) * bin_m) for a, b in runs]


def plane_pieces(s: Surfels, level: Level, cfg: WallSettings = WallSettings()) -> list[WallFace]:
    """Every vertical planar piece of ``s`` on ``level`` (levelled frame), before the wall test."""
    vert = np.flatnonzero(_vertical(s, level))
    if len(vert) == 0:
        return []
    n2 = s.normals[vert, :2]
    n2 = n2 / np.maximum(np.linalg.norm(n2, axis=1, keepdims=True), 1e-9)
    ang = np.arctan2(n2[:, 1], n2[:, 0])
    w = s.area_m2[vert]
    xy = s.xyz[vert, :2]
    z = s.xyz[vert, 2]
    tol = np.radians(cfg.direction_tolerance_deg)
    height_needed = min(cfg.max_height_needed_m, cfg.min_height_fraction * level.height_m)
    out: list[WallFace] = []
    for phi in _angle_peaks(ang, w, cfg.min_direction_m2):
        near = np.abs(np.angle(np.exp(1j * (ang - phi)))) <= tol
        normal = np.array([np.cos(phi), np.sin(phi)])
        rho = xy[near] @ normal
        for r0 in _offset_peaks(rho, w[near], cfg.min_plane_m2):
            n, off = normal, r0
            for _ in range(3):
                inl = near & (np.abs(xy @ n - off) <= cfg.plane_tolerance_m) & (n2 @ n > np.cos(tol))
                if w[inl].sum() < cfg.min_plane_m2 or inl.sum() < 10:
                    break
                n, off = fit_line(xy[inl], w[inl], normal)
            else:
                direction = np.array([n[1], -n[0]])
                t = xy[inl] @ direction
                idx = vert[inl]
                for t0, t1 in _pieces(t, cfg.piece_gap_m):
                    sel = (t >= t0) & (t <= t1)
                    zz = z[inl][sel]
                    if t1 - t0 < cfg.min_length_m or w[inl][sel].sum() < 0.05:
                        continue
                    z0, z1 = np.percentile(zz, [1, 99])
                    if z1 - z0 < height_needed:
                        continue
                    out.append(WallFace(n, off, float(t0), float(t1), float(z0), float(z1),
                                        float(w[inl][sel].sum()), idx[sel]))
    return _dedupe(out)


def _dedupe(faces: list[WallFace]) -> list[WallFace]:
    """Drop pieces sharing most of their surfels with a larger one (neighbouring direction peaks)."""
    faces = sorted(faces, key=lambda f: -f.area_m2)
    kept: list[WallFace] = []
    taken: set[int] = set()
    for f in faces:
        members = set(f.members.tolist())
        if len(members & taken) > 0.5 * len(members):
            continue
        kept.append(f)
        taken |= members
    return kept


def blocked_columns(face: WallFace, s: Surfels, vertical: np.ndarray, cfg: WallSettings = WallSettings(),
                    bin_m: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """For each ``bin_m`` column of ``face`` its own surfels occupy: (column starts along the face,
    whether the nearest vertical surface behind the face there faces the same way — the wall this
    piece stands in front of — rather than back, the other side of a wall, or there is none)."""
    xy = s.xyz[vertical, :2]
    n2 = s.normals[vertical, :2]
    n2 = n2 / np.maximum(np.linalg.norm(n2, axis=1, keepdims=True), 1e-9)
    t = xy @ face.direction
    depth = face.offset - xy @ face.normal  # > 0 behind the face
    inside = (t > face.t0) & (t < face.t1) & (depth > 2.5 * cfg.plane_tolerance_m) & (depth < cfg.behind_max_m)
    facing = n2[inside] @ face.normal
    same = facing > np.cos(np.radians(25))
    back = facing < -np.cos(np.radians(25))
    col = np.floor((t[inside] - face.t0) / bin_m).astype(int)
    ncol = max(int(np.ceil(face.length_m / bin_m)), 1)
    area, d = s.area_m2[vertical][inside], depth[inside]
    own = np.floor((s.xyz[face.members, :2] @ face.direction - face.t0) / bin_m).astype(int)
    covered = np.unique(np.clip(own, 0, ncol - 1))
    blocked = np.zeros(len(covered), bool)
    for k, c in enumerate(covered):
        in_col = col == c
        s_depth = _nearest(d[in_col & same], area[in_col & same])
        b_depth = _nearest(d[in_col & back], area[in_col & back])
        blocked[k] = s_depth is not None and (b_depth is None or s_depth < b_depth)
    return face.t0 + covered * bin_m, blocked


def _nearest(depth: np.ndarray, area: np.ndarray, min_m2: float = 0.004) -> float | None:
    """The smallest depth with at least ``min_m2`` of surface within 5 cm beyond it."""
    if area.sum() < min_m2:
        return None
    order = np.argsort(depth)
    d, a = depth[order], area[order]
    cum = np.cumsum(a)
    for i in range(len(d)):
        j = np.searchsorted(d, d[i] + 0.05, side="right")
        if cum[j - 1] - (cum[i - 1] if i else 0.0) >= min_m2:
            return float(d[i])
    return None


def wall_faces(s: Surfels, level: Level, cfg: WallSettings = WallSettings()) -> tuple[list[WallFace], list[WallFace]]:
    """(wall faces, clutter) of ``level``: each plane piece is cut into runs of columns where it is
    the outermost surface (wall faces, when at least ``min_length_m`` long) and runs where it
    stands in front of another surface facing the same way (clutter)."""
    vertical = _vertical(s, level)
    walls, clutter = [], []
    bin_m = 0.1
    for f in plane_pieces(s, level, cfg):
        starts, blocked = blocked_columns(f, s, vertical, cfg, bin_m)
        t_members = s.xyz[f.members, :2] @ f.direction
        for kind, a, b in _runs(starts, blocked, bin_m):
            t0, t1 = max(a, f.t0), min(b, f.t1)
            keep = (t_members >= t0) & (t_members <= t1)
            if t1 - t0 < (cfg.min_length_m if kind else 0.1) or not keep.any():
                continue
            piece = replace(f, t0=float(t0), t1=float(t1), members=f.members[keep],
                            area_m2=float(s.area_m2[f.members[keep]].sum()))
            (walls if kind else clutter).append(piece)
    return walls, clutter


def _runs(starts: np.ndarray, blocked: np.ndarray, bin_m: float) -> list[tuple[bool, float, float]]:
    """Maximal runs of columns with the same status: (outermost, t start, t end); a single column
    of the other status inside a run, or a gap of up to 2 columns, does not break it."""
    if len(starts) == 0:
        return []
    status = ~blocked
    # absorb isolated columns whose neighbours agree with each other
    for k in range(1, len(status) - 1):
        if status[k - 1] == status[k + 1] != status[k]:
            status[k] = status[k - 1]
    runs, k0 = [], 0
    for k in range(1, len(status) + 1):
        if k == len(status) or status[k] != status[k0] or starts[k] - starts[k - 1] > 3 * bin_m:
            runs.append((bool(status[k0]), float(starts[k0]), float(starts[k - 1] + bin_m)))
            k0 = k
    return runs
