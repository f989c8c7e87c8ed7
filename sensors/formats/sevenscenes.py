"""Microsoft 7-Scenes sequences: ``frame-XXXXXX.color.{png,jpg}``, ``frame-XXXXXX.depth.png``
(uint16 millimetres, 0 and 65535 invalid) and ``frame-XXXXXX.pose.txt`` (4x4 camera-to-world).

7-Scenes has no timestamps: frames are numbered at the Kinect's ~30 Hz, so frame ``i`` gets
``round(i * 1e9 / fps)`` ns. Intrinsics come from ``camera-intrinsics.txt`` when present, else
the values the dataset publishes (fx = fy = 585, cx = 320, cy = 240). Colour and depth come from
two sensors and are not pixel-registered; like the dataset's own tools, this reader treats them as
aligned (``Calibration.depth`` is ``None``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import CalibrationError, EmptySessionError, FormatError
from ..session import Reader, Record
from ..types import Calibration, CameraIntrinsics, GroundTruth, Trajectory, orthonormalize
from ._io import check_depth_units, decode_color, decode_depth_raw, depth_to_metres, make_frame, read_bytes

_FRAME = re.compile(r"^frame-(\d+)\.color\.(png|jpg)$")
PUBLISHED_INTRINSICS = CameraIntrinsics(585.0, 585.0, 320.0, 240.0, 640, 480)


class SevenScenesReader(Reader):
    """Reader for one 7-Scenes sequence folder (e.g. ``redkitchen/seq-01``)."""

    format_name = "7scenes"

    def __init__(self, path: str | Path, fps: float = 30.0) -> None:
        super().__init__(path)
        if not self.path.is_dir():
            raise FormatError("7-Scenes input must be a sequence folder", self.path)
        if fps <= 0:
            raise CalibrationError(f"fps must be positive, got {fps}", self.path)
        frames = sorted(
            (int(m.group(1)), p.name) for p in self.path.iterdir() if (m := _FRAME.match(p.name))
        )
        if not frames:
            seqs = sorted(p.name for p in self.path.glob("seq-*") if p.is_dir())
            hint = f"; it holds sequences {', '.join(seqs)}: open one of them" if seqs else ""
            raise EmptySessionError(f"no frame-*.color.png/jpg files{hint}", self.path)
        self._ids = [i for i, _ in frames]
        self._color = [self.path / name for _, name in frames]
        self._depth = [self.path / f"frame-{i:06d}.depth.png" for i in self._ids]
        missing = [p.name for p in self._depth if not p.exists()]
        if missing:
            raise FormatError(f"{len(missing)} depth image(s) missing, first {missing[0]}", self.path)
        self._ts = np.array([round(i * 1e9 / fps) for i in self._ids], dtype=np.int64)
        self.calibration = Calibration(color=self._intrinsics(), depth_scale=1000.0)
        self.ground_truth = self._poses()

    def _intrinsics(self) -> CameraIntrinsics:
        f = self.path / "camera-intrinsics.txt"
        if not f.exists():
            return PUBLISHED_INTRINSICS
        try:
            K = np.loadtxt(f)
        except ValueError as exc:
            raise CalibrationError(f"cannot parse camera matrix: {exc}", f) from None
        if K.shape != (3, 3):
            raise CalibrationError(f"expected a 3x3 camera matrix, got shape {K.shape}", f)
        return CameraIntrinsics.from_K(K, 640, 480)

    def _poses(self) -> GroundTruth | None:
        files = [self.path / f"frame-{i:06d}.pose.txt" for i in self._ids]
        present = [f.exists() for f in files]
        if not any(present):
            return None
        if not all(present):
            raise FormatError(f"pose file missing for frame {self._ids[present.index(False)]:06d}", self.path)
        T = np.empty((len(files), 4, 4))
        for k, f in enumerate(files):
            try:
                M = np.loadtxt(f)
            except ValueError as exc:
                raise FormatError(f"cannot parse pose: {exc}", f) from None
            if M.shape != (4, 4):
                raise FormatError(f"pose must be a 4x4 matrix, got shape {M.shape}", f)
            if not np.all(np.isfinite(M)):
                raise FormatError("pose contains NaN or infinite values", f)
            T[k] = orthonormalize(M)
        return GroundTruth(poses=Trajectory(self._ts, T, body="camera"))

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and (
            next(path.glob("frame-*.color.*"), None) is not None
            or next(path.glob("seq-*/frame-*.color.*"), None) is not None
        )

    def timestamps(self) -> dict[str, np.ndarray]:
        return {"rgbd": self._ts}

    def _load(self, k: int):
        color_data = read_bytes(self._color[k])
        color = decode_color(color_data, self._color[k])
        depth = depth_to_metres(decode_depth_raw(read_bytes(self._depth[k]), self._depth[k]), 1000.0)
        check_depth_units(depth, self._depth[k], 1000.0)
        enc = "jpeg" if self._color[k].suffix == ".jpg" else "png"
        return make_frame(
            int(self._ts[k]), color, depth, self.calibration.color, self._color[k],
            depth_timestamp_ns=int(self._ts[k]), index=k, color_encoded=color_data, color_encoding=enc,
        )

    def records(self) -> Iterator[Record]:
        for k, t in enumerate(self._ts):
            yield Record(int(t), "rgbd", partial(self._load, k))
