"""Gestures with hysteresis, pointing rays into the scene and hand–object proximity.

Gesture scores (0–1) come from the hand's 3D joints (metric camera/world joints when lifted,
else the landmark model's relative 3D joints), normalised by the palm length so they do not
depend on hand size:

* ``pinch`` — thumb tip to index tip distance; ``pinch_strength`` is 1 at ``PINCH_CLOSED_M`` and
  0 at ``PINCH_OPEN_M`` (distances for a palm of ``PALM_M``);
* ``point`` — index finger extended, middle, ring and little fingers curled;
* ``fist`` (also reported as ``grab``) — the four fingers curled;
* ``open_palm`` — all five fingers extended.

Each gesture turns on when its score reaches ``ON`` and off only when it falls to ``OFF``
(hysteresis), per tracked hand. A finger's extension is its straightness, tip-to-base distance
over the length of its bones, mapped from ``CURLED`` (0) to ``STRAIGHT`` (1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.room import RoomDescription

from .joints import FINGERS, INDEX_MCP, INDEX_TIP, MEDIAPIPE, MIDDLE_MCP, THUMB_TIP, WRIST

PALM_M = 0.09
PINCH_CLOSED_M, PINCH_OPEN_M = 0.015, 0.07
CURLED, STRAIGHT = 0.55, 0.92
ON = {"pinch": 0.85, "point": 0.7, "fist": 0.7, "open_palm": 0.75}
OFF = {"pinch": 0.6, "point": 0.4, "fist": 0.4, "open_palm": 0.45}


def extension(joints: np.ndarray) -> dict[str, float]:
    """Per-finger extension in [0, 1] (0 curled, 1 straight)."""
    out = {}
    for name, (a, b, c, d) in FINGERS.items():
        length = sum(np.linalg.norm(joints[q] - joints[p]) for p, q in ((a, b), (b, c), (c, d)))
        straight = np.linalg.norm(joints[d] - joints[a]) / max(length, 1e-9)
        out[name] = float(np.clip((straight - CURLED) / (STRAIGHT - CURLED), 0.0, 1.0))
    return out


def scores(joints: np.ndarray) -> dict[str, float]:
    """Gesture scores in [0, 1] and ``pinch_strength`` for one hand's (21, 3) joints."""
    palm = max(float(np.linalg.norm(joints[MIDDLE_MCP] - joints[WRIST])), 1e-9)
    pinch_m = np.linalg.norm(joints[THUMB_TIP] - joints[INDEX_TIP]) / palm * PALM_M
    strength = float(np.clip((PINCH_OPEN_M - pinch_m) / (PINCH_OPEN_M - PINCH_CLOSED_M), 0.0, 1.0))
    e = extension(joints)
    four = [e[f] for f in ("index", "middle", "ring", "pinky")]
    return {
        "pinch": strength,
        "pinch_strength": strength,
        "point": min(e["index"], 1 - e["middle"], 1 - e["ring"], 1 - e["pinky"]),
        "fist": min(1 - v for v in four),
        "open_palm": min(e.values()),
    }


class GestureState:
    """Hysteresis over gesture scores for one tracked hand."""

    def __init__(self) -> None:
        self.active = dict.fromkeys(ON, False)

    def update(self, s: dict[str, float]) -> dict[str, bool]:
        for g in ON:
            if self.active[g]:
                self.active[g] = s[g] > OFF[g]
            else:
                self.active[g] = s[g] >= ON[g]
        if self.active["pinch"] and self.active["fist"]:  # a fist brings the tips together too
            self.active["pinch"] = s["pinch"] >= s["fist"]
        return dict(self.active)


def pointing_ray(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(origin, unit direction) of the index finger: from its MCP through its tip."""
    d = joints[INDEX_TIP] - joints[INDEX_MCP]
    return joints[INDEX_MCP].copy(), d / max(float(np.linalg.norm(d)), 1e-9)


def _ray_box(origin: np.ndarray, direction: np.ndarray, T: np.ndarray, dims: tuple[float, float, float]) -> float | None:
    """Distance along the ray to an oriented box (slab test), or None."""
    R, c = T[:3, :3], T[:3, 3]
    o, d = R.T @ (origin - c), R.T @ direction
    half = np.asarray(dims) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    t1 = np.where(np.isnan(t1), -np.inf, t1)
    t2 = np.where(np.isnan(t2), np.inf, t2)
    near, far = np.minimum(t1, t2).max(), np.maximum(t1, t2).min()
    if far < max(near, 0.0):
        return None
    return float(max(near, 0.0))


def box_distance(points: np.ndarray, T: np.ndarray, dims: tuple[float, float, float]) -> np.ndarray:
    """Distance (m) of each point to an oriented box's surface, 0 inside."""
    local = (points - T[:3, 3]) @ T[:3, :3]
    return np.linalg.norm(np.maximum(np.abs(local) - np.asarray(dims) / 2, 0.0), axis=1)


@dataclass(frozen=True)
class SceneTargets:
    """What pointing rays and proximity are tested against, in the frame of the joints given to
    :meth:`interact` (the world frame in the tracker): a triangle mesh (``vertices`` (N, 3),
    ``triangles`` (M, 3)) and/or the room's objects."""

    vertices: np.ndarray | None = None
    triangles: np.ndarray | None = None
    room: RoomDescription | None = None
    contact_m: float = 0.015
    near_m: float = 0.10

    def __post_init__(self) -> None:
        scene = None
        if self.vertices is not None and self.triangles is not None and len(self.triangles):
            import open3d as o3d

            scene = o3d.t.geometry.RaycastingScene()
            scene.add_triangles(
                o3d.core.Tensor(np.asarray(self.vertices, np.float32)), o3d.core.Tensor(np.asarray(self.triangles, np.uint32))
            )
        object.__setattr__(self, "_scene", scene)

    def cast(self, origin: np.ndarray, direction: np.ndarray) -> dict | None:
        """Nearest hit of the ray on the mesh or an object: target, category, distance_m, point."""
        best: dict | None = None
        if self._scene is not None:
            import open3d as o3d

            ray = o3d.core.Tensor(np.concatenate([origin, direction])[None].astype(np.float32))
            t = float(self._scene.cast_rays(ray)["t_hit"].numpy()[0])
            if np.isfinite(t):
                best = {"target": "mesh", "category": None, "distance_m": t}
        for obj in self.room.objects if self.room else ():
            t = _ray_box(origin, direction, obj.T_world_element, obj.dimensions_m)
            if t is not None and (best is None or t < best["distance_m"]):
                best = {"target": obj.identifier, "category": obj.category, "distance_m": t}
        if best is not None:
            best["point"] = origin + best["distance_m"] * direction
        return best

    def nearest_object(self, joints: np.ndarray, was_contact: bool = False) -> dict | None:
        """The room object nearest to any joint: identifier, category, distance_m, joint, contact
        (with hysteresis: on at ``contact_m``, off beyond twice that), near."""
        best = None
        for obj in self.room.objects if self.room else ():
            d = box_distance(joints, obj.T_world_element, obj.dimensions_m)
            i = int(np.argmin(d))
            if best is None or d[i] < best["distance_m"]:
                best = {"identifier": obj.identifier, "category": obj.category, "distance_m": float(d[i]), "joint": MEDIAPIPE[i]}
        if best is not None:
            limit = 2 * self.contact_m if was_contact else self.contact_m
            best["contact"] = best["distance_m"] <= limit
            best["near"] = best["distance_m"] <= self.near_m
        return best
