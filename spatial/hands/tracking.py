"""The hand tracking stage: landmarks → metric 3D → map frame → identities → One Euro filter →
gestures and interaction, one RGB-D frame at a time (``HandTracker.process``).

Identities: each new hand is matched to the live tracks by the distance between joint centroids
(map frame when poses are known, else camera frame, else pixels), a handedness mismatch adding
half the gate; unmatched hands start new tracks (ids count up from 1); tracks
unseen for ``max_age_ns`` end. A track's handedness is the score-weighted vote of its
detections, so a single flipped label does not flip the hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from sensors.errors import EmptySessionError
from sensors.types import RGBDFrame

from .filters import OneEuroFilter
from .gestures import GestureState, SceneTargets, pointing_ray, scores
from .landmarker import HandLandmarker, HandLandmarkerOptions
from .lift import LiftOptions, lift, register_depth
from .result import Hand, HandsResult


@dataclass(frozen=True)
class TrackerOptions:
    """``match_m`` / ``match_px_fraction``: gate for matching a hand to a track (metres, or a
    fraction of the image diagonal without 3D); ``max_age_ns``: how long an unseen track lives;
    ``filter``: One Euro smoothing of the 3D joints with ``min_cutoff_hz``, ``beta`` (per m/s) and
    ``d_cutoff_hz``; ``lift``: depth lifting options."""

    match_m: float = 0.15
    match_px_fraction: float = 0.15
    max_age_ns: int = 500_000_000
    filter: bool = True
    min_cutoff_hz: float = 1.0
    beta: float = 10.0
    d_cutoff_hz: float = 1.0
    lift: LiftOptions = field(default_factory=LiftOptions)


class _Track:
    def __init__(self, track_id: int, options: TrackerOptions) -> None:
        self.id = track_id
        self.vote = 0.0  # > 0: right
        self.last_ns = 0
        self.position: np.ndarray | None = None
        self.filter = OneEuroFilter(options.min_cutoff_hz, options.beta, options.d_cutoff_hz) if options.filter else None
        self.filter_frame = ""  # "world" or "camera": the frame the filter state is in
        self.gestures = GestureState()
        self.contact = False


def _centroid(h: Hand, space: str) -> np.ndarray:
    return {"world": h.joints_world_m, "camera": h.joints_camera_m}.get(space, h.landmarks_px).mean(axis=0)


class HandTracker:
    """Stateful per-frame hand tracking. ``landmarker``: options of the landmark task (video mode
    by default); ``targets``: mesh and room objects for pointing rays and proximity, in the map
    frame; ``T_color_depth``: extrinsics used to register depth that is not aligned with colour
    (frames with ``depth_intrinsics``). Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        landmarker: HandLandmarkerOptions | None = None,
        options: TrackerOptions | None = None,
        targets: SceneTargets | None = None,
        T_color_depth: np.ndarray | None = None,
    ) -> None:
        self.T_color_depth = np.eye(4) if T_color_depth is None else np.asarray(T_color_depth, dtype=np.float64)
        self.landmarker = HandLandmarker(landmarker or HandLandmarkerOptions(running_mode="video"))
        self.options = options or TrackerOptions()
        self.targets = targets
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1

    def process(self, frame: RGBDFrame, T_world_camera: np.ndarray | None = None, intrinsics_known: bool = True) -> HandsResult:
        """Hands of one frame: landmarks, camera- and map-frame joints (metres), track ids,
        filtered joints and gestures. ``T_world_camera`` places the camera in the map (hands get
        ``joints_world_m``; without it the result is flagged ``"no_pose"``)."""
        if frame.color is None:
            raise EmptySessionError(f"hand tracking needs colour images; frame {frame.index} has none")
        if self.landmarker.options.running_mode == "image":  # independent stills: nothing carries over
            self._tracks.clear()
            result = self.landmarker.detect(frame.color, frame.timestamp_ns)
        else:
            result = self.landmarker.detect_for_video(frame.color, frame.timestamp_ns)
        depth = frame.depth_m
        if depth is not None and frame.depth_intrinsics is not None:
            depth = register_depth(depth, frame.depth_intrinsics, frame.intrinsics, self.T_color_depth)
        result = lift(result, frame.intrinsics if intrinsics_known else None, depth, self.options.lift)
        return self.update(result, T_world_camera)

    def update(self, result: HandsResult, T_world_camera: np.ndarray | None = None) -> HandsResult:
        """The post-landmark part of :meth:`process` for an already lifted ``result``."""
        hands = list(result.hands)
        flags: list[str] = []
        if T_world_camera is not None:
            T = np.asarray(T_world_camera, dtype=np.float64)
            hands = [
                h.with_(joints_world_m=h.joints_camera_m @ T[:3, :3].T + T[:3, 3]) if h.joints_camera_m is not None else h
                for h in hands
            ]
        else:
            flags.append("no_pose")
        hands = self._assign(hands, result)
        hands = [self._finish(h, result.timestamp_ns, T_world_camera) for h in hands]
        return result.with_(hands=tuple(hands), add_flags=flags)

    def _assign(self, hands: list[Hand], result: HandsResult) -> list[Hand]:
        ts = result.timestamp_ns
        for tid in [t for t, tr in self._tracks.items() if ts - tr.last_ns > self.options.max_age_ns]:
            del self._tracks[tid]
        space = "world" if hands and all(h.joints_world_m is not None for h in hands) else (
            "camera" if hands and all(h.joints_camera_m is not None for h in hands) else "px"
        )
        gate = self.options.match_m if space != "px" else self.options.match_px_fraction * float(np.hypot(*result.image_size))
        tracks = [t for t in self._tracks.values() if t.position is not None and t.position[0] == space]
        cost = np.full((len(hands), len(tracks)), 1e9)
        for i, h in enumerate(hands):
            c = _centroid(h, space)
            for j, t in enumerate(tracks):
                d = float(np.linalg.norm(c - t.position[1]))
                if (t.vote > 0) != (h.handedness == "right") and abs(t.vote) > 1.0:
                    d += gate / 2
                if d <= gate:
                    cost[i, j] = d
        match: dict[int, _Track] = {}
        if len(hands) and len(tracks):
            for i, j in zip(*linear_sum_assignment(cost)):
                if cost[i, j] < 1e9:
                    match[i] = tracks[j]
        out = []
        for i, h in enumerate(hands):
            t = match.get(i)
            if t is None:
                t = self._tracks[self._next_id] = _Track(self._next_id, self.options)
                self._next_id += 1
            t.vote = float(np.clip(t.vote + (h.score if h.handedness == "right" else -h.score), -10, 10))
            t.last_ns = ts
            t.position = (space, _centroid(h, space))
            out.append(h.with_(track_id=t.id, handedness="right" if t.vote > 0 else "left"))
        return out

    def _finish(self, h: Hand, ts: int, T_world_camera: np.ndarray | None) -> Hand:
        t = self._tracks[h.track_id]
        if t.filter is not None and h.joints_camera_m is not None:
            frame = "world" if h.joints_world_m is not None else "camera"
            if frame != t.filter_frame:  # poses came or went: do not blend the two frames
                t.filter.reset()
                t.filter_frame = frame
            if h.joints_world_m is not None:
                world = t.filter(h.joints_world_m, ts)
                T = np.asarray(T_world_camera, dtype=np.float64)
                h = h.with_(joints_world_m=world, joints_camera_m=(world - T[:3, 3]) @ T[:3, :3])
            else:
                h = h.with_(joints_camera_m=t.filter(h.joints_camera_m, ts))
        joints = h.joints_world_m if h.joints_world_m is not None else h.joints_camera_m
        s = scores(joints if joints is not None else h.world_landmarks_m)
        active = t.gestures.update(s)
        g: dict = {k: active[k] for k in active}
        g["grab"] = active["fist"]
        g["pinch_strength"] = s["pinch_strength"]
        g["scores"] = {k: s[k] for k in active}
        if joints is not None:
            origin, direction = pointing_ray(joints)
            ray = {"frame": "world" if h.joints_world_m is not None else "camera", "origin": origin, "direction": direction}
            if self.targets is not None and h.joints_world_m is not None:
                ray["hit"] = self.targets.cast(origin, direction)
                near = self.targets.nearest_object(h.joints_world_m, t.contact)
                t.contact = bool(near and near["contact"])
                g["nearest_object"] = near
            g["ray"] = ray
        return h.with_(gestures=g)

    def close(self) -> None:
        self.landmarker.close()

    def __enter__(self) -> HandTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
