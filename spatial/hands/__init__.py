"""Hand tracking: 2D landmarks → metric 3D in the map frame, filtering, gestures, joint sets.

>>> from spatial import hands
>>> for result in hands.track("capture.mcap"):                      # doctest: +SKIP
...     for hand in result:
...         print(hand.track_id, hand.handedness, hand.joints_world_m[8], hand.gestures["pinch"])

Pieces, each usable alone: :class:`HandLandmarker` (landmarks, Options → Task → Result, backend
registry), :func:`lift` (metric 3D with depth or monocular), :class:`HandTracker` (map frame,
identities, One Euro filter, gestures), :mod:`.joints` (MediaPipe 21 ↔ OpenXR 26 ↔ visionOS 27).
MediaPipe is the ``hands`` extra.
"""

from . import joints
from .filters import OneEuroFilter
from .gestures import SceneTargets
from .landmarker import HandLandmarker, HandLandmarkerOptions, available_backends, register_backend
from .lift import LiftOptions, lift, lift_hand
from .output import read_jsonl, write_jsonl
from .pipeline import track
from .result import Hand, HandsResult
from .tracking import HandTracker, TrackerOptions

__all__ = [
    "joints", "OneEuroFilter", "SceneTargets", "HandLandmarker", "HandLandmarkerOptions", "available_backends",
    "register_backend", "LiftOptions", "lift", "lift_hand", "read_jsonl", "write_jsonl", "track", "Hand",
    "HandsResult", "HandTracker", "TrackerOptions",
]
