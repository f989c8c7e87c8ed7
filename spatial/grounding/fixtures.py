"""Things fixed flat on walls — whiteboards, pictures, screens, panels — found as regions of a
wall whose colour differs from the wall's paint.

Room understanding keeps surfaces within a few centimetres of a wall in the wall, so a
whiteboard is part of its wall there. Here each wall's points (within ``depth_m`` of its face,
outside its doors and windows and outside object boxes) are rasterised in the wall's plane; cells
whose CIELab colour is more than ``delta_e`` from the wall's median colour, 30 cm or more above
the floor, are grouped into connected regions (after cutting strips narrower than 25 cm), and
each region large and solid enough, and not running from the floor band to the wall's top
(a change of paint or light), becomes an uncategorised element
labelled "wall fixture", in the wall's frame (x along the wall, y its normal, z up), 2 cm deep.
"""

from __future__ import annotations

import numpy as np

from sensors.room import RoomDescription, RoomElement

from ..scene.shapes import box_point_distance
from .colors import lab

LABEL = "wall fixture"


def wall_fixtures(room: RoomDescription, xyz: np.ndarray, rgb: np.ndarray | None, gain: float, floor_z: float,
                  cell_m: float = 0.05, depth_m: float = 0.08, delta_e: float = 12.0,
                  min_area_m2: float = 0.2) -> list[RoomElement]:
    """The wall fixtures of ``room`` seen in world points ``xyz`` with colours ``rgb`` (see the
    module docstring); none without colours."""
    import cv2

    if rgb is None or not len(xyz):
        return []
    holes = [e for e in room.elements if e.category in ("door", "window", "opening") or e.is_object]
    blocked = np.zeros(len(xyz), bool)
    for e in holes:
        grow = np.asarray(e.dimensions_m) + (0.1 if not e.is_object else 0.04)
        blocked |= box_point_distance(xyz, e.T_world_element, grow) == 0
    out: list[RoomElement] = []
    for wall in sorted(room.of("wall"), key=lambda e: e.identifier):
        T, (w, d, h) = wall.T_world_element, wall.dimensions_m
        near = (box_point_distance(xyz, T, (w, d + 2 * depth_m, h)) == 0) & ~blocked
        if near.sum() < 200:
            continue
        local = (xyz[near] - T[:3, 3]) @ T[:3, :3]
        nu, nz = int(np.ceil(w / cell_m)), int(np.ceil(h / cell_m))
        iu = np.clip(((local[:, 0] + w / 2) / cell_m).astype(int), 0, nu - 1)
        iz = np.clip(((local[:, 2] + h / 2) / cell_m).astype(int), 0, nz - 1)
        colours = lab(rgb[near], gain)
        flat = iu * nz + iz
        count = np.bincount(flat, minlength=nu * nz)
        mean = np.stack([np.bincount(flat, colours[:, k], nu * nz) for k in range(3)], 1) / np.maximum(count, 1)[:, None]
        seen = count >= 2
        if seen.sum() < 20:
            continue
        paint = np.median(mean[seen], axis=0)
        odd = (seen & (np.linalg.norm(mean - paint, axis=1) > delta_e)).reshape(nu, nz).astype(np.uint8)
        z_cells = T[2, 3] - h / 2 + (np.arange(nz) + 0.5) * cell_m - floor_z
        odd[:, z_cells < 0.3] = 0  # floor level: skirting, furniture standing in front
        odd = cv2.morphologyEx(odd, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        odd = cv2.morphologyEx(odd, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))  # cut strips under 25 cm
        n, labels, stats, _ = cv2.connectedComponentsWithStats(odd, connectivity=4)
        for k in range(1, n):
            # odd is (u rows, z columns): cv2's left/width run along z, top/height along u
            z0, u0, zn, un, area = (int(v) for v in stats[k])
            if area * cell_m**2 < min_area_m2 or area < 0.5 * zn * un:
                continue
            ua, ub = u0 * cell_m - w / 2, (u0 + un) * cell_m - w / 2
            za, zb = z0 * cell_m - h / 2, (z0 + zn) * cell_m - h / 2
            lowest = T[2, 3] + za - floor_z  # the region's bottom above the floor
            if lowest <= 0.36 and zb >= h / 2 - 0.06:
                continue  # from the floor band to the wall's top: a change of paint or light, not a fixture
            members = labels.reshape(-1)[flat] == k
            offset = float(np.median(local[members, 1])) if members.any() else 0.0
            pose = T.copy()
            pose[:3, 3] = T[:3, :3] @ np.array([(ua + ub) / 2, offset, (za + zb) / 2]) + T[:3, 3]
            out.append(RoomElement(f"{wall.identifier}-fixture-{len(out) + 1}", "unknown", (ub - ua, 0.02, zb - za), pose,
                                   confidence="low", parent=wall.identifier, story=wall.story, label=LABEL))
    return out
