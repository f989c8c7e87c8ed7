"""2D + relative-3D hand landmarks: ``HandLandmarkerOptions`` → ``HandLandmarker`` → ``HandsResult``
(the MediaPipe Tasks pattern), with backends registered by name.

A backend is a class built from the options with ``detect(rgb) -> list[Hand]`` (one image, no
state), ``detect_for_video(rgb, timestamp_ms) -> list[Hand]`` (tracking across frames),
``detect_async(rgb, timestamp_ms, callback)`` (live: ``callback(hands, timestamp_ms)`` is called
later, possibly on another thread) and ``close()``. ``"mediapipe"`` is built in; add others with
:func:`register_backend`.

In image mode the task searches harder than one pass of the backend (see :mod:`.search`): tiles
for small hands in large images and a padded pass when nothing is found.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError, FormatError, SyncError

from .result import Hand, HandsResult

RUNNING_MODES = ("image", "video", "live")
MAX_SIDE = 4096  # larger images are downscaled for detection (flag "downscaled")

_BACKENDS: dict[str, str | Callable] = {"mediapipe": "spatial.hands.mediapipe_backend:MediaPipeBackend"}


def register_backend(name: str, factory: str | Callable) -> None:
    """Register a landmark backend: a class/callable taking :class:`HandLandmarkerOptions`, or a
    ``"module:Class"`` string imported on first use."""
    _BACKENDS[name] = factory


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def _backend_factory(name: str) -> Callable:
    try:
        f = _BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown hand landmark backend '{name}', expected one of {available_backends()}") from None
    if isinstance(f, str):
        module, _, attr = f.partition(":")
        f = getattr(importlib.import_module(module), attr)
    return f


@dataclass(frozen=True)
class HandLandmarkerOptions:
    """Options of :class:`HandLandmarker`.

    ``running_mode``: ``"image"`` (independent stills, with the multi-pass search),
    ``"video"`` (frames in time order, tracked) or ``"live"`` (asynchronous, results to
    ``result_callback(result: HandsResult)``). ``num_hands``: most hands reported per frame.
    ``min_detection_confidence``: palm detector threshold (lower than MediaPipe's 0.5 default:
    it finds hands filling small crops; the presence threshold still rejects non-hands).
    ``min_presence_confidence`` / ``min_tracking_confidence``: landmark model thresholds.
    ``model``: ``"full"`` or ``"lite"`` landmark model of the installed MediaPipe, or
    ``model_path`` to a HandLandmarker ``.task`` bundle. ``mirrored``: the images are mirrored
    (selfie view), so left and right are swapped. ``search``: extra passes in image mode (tiles,
    padding); ``flip_average``: also average each hand with its estimate in the mirrored image
    (image mode; twice the cost, lower error). ``detection_interval``: in video mode, while
    fewer than two hands are tracked, look for an additional hand only every k-th frame (the palm
    detector costs about as much as the landmark model; k = 1 looks on every frame, as MediaPipe
    does). A first hand is always looked for on every frame.
    """

    backend: str = "mediapipe"
    running_mode: str = "image"
    num_hands: int = 2
    min_detection_confidence: float = 0.2
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    model: str = "full"
    model_path: Path | None = None
    mirrored: bool = False
    search: bool = True
    flip_average: bool = True
    detection_interval: int = 4
    result_callback: Callable[[HandsResult], None] | None = None

    def __post_init__(self) -> None:
        if self.running_mode not in RUNNING_MODES:
            raise ConfigError(f"running_mode must be one of {RUNNING_MODES}, got '{self.running_mode}'")
        if not 1 <= self.num_hands <= 8:
            raise ConfigError(f"num_hands must be between 1 and 8, got {self.num_hands}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {v}")
        if self.model not in ("full", "lite"):
            raise ConfigError(f"model must be 'full' or 'lite', got '{self.model}'")
        if self.running_mode == "live" and self.result_callback is None:
            raise ConfigError("live mode needs a result_callback")


def prepare_image(image: np.ndarray) -> tuple[np.ndarray, tuple[str, ...], float]:
    """Validate an input image and return (contiguous uint8 RGB, flags, scale applied).

    Accepts HxWx3 RGB, HxWx4 RGBA (alpha dropped) and HxW / HxWx1 grayscale (replicated, flag
    ``"grayscale_input"``). Images larger than :data:`MAX_SIDE` are downscaled (flag
    ``"downscaled"``; landmarks are still reported in input pixels). Raises :class:`FormatError`
    for empty, non-uint8 or otherwise shaped arrays."""
    if not isinstance(image, np.ndarray):
        raise FormatError(f"image must be a numpy array, got {type(image).__name__}")
    if image.size == 0 or image.ndim < 2 or min(image.shape[:2]) < 2:
        raise FormatError(f"image is empty (shape {image.shape})")
    if image.dtype != np.uint8:
        raise FormatError(f"image must be uint8 RGB, got dtype {image.dtype} (scale floats to 0-255 first)")
    flags: list[str] = []
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
        flags.append("grayscale_input")
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise FormatError(f"image must be HxWx3 RGB (or grayscale), got shape {image.shape}")
    scale = 1.0
    if max(image.shape[:2]) > MAX_SIDE:
        import cv2

        scale = MAX_SIDE / max(image.shape[:2])
        size = (max(2, round(image.shape[1] * scale)), max(2, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        flags.append("downscaled")
    return np.ascontiguousarray(image), tuple(flags), scale


def _unscale(hands: list[Hand], scale: float) -> list[Hand]:
    return hands if scale == 1.0 else [h.with_(landmarks_px=h.landmarks_px / scale) for h in hands]


class HandLandmarker:
    """Hand landmark task. Use :meth:`create_from_options`, then :meth:`detect` (image mode),
    :meth:`detect_for_video` (video mode) or :meth:`detect_async` (live mode); close it (or use
    ``with``) to free the model."""

    def __init__(self, options: HandLandmarkerOptions | None = None) -> None:
        self.options = options or HandLandmarkerOptions()
        factory = _backend_factory(self.options.backend)
        self._backend = factory(self.options)
        # video mode: a one-hand tracker for the frames on which no additional hand is sought
        o = self.options
        self._single = None
        if o.running_mode == "video" and o.num_hands > 1 and o.detection_interval > 1:
            self._single = factory(replace(o, num_hands=1))
        self._frame = 0
        self._tracked = 0
        self._last_ms: int | None = None
        self._last_ns: int | None = None

    @classmethod
    def create_from_options(cls, options: HandLandmarkerOptions) -> HandLandmarker:
        return cls(options)

    def _check_mode(self, mode: str) -> None:
        if self.options.running_mode != mode:
            raise ConfigError(f"this landmarker runs in {self.options.running_mode} mode; {mode} mode calls are not allowed")

    def _timestamp_ms(self, timestamp_ns: int) -> int:
        if self._last_ns is not None and timestamp_ns <= self._last_ns:
            raise SyncError(f"frame timestamps must increase: {timestamp_ns} ns after {self._last_ns} ns")
        ms = int(timestamp_ns // 1_000_000)
        if self._last_ms is not None and ms <= self._last_ms:
            ms = self._last_ms + 1  # sub-millisecond spacing: keep MediaPipe's clock strictly increasing
        self._last_ns, self._last_ms = int(timestamp_ns), ms
        return ms

    def detect(self, image: np.ndarray, timestamp_ns: int = 0) -> HandsResult:
        """Hands in one still image (uint8 RGB). Never returns ``None``."""
        from .search import find_hands

        self._check_mode("image")
        rgb, flags, scale = prepare_image(image)
        o = self.options
        if o.search or o.flip_average:
            hands = find_hands(self._backend.detect, rgb, o.num_hands, o.search, o.flip_average)
        else:
            hands = self._backend.detect(rgb)
        return HandsResult(int(timestamp_ns), (image.shape[1], image.shape[0]), tuple(_unscale(hands, scale)), flags)

    def detect_for_video(self, image: np.ndarray, timestamp_ns: int) -> HandsResult:
        """Hands in the next video frame; ``timestamp_ns`` must increase from call to call."""
        self._check_mode("video")
        rgb, flags, scale = prepare_image(image)
        ms = self._timestamp_ms(timestamp_ns)
        seek = self._single is None or self._tracked != 1 or self._frame % self.options.detection_interval == 0
        hands = (self._backend if seek else self._single).detect_for_video(rgb, ms)
        self._frame += 1
        self._tracked = len(hands)
        return HandsResult(int(timestamp_ns), (image.shape[1], image.shape[0]), tuple(_unscale(hands, scale)), flags)

    def detect_async(self, image: np.ndarray, timestamp_ns: int) -> None:
        """Queue a live frame; the result goes to ``options.result_callback`` (possibly on another
        thread, frames may be dropped while the model is busy)."""
        self._check_mode("live")
        rgb, flags, scale = prepare_image(image)
        size = (image.shape[1], image.shape[0])
        callback = self.options.result_callback

        def deliver(hands: list[Hand], _ms: int, ts: int = int(timestamp_ns)) -> None:
            callback(HandsResult(ts, size, tuple(_unscale(hands, scale)), flags))

        self._backend.detect_async(rgb, self._timestamp_ms(timestamp_ns), deliver)

    def close(self) -> None:
        self._backend.close()
        if self._single is not None:
            self._single.close()

    def __enter__(self) -> HandLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
