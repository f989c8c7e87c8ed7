"""Multi-view crops of 3D boxes from a scene's keyframes, their fused image features, and 2D
detections lifted back to 3D.

A box is seen in a keyframe where its sample points (corners and an inner grid) project inside
the image in front of the camera and are not hidden: the keyframe's depth at the pixel is not
more than 10 cm nearer than the point, or what it sees there lies on the box itself (the
object hiding its own far side), or there is no depth. A view's score is its visibility
x the share of the image the box covers (capped at a quarter) x its sharpness (variance of the
Laplacian in the crop, relative to the element's sharpest view). Frames: world z up, metres;
cameras OpenCV (x right, y down, z forward), ``T_world_camera``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.room import RoomElement

OCCLUSION_M = 0.1


@dataclass(frozen=True)
class View:
    """``keyframe`` index, the crop ``box_xyxy_px`` (pixels, with a 10 % margin, inside the
    image), ``visibility`` (share of the box's samples seen), ``sharpness`` (relative, 0–1) and
    ``score``."""

    keyframe: int
    box_xyxy_px: tuple[int, int, int, int]
    visibility: float
    sharpness: float
    score: float


def project_points(points_world: np.ndarray, T_world_camera: np.ndarray, intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N, 2) and depths (N,) metres of world points in a pinhole camera
    (no distortion); points behind the camera get depth ≤ 0 and meaningless pixels."""
    T = np.linalg.inv(np.asarray(T_world_camera, float))
    p = np.asarray(points_world, float) @ T[:3, :3].T + T[:3, 3]
    z = p[:, 2]
    safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
    uv = np.stack([intrinsics.fx * p[:, 0] / safe + intrinsics.cx, intrinsics.fy * p[:, 1] / safe + intrinsics.cy], 1)
    return uv, z


def _samples(e: RoomElement, n: int = 5) -> np.ndarray:
    g = np.linspace(-0.5, 0.5, n)
    local = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) * np.asarray(e.dimensions_m)
    return local @ e.T_world_element[:3, :3].T + e.T_world_element[:3, 3]


def _on_box(e: RoomElement, uv: np.ndarray, depth_m: np.ndarray, T_world_camera: np.ndarray, intrinsics) -> np.ndarray:
    """(N,) bool: the surface seen at colour pixels ``uv`` (N, 2) with depths ``depth_m`` (N,) metres,
    back-projected to the world, lies on the element's own box (within :data:`OCCLUSION_M`), so
    the samples behind it are hidden by the object itself, not by something in front of it."""
    d = np.where(np.isfinite(depth_m) & (depth_m > 0), depth_m, 0.0).astype(float)
    K = intrinsics
    cam = np.stack([(uv[:, 0] - K.cx) / K.fx * d, (uv[:, 1] - K.cy) / K.fy * d, d], 1)
    T = np.asarray(T_world_camera, float)
    world = cam @ T[:3, :3].T + T[:3, 3]
    Te = e.T_world_element
    local = (world - Te[:3, 3]) @ Te[:3, :3]
    return np.all(np.abs(local) <= np.asarray(e.dimensions_m) / 2 + OCCLUSION_M, axis=1) & (d > 0)


def _sharpness(gray: np.ndarray) -> float:
    import cv2

    return float(cv2.Laplacian(gray, cv2.CV_32F).var()) if gray.size else 0.0


def object_views(scene, elements: list[RoomElement], max_views: int = 3, min_visible: float = 0.3) -> dict[str, list[View]]:
    """The best ``max_views`` keyframe views of each element, best first (elements seen in no
    keyframe map to an empty list)."""
    import cv2

    out: dict[str, list[View]] = {}
    grays = [None if kf.color is None else cv2.cvtColor(kf.color, cv2.COLOR_RGB2GRAY) for kf in scene.keyframes]
    for e in elements:
        pts = _samples(e)
        cands = []
        for k, kf in enumerate(scene.keyframes):
            if kf.color is None:
                continue
            K, (h, w) = kf.intrinsics, kf.color.shape[:2]
            uv, z = project_points(pts, kf.T_world_camera, K)
            inside = (z > 0.1) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
            if not inside.any():
                continue
            seen = inside.copy()
            if kf.depth_m is not None:
                dh, dw = kf.depth_m.shape
                iu = np.clip((uv[inside, 0] * dw / w).astype(int), 0, dw - 1)
                iv = np.clip((uv[inside, 1] * dh / h).astype(int), 0, dh - 1)
                d = kf.depth_m[iv, iu]
                seen[inside] = (d <= 0) | ~np.isfinite(d) | (d >= z[inside] - OCCLUSION_M) | \
                    _on_box(e, uv[inside], d, kf.T_world_camera, K)
            visibility = float(seen.mean())
            if visibility < min_visible:
                continue
            front = z > 0.1
            x0, y0 = uv[front].min(0)
            x1, y1 = uv[front].max(0)
            mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
            box = (int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(w, x1 + mx)), int(min(h, y1 + my)))
            if box[2] - box[0] < 8 or box[3] - box[1] < 8:
                continue
            area = min(0.25, (box[2] - box[0]) * (box[3] - box[1]) / (w * h)) / 0.25
            sharp = _sharpness(grays[k][box[1]:box[3], box[0]:box[2]])
            cands.append((k, box, visibility, sharp, area))
        top = max((c[3] for c in cands), default=0.0)
        views = [View(k, box, vis, s / top if top > 0 else 0.0, vis * area * (0.5 + 0.5 * (s / top if top > 0 else 0.0)))
                 for k, box, vis, s, area in cands]
        out[e.identifier] = sorted(views, key=lambda v: (-v.score, v.keyframe))[:max_views]
    return out


def crop(scene, view: View) -> np.ndarray:
    """The RGB pixels of ``view``."""
    x0, y0, x1, y1 = view.box_xyxy_px
    return np.ascontiguousarray(scene.keyframes[view.keyframe].color[y0:y1, x0:x1])


def best_keyframe(scene, element: RoomElement) -> int | None:
    """Index of the keyframe that shows ``element`` best (``None`` if none shows it)."""
    views = object_views(scene, [element], max_views=1).get(element.identifier, [])
    return views[0].keyframe if views else None


def fused_image_features(scene, elements: list[RoomElement], model, max_views: int = 3) -> dict[str, np.ndarray]:
    """Per element seen in a keyframe: the mean of its best views' unit image embeddings,
    re-normalised. Cached in ``scene.cache`` by model, element and box, so asking again is free."""
    out: dict[str, np.ndarray] = {}
    todo = []
    for e in elements:
        key = ("image_features", model.key, e.identifier, np.asarray(e.dimensions_m).tobytes() + e.T_world_element.tobytes(), max_views)
        if key in scene.cache:
            if scene.cache[key] is not None:
                out[e.identifier] = scene.cache[key]
        else:
            todo.append((e, key))
    views = object_views(scene, [e for e, _ in todo], max_views=max_views) if todo else {}
    for e, key in todo:
        vs = views.get(e.identifier, [])
        if not vs:
            scene.cache[key] = None
            continue
        f = model.embed_images([crop(scene, v) for v in vs]).mean(0)
        scene.cache[key] = out[e.identifier] = (f / max(float(np.linalg.norm(f)), 1e-12)).astype(np.float32)
    return out


@dataclass(frozen=True)
class Detection3D:
    """A 2D detection lifted to 3D: ``phrase``, ``score``, a gravity-aligned box (``center_m``,
    ``dimensions_m`` world metres) and the ``keyframe`` it was found in."""

    phrase: str
    score: float
    center_m: tuple[float, float, float]
    dimensions_m: tuple[float, float, float]
    keyframe: int


def lift_box(box_xyxy_px, depth_m: np.ndarray, T_world_camera: np.ndarray, intrinsics,
             image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(centre (3,), size (3,)) of the world-axis box around what a 2D box sees: depth pixels
    inside it within 25 cm of their median (the object, not the wall behind), back-projected
    and bounded by their 10th–90th percentiles; ``None`` with fewer than 20 valid pixels.
    ``image_size`` (width, height) is the colour image's, which the box is in."""
    w, h = image_size
    dh, dw = depth_m.shape
    x0, y0, x1, y1 = box_xyxy_px
    c0, c1 = int(np.floor(x0 * dw / w)), int(np.ceil(x1 * dw / w))
    r0, r1 = int(np.floor(y0 * dh / h)), int(np.ceil(y1 * dh / h))
    patch = depth_m[max(r0, 0):min(r1, dh), max(c0, 0):min(c1, dw)]
    rows, cols = np.nonzero(np.isfinite(patch) & (patch > 0))
    if len(rows) < 20:
        return None
    z = patch[rows, cols].astype(float)
    keep = np.abs(z - np.median(z)) < 0.25
    rows, cols, z = rows[keep] + max(r0, 0), cols[keep] + max(c0, 0), z[keep]
    if len(z) < 20:
        return None
    u = (cols + 0.5) * w / dw  # pixel centres in the colour image's pixels
    v = (rows + 0.5) * h / dh
    K = intrinsics
    cam = np.stack([(u - K.cx) / K.fx * z, (v - K.cy) / K.fy * z, z], 1)
    T = np.asarray(T_world_camera, float)
    world = cam @ T[:3, :3].T + T[:3, 3]
    lo, hi = np.percentile(world, 10, axis=0), np.percentile(world, 90, axis=0)
    return (lo + hi) / 2, np.maximum(hi - lo, 0.02)


def detections_3d(scene, phrases: list[str], detector, max_keyframes: int = 12, min_score: float = 0.1) -> list[Detection3D]:
    """Detections of ``phrases`` on up to ``max_keyframes`` evenly spaced keyframes, lifted to
    3D with each keyframe's depth, merged per phrase within 30 cm (best score kept), best first."""
    kfs = [k for k, kf in enumerate(scene.keyframes) if kf.color is not None and kf.depth_m is not None]
    if not kfs:
        return []
    picks = [kfs[int(i)] for i in np.unique(np.linspace(0, len(kfs) - 1, min(max_keyframes, len(kfs))).round())]
    found: list[Detection3D] = []
    for k in picks:
        kf = scene.keyframes[k]
        for d in detector.detect(kf.color, phrases, min_score=min_score):
            lifted = lift_box(d.box_xyxy_px, kf.depth_m, kf.T_world_camera, kf.intrinsics, kf.color.shape[1::-1])
            if lifted is None:
                continue
            c, s = lifted
            found.append(Detection3D(d.phrase, d.score, tuple(float(v) for v in c), tuple(float(v) for v in s), k))
    merged: list[Detection3D] = []
    for d in sorted(found, key=lambda d: (-d.score, d.keyframe)):
        if all(m.phrase != d.phrase or np.linalg.norm(np.subtract(m.center_m, d.center_m)) > 0.3 for m in merged):
            merged.append(d)
    return merged
