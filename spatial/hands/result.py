"""Result types of the hand pipeline: one :class:`Hand` per detected hand, gathered in a
:class:`HandsResult` per frame (empty when there is no hand, never ``None``).

Frames and units: ``landmarks_px`` are pixels of the input image (origin top-left, x right,
y down); ``world_landmarks_m`` are the landmark model's metric 3D joints around the hand's own
centre (camera-aligned axes, average hand size); ``joints_camera_m`` are metres in the colour
camera frame (OpenCV axes); ``joints_world_m`` are metres in the map frame
(``T_world_camera @ joints_camera``). Joint order is MediaPipe's 21 (:mod:`spatial.hands.joints`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Hand:
    """One hand in one frame.

    ``handedness`` is ``"left"`` or ``"right"`` (the person's hand, for a non-mirrored image) and
    ``score`` the model's confidence in it (0–1). ``landmarks_z`` is the landmark model's relative
    depth per joint (units of image width, smaller = nearer, wrist ≈ 0).
    ``lift`` says how ``joints_camera_m`` was obtained: ``"depth"`` (aligned depth), ``"monocular"``
    (average hand size, scale uncertain by about ±15 %) or ``None`` (not lifted). ``scale`` is the
    hand's size relative to the average hand. ``flags`` name anything doubtful (see the modules
    that set them). ``gestures`` holds gesture states and interaction results.
    """

    handedness: str
    score: float
    landmarks_px: np.ndarray
    world_landmarks_m: np.ndarray
    landmarks_z: np.ndarray | None = None
    joints_camera_m: np.ndarray | None = None
    joints_world_m: np.ndarray | None = None
    lift: str | None = None
    scale: float | None = None
    track_id: int | None = None
    flags: tuple[str, ...] = ()
    gestures: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes) -> Hand:
        """A copy with some fields replaced (flags are appended with ``add_flags``)."""
        add = changes.pop("add_flags", ())
        h = replace(self, **changes)
        if add:
            object.__setattr__(h, "flags", tuple(dict.fromkeys(h.flags + tuple(add))))
        return h

    @property
    def bbox_px(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the landmarks in pixels."""
        lo, hi = self.landmarks_px.min(0), self.landmarks_px.max(0)
        return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])

    def to_json(self) -> dict:
        def arr(a):
            return None if a is None else np.round(np.asarray(a, dtype=float), 5).tolist()

        return {
            "track_id": self.track_id,
            "handedness": self.handedness,
            "score": round(float(self.score), 4),
            "landmarks_px": arr(self.landmarks_px),
            "world_landmarks_m": arr(self.world_landmarks_m),
            "joints_camera_m": arr(self.joints_camera_m),
            "joints_world_m": arr(self.joints_world_m),
            "lift": self.lift,
            "scale": None if self.scale is None else round(float(self.scale), 4),
            "flags": list(self.flags),
            "gestures": _jsonable(self.gestures),
        }


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return np.round(x.astype(float), 5).tolist()
    if isinstance(x, np.floating | float):
        return round(float(x), 5)
    if isinstance(x, np.integer | np.bool_):
        return x.item()
    return x


@dataclass(frozen=True, eq=False)
class HandsResult:
    """All hands of one frame. ``image_size`` is (width, height) in pixels; ``flags`` name
    frame-level conditions (``"grayscale_input"``, ``"downscaled"``, ``"no_depth"``,
    ``"no_pose"``, …)."""

    timestamp_ns: int
    image_size: tuple[int, int]
    hands: tuple[Hand, ...] = ()
    flags: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.hands)

    def __iter__(self):
        return iter(self.hands)

    def __getitem__(self, i: int) -> Hand:
        return self.hands[i]

    def with_(self, **changes) -> HandsResult:
        add = changes.pop("add_flags", ())
        r = replace(self, **changes)
        if add:
            object.__setattr__(r, "flags", tuple(dict.fromkeys(r.flags + tuple(add))))
        return r

    def to_json(self) -> dict:
        """One ``hands.jsonl`` line: ``timestamp_ns``, ``image_size``, ``flags`` and ``hands``."""
        return {
            "timestamp_ns": int(self.timestamp_ns),
            "image_size": list(self.image_size),
            "flags": list(self.flags),
            "hands": [h.to_json() for h in self.hands],
        }
