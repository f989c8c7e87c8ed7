"""Shape features of an object instance, measured in its box frame (metres), for the classifiers.

They describe what a category looks like to a depth sensor and survive partial views: the box
size; where its horizontal surfaces are (area of up-facing surface per height band, relative to
the footprint: a seat at 0.45 m, a table top at 0.75 m, a counter at 0.9 m, a bed's mattress at
0.5 m); how much of it is vertical; how high its main top is; whether it stands against a wall;
how much of the footprint is filled (a round table fills less of its box than a bed). Colour
enters only as two shares of dark surface, on the front (an oven's door glass, a washing
machine's porthole) and on the top (a hob's burners), dark meaning less than 45 % of the
lightness of the room's walls, so that exposure and lighting cancel out: hue and texture say
little across the simulator and real rooms; both are 0 for inputs without colour.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .points import Surfels, cielab

HEIGHT_BANDS_M = (0.0, 0.15, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95, 1.1, 1.4, 1.8, 3.5)
NAMES = (
    "long_m", "short_m", "height_m", "aspect", "footprint_m2", "top_m", "top_share", "vertical_share",
    "down_share", "fill", "against_wall", "front_dark", "top_dark",
    *(f"up_{a:.2f}_{b:.2f}" for a, b in pairwise(HEIGHT_BANDS_M)),
)
MIN_TOP_SHARE = 0.15  # of the footprint, for a plateau to count as the object's top
DARK_SHARE = 0.45  # lightness below this share of the room's walls' counts as dark


def wall_lightness(s: Surfels, faces) -> float | None:
    """Median CIELab lightness (OpenCV's 8-bit scale) of the surfels on the wall ``faces`` (the
    room's reference white: darkness is judged against it, whatever the exposure); None without
    colours."""
    if s.colors is None or not faces:
        return None
    members = np.concatenate([f.members for f in faces])
    if len(members) == 0:
        return None
    return float(np.median(cielab(s.colors[members])[:, 0]))


def instance_features(s: Surfels, members: np.ndarray, T_work_box: np.ndarray, dims_m, floor_z: float,
                      against_wall: bool, reference_lightness: float | None = None) -> np.ndarray:
    """The feature vector (see :data:`NAMES`) of the surfels ``members`` of ``s`` in a box;
    ``reference_lightness`` is the room's wall lightness (:func:`wall_lightness`)."""
    xyz, n, a = s.xyz[members], s.normals[members], s.area_m2[members]
    width, depth, height = (float(v) for v in dims_m)
    long_, short = max(width, depth), min(width, depth)
    footprint = max(long_ * short, 1e-4)
    z = xyz[:, 2] - floor_z
    up = n[:, 2] > 0.8
    total = max(a.sum(), 1e-9)
    bands = np.histogram(z[up], bins=HEIGHT_BANDS_M, weights=a[up])[0] / footprint
    if up.any():
        zs = np.round(z[up] / 0.05)
        vals, inv = np.unique(zs, return_inverse=True)
        per = np.bincount(inv.ravel(), a[up])
        top = float(vals[np.argmax(per)] * 0.05)
        top_share = float(per.max() / footprint)
    else:
        top, top_share = 0.0, 0.0
    # a plateau under MIN_TOP_SHARE of the footprint is no top (a refrigerator's top is seen in
    # a reconstruction as a sliver, or not at all; a ledge inside it is not its top either)
    top_m, top_share = (top, top_share) if top_share >= MIN_TOP_SHARE else (0.0, 0.0)
    local = (xyz[:, :2] - T_work_box[:2, 3]) @ T_work_box[:2, :2]
    cells = np.unique(np.floor(local / 0.05).astype(int), axis=0)
    fill = min(len(cells) * 0.0025 / footprint, 1.0)
    front_dark = top_dark = 0.0
    if s.colors is not None and reference_lightness:
        dark = cielab(s.colors[members])[:, 0] < DARK_SHARE * reference_lightness
        front = (n[:, :2] @ -T_work_box[:2, 1]) > 0.7
        top_band = up & (z > top - 0.1)
        front_dark = float(a[front & dark].sum() / max(a[front].sum(), 1e-9))
        top_dark = float(a[top_band & dark].sum() / max(a[top_band].sum(), 1e-9))
    return np.array([
        long_, short, height, short / max(long_, 1e-6), footprint, top_m, top_share,
        a[np.abs(n[:, 2]) < 0.3].sum() / total, a[n[:, 2] < -0.8].sum() / total, fill, float(against_wall),
        front_dark, top_dark, *bands,
    ])
