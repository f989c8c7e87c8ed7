"""Procedural surface textures for the simulator, evaluated at world points (no UVs).

Each material of :data:`~sensors.sim.world.MATERIALS` is a tileable 2-D procedural pattern (wood
grain stripes warped by noise with plank seams, tiles with grout lines, plaster low-frequency
mottling, fabric weave, carpet speckle, brushed metal streaks, near-uniform ceramic/glass,
leather crinkle, dark screens) generated once into a bank of ``SIZE × SIZE`` albedo maps at
:data:`TEXEL_M` metres per texel (period ``SIZE · TEXEL_M`` = 5.12 m, longer than most walls).
A world point is textured by *tri-planar projection*: the two world coordinates across the
surface's dominant normal axis (x → (y, z), y → (x, z), z → (x, y)) index the map, shifted by a
per-part offset so that neighbouring parts do not repeat each other. This is a function of the
world hit point and the surface orientation only, so any mesh works without texture coordinates,
and it costs one gather per pixel — what lets the renderer run at camera rate.

Albedo values are multipliers in [0, 1] applied to each part's tint.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .world import MATERIALS

SIZE = 2048  # texels per side (power of two: coordinates wrap with a bit mask)
TEXEL_M = 0.0025


def _noise(rng: np.random.Generator, cells: int | tuple[int, int]) -> np.ndarray:
    """Tileable smooth noise in [0, 1]: a random ``cells`` lattice (dividing SIZE) upsampled bicubically."""
    cy, cx = (cells, cells) if isinstance(cells, int) else cells
    g = np.pad(rng.random((cy, cx)).astype(np.float32), 3, mode="wrap")
    sy, sx = SIZE // cy, SIZE // cx
    up = cv2.resize(g, ((cx + 6) * sx, (cy + 6) * sy), interpolation=cv2.INTER_CUBIC)
    return np.clip(up[3 * sy: 3 * sy + SIZE, 3 * sx: 3 * sx + SIZE], 0.0, 1.0)


def _fbm(rng: np.random.Generator, base: int, octaves: int) -> np.ndarray:
    """Fractal noise (octaves of :func:`_noise`, halving amplitude), zero mean, about ±1."""
    out = sum(0.5**i * (_noise(rng, base * 2**i) - 0.5) for i in range(octaves))
    return out / (2 * np.abs(out).max() + 1e-6) * 2


def _material(name: str, rng: np.random.Generator) -> np.ndarray:
    v, u = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    if name == "plaster":  # "knockdown" finish: flattened blotches (~2–4 cm) over mottling and speckle
        blot = np.clip((_noise(rng, 128) - 0.55) * 12, 0.0, 1.0)
        return 0.8 + 0.07 * _fbm(rng, 8, 5) + 0.08 * blot + 0.03 * (_noise(rng, 512) - 0.5)
    if name == "wood":  # planks 16 cm wide, each with its own warped grain (~8–14 mm), fibres, seams
        plank = (v // 64).astype(int)
        freq = rng.uniform(150, 260, 32).astype(np.float32)[plank] / SIZE
        shift = rng.uniform(0, SIZE, 32).astype(np.float32)[plank]
        warp = 4.0 * _fbm(rng, 4, 4) + 0.3 * (_noise(rng, (64, 8)) - 0.5)
        grain = (0.5 + 0.5 * np.sin(2 * np.pi * ((v + 0.15 * (u + shift)) * freq + warp))) ** 4
        tone = rng.uniform(-0.06, 0.06, 32).astype(np.float32)[plank]
        fibres = _noise(rng, (1024, 32)) - 0.5
        seam = (v % 64 < 1.5).astype(np.float32)
        return 0.8 + tone - 0.25 * grain + 0.08 * fibres + 0.06 * _fbm(rng, 16, 3) - 0.3 * seam
    if name == "tile":  # 32 cm tiles, 7.5 mm grout, per-tile shade, glaze noise
        tile = rng.uniform(-0.05, 0.05, (16, 16)).astype(np.float32)
        shade = tile[(v // 128).astype(int), (u // 128).astype(int)]
        grout = ((v % 128) < 3) | ((u % 128) < 3)
        return np.where(grout, 0.5 + 0.05 * _fbm(rng, 64, 2), 0.9 + shade + 0.025 * _fbm(rng, 32, 4))
    if name == "fabric":  # 1 cm weave over mottled dye
        weave = np.sin(2 * np.pi * u / 4) * np.sin(2 * np.pi * v / 4)
        return 0.72 + 0.06 * weave + 0.1 * _fbm(rng, 16, 4)
    if name == "carpet":  # per-texel speckle over low-frequency variation
        return 0.66 + 0.18 * (_noise(rng, 1024) - 0.5) + 0.08 * _fbm(rng, 8, 4)
    if name == "metal":  # brushed: streaks along u
        return 0.78 + 0.12 * (_noise(rng, (512, 8)) - 0.5) + 0.05 * _fbm(rng, 8, 2)
    if name == "leather":  # mottling plus crinkle ridges
        ridges = 1.0 - np.abs(2 * _noise(rng, 256) - 1)
        return 0.6 + 0.08 * _fbm(rng, 8, 3) + 0.1 * ridges**4
    if name == "screen":
        return 0.07 + 0.015 * _fbm(rng, 8, 2)
    # ceramic, glass: near-uniform (their look comes from specular highlights in the renderer)
    return 0.93 + 0.02 * _fbm(rng, 8, 3)


@lru_cache(maxsize=2)
def texture_bank(seed: int = 0) -> np.ndarray:
    """(len(MATERIALS), SIZE, SIZE) uint8 albedo maps (255 = 1.0), deterministic in ``seed``."""
    bank = np.empty((len(MATERIALS), SIZE, SIZE), np.uint8)
    for i, name in enumerate(MATERIALS):
        rng = np.random.default_rng([seed, i])
        bank[i] = np.clip(np.rint(_material(name, rng) * 255), 0, 255).astype(np.uint8)
    bank.flags.writeable = False
    return bank


def dominant_axis(normals: np.ndarray) -> np.ndarray:
    """Index (0, 1, 2) of the largest absolute component of each normal, (N, 3) → (N,) uint8."""
    return np.argmax(np.abs(normals), axis=1).astype(np.uint8)


def projection_tables(material: np.ndarray, normals: np.ndarray, offset: np.ndarray) -> dict[str, np.ndarray]:
    """Per-surface (e.g. per-triangle) lookup tables for :func:`albedo`.

    ``material`` (M,) index into :data:`MATERIALS`, ``normals`` (M, 3), ``offset`` (M, 2) texel
    shift. The map coordinates are ``u = x + su·(y − x)`` and ``v = z + sv·(y − z)``: (y, z) across
    an x-facing surface, (x, z) across a y-facing one, (x, y) across a z-facing one.
    """
    axis = dominant_axis(normals)
    return {
        "su": (axis == 0).astype(np.float32),
        "sv": (axis == 2).astype(np.float32),
        "ou": offset[:, 0].astype(np.float32),
        "ov": offset[:, 1].astype(np.float32),
        "base": material.astype(np.int64) * SIZE * SIZE,
    }


def albedo(bank: np.ndarray, tables: dict[str, np.ndarray], index: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Albedo multipliers (N,) float32 in [0, 1] at world ``points`` (3, N) lying on the surfaces
    ``index`` (N,) of ``tables`` (:func:`projection_tables`); ``bank`` from :func:`texture_bank`."""
    x, y, z = points
    scale = np.float32(1.0 / TEXEL_M)
    u = (x + np.take(tables["su"], index) * (y - x)) * scale + np.take(tables["ou"], index)
    v = (z + np.take(tables["sv"], index) * (y - z)) * scale + np.take(tables["ov"], index)
    iu = np.floor(u).astype(np.int64) & (SIZE - 1)
    iv = np.floor(v).astype(np.int64) & (SIZE - 1)
    texel = np.take(bank.reshape(-1), np.take(tables["base"], index) + iv * SIZE + iu)
    return texel.astype(np.float32) * np.float32(1 / 255)
