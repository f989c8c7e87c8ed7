"""Decoding helpers every reader shares: images with corruption/truncation checks, depth in
metres with unit sanity checks, and the RGB-D frame assembly with size checks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import CalibrationError, FormatError
from ..types import CameraIntrinsics, RGBDFrame

# Median valid depth outside this range (metres) means the depth scale is wrong.
PLAUSIBLE_DEPTH_M = (0.05, 25.0)


def read_bytes(path: Path) -> bytes:
    """Read a whole file, turning OS errors into :class:`FormatError` naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError("file is missing", path) from None
    except OSError as exc:
        raise FormatError(f"cannot read file: {exc.strerror}", path) from None
    if not data:
        raise FormatError("file is empty", path)
    return data


def image_encoding(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or ``None`` from the magic bytes."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def _check_complete(data: bytes, encoding: str | None, where: Path | str) -> None:
    # OpenCV decodes truncated JPEG/PNG files partially with only a warning: catch them here.
    if encoding == "jpeg" and b"\xff\xd9" not in data[-64:]:
        raise FormatError("JPEG image is truncated (no end-of-image marker)", where)
    if encoding == "png" and b"IEND" not in data[-16:]:
        raise FormatError("PNG image is truncated (no IEND chunk)", where)


def decode_color(data: bytes, where: Path | str) -> np.ndarray:
    """Decode JPEG/PNG bytes to HxWx3 uint8 RGB."""
    enc = image_encoding(data)
    _check_complete(data, enc, where)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise FormatError("colour image is corrupt or not an image", where)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def encode_color(rgb: np.ndarray, encoding: str = "png", quality: int = 95) -> bytes:
    """Encode HxWx3 uint8 RGB as PNG (lossless) or JPEG."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if encoding == "jpeg" else []
    ok, buf = cv2.imencode(".jpg" if encoding == "jpeg" else ".png", bgr, params)
    if not ok:
        raise FormatError(f"could not encode image as {encoding}")
    return buf.tobytes()


def decode_depth_raw(data: bytes, where: Path | str) -> np.ndarray:
    """Decode a 16-bit depth PNG (or TIFF) to HxW uint16 raw units."""
    enc = image_encoding(data)
    _check_complete(data, enc, where)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FormatError("depth image is corrupt or not an image", where)
    if img.ndim != 2:
        raise FormatError(f"depth image must have one channel, got shape {img.shape}", where)
    if img.dtype != np.uint16:
        raise FormatError(f"depth image must be 16-bit, got {img.dtype} (an 8-bit image is not depth)", where)
    return img


def depth_to_metres(raw: np.ndarray, depth_scale: float, invalid: tuple[int, ...] = (65535,)) -> np.ndarray:
    """Raw integer depth → float32 metres (``raw / depth_scale``), ``invalid`` values → 0.

    This is the one conversion used by every reader and by :func:`metres_to_depth`'s inverse
    check, so a uint16 → metres → uint16 round trip is exact.
    """
    d = raw.astype(np.float32) / np.float32(depth_scale)
    for v in invalid:
        d[raw == v] = 0.0
    return d


def metres_to_depth(depth_m: np.ndarray, depth_scale: float) -> np.ndarray | None:
    """Inverse of :func:`depth_to_metres` when it is exact: uint16 raw units, or ``None`` when
    the metres cannot be stored in uint16 at this scale without loss."""
    raw = np.rint(depth_m.astype(np.float64) * depth_scale)
    if raw.min(initial=0) < 0 or raw.max(initial=0) >= 65535:
        return None
    raw16 = raw.astype(np.uint16)
    if not np.array_equal(depth_to_metres(raw16, depth_scale, invalid=()), depth_m):
        return None
    return raw16


def check_depth_units(depth_m: np.ndarray, where: Path | str, depth_scale: float) -> None:
    """Raise :class:`CalibrationError` when depth values are implausible for a room-scale sensor
    (typically millimetres read as metres, or the reverse)."""
    sample = depth_m[::8, ::8]
    valid = sample[sample > 0]
    if valid.size < 16:
        return
    med = float(np.median(valid))
    lo, hi = PLAUSIBLE_DEPTH_M
    if med > hi:
        raise CalibrationError(
            f"median depth is {med:.1f} m with depth scale {depth_scale:g} units/m: the values look like "
            f"millimetres; use depth_scale={depth_scale * 1000:g}", where
        )
    if med < lo:
        raise CalibrationError(
            f"median depth is {med * 1000:.2f} mm with depth scale {depth_scale:g} units/m: the scale "
            f"looks too large by 1000; use depth_scale={depth_scale / 1000:g}", where
        )


def make_frame(
    timestamp_ns: int,
    color: np.ndarray | None,
    depth_m: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    where: Path | str,
    depth_intrinsics: CameraIntrinsics | None = None,
    **kw,
) -> RGBDFrame:
    """Assemble an :class:`RGBDFrame`, checking image sizes against the intrinsics."""
    if color is not None and color.shape[:2] != (intrinsics.height, intrinsics.width):
        raise FormatError(
            f"colour image is {color.shape[1]}x{color.shape[0]} but the intrinsics are for "
            f"{intrinsics.width}x{intrinsics.height}", where
        )
    dk = depth_intrinsics or intrinsics
    if depth_m is not None and depth_m.shape[:2] != (dk.height, dk.width):
        raise FormatError(
            f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]} but "
            f"{'its intrinsics are' if depth_intrinsics else 'the colour image is'} {dk.width}x{dk.height}", where
        )
    if color is None and depth_m is None:
        raise FormatError("frame has neither colour nor depth", where)
    return RGBDFrame(timestamp_ns, color, depth_m, intrinsics, depth_intrinsics, **kw)
