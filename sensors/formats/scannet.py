"""ScanNet scenes exported by ScanNet's SensReader
(``python reader.py --export_color_images --export_depth_images --export_poses --export_intrinsics``,
github.com/ScanNet/ScanNet ``SensReader/python``)::

    color/<i>.jpg        colour, 1296x968 JPEG (``str(i)``: no zero padding, so ids sort numerically)
    depth/<i>.png        uint16 millimetres (depth shift 1000), 640x480, 0 = invalid
    pose/<i>.txt         4x4 camera-to-world (metres); an untracked frame is all ``-inf``
    intrinsic/intrinsic_color.txt, intrinsic_depth.txt     4x4, K in the top-left 3x3
    intrinsic/extrinsic_color.txt, extrinsic_depth.txt     4x4 camera → base frame

Colour and depth come from two cameras at two resolutions and are not registered:
``Calibration.color``/``depth`` hold each camera's intrinsics and frames carry
``depth_intrinsics``. SensReader's header says the extrinsics map each camera into a common
base frame ("typically depth to color; the color extrinsic is the identity"), so
``T_color_depth = inv(extrinsic_color) @ extrinsic_depth`` and the ground-truth colour-camera pose
is ``pose @ extrinsic_color`` (both reduce to the files' values when, as in ScanNet, the extrinsics
are identities).

Frames whose pose is all ``-inf`` (tracking lost) are still replayed but are left out of the
ground-truth :class:`~sensors.types.Trajectory`. The export has no timestamps: frame ``i`` gets
``round(i * 1e9 / fps)`` ns (``fps`` defaults to ScanNet's 30 Hz), so gaps left by
``--frame_skip`` become gaps in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import CalibrationError, ConfigError, EmptySessionError, FormatError, SpatialError
from ..session import Reader, Record
from ..types import Calibration, CameraIntrinsics, GroundTruth, Trajectory, as_transform, orthonormalize
from ._io import check_depth_units, decode_color, decode_depth_raw, depth_to_metres, make_frame, read_bytes

CALIBRATION_FILES = ("intrinsic_color.txt", "intrinsic_depth.txt", "extrinsic_color.txt", "extrinsic_depth.txt")
DEPTH_SCALE = 1000.0


def _numbered(folder: Path, suffix: str) -> dict[int, Path]:
    """``{id: path}`` for every ``<int><suffix>`` file in ``folder``; other names with that
    suffix are an error (they would silently drop or misorder frames)."""
    if not folder.is_dir():
        raise FormatError("folder is missing (a SensReader export has color/, depth/, pose/, intrinsic/)", folder)
    files: dict[int, Path] = {}
    for p in folder.iterdir():
        if p.suffix.lower() != suffix:
            continue
        if not (p.stem.isascii() and p.stem.isdigit()):
            raise FormatError(f"file name is not a frame number (expected <integer>{suffix})", p)
        files[int(p.stem)] = p
    return files


def _matrix(f: Path, error: type[SpatialError]) -> np.ndarray:
    try:
        M = np.loadtxt(f, ndmin=2)
    except ValueError as exc:
        raise error(f"cannot parse 4x4 matrix: {exc}", f) from None
    except OSError:
        raise error("file is missing or unreadable", f) from None
    if M.shape != (4, 4):
        raise error(f"expected a 4x4 matrix, got shape {M.shape}", f)
    return M


class ScanNetReader(Reader):
    """Reader for one exported ScanNet scene folder (e.g. ``scans/scene0000_00``)."""

    format_name = "scannet"

    def __init__(self, path: str | Path, fps: float = 30.0) -> None:
        super().__init__(path)
        if not self.path.is_dir():
            raise FormatError("ScanNet input must be an exported scene folder", self.path)
        if not fps > 0:
            raise ConfigError(f"fps must be positive, got {fps}", self.path)
        color = _numbered(self.path / "color", ".jpg")
        depth = _numbered(self.path / "depth", ".png")
        if not color:
            raise EmptySessionError("no <integer>.jpg colour images in color/", self.path / "color")
        for a, b, name, ext in ((color, depth, "depth", ".png"), (depth, color, "color", ".jpg")):
            missing = sorted(set(a) - set(b))
            if missing:
                raise FormatError(
                    f"{len(missing)} {name} image(s) missing: color/ has {len(color)} frames, depth/ has "
                    f"{len(depth)}", self.path / name / f"{missing[0]}{ext}",
                )
        self._ids = sorted(color)  # numeric order: 2 before 10
        self._color = [color[i] for i in self._ids]
        self._depth = [depth[i] for i in self._ids]
        self._ts = np.array([round(i * 1e9 / fps) for i in self._ids], dtype=np.int64)
        self.calibration = self._calibration()
        self.ground_truth = self._poses()

    def _calibration(self) -> Calibration:
        folder = self.path / "intrinsic"
        missing = [n for n in CALIBRATION_FILES if not (folder / n).is_file()]
        if missing:
            what = "folder is missing" if not folder.is_dir() else f"{', '.join(missing)} missing"
            raise CalibrationError(
                f"{what}: ScanNet needs {', '.join(CALIBRATION_FILES)} (export with --export_intrinsics)", folder
            )
        # Image sizes are not in the export: take them from the first frame.
        h, w = decode_color(read_bytes(self._color[0]), self._color[0]).shape[:2]
        dh, dw = decode_depth_raw(read_bytes(self._depth[0]), self._depth[0]).shape

        def load(name: str, make):
            f = folder / name
            try:
                return make(_matrix(f, CalibrationError))
            except CalibrationError as exc:
                raise CalibrationError(exc.problem, f) from None

        self._T_base_color = load("extrinsic_color.txt", as_transform)
        return Calibration(
            color=load("intrinsic_color.txt", lambda M: CameraIntrinsics.from_K(M[:3, :3], w, h)),
            depth=load("intrinsic_depth.txt", lambda M: CameraIntrinsics.from_K(M[:3, :3], dw, dh)),
            T_color_depth=np.linalg.inv(self._T_base_color) @ load("extrinsic_depth.txt", as_transform),
            depth_scale=DEPTH_SCALE,
        )

    def _poses(self) -> GroundTruth | None:
        folder = self.path / "pose"
        if not folder.is_dir():
            return None
        files = _numbered(folder, ".txt")
        missing = [i for i in self._ids if i not in files]
        if missing:
            raise FormatError(f"pose file missing for {len(missing)} frame(s)", folder / f"{missing[0]}.txt")
        ts, T = [], []
        for t, i in zip(self._ts, self._ids, strict=True):
            M = _matrix(files[i], FormatError)
            if np.all(np.isneginf(M)):
                continue  # tracking lost: ScanNet's marker for "no pose"
            if not np.all(np.isfinite(M)):
                raise FormatError("pose mixes finite and NaN/infinite values (an invalid pose is all -inf)", files[i])
            ts.append(t)
            T.append(orthonormalize(M) @ self._T_base_color)
        if not ts:
            return None
        return GroundTruth(poses=Trajectory(np.array(ts), np.array(T), body="camera"))

    @classmethod
    def detect(cls, path: Path) -> bool:
        return (
            path.is_dir()
            and (path / "color").is_dir()
            and (path / "depth").is_dir()
            and ((path / "intrinsic").is_dir() or (path / "pose").is_dir())
            and next((path / "color").glob("[0-9]*.jpg"), None) is not None
        )

    def timestamps(self) -> dict[str, np.ndarray]:
        return {"rgbd": self._ts}

    def _load(self, k: int):
        color_data = read_bytes(self._color[k])
        color = decode_color(color_data, self._color[k])
        depth = depth_to_metres(decode_depth_raw(read_bytes(self._depth[k]), self._depth[k]), DEPTH_SCALE)
        check_depth_units(depth, self._depth[k], DEPTH_SCALE)
        c = self.calibration
        return make_frame(
            int(self._ts[k]), color, depth, c.color, self._color[k], depth_intrinsics=c.depth,
            depth_timestamp_ns=int(self._ts[k]), index=k, color_encoded=color_data, color_encoding="jpeg",
        )

    def records(self) -> Iterator[Record]:
        for k, t in enumerate(self._ts):
            yield Record(int(t), "rgbd", partial(self._load, k))
