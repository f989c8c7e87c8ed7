"""MediaPipe HandLandmarker backend (the ``hands`` extra).

``mediapipe==0.10.14`` ships no ``hand_landmarker.task`` bundle, but it ships the two models such a
bundle holds (``modules/palm_detection/palm_detection_full.tflite`` and
``modules/hand_landmark/hand_landmark_{full,lite}.tflite``). A ``.task`` file is a zip of
``hand_detector.tflite`` and ``hand_landmarks_detector.tflite``, so the bundle is assembled in
memory from the installed files: nothing is downloaded. ``model_path`` may point to a real
``.task`` bundle instead.

Handedness: in this version the label is the person's hand as seen in a non-mirrored image
(checked on FreiHAND, whose hands are all right hands, and against the chirality of the 3D
landmarks); ``mirrored=True`` swaps it for selfie-view input.
"""

from __future__ import annotations

import io
import threading
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sensors.errors import FormatError, require

from .landmarker import HandLandmarkerOptions
from .result import Hand

_BUNDLES: dict[str, bytes] = {}


@contextmanager
def _quiet():
    """Hide the deprecation warning protobuf raises on every MediaPipe result."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)
        yield


def model_bundle(model: str = "full") -> bytes:
    """The HandLandmarker ``.task`` bytes built from the tflite files of the installed mediapipe."""
    if model not in _BUNDLES:
        mp = require("mediapipe", "hands", "hand landmarks")
        root = Path(mp.__file__).parent / "modules"
        files = {
            "hand_detector.tflite": root / "palm_detection" / "palm_detection_full.tflite",
            "hand_landmarks_detector.tflite": root / "hand_landmark" / f"hand_landmark_{model}.tflite",
        }
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for name, path in files.items():
                if not path.is_file():
                    raise FormatError("mediapipe's hand model is missing from the installed package", path)
                z.write(path, name)
        _BUNDLES[model] = buf.getvalue()
    return _BUNDLES[model]


class MediaPipeBackend:
    """Wraps ``mediapipe.tasks.python.vision.HandLandmarker`` (one instance per running mode)."""

    def __init__(self, options: HandLandmarkerOptions) -> None:
        require("mediapipe", "hands", "hand landmarks")
        from mediapipe.tasks.python import BaseOptions, vision

        if options.model_path is not None:
            path = Path(options.model_path)
            if not path.is_file():
                raise FormatError("hand landmark model bundle is missing", path)
            base = BaseOptions(model_asset_buffer=path.read_bytes())
        else:
            base = BaseOptions(model_asset_buffer=model_bundle(options.model))
        mode = {"image": vision.RunningMode.IMAGE, "video": vision.RunningMode.VIDEO, "live": vision.RunningMode.LIVE_STREAM}
        kw = {}
        self._pending: dict[int, object] = {}
        self._lock = threading.Lock()
        if options.running_mode == "live":
            kw["result_callback"] = self._on_result
        self._swap = options.mirrored
        self._task = vision.HandLandmarker.create_from_options(
            vision.HandLandmarkerOptions(
                base_options=base,
                running_mode=mode[options.running_mode],
                num_hands=options.num_hands,
                min_hand_detection_confidence=options.min_detection_confidence,
                min_hand_presence_confidence=options.min_presence_confidence,
                min_tracking_confidence=options.min_tracking_confidence,
                **kw,
            )
        )

    @staticmethod
    def _image(rgb: np.ndarray):
        import mediapipe as mp

        return mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)

    def _hands(self, result, width: int, height: int) -> list[Hand]:
        hands = []
        for lms, wlms, cats in zip(result.hand_landmarks, result.hand_world_landmarks, result.handedness):
            uvz = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float64)
            world = np.array([(p.x, p.y, p.z) for p in wlms], dtype=np.float64)
            label = cats[0].category_name.lower()
            if self._swap:
                label = "left" if label == "right" else "right"
            hands.append(
                Hand(
                    handedness=label,
                    score=float(cats[0].score),
                    landmarks_px=uvz[:, :2] * (width, height),
                    world_landmarks_m=world,
                    landmarks_z=uvz[:, 2],
                )
            )
        return hands

    def detect(self, rgb: np.ndarray) -> list[Hand]:
        with _quiet():
            return self._hands(self._task.detect(self._image(rgb)), rgb.shape[1], rgb.shape[0])

    def detect_for_video(self, rgb: np.ndarray, timestamp_ms: int) -> list[Hand]:
        with _quiet():
            return self._hands(self._task.detect_for_video(self._image(rgb), timestamp_ms), rgb.shape[1], rgb.shape[0])

    def detect_async(self, rgb: np.ndarray, timestamp_ms: int, callback) -> None:
        with self._lock:
            self._pending[timestamp_ms] = (callback, rgb.shape[1], rgb.shape[0])
        self._task.detect_async(self._image(rgb), timestamp_ms)

    def _on_result(self, result, _image, timestamp_ms: int) -> None:
        with self._lock:
            entry = self._pending.pop(timestamp_ms, None)
            for stale in [t for t in self._pending if t < timestamp_ms]:  # frames the model dropped
                del self._pending[stale]
        if entry is not None:
            callback, w, h = entry
            callback(self._hands(result, w, h), timestamp_ms)

    def close(self) -> None:
        self._task.close()
