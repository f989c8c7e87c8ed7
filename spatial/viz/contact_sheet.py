"""Contact sheets: a grid of colour images with their depth maps, for a quick look at a session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from sensors.formats._atomic import atomic_path
from sensors.types import RGBDFrame


def colorize_depth(depth_m: np.ndarray, max_depth_m: float | None = None) -> np.ndarray:
    """HxW metres → HxWx3 uint8 RGB (turbo colour map, near = blue; invalid = black)."""
    valid = depth_m > 0
    hi = max_depth_m or (float(np.percentile(depth_m[valid], 99)) if valid.any() else 1.0)
    scaled = np.clip(depth_m / hi * 255.0, 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB)
    rgb[~valid] = 0
    return rgb


def contact_sheet(frames: Sequence[RGBDFrame], tile_width: int = 320, columns: int = 4) -> np.ndarray:
    """Grid of ``frames``: each tile is the colour image above its depth map (same scale for all)."""
    if not frames:
        raise ValueError("contact_sheet needs at least one frame")
    columns = min(columns, len(frames))
    depths = [f.depth_m for f in frames if f.depth_m is not None]
    valid = np.concatenate([d[d > 0].ravel()[::97] for d in depths]) if depths else np.zeros(0)
    max_depth = float(np.percentile(valid, 99)) if valid.size else None
    tiles = []
    for f in frames:
        parts = [p for p in (f.color, None if f.depth_m is None else colorize_depth(f.depth_m, max_depth)) if p is not None]
        parts = [cv2.resize(p, (tile_width, round(p.shape[0] * tile_width / p.shape[1])), interpolation=cv2.INTER_AREA) for p in parts]
        tiles.append(np.vstack(parts))
    h = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, h - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def save_png(image_rgb: np.ndarray, path: str | Path) -> Path:
    """Write an RGB image as PNG atomically."""
    path = Path(path)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())
    return path
