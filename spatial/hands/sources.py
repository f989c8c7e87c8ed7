"""Inputs of ``spatial hands``: a session (any format ``sensors.open`` reads), a video file or a
folder of images, as a stream of :class:`~sensors.types.RGBDFrame`.

Videos and images have no calibration: their frames carry intrinsics for a 60° horizontal field
of view and :attr:`Source.intrinsics_known` is False. Image folders are independent stills
(image mode: no tracking between them); videos and sessions are tracked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sensors
from sensors.errors import EmptySessionError, FormatError, UnknownFormatError
from sensors.formats._io import decode_color, read_bytes
from sensors.types import RGBDFrame

from .lift import default_intrinsics

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".flv")


@dataclass
class Source:
    """``kind``: ``"session"``, ``"video"`` or ``"images"``; ``frames``: an iterator factory;
    ``count``: number of frames when known; ``session``: the open session (kind ``"session"``)."""

    kind: str
    path: Path
    count: int | None
    intrinsics_known: bool
    session: sensors.Session | None = None
    files: tuple[Path, ...] = ()

    def frames(self, every: int = 1) -> Iterator[RGBDFrame]:
        if self.kind == "session":
            return self.session.frames(every=every)
        if self.kind == "images":
            return _image_frames(self.files[::every])
        return _video_frames(self.path, every)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _image_list(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def open_source(path: str | Path, format: str | None = None) -> Source:
    """Open ``path`` as a session (when ``sensors.open`` recognises it or ``format`` is given), a
    video file, or a folder of images."""
    path = Path(path)
    if not path.exists():
        raise FormatError("input does not exist", path)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES and format is None and path.suffix.lower() != ".mkv":
        return _open_video(path)
    try:
        session = sensors.open(path, format=format)
    except UnknownFormatError:
        session = None
    if session is not None:
        return Source("session", path, session.num_frames, True, session=session)
    if path.is_dir():
        files = _image_list(path)
        if not files:
            raise EmptySessionError("folder holds no images (.jpg, .png, …) and is not a known capture format", path)
        return Source("images", path, len(files), False, files=tuple(files))
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return _open_video(path)
    raise UnknownFormatError("not a session, a video file or a folder of images", path)


def _open_video(path: Path) -> Source:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise FormatError("video cannot be opened (corrupt or unsupported codec)", path)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    return Source("video", path, n if n > 0 else None, False)


def _image_frames(files: tuple[Path, ...]) -> Iterator[RGBDFrame]:
    for i, f in enumerate(files):
        rgb = decode_color(read_bytes(f), f)
        K = default_intrinsics(rgb.shape[1], rgb.shape[0])
        yield RGBDFrame(timestamp_ns=i * 33_333_333, color=rgb, depth_m=None, intrinsics=K, index=i)


def _video_frames(path: Path, every: int) -> Iterator[RGBDFrame]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    K = None
    i = 0
    last = -1
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if i % every == 0:
                t = round(i * 1e9 / fps)
                t = max(t, last + 1)
                last = t
                if K is None or (K.width, K.height) != (bgr.shape[1], bgr.shape[0]):
                    K = default_intrinsics(bgr.shape[1], bgr.shape[0])
                rgb = np.ascontiguousarray(bgr[:, :, ::-1])
                yield RGBDFrame(timestamp_ns=t, color=rgb, depth_m=None, intrinsics=K, index=i)
            i += 1
    finally:
        cap.release()
    if i == 0:
        raise EmptySessionError("video has no decodable frames", path)
