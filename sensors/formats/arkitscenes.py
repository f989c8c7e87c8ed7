"""ARKitScenes captures (github.com/apple/ARKitScenes, ``raw`` and ``3dod`` layouts)::

    <video_id>/                       (3dod: <video_id>/<video_id>_frames/)
      lowres_wide/<video_id>_<t>.png              RGB, 256x192
      lowres_depth/<video_id>_<t>.png             uint16 millimetres, 256x192, 0 = invalid
      lowres_wide_intrinsics/<video_id>_<t>.pincam   one line: ``w h fx fy cx cy`` (pixels)
      lowres_wide.traj                            per line: ``t ax ay az tx ty tz``

``t`` is seconds on the device clock with 3 decimals in file names; it becomes exact integer
nanoseconds (decimal arithmetic, no float rounding).

**Pose convention.** ``threedod/benchmark_scripts/utils/tenFpsDataLoader.py``
(``TrajStringToMatrix``) turns the angle-axis (radians, ``cv2.Rodrigues``) and translation
(metres) into ``r_w_to_p``/``t_w_to_p``, i.e. a world → camera transform, and inverts it to get
the camera → world pose it then applies to points back-projected with ``K⁻¹ [u·d, v·d, d]``
(``generate_point``), i.e. OpenCV camera axes. An Apple maintainer confirms (ARKitScenes issues
#81 and #78): camera x right, y down, z forward; world x right, y forward, z up, gravity-aligned
(the laser-scan frame, not ARKit's y-up frame). That is already this SDK's convention, so
``T_world_camera = inv([R(a) | t])`` with no axis change.

**Pose ↔ frame matching.** The same loader keys traj lines by their timestamp rounded to
milliseconds and, when a frame has no exact key, takes a line within 5 ms. This reader gives
each frame the nearest traj line within :data:`POSE_MATCH_NS` (which covers the rounding rule);
the ground-truth :class:`~sensors.types.Trajectory` holds one pose per matched frame, at the
frame's timestamp. Frames without a traj line within 5 ms are replayed without a ground-truth
pose, and traj lines matching no frame are not kept.

**Intrinsics.** Each frame has its own ``.pincam`` (found, as the loader does, at the frame's
time or ±1 ms). Frames carry their own intrinsics; ``Calibration.color`` is the first frame's.
``lowres_depth`` is ARKit's scene depth, aligned with the wide image: at the same size it is
registered (``Calibration.depth`` is ``None``); at a different size with the same aspect ratio the
depth intrinsics are the colour intrinsics scaled to the depth size (``T_color_depth`` identity).

**Missing assets.** ARKitScenes does not guarantee every asset at every timestamp: frames are the
timestamps with both a wide and a depth image, and the unmatched ones are reported in
``association`` (and by ``Session.summary``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import CalibrationError, EmptySessionError, FormatError
from ..session import Reader, Record
from ..sync import associate, check_timestamps
from ..types import Calibration, CameraIntrinsics, GroundTruth, Trajectory
from ._io import check_depth_units, decode_color, decode_depth_raw, depth_to_metres, make_frame, read_bytes

POSE_MATCH_NS = 5_000_000  # ARKitScenes' own tolerance between a frame and its traj line
_MS = 1_000_000
_STAMPED = re.compile(r"^(?P<video>.+)_(?P<t>[^_]+)$")
DEPTH_SCALE = 1000.0


def seconds_to_ns(text: str) -> int:
    """Decimal seconds (``"6845.897"``) → integer nanoseconds, exactly (to the nearest ns)."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a number of seconds") from None
    if not d.is_finite():
        raise ValueError(f"'{text}' is not a finite number of seconds")
    return int(d.scaleb(9).to_integral_value())


def _stamped(folder: Path, suffix: str) -> dict[int, Path]:
    """``{timestamp_ns: path}`` of the ``<video_id>_<seconds><suffix>`` files in ``folder``."""
    if not folder.is_dir():
        raise FormatError("folder is missing (ARKitScenes needs lowres_wide/, lowres_depth/, lowres_wide_intrinsics/)", folder)
    out: dict[int, Path] = {}
    for p in folder.iterdir():
        if p.suffix != suffix:
            continue
        m = _STAMPED.match(p.stem)
        try:
            if m is None:
                raise ValueError("no '_' before the timestamp")
            out[seconds_to_ns(m["t"])] = p
        except ValueError as exc:
            raise FormatError(f"file name is not <video_id>_<seconds>{suffix}: {exc}", p) from None
    return out


def read_pincam(f: Path) -> CameraIntrinsics:
    """Parse a ``.pincam`` file (``width height fx fy cx cy``)."""
    text = read_bytes(f).decode("ascii", "replace")
    try:
        w, h, fx, fy, cx, cy = (float(v) for v in text.split())
    except ValueError:
        raise CalibrationError(f"expected 6 numbers 'width height fx fy cx cy', got {text.strip()[:80]!r}", f) from None
    if w != int(w) or h != int(h):
        raise CalibrationError(f"image size must be whole pixels, got {w}x{h}", f)
    try:
        return CameraIntrinsics(fx, fy, cx, cy, int(w), int(h))
    except CalibrationError as exc:
        raise CalibrationError(exc.problem, f) from None


def read_traj(f: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``lowres_wide.traj`` into timestamps (ns) and ``T_world_camera`` (N, 4, 4).

    Each line is ``t ax ay az tx ty tz``: the world → camera rotation as angle-axis (radians)
    and translation (metres); see the module docstring for why this is inverted."""
    ts, T = [], []
    for n, line in enumerate(read_bytes(f).decode("ascii", "replace").splitlines(), start=1):
        tok = line.split()
        if not tok:
            continue
        try:
            if len(tok) != 7:
                raise ValueError(f"expected 7 columns 't ax ay az tx ty tz', got {len(tok)}")
            t = seconds_to_ns(tok[0])
            v = np.array([float(x) for x in tok[1:]])
            if not np.all(np.isfinite(v)):
                raise ValueError("NaN or infinite value")
        except ValueError as exc:
            raise FormatError(f"line {n}: {exc}", f) from None
        R_cw = Rotation.from_rotvec(v[:3]).as_matrix()
        T_wc = np.eye(4)
        T_wc[:3, :3] = R_cw.T
        T_wc[:3, 3] = -R_cw.T @ v[3:]
        ts.append(t)
        T.append(T_wc)
    return check_timestamps(np.array(ts, dtype=np.int64), f, "trajectory"), np.array(T).reshape(-1, 4, 4)


class ArkitScenesReader(Reader):
    """Reader for one ARKitScenes video folder (``<video_id>/`` or its ``<video_id>_frames/``)."""

    format_name = "arkitscenes"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        if not self.path.is_dir():
            raise FormatError("ARKitScenes input must be a video folder", self.path)
        root = self.path / f"{self.path.name}_frames"
        root = root if root.is_dir() else self.path
        color = _stamped(root / "lowres_wide", ".png")
        depth = _stamped(root / "lowres_depth", ".png")
        tc, td = np.array(sorted(color), dtype=np.int64), np.array(sorted(depth), dtype=np.int64)
        self.association = associate(tc, td, 0)
        if len(self.association) == 0:
            raise EmptySessionError(
                f"no timestamp has both a lowres_wide and a lowres_depth image ({len(tc)} and {len(td)} images)", root
            )
        self._raw = {"color": tc, "depth": td}
        self._ts = tc[self.association.index_a]
        self._color = [color[int(t)] for t in self._ts]
        self._depth = [depth[int(t)] for t in self._ts]
        self._pincam = self._find_pincams(root / "lowres_wide_intrinsics")
        self.calibration = self._calibration()
        traj = root / "lowres_wide.traj"
        self.ground_truth = self._poses(traj) if traj.exists() else None

    def _find_pincams(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            raise CalibrationError("intrinsics folder is missing (one .pincam per lowres_wide image)", folder)
        pincams = _stamped(folder, ".pincam")
        found = []
        for t, c in zip(self._ts, self._color, strict=True):
            p = next((pincams[int(t) + d] for d in (0, -_MS, _MS) if int(t) + d in pincams), None)
            if p is None:
                raise CalibrationError("intrinsics file is missing (also looked ±1 ms)", folder / f"{c.stem}.pincam")
            found.append(p)
        return found

    def _calibration(self) -> Calibration:
        K = read_pincam(self._pincam[0])
        dh, dw = decode_depth_raw(read_bytes(self._depth[0]), self._depth[0]).shape
        self._depth_factor = dw / K.width
        if (dw, dh) == K.size:
            return Calibration(color=K, depth_scale=DEPTH_SCALE)
        if dw * K.height != dh * K.width:
            raise CalibrationError(
                f"depth is {dw}x{dh} but the wide image is {K.width}x{K.height} (per {self._pincam[0].name}): "
                "different aspect ratios, so depth cannot be mapped to the image", self._depth[0],
            )
        return Calibration(color=K, depth=K.scaled(self._depth_factor), depth_scale=DEPTH_SCALE)

    def _poses(self, traj: Path) -> GroundTruth | None:
        ts, T = read_traj(traj)
        if len(ts) == 0:
            return None
        full = Trajectory(ts, T)
        idx = [full.index_of(int(t), POSE_MATCH_NS) for t in self._ts]
        keep = [k for k, j in enumerate(idx) if j is not None]
        if not keep:
            return None
        return GroundTruth(poses=Trajectory(self._ts[keep], T[[idx[k] for k in keep]], body="camera"))

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_dir():
            return False
        root = path / f"{path.name}_frames"
        root = root if root.is_dir() else path
        return (root / "lowres_wide").is_dir() and (root / "lowres_depth").is_dir()

    def timestamps(self) -> dict[str, np.ndarray]:
        return {"rgbd": self._ts, **self._raw}

    def _load(self, k: int):
        K = read_pincam(self._pincam[k])
        color_data = read_bytes(self._color[k])
        color = decode_color(color_data, self._color[k])
        depth = depth_to_metres(decode_depth_raw(read_bytes(self._depth[k]), self._depth[k]), DEPTH_SCALE)
        check_depth_units(depth, self._depth[k], DEPTH_SCALE)
        return make_frame(
            int(self._ts[k]), color, depth, K, self._color[k],
            depth_intrinsics=None if self.calibration.depth_registered else K.scaled(self._depth_factor),
            depth_timestamp_ns=int(self._ts[k]), index=k, color_encoded=color_data, color_encoding="png",
        )

    def records(self) -> Iterator[Record]:
        for k, t in enumerate(self._ts):
            yield Record(int(t), "rgbd", partial(self._load, k))
