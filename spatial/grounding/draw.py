"""A query's hit drawn on the keyframe that shows it: the element's 3D box projected into the
image (edges behind the camera clipped), its name and score, and the query as a caption."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensors.errors import ConfigError
from sensors.formats._atomic import atomic_path
from sensors.formats._io import encode_color

from .crops import project_points

_EDGES = [(0, 1), (0, 2), (1, 3), (2, 3), (4, 5), (4, 6), (5, 7), (6, 7), (0, 4), (1, 5), (2, 6), (3, 7)]


def render_hit(scene, hit, caption: str) -> np.ndarray:
    """RGB image (uint8, the keyframe's size, at least 640 px wide) of ``hit`` on keyframe
    ``hit.keyframe`` of ``scene``."""
    import cv2

    if hit.keyframe is None or not 0 <= hit.keyframe < len(scene.keyframes):
        raise ConfigError(f"hit {hit.identifier} has no keyframe to draw on")
    kf = scene.keyframes[hit.keyframe]
    if kf.color is None:
        raise ConfigError(f"keyframe {hit.keyframe} has no colour image")
    scale = max(1.0, 640.0 / kf.color.shape[1])
    img = cv2.resize(kf.color, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) if scale > 1 else kf.color.copy()
    corners = hit.element.corners_m()
    _, depth = project_points(corners, kf.T_world_camera, kf.intrinsics)
    colour = (255, 220, 0)
    for i, j in _EDGES:
        a, b = corners[i].copy(), corners[j].copy()
        za, zb = depth[i], depth[j]
        if za < 0.05 and zb < 0.05:
            continue
        if za < 0.05 or zb < 0.05:  # clip the edge at 5 cm in front of the camera
            t = (0.05 - za) / (zb - za)
            (a if za < 0.05 else b)[:] = a + t * (b - a)
        uv, _ = project_points(np.stack([a, b]), kf.T_world_camera, kf.intrinsics)
        pa, pb = (uv * scale).round().astype(int)
        ok, pa, pb = cv2.clipLine((0, 0, img.shape[1], img.shape[0]), tuple(int(v) for v in pa), tuple(int(v) for v in pb))
        if ok:
            cv2.line(img, pa, pb, colour, 2, cv2.LINE_AA)
    label = f"{hit.element.label or hit.category} {hit.score:.2f}"
    cv2.rectangle(img, (0, 0), (img.shape[1], 28), (0, 0, 0), -1)
    cv2.putText(img, f"\"{caption}\"  ->  {label}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def draw_hit(scene, hit, caption: str, path: str | Path) -> Path:
    """Write :func:`render_hit` as a PNG at ``path`` (atomically) and return the path."""
    img = render_hit(scene, hit, caption)
    with atomic_path(path) as tmp:
        tmp.write_bytes(encode_color(img, "png"))
    return Path(path)
